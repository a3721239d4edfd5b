"""Personas made by teachers in the page, imported from character cards, and transcripts.

Everything here is plain data in, plain data out, so it is easy to test and to reason about.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from .personas import Persona, PersonaError

CUSTOM_ID = "custom"
DEFAULT_EXAMPLES = ["Who are you, and what do you care about most?", "What question should I ask myself today?",
                    "What would you say to a student my age?"]
STYLE = ("Answer in the language the student writes in. Keep replies conversational and short unless asked for "
         "more. If asked about things after your time, stay in character and say you do not know them.")


def _one_line(err: ValidationError) -> str:
    first = err.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def persona_from_form(name: str, instructions: str, greeting: str = "", examples: str = "") -> Persona:
    """A persona from the page's form: name and instructions required, the rest optional."""
    name, instructions = (name or "").strip(), (instructions or "").strip()
    if not name:
        raise PersonaError("custom persona: name: please give the persona a name")
    if len(instructions) < 20:
        raise PersonaError("custom persona: instructions: write at least a sentence (20 characters or more)")
    questions = [q.strip() for q in (examples or "").splitlines() if q.strip()]
    try:
        return Persona(id=CUSTOM_ID, name=name, dates="custom persona", tagline="Made in Agora", avatar="✏️",
                       greeting=(greeting or "").strip() or f"Hello, I am {name}. What would you like to discuss?",
                       examples=(questions + DEFAULT_EXAMPLES)[:max(3, len(questions))], instructions=instructions)
    except ValidationError as exc:
        raise PersonaError(f"custom persona: {_one_line(exc)}") from None


def _fill(text: str, name: str) -> str:
    """SillyTavern placeholders: {{char}} is the persona, {{user}} the student."""
    text = re.sub(r"\{\{\s*char\s*\}\}|<BOT>", name, text or "", flags=re.I)
    return re.sub(r"\{\{\s*user\s*\}\}|<USER>", "the student", text, flags=re.I).strip()


def persona_from_card(raw: str | bytes | dict[str, Any], source: str = "card") -> Persona:
    """A SillyTavern Character Card (V1 flat, V2 ``chara_card_v2`` or V3 ``chara_card_v3``) as a persona."""
    try:
        card = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except json.JSONDecodeError as exc:
        raise PersonaError(f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}") from None
    if not isinstance(card, dict):
        raise PersonaError(f"{source}: expected a JSON object with a character card")
    spec = card.get("spec", "")
    data = card.get("data") if spec in ("chara_card_v2", "chara_card_v3") else card
    if not isinstance(data, dict):
        raise PersonaError(f"{source}: data: expected an object")
    name = str(data.get("name") or "").strip()
    if not name:
        raise PersonaError(f"{source}: name: missing (every card needs a character name)")
    parts = [_fill(str(data.get("system_prompt") or ""), name) or f"You are {name}."]
    for label, key in (("Description", "description"), ("Personality", "personality"), ("Scenario", "scenario")):
        if value := _fill(str(data.get(key) or ""), name):
            parts.append(f"{label}: {value}")
    if examples := _fill(str(data.get("mes_example") or ""), name):
        parts.append(f"Example dialogue (style only):\n{examples.replace('<START>', '').strip()}")
    parts.append(STYLE)
    description = _fill(str(data.get("description") or data.get("creator_notes") or ""), name)
    tagline = re.split(r"(?<=[.!?])\s", description, maxsplit=1)[0][:100] if description else "Imported character"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "imported"
    try:
        return Persona(id=slug[:64], name=name, dates=str(data.get("character_version") or "imported card"),
                       tagline=tagline, avatar="🎭",
                       greeting=_fill(str(data.get("first_mes") or ""), name) or f"Hello, I am {name}.",
                       examples=DEFAULT_EXAMPLES, instructions="\n\n".join(parts))
    except ValidationError as exc:
        raise PersonaError(f"{source}: {_one_line(exc)}") from None


def message_text(content: Any) -> str:
    """The text of a Gradio chat message's content (a string or a list of parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return content if isinstance(content, str) else ""


def transcript_markdown(persona: Persona, history: list[dict[str, Any]], when: datetime | None = None) -> str:
    """The conversation as Markdown: persona, date, then each turn."""
    when = when or datetime.now()
    lines = [f"# A conversation with {persona.name}", "",
             f"*{persona.name} ({persona.dates}) — {persona.tagline}*  ", f"*Agora, {when:%Y-%m-%d %H:%M}*", ""]
    for msg in history:
        text = message_text(msg.get("content")).strip()
        if not text:
            continue
        who = "**Student:**" if msg.get("role") == "user" else f"**{persona.name}:**"
        lines += [f"{who} {text}", ""]
    return "\n".join(lines).rstrip() + "\n"
