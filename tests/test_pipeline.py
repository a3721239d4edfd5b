"""The one reply pipeline (``agora.classroom.reply``): a chat answer and a debate turn that turn
hurtful halfway are cut the same way, as they stream — the class never sees the turn in full —
and both are recorded for the teacher.  Through the app, on each flow: gradio_client → Gradio →
the classroom → the SDK → the embedded server (scripted engine, real offline classifier)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from gradio_client import Client

from agora.classroom import Session
from agora.classroom.debate import Seat, saved
from agora.classroom.reply import MODERATE_EVERY
from tests.support import ROOT, RunningApp, running_app

#: A persona whose instructions start abusive, then go on harmlessly; ``[[echo]]`` makes it say them.
ABUSE = "You are a stupid worthless idiot moron, shut up you moron. " * 3
LONG = ABUSE + "Then speak at length about the weather in Athens. " * 40
#: What the class may see of a reply before the check beside the stream stops it: the check starts
#: after MODERATE_EVERY characters and its verdict stops the reply at the next word.
SEEN_AT_MOST = 3 * MODERATE_EVERY
NOTICE = "⚠️ This reply was withheld by moderation (harassment); please ask again another way."


@pytest.fixture(scope="module", params=["assistants", "responses", "chat"])
def agora(request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    entries = yaml.safe_load((ROOT / "personas.yaml").read_text(encoding="utf-8"))[:2]
    for entry in entries:
        entry.pop("samples", None)
    entries[0]["instructions"] = LONG
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "personas.yaml").write_text(yaml.safe_dump(entries), encoding="utf-8")
        with running_app({"AGORA_PERSONAS": str(Path(folder) / "personas.yaml"), "AGORA_API": request.param,
                          "AGORA_MAX_OUTPUT_TOKENS": "2000"}) as running:
            yield running


def text_of(message: dict[str, Any]) -> str:
    content = message["content"]
    return content if isinstance(content, str) else "".join(p.get("text", "") for p in content if isinstance(p, dict))


def test_a_chat_answer_that_turns_hurtful_is_cut_as_it_streams(agora: RunningApp) -> None:
    hurtful = agora.classroom.personas[0].id
    updates = list(Client(agora.url, verbose=False).submit("Tell me [[echo]]", hurtful, api_name="/chat"))
    assert updates[-1] == NOTICE
    assert max(map(len, updates[:-1])) < SEEN_AT_MOST < len(LONG)
    hit = agora.classroom.records.feedback(("moderation",))[0]
    assert (hit.persona, hit.question, hit.detail) == (hurtful, "Tell me [[echo]]", "harassment") and "moron" in hit.answer


@pytest.mark.slow
def test_a_debate_turn_that_turns_hurtful_is_cut_as_a_chat_answer_is(agora: RunningApp) -> None:
    hurtful, other = (p.id for p in agora.classroom.personas)
    question = "Is it ever right to lie? [[echo]]"
    client = Client(agora.url, verbose=False)
    updates = list(client.submit(hurtful, [hurtful, other], question, "", api_name="/debate_turn"))
    turns = [text_of(update[-1]) for update in updates]
    said = [turn.split("\n\n", 1)[1] for turn in turns[:-1]]  # each update: the turn under its speaker's name
    assert said and max(map(len, said)) < SEEN_AT_MOST < len(LONG)  # cut while streaming, as the chat is
    assert turns[-1].endswith(NOTICE) and "moron" not in turns[-1]
    hit = agora.classroom.records.feedback(("moderation",))[0]
    assert (hit.persona, hit.question, hit.detail) == (hurtful, question, "harassment") and "moron" in hit.answer
    if agora.backend.api == "assistants":  # stopped on the backend too
        thread = agora.thread_with(question)
        assert agora.runs(thread.id)[-1].status == "cancelled"
    # The debate goes on; the next speaker (who repeats its whole prompt) is not shown what was withheld.
    after = text_of(client.predict(other, [hurtful, other], question, "", api_name="/debate_turn")[-1])
    assert "moron" not in after and "withheld" not in after and after.endswith("user: Is it ever right to lie?")


def test_stop_checks_what_was_shown_and_takes_a_hurtful_part_off_the_backend(agora: RunningApp) -> None:
    """Stop closes the reply at once (on Gradio's event loop: nothing slow there); the Stop event
    then checks what was shown, from its own thread, as the page's handler does."""
    classroom, session = agora.classroom, Session(lang="en")
    persona = classroom.personas[0]
    conv = session.conversation_for(persona.id, 0)
    exchange = conv.begin("Tell me [[echo delay=0.05]]", 0)
    reply = classroom.reply(conv, persona, exchange, session, None)
    while "moron" not in exchange.answer:  # the first words are on screen, fewer than a check waits for
        next(reply)
    assert len(exchange.answer) < MODERATE_EVERY
    reply.close()  # Stop
    assert exchange.ending is None and "moron" in exchange.answer  # closing checks nothing itself
    classroom.stopped(session)
    assert exchange.ending is not None and exchange.ending.kind == "withheld" and exchange.answer == ""
    assert classroom.records.feedback(("moderation",))[0].question == "Tell me [[echo delay=0.05]]"
    if agora.backend.api == "assistants":  # the thread no longer holds it: the next run is not shown it
        assert conv.thread_id is not None and not [m for m in agora.messages(conv.thread_id) if m.role == "assistant"]
    elif agora.backend.api == "responses":
        assert conv.responses_mode == "history"  # the server's copy holds it: the history goes from the records


def test_a_debate_turn_that_fails_before_its_first_word_says_so(agora: RunningApp) -> None:
    classroom, session, seat = agora.classroom, Session(lang="en"), Seat()
    names = [p.id for p in classroom.personas]
    debate, _ = classroom.debates.open(seat, names, "Why? [[raise]]", "", session, None)
    assert list(classroom.debates.speak(seat, debate, None, session)) == []
    [turn] = debate.turns
    assert turn.text == "" and turn.ending is not None and turn.ending.kind not in ("stopped", "cut", "withheld")
    assert turn.shown("en").startswith("⚠️ ") and saved(debate)["turns"] == []  # shown, not kept by the browser
