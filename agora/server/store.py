"""Where the embedded server keeps its objects.

Objects are the openai SDK's own pydantic models, filed by kind and id, each
with an optional parent (a message's thread, a run step's run) and kept in
creation order.  ``MemoryStore`` keeps them in the process; ``SqliteStore`` keeps
them on disk so nothing is lost on a restart.
"""

from __future__ import annotations

import itertools
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class StoreError(RuntimeError):
    """The database file cannot be used; the message is one line naming it."""


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

    def latest(self, kind: str, parent: str, cls: type[M]) -> M | None:
        """The newest object of ``kind`` under ``parent``, without reading the others."""
        items = self.children(kind, parent, cls)
        return items[-1] if items else None


class MemoryStore(Store):
    """Objects in a dict, indexed by parent, so a thread's work costs what the thread holds."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._seq = itertools.count()
        self._objects: dict[tuple[str, str], tuple[str | None, BaseModel]] = {}
        # (kind, parent) and (kind, None) -> {id: creation order}
        self._index: dict[tuple[str, str | None], dict[str, int]] = {}

    def put(self, kind: str, obj: M, parent: str | None = None) -> M:
        obj_id: str = getattr(obj, "id")
        with self._lock:
            old = self._objects.get((kind, obj_id))
            if old is None:
                seq = next(self._seq)
                self._index.setdefault((kind, None), {})[obj_id] = seq
            else:
                seq = self._index[(kind, None)][obj_id]
                if parent is None or parent == old[0]:
                    parent = old[0]
                elif old[0] is not None:
                    self._index[(kind, old[0])].pop(obj_id, None)
            if parent is not None:
                self._index.setdefault((kind, parent), {})[obj_id] = seq
            self._objects[(kind, obj_id)] = (parent, obj.model_copy(deep=True))
        return obj

    def get(self, kind: str, obj_id: str, cls: type[M]) -> M | None:
        with self._lock:
            entry = self._objects.get((kind, obj_id))
        return entry[1].model_copy(deep=True) if entry else None  # type: ignore[return-value]

    def delete(self, kind: str, obj_id: str) -> bool:
        with self._lock:
            entry = self._objects.pop((kind, obj_id), None)
            if entry is None:
                return False
            self._index[(kind, None)].pop(obj_id, None)
            if entry[0] is not None:
                self._index[(kind, entry[0])].pop(obj_id, None)
            return True

    def _ids(self, kind: str, parent: str | None) -> list[str]:
        ids = self._index.get((kind, parent), {})
        return sorted(ids, key=ids.__getitem__)

    def children(self, kind: str, parent: str | None, cls: type[M]) -> list[M]:
        with self._lock:
            objs = [self._objects[(kind, i)][1] for i in self._ids(kind, parent)]
        return [obj.model_copy(deep=True) for obj in objs]  # type: ignore[misc]

    def latest(self, kind: str, parent: str, cls: type[M]) -> M | None:
        with self._lock:
            ids = self._index.get((kind, parent))
            newest = max(ids, key=ids.__getitem__) if ids else None
            return self.get(kind, newest, cls) if newest else None


class SqliteStore(Store):
    """Objects as JSON rows in SQLite (WAL), so threads and conversations survive a restart.

    One connection, serialised by a lock, is safe for the server's threads; WAL and a busy
    timeout let other processes read and write the same file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot be used as Agora's database ({exc}); move it away or "
                             "choose another file") from None

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._schema(db)
        except sqlite3.Error:
            db.close()
            raise
        return db

    @staticmethod
    def _schema(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("CREATE TABLE IF NOT EXISTS objects (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL,"
                   " id TEXT NOT NULL, parent TEXT, body TEXT NOT NULL, UNIQUE (kind, id))")
        db.execute("CREATE INDEX IF NOT EXISTS objects_by_parent ON objects (kind, parent, seq)")
        db.execute("SELECT kind, id, parent, body, seq FROM objects LIMIT 1").fetchall()  # a foreign table fails here

    def put(self, kind: str, obj: M, parent: str | None = None) -> M:
        with self._lock:
            self._db.execute(
                "INSERT INTO objects (kind, id, parent, body) VALUES (?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE"
                " SET body = excluded.body, parent = COALESCE(excluded.parent, objects.parent)",
                (kind, getattr(obj, "id"), parent, obj.model_dump_json()))
        return obj

    def get(self, kind: str, obj_id: str, cls: type[M]) -> M | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).fetchone()
        return cls.model_validate_json(row[0]) if row else None

    def delete(self, kind: str, obj_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, obj_id)).rowcount > 0

    def children(self, kind: str, parent: str | None, cls: type[M]) -> list[M]:
        with self._lock:
            if parent is None:
                rows = self._db.execute("SELECT body FROM objects WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
            else:
                rows = self._db.execute("SELECT body FROM objects WHERE kind = ? AND parent = ? ORDER BY seq",
                                        (kind, parent)).fetchall()
        return [cls.model_validate_json(body) for (body,) in rows]

    def latest(self, kind: str, parent: str, cls: type[M]) -> M | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM objects WHERE kind = ? AND parent = ? ORDER BY seq DESC LIMIT 1",
                                   (kind, parent)).fetchone()
        return cls.model_validate_json(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_store(path: str | None) -> Store:
    """``None``: in memory only; a path (or ``:memory:``): SQLite."""
    return MemoryStore() if path is None else SqliteStore(path)
