"""The Agora page: a ``gr.Blocks`` in the style of Gradio's own ``ChatInterface`` — render methods
build it, :meth:`AgoraPage._wire` connects every event in one place, and the handlers are methods.

Nothing mutable here is shared between students: what belongs to a browser session lives in its
:class:`~.session.Session` (``gr.State``); the page holds only the app-wide limiter and pacer.
"""

from __future__ import annotations

import contextlib
import csv
import io
import threading
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import gradio as gr

from ..client import Backend, make_flow
from ..client.conversation import REFUSED, Conversation, Ending, Exchange
from ..client.endings import ending_for
from ..client.moderation import Moderator, ReplyWatch, Verdict
from ..client.readings import Reading, Source
from ..config import Settings
from ..language import detect
from ..personas import (
    CUSTOM_ID,
    Persona,
    PersonaError,
    load_personas,
    persona_from_card,
    persona_from_form,
    to_yaml,
)
from ..server.moderations import warm as warm_moderation
from ..shared.retrieval import READABLE, ReadingError, extract_text
from .debate import DebateTab
from .guardrails import RateLimiter, clean
from .pacing import UpdatePacer
from .records import COLUMNS, KINDS, Feedback, Kind, SqliteRecords
from .session import Seal, Session, browser_secret
from .strings import I18N, NOTICE, language, language_of, say, shown, t
from .transcript import SAVE_JS, download, transcript_markdown
from .view import SafeChatbot, avatar_file, card, greeting, serve_avatars

Messages = list[dict[str, Any]]


def without_refused(history: Messages, conv: Conversation) -> Messages:
    """``history`` without the questions Agora refused to send (and their notices)."""
    refused = {conv.start + i for i, x in enumerate(conv.exchanges) if x.ending and x.ending.kind in REFUSED}
    if not refused:
        return history
    kept, question, skipping = [], -1, False
    for message in history:
        if message.get("role") == "user":
            question += 1
            skipping = question in refused
        if not skipping:
            kept.append(message)
    return kept


def sources_message(sources: list[Source], lang: str) -> dict[str, Any]:
    """The sources of an answer, as a collapsible chat message (Gradio's message metadata)."""
    lines = [f"- **{s.filename}**" + (f" — “{s.quote}”" if s.quote else "") for s in sources]
    return {"role": "assistant", "content": "\n".join(lines), "metadata": {"title": say("sources", lang), "status": "done"}}


#: Characters of a reply between two moderation checks (made beside the stream; one more at its end).
MODERATE_EVERY = 200


def answered(exchange: Exchange, lang: str) -> str | list[Any]:
    """The answer as the chat shows it and, if it drew on readings (even if it was cut), its sources under it."""
    text = shown(exchange, lang)
    return [text, sources_message(exchange.sources, lang)] if exchange.sources else text


def asked(history: Messages) -> int:
    """How many questions the chat shows (each began an exchange)."""
    return sum(1 for msg in history if msg.get("role") == "user")


#: The browser's languages, for the notices Agora writes (the request's Accept-Language is the fallback).
LANGUAGES_JS = "() => (navigator.languages || [navigator.language]).join(',')"


