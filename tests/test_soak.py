"""Soak: 64 sessions at once through the app; no crossed streams, no errors, nothing lost or added.

Short in CI; longer with ``python -m pytest tests/test_soak.py --soak-turns 20``.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from openai.types.beta import Thread

from tests.support import running_app

pytestmark = pytest.mark.slow

SESSIONS = 64


def test_64_concurrent_sessions(request: pytest.FixtureRequest) -> None:
    turns: int = request.config.getoption("--soak-turns")
    errors: list[str] = []
    lock = threading.Lock()
    with running_app({"AGORA_SCRIPTED_DELAY": "0.01"}) as agora:
        def session(n: int) -> str:
            nonce = uuid.uuid4().hex
            client = Client(agora.url, verbose=False)
            for turn in range(1, turns + 1):
                reply = client.predict(f"{nonce} turn {turn} [[pieces=20]]", "socrates", api_name="/chat")
                expected = f"[turn {turn}] You asked: {nonce} turn {turn}"
                if not reply.startswith(expected):
                    with lock:
                        errors.append(f"session {n} turn {turn}: {reply[:80]!r}")
            return nonce

        with ThreadPoolExecutor(SESSIONS) as pool:
            nonces = list(pool.map(session, range(SESSIONS)))
        assert errors == []
        store = agora.embedded.server.app.state.store  # type: ignore[union-attr]
        threads = store.children("thread", None, Thread)
        assert len(threads) == SESSIONS
        for thread in threads:
            messages = agora.messages(thread.id)
            assert len(messages) == 2 * turns
            owner = messages[0].content[0].text.value.split()[0]  # type: ignore[union-attr]
            assert owner in nonces
            assert all(owner in m.content[0].text.value for m in messages)  # type: ignore[union-attr]
        assert sorted(m.content[0].text.value.split()[0] for t in threads  # type: ignore[union-attr]
                      for m in agora.messages(t.id)[:1]) == sorted(nonces)
