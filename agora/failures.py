"""What a student sees when a reply cannot finish: one short, clear line.

Details go to the log (never the key); the chat keeps the partial answer and
gets this notice after it.
"""

from __future__ import annotations

import logging
import math

import openai

log = logging.getLogger(__name__)

LOST = "The connection to the backend was lost mid-reply. Please try again."


def _retry_after(exc: openai.APIStatusError) -> int | None:
    value = exc.response.headers.get("retry-after")
    try:
        return max(1, math.ceil(float(value))) if value else None
    except ValueError:
        return None


def notice_for(exc: BaseException, timeout: float, mid_reply: bool = False) -> str:
    """The student-facing notice for a failure (``mid_reply``: some text had arrived); logs details."""
    from .flows import FlowError  # flows imports backend; keep this module import-light

    if isinstance(exc, FlowError):
        log.info("reply ended early: %s", exc)
        return str(exc)
    log.warning("reply failed: %s: %s", type(exc).__name__, exc)
    if isinstance(exc, openai.RateLimitError):
        wait = _retry_after(exc)
        return f"The backend is busy (rate limit). Try again in {wait or 20} s."
    if isinstance(exc, openai.AuthenticationError):
        return "The backend refused the API key (401). The teacher should check OPENAI_API_KEY."
    if isinstance(exc, openai.PermissionDeniedError):
        return "The backend does not allow this request (403)."
    if isinstance(exc, openai.NotFoundError):
        return "The backend does not know this model or endpoint (404). Check AGORA_MODEL and AGORA_API."
    if isinstance(exc, openai.InternalServerError):
        return f"The backend had an internal error ({exc.status_code}). Please try again."
    if isinstance(exc, openai.APIStatusError):
        return f"The backend rejected the request ({exc.status_code})."
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
        return f"The backend reported an error mid-reply ({exc.message})."
    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        return f"The backend stopped answering (nothing for {timeout:g} s). Please try again."
    if isinstance(exc, openai.APIConnectionError) and not mid_reply:
        return "Cannot reach the backend. Is it running?"
    if isinstance(exc, openai.APIConnectionError) or type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore", "httpcore2", "h11") or isinstance(
            exc, (ConnectionError, OSError)):
        return LOST
    log.exception("unexpected failure", exc_info=exc)
    return "Something went wrong; the details are in the server log."
