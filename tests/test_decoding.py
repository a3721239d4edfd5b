"""Decoding that does not loop: the loop guard on its own, and the real SmolLM2 through the server."""

from __future__ import annotations

import numpy as np
import pytest

from agora.personas import load_personas
from agora.server.app import EmbeddedServer
from agora.server.engines.loopguard import DryPenalty, RepeatGuard, repeats
from tests.support import sdk

PERSONAS = {p.id: p for p in load_personas()}
#: Replies the old decoding streamed to the token cap (bench/questions.yaml, before this change).
LOOPED = ["To me, the answer is no.\n\nTo me, the answer is no.\n\nTo me, the answer is no.\n\nTo me,",
          "Pourquoi je ne sais pas, je ne sais pas, je ne sais pas, je ne sais pas, je ne sais pas",
          "Zwieglich: \"How may I assist you?\"\n\nI am a teacher of the late Spring and Autumn period, and I have "
          "been asked to assist you.\n\nI am a teacher of the late Spring and Autumn period, and I have been asked to "
          "assist you.\n\nI am"]


@pytest.mark.parametrize("text", LOOPED)
def test_the_guard_trips_on_a_loop_fed_token_by_token(text: str) -> None:
    guard = RepeatGuard()
    pieces = [text[i:i + 3] for i in range(0, len(text), 3)]
    assert repeats(pieces, guard) and guard.reason


def test_the_guard_lets_real_answers_through() -> None:
    answers = [s.answer for p in PERSONAS.values() for s in [*p.samples, *(p.translations["fr"].samples or [])]]
    assert len(answers) == 22
    for answer in answers:
        assert not repeats(answer.split(" "), RepeatGuard()), answer


def test_dry_penalises_only_the_token_that_would_repeat_a_run() -> None:
    # context: 5 6 7 8 ... 5 6 7 — continuing with 8 would repeat "5 6 7 8"
    ids = np.array([1, 5, 6, 7, 8, 2, 3, 5, 6, 7])
    scores = np.zeros(16, dtype=np.float32)
    DryPenalty(multiplier=1.0, base=2.0, allowed_length=2)(ids, scores)
    assert scores[8] == -2.0  # a run of 3 repeated tokens: 1.0 * 2 ** (3 - 2)
    assert np.count_nonzero(scores) == 1


def plato_thread() -> list[dict[str, str]]:
    plato = PERSONAS["plato"]
    return [*plato.sample_turns("What is philosophy?"), {"role": "user", "content": "What is philosophy?"}]


@pytest.mark.real_model
@pytest.mark.slow
def test_a_client_polling_until_completed_gets_the_reply(llama_server: EmbeddedServer) -> None:
    """No max_completion_tokens (as the seed's PHP client sends none): the run ends `completed`."""
    client = sdk(llama_server.base_url)
    asst = client.beta.assistants.create(model="smollm2-135m-instruct", instructions=PERSONAS["plato"].instructions)
    run = client.beta.threads.create_and_run_poll(assistant_id=asst.id, thread={"messages": plato_thread()},
                                                  poll_interval_ms=100)
    assert run.status == "completed" and run.incomplete_details is None
    reply = client.beta.threads.messages.list(thread_id=run.thread_id, run_id=run.id).data[0]
    assert reply.status == "completed" and reply.content[0].text.value.strip()  # type: ignore[union-attr]
    assert run.usage is not None and run.usage.completion_tokens < 1000


@pytest.mark.real_model
@pytest.mark.slow
def test_a_streamed_run_joins_to_its_final_message(llama_server: EmbeddedServer) -> None:
    client = sdk(llama_server.base_url)
    asst = client.beta.assistants.create(model="smollm2-135m-instruct", instructions=PERSONAS["kant"].instructions)
    thread = client.beta.threads.create(messages=plato_thread())  # type: ignore[arg-type]
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        deltas = list(stream.text_deltas)
        final = stream.get_final_messages()[0].content[0].text.value  # type: ignore[union-attr]
        run = stream.get_final_run()
    assert run.status == "completed" and len(deltas) >= 3 and "".join(deltas) == final


@pytest.mark.real_model
@pytest.mark.slow
def test_seed_and_stop_reach_the_real_model(llama_server: EmbeddedServer) -> None:
    client = sdk(llama_server.base_url)

    def ask(**options: object) -> str:
        done = client.chat.completions.create(model="smollm2-135m-instruct", max_tokens=40,  # type: ignore[call-overload]
                                              messages=plato_thread(), temperature=1.0, **options)
        return str(done.choices[0].message.content)

    assert ask(seed=11) == ask(seed=11)  # the same seed, the same reply, even at temperature 1
    assert len({ask(seed=s) for s in (1, 2, 3)}) > 1
    cut = ask(seed=11, stop=[" "])
    assert cut and " " not in cut.strip() and ask(seed=11).startswith(cut)
