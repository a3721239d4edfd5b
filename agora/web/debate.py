"""The Debate tab: two or three philosophers discuss a question in front of the class.

The teacher picks who speaks next (a button per philosopher) or lets them go round for a few
rounds; anyone may interject, and the next speaker answers.  Each turn streams under its
speaker's avatar and name.  The rules of play are the classroom's (:mod:`agora.classroom.debate`);
this tab renders, wires and relays.  The browser keeps a copy of the debate for a reload, which
is checked like everything the browser sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import gradio as gr

from ..classroom import Classroom, Session
from ..classroom.debate import CLASS, SLOTS, Debate, Seat, Turn, restore, saved
from ..personas import CUSTOM_ID
from .strings import language_of, t
from .transcript import SAVE_JS, download
from .view import Messages, SafeChatbot, as_toast, client_host


class DebateTab:
    """Renders the tab (in the page's ``Tabs``), wires its events, and handles them."""

    def __init__(self, classroom: Classroom, session: gr.State) -> None:
        self.classroom, self.debates, self.session = classroom, classroom.debates, session
        first = [p.id for p in classroom.personas[:2]]
        with gr.Tab(t("d_tab"), id="debate", elem_id="agora-debate-tab"):
            self.speakers = gr.CheckboxGroup([(p.label, p.id) for p in classroom.personas] + [(t("custom"), CUSTOM_ID)],
                                             value=first, label=t("d_who"), elem_id="agora-debate-speakers")
            self.question = gr.Textbox(label=t("d_question"), elem_id="agora-debate-question",
                                       placeholder="Is it ever right to lie?")
            self.view = SafeChatbot(value=[], elem_id="agora-debate", min_height=320, show_label=False)
            with gr.Row(equal_height=True):
                gr.Markdown(t("d_next"))
                self.buttons = [gr.Button(self.label(i, first, Session()), visible=i < len(first), size="sm",
                                          elem_id=f"agora-debate-speaker-{i}") for i in range(SLOTS)]
            with gr.Row(equal_height=True):
                self.rounds = gr.Number(1, minimum=1, maximum=5, precision=0, label=t("d_rounds"), min_width=80)
                self.auto = gr.Button(t("d_auto"), variant="primary", elem_id="agora-debate-auto")
                self.stop = gr.Button(t("d_stop"), variant="stop", elem_id="agora-debate-stop")
            self.interjection = gr.Textbox(label=t("d_interject"), elem_id="agora-debate-interject")
            self.export_btn = gr.Button(t("d_export"), size="sm", elem_id="agora-debate-export")
            self.transcript = gr.Textbox(visible=False)
            self.api_speaker = gr.Textbox(visible=False)  # /debate_turn's speaker id
            self.api_button = gr.Button(visible=False)

    def render_state(self) -> None:
        """The session's seat, and the browser's copy of the debate: outside the ``Tabs`` (a tab
        is drawn only when first shown, so a copy in it would not be read at load; and a ``Tabs``
        with other children than tabs draws the tab after them twice)."""
        self.seat = gr.State(Seat())
        self.saved = gr.BrowserState({}, storage_key="agora-debate", secret=self.classroom.browser_secret)

    def label(self, slot: int, speakers: list[str], session: Session) -> str:
        if slot >= len(speakers) or (speakers[slot] not in self.classroom.by_id and speakers[slot] != CUSTOM_ID):
            return ""
        persona = self.classroom.persona_of(speakers[slot], session)
        return f"{persona.avatar} {persona.name}"

    # ------------------------------------------------------------------ events

    def wire(self, load: Callable[..., Any]) -> None:
        common = [self.speakers, self.question, self.interjection, self.seat, self.session]
        outputs = [self.view, self.interjection, self.saved]
        limit = self.classroom.concurrency
        events = [button.click(self.slot_handler(i), common, outputs, concurrency_limit=limit,
                               api_visibility="private") for i, button in enumerate(self.buttons)]
        events.append(self.auto.click(self.auto_turns, [*common, self.rounds], outputs, concurrency_limit=limit,
                                      api_visibility="private"))
        events.append(self.api_button.click(self.api_turn, [self.api_speaker, *common], [self.view],
                                            api_name="debate_turn", concurrency_limit=limit))
        self.stop.click(self.stopped, [self.seat, self.session], [self.view, self.saved], queue=False,
                        api_visibility="private", cancels=events)  # type: ignore[arg-type]  # Gradio's own event objects
        self.speakers.change(self.relabel, [self.speakers, self.session], self.buttons, queue=False,
                             api_visibility="private")
        self.export_btn.click(self.export, [self.seat], [self.transcript], api_visibility="private").then(
            None, [self.transcript], None, js=SAVE_JS)
        load(self.restore, [self.saved, self.seat, self.session], [self.view, self.speakers, self.question],
             api_visibility="private")

    def relabel(self, speakers: list[str], session: Session) -> list[Any]:
        return [gr.Button(self.label(i, speakers or [], session), visible=i < len(speakers or []))
                for i in range(SLOTS)]

    def slot_handler(self, slot: int) -> Callable[..., Iterator[Any]]:
        def turn(speakers: list[str], question: str, interjection: str, seat: Seat, session: Session,
                 request: gr.Request) -> Iterator[Any]:
            if slot >= len(speakers or []):
                raise gr.Error(f"There is no philosopher number {slot + 1} in this debate.")
            yield from self.turns([speakers[slot]], speakers, question, interjection, seat, session, request)
        return turn

    def auto_turns(self, speakers: list[str], question: str, interjection: str, seat: Seat, session: Session,
                   rounds: float | None, request: gr.Request) -> Iterator[Any]:
        """Round-robin for ``rounds`` rounds: each philosopher once per round, whoever has said least first."""
        count = max(1, min(5, int(rounds or 1))) * len(speakers or [])
        yield from self.turns([None] * count, speakers, question, interjection, seat, session, request)

    def api_turn(self, speaker: str, speakers: list[str], question: str, interjection: str, seat: Seat,
                 session: Session, request: gr.Request) -> Iterator[Any]:
        """``/debate_turn``: one turn of ``speaker`` (empty: whoever is next), streamed; the debate
        so far is this client's session's (a new question or new speakers start a new one)."""
        for view, _, _ in self.turns([speaker or None], speakers, question, interjection, seat, session, request):
            yield view

    def turns(self, order: list[str | None], speakers: list[str], question: str, interjection: str, seat: Seat,
              session: Session, request: gr.Request) -> Iterator[Any]:
        """Speak the turns in ``order`` (None: whoever is next), after the interjection if any."""
        lang = session.lang or language_of(request)
        with as_toast():
            debate, heard = self.debates.open(seat, speakers, question, interjection, session, client_host(request))
            if not heard:
                gr.Warning("This message was not sent to the philosophers (Agora's limits or moderation).")
            for speaker in order:
                with contextlib.closing(self.debates.speak(seat, debate, speaker, session)) as updates:
                    for _ in updates:  # (Stop closes this generator, and so the turn's stream)
                        yield self.shown(debate, session, lang, seat.speaking), "", gr.skip()
        yield self.shown(debate, session, lang), "", saved(debate)

    def shown(self, debate: Debate, session: Session, lang: str, speaking: Turn | None = None) -> Messages:
        """The debate as chat messages: the class's words on the right, each turn under its speaker
        (and the one being spoken, if it is not in the debate yet)."""
        messages: Messages = [{"role": "user", "content": debate.question}]
        current = [speaking] if speaking is not None and speaking not in debate.turns else []
        for turn in [*debate.turns, *current]:
            if turn.speaker == CLASS:
                messages.append({"role": "user", "content": turn.text})
                continue
            persona = self.classroom.persona_of(turn.speaker, session)
            head = f"{persona.avatar} **{persona.name}**"
            messages.append({"role": "assistant", "content": f"{head}\n\n{turn.shown(lang)}"})
        return messages

    def stopped(self, seat: Seat, session: Session) -> tuple[Any, Any]:
        """Stop: the turn under way ends at once (its run is cancelled); what it said stays, cut."""
        kept = self.debates.stop(seat)
        if kept is None:
            return gr.skip(), gr.skip()
        return self.shown(kept, session, session.lang or "en"), saved(kept)

    def export(self, seat: Seat) -> str:
        if seat.debate is None:
            raise gr.Error("There is no debate to download yet.")
        return download(f"agora-debate-{datetime.now():%Y%m%d-%H%M}.md", seat.debate.markdown())

    def restore(self, kept: Any, seat: Seat, session: Session) -> tuple[Any, Any, Any]:
        """The debate the browser kept, checked (it starts a new thread on the backend)."""
        debate = restore(kept, self.classroom.names(session))
        if debate is None:
            return gr.skip(), gr.skip(), gr.skip()
        seat.debate = debate
        return self.shown(debate, session, session.lang or "en"), debate.speakers, debate.question
