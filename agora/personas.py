"""Philosopher personas: ``personas.yaml`` → validated :class:`Persona` objects, and personas
made in the page or imported from a character card.

Any problem becomes one :class:`PersonaError` line naming the file (or card), the persona and
the field, so a teacher editing YAML sees exactly what to fix.  Plain data in, plain data out.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .language import detect

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "personas.yaml"
CUSTOM_ID = "custom"  # the persona made in the page; no file may use this id
BASE_LANGUAGE = "en"  # the language a persona's own fields are written in; others go in `translations`


class PersonaError(ValueError):
    """A persona file problem, as one line: ``file: persona 'id': field: what is wrong``."""


class Sample(BaseModel):
    """One exchange in the persona's voice: shown to the model as an example turn (few-shot)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=1500)


class Translation(BaseModel):
    """What the page shows of a persona in another language (any field left out stays as written)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tagline: str | None = None
    greeting: str | None = None
    examples: list[str] | None = Field(default=None, min_length=3)
    samples: list[Sample] | None = Field(default=None, max_length=3)


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    name: str = Field(min_length=1)
    dates: str
    tagline: str
    avatar: str = Field(min_length=1)
    greeting: str = Field(min_length=1)
    examples: list[str] = Field(min_length=3)
    instructions: str = Field(min_length=20)
    samples: list[Sample] = Field(default_factory=list, max_length=3)
    translations: dict[str, Translation] = Field(default_factory=dict)
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    assistant_id: str | None = None
    readings: list[str] = Field(default_factory=list, max_length=20)  # files beside the persona file (file_search)

    @field_validator("examples")
    @classmethod
    def _examples_not_blank(cls, value: list[str]) -> list[str]:
        if any(not q.strip() for q in value):
            raise ValueError("examples must not be blank")
        return value

    @property
    def label(self) -> str:
        return f"{self.name} ({self.dates})"

    def sample_turns(self, question: str = "") -> list[dict[str, str]]:
        """The samples as chat messages, to go before the conversation: a small model imitates
        their length, tone — and language — far better than it follows instructions.  They are
        the samples in ``question``'s language when the persona has a translation for it."""
        samples = self.samples
        if question and any(t.samples for t in self.translations.values()):
            lang = detect(question)
            samples = (self.translations[lang].samples if lang in self.translations else None) or samples
        return [{"role": role, "content": text} for s in samples
                for role, text in (("user", s.question), ("assistant", s.answer))]

    def shown_in(self, lang: str) -> Persona:
        """The persona as the page shows it in ``lang``: its translation where it has one."""
        translation = self.translations.get(lang)
        if translation is None:
            return self
        return self.model_copy(update={key: getattr(translation, key) for key in ("tagline", "greeting", "examples")
                                       if getattr(translation, key) is not None})


def _describe(err: Any) -> tuple[str, str]:
    loc = [str(p) for p in err["loc"]]
    field = ".".join(loc) or "(entry)"
    kind = err["type"]
    if kind == "missing":
        return field, "missing required field"
    if kind == "extra_forbidden":
        known = ", ".join(Persona.model_fields)
        return field, f"unknown field (typo?); known fields: {known}"
    return field, f"{err['msg']} (got {err.get('input')!r})" if kind.endswith("_type") else err["msg"]


MAX_FILE_BYTES = 1 << 20  # a persona file is a page of text per persona


class _NoAliases(yaml.SafeLoader):
    """YAML without aliases (``*name``): persona files need none, and a few nested aliases can
    expand to gigabytes (the "billion laughs") before anything could be checked."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, f"aliases (*{event.anchor}) are not allowed in persona "
                                              "files; write the value out", event.start_mark)
        return super().compose_node(parent, index)


def _with_readings(persona: Persona, base: Path | None, source: str, who: str) -> Persona:
    """``persona`` with its readings found (relative to ``base``) and checked readable, as absolute paths."""
    if not persona.readings:
        return persona
    from .shared.retrieval import (  # the server's own reader: what it refuses, refuse now
        ReadingError,
        extract_text,
    )

    found = []
    for i, name in enumerate(persona.readings):
        path = Path(name) if base is None or Path(name).is_absolute() else base / name
        try:
            extract_text(path.name, path.read_bytes())
        except OSError as exc:
            raise PersonaError(f"{source}: {who}: readings[{i}]: cannot read {path}: {exc.strerror or exc}") from None
        except ReadingError as exc:
            raise PersonaError(f"{source}: {who}: readings[{i}]: {exc}") from None
        found.append(str(path.resolve()))
    return persona.model_copy(update={"readings": found})


def parse_personas(text: str, source: str = "<personas>", base: Path | None = None) -> list[Persona]:
    """Validate YAML text; raise :class:`PersonaError` with a one-line message.  ``base``: the
    folder readings are named relative to."""
    try:
        data = yaml.load(text, Loader=_NoAliases)  # noqa: S506 - a SafeLoader, without aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise PersonaError(f"{source}: YAML syntax error at {where}: {problem}") from None
    if data is None or data == [] or data == {}:
        raise PersonaError(f"{source}: file is empty; expected a list of personas")
    if isinstance(data, dict) and "personas" in data:
        data = data["personas"]
    if not isinstance(data, list):
        raise PersonaError(f"{source}: expected a list of personas, got {type(data).__name__}")
    personas: list[Persona] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(data, start=1):
        ident = entry.get("id") if isinstance(entry, dict) else None
        who = f"persona '{ident}'" if ident else f"persona #{index}"
        if not isinstance(entry, dict):
            raise PersonaError(f"{source}: {who}: expected a mapping of fields, got {type(entry).__name__}")
        try:
            persona = Persona.model_validate(entry)
        except ValidationError as exc:
            field, message = _describe(exc.errors()[0])
            raise PersonaError(f"{source}: {who}: {field}: {message}") from None
        if persona.id == CUSTOM_ID:
            raise PersonaError(f"{source}: {who}: id: '{CUSTOM_ID}' is reserved for the persona made in the page; "
                               "choose another id")
        if persona.id in seen:
            raise PersonaError(f"{source}: {who}: id: duplicate id (also persona #{seen[persona.id]})")
        seen[persona.id] = index
        personas.append(_with_readings(persona, base, source, who))
    return personas


def load_personas(path: str | Path | None = None) -> list[Persona]:
    path = Path(path) if path else DEFAULT_FILE
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PersonaError(f"{path}: persona file is larger than {MAX_FILE_BYTES >> 20} MB")
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise PersonaError(f"{path}: cannot read persona file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PersonaError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                           "save the file as UTF-8") from None
    return parse_personas(text, str(path), path.parent)


def to_yaml(persona: Persona) -> str:
    """One persona as a YAML list entry, ready to paste into ``personas.yaml`` (a made-up persona
    gets an id from its name: ``custom`` is the page's own)."""
    data = persona.model_dump(exclude_none=True)
    if data["id"] == CUSTOM_ID:
        ascii_name = unicodedata.normalize("NFKD", persona.name).encode("ascii", "ignore").decode().lower()
        data["id"] = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:64] or "my-philosopher"
    return yaml.safe_dump([data], sort_keys=False, allow_unicode=True, width=100)


# ------------------------------------------------------------------ made in the page, or imported

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
