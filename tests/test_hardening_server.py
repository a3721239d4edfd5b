"""What an adversarial probe broke in the embedded server, each driven over real loopback HTTP:
races on a thread, requests nobody waits for, huge and malformed bodies, stopping, broken files."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest
from openai.types.beta.threads import Message, Run

from agora.server import EmbeddedServer
from agora.server.engines import ScriptedEngine
from agora.server.limits import MAX_BODY
from agora.server.runs import STOPPED
from agora.server.store import SqliteStore
from tests.support import ROOT, clean_env, free_port, sdk, server_process, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    """On SQLite, as the app runs it (its slower writes widen every race)."""
    store = SqliteStore(tmp_path / "agora.db")
    with EmbeddedServer(ScriptedEngine(), store=store) as srv:
        yield srv
    store.close()


def is_openai_error(response: httpx.Response, status: int | None = None) -> bool:
    """An error as OpenAI sends it: a 4xx/5xx with ``{"error": {"message": ...}}`` as JSON."""
    if status is not None and response.status_code != status:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    return response.status_code >= 400 and isinstance(body.get("error", {}).get("message"), str)


def health(base_url: str) -> dict[str, object]:
    return httpx.get(base_url.removesuffix("/v1") + "/health", timeout=5).json()


# ------------------------------------------------------------------ one active run per thread


@pytest.mark.slow
def test_parallel_run_creation_accepts_exactly_one(server: EmbeddedServer) -> None:
    client = sdk(server.base_url)
    asst = client.beta.assistants.create(model="scripted")
    for _ in range(20):
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "hold on [[hang=0]]"}])
        start = threading.Barrier(10)

        def create(_: int, thread_id: str = thread.id) -> int:
            start.wait()
            return httpx.post(f"{server.base_url}/threads/{thread_id}/runs", json={"assistant_id": asst.id}).status_code

        with ThreadPoolExecutor(10) as pool:
            codes = sorted(pool.map(create, range(10)))
        assert codes == [200] + [400] * 9
        runs = client.beta.threads.runs.list(thread_id=thread.id).data
        assert len(runs) == 1
        client.beta.threads.runs.cancel(runs[0].id, thread_id=thread.id)


def test_an_active_run_refuses_runs_and_messages_in_parallel(server: EmbeddedServer) -> None:
    client = sdk(server.base_url)
    asst = client.beta.assistants.create(model="scripted")
    run = client.beta.threads.create_and_run(assistant_id=asst.id, thread={
        "messages": [{"role": "user", "content": "hold on [[hang=0]]"}]})
    url = f"{server.base_url}/threads/{run.thread_id}"
    start = threading.Barrier(10)

    def write(i: int) -> httpx.Response:
        start.wait()
        if i % 2:
            return httpx.post(f"{url}/runs", json={"assistant_id": asst.id})
        return httpx.post(f"{url}/messages", json={"role": "user", "content": f"sneaked in {i}"})

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(write, range(10)))
    assert all(is_openai_error(a, 400) for a in answers), [a.text for a in answers]
    assert [m.role for m in client.beta.threads.messages.list(thread_id=run.thread_id).data] == ["assistant", "user"]
    client.beta.threads.runs.cancel(run.id, thread_id=run.thread_id)


# ------------------------------------------------------------------ requests nobody waits for


@pytest.mark.slow
def test_health_answers_while_fifty_requests_hang_and_they_end_when_their_clients_leave(
        server: EmbeddedServer) -> None:
    def hang(i: int) -> None:
        body = ({"model": "scripted", "messages": [{"role": "user", "content": "[[hang=0]]"}]} if i % 2 else
                {"model": "scripted", "input": "[[hang=0]]"})
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{server.base_url}/{'chat/completions' if i % 2 else 'responses'}", json=body, timeout=4)

    with ThreadPoolExecutor(50) as pool:
        waiting = [pool.submit(hang, i) for i in range(50)]
        wait_for(lambda: health(server.base_url)["active_requests"] == 50, "50 requests never all started", 10)
        began = time.perf_counter()
        assert health(server.base_url)["status"] == "ok"
        assert time.perf_counter() - began < 1.0
        for future in waiting:
            future.result()  # each client gave up waiting (a read timeout) and closed its connection
    # Nobody waits for those replies any more: the server stops generating them.
    wait_for(lambda: health(server.base_url)["active_requests"] == 0, "abandoned requests kept generating", 5)


def test_every_reply_has_a_deadline() -> None:
    with EmbeddedServer(ScriptedEngine(), request_seconds=1.0) as srv:
        client = sdk(srv.base_url, timeout=10)
        began = time.perf_counter()
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "[[hang=2]]"}])
        assert refused.value.status_code == 504 and "limit of 1 s" in refused.value.message
        assert time.perf_counter() - began < 3
        with pytest.raises(openai.APIError, match="limit of 1 s"):
            for _ in client.chat.completions.create(model="scripted", stream=True,
                                                    messages=[{"role": "user", "content": "[[hang=2]]"}]):
                pass
        response = client.responses.create(model="scripted", input="[[hang=2]]")
        assert response.status == "failed" and response.error is not None and "limit of 1 s" in response.error.message
        assert health(srv.base_url)["active_requests"] == 0


# ------------------------------------------------------------------ bodies: size, time, encoding


def test_bodies_over_the_limit_get_413(server: EmbeddedServer) -> None:
    big = "x" * MAX_BODY
    declared = httpx.post(f"{server.base_url}/chat/completions",
                          json={"model": "m", "messages": [{"role": "user", "content": big}]})
    assert is_openai_error(declared, 413) and str(MAX_BODY) in declared.json()["error"]["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"y" * 65536
        yield b'"}]}'

    streamed = httpx.post(f"{server.base_url}/threads", content=chunks(), headers={"content-type": "application/json"})
    assert is_openai_error(streamed, 413)
    assert sdk(server.base_url).beta.threads.create().id  # and the server goes on


def test_a_body_that_never_arrives_gets_408() -> None:
    with EmbeddedServer(ScriptedEngine(), body_seconds=1.0) as srv:
        host, port = srv.base_url.removeprefix("http://").split("/")[0].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"POST /v1/threads HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{\"messages\":")
            began = time.perf_counter()
            answer = b"".join(iter(lambda: sock.recv(4096), b"")).decode()  # to the end: headers and body may part
        assert answer.startswith("HTTP/1.1 408") and '"request_timeout"' in answer
        assert time.perf_counter() - began < 3


@pytest.mark.parametrize("path, body", [
    ("/chat/completions", '{"model": "m", "messages": [{"role": "user", "content": "\\ud800"}]}'),
    ("/threads", '{"messages": [{"role": "user", "content": "a\\udfffb"}]}'),
    ("/responses", '{"model": "m", "input": "\\ud83d"}'),
    ("/conversations", '{"items": [{"role": "user", "content": "\\udc00\\ud800"}]}'),
    ("/responses", '{"model": "m", "input": [{"role": "user", "content": ["a"]}]}'),
    ("/responses", '{"model": "m", "input": [{"role": "user", "content": [null]}]}'),
    ("/chat/completions", '{"model": "m", "messages": [{"role": "user", "content": ["a"]}]}'),
    ("/chat/completions", '{"model": "m", "messages": [{"role": "user", "content": [{"type": "text"}]}]}'),
    ("/chat/completions", '[1, 2]'),
    ("/chat/completions", '{"model": "m", "messages": '),
    ("/threads", '"text"'),
])
def test_malformed_requests_get_openai_shaped_4xx(server: EmbeddedServer, path: str, body: str) -> None:
    answer = httpx.post(server.base_url + path, content=body.encode(), headers={"content-type": "application/json"})
    assert 400 <= answer.status_code < 500 and is_openai_error(answer), (answer.status_code, answer.text)


def test_surrogate_pairs_are_welcome(server: EmbeddedServer) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "Socrates 🦉"}]})  # ensure_ascii: \ud83e\udd89
    thread = httpx.post(server.base_url + "/threads", content=body, headers={"content-type": "application/json"})
    assert thread.status_code == 200
    message = sdk(server.base_url).beta.threads.messages.list(thread_id=thread.json()["id"]).data[0]
    assert message.content[0].text.value == "Socrates 🦉"  # type: ignore[union-attr]


def test_list_cursors_in_any_combination_never_break(server: EmbeddedServer) -> None:
    client = sdk(server.base_url)
    ids = [client.beta.assistants.create(model="m").id for _ in range(3)]
    for after, before, order in itertools.product([*ids, "asst_unknown"], [*ids, "asst_unknown"], ["asc", "desc"]):
        answer = httpx.get(server.base_url + "/assistants", params={"after": after, "before": before, "order": order})
        assert answer.status_code == 200 or is_openai_error(answer, 400), answer.text


def test_no_schema_or_docs_are_served(tmp_path: Path) -> None:
    with EmbeddedServer(ScriptedEngine(), api_key="k") as srv:
        root = srv.base_url.removesuffix("/v1")
        for path in ("/openapi.json", "/docs", "/redoc"):
            for headers in ({}, {"authorization": "Bearer k"}):
                answer = httpx.get(root + path, headers=headers)
                assert answer.status_code in (401, 404) and "paths" not in answer.text, (path, headers)


# ------------------------------------------------------------------ stopping, and what a crash keeps


def stream_a_while(base_url: str, question: str, seconds: float) -> tuple[str, str, str]:
    """Start a streamed run and read it for ``seconds``; (thread id, run id, text read so far)."""
    client = sdk(base_url)
    asst = client.beta.assistants.create(model="scripted")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    text, began = "", time.monotonic()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        for delta in stream.text_deltas:
            text += delta
            if time.monotonic() - began > seconds:
                break
        run_id = stream.current_run.id  # type: ignore[union-attr]
    return thread.id, run_id, text


def read_back(db: Path, thread_id: str, run_id: str) -> tuple[Run, Message]:
    store = SqliteStore(db)
    try:
        run = store.get("run", run_id, Run)
        reply = [m for m in store.children("message", thread_id, Message) if m.role == "assistant"][0]
    finally:
        store.close()
    assert run is not None
    return run, reply


def reply_text(message: Message) -> str:
    return "".join(block.text.value for block in message.content if block.type == "text")


def test_sigterm_stops_within_five_seconds_and_ends_runs(tmp_path: Path) -> None:
    db, port = tmp_path / "agora.db", free_port()
    with server_process(db, port, "--delay", "0.05") as proc:
        base = f"http://127.0.0.1:{port}/v1"
        client = sdk(base)
        asst = client.beta.assistants.create(model="scripted")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "go on [[pieces=400]]"}])
        events: list[str] = []
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
            for event in stream:
                events.append(event.event)
                if events.count("thread.message.delta") == 20:
                    began = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
            run_id = stream.current_run.id  # type: ignore[union-attr]
        proc.wait(5)
        assert time.monotonic() - began < 5
        assert events[-1] == "thread.run.failed"  # the student's stream ended, saying so
    run, reply = read_back(db, thread.id, run_id)
    assert run.status == "failed" and run.last_error is not None and run.last_error.message == STOPPED
    assert reply.status == "incomplete" and len(reply_text(reply).split()) >= 20


def test_a_killed_server_keeps_the_text_already_streamed(tmp_path: Path) -> None:
    db, port = tmp_path / "agora.db", free_port()
    with server_process(db, port, "--delay", "0.05") as proc:
        thread_id, run_id, streamed = stream_a_while(f"http://127.0.0.1:{port}/v1", "go on [[pieces=400]]", 2.0)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    _, reply = read_back(db, thread_id, run_id)
    kept = reply_text(reply)
    assert streamed.startswith(kept) and len(kept.split()) >= len(streamed.split()) - 25  # at most ~1 s lost


# ------------------------------------------------------------------ broken files


def test_a_file_that_is_not_a_database_gets_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "agora.db"
    bad.write_bytes(os.urandom(4096))
    done = subprocess.run([sys.executable, "-m", "agora.server", "--engine", "scripted", "--db", str(bad),
                           "--port", str(free_port())], cwd=ROOT, env=clean_env(), capture_output=True, timeout=60)
    assert done.returncode != 0
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and str(bad) in lines[0] and "Traceback" not in lines[0], done.stderr.decode()


@pytest.mark.slow
def test_the_app_names_a_broken_database_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "agora.db"
    bad.write_text("these are my notes, not a database\n" * 100)
    done = subprocess.run([sys.executable, "app.py"], cwd=ROOT, capture_output=True, timeout=120,
                          env=clean_env(AGORA_DB=str(bad), AGORA_ENGINE="scripted", GRADIO_SERVER_PORT=str(free_port())))
    assert done.returncode != 0
    last = done.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("agora: ") and str(bad) in last and "Traceback" not in done.stderr.decode()
