"""Admission: whether a message from the class may go to the philosophers.  It is cleaned of
invisible characters, then checked against Agora's limits (length, per-minute rates per session
and per client IP, the daily cap), then moderated.  A chat question, a debate's question and an
interjection all pass through here; what is refused never reaches the backend."""

from __future__ import annotations

import math
import re
import sys
import threading
import time
import unicodedata
from collections import defaultdict, deque
from datetime import datetime, timezone

from ..client.conversation import Ending
from ..client.moderation import Moderator
from ..config import Settings
from .records import Feedback, Records

_JOINERS = "\u200c\u200d"  # ZWNJ, ZWJ: spelling in Persian, Indic scripts; emoji sequences


def _invisible() -> re.Pattern[str]:
    """Every control, format (Cf), line/paragraph separator and surrogate code point but tab and newline."""
    ranges: list[list[int]] = []
    for code in range(sys.maxunicode + 1):
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp", "Cs") and chr(code) not in "\t\n":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


_INVISIBLE = _invisible()


def _visible_neighbour(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMNS"


def _keep_joiner(match: re.Match[str]) -> str:
    """A joiner between two visible characters of a word stays; anything else invisible goes."""
    text, at = match.string, match.start()
    ch = match.group()
    if ch in _JOINERS and 0 < at < len(text) - 1 and _visible_neighbour(text[at - 1]) and _visible_neighbour(text[at + 1]):
        return ch
    return ""


def clean(message: str) -> str:
    """The message without invisible characters (controls, format characters such as zero-width
    spaces, bidi overrides and tag characters, separators, lone surrogates) and outer blanks;
    tabs, newlines, and joiners inside words stay."""
    return _INVISIBLE.sub(_keep_joiner, (message or "").replace("\r\n", "\n")).strip()


class RateLimiter:
    """Sliding one-minute windows per session and per client IP; ``None`` turns a limit off.

    It lives in the admission (one per app), not at module level, and keeps only the last minute's
    timestamps: a key idle for a minute is forgotten.  Sessions are keyed by their own random id.
    """

    WINDOW = 60.0

    def __init__(self, per_session: int | None, per_ip: int | None) -> None:
        self.per_session, self.per_ip = per_session, per_ip
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._swept = time.monotonic()

    def __len__(self) -> int:
        """Keys remembered now."""
        with self._lock:
            return len(self._hits)

    def _sweep(self, now: float) -> None:
        """Forget every key with no hit in the last window (called at most once a window)."""
        if now - self._swept < self.WINDOW:
            return
        self._swept = now
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.WINDOW]:
            del self._hits[key]

    def check(self, session_id: str, host: str | None) -> int | None:
        """Seconds to wait if over a limit, else None (and the message is counted)."""
        if not self.per_session and not self.per_ip:
            return None
        now = time.monotonic()
        keys = []
        if self.per_session:
            keys.append((f"session:{session_id}", self.per_session))
        if self.per_ip and host:
            keys.append((f"ip:{host}", self.per_ip))
        with self._lock:
            self._sweep(now)
            for key, limit in keys:
                hits = self._hits[key]
                while hits and hits[0] <= now - self.WINDOW:
                    hits.popleft()
                if len(hits) >= limit:
                    return max(1, math.ceil(hits[0] + self.WINDOW - now))
            for key, _ in keys:
                self._hits[key].append(now)
        return None


class Admission:
    """One per classroom: the limits and the moderator every message from the class passes."""

    def __init__(self, settings: Settings, records: Records, moderator: Moderator | None) -> None:
        self.settings, self.records, self.moderator = settings, records, moderator
        self.rate_limiter = RateLimiter(settings.rate_per_session, settings.rate_per_ip)

    def admit(self, text: str, session_id: str, host: str | None, persona_id: str) -> Ending | None:
        """Why ``text`` may not go to the philosophers, if it may not: over a limit, or hurtful
        (recorded for the teacher under ``persona_id``).  None: send it."""
        return self.refusal(text, session_id, host) or self.screened(text, persona_id)

    def refusal(self, text: str, session_id: str, host: str | None) -> Ending | None:
        """Over one of Agora's limits (the message is counted against them)."""
        if len(text) > self.settings.max_input_chars:
            return Ending("too_long", {"length": len(text), "limit": self.settings.max_input_chars})
        if (wait := self.rate_limiter.check(session_id, host)) is not None:
            return Ending("too_many", {"wait": wait})
        if (limit := self.settings.daily_messages) is not None and self.over_daily(limit, session_id, host):
            return Ending("daily", {"limit": limit})
        return None

    def screened(self, text: str, persona_id: str) -> Ending | None:
        """Moderation of a message before it is sent; what it stops is recorded for the teacher."""
        verdict = self.moderator.check(text) if self.moderator is not None else None
        if verdict is None:
            return None
        self.records.add(Feedback.now("moderation", persona_id, text, "", verdict.named))
        return Ending("moderated_help" if verdict.self_harm else "moderated", {"categories": verdict.named})

    def over_daily(self, limit: int, session_id: str, host: str | None) -> bool:
        """Count this message for the session and the client's IP (in the records: a restart
        forgets nothing); whether either went over ``limit`` today."""
        today = datetime.now(timezone.utc).date()
        keys = [f"session:{session_id}", *([f"ip:{host}"] if host else [])]
        return max(self.records.count(key, today) for key in keys) > limit
