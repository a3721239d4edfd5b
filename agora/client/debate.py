"""A debate: two or three philosophers answer a question and each other, one turn at a time.

The debate is kept as records (who said what, and the moderator's interjections); each speaker
is shown it from where it sits: its own turns as its own, the others' as named turns
("Kant said: …"), and instructions that ask it to answer them by name, briefly, in the
question's language.  Per API: Assistants — one thread, each turn a streamed run of the
speaker's assistant on it (the server names the other assistants' messages); Responses — the
speaker's instructions and the debate as input; Chat Completions — the same as messages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from ..personas import Persona
from ..shared.api import ACTIVE  # the Assistants API's active run states
from .backend import Backend
from .endings import ReplyEnded
from .flow import given

MODERATOR = ""  # the speaker id of an interjection from the class


@dataclass
class Turn:
    speaker: str  # a persona id, or MODERATOR
    text: str
    cut: bool = False  # stopped, or cut at the length limit, before its end


@dataclass
class Debate:
    """The question, who debates, and the turns so far (what the browser keeps)."""

    question: str
    speakers: list[str]
    turns: list[Turn] = field(default_factory=list)
    thread_id: str | None = None  # Assistants: the debate's thread

    def next_speaker(self) -> str:
        """Round-robin: whoever has spoken least, the first such in the order chosen."""
        said = [sum(t.speaker == s for t in self.turns) for s in self.speakers]
        return self.speakers[said.index(min(said))]

    def view(self, speaker: str | None, names: dict[str, str],
             turns: Sequence[Turn] | None = None) -> list[dict[str, str]]:
        """The debate (or ``turns`` of it) as ``speaker`` is shown it: its turns as its own, the
        others' by name (``speaker`` None: every turn by name)."""
        messages = [{"role": "user", "content": self.question}] if turns is None else []
        for turn in self.turns if turns is None else turns:
            if not turn.text.strip():
                continue
            if turn.speaker == speaker:
                messages.append({"role": "assistant", "content": turn.text})
            elif turn.speaker == MODERATOR:
                messages.append({"role": "user", "content": f"The moderator says: {turn.text}"})
            else:
                name = names.get(turn.speaker, turn.speaker)
                messages.append({"role": "user", "content": f"{name} said: {turn.text}"})
        return messages

    def saved(self) -> dict[str, Any]:
        """What the browser keeps: not the thread id, which a page could forge to read another's."""
        return {"question": self.question, "speakers": list(self.speakers),
                "turns": [{"speaker": t.speaker, "text": t.text, "cut": t.cut} for t in self.turns]}

    @classmethod
    def restore(cls, data: Any, known: set[str]) -> Debate | None:
        """A debate from the browser's storage, checked: known speakers, well-formed turns."""
        if not isinstance(data, dict) or not isinstance(data.get("question"), str):
            return None
        speakers = [s for s in data.get("speakers") or [] if isinstance(s, str) and s in known]
        if not 2 <= len(speakers) <= 3:
            return None
        debate = cls(data["question"], speakers)
        for item in data.get("turns") or []:
            if isinstance(item, dict) and isinstance(item.get("text"), str) \
                    and item.get("speaker") in (*speakers, MODERATOR):
                debate.turns.append(Turn(item["speaker"], item["text"], item.get("cut") is True))
        return debate

    def markdown(self, names: dict[str, str]) -> str:
        """The transcript: the question, then each turn under its speaker."""
        lines = [f"# Debate: {self.question}", "", f"*{', '.join(names.get(s, s) for s in self.speakers)}*", ""]
        for turn in self.turns:
            who = "The moderator" if turn.speaker == MODERATOR else names.get(turn.speaker, turn.speaker)
            lines += [f"## {who}", "", turn.text.strip() + (" …" if turn.cut else ""), ""]
        return "\n".join(lines)


def debate_rules(persona: Persona, others: Sequence[Persona]) -> str:
    """How to take part, after the speaker's own instructions."""
    names = " and ".join(p.name for p in others)
    return (f"You are in a debate with {names} in front of a class. The others' words reach you as "
            f"\"Name said: …\". Answer them by name, briefly (three or four sentences), in the language of the "
            f"question. Speak only as {persona.name}.")


def speak(backend: Backend, api: str, debate: Debate, persona: Persona, others: Sequence[Persona]) -> Iterator[str]:
    """Stream ``persona``'s next turn on ``api`` (``assistants``, ``responses`` or ``chat``)."""
    names = {p.id: p.name for p in (persona, *others)}
    rules = debate_rules(persona, others)
    instructions = f"{persona.instructions}\n\n{rules}"
    client = backend.client()
    options = given(model=backend.model_for(persona), temperature=persona.temperature)
    limit = backend.settings.max_output_tokens
    if api == "assistants":
        yield from _assistants(backend, client, debate, persona, names, rules, options, limit)
    elif api == "responses":
        request = {**options, "instructions": instructions, "input": debate.view(persona.id, names),
                   "max_output_tokens": limit, "store": False}
        with client.responses.stream(**request) as stream:  # type: ignore[call-overload]
            for event in stream:
                if event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type == "response.incomplete":
                    raise ReplyEnded("cut")
                elif event.type in ("response.failed", "error"):
                    raise ReplyEnded("failed", getattr(getattr(event, "response", None), "error", None) or "")
    else:
        messages: list[Any] = [{"role": "system", "content": instructions}, *debate.view(persona.id, names)]
        chunks = client.chat.completions.create(  # type: ignore[call-overload]
            messages=messages, stream=True, max_tokens=limit, **options)
        finish = None
        with chunks:
            for chunk in chunks:
                if chunk.choices:
                    if chunk.choices[0].delta.content:
                        yield chunk.choices[0].delta.content
                    finish = chunk.choices[0].finish_reason or finish
        if finish == "length":
            raise ReplyEnded("cut")


def _assistants(backend: Backend, client: openai.OpenAI, debate: Debate, persona: Persona, names: dict[str, str],
                rules: str, options: dict[str, Any], limit: int) -> Iterator[str]:
    """One thread for the debate; this turn is a run of the speaker's assistant on it (the server
    shows it the other assistants' messages by name).  An interjection since the last turn goes in
    with the run.  A debate without a thread (new, or restored from the browser) gets one with
    everything said so far."""
    pending: list[Any] = debate.view(None, names, [t for t in debate.turns[_heard(debate):]
                                                   if t.speaker == MODERATOR])
    if debate.thread_id is None:
        debate.thread_id = client.beta.threads.create(messages=debate.view(None, names),  # type: ignore[arg-type]
                                                      metadata={"agora_debate": "1"}).id
        pending = []
    with client.beta.threads.runs.stream(  # type: ignore[call-overload]
            thread_id=debate.thread_id, assistant_id=backend.assistant_id(persona), additional_instructions=rules,
            additional_messages=pending, max_completion_tokens=limit, **options) as run_stream:
        finished = False
        try:
            yield from run_stream.text_deltas
            finished = True
        finally:
            run = run_stream.current_run
            if not finished and run is not None and run.status in ACTIVE:  # Stop: cancel it on the server
                with contextlib.suppress(openai.OpenAIError):
                    client.beta.threads.runs.cancel(run_id=run.id, thread_id=run.thread_id)
    if run_stream.get_final_run().status == "incomplete":
        raise ReplyEnded("cut")


def _heard(debate: Debate) -> int:
    """How many turns the thread already has: all before the last speaker's turn."""
    spoken = [i for i, t in enumerate(debate.turns) if t.speaker != MODERATOR]
    return spoken[-1] + 1 if spoken else 0
