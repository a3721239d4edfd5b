"""Faults and bad input, for every chat flow: a clear notice, the partial text kept, the next turn working.

Faults are injected inside the real embedded server (scripted engine directives), never by mocking the SDK.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gradio_client import Client

from agora.server import EmbeddedServer
from agora.server.engines import ScriptedEngine
from agora.server.store import MemoryStore
from tests.support import RunningApp, free_port, running_app

FLOWS = ["assistants", "responses", "chat"]


@pytest.fixture(scope="module", params=FLOWS)
def agora(request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    with running_app({"AGORA_API": request.param, "AGORA_TIMEOUT": "1", "AGORA_MAX_OUTPUT_TOKENS": "40",
                      "AGORA_SCRIPTED_DELAY": "0.005"}) as running:
        yield running


def ask(client: Client, message: str, persona: str = "socrates") -> str:
    return client.predict(message, persona, api_name="/chat")


def next_turn_works(client: Client, turn: int) -> None:
    assert ask(client, "still there?").startswith(f"[turn {turn}] You asked: still there?")


PARTIAL = "[turn 1] You asked:"  # the first four pieces of a scripted reply


@pytest.mark.parametrize(("directive", "notice"), [
    ("[[drop=4]]", "The connection to the backend was lost mid-reply. Please try again."),
    ("[[hang=4]]", "The backend stopped answering (nothing for 1 s). Please try again."),
])
def test_stream_interrupted_keeps_partial_text(agora: RunningApp, directive: str, notice: str) -> None:
    client = Client(agora.url, verbose=False)
    reply = ask(client, f"q {directive}")
    assert reply == f"{PARTIAL}\n\n⚠️ {notice}"
    next_turn_works(client, 2)


def test_engine_failure_mid_reply(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    reply = ask(client, "q [[fail_after=4]]")
    assert reply.startswith(f"{PARTIAL}\n\n⚠️ ")
    assert "scripted engine failed after 4 pieces" in reply
    next_turn_works(client, 2)


def test_engine_crash_before_first_piece(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    reply = ask(client, "q [[raise]]")
    assert reply.startswith("⚠️ ") and "crashed before the first piece" in reply
    reply = ask(client, "still there?")
    assert "You asked: still there?" in reply and "⚠️" not in reply


def test_token_limit_says_so(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    reply = ask(client, "q [[pieces=100]]")
    text, _, notice = reply.partition("\n\n⚠️ ")
    assert len(text.split()) == 40 and notice == "The reply was cut at the token limit."
    next_turn_works(client, 2)


@pytest.mark.parametrize(("directive", "notice"), [
    ("[[status=429 retry=0.05]]", "The backend is busy (rate limit). Try again in 1 s."),
    ("[[status=500]]", "The backend had an internal error (500). Please try again."),
])
def test_http_errors_after_retries(agora: RunningApp, directive: str, notice: str) -> None:
    client = Client(agora.url, verbose=False)
    assert ask(client, f"q {directive}") == f"⚠️ {notice}"
    reply = ask(client, "still there?")
    assert "You asked: still there?" in reply and "⚠️" not in reply


def test_requires_action_is_cancelled_with_a_notice(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    reply = ask(client, "q [[tool]]")
    if agora.backend.api == "assistants":
        assert reply == "⚠️ The philosopher tried to use a tool, which Agora does not offer; the run was cancelled."
    else:
        assert reply.startswith("⚠️ ") and "get_weather" in reply
    assert "You asked: still there?" in ask(client, "still there?")


def test_run_expired() -> None:
    """Runs expire only in the Assistants API: here a run may live one second."""
    with running_app({"AGORA_API": "assistants"}, run_lifetime=1.0) as assistants:
        client = Client(assistants.url, verbose=False)
        reply = ask(client, "q [[pieces=300 delay=0.02]]")
        text, _, notice = reply.partition("\n\n⚠️ ")
        assert text.startswith("[turn 1] You asked: q") and 10 < len(text.split()) < 300
        assert notice == "The reply took too long and expired on the server."
        next_turn_works(client, 2)


def test_empty_and_whitespace_messages_are_ignored(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    assert not ask(client, "  \n\t ")
    assert ask(client, "real question").startswith("[turn 1] You asked: real question")


def test_too_long_message_is_refused_and_nothing_sent(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    reply = ask(client, "x" * 4001)
    assert reply == ("⚠️ Your message has 4,001 characters; the limit is 4,000 (AGORA_MAX_INPUT_CHARS). "
                     "Nothing was sent — please shorten it.")
    assert ask(client, "short").startswith("[turn 1] You asked: short")  # the long one never reached the model


def test_control_characters_are_stripped(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    assert ask(client, "\x00wh\x07at\u202e is\x1b good?").startswith("[turn 1] You asked: what is good?")


@pytest.mark.slow
@pytest.mark.parametrize("flow", FLOWS)
def test_backend_refused_at_start_then_mid_chat(flow: str) -> None:
    port, store = free_port(), MemoryStore()
    env = {"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1", "AGORA_API": flow}
    with running_app(env) as remote:
        client = Client(remote.url, verbose=False)
        assert ask(client, "anyone?") == "⚠️ Cannot reach the backend. Is it running?"
        with EmbeddedServer(ScriptedEngine(), port=port, store=store):
            assert ask(client, "hello").startswith("[turn ")
        assert ask(client, "and now?") == "⚠️ Cannot reach the backend. Is it running?"
        with EmbeddedServer(ScriptedEngine(), port=port, store=store):  # back, with the same data
            assert "You asked: back again" in ask(client, "back again")


@pytest.mark.parametrize("flow", FLOWS)
def test_wrong_key_gives_a_401_notice(flow: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddedServer(ScriptedEngine(), api_key="sk-right") as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-wrong", "AGORA_API": flow}
        with running_app(env) as remote:
            reply = ask(Client(remote.url, verbose=False), "hello")
            assert reply == "⚠️ The backend refused the API key (401). The teacher should check OPENAI_API_KEY."
