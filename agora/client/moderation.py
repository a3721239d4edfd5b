"""Moderation through the backend's ``/v1/moderations``: OpenAI's moderation model on OpenAI, the
embedded server's offline classifier on it.  A backend without the endpoint (most Chat
Completions servers) checks nothing, which is logged once; a moderation call that fails lets the
message through (the reply itself would fail on a backend that is down), and is logged.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
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
