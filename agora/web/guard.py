"""What stands between the page's HTTP endpoints and anyone who calls them: a size limit on every
request body, and the page's private events answered for the page only.

Gradio marks an event private by leaving it out of the API docs and out of ``gradio_client``; its
``fn_index`` still answers any HTTP client.  A browser showing the page sends ``Sec-Fetch-Site:
same-origin`` (and an ``Origin`` equal to the page's) with each call, headers no other web page
can forge; scripts and API clients send neither, and are refused.  A determined client can copy
them, so each private handler also checks what it is given and writes nothing to disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from ..shared.asgi import BodyTooLarge, ClientDisconnect, read_body, replay

_CALLS = ("/queue/join", "/run/", "/api/", "/call/")


def from_the_page(headers: dict[bytes, bytes]) -> bool:
    """Whether a request came from a page of this same site (as a browser says so)."""
    if headers.get(b"sec-fetch-site") == b"same-origin":
        return True
    origin = headers.get(b"origin", b"").decode("latin-1")
    hosts = {headers.get(b"host", b"").decode("latin-1"), headers.get(b"x-forwarded-host", b"").decode("latin-1")}
    return bool(origin) and urlsplit(origin).netloc in hosts - {""}


class PageGuard:
    """ASGI middleware for the Gradio app (see the module's docstring)."""

    def __init__(self, app: ASGIApp, max_body: int, private: Callable[[], tuple[set[int], set[str]]]) -> None:
        self.app, self.max_body, self.private = app, max_body, private

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        try:
            body = await read_body(scope, receive, self.max_body)
        except BodyTooLarge:
            return await self._refuse(send, 413, f"The request is larger than this app's limit of "
                                                 f"{self.max_body >> 10} KB.")
        except ClientDisconnect:
            return None
        path = scope["path"]
        if any(call in path for call in _CALLS) and self._private_call(path, body) and not from_the_page(headers):
            return await self._refuse(send, 403, "This event belongs to the page and is not part of the API.")
        await self.app(scope, replay(body, receive), send)

    def _private_call(self, path: str, body: bytes) -> bool:
        fn_indexes, api_names = self.private()
        if path.rstrip("/").rsplit("/", 1)[-1] in api_names:
            return True
        try:
            fn_index = json.loads(body).get("fn_index")
        except (ValueError, AttributeError):
            return False
        return fn_index in fn_indexes

    @staticmethod
    async def _refuse(send: Send, status: int, detail: str) -> None:
        payload = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})
