"""One browser session's state: what the classroom remembers of one student's page."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from ..client.conversation import Conversation
from ..client.readings import Reading
from ..personas import Persona


@dataclass
class Session:
    """A browser session: its current conversation, the persona it made itself (if any), the
    browser's language, the readings added in the page, whether the teacher's view is open, and a
    random id of its own (for the rate limiter and the daily cap; kept sealed in the browser)."""

    conversation: Conversation = field(default_factory=lambda: Conversation(persona_id=""))
    custom: Persona | None = None
    lang: str | None = None
    readings: list[Reading] = field(default_factory=list)  # added by the teacher, for this session
    teacher: bool = False  # the teacher's password was typed in this session
    judged: set[tuple[str, int, str]] = field(default_factory=set)  # (persona, exchange, kind) recorded
    failed_unlocks: int = 0
    _id: str = ""

    @property
    def id(self) -> str:
        # Made on first use: gr.State copies its default for every session, so a default id would be shared.
        if not self._id:
            self._id = secrets.token_urlsafe(12)
        return self._id

    def adopt(self, session_id: str) -> None:
        """Go on as the session this browser was before (its id sealed by the server), so its daily
        count goes on across a reload or a restart."""
        self._id = session_id

    def conversation_for(self, persona_id: str, asked: int) -> Conversation:
        """The current conversation; a new one if the persona changed (``asked``: questions on screen)."""
        if self.conversation.persona_id != persona_id:
            self.conversation = Conversation(persona_id=persona_id, start=asked)
        return self.conversation
