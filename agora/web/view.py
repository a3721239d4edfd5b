"""How things look on the page: a persona's greeting, card and avatar, an answer and its
sources, the page's style; and the small helpers every tab's handlers share."""

from __future__ import annotations

import hashlib
import html
import tempfile
from abc import ABCMeta
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import gradio as gr
from gradio.component_meta import ComponentMeta
from gradio.components.chatbot import TextMessage

from ..classroom import ClassroomError
from ..classroom.notices import say, shown
from ..client.conversation import Exchange
from ..client.readings import Source
from ..personas import Persona
from .sanitise import CLASSES, safe_html

Messages = list[dict[str, Any]]


@contextmanager
def as_toast() -> Iterator[None]:
    """What the classroom refuses, shown as it says it: one line in an error toast."""
    try:
        yield
    except ClassroomError as exc:
        raise gr.Error(str(exc)) from None


def client_host(request: gr.Request | None) -> str | None:
    """The client's IP address, for the limits per IP."""
    return getattr(getattr(request, "client", None), "host", None)


def asked(history: Messages) -> int:
    """How many questions the chat shows (each began an exchange)."""
    return sum(1 for msg in history if msg.get("role") == "user")


def sources_message(sources: list[Source], lang: str) -> dict[str, Any]:
    """The sources of an answer, as a collapsible chat message (Gradio's message metadata)."""
    lines = [f"- **{s.filename}**" + (f" — “{s.quote}”" if s.quote else "") for s in sources]
    return {"role": "assistant", "content": "\n".join(lines), "metadata": {"title": say("sources", lang), "status": "done"}}


def answered(exchange: Exchange, lang: str) -> str | list[Any]:
    """The answer as the chat shows it and, if it drew on readings (even if it was cut), its sources under it."""
    text = shown(exchange, lang)
    return [text, sources_message(exchange.sources, lang)] if exchange.sources else text


class _NoStub(ComponentMeta):
    """Gradio's component metaclass without its side effect: it writes a ``.pyi`` stub beside the
    module of every Component subclass.  :class:`SafeChatbot` adds no events, so the stub would
    say nothing new (and would hide this module from type checkers)."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any]) -> Any:
        return ABCMeta.__new__(mcs, name, bases, attrs)


class SafeChatbot(gr.Chatbot, metaclass=_NoStub):
    """The chat, every message of which goes through :func:`safe_html` on its way to the browser:
    the student's own (as ChatInterface adds it), each streamed update of a reply, greetings and
    restored histories alike.  A question longer than ``longest_question`` (refused anyway) is
    shown cut, so the page does not send it back with every later event.

    A subclass, not a wrapper: Gradio rebuilds a component from its class when an update changes
    its settings (a persona's avatar), so only what the class says survives.
    """

    longest_question: ClassVar[int | None] = None

    @classmethod
    def limited(cls, longest_question: int) -> type[SafeChatbot]:
        """This chat, with questions longer than ``longest_question`` shown cut."""
        limited: type[SafeChatbot] = _NoStub(cls.__name__, (cls,), {"longest_question": longest_question})
        return limited

    def get_block_name(self) -> str:
        return "chatbot"  # the browser draws it with Gradio's own chatbot

    def postprocess(self, value: Any) -> Any:
        data = super().postprocess(value)
        limit = self.longest_question
        for message in data.root:
            for part in message.content:
                if isinstance(part, TextMessage):
                    text = part.text
                    if message.role == "user" and limit and len(text) > limit:
                        text = text[:limit] + " …"
                    part.text = safe_html(text)
        return data


def greeting(persona: Persona) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": persona.greeting}]


def card(persona: Persona) -> str:
    e = html.escape
    return safe_html(f'<div class="agora-card"><span class="agora-avatar">{e(persona.avatar)}</span>'
                     f'<div><div class="agora-name">{e(persona.name)} <span class="agora-dates">{e(persona.dates)}'
                     f'</span></div><div class="agora-tagline">{e(persona.tagline)}</div></div></div>', classes=CLASSES)


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
.agora-card > div {min-width:0; overflow-wrap:anywhere}
@media (max-width: 640px) {
  .agora-avatar {font-size:1.8rem}
  #agora-top {flex-wrap:wrap !important}
  #agora-top > * {flex:1 1 100% !important; min-width:0 !important; width:100%}
}
"""
