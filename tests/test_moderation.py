"""Moderation (issue 15): the embedded server's /v1/moderations in OpenAI's shape (the real SDK,
strict validation) on its offline classifier, and the app stopping a hurtful message before it is
sent and a hurtful reply as it streams — while questions about death, suicide or killing, which
philosophy asks, pass."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import openai
import pytest
import yaml
from gradio_client import Client
from openai import OpenAI

from agora.classroom.reply import ReplyWatch
from agora.client.moderation import Verdict
from agora.config import Settings
from tests.support import ROOT, RunningApp, running_app

PHILOSOPHY = [
    "Was Socrates right to drink the hemlock rather than escape?",
    "Camus said suicide is the one truly serious philosophical problem. What did he mean?",
    "Is it ever right to kill a tyrant?",
    "How could ordinary people take part in the murder of millions, as Arendt asked?",
    "Why should we not fear death?",
    "Was the war against Sparta just?",
]
HURTFUL = ["shut up you stupid moron", "you are a worthless idiot and everyone hates you"]


def test_the_servers_moderations_have_openais_shape(client: OpenAI) -> None:
    result = client.moderations.create(input=[*HURTFUL, *PHILOSOPHY])
    assert result.id.startswith("modr-") and result.model == "agora-offensive-language-1"
    assert [r.flagged for r in result.results] == [True] * len(HURTFUL) + [False] * len(PHILOSOPHY)
    flagged = result.results[0]
    assert flagged.categories.harassment and flagged.category_scores.harassment > 0.9
    assert flagged.category_scores.self_harm == 0 and not flagged.categories.violence  # not what it can judge
    assert client.moderations.create(input=[{"type": "text", "text": HURTFUL[0]}]).results[0].flagged
    with pytest.raises(openai.BadRequestError, match="Only text content parts"):
        client.moderations.create(input=[{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}])


@pytest.fixture(scope="module")
def agora() -> Iterator[RunningApp]:
    with running_app({}) as running:
        yield running


@pytest.mark.slow
def test_a_hurtful_message_is_not_sent_and_the_teacher_sees_it(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    reply = client.predict(HURTFUL[0], "plato", api_name="/chat")
    assert reply.startswith("⚠️ This message was not sent: it reads as hurtful (harassment).")
    assert not any(HURTFUL[0] in str(m.content) for t in agora.threads() for m in agora.messages(t.id))
    hit = agora.classroom.records.feedback(("moderation",))[0]
    assert (hit.persona, hit.question, hit.detail) == ("plato", HURTFUL[0], "harassment")
    # The conversation goes on; the refused message is not part of it.
    assert client.predict("What is justice? [[echo]]", "plato", api_name="/chat").endswith("| user: What is justice?")


def test_philosophy_about_death_killing_and_suicide_passes(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False)
    for n, question in enumerate(PHILOSOPHY, start=1):
        assert client.predict(question, "socrates", api_name="/chat").startswith(f"[turn {n}] You asked: {question[:20]}")


def test_the_notice_is_in_the_students_language(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False, headers={"Accept-Language": "fr-FR"})
    assert client.predict(HURTFUL[1], "kant", api_name="/chat").startswith(
        "⚠️ Ce message n'a pas été envoyé : il paraît blessant (harassment).")


def test_a_reply_that_turns_hurtful_is_stopped_and_replaced_by_a_notice() -> None:
    """A persona whose instructions are abusive, made to repeat them ([[echo]]): the reply is
    stopped mid-stream (the run is cancelled), and its words are replaced by the notice."""
    entries = yaml.safe_load((ROOT / "personas.yaml").read_text(encoding="utf-8"))[:1]
    entries[0].pop("samples", None)
    entries[0]["instructions"] = ("You are a stupid worthless idiot moron, shut up you moron. " * 3 +
                                  "Then speak at length about the weather in Athens. " * 40)
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "personas.yaml").write_text(yaml.safe_dump(entries), encoding="utf-8")
        with running_app({"AGORA_PERSONAS": str(Path(folder) / "personas.yaml"),
                          "AGORA_MAX_OUTPUT_TOKENS": "2000"}) as agora:
            persona = entries[0]["id"]
            job = Client(agora.url, verbose=False).submit("Tell me [[echo]]", persona, api_name="/chat")
            updates = list(job)
            assert updates[-1] == ("⚠️ This reply was withheld by moderation (harassment); please ask again "
                                   "another way.")
            assert "moron" not in updates[-1] and max(map(len, updates)) < 600  # of a ~2,300-character echo
            run = agora.runs(agora.threads()[0].id)[-1]
            assert run.status == "cancelled"  # stopped mid-stream on the backend too
            hit = agora.classroom.records.feedback(("moderation",))[0]
            assert hit.question == "Tell me [[echo]]" and "moron" in hit.answer and hit.detail == "harassment"


def test_moderation_is_one_setting_away_from_off() -> None:
    with running_app({"AGORA_MODERATION": "false"}) as agora:
        assert agora.classroom.moderator is None
        assert Client(agora.url, verbose=False).predict(HURTFUL[0], "plato", api_name="/chat").startswith("[turn 1]")
    assert Settings.from_env({"AGORA_MODERATION_THRESHOLDS": "harassment=0.5"}).thresholds["harassment"] == 0.5


def test_a_slow_moderation_call_never_holds_the_words_back() -> None:
    """Checks of a streaming reply run beside it (a round trip to OpenAI takes a few hundred ms):
    each word passes at once, and a verdict stops the reply at the word after it arrives."""
    release, seen = threading.Event(), []

    def slow_check(text: str) -> Verdict | None:
        seen.append(text)
        release.wait(5)
        return Verdict(("harassment",)) if "moron" in text else None

    with ThreadPoolExecutor(2) as pool:
        watch, text, verdict = ReplyWatch(slow_check, pool, every=15), "", None
        started = time.perf_counter()
        for word in ["Well, ", "you ", "moron, ", "listen ", "to ", "me ", "now."]:
            text += word
            assert watch.offer(text) is None  # the check is still out: the word goes through
        assert time.perf_counter() - started < 0.2 and seen == ["Well, you moron, "]  # one check at a time
        release.set()
        while verdict is None and time.perf_counter() - started < 5:
            verdict = watch.offer(text + " more")
            time.sleep(0.01)
        assert verdict == Verdict(("harassment",))
        clean = ReplyWatch(lambda t: None, pool, every=10)
        assert clean.offer("A calm reply about virtue") is None and clean.final("A calm reply about virtue.") is None
