"""Why a reply ended early, told from the exception that ended it, as data (an :class:`Ending`).

Details go to the log (never the key); the page words the ending in the student's language.
"""

from __future__ import annotations

import logging
import math

import openai

from .conversation import Ending, EndKind

log = logging.getLogger(__name__)


class ReplyEnded(RuntimeError):
    """The backend ended the reply early; ``ending`` says how."""

    def __init__(self, kind: EndKind, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.ending = Ending(kind, {"detail": detail})


def _retry_after(exc: openai.APIStatusError) -> int | None:
    value = exc.response.headers.get("retry-after")
    try:
        return max(1, math.ceil(float(value))) if value else None
    except ValueError:
        return None


def _status_ending(exc: openai.APIStatusError) -> Ending:
    if isinstance(exc, openai.RateLimitError):
        return Ending("rate", {"wait": _retry_after(exc) or 20})
    kinds: dict[type[openai.APIStatusError], EndKind] = {
        openai.AuthenticationError: "auth", openai.PermissionDeniedError: "forbidden",
        openai.NotFoundError: "not_found", openai.InternalServerError: "internal"}
    kind: EndKind = next((k for cls, k in kinds.items() if isinstance(exc, cls)), "rejected")
    return Ending(kind, {"status": exc.status_code})


def _is_network(exc: BaseException) -> bool:
    return isinstance(exc, (openai.APIConnectionError, ConnectionError, OSError)) or type(exc).__module__.split(
        ".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2", "h11")


def _ending(exc: BaseException, timeout: float, mid_reply: bool) -> Ending:
    if isinstance(exc, ReplyEnded):
        return exc.ending
    if isinstance(exc, openai.APIStatusError):
        return _status_ending(exc)
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
        return Ending("mid_error", {"detail": exc.message})
    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        return Ending("timeout", {"timeout": timeout})
    if _is_network(exc):
        return Ending("lost" if mid_reply else "unreachable")
    return Ending("unknown")


def ending_for(exc: BaseException, timeout: float, mid_reply: bool = False) -> Ending:
    """How ``exc`` ended the reply (``mid_reply``: some text had arrived); logs the details."""
    ending = _ending(exc, timeout, mid_reply)
    if isinstance(exc, ReplyEnded):
        log.info("reply ended early: %s", exc)
    elif ending.kind == "unknown":
        log.exception("unexpected failure", exc_info=exc)
    else:
        log.warning("reply failed: %s: %s", type(exc).__name__, exc)
    return ending
