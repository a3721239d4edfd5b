"""Custom personas, character-card import, YAML export round trip, Markdown transcript."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from agora.personas import (
    PersonaError,
    load_personas,
    parse_personas,
    persona_from_card,
    persona_from_form,
    to_yaml,
)
from agora.web.transcript import transcript_markdown

CARD_V2 = {
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {"name": "Hypatia", "description": "Mathematician of Alexandria. She teaches {{user}} geometry.",
             "personality": "patient, exact", "scenario": "The Museum of Alexandria, 400 CE.",
             "first_mes": "Welcome, {{user}}. I am {{char}}.", "mes_example": "<START>\n{{user}}: Hi\n{{char}}: Hello.",
             "system_prompt": "You are {{char}}, a teacher.", "creator_notes": "", "tags": [], "extensions": {}},
}


def test_card_v2_maps_onto_a_persona() -> None:
    p = persona_from_card(json.dumps(CARD_V2))
    assert (p.id, p.name, p.avatar, p.greeting) == ("hypatia", "Hypatia", "🎭", "Welcome, the student. I am Hypatia.")
    assert p.tagline == "Mathematician of Alexandria."
    assert p.instructions.startswith("You are Hypatia, a teacher.\n\nDescription: Mathematician of Alexandria.")
    for piece in ("Personality: patient, exact", "Scenario: The Museum of Alexandria, 400 CE.",
                  "Example dialogue (style only):\nthe student: Hi\nHypatia: Hello.", "language the student writes in"):
        assert piece in p.instructions
    assert len(p.examples) >= 3


def test_card_v3_and_v1_flat() -> None:
    v3 = {"spec": "chara_card_v3", "spec_version": "3.0", "data": {**CARD_V2["data"], "name": "Zhuangzi"}}  # type: ignore[dict-item]
    assert persona_from_card(v3).name == "Zhuangzi"
    flat = {"name": "Diogenes", "description": "Lives in a jar.", "first_mes": "Stand out of my light."}
    p = persona_from_card(flat)
    assert p.greeting == "Stand out of my light." and p.instructions.startswith("You are Diogenes.")


@pytest.mark.parametrize(("raw", "message"), [
    ("{not json", "card: not valid JSON (line 1, column 2)"),
    ("[1, 2]", "card: expected a JSON object"),
    ('{"spec": "chara_card_v2", "data": {"description": "x"}}', "card: name: missing"),
])
def test_bad_cards_give_one_clear_line(raw: str, message: str) -> None:
    with pytest.raises(PersonaError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        persona_from_card(raw)


def test_form_persona_and_yaml_export_round_trip() -> None:
    p = persona_from_form("Epictetus", "You are Epictetus, a Stoic teacher born a slave. Be brief.",
                          examples="What is in my control?\n\nHow do I stay calm?")
    assert p.examples[:2] == ["What is in my control?", "How do I stay calm?"] and len(p.examples) == 3
    assert parse_personas(to_yaml(p), "export.yaml") == [p.model_copy(update={"id": "epictetus"})]  # `custom` is the page's
    for shipped in load_personas():
        assert parse_personas(to_yaml(shipped)) == [shipped]
    with pytest.raises(PersonaError, match="instructions: write at least a sentence"):
        persona_from_form("X", "too short")
    with pytest.raises(PersonaError, match="name: please give"):
        persona_from_form(" ", "You are nobody in particular, and that is fine.")


def test_markdown_transcript() -> None:
    plato = {p.id: p for p in load_personas()}["plato"]
    history = [{"role": "assistant", "content": "Welcome to the Academy."},
               {"role": "user", "content": [{"type": "text", "text": "What is justice?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "Each part doing its own work."}]}]
    md = transcript_markdown(plato, history, datetime(2026, 11, 23, 14, 5))
    assert md == ("# A conversation with Plato\n\n*Plato (c. 428–348 BCE) — Founder of the Academy, painter of the "
                  "Forms*  \n*Agora, 2026-11-23 14:05*\n\n**Plato:** Welcome to the Academy.\n\n"
                  "**Student:** What is justice?\n\n**Plato:** Each part doing its own work.\n")
    sources = {"role": "assistant", "metadata": {"title": "📚 Sources", "status": "done"},
               "content": "- **republic.md** — “Justice is doing one's own work.”\n- **laws.md**"}
    assert transcript_markdown(plato, [*history, sources], datetime(2026, 11, 23, 14, 5)).endswith(
        "**Plato:** Each part doing its own work.\n\n> **📚 Sources**  \n"
        "> - **republic.md** — “Justice is doing one's own work.”\n> - **laws.md**\n")
