"""The conversation as Markdown, for the teacher to download, and how a download reaches the browser."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..personas import Persona


def chat_text(content: Any) -> str:
    """The text of a Gradio chat message's content (a string or a list of parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content if isinstance(content, str) else ""


def transcript_markdown(persona: Persona, history: list[dict[str, Any]], when: datetime | None = None) -> str:
    """The conversation as Markdown: persona, date, then each turn; an answer's sources (a message
    with a title, shown collapsed in the page) as a quoted block under it."""
    when = when or datetime.now()
    lines = [f"# A conversation with {persona.name}", "",
             f"*{persona.name} ({persona.dates}) — {persona.tagline}*  ", f"*Agora, {when:%Y-%m-%d %H:%M}*", ""]
    for msg in history:
        text = chat_text(msg.get("content")).strip()
        if not text:
            continue
        meta = msg.get("metadata")
        title = meta.get("title") if isinstance(meta, dict) else None
        if title:
            lines += [f"> **{title}**  ", *(f"> {line}" for line in text.splitlines()), ""]
            continue
        who = "**Student:**" if msg.get("role") == "user" else f"**{persona.name}:**"
        lines += [f"{who} {text}", ""]
    return "\n".join(lines).rstrip() + "\n"


def download(name: str, text: str) -> str:
    """A download the browser saves from memory (:data:`SAVE_JS`): nothing is written on the server."""
    return json.dumps({"name": name, "text": text}, ensure_ascii=False)


#: Saves a :func:`download` as a file, in the browser.
SAVE_JS = """(payload) => {
  if (!payload) return;
  const {name, text} = JSON.parse(payload);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], {type: "text/plain;charset=utf-8"}));
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}"""
