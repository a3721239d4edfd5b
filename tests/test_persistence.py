"""The embedded server keeps everything in SQLite: a killed server comes back with every thread intact."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

from openai.types.beta.threads import Message

from agora.classroom.seal import browser_secret
from agora.server.store import SqliteStore
from tests.support import free_port, sdk, server_process


def test_restart_keeps_threads_and_ends_interrupted_runs(tmp_path: Path) -> None:
    db, port = tmp_path / "agora.db", free_port()
    with server_process(db, port) as proc:
        client = sdk(f"http://127.0.0.1:{port}/v1")
        asst = client.beta.assistants.create(model="scripted", instructions="You are Plato.")
        thread = client.beta.threads.create(messages=[{"role": "user", "content": "first"}])
        done = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
        conv = client.conversations.create()
        client.responses.create(model="scripted", input="hello", conversation=conv.id)
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="second [[hang=3]]")
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
            for i, _ in enumerate(stream.text_deltas):
                if i == 2:
                    break
            interrupted = stream.current_run.id  # type: ignore[union-attr]
            os.kill(proc.pid, signal.SIGKILL)  # the process dies mid-run
            proc.wait(10)

    with server_process(db, port):
        client = sdk(f"http://127.0.0.1:{port}/v1")
        messages = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
        assert [m.role for m in messages] == ["user", "assistant", "user", "assistant"]
        assert messages[1].content == client.beta.threads.messages.list(thread_id=thread.id, run_id=done.id).data[0].content
        assert messages[3].status == "incomplete"
        run = client.beta.threads.runs.retrieve(interrupted, thread_id=thread.id)
        assert run.status == "failed" and run.last_error is not None
        assert run.last_error.message == "The server stopped while this run was in progress."
        assert len(client.conversations.items.list(conv.id).data) == 2
        assert client.beta.assistants.retrieve(asst.id).instructions == "You are Plato."
        # The thread is usable again at once.
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="third")
        after = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
        assert after.status == "completed"


def test_concurrent_writers_are_safe(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "w.db")
    other = SqliteStore(tmp_path / "w.db")  # a second connection, as a second process would have

    def write(who: SqliteStore, prefix: str) -> None:
        for i in range(200):
            who.put("message", Message(id=f"{prefix}{i}", object="thread.message", created_at=0, thread_id="t",
                                       role="user", content=[], status="completed"), parent="t")

    workers = [threading.Thread(target=write, args=(s, p)) for s, p in ((store, "a"), (store, "b"), (other, "c"))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    ids = [m.id for m in store.children("message", "t", Message)]
    assert sorted(ids) == sorted(f"{p}{i}" for p in "abc" for i in range(200))
    assert [i for i in ids if i.startswith("a")] == [f"a{i}" for i in range(200)]  # creation order kept


def test_browser_secret_is_kept_beside_the_database(tmp_path: Path) -> None:
    db = str(tmp_path / "data" / "agora.db")
    first = browser_secret(db)
    assert first and browser_secret(db) == first  # the same after a restart
    key_file = tmp_path / "data" / "browser-state.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert key_file.read_text() not in first  # the page gets a key derived from the kept secret, never the secret
    assert browser_secret(str(tmp_path / "other" / "agora.db")) != first
    assert browser_secret(":memory:") is None  # nothing on disk: Gradio's per-start key
