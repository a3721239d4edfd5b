"""Limits on what one request may ask of the server, checked before any route sees it.

A body is read whole (it is small: the limit is a few MB) within a time limit, then checked:
too large → 413, too slow → 408, JSON with a lone surrogate (which no store or stream can
encode) → 400; each as OpenAI's error body.  Everything else passes through untouched.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..shared.asgi import BodyTooLarge, ClientDisconnect, read_body, replay
from ..shared.retrieval import MAX_FILE_BYTES
from .errors import OpenAIError

MAX_BODY = 4 << 20       # bytes; OpenAI's own limit on a message is 256k characters
MAX_UPLOAD = MAX_FILE_BYTES + (64 << 10)  # a multipart upload: one file and its form fields
BODY_SECONDS = 30.0      # to send a whole body
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(has_lone_surrogate(k) or has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_lone_surrogate(v) for v in value)
    return False


class RequestLimits:
    """ASGI middleware: a size and time limit on every request body, and well-formed Unicode."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, body_seconds: float = BODY_SECONDS,
                 max_upload: int = MAX_UPLOAD) -> None:
        self.app, self.max_body, self.body_seconds, self.max_upload = app, max_body, body_seconds, max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "DELETE", "OPTIONS"):
            return await self.app(scope, receive, send)
        try:
            body = await asyncio.wait_for(read_body(scope, receive, self._limit(scope)), self.body_seconds)
            self._check(body)
        except TimeoutError:
            return await self._refuse(send, OpenAIError(
                408, f"The request body did not arrive within {self.body_seconds:g} s.", code="request_timeout"))
        except BodyTooLarge as err:
            return await self._refuse(send, OpenAIError(
                413, f"The request body is larger than this server's limit of {err.limit} bytes.",
                code="request_too_large"))
        except OpenAIError as err:
            return await self._refuse(send, err)
        except ClientDisconnect:  # the client left while sending
            return None
        await self.app(scope, replay(body, receive), send)

    def _limit(self, scope: Scope) -> int:
        """A multipart upload carries a file; any other body is a JSON request."""
        multipart = dict(scope["headers"]).get(b"content-type", b"").startswith(b"multipart/")
        return self.max_upload if multipart else self.max_body

    @staticmethod
    def _check(body: bytes) -> None:
        """A JSON body may escape surrogates only in pairs (the SDK escapes emoji so)."""
        if not _SURROGATE_ESCAPE.search(body):
            return
        try:
            parsed = json.loads(body)
        except ValueError:
            return  # the route reports malformed JSON itself
        if has_lone_surrogate(parsed):
            raise OpenAIError(400, "The JSON body contains a lone surrogate escape (\\ud800–\\udfff), which is not "
                              "valid Unicode.", code="invalid_unicode")

    @staticmethod
    async def _refuse(send: Send, err: OpenAIError) -> None:
        payload = json.dumps(err.body()).encode()
        await send({"type": "http.response.start", "status": err.status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})
