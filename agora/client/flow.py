"""A chat flow turns one API's streaming events into text deltas.

The page accumulates the deltas; a flow only knows its API.  All per-conversation state
(thread id, conversation id, exchanges so far) lives in the :class:`Conversation` the caller
passes in, which belongs to one browser session.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from ..personas import Persona
from .backend import Backend
from .conversation import Conversation
from .readings import Reading, Source


def given(**options: Any) -> dict[str, Any]:
    """The options that are set (a persona without ``temperature`` sends none)."""
    return {k: v for k, v in options.items() if v is not None}


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


def cites(conv: Conversation, sources: list[Source]) -> None:
    """Record what the current answer cites."""
    if conv.exchanges:
        conv.exchanges[-1].sources = sources
