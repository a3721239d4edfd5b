"""Engines behind the embedded server: the real local model, and a scripted one for tests."""

from __future__ import annotations

from typing import get_args

from ...config import EngineName
from .base import Deadline, Engine, EngineError, Generation, ToolCall
from .batched import BatchedEngine
from .llama import LlamaEngine
from .scripted import ScriptedEngine

ENGINES: tuple[EngineName, ...] = get_args(EngineName)


def build_engine(kind: str, model: str | None = None, *, delay: float = 0.0, first_delay: float = 0.0,
                 min_pieces: int = 12, batch: int | None = None, threads: int | None = None) -> Engine:
    """An engine by name: ``llama`` (``model``: a GGUF path, default SmolLM2; up to ``batch``
    replies at once, on ``threads`` cores), ``llama-serial`` (the same model, one reply at a time) or
    ``scripted``."""
    if kind == "scripted":
        return ScriptedEngine(delay=delay, first_delay=first_delay, min_pieces=min_pieces)
    if kind == "llama":
        return BatchedEngine(model, batch=batch, n_threads=threads)
    if kind == "llama-serial":
        return LlamaEngine(model, n_threads=threads)
    raise ValueError(f"unknown engine {kind!r} (choose {', '.join(ENGINES)})")


__all__ = ["ENGINES", "BatchedEngine", "Deadline", "Engine", "EngineError", "Generation", "LlamaEngine",
           "ScriptedEngine", "ToolCall", "build_engine"]
