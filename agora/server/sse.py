"""Server-sent events: frames, the channel from a worker thread to the response, and the
per-token frames serialised directly.

The response is sse-starlette's :class:`EventSourceResponse`, given frames already encoded (it
sends bytes as they are).  Every other object the server sends is built from the openai SDK's own
types.  The per-token frames are sent once per generated piece, and building and dumping a
pydantic model costs about 100 µs each — at 64 streams that alone fills a core.  They are written
as plain JSON of exactly the SDK's shape instead; ``tests/test_deltas.py`` checks them against the
SDK types.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from pydantic import BaseModel
from sse_starlette import EventSourceResponse
from sse_starlette.sse import AppStatus

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

# On SIGTERM, sse-starlette would cut every stream in the process for good (a flag nothing resets).
# The server ends its streams itself: :class:`~agora.server.app.Uvicorn` ends the runs first, so
# each stream's last events say why, and uvicorn's graceful timeout bounds the rest.
AppStatus.disable_automatic_graceful_drain()

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def sse(event: str | None, data: BaseModel | str) -> bytes:
    """One server-sent event frame; ``event`` None for APIs that put the type in the data."""
    payload = data if isinstance(data, str) else data.model_dump_json()
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {payload}\n\n".encode()


class Channel:
    """Carries frames from a worker thread into an async response, as they happen.

    Create it inside the response's async generator (it needs the running loop), then start the
    worker, which calls :meth:`send` or :meth:`event`, and finally :meth:`close` (or :meth:`abort`
    to drop the connection, as a broken network would).
    """

    _ABORT = b""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    def send(self, frame: bytes | None) -> None:
        self.loop.call_soon_threadsafe(self.queue.put_nowait, frame)

    def event(self, name: str | None, data: BaseModel | str) -> None:
        self.send(sse(name, data))

    def close(self) -> None:
        self.send(None)

    def abort(self) -> None:
        self.send(self._ABORT)

    async def frames(self) -> AsyncIterator[bytes]:
        """Yield frames until the worker closes the channel.

        Frames already waiting when the loop gets to them (a run's seven opening events, or
        pieces that came faster than the socket) go out as one write; none is ever held back.
        """
        while True:
            ready: list[bytes] = []
            frame = await self.queue.get()
            while frame is not None and frame is not self._ABORT:
                ready.append(frame)
                if self.queue.empty():
                    break
                frame = self.queue.get_nowait()
            if ready:
                yield b"".join(ready)
            if frame is self._ABORT:
                raise ConnectionAbortedError("the engine dropped the connection")
            if frame is None:
                return


def sse_response(start: Callable[[Channel], Callable[[], None]]) -> EventSourceResponse:
    """Stream what a worker sends on a channel, frame by frame, as it happens.

    ``start(channel)`` starts the worker and returns how to cancel it; if the client disconnects
    before the worker is done, that is called, so the engine stops at once.  No keep-alive pings:
    a client notices a stalled reply by its read timeout (the app's ``AGORA_TIMEOUT``), which a
    comment every few seconds would keep resetting.
    """

    async def frames() -> AsyncIterator[bytes]:
        channel = Channel()
        cancel = start(channel)
        finished = False
        try:
            async for frame in channel.frames():
                yield frame
            finished = True
        finally:
            if not finished:
                cancel()

    return EventSourceResponse(frames(), headers=SSE_HEADERS, ping=0)


def threaded_stream(work: Callable[[Channel, threading.Event], None], cancelled: threading.Event,
                    track: Callable[[], AbstractContextManager[None]] = nullcontext) -> EventSourceResponse:
    """Stream the frames ``work(channel, cancelled)`` sends from a worker thread of its own.

    ``cancelled`` is set when the client leaves (it may also be a deadline); ``track`` is held
    while the worker works.
    """

    def start(channel: Channel) -> Callable[[], None]:
        def run() -> None:
            try:
                with track():
                    work(channel, cancelled)
            except ConnectionAbortedError:
                channel.abort()
            finally:
                channel.close()

        threading.Thread(target=run, name="agora-stream", daemon=True).start()
        return cancelled.set

    return sse_response(start)


# ------------------------------------------------------------------------------- per-token frames


def message_delta(message_id: str, piece: str) -> str:
    """Assistants ``thread.message.delta`` (``MessageDeltaEvent``)."""
    return _dumps({"id": message_id, "object": "thread.message.delta", "delta": {"content": [
        {"index": 0, "type": "text", "text": {"value": piece, "annotations": []}}]}})


def response_text_delta(item_id: str, piece: str, sequence_number: int, output_index: int = 0) -> str:
    """Responses ``response.output_text.delta`` (``ResponseTextDeltaEvent``)."""
    return _dumps({"type": "response.output_text.delta", "sequence_number": sequence_number, "item_id": item_id,
                   "output_index": output_index, "content_index": 0, "delta": piece, "logprobs": []})


def chat_chunk(chunk_id: str, created: int, model: str, piece: str) -> str:
    """Chat Completions content chunk (``ChatCompletionChunk``)."""
    return _dumps({"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})


def error_frame(message: str) -> str:
    """A mid-stream error, as OpenAI's Chat Completions sends it."""
    body: dict[str, Any] = {"message": message, "type": "server_error", "param": None, "code": None}
    return _dumps({"error": body})
