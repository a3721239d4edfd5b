"""The Debate tab: two or three philosophers discuss a question in front of the class.

The teacher picks who speaks next (a button per philosopher) or lets them go round for a few
rounds; anyone may interject, and the next speaker answers.  Each turn streams under its
speaker's avatar and name.  The debate lives in the session (its thread on the backend too);
the browser keeps a copy for a reload, which is checked like everything the browser sends.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import gradio as gr

from ..client.conversation import Exchange
from ..client.debate import MODERATOR, Debate, Turn, speak
from ..client.endings import ReplyEnded
from ..personas import CUSTOM_ID
from .guardrails import clean
from .records import Feedback
from .session import Session, browser_secret
from .strings import language_of, say, t
from .transcript import SAVE_JS, download
from .view import SafeChatbot

if TYPE_CHECKING:
    from .page import AgoraPage

SLOTS = 3  # the most philosophers in one debate
@dataclass
class Seat:
    """This session's debate (None until the first turn), and the turn being spoken."""

    debate: Debate | None = None
    speaking: Turn | None = None


class DebateTab:
    """Renders the tab, wires its events, and handles them (the page's settings, backend and
    moderation are the page's own)."""

    def __init__(self, page: AgoraPage) -> None:
        self.page = page

    # ------------------------------------------------------------------ rendering

    def render(self) -> None:
        page = self.page
        first = [p.id for p in page.personas[:2]]
        with gr.Tab(t("d_tab"), elem_id="agora-debate-tab"):
            self.speakers = gr.CheckboxGroup([(p.label, p.id) for p in page.personas] + [(t("custom"), CUSTOM_ID)],
                                             value=first, label=t("d_who"), elem_id="agora-debate-speakers")
            self.question = gr.Textbox(label=t("d_question"), elem_id="agora-debate-question",
                                       placeholder="Is it ever right to lie?")
            self.view = SafeChatbot(value=[], elem_id="agora-debate", min_height=320, show_label=False)
            with gr.Row(equal_height=True):
                gr.Markdown(t("d_next"))
                self.buttons = [gr.Button(self.label(i, first), visible=i < len(first), size="sm",
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
        self.seat = gr.State(Seat())
        self.saved = gr.BrowserState({}, storage_key="agora-debate", secret=browser_secret(page.settings.db))

    def label(self, slot: int, speakers: list[str], session: Session | None = None) -> str:
        if slot >= len(speakers) or (speakers[slot] not in self.page.by_id and speakers[slot] != CUSTOM_ID):
            return ""
        persona = self.page.persona_of(speakers[slot], session or Session())
        return f"{persona.avatar} {persona.name}"

    # ------------------------------------------------------------------ events

    def wire(self) -> None:
        page = self.page
        common = [self.speakers, self.question, self.interjection, self.seat, page.session]
        outputs = [self.view, self.interjection, self.saved]
        events = [button.click(self.slot_handler(i), common, outputs, concurrency_limit=page.concurrency,
                               api_visibility="private") for i, button in enumerate(self.buttons)]
        events.append(self.auto.click(self.auto_turns, [*common, self.rounds], outputs,
                                      concurrency_limit=page.concurrency, api_visibility="private"))
        events.append(self.api_button.click(self.api_turn, [self.api_speaker, *common], [self.view],
                                            api_name="debate_turn", concurrency_limit=page.concurrency))
        self.stop.click(self.stopped, [self.seat, page.session], [self.view, self.saved], queue=False, api_visibility="private",
                        cancels=events)  # type: ignore[arg-type]  # Gradio's own event objects
        self.speakers.change(self.relabel, [self.speakers, page.session], self.buttons, queue=False, api_visibility="private")
        self.export_btn.click(self.export, [self.seat], [self.transcript], api_visibility="private").then(
            None, [self.transcript], None, js=SAVE_JS)
        page.load(self.restore, [self.saved, self.seat, page.session], [self.view, self.speakers, self.question],
                  api_visibility="private")

    def relabel(self, speakers: list[str], session: Session) -> list[Any]:
        return [gr.Button(self.label(i, speakers, session), visible=i < len(speakers)) for i in range(SLOTS)]

    def slot_handler(self, slot: int) -> Any:
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
        debate = self.debate_for(seat, speakers, question, session)
        if not debate.turns and not self.allowed(debate.question, debate, session, request):
            seat.debate = None
            raise gr.Error("This question was not sent to the philosophers (Agora's limits or moderation).")
        lang = session.lang or language_of(request)
        if (said := clean(interjection or "")) and self.allowed(said, debate, session, request):
            debate.turns.append(Turn(MODERATOR, said))
        elif said:
            gr.Warning("This message was not sent to the philosophers (Agora's limits or moderation).")
        for speaker in order:
            speaker = speaker or debate.next_speaker()
            if speaker not in debate.speakers:
                raise gr.Error(f"'{speaker}' is not in this debate: choose one of {', '.join(debate.speakers)}.")
            for view in self.speak(seat, debate, speaker, session, lang):
                yield view, "", gr.skip()
        yield self.shown(debate, session), "", debate.saved()

    def debate_for(self, seat: Seat, speakers: list[str], question: str, session: Session) -> Debate:
        """The session's debate, or a new one if the question or the philosophers changed."""
        speakers = list(dict.fromkeys(speakers or []))
        if not 2 <= len(speakers) <= SLOTS:
            raise gr.Error(f"Choose two or three philosophers for a debate (chosen: {len(speakers)}).")
        for speaker in speakers:
            self.page.persona_of(speaker, session)  # an unknown id: one line naming it and the choices
        question = clean(question or "")
        if not question:
            raise gr.Error("Write the question the philosophers debate.")
        if len(question) > self.page.settings.max_input_chars:
            raise gr.Error(f"The question is {len(question)} characters; the limit is "
                           f"{self.page.settings.max_input_chars}.")
        debate = seat.debate
        if debate is None or debate.question != question or debate.speakers != speakers:
            debate = seat.debate = Debate(question, speakers)
        return debate

    def allowed(self, text: str, debate: Debate, session: Session, request: gr.Request) -> bool:
        """A message from the class passes Agora's limits and moderation, as a chat message does
        (what moderation stops is recorded for the teacher)."""
        if self.page.refusal(text, session, request) is not None:
            return False
        return self.page.screened(Exchange(text), self.page.persona_of(debate.speakers[0], session)) is None

    def speak(self, seat: Seat, debate: Debate, speaker: str, session: Session, lang: str) -> Iterator[Any]:
        """One turn, streamed; a Stop or a failure keeps what was said, marked as cut.  The turn
        joins the debate when it ends: while it streams, its speaker is shown the debate before it."""
        persona = self.page.persona_of(speaker, session)
        others = [self.page.persona_of(s, session) for s in debate.speakers if s != speaker]
        turn = seat.speaking = Turn(speaker, "")
        finished = False
        try:
            deltas = speak(self.page.backend, self.page.backend.api, debate, persona, others)
            with self.page.pacer.reply() as due, contextlib.closing(deltas):  # type: ignore[type-var]
                for delta in deltas:
                    turn.text += delta
                    if due():
                        yield self.shown(debate, session, turn)
            finished = True
        except ReplyEnded:
            turn.cut = finished = True
        except Exception as exc:  # noqa: BLE001 - the turn ends with a notice; the debate goes on
            turn.cut = finished = True
            gr.Warning(say("mid_error" if turn.text else "error", lang, detail=str(exc)[:200]))
        finally:
            turn.cut = turn.cut or not finished
            if turn.text and (verdict := self.page.moderator.check(turn.text) if self.page.moderator else None):
                self.page.records.add(Feedback.now("moderation", speaker, debate.question, turn.text, verdict.named))
                turn.text, turn.cut = say("withheld", lang, categories=verdict.named), False
            if turn.text.strip():
                debate.turns.append(turn)
            seat.speaking = None
        yield self.shown(debate, session)

    def shown(self, debate: Debate, session: Session, speaking: Turn | None = None) -> list[dict[str, Any]]:
        """The debate as chat messages: the class's words on the right, each turn under its speaker
        (and the one being spoken, if it is not in the debate yet)."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": debate.question}]
        current = [speaking] if speaking is not None and speaking not in debate.turns else []
        for turn in [*debate.turns, *current]:
            if turn.speaker == MODERATOR:
                messages.append({"role": "user", "content": turn.text})
                continue
            persona = self.page.persona_of(turn.speaker, session)
            head = f"{persona.avatar} **{persona.name}**"
            messages.append({"role": "assistant", "content": f"{head}\n\n{turn.text}{' …' if turn.cut else ''}"})
        return messages

    def stopped(self, seat: Seat, session: Session) -> tuple[Any, Any]:
        """Stop: the turn under way ends at once (its run is cancelled); what it said stays, cut."""
        debate, turn = seat.debate, seat.speaking
        if debate is None or turn is None:
            return gr.skip(), gr.skip()
        turn.cut = True
        kept = Debate(debate.question, debate.speakers, [*debate.turns, *([turn] if turn not in debate.turns else [])])
        return self.shown(debate, session, turn), kept.saved()

    def export(self, seat: Seat) -> str:
        debate = seat.debate
        if debate is None:
            raise gr.Error("There is no debate to download yet.")
        return download(f"agora-debate-{datetime.now():%Y%m%d-%H%M}.md",
                        debate.markdown({p.id: p.name for p in self.page.personas}))

    def restore(self, saved: Any, seat: Seat, session: Session) -> tuple[Any, Any, Any]:
        """The debate the browser kept, checked (it starts a new thread on the backend)."""
        debate = Debate.restore(saved, {*self.page.by_id, CUSTOM_ID})
        if debate is None:
            return gr.skip(), gr.skip(), gr.skip()
        seat.debate = debate
        return self.shown(debate, session), debate.speakers, debate.question
