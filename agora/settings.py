"""Configuration from the environment and an optional ``.env`` file.

Secrets are not kept here: the API key is read from the environment only when
a client is built (:func:`api_key`), so it never sits in an object the UI
could render or log.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from dotenv import load_dotenv

Api = Literal["assistants", "responses", "chat"]
API_CHOICES = ("auto", "assistants", "responses", "chat")


class SettingsError(ValueError):
    """A bad setting, as one line naming the variable."""


def api_key() -> str | None:
    """The OpenAI key, read at the moment a client is built."""
    return os.environ.get("OPENAI_API_KEY") or None


@dataclass(frozen=True)
class Settings:
    base_url: str | None = None        # OPENAI_BASE_URL
    has_api_key: bool = False          # whether OPENAI_API_KEY is set (the key itself is not kept)
    api: str = "auto"                  # AGORA_API: auto | assistants | responses | chat
    model: str | None = None           # AGORA_MODEL
    personas: str | None = None        # AGORA_PERSONAS
    engine: str = "llama"              # AGORA_ENGINE: llama | scripted (embedded server)
    gguf: str | None = None            # AGORA_GGUF: another GGUF for the embedded server
    scripted_delay: float = 0.02       # AGORA_SCRIPTED_DELAY: seconds between scripted pieces
    scripted_first_delay: float = 0.0  # AGORA_SCRIPTED_FIRST_DELAY
    scripted_pieces: int = 12          # AGORA_SCRIPTED_PIECES: shortest scripted reply, in pieces
    concurrency: int | None = None     # AGORA_CONCURRENCY: simultaneous replies (default: 1 local model, 64 remote)
    max_input_chars: int = 4000        # AGORA_MAX_INPUT_CHARS
    max_output_tokens: int = 512       # AGORA_MAX_OUTPUT_TOKENS
    timeout: float = 60.0              # AGORA_TIMEOUT: seconds to wait for the backend
    rate_per_session: int | None = None  # AGORA_RATE_PER_SESSION: messages per minute (off by default)
    rate_per_ip: int | None = None     # AGORA_RATE_PER_IP: messages per minute per client IP (off by default)
    password: bool = False             # whether AGORA_PASSWORD is set (read at launch, never kept)
    max_updates_per_s: float = 400.0   # AGORA_MAX_UPDATES_PER_S: page updates per second, all replies together
    db: str = "data/agora.db"          # AGORA_DB: the embedded server's SQLite file (":memory:" for none)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
        if env is None:
            if dotenv:
                load_dotenv(override=False)
            env = dict(os.environ)

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def number(name: str, kind: type, default: float | int | None, minimum: float = 0) -> object:
            raw = get(name)
            if raw is None:
                return default
            try:
                value = kind(raw)
            except ValueError:
                noun = "an integer" if kind is int else "a number"
                raise SettingsError(f"{name}={raw!r}: expected {noun}") from None
            if value < minimum:
                raise SettingsError(f"{name}={raw!r}: must be at least {minimum}")
            return value

        api = (get("AGORA_API") or "auto").lower()
        if api not in API_CHOICES:
            raise SettingsError(f"AGORA_API={api!r}: choose one of {', '.join(API_CHOICES)}")
        engine = (get("AGORA_ENGINE") or "llama").lower()
        if engine not in ("llama", "scripted"):
            raise SettingsError(f"AGORA_ENGINE={engine!r}: choose llama or scripted")
        personas = get("AGORA_PERSONAS")
        if personas and not Path(personas).is_file():
            raise SettingsError(f"AGORA_PERSONAS={personas!r}: no such file")
        return cls(
            base_url=get("OPENAI_BASE_URL"), has_api_key=get("OPENAI_API_KEY") is not None, api=api,
            model=get("AGORA_MODEL"), personas=personas, engine=engine, gguf=get("AGORA_GGUF"),
            scripted_delay=number("AGORA_SCRIPTED_DELAY", float, cls.scripted_delay),  # type: ignore[arg-type]
            scripted_first_delay=number("AGORA_SCRIPTED_FIRST_DELAY", float, 0.0),  # type: ignore[arg-type]
            scripted_pieces=number("AGORA_SCRIPTED_PIECES", int, cls.scripted_pieces, 1),  # type: ignore[arg-type]
            concurrency=number("AGORA_CONCURRENCY", int, None, 1),  # type: ignore[arg-type]
            max_input_chars=number("AGORA_MAX_INPUT_CHARS", int, cls.max_input_chars, 1),  # type: ignore[arg-type]
            max_output_tokens=number("AGORA_MAX_OUTPUT_TOKENS", int, cls.max_output_tokens, 1),  # type: ignore[arg-type]
            timeout=number("AGORA_TIMEOUT", float, cls.timeout, 0.1),  # type: ignore[arg-type]
            rate_per_session=number("AGORA_RATE_PER_SESSION", int, None, 1),  # type: ignore[arg-type]
            rate_per_ip=number("AGORA_RATE_PER_IP", int, None, 1),  # type: ignore[arg-type]
            max_updates_per_s=number("AGORA_MAX_UPDATES_PER_S", float, cls.max_updates_per_s, 1),  # type: ignore[arg-type]
            password=get("AGORA_PASSWORD") is not None, db=get("AGORA_DB") or cls.db,
        )

    @property
    def embedded(self) -> bool:
        """No key and no base URL: answer from the embedded server."""
        return self.base_url is None and not self.has_api_key

    @property
    def resolved_api(self) -> Api:
        """``auto``: Responses on OpenAI itself, Assistants on the embedded server, Chat elsewhere."""
        if self.api != "auto":
            return self.api  # type: ignore[return-value]
        if self.embedded:
            return "assistants"
        if self.base_url is None:
            return "responses"
        return "chat"

    def describe(self) -> dict[str, object]:
        """Every setting, safe to log (the key only as set / not set)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
