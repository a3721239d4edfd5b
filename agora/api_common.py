"""Pieces every OpenAI-style endpoint shares: list pages, SSE frames, request bases."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Literal, TypeVar

from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict

from .engines import ConnectionDrop
from .errors import bad_request

T = TypeVar("T", bound=BaseModel)


class Body(BaseModel):
    """Request bodies reject unknown fields, as OpenAI does, naming the field."""

    model_config = ConfigDict(extra="forbid")


def page(items: Sequence[T], *, limit: int, order: Literal["asc", "desc"], after: str | None,
         before: str | None, last_id_field: bool = True) -> dict[str, Any]:
    """One cursor page of ``items`` (given oldest first), shaped like OpenAI's lists."""
    if not 1 <= limit <= 100:
        raise bad_request("Invalid 'limit': integer must be between 1 and 100.", "limit", "invalid_value")
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [getattr(item, "id") for item in ordered]
    for name, cursor in (("after", after), ("before", before)):
        if cursor is not None and cursor not in ids:
            raise bad_request(f"Invalid '{name}': no object with id '{cursor}' in this list.", name)
    if after is not None:
        ordered = ordered[ids.index(after) + 1:]
    if before is not None:
        ordered = ordered[:ordered.index(next(i for i in ordered if getattr(i, "id") == before))]
        chosen, has_more = ordered[-limit:], len(ordered) > limit
    else:
        chosen, has_more = ordered[:limit], len(ordered) > limit
    data = [item.model_dump(mode="json") for item in chosen]
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": has_more,
                            "first_id": data[0]["id"] if data else None}
    if last_id_field:
        body["last_id"] = data[-1]["id"] if data else None
    return body


def sse(event: str | None, data: BaseModel | str) -> bytes:
    """One server-sent event frame; ``event`` None for APIs that put the type in the data."""
    payload = data if isinstance(data, str) else data.model_dump_json()
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


#: Put on a channel to make the response drop its connection (an injected fault).
ABORT = b""


class ThreadToLoop:
    """Carries frames from a worker thread into an async response, as they happen.

    Create it inside the response's async generator (it needs the running loop),
    then start the worker that calls :meth:`put`.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def put(self, frame: bytes | None) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, frame)

    async def frames(self) -> AsyncIterator[bytes]:
        """Yield frames until the worker puts ``None``.

        Frames already waiting when the loop gets to them (a run's seven opening events, or
        pieces that came faster than the socket) go out as one write; none is ever held back.
        """
        while True:
            ready: list[bytes] = []
            frame = await self.queue.get()
            while frame is not None and frame is not ABORT:
                ready.append(frame)
                if self.queue.empty():
                    break
                frame = self.queue.get_nowait()
            if ready:
                yield b"".join(ready)
            if frame is ABORT:
                raise ConnectionAbortedError("injected fault: connection dropped")
            if frame is None:
                return


def sse_response(start: Callable[[ThreadToLoop], Callable[[], None]]) -> StreamingResponse:
    """Stream what a worker puts on a channel, frame by frame, as it happens.

    ``start(channel)`` starts the worker and returns how to cancel it; if the client disconnects
    before the worker is done, that is called, so the engine stops at once.
    """

    async def frames() -> AsyncIterator[bytes]:
        channel = ThreadToLoop()
        cancel = start(channel)
        finished = False
        try:
            async for frame in channel.frames():
                yield frame
            finished = True
        finally:
            if not finished:
                cancel()

    return StreamingResponse(frames(), media_type="text/event-stream", headers=SSE_HEADERS)


def threaded_stream(work: Callable[[Callable[[bytes], None], threading.Event], None]) -> StreamingResponse:
    """Stream the frames ``work(emit, cancelled)`` emits from a worker thread of its own."""

    def start(channel: ThreadToLoop) -> Callable[[], None]:
        cancelled = threading.Event()

        def run() -> None:
            try:
                work(channel.put, cancelled)
            except ConnectionDrop:
                channel.put(ABORT)
            finally:
                channel.put(None)

        threading.Thread(target=run, name="agora-stream", daemon=True).start()
        return cancelled.set

    return sse_response(start)


def content_text(content: str | list[dict[str, Any]] | None, where: str, part_types: tuple[str, ...]) -> str:
    """The text of a message's content: a string, or text parts (other parts are refused, named)."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for i, part in enumerate(content):
        if part.get("type") not in part_types or not isinstance(part.get("text"), str):
            raise bad_request("Only text content parts are supported by this server.", f"{where}[{i}]")
        parts.append(part["text"])
    return "".join(parts)


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
