"""OpenAI-shaped errors: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class OpenAIError(Exception):
    """Raised by handlers; rendered with OpenAI's error body and status."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.param, self.code = status, message, type, param, code
        self.headers = headers

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}


def not_found(kind: str, obj_id: str) -> OpenAIError:
    return OpenAIError(404, f"No {kind} found with id '{obj_id}'.")


T = TypeVar("T")


def must_exist(obj: T | None, kind: str, obj_id: str) -> T:
    """``obj``, or OpenAI's 404 naming what was not found."""
    if obj is None:
        raise not_found(kind, obj_id)
    return obj


def bad_request(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def refusal(status: int, retry_after: float | None = None) -> OpenAIError:
    """A request refused with ``status``, worded as OpenAI words it (for engines that refuse)."""
    if status == 429:
        wait = retry_after or 1.0
        return OpenAIError(429, "Rate limit reached for requests. Please try again shortly.", type="requests",
                           code="rate_limit_exceeded",
                           headers={"retry-after-ms": str(int(wait * 1000)), "retry-after": str(max(1, round(wait)))})
    if status == 401:
        return OpenAIError(401, "Incorrect API key provided.", code="invalid_api_key")
    if status >= 500:
        return OpenAIError(status, "The server had an error while processing your request. Sorry about that!",
                           type="server_error")
    return OpenAIError(status, f"The request was refused ({status}).")


def _validation_error(exc: RequestValidationError) -> OpenAIError:
    err = exc.errors()[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
    param = ".".join(loc) or None
    kind = err.get("type", "")
    if kind == "missing":
        return bad_request(f"Missing required parameter: '{param}'.", param, "missing_required_parameter")
    if kind == "extra_forbidden":
        return bad_request(f"Unknown parameter: '{param}'.", param, "unknown_parameter")
    if kind in ("json_invalid", "model_attributes_type", "dict_type") and not param:
        return bad_request("We could not parse the JSON body of your request. (HINT: This likely means"
                           " you aren't using your HTTP library correctly. The OpenAI API expects a JSON"
                           " payload.)")
    return bad_request(f"Invalid value for '{param}': {err.get('msg', 'invalid')}.", param,
                       "invalid_type" if kind.endswith("_type") or "parsing" in kind else "invalid_value")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OpenAIError)
    async def _openai(_: Request, exc: OpenAIError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = _validation_error(exc)
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        """A request that broke something here still gets OpenAI's error shape (and the log its traceback)."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        err = OpenAIError(500, "The server had an error while processing your request. Sorry about that!",
                          type="server_error")
        return JSONResponse(err.body(), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 404:
            err = OpenAIError(404, f"Invalid URL ({request.method} {request.url.path})")
        elif exc.status_code == 405:
            err = OpenAIError(405, f"Method not allowed ({request.method} {request.url.path})")
        else:
            err = OpenAIError(exc.status_code, str(exc.detail))
        return JSONResponse(err.body(), status_code=err.status)
