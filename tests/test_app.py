"""The app end to end: gradio_client → Gradio → Assistants streaming run → embedded server."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from gradio_client import Client

from agora.personas import load_personas
from tests.apphelpers import RunningApp, running_app

PERSONAS = {p.id: p for p in load_personas()}


@pytest.fixture(scope="module")
def agora() -> Iterator[RunningApp]:
    with running_app() as running:
        yield running


def nonce() -> str:
    return uuid.uuid4().hex[:8]


def test_reply_grows_in_at_least_five_steps(agora: RunningApp) -> None:
    job = Client(agora.url, verbose=False).submit("What is philosophy? [[pieces=12]]", "plato", api_name="/chat")
    updates = [text for text in job]
    assert len(updates) >= 5
    for shorter, longer in zip(updates, updates[1:]):
        assert longer.startswith(shorter) and len(longer) > len(shorter)
    assert updates[-1] == job.outputs()[-1]
    assert updates[-1].startswith("[turn 1] You asked: What is philosophy?")


def test_follow_up_lands_in_same_thread_with_persona_instructions(agora: RunningApp) -> None:
    client, tag = Client(agora.url, verbose=False), nonce()
    first = client.predict(f"first {tag}", "kant", api_name="/chat")
    second = client.predict("and then?", "kant", api_name="/chat")
    assert first.startswith(f"[turn 1] You asked: first {tag}")
    assert second.startswith("[turn 2] You asked: and then?")
    thread = agora.thread_with(tag)
    assert [m.role for m in agora.messages(thread.id)] == ["user", "assistant", "user", "assistant"]
    runs = agora.runs(thread.id)
    assert len(runs) == 2 and all(r.instructions == PERSONAS["kant"].instructions for r in runs)


def test_switching_persona_starts_a_new_thread_with_new_instructions(agora: RunningApp) -> None:
    client, tag_a, tag_b = Client(agora.url, verbose=False), nonce(), nonce()
    client.predict(f"to plato {tag_a}", "plato", api_name="/chat")
    reply = client.predict(f"to laozi {tag_b}", "laozi", api_name="/chat")
    assert reply.startswith(f"[turn 1] You asked: to laozi {tag_b}")  # fresh context
    plato, laozi = agora.thread_with(tag_a), agora.thread_with(tag_b)
    assert plato.id != laozi.id
    assert len(agora.messages(laozi.id)) == 2
    assert agora.runs(laozi.id)[0].instructions == PERSONAS["laozi"].instructions
    assert agora.runs(plato.id)[0].instructions == PERSONAS["plato"].instructions


def test_two_sessions_at_once_get_their_own_replies(agora: RunningApp) -> None:
    tags = [nonce(), nonce()]
    replies: dict[str, list[str]] = {}
    started: dict[str, float] = {}
    finished: dict[str, float] = {}

    def talk(tag: str) -> None:
        job = Client(agora.url, verbose=False).submit(f"{tag} [[pieces=30]]", "socrates", api_name="/chat")
        started[tag] = time.monotonic()
        replies[tag] = [text for text in job]
        finished[tag] = time.monotonic()

    workers = [threading.Thread(target=talk, args=(t,)) for t in tags]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    for mine, other in (tags, tags[::-1]):
        assert all(other not in text for text in replies[mine])
        assert f"You asked: {mine}" in replies[mine][-1]
    assert max(started.values()) < min(finished.values())  # they really overlapped
    assert agora.thread_with(tags[0]).id != agora.thread_with(tags[1]).id


def test_stop_mid_reply_cancels_the_run_and_next_message_works(agora: RunningApp) -> None:
    client, tag = Client(agora.url, verbose=False), nonce()
    job = client.submit(f"slow {tag} [[pieces=300 delay=0.03]]", "aristotle", api_name="/chat")
    seen = 0
    for _ in job:
        seen += 1
        if seen == 3:
            job.cancel()
            break
    thread = agora.thread_with(tag)
    run = agora.wait_run_status(thread.id, "cancelled")
    assert run.status == "cancelled"
    partial = agora.messages(thread.id)[-1]
    assert partial.status == "incomplete"
    reply = client.predict("next question", "aristotle", api_name="/chat")
    assert reply.startswith("[turn 2] You asked: next question")


def test_no_api_key_in_page_or_api_schema() -> None:
    secret = "sk-agora-test-" + nonce()
    with running_app() as embedded:
        base = embedded.backend.client().base_url
        env = {"OPENAI_BASE_URL": str(base), "OPENAI_API_KEY": secret, "AGORA_API": "assistants"}
        import os
        old = os.environ.get("OPENAI_API_KEY")
        os.environ["OPENAI_API_KEY"] = secret
        try:
            with running_app(env) as remote:
                reply = Client(remote.url, verbose=False).predict("hello [[pieces=5]]", "socrates", api_name="/chat")
                assert reply.startswith("[turn 1]")
                for path in ("/", "/config", "/gradio_api/info", "/gradio_api/openapi.json"):
                    body = httpx.get(remote.url.rstrip("/") + path, timeout=10).text
                    assert secret not in body, path
                assert "assistants API" in httpx.get(remote.url.rstrip("/") + "/config", timeout=10).text
        finally:
            if old is None:
                os.environ.pop("OPENAI_API_KEY", None)
            else:
                os.environ["OPENAI_API_KEY"] = old
