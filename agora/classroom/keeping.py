"""What a browser keeps of its conversations, so that a reload or a restart loses nothing, and
how it is taken back.

Everything that comes back is a hint, validated by the pydantic models below: a made-up persona
is rebuilt from the fields its form can set, backend ids are used only under the server's seal,
a malformed message or turn is dropped, and every message is sanitised again on its way to the
page (by the page's chat component).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..client.conversation import REFUSED, Conversation, Exchange
from ..personas import CUSTOM_ID, Persona, PersonaError, persona_from_form
from .seal import Seal
from .session import Session

Messages = list[dict[str, Any]]
#: Messages of one conversation a browser keeps (the newest).
KEPT_MESSAGES = 200


class KeptMessage(BaseModel):
    """A chat message as Gradio keeps it: a role the chat knows; its content is sanitised on display."""

    model_config = ConfigDict(extra="allow")
    role: Literal["user", "assistant"]


class KeptExchange(BaseModel):
    question: str
    answer: str


class KeptConversation(BaseModel):
    """What the backend knows of a conversation, as the browser keeps it; its ids are used only
    under the server's seal (:meth:`~.seal.Seal.check` drops them otherwise)."""

    thread_id: str | None = None
    conversation_id: str | None = None
    previous_response_id: str | None = None
    responses_mode: Literal["conversation", "chain", "history"] = "conversation"
    start: int = Field(0, ge=0)
    exchanges: list[Any] = Field(default_factory=list)  # each checked on its own: a bad one is dropped

    def restored(self, persona_id: str) -> Conversation:
        conv = Conversation(persona_id, start=self.start, thread_id=self.thread_id,
                            conversation_id=self.conversation_id, previous_response_id=self.previous_response_id,
                            responses_mode=self.responses_mode)
        for item in self.exchanges:
            try:
                kept = KeptExchange.model_validate(item)
            except ValidationError:
                continue
            conv.exchanges.append(Exchange(kept.question, kept.answer))
        return conv


class KeptChat(BaseModel):
    """One persona's conversation: the messages on screen, and the backend's ids under the seal."""

    history: list[Any]
    conversation: Any = None

    def messages(self) -> Messages:
        """The well-formed messages (a malformed one is dropped, not the conversation)."""
        kept = []
        for message in self.history:
            try:
                KeptMessage.model_validate(message)
            except ValidationError:
                continue
            kept.append(message)
        return kept


class KeptPersona(BaseModel):
    """A persona made in the page: only what its form can set, and a model name to be checked."""

    name: str = Field("", max_length=200)
    instructions: str = ""
    greeting: str = ""
    examples: list[str] = Field(default_factory=list)
    model: str | None = None


class KeptPage(BaseModel):
    """Everything the browser keeps of the chat; each persona's conversation under its id."""

    model_config = ConfigDict(extra="allow")
    current: str | None = None
    session: Any = None
    custom_persona: Any = None


@dataclass
class Restored:
    """A conversation taken back from the browser: whose it is, and the messages to show."""

    persona: Persona
    history: Messages


def without_refused(history: Messages, conv: Conversation) -> Messages:
    """``history`` without the questions Agora refused to send (and their notices)."""
    refused = {conv.start + i for i, x in enumerate(conv.exchanges) if x.ending and x.ending.kind in REFUSED}
    if not refused:
        return history
    kept, question, skipping = [], -1, False
    for message in history:
        if message.get("role") == "user":
            question += 1
            skipping = question in refused
        if not skipping:
            kept.append(message)
    return kept


class Keeping:
    """Keeps and takes back what the browser holds; one per classroom."""

    def __init__(self, seal: Seal, personas: dict[str, Persona], custom_models: frozenset[str]) -> None:
        self.seal, self.personas, self.custom_models = seal, personas, custom_models

    def remember(self, history: Messages, persona_id: str, session: Session, saved: Any) -> dict[str, Any]:
        """What the browser keeps after this change: the conversation per persona, its backend ids
        sealed, refused questions left out (a refused 1 MB message is not kept)."""
        kept = dict(saved) if isinstance(saved, dict) else {}
        conv = session.conversation
        kept["current"] = persona_id
        kept[persona_id] = {"history": without_refused(history, conv)[-KEPT_MESSAGES:],
                            "conversation": self.seal.sign(persona_id, conv.saved())}
        if session.custom is not None:
            kept["custom_persona"] = session.custom.model_dump(exclude_none=True)
        kept["session"] = self.seal.sign_id(session.id)
        return kept

    def restore(self, saved: Any, session: Session) -> Restored | None:
        """Take back what the browser kept into ``session``: its sealed session id, its made-up
        persona, and its current conversation (None if there is none to show)."""
        try:
            page = KeptPage.model_validate(saved if isinstance(saved, dict) else {})
        except ValidationError:
            return None
        if (kept_id := self.seal.check_id(page.session)) is not None:
            session.adopt(kept_id)
        if (custom := self.trusted_custom(page.custom_persona)) is not None:
            session.custom = custom
        current = page.current
        if current is None or not (current in self.personas or (current == CUSTOM_ID and session.custom)):
            return None
        try:
            chat = KeptChat.model_validate((page.model_extra or {}).get(current))
        except ValidationError:
            return None
        try:
            kept = KeptConversation.model_validate(self.seal.check(current, chat.conversation) or {})
        except ValidationError:
            kept = KeptConversation()
        session.conversation = kept.restored(current)
        persona = session.custom if current == CUSTOM_ID and session.custom else self.personas[current]
        return Restored(persona, chat.messages())

    def trusted_custom(self, data: Any) -> Persona | None:
        """A made-up persona the browser kept, rebuilt from what the form can set; a model only
        from ``AGORA_CUSTOM_MODELS``, no other parameter (the teacher's key pays for it)."""
        try:
            kept = KeptPersona.model_validate(data)
            persona = persona_from_form(kept.name, kept.instructions, kept.greeting, "\n".join(kept.examples))
        except (ValidationError, PersonaError):
            return None
        if kept.model in self.custom_models:
            persona = persona.model_copy(update={"model": kept.model})
        return persona
