"""Debates through the app, for each flow: gradio_client → /debate_turn → Gradio → SDK → the
embedded server (scripted engine).  ``[[echo]]`` makes a speaker repeat the prompt it was given,
which shows what each philosopher is shown of the others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gradio_client import Client

from agora.classroom import Session
from agora.classroom.debate import CLASS, Debate, Seat, Turn, restore, saved
from agora.client.conversation import Ending
from agora.personas import CUSTOM_ID, load_personas, persona_from_form
from tests.support import RunningApp, running_app

FLOWS = ["assistants", "responses", "chat"]
THREE = ["kant", "beauvoir", "confucius"]
QUESTION = "Is it ever right to lie?"
PERSONAS = {p.id: p for p in load_personas()}


@pytest.fixture(scope="module", params=FLOWS)
def agora(request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    with running_app({"AGORA_API": request.param, "AGORA_MAX_OUTPUT_TOKENS": "1000", "AGORA_SCRIPTED_DELAY": "0"}) \
            as running:
        yield running


def turn(client: Client, speaker: str, interjection: str = "", speakers: list[str] = THREE,
         question: str = QUESTION) -> list[tuple[str, str]]:
    """One turn through /debate_turn: the debate shown, as (role, text) pairs."""
    shown: list[dict[str, Any]] = client.predict(speaker, speakers, question, interjection, api_name="/debate_turn")
    return [(m["role"], "".join(part["text"] for part in m["content"] if part.get("type") == "text")) for m in shown]


def test_the_third_speaker_is_shown_the_first_two_under_their_names(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    first = turn(client, "kant")
    assert first[0] == ("user", QUESTION) and len(first) == 2
    role, said = first[1]
    assert role == "assistant" and said.startswith(f"{PERSONAS['kant'].avatar} **Immanuel Kant**\n\n[turn 1] You "
                                                   f"asked: {QUESTION}")
    second = turn(client, "beauvoir")
    assert second[1] == first[1] and len(second) == 3
    assert second[2][1].startswith(f"{PERSONAS['beauvoir'].avatar} **Simone de Beauvoir**\n\n[turn 2] You asked: "
                                   "Immanuel Kant said: [turn 1] You asked: Is it ever right to lie?")
    third = turn(client, "confucius", interjection="Answer each other. [[echo]]")
    assert third[3] == ("user", "Answer each other. [[echo]]")
    prompt = third[4][1]
    assert prompt.startswith(f"{PERSONAS['confucius'].avatar} **Confucius (Kongzi)**")
    # The debate so far, as Confucius was shown it: the two others by name, then the moderator.
    kant = prompt.index("user: Immanuel Kant said: [turn 1] You asked: Is it ever right to lie?")
    beauvoir = prompt.index("user: Simone de Beauvoir said: [turn 2] You asked: Immanuel Kant said:")
    moderator = prompt.index("user: The moderator says: Answer each other.")
    assert kant < beauvoir < moderator
    assert "You are in a debate with Immanuel Kant and Simone de Beauvoir" in prompt
    assert "Answer them by name" in prompt


def test_a_new_question_starts_a_new_debate_and_next_goes_round(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    turn(client, "", speakers=["socrates", "plato"], question="What is courage?")
    shown = turn(client, "", speakers=["socrates", "plato"], question="What is courage?")
    assert "**Socrates**" in shown[1][1] and "**Plato**" in shown[2][1] and len(shown) == 3
    fresh = turn(client, "plato", speakers=["socrates", "plato"], question="What is piety?")
    assert len(fresh) == 2 and fresh[0] == ("user", "What is piety?") and "**Plato**" in fresh[1][1]


@pytest.mark.parametrize("speakers, speaker, message", [
    (["kant"], "kant", "Choose two or three philosophers"),
    (["kant", "beauvoir", "plato", "socrates"], "kant", "Choose two or three philosophers"),
    (["kant", "nobody"], "kant", "'nobody'.*is not in the list of choices"),
    (["kant", "beauvoir"], "plato", "'plato' is not in this debate"),
])
def test_bad_requests_get_one_line(agora: RunningApp, speakers: list[str], speaker: str, message: str) -> None:
    with pytest.raises(Exception, match=message):
        turn(Client(agora.url, verbose=False), speaker, speakers=speakers)


def test_the_browser_copy_is_checked_and_keeps_no_thread() -> None:
    names = {"kant": "Immanuel Kant", "beauvoir": "Simone de Beauvoir"}
    debate = Debate(QUESTION, ["kant", "beauvoir"], [Turn("kant", "No."), Turn(CLASS, "Why?"),
                                                     Turn("beauvoir", "Because", Ending("stopped"))],
                    names=names, thread_id="t_1")
    kept = saved(debate)
    assert "thread_id" not in kept
    forged = {**kept, "speakers": ["kant", "evil"], "turns": [*kept["turns"], {"speaker": "evil", "text": "x"}]}
    assert restore(forged, names) is None
    assert restore({**kept, "speakers": "kant"}, names) is None
    restored = restore({**kept, "turns": [*kept["turns"], {"speaker": "plato", "text": "x"}, "junk"]}, names)
    assert restored is not None and restored.turns == debate.turns and restored.thread_id is None
    assert debate.markdown().splitlines()[:8] == [
        f"# Debate: {QUESTION}", "", "*Immanuel Kant, Simone de Beauvoir*", "", "## Immanuel Kant", "", "No.", ""]
    assert "Because …" in debate.markdown()


def test_a_persona_made_in_the_page_can_debate(agora: RunningApp) -> None:
    classroom, seat = agora.classroom, Seat()
    session = Session(lang="en", custom=persona_from_form("Hypatia", "You are Hypatia of Alexandria, a teacher of "
                                                           "mathematics and philosophy.", "", ""))
    debate, heard = classroom.debates.open(seat, ["kant", CUSTOM_ID], QUESTION, "", session, None)
    assert heard and debate.names[CUSTOM_ID] == "Hypatia"
    for speaker in ["kant", CUSTOM_ID]:
        list(classroom.debates.speak(seat, debate, speaker, session))
    assert [t.speaker for t in debate.turns] == ["kant", CUSTOM_ID]
    assert "Immanuel Kant said:" in debate.turns[-1].text
    assert saved(debate)["speakers"] == ["kant", CUSTOM_ID] and len(saved(debate)["turns"]) == 2