class AgoraPage(gr.Blocks):
    """The whole page; raises PersonaError / SettingsError with one clear line."""

    def __init__(self, settings: Settings | None = None, backend: Backend | None = None) -> None:
        super().__init__(title="Agora — talk with philosophers", fill_height=True)
        self.settings = settings or Settings.from_env()
        self.personas = load_personas(self.settings.personas)
        self.by_id = {p.id: p for p in self.personas}
        # Read once, as the personas are (a reading may be a 16 MB PDF: not on every question).
        self.shelved = {p.id: tuple(Reading.from_path(path) for path in p.readings) for p in self.personas}
        self.backend = backend or Backend(self.settings)
        self.flow = make_flow(self.backend)
        self.rate_limiter = RateLimiter(self.settings.rate_per_session, self.settings.rate_per_ip)
        self.seal = Seal(self.settings.db)
        self.records = SqliteRecords(self.settings.records_path)
        self.moderator = Moderator(self.backend, self.settings.thresholds) if self.settings.moderation else None
        self.pacer = UpdatePacer(self.settings.max_updates_per_s)
        self.load_error = ""
        engine = self.backend.engine
        self.concurrency = self.settings.concurrency or (engine.parallel if engine and self.backend.local_model else 64)
        self.placeholder = persona_from_form(
            "Your persona", "Fill in the form below to create your own philosopher.",
            "Create your own philosopher in the form below, then chat with them here.")
        serve_avatars()
        with self:
            self._render_header(self.personas[0])
            with gr.Tabs():
                with gr.Tab(t("t_chat"), elem_id="agora-chat-tab"):
                    self._render_chat(self.personas[0])
                    self._render_footer()
                    self._render_custom()
                    self._render_readings()
                self.debate = DebateTab(self)
                self.debate.render()
                if self.settings.teacher_key is not None:  # the teacher's view only when it has a password
                    self._render_teacher()
            self._wire()
        self.i18n_instance = I18N  # launch(i18n=...) sets it too; a `gradio app.py` reload only swaps the Blocks

    # ------------------------------------------------------------------ rendering

    def _render_header(self, first: Persona) -> None:
        gr.Markdown("# 🏛️ Agora")
        gr.Markdown(t("subtitle"))
        gr.Markdown(t("honest"), elem_id="agora-label")  # an honest label: a simulation, to be checked
        self.badge = gr.Markdown(self.about_backend("en"), elem_id="agora-badge")
        self.status = gr.Markdown("", elem_id="agora-status")
        with gr.Row(elem_id="agora-top", equal_height=False):
            self.persona_menu = gr.Dropdown(
                choices=[(p.label, p.id) for p in self.personas] + [(t("custom"), CUSTOM_ID)], value=first.id,
                label=t("philosopher"), scale=1, min_width=220, elem_id="agora-persona")
            self.persona_card = gr.HTML(card(first), elem_id="agora-card", min_height=0)
        self.session = gr.State(Session(Conversation(persona_id=first.id)))
        self.saved = gr.BrowserState({}, storage_key="agora-conversations", secret=browser_secret(self.settings.db))

    def _render_chat(self, first: Persona) -> None:
        chatbot = SafeChatbot.limited(self.settings.max_input_chars)(
            value=greeting(first), elem_id="agora-chat", scale=1, min_height=320,  # type: ignore[arg-type]
            avatar_images=(None, avatar_file(first)), feedback_options=("Like", "Dislike", "Flag"))
        self.chat = gr.ChatInterface(
            self.respond,
            chatbot=chatbot,
            textbox=gr.Textbox(placeholder=t("ask"), elem_id="agora-input", submit_btn=True, stop_btn=True,
                               show_label=False),
            additional_inputs=[self.persona_menu, self.session], api_name="chat", cache_examples=False,
            concurrency_limit=self.concurrency, fill_height=True)
        self.examples = gr.Dataset(components=[self.chat.textbox], samples=[[q] for q in first.examples],
                                   label=t("try"), elem_id="agora-examples")

    def _render_footer(self) -> None:
        with gr.Row():
            self.export_btn = gr.Button(t("export"), size="sm", elem_id="agora-export")
        self.transcript = gr.Textbox(visible=False)  # a download() on its way to the browser
        self.languages = gr.Textbox(visible=False)   # navigator.languages

    def _render_custom(self) -> None:
        with gr.Accordion(t("create"), open=False, elem_id="agora-custom"):
            self.custom_name = gr.Textbox(label=t("name"), elem_id="agora-custom-name")
            self.custom_instructions = gr.Textbox(label=t("instructions"), lines=4,
                                                  elem_id="agora-custom-instructions")
            self.custom_greeting = gr.Textbox(label=t("greeting"))
            self.custom_examples = gr.Textbox(label=t("examples"), lines=3)
            with gr.Row():
                self.use_btn = gr.Button(t("use"), variant="primary", elem_id="agora-custom-use")
                self.yaml_btn = gr.Button(t("yaml"), size="sm", visible=False, elem_id="agora-custom-yaml")
            self.yaml_text = gr.Textbox(visible=False)
            self.card_upload = gr.File(label=t("card"), file_types=[".json"], type="filepath",
                                       elem_id="agora-card-import")

    def _render_readings(self) -> None:
        with gr.Accordion(t("readings"), open=False, elem_id="agora-readings"):
            self.readings_list = gr.Markdown(say("no_readings"), elem_id="agora-readings-list")
            self.readings_upload = gr.File(label=t("add_readings"), file_count="multiple", type="filepath",
                                           file_types=list(READABLE), elem_id="agora-readings-upload")

    def _render_teacher(self) -> None:
        """The teacher's view: what students liked, disliked and flagged; its rows reach a page only
        after the teacher's password was typed there."""
        with gr.Tab(t("t_teacher"), elem_id="agora-teacher-tab"):
            with gr.Row(equal_height=True):
                self.teacher_password = gr.Textbox(label=t("t_password"), type="password", scale=3,
                                                   elem_id="agora-teacher-password")
                self.teacher_open = gr.Button(t("t_open"), scale=1, elem_id="agora-teacher-open")
            with gr.Row():
                self.teacher_kind = gr.Dropdown([(t("t_all"), "all"), *((t(f"t_{k}"), k) for k in KINDS)], value="all",
                                                label=t("t_kind"), elem_id="agora-teacher-kind")
                self.teacher_persona = gr.Dropdown(
                    [(t("t_all"), "all"), *((p.label, p.id) for p in self.personas), (t("custom"), CUSTOM_ID)],
                    value="all", label=t("philosopher"), elem_id="agora-teacher-persona")
                self.teacher_since = gr.Textbox(label=t("t_since"), placeholder="2026-12-01", elem_id="agora-teacher-since")
            self.teacher_table = gr.Dataframe(headers=list(COLUMNS), interactive=False, wrap=True, visible=False,
                                              elem_id="agora-teacher-table")
            self.teacher_csv = gr.Button(t("t_csv"), size="sm", visible=False, elem_id="agora-teacher-csv")

    def _wire(self) -> None:
        """Every event of the page, in one place."""
        chat = self.chat
        # The chat and ChatInterface's copy of its history change together, in one event: a question
        # asked right after switching must not meet the old history.
        shown_outputs = [chat.chatbot, chat.chatbot_state, self.session, self.persona_card, self.examples,
                         self.readings_list]
        form = [self.custom_name, self.custom_instructions, self.custom_greeting, self.custom_examples]
        # Clicking an example asks it: fill the box, then press the send button.
        self.examples.click(lambda sample: sample[0], [self.examples], [chat.textbox], api_visibility="private").then(
            None, js="() => setTimeout(() => document.querySelector('#agora-input button.submit-button')?.click(), 50)")
        self.persona_menu.input(self.switch, [self.persona_menu, self.session], shown_outputs, api_visibility="private")
        chat.textbox.stop(self.mark_stopped, [chat.chatbot, self.session], [chat.chatbot, chat.chatbot_state],
                          queue=False, api_visibility="private")
        self.use_btn.click(self.use_custom, [*form, self.session],
                           [*shown_outputs, self.persona_menu, self.yaml_btn, self.yaml_text], api_visibility="private")
        self.yaml_btn.click(None, [self.yaml_text], None, js=SAVE_JS)
        self.card_upload.upload(self.import_card, [self.card_upload], form, api_visibility="private")
        self.readings_upload.upload(self.add_readings, [self.readings_upload, self.persona_menu, self.session],
                                    [self.readings_list, self.readings_upload], api_visibility="private")
        self.export_btn.click(self.export, [chat.chatbot, self.persona_menu, self.session], [self.transcript],
                              api_visibility="private").then(None, [self.transcript], None, js=SAVE_JS)
        chat.chatbot.like(self.judge, [chat.chatbot, self.persona_menu, self.session], None, queue=False,
                          api_visibility="private")
        if self.settings.teacher_key is not None:
            self._wire_teacher()
        self.debate.wire()
        chat.chatbot.change(self.remember, [chat.chatbot, self.persona_menu, self.session, self.saved], [self.saved],
                            trigger_mode="always_last", queue=False, show_progress="hidden", api_visibility="private")
        self.load(None, None, [self.languages], js=LANGUAGES_JS).then(
            self.restore, [self.saved, self.session, self.languages], [*shown_outputs, self.persona_menu, self.badge],
            api_visibility="private")
        self.load(self.warm_up, None, [self.status], api_visibility="private")

    def _wire_teacher(self) -> None:
        filters = [self.teacher_kind, self.teacher_persona, self.teacher_since, self.session]
        self.teacher_open.click(self.open_teacher_view, [self.teacher_password, *filters],
                                [self.teacher_table, self.teacher_csv, self.teacher_password], api_visibility="private")
        gr.on([self.teacher_kind.input, self.teacher_persona.input, self.teacher_since.submit], self.teacher_rows,
              filters, [self.teacher_table], api_visibility="private")
        self.teacher_csv.click(self.teacher_csv_file, filters, [self.transcript], api_visibility="private").then(
            None, [self.transcript], None, js=SAVE_JS)

    def private_events(self) -> tuple[set[int], set[str]]:
        """The ``fn_index``es and API names of the page's private events (for :class:`~.guard.PageGuard`)."""
        private = [(i, fn) for i, fn in self.fns.items() if fn.api_visibility == "private"]
        return {i for i, _ in private}, {fn.api_name for _, fn in private if isinstance(fn.api_name, str)}

    # ------------------------------------------------------------------ the chat

    def about_backend(self, lang: str) -> str:
        """Who answers, in the page's language — and, for the tiny offline model, how to get better answers."""
        about = say("answering", lang, badge=self.backend.badge())
        if (tiny := self.backend.tiny_model) is not None:
            about += "  \n" + say("tiny", lang, model=tiny)
        return about

    def persona_of(self, persona_id: str, session: Session) -> Persona:
        if persona_id == CUSTOM_ID:
            return session.custom or self.placeholder
        if persona_id not in self.by_id:
            raise gr.Error(f"Unknown persona '{persona_id}'. Choose one of: {', '.join(self.by_id)}")
        return self.by_id[persona_id]

    def respond(self, message: str, history: Messages, persona_id: str, session: Session,
                request: gr.Request) -> Iterator[Any]:
        """ChatInterface's function: the growing reply, then why it ended early, if it did."""
        persona = self.persona_of(persona_id, session)
        conv = session.conversation_for(persona.id, asked(history))
        exchange = conv.begin(clean(message), asked(history))
        if not exchange.question:
            return  # nothing to ask
        lang = session.lang or language_of(request)
        exchange.ending = self.refusal(exchange.question, session, request) or self.screened(exchange, persona)
        if exchange.ending is not None:
            yield shown(exchange, lang)
            return
        yield from self.stream(conv, persona, exchange, lang, self.readings_for(persona, session))

    def readings_for(self, persona: Persona, session: Session) -> list[Reading]:
        """The persona's readings (from the persona file) and those the teacher added this session."""
        return [*self.shelved.get(persona.id, ()), *session.readings]

    def refusal(self, question: str, session: Session, request: gr.Request) -> Ending | None:
        """Why Agora will not send this message, if it will not: nothing reaches the backend."""
        if len(question) > self.settings.max_input_chars:
            return Ending("too_long", {"length": len(question), "limit": self.settings.max_input_chars})
        if (wait := self.rate_limiter.check(session, request)) is not None:
            return Ending("too_many", {"wait": wait})
        if (limit := self.settings.daily_messages) is not None and self.over_daily(limit, session, request):
            return Ending("daily", {"limit": limit})
        return None

    def screened(self, exchange: Exchange, persona: Persona) -> Ending | None:
        """Moderation of the student's message before it is sent; what it stops is recorded for the teacher."""
        verdict = self.moderator.check(exchange.question) if self.moderator is not None else None
        if verdict is None:
            return None
        self.records.add(Feedback.now("moderation", persona.id, exchange.question, "", verdict.named))
        return Ending("moderated_help" if verdict.self_harm else "moderated", {"categories": verdict.named})

    def over_daily(self, limit: int, session: Session, request: gr.Request) -> bool:
        """Count this message for the session and the client's IP (in the records: a restart
        forgets nothing); whether either went over ``limit`` today."""
        today = datetime.now(timezone.utc).date()
        keys = [f"session:{session.id}"]
        if (host := getattr(request.client, "host", None)) is not None:
            keys.append(f"ip:{host}")
        return max(self.records.count(key, today) for key in keys) > limit

    def stream(self, conv: Conversation, persona: Persona, exchange: Exchange, lang: str,
               readings: list[Reading] | None = None) -> Iterator[Any]:
        """Relay the flow's deltas as the growing answer, paced; a failure keeps the partial text.
        An answer that cites readings ends with its sources, in a box of their own under it."""
        sent = ""
        try:
            deltas = self.flow.stream(conv, persona, exchange.question, readings or [])
            watch = self.watch(exchange, persona)
            verdict = None
            with self.pacer.reply() as due, contextlib.closing(deltas):  # type: ignore[type-var]
                for delta in deltas:
                    exchange.answer += delta
                    if watch is not None and (verdict := watch.offer(exchange.answer)) is not None:
                        break  # leaving the with closes the stream: the run is cancelled on the backend
                    if due():
                        yield (sent := exchange.answer)
            if verdict is None and watch is not None:
                verdict = watch.final(exchange.answer)
            if verdict is not None:
                exchange.answer, exchange.sources = "", []
                exchange.ending = Ending("withheld", {"categories": verdict.named})
                yield shown(exchange, lang)
            elif exchange.sources or exchange.answer != sent:
                yield answered(exchange, lang)
        except Exception as exc:  # noqa: BLE001 - every failure ends in a notice; the partial text stays
            exchange.ending = ending_for(exc, self.settings.timeout, mid_reply=bool(exchange.answer))
            yield answered(exchange, lang)

    def watch(self, exchange: Exchange, persona: Persona) -> ReplyWatch | None:
        """Moderation of this reply as it streams; what it stops is recorded for the teacher."""
        moderator = self.moderator
        if moderator is None:
            return None

        def check(text: str) -> Verdict | None:
            verdict = moderator.check(text)
            if verdict is not None:
                self.records.add(Feedback.now("moderation", persona.id, exchange.question, text,
                                              verdict.named))
            return verdict

        return ReplyWatch(check, moderator.pool, MODERATE_EVERY)

    def mark_stopped(self, history: Messages, session: Session, request: gr.Request) -> tuple[Any, Any]:
        """Stop leaves the partial answer on screen, marked as stopped (in the chat and its history)."""
        exchanges = session.conversation.exchanges
        if not history or history[-1].get("role") != "assistant" or (history[-1].get("metadata") or {}).get("title") \
                or not exchanges or exchanges[-1].ending:  # (a sources box: the answer had ended)
            return gr.skip(), gr.skip()
        exchanges[-1].ending = Ending("stopped")
        marked = [*history[:-1], {**history[-1], "content": shown(exchanges[-1],
                                                                 session.lang or language_of(request))}]
        return marked, marked

    # ------------------------------------------------------------------ personas

    def show(self, persona: Persona, session: Session, history: Messages | None = None,
             lang: str = "en") -> tuple[Any, ...]:
        """Everything on the page that depends on the chosen persona, in the page's language."""
        persona = persona.shown_in(lang)
        messages = history or greeting(persona)
        return (gr.Chatbot(value=messages, avatar_images=(None, avatar_file(persona))),  # type: ignore[arg-type]
                messages, session, card(persona), gr.Dataset(samples=[[q] for q in persona.examples]),
                self.readings_note(persona, session))

    def switch(self, persona_id: str, session: Session, request: gr.Request) -> tuple[Any, ...]:
        session.conversation = Conversation(persona_id=persona_id)  # a fresh thread for the new persona
        return self.show(self.persona_of(persona_id, session), session, lang=session.lang or language_of(request))

    def use_custom(self, name: str, instructions: str, greeting_text: str, examples_text: str,
                   session: Session) -> tuple[Any, ...]:
        try:
            persona = persona_from_form(name, instructions, greeting_text, examples_text)
        except PersonaError as exc:
            raise gr.Error(str(exc)) from None
        session.custom = persona
        session.conversation = Conversation(persona_id=CUSTOM_ID)
        return (*self.show(persona, session, lang=session.lang or "en"), gr.Dropdown(value=CUSTOM_ID), gr.Button(visible=True),
                download(f"{persona.name or 'persona'}.yaml", to_yaml(persona)))

    @staticmethod
    def import_card(path: str | None) -> tuple[Any, ...]:
        if not path:
            return (gr.skip(),) * 4
        try:
            persona = persona_from_card(Path(path).read_bytes(), Path(path).name)
        except PersonaError as exc:
            raise gr.Error(str(exc)) from None
        return persona.name, persona.instructions, persona.greeting, "\n".join(persona.examples)

    def add_readings(self, paths: list[str] | None, persona_id: str, session: Session) -> tuple[Any, Any]:
        """The teacher's readings for this session: each file checked; one that cannot be read gets
        one line, and the conversation and the other readings are untouched."""
        for path in paths or []:
            name = Path(path).name
            try:
                data = Path(path).read_bytes()
                extract_text(name, data)
            except (OSError, ReadingError) as exc:
                gr.Warning(str(exc) if isinstance(exc, ReadingError) else f"{name}: cannot be read ({exc})")
                continue
            session.readings = [r for r in session.readings if r.name != name] + [Reading(name, data)]
        persona = self.persona_of(persona_id, session)
        return self.readings_note(persona, session), gr.File(value=None)

    def readings_note(self, persona: Persona, session: Session) -> str:
        names = [r.name for r in self.readings_for(persona, session)]
        lang = session.lang or "en"
        return say("reading_list", lang, names=", ".join(names)) if names else say("no_readings", lang)

    # ------------------------------------------------------------------ feedback and the teacher's view

    def judge(self, history: Messages, persona_id: str, session: Session, data: gr.LikeData) -> None:
        """A thumb or a flag on a reply, kept in the records with the exchange as the server knows
        it (the browser only says which message: the text comes from the session's own records)."""
        verdicts: dict[Any, Kind] = {True: "like", False: "dislike", "Like": "like", "Dislike": "dislike", "Flag": "flag"}
        kind = verdicts.get(data.liked) if isinstance(data.liked, (bool, str)) else None
        conv = session.conversation
        if kind is None or not isinstance(data.index, int) or not 0 <= data.index < len(history) \
                or conv.persona_id != persona_id:
            return
        number = asked(history[:data.index + 1]) - 1 - conv.start  # the exchange this reply belongs to
        judged = (persona_id, conv.start + number, kind)  # once each: the flag icon may send twice
        if 0 <= number < len(conv.exchanges) and history[data.index].get("role") == "assistant" \
                and judged not in session.judged:
            session.judged.add(judged)
            exchange = conv.exchanges[number]
            self.records.add(Feedback.now(kind, persona_id, exchange.question, shown(exchange, "en")))

    def open_teacher_view(self, password: str, kind: str, persona_id: str, since: str,
                          session: Session) -> tuple[Any, Any, Any]:
        if session.failed_unlocks >= 5:
            raise gr.Error("Too many wrong passwords in this session; reload the page to try again.")
        if not self.settings.is_teacher_password(password or ""):
            session.failed_unlocks += 1
            raise gr.Error("That is not the teacher's password.")
        session.teacher = True
        return (gr.Dataframe(value=self.teacher_rows(kind, persona_id, since, session), visible=True),
                gr.Button(visible=True), gr.Textbox(value=""))

    def teacher_rows(self, kind: str, persona_id: str, since: str, session: Session) -> list[list[str]]:
        """The records the filters select, newest first; nothing unless this session typed the password."""
        if not session.teacher:
            raise gr.Error("The teacher's view is locked: type the teacher's password first.")
        kinds, persona, day = self.teacher_filters(kind, persona_id, since)
        return [[getattr(f, c) for c in COLUMNS] for f in self.records.feedback(kinds, persona, day)]

    def teacher_filters(self, kind: Any, persona_id: Any, since: Any) -> tuple[tuple[Kind, ...], str | None, date | None]:
        """The filters as the records take them; a value no form could send gets one line naming it."""
        if not isinstance(kind, str) or (kind != "all" and kind not in KINDS):
            raise gr.Error(f"kind: {str(kind)[:40]!r} is not one of all, {', '.join(KINDS)}")
        if not isinstance(persona_id, str) or (persona_id not in ("all", CUSTOM_ID) and persona_id not in self.by_id):
            raise gr.Error(f"persona: {str(persona_id)[:40]!r} is not a persona of this app")
        try:
            day = date.fromisoformat(since.strip()) if isinstance(since, str) and since.strip() else None
            if since is not None and not isinstance(since, str):
                raise ValueError
        except ValueError:
            raise gr.Error(f"since: {str(since)[:40]!r} is not a date (YYYY-MM-DD)") from None
        kinds = KINDS if kind == "all" else tuple(k for k in KINDS if k == kind)
        return kinds, (None if persona_id == "all" else persona_id), day

    def teacher_csv_file(self, kind: str, persona_id: str, since: str, session: Session) -> str:
        """The rows as CSV, saved by the browser from memory; a cell a spreadsheet would run as a
        formula is written as text."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in self.teacher_rows(kind, persona_id, since, session):
            writer.writerow(["'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell for cell in row])
        return download(f"agora-feedback-{datetime.now():%Y%m%d-%H%M}.csv", out.getvalue())

    def close(self, verbose: bool = True) -> None:
        super().close(verbose)
        if self.moderator is not None:
            self.moderator.pool.shutdown(wait=False, cancel_futures=True)
        self.records.close()

    # ------------------------------------------------------------------ keeping things

    def export(self, history: Messages, persona_id: str, session: Session) -> str:
        persona = self.persona_of(persona_id, session)
        return download(f"agora-{persona.id}-{datetime.now():%Y%m%d-%H%M}.md", transcript_markdown(persona, history))

    def remember(self, history: Messages, persona_id: str, session: Session,
                 saved: dict[str, Any] | None) -> dict[str, Any]:
        """Keep the conversation in the browser (per persona), so a reload brings it back: its
        backend ids sealed, refused questions left out (a refused 1 MB message is not kept)."""
        saved = dict(saved) if isinstance(saved, dict) else {}
        conv = session.conversation
        saved["current"] = persona_id
        saved[persona_id] = {"history": without_refused(history, conv)[-200:],
                             "conversation": self.seal.sign(persona_id, conv.saved())}
        if session.custom is not None:
            saved["custom_persona"] = session.custom.model_dump(exclude_none=True)
        saved["session"] = self.seal.sign_id(session.id)
        return saved

    def restore(self, saved: dict[str, Any] | None, session: Session, languages: str | None,
                request: gr.Request) -> tuple[Any, ...]:
        """What the browser kept, shown again in the browser's language.  All of it is a hint: a
        made-up persona is rebuilt from its form fields, backend ids are used only under the server's
        seal, and every message is sanitised on its way back to the page."""
        session.lang = language(languages) if languages else language_of(request)
        lang, saved = session.lang, saved if isinstance(saved, dict) else {}
        about = self.about_backend(lang)
        if (kept_id := self.seal.check_id(saved.get("session"))) is not None:
            session.adopt(kept_id)
        if (custom := self.trusted_custom(saved.get("custom_persona"))) is not None:
            session.custom = custom
        current = saved.get("current")
        entry = saved.get(current) if isinstance(current, str) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("history"), list) or (
                current not in self.by_id and not (current == CUSTOM_ID and session.custom)):
            if lang == "en":
                return (*(gr.skip(),) * 7, about)
            return (*self.show(self.personas[0], session, lang=lang), gr.skip(), about)
        history = [m for m in entry["history"] if isinstance(m, dict) and m.get("role") in ("user", "assistant")]
        session.conversation = Conversation.restore(self.seal.check(current, entry.get("conversation")), current)
        return (*self.show(self.persona_of(current, session), session, history, lang),
                gr.Dropdown(value=current), about)

    def trusted_custom(self, data: Any) -> Persona | None:
        """A made-up persona the browser kept, rebuilt from what the form can set; a model only
        from ``AGORA_CUSTOM_MODELS``, no other parameter (the teacher's key pays for it)."""
        if not isinstance(data, dict):
            return None
        examples = data.get("examples")
        try:
            persona = persona_from_form(
                str(data.get("name") or ""), str(data.get("instructions") or ""), str(data.get("greeting") or ""),
                "\n".join(str(q) for q in examples) if isinstance(examples, list) else "")
        except PersonaError:
            return None
        model = data.get("model")
        if isinstance(model, str) and model in self.settings.allowed_custom_models:
            persona = persona.model_copy(update={"model": model})
        return persona

    def warm_up(self, request: gr.Request) -> Iterator[Any]:
        """Start the backend when the first page opens; say so while the local model is fetched and loads."""
        detect("")  # load the language model now, not on the first question (~0.5 s, once)
        if self.moderator is not None and self.settings.embedded:
            warm_moderation()  # and the embedded server's moderation classifier (~1 s, once)
        engine = self.backend.engine
        if not self.backend.local_model or engine.loaded:  # type: ignore[union-attr]
            yield ""
            return
        lang = language_of(request)
        loading = threading.Thread(target=self._load_model, daemon=True)
        loading.start()
        yield t("loading")
        while loading.is_alive():
            if (download := engine.download) is not None:  # type: ignore[union-attr]
                yield say("downloading", lang, name=engine.model_id,  # type: ignore[union-attr]
                          done=download[0] >> 20, total=download[1] >> 20)
            loading.join(0.5)
        yield "" if engine.loaded else NOTICE + say("failed", lang, detail=self.load_error)  # type: ignore[union-attr]

    def _load_model(self) -> None:
        try:
            self.backend.start()
            self.backend.engine.load()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - shown on the page, and every reply will say it too
            self.load_error = str(exc)
