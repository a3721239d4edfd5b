"""The one streaming reply pipeline, for a chat answer and a debate turn alike.

A flow's text deltas become the growing text of the reply.  The page is told when an update is
due (:mod:`.pacing`), and the text so far is moderated as it streams: every
:data:`MODERATE_EVERY` characters a check runs beside the stream, and one more runs at the end.
A reply that turns hurtful is cut at the next word.  Leaving the stream closes it, so its run is
cancelled on the backend.  The reply's words are replaced by a notice and recorded for the
teacher.  A failure keeps the partial text and says why, as an :class:`Ending`.

Chat and debate had a copy each, and the copies drifted: a debate turn was checked only once it
had finished, so a class watching on a projector saw a hurtful turn in full before it was
withheld.  One pipeline means one rule.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from ..client.conversation import Ending
from ..client.endings import ending_for
from ..client.moderation import Moderator, Verdict
from .notices import Said
from .pacing import UpdatePacer
from .records import Feedback, Records

#: Characters of a reply between two moderation checks (made beside the stream; one more at its end).
MODERATE_EVERY = 200


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


class Replies:
    """Streams replies through the one pipeline (see the module's docstring).  One per classroom;
    nothing in it belongs to a student."""

    def __init__(self, moderator: Moderator | None, records: Records, pacer: UpdatePacer, timeout: float,
                 every: int = MODERATE_EVERY) -> None:
        self.moderator, self.records, self.pacer, self.timeout, self.every = moderator, records, pacer, timeout, every

    def stream(self, deltas: Callable[[], Iterator[str]], said: Said, persona_id: str, question: str,
               withdraw: Callable[[], None] = lambda: None) -> Iterator[None]:
        """Write the reply that ``deltas()`` streams into ``said``; yield each time the page is
        due an update.  When it ends, ``said.ending`` says why if it ended early (withheld, cut,
        failed…); a withheld reply is also ``withdraw()``-n from the backend's conversation.
        Closing this generator (the student pressed Stop) closes the flow's stream, which cancels
        the run, and nothing more: Gradio closes it on its event loop, where a moderation call
        would hold up every student.  What was shown is checked by :meth:`stopped`, from the Stop
        event's own worker thread."""
        watch = self._watch(persona_id, question)
        verdict: Verdict | None = None
        try:
            stream = deltas()
            with self.pacer.reply() as due, contextlib.closing(stream):  # type: ignore[type-var]
                for delta in stream:
                    said.text += delta
                    if watch is not None and (verdict := watch.offer(said.text)) is not None:
                        break  # leaving the with closes the stream: the run is cancelled on the backend
                    if due():
                        yield
            if verdict is None and watch is not None:
                verdict = watch.final(said.text)
        except Exception as exc:  # noqa: BLE001 - every failure ends in a notice; the partial text stays
            said.ending = ending_for(exc, self.timeout, mid_reply=bool(said.text))
            if verdict is None and watch is not None:  # (a verdict already found stands)
                verdict = watch.final(said.text)
        if verdict is not None:
            self._withhold(said, verdict, withdraw)

    def stopped(self, said: Said, persona_id: str, question: str, withdraw: Callable[[], None]) -> None:
        """A reply the student stopped: marked as stopped, and what it showed checked once more —
        a hurtful part is withheld, recorded for the teacher and taken off the backend."""
        said.ending = said.ending or Ending("stopped")
        if (watch := self._watch(persona_id, question)) is not None and said.ending.kind == "stopped" \
                and (verdict := watch.check(said.text)) is not None:
            self._withhold(said, verdict, withdraw)

    @staticmethod
    def _withhold(said: Said, verdict: Verdict, withdraw: Callable[[], None]) -> None:
        said.text, said.ending = "", Ending("withheld", {"categories": verdict.named})
        withdraw()

    def _watch(self, persona_id: str, question: str) -> ReplyWatch | None:
        """Moderation of this reply as it streams; what it stops is recorded for the teacher."""
        moderator = self.moderator
        if moderator is None:
            return None

        def check(text: str) -> Verdict | None:
            verdict = moderator.check(text)
            if verdict is not None:
                self.records.add(Feedback.now("moderation", persona_id, question, text, verdict.named))
            return verdict

        return ReplyWatch(check, moderator.pool, self.every)
