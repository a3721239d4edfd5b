"""A whole class at once on the real model: the batched engine through the embedded server,
driven over loopback HTTP by the openai SDK."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from openai import OpenAI

from agora.personas import load_personas
from agora.server import EmbeddedServer
from agora.server.engines import BatchedEngine, LlamaEngine
from agora.server.engines.base import Generation
from agora.server.engines.batched import Reply, Step
from tests.support import sdk, wait_for

MODEL = "smollm2-135m-instruct"
QUESTIONS = ("What is virtue?", "Is it ever right to lie?", "What is justice?", "Who are you?",
             "Can virtue be taught?", "What is a good life?", "Should we fear death?", "What is friendship?")


def class_of_eight() -> list[list[Any]]:
    personas = load_personas()
    return [[{"role": "system", "content": personas[i % len(personas)].instructions},
             {"role": "user", "content": question}] for i, question in enumerate(QUESTIONS)]


def reply(client: OpenAI, messages: list[Any], max_tokens: int = 30, pieces: list[str] | None = None) -> str:
    """A greedy streamed reply, piece by piece into ``pieces`` as it comes."""
    pieces = [] if pieces is None else pieces
    stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True, temperature=0,
                                            max_tokens=max_tokens)
    with stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    return "".join(pieces)


@pytest.fixture
def steps(llama_server: EmbeddedServer) -> Iterator[list[Step]]:
    engine = llama_server.engine
    assert isinstance(engine, BatchedEngine)
    recorded: list[Step] = []
    engine.on_step.append(recorded.append)
    yield recorded
    engine.on_step.remove(recorded.append)


@pytest.mark.real_model
@pytest.mark.slow
def test_eight_greedy_streams_together_match_their_lone_runs(llama_server: EmbeddedServer,
                                                            steps: list[Step]) -> None:
    client = sdk(llama_server.base_url, timeout=300)
    prompts = class_of_eight()
    alone = [reply(client, messages) for messages in prompts]
    assert max(len(s.decoded) for s in steps) == 1
    assert sum(s.moved for s in steps) == 0  # each read and replied on stream 0
    steps.clear()
    together: list[str] = [""] * 8
    start = threading.Barrier(8)

    def student(i: int) -> None:
        start.wait()
        together[i] = reply(client, prompts[i])

    students = [threading.Thread(target=student, args=(i,)) for i in range(8)]
    for s in students:
        s.start()
    for s in students:
        s.join(300)
    assert max(len(s.decoded) for s in steps) == 8  # all eight decoded in one step
    same = sum(a == b for a, b in zip(alone, together))
    print(f"{same} of 8 greedy replies identical together and alone")
    assert same >= 7, list(zip(alone, together))
    assert all(len(text) > 20 for text in together)


class Streams:
    """Stands in for the llama.cpp context in the scheduler's bookkeeping: records each move."""

    def __init__(self) -> None:
        self.moves: list[tuple[int, int]] = []

    def move(self, seq: Reply, target: int) -> None:
        self.moves.append((seq.seq_id, target))
        seq.seq_id = target


def sequence(seq_id: int, replying: bool) -> Reply:
    seq = Reply(Generation(messages=[]), [1, 2, 3], 10, seq_id=seq_id, fed=3 if replying else 0)
    seq.generated += [7] if replying else []
    return seq


def test_replies_under_way_are_kept_on_consecutive_streams() -> None:
    """llama.cpp passes over the weights once per run of consecutive stream ids."""
    # Streams 0..7: the reply on 0 has ended; replies on 1, 4, 6, 7; prompts being read on 2, 3.
    active = [sequence(1, True), sequence(2, False), sequence(3, False), sequence(4, True), sequence(6, True),
              sequence(7, True)]
    free, streams = [0, 5], Streams()
    moved = BatchedEngine._compact(streams, active, free)  # type: ignore[arg-type]
    replies = sorted(s.seq_id for s in active if s.generated)
    readers = sorted(s.seq_id for s in active if not s.generated)
    assert replies == [0, 1, 2, 3] and min(readers) >= 4
    assert sorted(free + replies + readers) == list(range(8)) and moved == len(streams.moves) == 5
    # A full batch: a prompt being read in the gap has nowhere to go, and nothing moves.
    active, streams = [sequence(0, True), sequence(1, False), sequence(2, False), sequence(3, True)], Streams()
    assert BatchedEngine._compact(streams, active, []) == 0 and streams.moves == []  # type: ignore[arg-type]


