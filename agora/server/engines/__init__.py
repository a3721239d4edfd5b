"""Engines behind the embedded server: the real local model, and a scripted one for tests."""

from __future__ import annotations

from .base import Deadline, Engine, EngineError, Generation, ToolCall
from .llama import LlamaEngine
from .scripted import ScriptedEngine

ENGINES = ("llama", "scripted")


def build_engine(kind: str, model: str | None = None, *, delay: float = 0.0, first_delay: float = 0.0,
                 min_pieces: int = 12) -> Engine:
    """An engine by name: ``llama`` (``model``: a GGUF path, default SmolLM2) or ``scripted``."""
    if kind == "scripted":
        return ScriptedEngine(delay=delay, first_delay=first_delay, min_pieces=min_pieces)
    if kind == "llama":
        return LlamaEngine(model)
    raise ValueError(f"unknown engine {kind!r} (choose {' or '.join(ENGINES)})")


__all__ = ["ENGINES", "Deadline", "Engine", "EngineError", "Generation", "LlamaEngine", "ScriptedEngine", "ToolCall",
           "build_engine"]
