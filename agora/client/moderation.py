"""Moderation through the backend's ``/v1/moderations``: OpenAI's moderation model on OpenAI, the
embedded server's offline classifier on it.  A backend without the endpoint (most Chat
Completions servers) checks nothing, which is logged once; a moderation call that fails lets the
message through (the reply itself would fail on a backend that is down), and is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import openai

from .backend import Backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """The categories whose scores reached their thresholds."""

    categories: tuple[str, ...]

    @property
    def named(self) -> str:
        return ", ".join(self.categories)

    @property
    def self_harm(self) -> bool:
        return any(name.startswith("self-harm") for name in self.categories)


class Moderator:
    """One per app: the thresholds, and whether the backend has a moderation endpoint at all."""

    def __init__(self, backend: Backend, thresholds: dict[str, float]) -> None:
        self.backend, self.thresholds = backend, thresholds
        self._lock = threading.Lock()
        self._unavailable = False
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="moderation")  # checks of streaming replies

    def check(self, text: str) -> Verdict | None:
        """What is wrong with ``text``, or None if nothing is (or nothing can tell)."""
        with self._lock:
            if self._unavailable or not text.strip():
                return None
        try:
            result = self.backend.client().moderations.create(input=text).results[0]
        except openai.NotFoundError:
            log.warning("the backend has no /v1/moderations: messages and replies are not moderated")
            with self._lock:
                self._unavailable = True
            return None
        except openai.OpenAIError as exc:
            log.warning("moderation failed (%s); the message goes through", type(exc).__name__)
            return None
        scores = result.category_scores.model_dump(by_alias=True)
        over = tuple(name for name, score in scores.items()
                     if isinstance(score, (int, float)) and score >= self.thresholds.get(name, 1.01))
        return Verdict(over) if over else None


class ReplyWatch:
    """Moderation of one reply as it streams, off the streaming thread: the text so far is checked
    every ``every`` characters, one check at a time, so a slow moderation call (a round trip to
    OpenAI) never holds the words back; a check that finds something stops the reply at the next
    word."""

    def __init__(self, check: Callable[[str], Verdict | None], pool: ThreadPoolExecutor, every: int) -> None:
        self.check, self.pool, self.every = check, pool, every
        self._pending: Future[Verdict | None] | None = None
        self._checked = 0

    def offer(self, text: str) -> Verdict | None:
        """The reply so far, after each word: a verdict as soon as a check has found one."""
        if self._pending is not None and self._pending.done():
            verdict, self._pending = self._pending.result(), None
            if verdict is not None:
                return verdict
        if self._pending is None and len(text) - self._checked >= self.every:
            self._checked = len(text)
            self._pending = self.pool.submit(self.check, text)
        return None

    def final(self, text: str) -> Verdict | None:
        """The whole reply: the check in flight, then whatever it did not read."""
        if self._pending is not None:
            verdict, self._pending = self._pending.result(), None
            if verdict is not None:
                return verdict
        return self.check(text) if len(text) > self._checked else None
