"""The app's own records: what students said of the replies (like, dislike, flag), what
moderation stopped, and how many messages each browser session and client IP sent today.

They belong to the app, not to the backend that answers (OpenAI keeps no such thing for us), and
they outlive a restart, so that a teacher can look back and a daily cap holds.  One small
interface, :class:`Records`; :class:`SqliteRecords` keeps them in a SQLite file by default, and a
server database can take its place when the app runs on several machines.
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from dataclasses import astuple, dataclass, fields
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Literal, get_args

Kind = Literal["like", "dislike", "flag", "moderation"]
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True)
class Feedback:
    """One exchange as a student judged it, or as moderation stopped it: when, which persona, the
    exchange, the verdict (``detail``: the categories moderation found)."""

    at: str  # ISO 8601, UTC
    kind: Kind
    persona: str
    question: str
    answer: str
    detail: str = ""

    @classmethod
    def now(cls, kind: Kind, persona: str, question: str, answer: str, detail: str = "") -> Feedback:
        return cls(datetime.now(timezone.utc).isoformat(timespec="seconds"), kind, persona, question, answer, detail)


COLUMNS = tuple(f.name for f in fields(Feedback))


class Records(ABC):
    """Where the app keeps what it must remember across restarts."""

    @abstractmethod
    def add(self, feedback: Feedback) -> None:
        """Keep one judgement of a reply."""

    @abstractmethod
    def feedback(self, kinds: tuple[Kind, ...] = KINDS, persona: str | None = None, since: date | None = None,
                 limit: int = 1000) -> list[Feedback]:
        """Judgements of these kinds (of one persona, from a day on), newest first."""

    @abstractmethod
    def count(self, key: str, day: date) -> int:
        """Count one more message for ``key`` (``session:…``, ``ip:…``) on ``day``; the total so far."""

    def close(self) -> None:
        """Let go of the storage."""


class SqliteRecords(Records):
    def __init__(self, path: str = ":memory:") -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(f"CREATE TABLE IF NOT EXISTS feedback ({', '.join(COLUMNS)})")
        self._db.execute("CREATE INDEX IF NOT EXISTS feedback_at ON feedback (at)")
        self._db.execute("CREATE TABLE IF NOT EXISTS daily (key TEXT, day TEXT, n INTEGER, PRIMARY KEY (key, day))")
        self._today = ""

    def add(self, feedback: Feedback) -> None:
        with self._lock:
            self._db.execute(f"INSERT INTO feedback VALUES ({', '.join('?' * len(COLUMNS))})", astuple(feedback))

    def feedback(self, kinds: tuple[Kind, ...] = KINDS, persona: str | None = None, since: date | None = None,
                 limit: int = 1000) -> list[Feedback]:
        where, args = [f"kind IN ({', '.join('?' * len(kinds))})"], list[str](kinds)
        if persona is not None:
            where.append("persona = ?")
            args.append(persona)
        if since is not None:
            where.append("at >= ?")
            args.append(since.isoformat())
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(COLUMNS)} FROM feedback WHERE {' AND '.join(where)} "
                                    "ORDER BY at DESC, rowid DESC LIMIT ?", (*args, limit)).fetchall()
        return [Feedback(*row) for row in rows]

    def count(self, key: str, day: date) -> int:
        with self._lock:
            if day.isoformat() != self._today:  # a new day: yesterday's counts are done with
                self._today = day.isoformat()
                self._db.execute("DELETE FROM daily WHERE day < ?", (self._today,))
            row = self._db.execute("INSERT INTO daily VALUES (?, ?, 1) ON CONFLICT (key, day) DO UPDATE SET n = n + 1 "
                                   "RETURNING n", (key, day.isoformat())).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
