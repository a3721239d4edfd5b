"""`python app.py` with no key: the embedded server and the real SmolLM2 model answer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGORA_"))}
    env.update(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False",
               AGORA_MAX_OUTPUT_TOKENS="48", AGORA_DB=str(tmp_path_factory.mktemp("db") / "agora.db"))
    log = tmp_path_factory.mktemp("app") / "app.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def test_plato_answers_from_smollm2_streaming(app_process: str) -> None:
    page = httpx.get(app_process, timeout=10).text
    assert "Agora" in page
    job = Client(app_process, verbose=False).submit("What is philosophy?", "plato", api_name="/chat")
    updates = [text for text in job]
    assert len(updates) >= 5
    assert all(len(b) > len(a) and b.startswith(a) for a, b in zip(updates, updates[1:]))
    reply, _, notice = updates[-1].partition("\n\n⚠️")
    assert reply.strip()
    assert notice in ("", " The reply was cut at the token limit.")  # 48 tokens may end mid-sentence
    config = httpx.get(app_process + "config", timeout=10).text
    assert "smollm2-135m-instruct" in config and "embedded server (llama engine)" in config
