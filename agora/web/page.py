"""The Agora page: a ``gr.Blocks`` in the style of Gradio's own ``ChatInterface`` — render methods
build it, :meth:`AgoraPage._wire` connects every event in one place, and the handlers are thin
methods over the :class:`~agora.classroom.Classroom`, which holds the logic.

Nothing mutable here is shared between students: what belongs to a browser session lives in its
:class:`~agora.classroom.Session` (``gr.State``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import gradio as gr

from ..classroom import Classroom, Session
from ..classroom.admission import clean
from ..classroom.notices import NOTICE, language, say, shown
from ..client.conversation import Conversation
from ..personas import (
    CUSTOM_ID,
    Persona,
)
from ..shared.retrieval import READABLE
from .custom import CustomForm
from .debate import DebateTab
from .strings import I18N, language_of, t
from .teacher import TeacherTab
from .transcript import SAVE_JS, download, transcript_markdown
from .view import (
    Messages,
    SafeChatbot,
    answered,
    as_toast,
    asked,
    avatar_file,
    card,
    client_host,
    greeting,
    serve_avatars,
)

#: The browser's languages, for the notices Agora writes (the request's Accept-Language is the fallback).
LANGUAGES_JS = "() => (navigator.languages || [navigator.language]).join(',')"


class AgoraPage(gr.Blocks):
    """The whole page, over one classroom."""

    def __init__(self, classroom: Classroom) -> None:
        super().__init__(title="Agora — talk with philosophers", fill_height=True)
        self.classroom = classroom
        first = classroom.personas[0]
        serve_avatars()
        with self:
            self._render_header()
            self.session = gr.State(Session(Conversation(persona_id=first.id)))
            with gr.Tabs():
                with gr.Tab(t("t_chat"), id="chat", elem_id="agora-chat-tab"):
                    self._render_picker(first)  # the philosopher and card belong to the conversation alone
                    self._render_chat(first)
                    self._render_footer()
                    self.custom = CustomForm()
                    self._render_readings()
                self.debate = DebateTab(classroom, self.session)
                self.teacher = TeacherTab(classroom, self.session) if classroom.settings.teacher_key else None
            self.saved = gr.BrowserState({}, storage_key="agora-conversations", secret=classroom.browser_secret)
            self.debate.render_state()
            self._wire()
        self.i18n_instance = I18N  # launch(i18n=...) sets it too; a `gradio app.py` reload only swaps the Blocks

    # ------------------------------------------------------------------ rendering

    def _render_header(self) -> None:
        gr.Markdown("# 🏛️ Agora")
        gr.Markdown(t("subtitle"))
        gr.Markdown(t("honest"), elem_id="agora-label")  # an honest label: a simulation, to be checked
        self.badge = gr.Markdown(self.classroom.about_backend("en"), elem_id="agora-badge")
        self.status = gr.Markdown("", elem_id="agora-status")
        self.languages = gr.Textbox(visible=False)  # navigator.languages

    def _render_picker(self, first: Persona) -> None:
        with gr.Row(elem_id="agora-top", equal_height=False):
            self.persona_menu = gr.Dropdown(
                choices=[(p.label, p.id) for p in self.classroom.personas] + [(t("custom"), CUSTOM_ID)],
                value=first.id, label=t("philosopher"), scale=1, min_width=220, elem_id="agora-persona")
            self.persona_card = gr.HTML(card(first), elem_id="agora-card", min_height=0)

    def _render_chat(self, first: Persona) -> None:
        chatbot = SafeChatbot.limited(self.classroom.settings.max_input_chars)(
            value=greeting(first), elem_id="agora-chat", scale=1, min_height=320,  # type: ignore[arg-type]
            avatar_images=(None, avatar_file(first)), feedback_options=("Like", "Dislike", "Flag"))
        self.chat = gr.ChatInterface(
            self.respond, chatbot=chatbot,
            textbox=gr.Textbox(placeholder=t("ask"), elem_id="agora-input", submit_btn=True, stop_btn=True,
                               show_label=False),
            additional_inputs=[self.persona_menu, self.session], api_name="chat", cache_examples=False,
            concurrency_limit=self.classroom.concurrency, fill_height=True)
        self.examples = gr.Dataset(components=[self.chat.textbox], samples=[[q] for q in first.examples],
                                   label=t("try"), elem_id="agora-examples")

    def _render_footer(self) -> None:
        self.export_btn = gr.Button(t("export"), size="sm", elem_id="agora-export")
        self.transcript = gr.Textbox(visible=False)  # a download() on its way to the browser

    def _render_readings(self) -> None:
        with gr.Accordion(t("readings"), open=False, elem_id="agora-readings"):
            self.readings_list = gr.Markdown(say("no_readings"), elem_id="agora-readings-list")
            self.readings_upload = gr.File(label=t("add_readings"), file_count="multiple", type="filepath",
                                           file_types=list(READABLE), elem_id="agora-readings-upload")

    def _wire(self) -> None:
        """Every event of the page, in one place."""
        chat = self.chat
        # The chat and ChatInterface's copy of its history change together, in one event: a question
        # asked right after switching must not meet the old history.
        shown_outputs = [chat.chatbot, chat.chatbot_state, self.session, self.persona_card, self.examples,
                         self.readings_list]
        # Clicking an example asks it: fill the box, then press the send button.
        self.examples.click(lambda sample: sample[0], [self.examples], [chat.textbox], api_visibility="private").then(
            None, js="() => setTimeout(() => document.querySelector('#agora-input button.submit-button')?.click(), 50)")
        self.persona_menu.input(self.switch, [self.persona_menu, self.session], shown_outputs, api_visibility="private")
        chat.textbox.stop(self.mark_stopped, [chat.chatbot, self.session], [chat.chatbot, chat.chatbot_state],
                          queue=False, api_visibility="private")
        self.custom.wire(self.session, shown_outputs, self.persona_menu,
                         lambda persona, session: self.show(persona, session, lang=session.lang or "en"))
        self.readings_upload.upload(self.add_readings, [self.readings_upload, self.persona_menu, self.session],
                                    [self.readings_list, self.readings_upload], api_visibility="private")
        self.export_btn.click(self.export, [chat.chatbot, self.persona_menu, self.session], [self.transcript],
                              api_visibility="private").then(None, [self.transcript], None, js=SAVE_JS)
        chat.chatbot.like(self.judge, [chat.chatbot, self.persona_menu, self.session], None, queue=False,
                          api_visibility="private")
        chat.chatbot.change(self.remember, [chat.chatbot, self.persona_menu, self.session, self.saved], [self.saved],
                            trigger_mode="always_last", queue=False, show_progress="hidden", api_visibility="private")
        self.load(None, None, [self.languages], js=LANGUAGES_JS).then(
            self.restore, [self.saved, self.session, self.languages], [*shown_outputs, self.persona_menu, self.badge],
            api_visibility="private")
        self.load(self.warm_up, None, [self.status], api_visibility="private")
        self.debate.wire(self.load)
        if self.teacher is not None:
            self.teacher.wire()

    def private_events(self) -> tuple[set[int], set[str]]:
        """The ``fn_index``es and API names of the page's private events (for :class:`~.guard.PageGuard`)."""
        private = [(i, fn) for i, fn in self.fns.items() if fn.api_visibility == "private"]
        return {i for i, _ in private}, {fn.api_name for _, fn in private if isinstance(fn.api_name, str)}

    # ------------------------------------------------------------------ the chat

    def respond(self, message: str, history: Messages, persona_id: str, session: Session,
                request: gr.Request) -> Iterator[Any]:
        """ChatInterface's function: the growing reply, then why it ended early, if it did."""
        with as_toast():
            persona = self.classroom.persona_of(persona_id, session)
        conv = session.conversation_for(persona.id, asked(history))
        exchange = conv.begin(clean(message), asked(history))
        if not exchange.question:
            return  # nothing to ask
        lang, sent = session.lang or language_of(request), None
        with contextlib.closing(self.classroom.reply(conv, persona, exchange, session, client_host(request))) as updates:
            for _ in updates:  # (Stop closes this generator, and so the reply's stream)
                yield (sent := exchange.answer)
        if (final := answered(exchange, lang)) != sent:
            yield final

    def mark_stopped(self, history: Messages, session: Session, request: gr.Request) -> tuple[Any, Any]:
        """Stop leaves the partial answer on screen, marked as stopped (in the chat and its history),
        or the moderation notice in its place if what it showed was hurtful."""
        exchanges = session.conversation.exchanges
        if not history or history[-1].get("role") != "assistant" or (history[-1].get("metadata") or {}).get("title") \
                or not exchanges or exchanges[-1].ending:  # (a sources box: the answer had ended)
            return gr.skip(), gr.skip()
        self.classroom.stopped(session)
        marked = [*history[:-1], {**history[-1], "content": shown(exchanges[-1], session.lang or language_of(request))}]
        return marked, marked

    def judge(self, history: Messages, persona_id: str, session: Session, data: gr.LikeData) -> None:
        """A thumb or a flag on a reply, kept with the exchange as the server knows it (the browser
        only says which message: the text comes from the session's own records)."""
        conv = session.conversation
        if not isinstance(data.index, int) or not 0 <= data.index < len(history) or conv.persona_id != persona_id \
                or history[data.index].get("role") != "assistant":
            return
        number = asked(history[:data.index + 1]) - 1 - conv.start  # the exchange this reply belongs to
        self.classroom.judge(session, number, data.liked)

    # ------------------------------------------------------------------ personas and readings

    def show(self, persona: Persona, session: Session, history: Messages | None = None,
             lang: str = "en") -> tuple[Any, ...]:
        """Everything on the page that depends on the chosen persona, in the page's language."""
        persona = persona.shown_in(lang)
        messages = history or greeting(persona)
        return (gr.Chatbot(value=messages, avatar_images=(None, avatar_file(persona))),  # type: ignore[arg-type]
                messages, session, card(persona), gr.Dataset(samples=[[q] for q in persona.examples]),
                self.readings_note(persona, session))

    def switch(self, persona_id: str, session: Session, request: gr.Request) -> tuple[Any, ...]:
        with as_toast():
            persona = self.classroom.persona_of(persona_id, session)
        session.conversation = Conversation(persona_id=persona_id)  # a fresh thread for the new persona
        return self.show(persona, session, lang=session.lang or language_of(request))

    def add_readings(self, paths: list[str] | None, persona_id: str, session: Session) -> tuple[Any, Any]:
        """The teacher's readings for this session: one that cannot be read gets one line, and the
        conversation and the other readings are untouched."""
        for path in paths or []:
            try:
                self.classroom.add_reading(path, session)
            except ValueError as exc:
                gr.Warning(str(exc))
        with as_toast():
            persona = self.classroom.persona_of(persona_id, session)
        return self.readings_note(persona, session), gr.File(value=None)

    def readings_note(self, persona: Persona, session: Session) -> str:
        names = [r.name for r in self.classroom.readings_for(persona, session)]
        lang = session.lang or "en"
        return say("reading_list", lang, names=", ".join(names)) if names else say("no_readings", lang)

    # ------------------------------------------------------------------ keeping things

    def export(self, history: Messages, persona_id: str, session: Session) -> str:
        with as_toast():
            persona = self.classroom.persona_of(persona_id, session)
        return download(f"agora-{persona.id}-{datetime.now():%Y%m%d-%H%M}.md", transcript_markdown(persona, history))

    def remember(self, history: Messages, persona_id: str, session: Session, saved: Any) -> dict[str, Any]:
        """Keep the conversation in the browser, so a reload brings it back."""
        return self.classroom.keeping.remember(history, persona_id, session, saved)

    def restore(self, saved: Any, session: Session, languages: str | None, request: gr.Request) -> tuple[Any, ...]:
        """What the browser kept, shown again in the browser's language (all of it checked)."""
        session.lang = lang = language(languages) if languages else language_of(request)
        about = self.classroom.about_backend(lang)
        restored = self.classroom.keeping.restore(saved, session)
        if restored is not None:
            return (*self.show(restored.persona, session, restored.history, lang),
                    gr.Dropdown(value=session.conversation.persona_id), about)
        if lang == "en":
            return (*(gr.skip(),) * 7, about)
        return (*self.show(self.classroom.personas[0], session, lang=lang), gr.skip(), about)

    def warm_up(self, request: gr.Request) -> Iterator[Any]:
        """Start the backend when the first page opens; say so while the local model is fetched and loads."""
        lang, loading, engine = language_of(request), False, self.classroom.backend.engine
        for download_ in self.classroom.warm_up():
            if not loading:
                loading = True
                yield t("loading")
            if download_ is not None and engine is not None:
                yield say("downloading", lang, name=engine.model_id, done=download_[0] >> 20, total=download_[1] >> 20)
        failed = loading and self.classroom.load_error
        yield NOTICE + say("failed", lang, detail=self.classroom.load_error) if failed else ""

    def close(self, verbose: bool = True) -> None:
        super().close(verbose)
        self.classroom.close()
