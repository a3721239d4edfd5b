"""The embedded OpenAI-compatible server: the FastAPI app, its key check, and a runner that serves
it in-process on a loopback port (the chat app uses that; ``python -m agora.server`` serves it alone)."""

from __future__ import annotations

import logging
import secrets
import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request

from .assistants import AssistantsAPI, model_list
from .chat import ChatAPI
from .engines import Engine
from .errors import OpenAIError, install_error_handlers
from .responses import ResponsesAPI
from .runs import LIFETIME, RunExecutor, recover
from .store import MemoryStore, Store

log = logging.getLogger(__name__)


def _auth(api_key: str | None) -> Any:
    async def check(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        if not header:
            raise OpenAIError(401, "You didn't provide an API key. You need to provide your API key in an "
                              "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), api_key):
            raise OpenAIError(401, "Incorrect API key provided.", code="invalid_api_key")

    return check


def create_app(engine: Engine, *, store: Store | None = None, api_key: str | None = None,
               run_lifetime: float = LIFETIME) -> FastAPI:
    """A FastAPI app speaking OpenAI's APIs on top of ``engine``; all state lives in it.

    ``run_lifetime``: seconds from a run's creation to its ``expires_at`` (OpenAI's: 10 minutes).
    """
    store = store or MemoryStore()
    if (ended := recover(store)):
        log.warning("ended %d run(s) left in progress by a previous server", ended)
    app = FastAPI(title="Agora embedded OpenAI-compatible server", dependencies=[Depends(_auth(api_key))],
                  docs_url=None, redoc_url=None)
    install_error_handlers(app)
    executor = RunExecutor(store, engine, run_lifetime)
    for api in (AssistantsAPI(store, engine, executor), ResponsesAPI(store, engine), ChatAPI(store, engine)):
        app.include_router(api.router)
    app.state.engine, app.state.store, app.state.executor = engine, store, executor

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return model_list([engine.model_id])

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "engine": engine.name, "model": engine.model_id, "active_runs": executor.busy()}

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


class EmbeddedServer:
    """Runs :func:`create_app` with uvicorn on a loopback port, in a background thread."""

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", port: int = 0, **app_options: Any) -> None:
        self.engine = engine
        self.app = create_app(engine, **app_options)
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self, timeout: float = 10.0) -> str:
        """Start serving; returns the base URL to give the openai SDK (``http://host:port/v1``)."""
        sock = listening_socket(self._host, self._port)
        port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", lifespan="off", ws="none",
                                timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
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
