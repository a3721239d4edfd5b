"""The classroom: what the conversation and the debate share, and what a page asks of them.

It holds the personas and their readings, the backend and its flow, the moderator, the records,
the limits and the seal: one of each per app, none of it belonging to a student (what does lives
in a :class:`~.session.Session`).  It imports no Gradio: the page is one way to reach it.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from pathlib import Path

from ..client import Backend, make_flow
from ..client.conversation import Conversation, Exchange
from ..client.moderation import Moderator
from ..client.readings import Reading
from ..config import Settings
from ..language import detect
from ..personas import CUSTOM_ID, Persona, load_personas, persona_from_form
from ..shared.retrieval import ReadingError, extract_text
from .admission import Admission
from .debate import Debates
from .errors import ClassroomError
from .keeping import Keeping
from .notices import say, shown
from .pacing import UpdatePacer
from .records import Feedback, Kind, SqliteRecords
from .reply import Replies
from .seal import Seal, browser_secret
from .session import Session
from .teacher import TeachersView

#: What a thumb or a flag from the page means (Gradio sends a bool for thumbs, an option's name otherwise).
VERDICTS: dict[object, Kind] = {True: "like", False: "dislike", "Like": "like", "Dislike": "dislike", "Flag": "flag"}
#: Replies streamed at once to a remote backend (a local model streams as many as it decodes at once).
REMOTE_CONCURRENCY = 64


class Classroom:
    """One per app; raises PersonaError / SettingsError with one clear line."""

    def __init__(self, settings: Settings, backend: Backend) -> None:
        self.settings, self.backend = settings, backend
        self.personas = load_personas(settings.personas)
        self.by_id = {p.id: p for p in self.personas}
        # Read once, as the personas are (a reading may be a 16 MB PDF: not on every question).
        self.shelved = {p.id: tuple(Reading.from_path(path) for path in p.readings) for p in self.personas}
        self.flow = make_flow(backend)
        self.records = SqliteRecords(settings.records_path)
        self.moderator = Moderator(backend, settings.thresholds) if settings.moderation else None
        self.admission = Admission(settings, self.records, self.moderator)
        self.pacer = UpdatePacer(settings.max_updates_per_s)
        self.replies = Replies(self.moderator, self.records, self.pacer, settings.timeout)
        self.debates = Debates(self.flow, self.replies, self.admission, self.persona_of)
        self.seal = Seal(settings.db)
        self.browser_secret = browser_secret(settings.db)
        self.keeping = Keeping(self.seal, {**self.by_id}, settings.allowed_custom_models)
        self.teacher = TeachersView(settings, self.records, {*self.by_id, CUSTOM_ID})
        engine = backend.engine
        self.concurrency = settings.concurrency or (engine.parallel if engine and backend.local_model
                                                    else REMOTE_CONCURRENCY)
        self.placeholder = persona_from_form(
            "Your persona", "Fill in the form below to create your own philosopher.",
            "Create your own philosopher in the form below, then chat with them here.")
        self.load_error = ""

    def persona_of(self, persona_id: str, session: Session) -> Persona:
        if persona_id == CUSTOM_ID:
            return session.custom or self.placeholder
        if persona_id not in self.by_id:
            raise ClassroomError(f"Unknown persona '{str(persona_id)[:40]}'. Choose one of: {', '.join(self.by_id)}")
        return self.by_id[persona_id]

    def names(self, session: Session) -> dict[str, str]:
        """Every persona this session may choose, id → name."""
        return {**{p.id: p.name for p in self.personas}, CUSTOM_ID: self.persona_of(CUSTOM_ID, session).name}

    def about_backend(self, lang: str) -> str:
        """Who answers, in the page's language — and, for the tiny offline model, how to get better answers."""
        about = say("answering", lang, badge=self.backend.badge())
        if (tiny := self.backend.tiny_model) is not None:
            about += "  \n" + say("tiny", lang, model=tiny)
        return about

    # ------------------------------------------------------------------ the conversation

    def reply(self, conv: Conversation, persona: Persona, exchange: Exchange, session: Session,
              host: str | None) -> Generator[None, None, None]:
        """Answer ``exchange``'s question, if it is admitted, through the reply pipeline: yields
        when the page is due an update; ``exchange.ending`` then says why it ended early, if it did."""
        exchange.ending = self.admission.admit(exchange.question, session.id, host, persona.id)
        if exchange.ending is not None:
            return
        readings = self.readings_for(persona, session)
        try:
            yield from self.replies.stream(lambda: self.flow.stream(conv, persona, exchange.question, readings),
                                           exchange, persona.id, exchange.question, lambda: self.flow.withdraw(conv))
        finally:
            if exchange.ending is not None and exchange.ending.kind == "withheld":
                exchange.sources = []

    def stopped(self, session: Session) -> None:
        """The student pressed Stop: the answer under way is marked as stopped, and what it showed
        is checked once more (withheld, recorded and taken off the backend if it was hurtful)."""
        conv = session.conversation
        if conv.exchanges and conv.exchanges[-1].ending is None:
            exchange = conv.exchanges[-1]
            self.replies.stopped(exchange, conv.persona_id, exchange.question, lambda: self.flow.withdraw(conv))
            if exchange.ending is not None and exchange.ending.kind == "withheld":
                exchange.sources = []

    def judge(self, session: Session, number: int, liked: object) -> None:
        """A thumb or a flag on the answer to the session's ``number``-th question, kept in the
        records with the exchange as the server knows it, once each (the flag icon may send twice)."""
        kind = VERDICTS.get(liked) if isinstance(liked, (bool, str)) else None
        conv = session.conversation
        judged = (conv.persona_id, conv.start + number, kind or "")
        if kind is None or not 0 <= number < len(conv.exchanges) or judged in session.judged:
            return
        session.judged.add(judged)
        exchange = conv.exchanges[number]
        self.records.add(Feedback.now(kind, conv.persona_id, exchange.question, shown(exchange, "en")))

    def readings_for(self, persona: Persona, session: Session) -> list[Reading]:
        """The persona's readings (from the persona file) and those the teacher added this session."""
        return [*self.shelved.get(persona.id, ()), *session.readings]

    def add_reading(self, path: str, session: Session) -> None:
        """A reading for this session, checked (type, size, text); one that cannot be read raises
        one line naming it, and the session's other readings are untouched."""
        name = Path(path).name
        try:
            data = Path(path).read_bytes()
            extract_text(name, data)
        except ReadingError as exc:
            raise ClassroomError(str(exc)) from None
        except OSError as exc:
            raise ClassroomError(f"{name}: cannot be read ({exc})") from None
        session.readings = [r for r in session.readings if r.name != name] + [Reading(name, data)]

    # ------------------------------------------------------------------ starting up

    def warm_up(self) -> Iterator[tuple[int, int] | None]:
        """Load what the first question would wait for: the language model, the backend, and the
        local model (fetched first if it must be); yields the download's progress meanwhile."""
        detect("")  # the language model (~0.5 s, once)
        engine = self.backend.engine
        if engine is None or not self.backend.local_model or engine.loaded:
            return
        loading = threading.Thread(target=self._load_model, name="agora-load-model", daemon=True)
        loading.start()
        while loading.is_alive():
            yield engine.download
            loading.join(0.5)

    def _load_model(self) -> None:
        try:
            self.backend.start()
            if self.backend.engine is not None:
                self.backend.engine.load()
        except Exception as exc:  # noqa: BLE001 - shown on the page, and every reply will say it too
            self.load_error = str(exc)

    def close(self) -> None:
        if self.moderator is not None:
            self.moderator.pool.shutdown(wait=False, cancel_futures=True)
        self.records.close()
