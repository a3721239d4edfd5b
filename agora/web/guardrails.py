"""Guardrails for public deployments: clean input, per-session and per-IP rate limits."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import defaultdict, deque
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean(message: str) -> str:
    """Strip control and bidi-override characters (keeping tabs and newlines) and outer blanks."""
    return _CONTROL.sub("", message or "").strip()


class RateLimiter:
    """Sliding one-minute windows per session and per client IP; ``None`` turns a limit off.

    It lives in the demo (one per app), not at module level, and keeps only timestamps.
    """

    WINDOW = 60.0

    def __init__(self, per_session: int | None, per_ip: int | None) -> None:
        self.per_session, self.per_ip = per_session, per_ip
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def check(self, session: Any, request: Any) -> int | None:
        """Seconds to wait if over a limit, else None (and the message is counted)."""
        if not self.per_session and not self.per_ip:
            return None
        now = time.monotonic()
        keys = []
        if self.per_session:
            keys.append((f"session:{id(session)}", self.per_session))
        host = getattr(getattr(request, "client", None), "host", None)
        if self.per_ip and host:
            keys.append((f"ip:{host}", self.per_ip))
        with self._lock:
            for key, limit in keys:
                hits = self._hits[key]
                while hits and hits[0] <= now - self.WINDOW:
                    hits.popleft()
                if len(hits) >= limit:
                    return max(1, math.ceil(hits[0] + self.WINDOW - now))
            for key, _ in keys:
                self._hits[key].append(now)
        return None
