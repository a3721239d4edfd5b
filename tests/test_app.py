"""The app end to end, for each chat flow: gradio_client → Gradio → openai SDK → embedded server."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from gradio_client import Client

from agora.client import Backend, make_flow
from agora.client.conversation import Conversation
from agora.personas import load_personas
from tests.support import ROOT, RunningApp, running_app

PERSONAS = {p.id: p for p in load_personas()}
FLOWS = ["assistants", "responses", "chat"]


@pytest.fixture(scope="module", params=FLOWS)
def agora(request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    with running_app({"AGORA_API": request.param}) as running:
        assert running.backend.api == request.param
        yield running


def nonce() -> str:
    return uuid.uuid4().hex[:8]


def words(text: str) -> str:
    return " ".join(text.split())


def test_reply_grows_in_at_least_five_steps(agora: RunningApp) -> None:
    job = Client(agora.url, verbose=False).submit("What is philosophy? [[pieces=12]]", "plato", api_name="/chat")
    updates = [text for text in job]
    assert len(updates) >= 5
    for shorter, longer in zip(updates, updates[1:]):
        assert longer.startswith(shorter) and len(longer) > len(shorter)
    assert updates[-1] == job.outputs()[-1]
    assert updates[-1].startswith("[turn 1] You asked: What is philosophy?")


@pytest.mark.slow
def test_follow_up_keeps_context_and_persona_instructions(agora: RunningApp) -> None:
    client, tag = Client(agora.url, verbose=False), nonce()
    first = client.predict(f"first {tag}", "kant", api_name="/chat")
    second = client.predict("and then? [[echo]]", "kant", api_name="/chat")
    assert first.startswith(f"[turn 1] You asked: first {tag}")
    # The echo engine replies with the prompt it was given: instructions, then the whole conversation.
    assert second.startswith(f"system: {words(PERSONAS['kant'].instructions)} | user: first {tag} | assistant: [turn 1]")
    assert second.endswith("| user: and then?")
    if agora.backend.api == "assistants":
        thread = agora.thread_with(tag)
        assert [m.role for m in agora.messages(thread.id)] == ["user", "assistant", "user", "assistant"]
        assert all(r.instructions == PERSONAS["kant"].instructions for r in agora.runs(thread.id))


@pytest.mark.slow
def test_sample_turns_open_the_conversation_in_the_question_language(agora: RunningApp) -> None:
    """With the shipped personas, the model sees the persona's sample exchange before the student's
    first question — the French one for a question in French — and once only."""
    with running_app({"AGORA_API": agora.backend.api, "AGORA_PERSONAS": str(ROOT / "personas.yaml")}) as shipped:
        kant = shipped.classroom.by_id["kant"]
        english, french = kant.samples[0], kant.translations["fr"].samples[0]  # type: ignore[index]
        client = Client(shipped.url, verbose=False)
        client.predict("Que dois-je faire ?", "kant", api_name="/chat")
        reply = client.predict("Et ensuite ? [[echo]]", "kant", api_name="/chat")
        assert reply.startswith(f"system: {words(kant.instructions)} | user: {words(french.question)} | "
                                f"assistant: {words(french.answer)} | user: Que dois-je faire ? | assistant: [turn 2]")
        assert reply.endswith("| user: Et ensuite ?") and words(english.answer) not in reply
        other = Client(shipped.url, verbose=False).predict("What should I do? [[echo]]", "kant", api_name="/chat")
        assert f"| user: {words(english.question)} | assistant: {words(english.answer)} | user: What should" in other


@pytest.mark.slow
def test_switching_persona_starts_fresh_with_new_instructions(agora: RunningApp) -> None:
    client, tag = Client(agora.url, verbose=False), nonce()
    client.predict(f"to plato {tag}", "plato", api_name="/chat")
    reply = client.predict("to laozi [[echo]]", "laozi", api_name="/chat")
    assert reply == f"system: {words(PERSONAS['laozi'].instructions)} | user: to laozi"
    again = client.predict("who am I talking to? [[echo]]", "plato", api_name="/chat")
    assert tag not in again  # switching back starts a fresh conversation too
    if agora.backend.api == "assistants":
        assert len(agora.messages(agora.thread_with(tag).id)) == 2


@pytest.mark.slow
def test_concurrent_sessions_are_isolated(agora: RunningApp) -> None:
    tags = [nonce() for _ in range(4)]
    replies: dict[str, list[str]] = {}
    started: dict[str, float] = {}
    finished: dict[str, float] = {}

    def talk(tag: str) -> None:
        client = Client(agora.url, verbose=False)
        client.predict(f"warm-up {tag}", "socrates", api_name="/chat")
        job = client.submit(f"again {tag} [[pieces=30 echo]]", "socrates", api_name="/chat")
        started[tag] = time.monotonic()
        replies[tag] = [text for text in job]
        finished[tag] = time.monotonic()

    workers = [threading.Thread(target=talk, args=(t,)) for t in tags]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    for tag in tags:
        final = replies[tag][-1]
        assert f"user: warm-up {tag}" in final and final.endswith(f"user: again {tag}")
        assert all(other not in text for other in tags if other != tag for text in replies[tag])
    assert max(started.values()) < min(finished.values())  # they really overlapped


def test_stop_mid_reply_then_next_message_works(agora: RunningApp) -> None:
    client, tag = Client(agora.url, verbose=False), nonce()
    job = client.submit(f"slow {tag} [[pieces=300 delay=0.03]]", "aristotle", api_name="/chat")
    seen = 0
    for _ in job:
        seen += 1
        if seen == 3:
            job.cancel()
            break
    started = time.monotonic()
    reply = client.predict("next question", "aristotle", api_name="/chat")
    assert reply.startswith("[turn 2] You asked: next question")
    assert time.monotonic() - started < 5
    if agora.backend.api == "assistants":
        thread = agora.thread_with(tag)
        runs = agora.runs(thread.id)
        assert [r.status for r in runs] == ["cancelled", "completed"]
        assert agora.messages(thread.id)[1].status == "incomplete"
    assert agora.embedded.server is not None
    assert agora.embedded.server.app.state.executor.busy() == 0


def test_persona_model_and_temperature_reach_the_backend(agora: RunningApp, tmp_path: Path) -> None:
    text = Path("personas.yaml").read_text(encoding="utf-8").replace(
        "- id: socrates\n", "- id: socrates\n  model: philosopher-xl\n  temperature: 0.3\n", 1)
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    with running_app({"AGORA_API": agora.backend.api, "AGORA_PERSONAS": str(tmp_path / "p.yaml"),
                      "AGORA_MAX_OUTPUT_TOKENS": "77"}) as custom:
        reply = Client(custom.url, verbose=False).predict("settings? [[params]]", "socrates", api_name="/chat")
        assert reply == "model=philosopher-xl temperature=0.3 max_tokens=77"
        other = Client(custom.url, verbose=False).predict("settings? [[params]]", "plato", api_name="/chat")
        assert other == "model=scripted temperature=None max_tokens=77"  # no per-persona values: defaults


def test_assistants_are_created_once_and_found_again_by_metadata() -> None:
    with running_app({"AGORA_API": "assistants"}) as agora:
        check_assistant_reuse(agora)


def check_assistant_reuse(agora: RunningApp) -> None:
    persona = PERSONAS["confucius"]
    first = agora.backend.assistant_id(persona)
    assert agora.backend.assistant_id(persona) == first  # cached
    fresh = Backend(agora.backend.settings, agora.backend.local)  # another app process, same server
    fresh._client = agora.backend.client()
    assert fresh.assistant_id(persona) == first  # found by metadata, not created again
    found = agora.server_client.beta.assistants.retrieve(first)
    assert found.metadata["agora_persona"] == "confucius" and found.instructions == persona.instructions  # type: ignore[index]

    # Sixteen students who open one persona at once share one assistant: a thread must not
    # hold replies from two assistants of one persona.
    plato = PERSONAS["plato"].model_copy(update={"instructions": f"You are Plato. {uuid.uuid4().hex}"})
    crowd = Backend(agora.backend.settings, agora.backend.local)
    crowd._client = agora.backend.client()
    with ThreadPoolExecutor(16) as pool:
        ids = set(pool.map(lambda _: crowd.assistant_id(plato), range(16)))
    made = [a for a in agora.server_client.beta.assistants.list(limit=100)
            if a.instructions == plato.instructions]
    assert len(ids) == 1 and [a.id for a in made] == list(ids)


def test_a_thread_the_server_lost_starts_afresh() -> None:
    """A conversation restored from the browser may name a thread a memory-only server forgot."""
    with running_app({"AGORA_API": "assistants"}) as agora:
        conv = Conversation(persona_id="plato", thread_id="thread_gone")
        reply = "".join(make_flow(agora.backend).stream(conv, agora.classroom.by_id["plato"], "hello again"))
        assert reply.startswith("[turn 1] You asked: hello again") and conv.thread_id != "thread_gone"
