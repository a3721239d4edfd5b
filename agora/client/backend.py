"""Where replies come from: the embedded server, OpenAI, or another compatible server.

The client knows the embedded server only as a :class:`LocalServer` the app's start-up hands it
(:mod:`agora.startup`): something that starts on first use and gives a base URL, with a
:class:`LocalModel` behind it.  It imports nothing of the server.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any, Protocol
from urllib.parse import urlsplit

from openai import OpenAI

from ..config import Settings, api_key
from ..personas import Persona
from .readings import Shelf

log = logging.getLogger(__name__)

OPENAI_DEFAULT_MODEL = "gpt-4.1-mini"


class LocalModel(Protocol):
    """What the app asks of a model it runs itself (the embedded server's engine)."""

    @property
    def name(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @property
    def local(self) -> bool:
        """A real model computing on this machine's cores."""
    @property
    def parallel(self) -> int:
        """Replies it generates at once."""
    @property
    def tiny(self) -> bool:
        """The tiny default model: the page says better answers are one setting away."""
    @property
    def download(self) -> tuple[int, int] | None:
        """Bytes fetched and total, while its file downloads."""
    @property
    def loaded(self) -> bool: ...
    def load(self) -> object:
        """Load it now rather than on the first question."""


class LocalServer(Protocol):
    """An OpenAI-compatible server the app runs itself, started on first use."""

    @property
    def engine(self) -> LocalModel: ...
    def start(self) -> str:
        """Start it (once); its base URL."""
    def stop(self) -> None: ...


def origin(url: str) -> str:
    """Scheme, host and port of ``url``: what the page may show of it (never a user, password, path or query)."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{parts.hostname}{port}" if parts.hostname else "a custom server"


class Backend:
    """One connection shared by all sessions; it holds no conversation state.

    With ``local`` (the embedded server, when there is no key and no base URL) it starts that
    server on first use, or at once with :meth:`start`.
    """

    def __init__(self, settings: Settings, local: LocalServer | None = None) -> None:
        self.settings = settings
        self.api = settings.resolved_api
        self.local = local
        self.engine = local.engine if local is not None else None
        self._client: OpenAI | None = None
        self._lock = threading.Lock()
        self._assistant_ids: dict[tuple[str, str], str] = {}
        # Finding or creating an assistant is one step: two students who start with one persona
        # at once must get one assistant, or a thread would hold replies from two of them.
        self._finding = threading.Lock()
        self.shelf = Shelf()

    @property
    def default_model(self) -> str:
        if self.settings.model:
            return self.settings.model
        return self.engine.model_id if self.engine is not None else OPENAI_DEFAULT_MODEL

    def model_for(self, persona: Persona) -> str:
        return persona.model or self.default_model

    @property
    def where(self) -> str:
        if self.engine is not None:
            return f"embedded server ({self.engine.name} engine)"
        return origin(self.settings.base_url) if self.settings.base_url else "OpenAI"

    def badge(self) -> str:
        return f"{self.api} API · {self.default_model} · {self.where}"

    @property
    def tiny_model(self) -> str | None:
        """The model's name if replies come from the tiny default (SmolLM2-135M), else None."""
        engine = self.engine
        return engine.model_id if engine is not None and engine.tiny else None

    @property
    def local_model(self) -> bool:
        """Replies come from a real model on this machine's cores."""
        return self.engine is not None and self.engine.local

    def start(self) -> OpenAI:
        return self.client()

    def client(self) -> OpenAI:
        with self._lock:
            if self._client is None:
                base_url: str | None
                if self.local is not None:
                    base_url, key = self.local.start(), "embedded"
                    log.info("embedded server at %s (engine %s)", base_url, self.local.engine.name)
                else:
                    base_url, key = self.settings.base_url, api_key() or "not-needed"
                self._client = OpenAI(base_url=base_url, api_key=key, timeout=self.settings.timeout, max_retries=2)
            return self._client

    def assistant_id(self, persona: Persona, file_search: bool = False) -> str:
        """The persona's assistant on the target server: named, found by metadata, or created
        (with the ``file_search`` tool when its answers are grounded in readings)."""
        if persona.assistant_id:
            return persona.assistant_id
        model = self.model_for(persona)
        tools: list[Any] = [{"type": "file_search"}] if file_search else []
        fingerprint = hashlib.sha256(f"{model}\n{persona.temperature}\n{persona.instructions}\n{tools}".encode()
                                     ).hexdigest()[:16]
        key = (persona.id, fingerprint)
        with self._finding:
            if key in self._assistant_ids:
                return self._assistant_ids[key]
            client = self.client()
            found = next((a for a in client.beta.assistants.list(limit=100)
                          if (a.metadata or {}).get("agora_persona") == persona.id
                          and (a.metadata or {}).get("agora_fingerprint") == fingerprint), None)
            if found is None:
                found = client.beta.assistants.create(
                    model=model, name=persona.name, instructions=persona.instructions, temperature=persona.temperature,
                    tools=tools, metadata={"agora_persona": persona.id, "agora_fingerprint": fingerprint})
            self._assistant_ids[key] = found.id
            return found.id

    def close(self) -> None:
        with self._lock:
            if self.local is not None:
                self.local.stop()
            self._client = None
