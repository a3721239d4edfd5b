"""A debate: two or three philosophers answer a question and each other, one turn at a time.

The debate is kept as records (who said what, and the class's interjections).  Each speaker is
shown it from where it sits: its own turns as its own, the others' as named turns ("Kant said:
…"), and rules that ask it to answer them by name, briefly, in the question's language.  How a
turn reaches the backend is the flow's business (:meth:`agora.client.flow.Flow.turn`); how it
streams, and is moderated as it streams, is the one reply pipeline's (:mod:`.reply`), as for a
chat answer.  The class's question and interjections pass :mod:`.admission` as chat messages do.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..client.conversation import Ending
from ..client.flow import Flow
from ..personas import Persona
from .admission import Admission, clean
from .errors import ClassroomError
from .notices import shown
from .reply import Replies
from .session import Session

CLASS = ""  # the speaker id of an interjection from the class (the moderator of the debate)
SLOTS = 3  # the most philosophers in one debate


@dataclass
class Turn:
    """One speaker's words; ``ending`` says why they ended early (stopped, cut, withheld…), if they did."""

    speaker: str  # a persona id, or CLASS
    text: str
    ending: Ending | None = None

    @property
    def cut(self) -> bool:
        """Stopped, or cut short, before its end: shown with a trailing ellipsis."""
        return self.ending is not None and self.ending.kind in ("stopped", "cut")

    def shown(self, lang: str) -> str:
        """The turn as the class sees it: cut short with an ellipsis, else with its notice, if any."""
        return self.text + " …" if self.cut else shown(self, lang)


@dataclass
class Debate:
    """The question, who debates, and the turns so far; ``names`` (persona id → name) and the
    Assistants thread are the server's, never taken from the browser."""

    question: str
    speakers: list[str]
    turns: list[Turn] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict, repr=False)
    thread_id: str | None = None  # Assistants: the thread all the speakers' runs share
    run_id: str | None = None  # Assistants: the run of the latest turn

    def next_speaker(self) -> str:
        """Round-robin: whoever has spoken least, the first such in the order chosen."""
        said = [sum(t.speaker == s for t in self.turns) for s in self.speakers]
        return self.speakers[said.index(min(said))]

    def seen_by(self, speaker: str | None) -> list[dict[str, str]]:
        """The debate as ``speaker`` is shown it: the question, its own turns as its own, the
        others' by name (``speaker`` None: every turn by name)."""
        return [{"role": "user", "content": self.question}, *self._messages(self.turns, speaker)]

    def unheard(self) -> list[dict[str, str]]:
        """What the debate's thread has not been told yet: the class's interjections since the
        last turn spoken (each turn's own words are on the thread already)."""
        spoken = [i for i, t in enumerate(self.turns) if t.speaker != CLASS]
        since = spoken[-1] + 1 if spoken else 0
        return self._messages([t for t in self.turns[since:] if t.speaker == CLASS], None)

    def _messages(self, turns: Sequence[Turn], speaker: str | None) -> list[dict[str, str]]:
        messages = []
        for turn in turns:
            if not turn.text.strip():
                continue  # a withheld turn: nobody is shown what moderation stopped
            if turn.speaker == speaker:
                messages.append({"role": "assistant", "content": turn.text})
            elif turn.speaker == CLASS:
                messages.append({"role": "user", "content": f"The moderator says: {turn.text}"})
            else:
                messages.append({"role": "user", "content": f"{self.names.get(turn.speaker, turn.speaker)} said: "
                                                            f"{turn.text}"})
        return messages

    def markdown(self, lang: str = "en") -> str:
        """The transcript: the question, then each turn under its speaker."""
        names = self.names
        lines = [f"# Debate: {self.question}", "", f"*{', '.join(names.get(s, s) for s in self.speakers)}*", ""]
        for turn in self.turns:
            who = "The moderator" if turn.speaker == CLASS else names.get(turn.speaker, turn.speaker)
            lines += [f"## {who}", "", turn.shown(lang).strip(), ""]
        return "\n".join(lines)


def debate_rules(persona: Persona, others: Sequence[Persona]) -> str:
    """How to take part, after the speaker's own instructions."""
    names = " and ".join(p.name for p in others)
    return (f"You are in a debate with {names} in front of a class. The others' words reach you as "
            f"\"Name said: …\". Answer them by name, briefly (three or four sentences), in the language of the "
            f"question. Speak only as {persona.name}.")


# ---------------------------------------------------------------------------- what the browser keeps


#: The longest a kept turn or question may be (a forged copy must not send megabytes to the model each turn).
KEPT_CHARS = 20_000


class SavedTurn(BaseModel):
    speaker: str = Field(max_length=64)
    text: str = Field(max_length=KEPT_CHARS)
    cut: bool = False
    withheld: str = Field("", max_length=200)  # the categories moderation found


class SavedDebate(BaseModel):
    """A debate as the browser keeps it: not the thread id, which a page could forge to read another's."""

    question: str = Field(max_length=KEPT_CHARS)
    speakers: list[str] = Field(min_length=2, max_length=SLOTS)
    turns: list[Any] = Field(default_factory=list, max_length=500)  # each checked on its own: a bad one is dropped

    @classmethod
    def of(cls, debate: Debate) -> SavedDebate:
        return cls(question=debate.question, speakers=list(debate.speakers), turns=[SavedTurn(
            speaker=t.speaker, text=t.text, cut=t.cut,
            withheld=t.ending.values.get("categories", "") if t.ending and t.ending.kind == "withheld" else "")
            for t in debate.turns if t.text.strip() or t.ending and t.ending.kind == "withheld"])


