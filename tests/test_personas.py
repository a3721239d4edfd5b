"""personas.yaml: the shipped file is valid, and every kind of mistake gives one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agora.personas import Persona, PersonaError, load_personas, parse_personas, to_yaml

GOOD = """
- id: socrates
  name: Socrates
  dates: c. 470–399 BCE
  tagline: The gadfly
  avatar: 🏛️
  greeting: Greetings.
  examples: ["What is justice?", "Can virtue be taught?", "Is the law always right?"]
  instructions: You are Socrates. Ask short questions.
"""


def test_shipped_personas_cover_traditions_and_are_complete() -> None:
    personas = load_personas()
    ids = {p.id for p in personas}
    assert len(personas) >= 10
    assert {"socrates", "plato", "confucius", "laozi", "ibn-rushd", "kant", "beauvoir", "arendt"} <= ids
    for p in personas:
        assert len(p.examples) >= 3
        assert "language the student" in p.instructions or "student's language" in p.instructions, p.id
        assert "nachronism" in p.instructions, p.id


@pytest.mark.parametrize(("text", "expected"), [
    ("- id: socrates\n  name: [unclosed\n", "personas.yaml: YAML syntax error at line 3, column 1:"),
    (GOOD.replace("  tagline: The gadfly\n", ""), "personas.yaml: persona 'socrates': tagline: missing required field"),
    (GOOD.replace('examples: ["What is justice?", "Can virtue be taught?", "Is the law always right?"]', "examples: 42"),
     "personas.yaml: persona 'socrates': examples: Input should be a valid list (got 42)"),
    (GOOD + GOOD.replace("name: Socrates", "name: Socrates again"),
     "personas.yaml: persona 'socrates': id: duplicate id (also persona #1)"),
    (GOOD.replace("  greeting:", "  greting: oops\n  greeting:"),
     "personas.yaml: persona 'socrates': greting: unknown field (typo?)"),
    ("", "personas.yaml: file is empty; expected a list of personas"),
    ("# only a comment\n", "personas.yaml: file is empty"),
    (GOOD.replace("id: socrates", "id: Socrates!"), "personas.yaml: persona 'Socrates!': id: String should match"),
])
def test_each_mistake_gives_one_clear_line(text: str, expected: str) -> None:
    with pytest.raises(PersonaError) as err:
        parse_personas(text, "personas.yaml")
    message = str(err.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_yaml_export_round_trips() -> None:
    persona = parse_personas(GOOD)[0]
    assert parse_personas(to_yaml(persona)) == [persona]
    assert isinstance(persona, Persona) and persona.label == "Socrates (c. 470–399 BCE)"


@pytest.mark.slow
def test_app_refuses_to_start_on_a_bad_persona_file(tmp_path: Path) -> None:
    bad = tmp_path / "mine.yaml"
    bad.write_text(GOOD.replace("  avatar: 🏛️\n", ""), encoding="utf-8")
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "app.py"], cwd=root, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "AGORA_PERSONAS": str(bad), "HOME": str(tmp_path),
                               "GRADIO_ANALYTICS_ENABLED": "False"})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == f"agora: {bad}: persona 'socrates': avatar: missing required field"
    assert "Traceback" not in proc.stderr


def test_readings_are_found_beside_the_file_and_checked(tmp_path: Path) -> None:
    (tmp_path / "apology.md").write_text("Socrates spoke to the jury of Athens.", encoding="utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04 not text")
    (tmp_path / "personas.yaml").write_text(GOOD + "  readings: [apology.md]\n", encoding="utf-8")
    assert load_personas(tmp_path / "personas.yaml")[0].readings == [str(tmp_path / "apology.md")]
    for readings, expected in [
        ("[missing.md]", f"readings[0]: cannot read {tmp_path / 'missing.md'}: No such file or directory"),
        ("[apology.md, notes.docx]", "readings[1]: notes.docx: files of type '.docx' cannot be read; use .txt, .md, .pdf"),
    ]:
        (tmp_path / "personas.yaml").write_text(GOOD + f"  readings: {readings}\n", encoding="utf-8")
        with pytest.raises(PersonaError) as err:
            load_personas(tmp_path / "personas.yaml")
        assert str(err.value) == f"{tmp_path / 'personas.yaml'}: persona 'socrates': {expected}"
