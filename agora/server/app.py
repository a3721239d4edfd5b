"""The embedded OpenAI-compatible server: the FastAPI app, its key check, and a runner that serves
it in-process on a loopback port (the chat app uses that; ``python -m agora.server`` serves it alone)."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..shared.retrieval import Library
from .assistants import AssistantsAPI, model_list
from .base import REQUEST_SECONDS, Work
from .chat import ChatAPI
from .engines import Engine
from .errors import OpenAIError, install_error_handlers
from .files import FilesAPI
from .limits import BODY_SECONDS, MAX_BODY, RequestLimits
from .moderations import ModerationsAPI
from .responses import ResponsesAPI
from .runs import LIFETIME, RunExecutor, recover
from .store import MemoryStore, SqliteStore, Store
from .vector_stores import VectorStoresAPI

log = logging.getLogger(__name__)

NO_KEY = ("You didn't provide an API key. You need to provide your API key in an Authorization header using "
          "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
_bearer = HTTPBearer(auto_error=False)


def _auth(api_key: str | None) -> list[Any]:
    """The key check every route depends on (none without a key), answering as OpenAI does.

    ``HTTPBearer`` reads the header; ``auto_error=False`` because its own refusal is FastAPI's
    ``{"detail": "Not authenticated"}``, and OpenAI's SDK shows a missing key and a wrong one
    differently.  The comparison takes constant time, on the bytes the client sent (a header
    arrives as latin-1 text; comparing non-ASCII text would raise instead of refusing).
    """
    if api_key is None:
        return []
    expected = api_key.encode()

    async def check(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                              Depends(_bearer)]) -> None:
        if credentials is None and not request.headers.get("authorization"):
            raise OpenAIError(401, NO_KEY)
        if credentials is None or not secrets.compare_digest(credentials.credentials.encode("latin-1"), expected):
            raise OpenAIError(401, "Incorrect API key provided.", code="invalid_api_key")

    return [Depends(check)]


def create_app(engine: Engine, *, store: Store | None = None, api_key: str | None = None,
               run_lifetime: float = LIFETIME, request_seconds: float = REQUEST_SECONDS,
               max_body: int = MAX_BODY, body_seconds: float = BODY_SECONDS) -> FastAPI:
    """A FastAPI app speaking OpenAI's APIs on top of ``engine``; all state lives in it.

    ``run_lifetime``: seconds from a run's creation to its ``expires_at`` (OpenAI's: 10 minutes);
    ``request_seconds``: the longest a Chat or Responses reply may take; ``max_body`` (bytes) and
    ``body_seconds``: the largest request body, and the time it may take to arrive.
    """
    store = store or MemoryStore()
    library = Library(store.path if isinstance(store, SqliteStore) else ":memory:")
    if (ended := recover(store)):
        log.warning("ended %d run(s) left in progress by a previous server", ended)
    # No /docs and no /openapi.json: the key check covers the API's routes, and those pages are not needed.
    app = FastAPI(title="Agora embedded OpenAI-compatible server", dependencies=_auth(api_key),
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(RequestLimits, max_body=max_body, body_seconds=body_seconds)
    install_error_handlers(app)
    vector_stores = VectorStoresAPI(store, engine, library)
    executor, work = RunExecutor(store, engine, run_lifetime, vector_stores.search), Work(request_seconds)
    for api in (AssistantsAPI(store, engine, executor, work, vector_stores), ResponsesAPI(store, engine, work, vector_stores),
                ChatAPI(store, engine, work), FilesAPI(store, engine, library), vector_stores,
                ModerationsAPI(store, engine)):
        app.include_router(api.router)
    app.state.engine, app.state.store, app.state.executor, app.state.work = engine, store, executor, work
    app.state.library = library

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return model_list([engine.model_id])

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Answered on the event loop itself, so no number of busy request threads can hold it up."""
        return {"status": "ok", "engine": engine.name, "model": engine.model_id, "active_runs": executor.busy(),
                "active_requests": work.count, "waiting": engine.waiting}

    return app


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket made with an explicit ``IPPROTO_TCP``.

    asyncio sets ``TCP_NODELAY`` only on connections whose socket says it is TCP; uvicorn's
    own sockets say proto 0, so Nagle's algorithm held each stream's first event back until
    the client's delayed ACK (40 ms).  Streaming must not wait for that.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


class Uvicorn(uvicorn.Server):
    """uvicorn serving :func:`create_app`: asked to stop (SIGTERM, Ctrl-C, :meth:`stop`), it ends
    the runs in progress first, so their streams close and their records say why, then stops
    within ``timeout_graceful_shutdown``."""

    def __init__(self, app: FastAPI, **options: Any) -> None:
        super().__init__(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none",
                                        timeout_graceful_shutdown=2, **options))
        self.executor: RunExecutor = app.state.executor
        self._ending = False

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self._ending:  # a second signal: stop now
            return super().handle_exit(sig, frame)
        self._ending = True
        threading.Thread(target=self._end_runs_then_exit, args=(sig, frame), name="agora-shutdown",
                         daemon=True).start()

    def _end_runs_then_exit(self, sig: int, frame: Any) -> None:
        try:
            if (ended := self.executor.shutdown()):
                log.warning("ended %d run(s) on shutdown", ended)
        finally:
            super().handle_exit(sig, frame)


class EmbeddedServer:
    """Runs :func:`create_app` with uvicorn on a loopback port, in a background thread."""

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", port: int = 0, **app_options: Any) -> None:
        self.engine = engine
        self.app = create_app(engine, **app_options)
        self._host, self._port = host, port
        self._server: Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL to give the openai SDK (``http://host:port/v1``)."""
        sock = listening_socket(self._host, self._port)
        port = sock.getsockname()[1]
        self._server = Uvicorn(self.app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name="agora-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"embedded server did not start on {self._host}:{port}")
            time.sleep(0.01)
        self.base_url = f"http://{self._host}:{port}/v1"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.executor.shutdown()
            self._server.should_exit = True
            self._thread.join(5)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(5)
        self._server = self._thread = None

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
