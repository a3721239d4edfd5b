"""How often to send the growing reply to the page.

Gradio spends about 1.5 ms of CPU on every update it sends.  One session can have
every piece as its own update; sixty-four sessions at 100 pieces/s each would need
more CPU than two cores have, and every student's first token would wait behind
the others' updates.  So updates are spread to keep the whole app near ``max_rate``
updates per second: alone, a reply updates every 2.5 ms (every piece of a fast
stream); with 20 replies at once every 50 ms; never less often than ``max_interval``.
The first piece always goes at once.  Pieces are never dropped: what is not sent
now goes with the next update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class UpdatePacer:
    def __init__(self, max_rate: float = 400.0, max_interval: float = 0.25) -> None:
        self.max_rate, self.max_interval = max_rate, max_interval
        self._active = 0
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        return self._active

    def interval(self) -> float:
        """The least time between two updates of one reply, given how many replies stream now."""
        return min(self.max_interval, self._active / self.max_rate)

    @contextmanager
    def reply(self) -> Iterator[Callable[[], bool]]:
        """For one streaming reply: a ``due()`` that says whether to send an update now."""
        with self._lock:
            self._active += 1
        last = 0.0

        def due() -> bool:
            nonlocal last
            now = time.monotonic()
            if now - last >= self.interval():
                last = now
                return True
            return False

        try:
            yield due
        finally:
            with self._lock:
                self._active -= 1
