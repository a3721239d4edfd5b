"""Where the embedded server keeps its objects.

Objects are the openai SDK's own pydantic models, filed by kind and id, each
with an optional parent (a message's thread, a run step's run) and kept in
creation order.  ``MemoryStore`` is the in-process implementation; the interface
is small so a persistent one can stand in for it.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from abc import ABC, abstractmethod
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def new_id(prefix: str) -> str:
    """An id shaped like OpenAI's: a prefix and 24 random characters."""
    return f"{prefix}_{secrets.token_urlsafe(18).replace('-', 'a').replace('_', 'b')}"


def now() -> int:
    return int(time.time())


class Store(ABC):
    """Objects by kind and id, listable by parent in creation order."""

    @abstractmethod
    def put(self, kind: str, obj: M, parent: str | None = None) -> M:
        """Insert or replace ``obj`` (keyed by ``obj.id``); keeps its original position."""

    @abstractmethod
    def get(self, kind: str, obj_id: str, cls: type[M]) -> M | None: ...

    @abstractmethod
    def delete(self, kind: str, obj_id: str) -> bool: ...

    @abstractmethod
    def children(self, kind: str, parent: str | None, cls: type[M]) -> list[M]:
        """All objects of ``kind`` under ``parent`` (None: all), oldest first."""


class MemoryStore(Store):
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = itertools.count()
        self._objects: dict[tuple[str, str], tuple[int, str | None, BaseModel]] = {}

    def put(self, kind: str, obj: M, parent: str | None = None) -> M:
        key = (kind, getattr(obj, "id"))
        with self._lock:
            old = self._objects.get(key)
            seq = old[0] if old else next(self._seq)
            self._objects[key] = (seq, parent if parent is not None or not old else old[1], obj.model_copy(deep=True))
        return obj

    def get(self, kind: str, obj_id: str, cls: type[M]) -> M | None:
        with self._lock:
            entry = self._objects.get((kind, obj_id))
        return entry[2].model_copy(deep=True) if entry else None  # type: ignore[return-value]

    def delete(self, kind: str, obj_id: str) -> bool:
        with self._lock:
            return self._objects.pop((kind, obj_id), None) is not None

    def children(self, kind: str, parent: str | None, cls: type[M]) -> list[M]:
        with self._lock:
            rows = sorted(
                (seq, obj) for (k, _), (seq, par, obj) in self._objects.items()
                if k == kind and (parent is None or par == parent)
            )
        return [obj.model_copy(deep=True) for _, obj in rows]  # type: ignore[misc]