@pytest.mark.real_model
@pytest.mark.slow
def test_a_greedy_reply_is_the_serial_engines_reply(llama_server: EmbeddedServer) -> None:
    client = sdk(llama_server.base_url, timeout=300)
    messages = class_of_eight()[0]
    with EmbeddedServer(LlamaEngine()) as serial:
        assert reply(sdk(serial.base_url, timeout=300), messages, 40) == reply(client, messages, 40)


@pytest.mark.real_model
@pytest.mark.slow
def test_a_long_prompt_is_read_in_chunks_while_the_others_stream(llama_server: EmbeddedServer,
                                                                steps: list[Step]) -> None:
    engine = llama_server.engine
    assert isinstance(engine, BatchedEngine)
    client = sdk(llama_server.base_url, timeout=300)
    pieces: list[str] = []
    first = threading.Thread(target=reply, args=(client, class_of_eight()[1], 150, pieces))
    first.start()
    wait_for(lambda: len(pieces) >= 3, "the first reply streaming")
    streaming = steps[-1].decoded
    long = "A note on Stoic exercises, read slowly. " * 60  # about 600 tokens: more than two chunks
    second = reply(client, [{"role": "system", "content": long}, {"role": "user", "content": "Summarise the note."}], 10)
    first.join(300)
    reading = [s for s in steps if set(s.read) - set(streaming)]
    assert len(reading) >= 3 and all(n <= engine.chunk for s in reading for n in s.read.values())
    # Every step that read part of the long prompt also gave the first reply its next token.
    assert all(set(streaming) <= set(s.decoded) for s in reading), reading
    assert second and len("".join(pieces)) > 100


@pytest.mark.real_model
@pytest.mark.slow
def test_stop_frees_a_place_and_the_others_finish() -> None:
    engine = BatchedEngine(batch=2)
    with EmbeddedServer(engine) as server:
        client = sdk(server.base_url, timeout=300)
        prompts = class_of_eight()
        received: dict[str, list[str]] = {"a": [], "b": [], "c": []}
        done: dict[str, str] = {}
        stop_a = threading.Event()

        def student(name: str, messages: list[Any], tokens: int) -> None:
            stream = client.chat.completions.create(model=MODEL, messages=messages, stream=True, temperature=0,
                                                    max_tokens=tokens)
            with stream:
                for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        received[name].append(chunk.choices[0].delta.content)
                    if chunk.choices and chunk.choices[0].finish_reason:
                        done[name] = chunk.choices[0].finish_reason
                    if name == "a" and stop_a.is_set():
                        return  # the student pressed Stop: the stream closes mid-reply

        a = threading.Thread(target=student, args=("a", prompts[0], 400))
        b = threading.Thread(target=student, args=("b", prompts[1], 60))
        a.start()
        b.start()
        wait_for(lambda: len(received["a"]) >= 3 and len(received["b"]) >= 3, "two replies streaming")
        c = threading.Thread(target=student, args=("c", prompts[2], 30))
        c.start()
        wait_for(lambda: engine.waiting == 1, "the third student waiting for a place")
        assert not received["c"]
        stop_a.set()
        started = time.monotonic()
        wait_for(lambda: len(received["c"]) >= 1, "the third reply starting in the freed place", timeout=30)
        print(f"third reply started {time.monotonic() - started:.2f} s after the Stop")
        for t in (a, b, c):
            t.join(300)
        assert set(done) == {"b", "c"}  # both finished (at their cap or on their own)
        assert len(received["a"]) < 400 and engine.waiting == 0
