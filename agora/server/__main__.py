"""Serve the embedded OpenAI-compatible server on its own.

    python -m agora.server --port 8000 [--engine llama|llama-serial|scripted] [--batch N] [--threads N]
                           [--model X.gguf] [--api-key KEY] [--db PATH] [--delay S] [--first-delay S]

The flags are :class:`agora.config.ServerSettings`'s fields (``--help`` lists them).
"""

from __future__ import annotations

import logging
import sys

from ..config import ServerSettings, SettingsError
from .app import Uvicorn, create_app, listening_socket
from .engines import EngineError, build_engine
from .store import StoreError, open_store


def main(argv: list[str] | None = None) -> None:
    try:
        settings = ServerSettings.from_args(argv)
    except SettingsError as exc:  # a bad value: one line naming the flag, as argparse's exit status
        print(f"agora.server: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = build_engine(settings.engine, settings.gguf, delay=settings.scripted_delay,
                          first_delay=settings.scripted_first_delay, batch=settings.batch, threads=settings.threads)
    try:
        engine.load()  # a model is read now (a Hub reference fetched, or found in the cache), not on first use
    except EngineError as exc:
        sys.exit(f"agora.server: {exc}")
    try:
        store = open_store(settings.db or None)
    except StoreError as exc:
        sys.exit(f"agora.server: {exc}")
    app = create_app(engine, api_key=settings.api_key, store=store)
    print(f"Agora embedded server: http://{settings.host}:{settings.port}/v1  engine={engine.name} "
          f"model={engine.model_id}  auth={'on' if settings.api_key else 'off'}", flush=True)
    Uvicorn(app).run(sockets=[listening_socket(settings.host, settings.port)])


if __name__ == "__main__":
    main()
