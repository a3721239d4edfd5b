"""The app's start-up: the backend its settings name and, with no key and no base URL, the
embedded server on the engine they choose.

This is the one place where the app and the embedded server meet: the client and the page know
the server only through the small :class:`~agora.client.backend.LocalServer` protocol, so either
side can change without the other.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .classroom import Classroom
from .client.backend import Backend
from .config import Settings
from .server import EmbeddedServer
from .server.engines import Engine, build_engine
from .server.moderations import warm as warm_moderation
from .server.store import open_store

log = logging.getLogger(__name__)


def make_engine(settings: Settings) -> Engine:
    return build_engine(settings.engine, settings.gguf, batch=settings.batch, threads=settings.threads,
                        delay=settings.scripted_delay, first_delay=settings.scripted_first_delay,
                        min_pieces=settings.scripted_pieces)


class Embedded:
    """The embedded server (a :class:`~agora.client.backend.LocalServer`): made and started on
    first use, so an app that is never asked anything opens no database; its moderation
    classifier loads beside it (about a second), not on the first message."""

    def __init__(self, settings: Settings, engine: Engine | None = None, **server_options: Any) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        self.server_options = server_options  # for the server, e.g. run_lifetime
        self.server: EmbeddedServer | None = None
        self._lock = threading.Lock()

    def start(self) -> str:
        with self._lock:
            if self.server is None:
                server = EmbeddedServer(self.engine, store=open_store(self.settings.db or None), **self.server_options)
                server.start()
                self.server = server
                if self.settings.moderation:
                    threading.Thread(target=warm_moderation, name="agora-warm-moderation", daemon=True).start()
            return self.server.base_url

    def stop(self) -> None:
        with self._lock:
            if self.server is not None:
                self.server.stop()
            self.server = None


def backend(settings: Settings, engine: Engine | None = None, **server_options: Any) -> Backend:
    """The backend ``settings`` name: the embedded server (on ``engine``, or the one they choose)
    when there is no key and no base URL; else OpenAI or the server at ``OPENAI_BASE_URL``."""
    return Backend(settings, Embedded(settings, engine, **server_options) if settings.embedded else None)


def classroom(settings: Settings | None = None, engine: Engine | None = None, **server_options: Any) -> Classroom:
    """The classroom for ``settings`` (default: the environment and ``.env``), on its backend."""
    settings = settings or Settings.from_env()
    return Classroom(settings, backend(settings, engine, **server_options))
