"""Agora: talk with great philosophers; each reply streams in token by token.

``python app.py`` starts the backend (the embedded server, if no URL or key is set) and serves
the page; ``gradio app.py`` serves it and reloads it whenever a file is saved.  The start-up
(:mod:`agora.startup`) makes the classroom and its backend; the page itself is
:class:`agora.web.page.AgoraPage`.  Importing this module builds nothing until ``demo`` is read.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gradio as gr

from agora import startup
from agora.config import SettingsError
from agora.personas import PersonaError
from agora.server.store import StoreError
from agora.web.launch import launch_options, serve
from agora.web.page import AgoraPage


def build() -> AgoraPage:
    """The page from the environment; a bad setting or persona file exits with its one line."""
    try:
        return AgoraPage(startup.classroom())
    except (PersonaError, SettingsError) as exc:
        if __name__ != "__main__" or not gr.NO_RELOAD:
            raise
        sys.exit(f"agora: {exc}")


def main(page: AgoraPage) -> None:
    """Start the backend at once, serve the page, and wait."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        page.classroom.backend.start()
    except StoreError as exc:
        sys.exit(f"agora: {exc}")
    serve(page, **launch_options())
    page.block_thread()


def __getattr__(name: str) -> Any:
    """``app.demo`` for tools that import this module (Gradio's reload watcher looks it up by name)."""
    if name == "demo":
        globals()["demo"] = page = build()
        return page
    raise AttributeError(name)


# `gradio app.py` re-runs this file as __main__ on every edit, with NO_RELOAD false: build the new
# page each time (the watcher swaps it in), but launch only the first time.
if __name__ == "__main__":
    demo = build()
    if gr.NO_RELOAD:
        main(demo)
