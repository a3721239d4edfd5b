"""What the server asks of an engine: chat messages in, text pieces out, one at a time.

The server forwards each piece the moment it exists.  An engine reports how the generation
ended on the :class:`Generation` it was given (usage, ``finish_reason``, tool calls), so the
three APIs read one record.  It may raise :class:`EngineError` (the reply fails with that
message), or ``ConnectionAbortedError`` (the server drops the client's connection, as a
network would).  :meth:`Engine.preflight` may refuse a request before anything starts by
raising the server's own :class:`~agora.server.errors.OpenAIError`.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

FinishReason = Literal["stop", "length", "cancelled", "tool_calls"]


class EngineError(RuntimeError):
    """The engine failed while generating; the reply fails with this message."""


class Deadline(threading.Event):
    """A cancel flag that also counts as set once its deadline (monotonic) has passed: a run's
    expiry, a request's time limit.  Engines already stop when their generation's flag is set,
    so deadlines need no code of theirs.
    """

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at

    @property
    def requested(self) -> bool:
        return super().is_set()

    def is_set(self) -> bool:
        return self.requested or self.expired

    def wait(self, timeout: float | None = None) -> bool:
        remaining = max(0.0, self.at - time.monotonic())
        return super().wait(remaining if timeout is None else min(timeout, remaining)) or self.expired

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """A flag that sets itself ``seconds`` from now."""
        return cls(time.monotonic() + seconds)


@dataclass(frozen=True)
class ToolCall:
    """A function the model asked to call (its arguments as JSON text)."""

    id: str
    name: str
    arguments: str = "{}"


@dataclass
class Generation:
    """One generation request, and what the engine reports back about it."""

    messages: list[dict[str, str]]
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None             # the client's cap; None: the engine ends the reply itself
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)  # function definitions the model may call
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Filled in by the engine while it streams.
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: FinishReason = "stop"
    tool_calls: list[ToolCall] = field(default_factory=list)


class Engine(ABC):
    """Yields the text pieces of one reply.

    Besides :meth:`stream`, it declares everything the app asks of the model it starts itself
    (the page's badge, its status line while a model loads, how many students it takes at once),
    with defaults for an engine that has nothing to load.
    """

    name: ClassVar[str]
    #: A real model computing on this machine's cores (the app then streams as many replies as it decodes at once).
    local: ClassVar[bool] = False
    model_id: str
    parallel: int = 1  # replies generated at once: a local model's page takes this many students at a time
    tiny: bool = False  # the 135M default: the page says better answers are one setting away
    download: tuple[int, int] | None = None  # bytes fetched and total, while a model file downloads

    @abstractmethod
    def stream(self, gen: Generation) -> Iterator[str]:
        """Yield reply pieces for ``gen.messages``; update ``gen``'s usage fields."""

    @property
    def loaded(self) -> bool:
        """Whether :meth:`load` has nothing left to do."""
        return True

    def load(self) -> object:
        """Load the model now (fetching it first if need be) rather than on the first request."""
        return None

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn to start."""
        return 0

    def preflight(self, messages: list[dict[str, str]]) -> None:
        """Called before a request starts; may refuse it with an ``OpenAIError``."""
