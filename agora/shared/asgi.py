"""A whole request body read in ASGI middleware, then handed to the app as if it had not been.

The server's limits and the page's guard must see a body before the app does (its size, its
Unicode, whom a call is for), so they read all of it and give the app a ``receive`` that replays
it.  Starlette keeps such a replay only inside ``BaseHTTPMiddleware`` (its private
``_CachedRequest``), so it is written here, once, for both.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope

__all__ = ["BodyTooLarge", "ClientDisconnect", "read_body", "replay"]


class BodyTooLarge(Exception):
    """The body is larger than ``limit`` bytes, or its ``Content-Length`` says it will be."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole body, refused as early as its size is known to be over ``limit``.

    Raises :class:`BodyTooLarge`, or :class:`ClientDisconnect` if the client leaves while sending.
    """
    declared = dict(scope["headers"]).get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` for the app: ``body`` in one message, then what the client sends next (only
    its disconnect can follow a whole body), so the app still learns when the client leaves."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