def saved(debate: Debate) -> dict[str, Any]:
    return SavedDebate.of(debate).model_dump()


def restore(data: Any, personas: dict[str, str]) -> Debate | None:
    """A debate from the browser's storage, checked: a question, two or three known speakers
    (``personas``: id → name); turns that are not well-formed, or of someone not in it, are dropped."""
    try:
        kept = SavedDebate.model_validate(data)
    except ValidationError:
        return None
    speakers = list(dict.fromkeys(kept.speakers))
    if not all(s in personas for s in speakers) or len(speakers) < 2:
        return None
    debate = Debate(kept.question, speakers, names={s: personas[s] for s in speakers})
    for item in kept.turns:
        try:
            turn = SavedTurn.model_validate(item)
        except ValidationError:
            continue
        if turn.speaker in (*speakers, CLASS):
            ending: Ending | None = None
            if turn.withheld:
                ending = Ending("withheld", {"categories": turn.withheld})
            elif turn.cut:
                ending = Ending("stopped")
            debate.turns.append(Turn(turn.speaker, turn.text, ending))
    return debate



# ---------------------------------------------------------------------------- the turns


@dataclass
class Seat:
    """A session's place at the debate: its debate (None until the first turn), and the turn being spoken."""

    debate: Debate | None = None
    speaking: Turn | None = None


class Debates:
    """The debate's rules of play, for the Debate tab and ``/debate_turn``; one per classroom."""

    def __init__(self, flow: Flow, replies: Replies, admission: Admission,
                 persona_of: Callable[[str, Session], Persona]) -> None:
        self.flow, self.replies, self.admission, self.persona_of = flow, replies, admission, persona_of

    def debate_for(self, seat: Seat, speakers: Any, question: Any, session: Session) -> Debate:
        """The session's debate, or a new one if the question or the philosophers changed."""
        speakers = list(dict.fromkeys(s for s in speakers or [] if isinstance(s, str)))
        if not 2 <= len(speakers) <= SLOTS:
            raise ClassroomError(f"Choose two or three philosophers for a debate (chosen: {len(speakers)}).")
        names = {s: self.persona_of(s, session).name for s in speakers}  # an unknown id: one line naming it
        question = clean(question if isinstance(question, str) else "")
        if not question:
            raise ClassroomError("Write the question the philosophers debate.")
        limit = self.admission.settings.max_input_chars
        if len(question) > limit:
            raise ClassroomError(f"The question is {len(question)} characters; the limit is {limit}.")
        debate = seat.debate
        if debate is None or debate.question != question or debate.speakers != speakers:
            debate = seat.debate = Debate(question, speakers)
        debate.names = names
        return debate

    def open(self, seat: Seat, speakers: Any, question: Any, interjection: Any, session: Session,
             host: str | None) -> tuple[Debate, bool]:
        """The debate, with the class's interjection added if it passes; whether it did.  A new
        debate's question must pass too, or there is no debate."""
        debate = self.debate_for(seat, speakers, question, session)
        if not debate.turns and self.admission.admit(debate.question, session.id, host,
                                                      debate.speakers[0]) is not None:
            seat.debate = None
            raise ClassroomError("This question was not sent to the philosophers (Agora's limits or moderation).")
        said = clean(interjection if isinstance(interjection, str) else "")
        if not said:
            return debate, True
        if self.admission.admit(said, session.id, host, debate.speakers[0]) is not None:
            return debate, False
        debate.turns.append(Turn(CLASS, said))
        return debate, True

    def speak(self, seat: Seat, debate: Debate, speaker: str | None, session: Session) -> Generator[None, None, None]:
        """One turn of ``speaker`` (None: whoever is next), streamed through the reply pipeline;
        yields when the page is due an update (the turn is ``seat.speaking``).  The turn joins the
        debate when it ends: while it streams, its speaker is shown the debate before it."""
        speaker = speaker or debate.next_speaker()
        if speaker not in debate.speakers:
            raise ClassroomError(f"'{speaker}' is not in this debate: choose one of {', '.join(debate.speakers)}.")
        persona = self.persona_of(speaker, session)
        rules = debate_rules(persona, [self.persona_of(s, session) for s in debate.speakers if s != speaker])
        turn = seat.speaking = Turn(speaker, "")
        ended = False
        try:
            yield from self.replies.stream(lambda: self.flow.turn(persona, rules, debate), turn, speaker,
                                           debate.question, lambda: self.flow.withdraw(debate))
            ended = True
        finally:
            if not ended and turn.ending is None:
                turn.ending = Ending("stopped")
            # A turn that said something, or failed with a notice (a failure before the first word
            # is shown, not dropped); one stopped before its first word leaves nothing.
            if turn.text.strip() or turn.ending is not None and turn.ending.kind != "stopped":
                debate.turns.append(turn)
            if ended:  # a stopped turn stays in its seat, for Stop's handler (which may come after)
                seat.speaking = None

    def stop(self, seat: Seat) -> Debate | None:
        """Stop: the turn under way is marked as stopped (its run is cancelled as its stream
        closes) and what it showed is checked once more; the debate as the class should now see
        it, or None if nothing was being said."""
        debate, turn = seat.debate, seat.speaking
        if debate is None or turn is None:
            return None
        self.replies.stopped(turn, turn.speaker, debate.question, lambda: self.flow.withdraw(debate))
        return Debate(debate.question, debate.speakers, [*debate.turns, *([turn] if turn not in debate.turns else [])],
                      names=debate.names)
