"""One browser session's state, and the key that seals what the browser keeps of it."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from ..client.conversation import Conversation
from ..personas import Persona


@dataclass
class Session:
    """A browser session: its current conversation, and the persona it made itself (if any)."""

    conversation: Conversation = field(default_factory=lambda: Conversation(persona_id=""))
    custom: Persona | None = None

    def conversation_for(self, persona_id: str, asked: int) -> Conversation:
        """The current conversation; a new one if the persona changed (``asked``: questions on screen)."""
        if self.conversation.persona_id != persona_id:
            self.conversation = Conversation(persona_id=persona_id, start=asked)
        return self.conversation


def browser_secret(db: str) -> str | None:
    """The key that seals conversations kept in the browser, kept beside the server's database.

    Gradio's default is a new key per start, which would lose every student's conversation on a
    restart while the threads they point to are still on disk.  No database file: the default.
    """
    if not db or db == ":memory:":
        return None
    path = Path(db).parent / "browser-state.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
