"""A session's conversation with one persona, kept as records: what the model is shown of past
turns is built from them, never parsed back out of what the page displays."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ..personas import Persona
from .readings import Source

#: Why a reply ended early (or was never sent); the page words each in the student's language.
EndKind = Literal[
    "tool", "expired", "failed", "cut", "error",                      # the backend ended the reply
    "rate", "auth", "forbidden", "not_found", "internal", "rejected",  # the backend refused the request
    "mid_error", "timeout", "unreachable", "lost", "unknown",          # the connection failed
    "too_long", "too_many", "daily", "moderated", "moderated_help",  # Agora refused the message
    "withheld",                                                       # moderation stopped the reply
    "stopped",                                                        # the student pressed Stop
]
REFUSED: frozenset[EndKind] = frozenset({"too_long", "too_many", "daily", "moderated", "moderated_help"})


@dataclass(frozen=True)
class Ending:
    """How a reply ended, if not on its own: a kind, and the values its notice names."""

    kind: EndKind
    values: dict[str, Any] = field(default_factory=dict)


@dataclass
class Exchange:
    """One question and the answer so far; ``ending`` says why it stopped early, if it did;
    ``sources``: the readings the answer cites."""

    question: str
    answer: str = ""
    ending: Ending | None = None
    sources: list[Source] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The answer so far, under the name every reply has (:class:`agora.classroom.reply.Said`)."""
        return self.answer

    @text.setter
    def text(self, value: str) -> None:
        self.answer = value

    @property
    def heard(self) -> bool:
        """Whether the model saw this exchange: a message refused, or failed before a word, was not."""
        return bool(self.answer.strip())


@dataclass
class Conversation:
    """What the backend knows of a conversation (its ids), and the exchanges so far."""

    persona_id: str
    exchanges: list[Exchange] = field(default_factory=list)
    start: int = 0                            # questions on screen before this conversation began
    thread_id: str | None = None              # assistants
    conversation_id: str | None = None        # responses, with Conversations
    previous_response_id: str | None = None   # responses, chained
    responses_mode: str = "conversation"      # conversation → chain → history, as the server allows
    # The vector store the thread searches; known only to this session (never taken from the browser).
    searched_store: str | None = field(default=None, repr=False)
    # Assistants: the run of the latest reply (to take it back if moderation withholds it); this session's only.
    run_id: str | None = field(default=None, repr=False)

    def history(self) -> list[dict[str, str]]:
        """Past turns as plain chat messages, for APIs that are sent the history."""
        return [{"role": role, "content": text} for x in self.exchanges if x.heard
                for role, text in (("user", x.question), ("assistant", x.answer))]

    def samples(self, persona: Persona, message: str) -> list[dict[str, str]]:
        """The persona's sample turns that open this conversation: in its first question's language."""
        return persona.sample_turns(self.exchanges[0].question if self.exchanges else message)

    def begin(self, question: str, asked_before: int) -> Exchange:
        """A new exchange; ``asked_before`` (questions on screen) drops exchanges undone in the page."""
        del self.exchanges[max(0, asked_before - self.start):]
        self.exchanges.append(Exchange(question))
        return self.exchanges[-1]

    def saved(self) -> dict[str, Any]:
        """What the browser keeps: everything but the questions Agora refused to send."""
        data = asdict(self)
        del data["searched_store"], data["run_id"]
        data["exchanges"] = [asdict(x) for x in self.exchanges if not (x.ending and x.ending.kind in REFUSED)]
        return data
