"""Philosopher personas: ``personas.yaml`` → validated :class:`Persona` objects.

Any problem in the file becomes one :class:`PersonaError` line naming the file,
the persona and the field, so a teacher editing YAML sees exactly what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "personas.yaml"


class PersonaError(ValueError):
    """A persona file problem, as one line: ``file: persona 'id': field: what is wrong``."""


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
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    assistant_id: str | None = None

    @field_validator("examples")
    @classmethod
    def _examples_not_blank(cls, value: list[str]) -> list[str]:
        if any(not q.strip() for q in value):
            raise ValueError("examples must not be blank")
        return value

    @property
    def label(self) -> str:
        return f"{self.name} ({self.dates})"


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


def parse_personas(text: str, source: str = "<personas>") -> list[Persona]:
    """Validate YAML text; raise :class:`PersonaError` with a one-line message."""
    try:
        data = yaml.safe_load(text)
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
        if persona.id in seen:
            raise PersonaError(f"{source}: {who}: id: duplicate id (also persona #{seen[persona.id]})")
        seen[persona.id] = index
        personas.append(persona)
    return personas


def load_personas(path: str | Path | None = None) -> list[Persona]:
    path = Path(path) if path else DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PersonaError(f"{path}: cannot read persona file: {exc.strerror or exc}") from None
    return parse_personas(text, str(path))


def to_yaml(persona: Persona) -> str:
    """One persona as a YAML list entry, ready to paste into ``personas.yaml``."""
    data = persona.model_dump(exclude_none=True)
    return yaml.safe_dump([data], sort_keys=False, allow_unicode=True, width=100)
