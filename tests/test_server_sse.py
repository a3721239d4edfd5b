"""The embedded server's event streams on the wire: their headers, frames that wait go out in one
write, and nothing but the events (no keep-alive comments a stalled reply would hide behind)."""

from __future__ import annotations

import asyncio

import httpx

from agora.server import EmbeddedServer
from agora.server.sse import Channel


def test_streams_carry_the_sse_headers_and_only_events(scripted_server: EmbeddedServer) -> None:
    body = {"model": "scripted", "stream": True, "messages": [{"role": "user", "content": "hi [[pieces=3]]"}]}
    with httpx.stream("POST", f"{scripted_server.base_url}/chat/completions", json=body, timeout=10) as response:
        raw = response.read().decode()
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-accel-buffering"] == "no"
    assert response.headers["content-type"].startswith("text/event-stream")
    frames = raw.split("\n\n")
    assert frames[-1] == "" and frames[-2] == "data: [DONE]"
    assert all(frame.startswith("data: {") for frame in frames[:-2])


def test_frames_already_waiting_go_out_as_one_write() -> None:
    async def writes() -> list[bytes]:
        channel = Channel()
        for piece in ("a", "b", "c"):
            channel.event("delta", piece)
        channel.close()
        await asyncio.sleep(0)  # the frames are queued from "another thread": let them land
        return [chunk async for chunk in channel.frames()]

    assert asyncio.run(writes()) == [b"event: delta\ndata: a\n\nevent: delta\ndata: b\n\nevent: delta\ndata: c\n\n"]
