"""A flow turns one API's streaming events into text deltas, for a chat and for a debate turn.

The caller accumulates the deltas; a flow only knows its API.  All per-conversation state
(thread id, conversation id, exchanges so far) lives in the :class:`Conversation` or the
:class:`Discussion` the caller passes in, which belongs to one browser session.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Protocol

from ..personas import Persona
from .backend import Backend
from .conversation import Conversation
from .readings import Reading, Source


def given(**options: Any) -> dict[str, Any]:
    """The options that are set (a persona without ``temperature`` sends none)."""
    return {k: v for k, v in options.items() if v is not None}


class Discussion(Protocol):
    """A conversation several personas share, such as a debate, as a flow needs it."""

    thread_id: str | None  # Assistants: the thread every speaker's runs share
    run_id: str | None  # Assistants: the run of the latest turn

    def seen_by(self, speaker: str | None) -> list[dict[str, str]]:
        """All of it as ``speaker`` is shown it (its own turns as its own; None: every turn by name)."""

    def unheard(self) -> list[dict[str, str]]:
        """What the thread has not been told yet (the class's words since the last turn)."""


class Flow(ABC):
    name: ClassVar[str]

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @abstractmethod
    def stream(self, conv: Conversation, persona: Persona, message: str,
               readings: Sequence[Reading] = ()) -> Iterator[str]:
        """Yield the reply's text deltas; raise :class:`~.endings.ReplyEnded` if it ends early.

        With ``readings``, the answer is grounded in them: what it cites goes in the current
        exchange's ``sources`` (``conv.exchanges[-1]``).
        """

    def withdraw(self, holder: Conversation | Discussion) -> None:
        """Take back the last reply of ``holder`` (moderation withheld it), so that no later turn is
        shown it.  Flows that send the history with each turn have nothing to do: the caller's
        records no longer hold the reply."""

    @abstractmethod
    def turn(self, persona: Persona, rules: str, discussion: Discussion) -> Iterator[str]:
        """Yield ``persona``'s next turn in ``discussion``: its instructions followed by ``rules``
        (how to take part), shown the discussion as :meth:`Discussion.seen_by` gives it; raise
        :class:`~.endings.ReplyEnded` if it ends early."""


def cites(conv: Conversation, sources: list[Source]) -> None:
    """Record what the current answer cites."""
    if conv.exchanges:
        conv.exchanges[-1].sources = sources
