"""What the page shows: per-session state, persona card and avatars, strings in English and French."""

from __future__ import annotations

import hashlib
import html
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import gradio as gr

from .flows import Conversation
from .personas import Persona


@dataclass
class Session:
    """One browser session's state: its conversation, and the persona it made itself (if any)."""

    conversation: Conversation = field(default_factory=lambda: Conversation(persona_id=""))
    custom: Persona | None = None

    def conversation_for(self, persona_id: str, history_len: int) -> Conversation:
        """The current conversation; a new one (history so far set aside) if the persona changed."""
        if self.conversation.persona_id != persona_id:
            self.conversation = Conversation(persona_id=persona_id, history_offset=history_len)
        return self.conversation

    def saved(self) -> dict[str, Any]:
        return asdict(self.conversation)

    @staticmethod
    def restore_conversation(data: Any, persona_id: str) -> Conversation:
        """A conversation from the browser's storage, keeping only well-formed known fields."""
        conv = Conversation(persona_id=persona_id)
        if isinstance(data, dict):
            for f in fields(Conversation):
                value = data.get(f.name)
                if f.name != "persona_id" and isinstance(value, (str, int)) and not isinstance(value, bool):
                    setattr(conv, f.name, value)
        return conv


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


def greeting(persona: Persona) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": persona.greeting}]


def card(persona: Persona) -> str:
    e = html.escape
    return (f'<div class="agora-card"><span class="agora-avatar">{e(persona.avatar)}</span>'
            f'<div><div class="agora-name">{e(persona.name)} <span class="agora-dates">{e(persona.dates)}</span>'
            f'</div><div class="agora-tagline">{e(persona.tagline)}</div></div></div>')


#: Drawn avatars live here; the page serves this folder as static files (see ``serve_avatars``).
AVATARS = Path(tempfile.gettempdir()) / "agora-avatars"


def serve_avatars() -> None:
    """Let Gradio serve drawn avatars, including those set after start-up (persona switch)."""
    AVATARS.mkdir(exist_ok=True)
    gr.set_static_paths([str(AVATARS)])


def avatar_file(persona: Persona) -> str | None:
    """The persona's avatar as an image file for the chat: a path as given, or an emoji drawn in SVG."""
    if Path(persona.avatar).suffix.lower() in (".png", ".jpg", ".jpeg", ".webp", ".svg", ".gif"):
        return persona.avatar if Path(persona.avatar).is_file() else None
    AVATARS.mkdir(exist_ok=True)
    path = AVATARS / f"{hashlib.sha1(persona.avatar.encode()).hexdigest()[:12]}.svg"
    if not path.exists():
        path.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><text x="32" y="46" '
                        f'font-size="44" text-anchor="middle">{html.escape(persona.avatar)}</text></svg>',
                        encoding="utf-8")
    return str(path)


CSS = """
.agora-card {display:flex; gap:.8rem; align-items:center; padding:.4rem .2rem}
.agora-avatar {font-size:2.4rem; line-height:1}
.agora-name {font-weight:600; font-size:1.1rem}
.agora-dates {font-weight:400; opacity:.7; font-size:.9rem}
.agora-tagline {font-style:italic; opacity:.85}
#agora-badge, #agora-status {font-size:.8rem; opacity:.75}
@media (max-width: 640px) { .agora-avatar {font-size:1.8rem} #agora-top {flex-wrap:wrap} }
"""

STRINGS = {
    "en": {
        "subtitle": "Ask a great philosopher; the answer streams in as it is written.",
        "philosopher": "Philosopher", "ask": "Ask a question…", "try": "Try asking",
        "export": "Download the conversation (Markdown)", "transcript": "Transcript",
        "create": "Create your own philosopher", "name": "Name",
        "instructions": "Instructions (who they are, how they speak)", "greeting": "Greeting (optional)",
        "examples": "Example questions, one per line (optional)", "use": "Chat with this persona",
        "yaml": "Download as YAML", "card": "…or import a character card (SillyTavern JSON)",
        "custom": "✏️ Your persona", "loading": "⏳ Loading the local model — the first answer may take a few seconds…",
    },
    "fr": {
        "subtitle": "Posez une question à un grand philosophe ; la réponse s'affiche au fur et à mesure.",
        "philosopher": "Philosophe", "ask": "Posez une question…", "try": "Essayez de demander",
        "export": "Télécharger la conversation (Markdown)", "transcript": "Transcription",
        "create": "Créez votre propre philosophe", "name": "Nom",
        "instructions": "Instructions (qui est-ce, comment parle-t-il ou elle)", "greeting": "Salutation (facultatif)",
        "examples": "Questions d'exemple, une par ligne (facultatif)", "use": "Discuter avec ce personnage",
        "yaml": "Télécharger en YAML", "card": "…ou importer une fiche de personnage (JSON SillyTavern)",
        "custom": "✏️ Votre personnage", "loading": "⏳ Chargement du modèle local — la première réponse peut prendre quelques secondes…",
    },
}

I18N = gr.I18n(**STRINGS)


def t(key: str) -> Any:
    """A UI string, translated in the browser's language (English and French)."""
    return I18N(key)
