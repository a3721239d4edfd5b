"""What the tests share: the real SDK client, servers and apps on loopback, processes that are
always ended (with everything they started).  The browser's settings are in browser.py.

No test module imports another; they all import from here (and the browser tests from browser.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from openai import OpenAI
from openai.types.beta import Thread
from openai.types.beta.threads import Message, Run

from agora import startup
from agora.classroom import Classroom
from agora.client import Backend
from agora.config import Settings
from agora.startup import Embedded
from agora.web.launch import serve
from agora.web.page import AgoraPage

ROOT = Path(__file__).resolve().parent.parent
#: Set for the whole test session; every process the suite starts inherits it (see conftest).
SESSION_MARK = "AGORA_TEST_SESSION_MARK"


def sdk(base_url: str, api_key: str = "unused", **kw: Any) -> OpenAI:
    """The official client, validating every response strictly against the SDK's types."""
    return OpenAI(base_url=base_url, api_key=api_key, max_retries=0, _strict_response_validation=True, **kw)


def free_port() -> int:
    """A loopback port nobody is listening on (for a process that must be started on a known port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60, alive: Callable[[], bool] = lambda: True,
             log: Path | None = None) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` (with the log) if time runs out or ``alive`` fails."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        if not alive() or time.monotonic() > deadline:
            raise AssertionError(f"{what}\n{log.read_text() if log else ''}")
        time.sleep(0.1)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any OpenAI or Agora setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGORA_")) or k == SESSION_MARK}
    env.update(GRADIO_ANALYTICS_ENABLED="False", **extra)
    return env


@contextmanager
def process(args: list[str], up: str, *, env: dict[str, str], log: Path, cwd: Path = ROOT,
            timeout: float = 90) -> Iterator[subprocess.Popen[bytes]]:
    """``python args…`` (this interpreter, never one found on PATH) until ``up`` answers over HTTP.

    It runs in a process group of its own, and the whole group is ended afterwards, so nothing
    it started (a reload watcher's child, say) outlives the test.
    """
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        wait_for(lambda: httpx.get(up, timeout=2).status_code < 500, f"{up} never answered", timeout,
                 alive=lambda: proc.poll() is None, log=log)
        yield proc
    finally:
        end_group(proc)


def end_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(grace)
            os.killpg(proc.pid, 0)  # the leader is gone; is anything of its group left?
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            return


@contextmanager
def server_process(db: Path, port: int, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m agora.server`` on the scripted engine, keeping its data in ``db``."""
    with process(["-m", "agora.server", "--engine", "scripted", "--port", str(port), "--db", str(db), *extra],
                 f"http://127.0.0.1:{port}/health", env=clean_env(), log=db.with_suffix(".log")) as proc:
        yield proc


@contextmanager
def launched_app(workdir: Path, **env: str) -> Iterator[str]:
    """``python app.py`` as a teacher runs it, with no key: the embedded server and SmolLM2."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    environment = clean_env(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1",
                            AGORA_DB=str(workdir / "agora.db"), **env)
    with process(["app.py"], url, env=environment, log=workdir / "app.log"):
        yield url


@dataclass
class RunningApp:
    """The page launched in this process on the scripted engine, and its embedded server."""

    url: str
    demo: AgoraPage

    @property
    def classroom(self) -> Classroom:
        return self.demo.classroom

    @property
    def backend(self) -> Backend:
        return self.classroom.backend

    @property
    def embedded(self) -> Embedded:
        assert isinstance(self.backend.local, Embedded)
        return self.backend.local

    @property
    def server_client(self) -> OpenAI:
        """The SDK pointed at the app's embedded server, to inspect what it holds."""
        return self.backend.client()

    def threads(self) -> list[Thread]:
        assert self.embedded.server is not None
        return self.embedded.server.app.state.store.children("thread", None, Thread)

    def thread_with(self, text: str) -> Thread:
        """The one thread whose messages contain ``text``."""
        found = [t for t in self.threads() if any(text in str(m.content) for m in self.messages(t.id))]
        assert len(found) == 1, f"{len(found)} threads contain {text!r}"
        return found[0]

    def messages(self, thread_id: str) -> list[Message]:
        return list(self.server_client.beta.threads.messages.list(thread_id=thread_id, order="asc"))

    def runs(self, thread_id: str) -> list[Run]:
        return list(self.server_client.beta.threads.runs.list(thread_id=thread_id, order="asc"))


@contextmanager
def personas_without_samples() -> Iterator[Path]:
    """The shipped personas without their sample turns, in a folder that is gone afterwards.

    The scripted engine numbers a reply by the user turns it was shown; without samples, the
    first question is turn 1 on every flow.  (Sample turns are tested with the shipped file.)
    """
    entries = yaml.safe_load((ROOT / "personas.yaml").read_text(encoding="utf-8"))
    for entry in entries:
        entry.pop("samples", None)
        for translation in entry.get("translations", {}).values():
            translation.pop("samples", None)
    with tempfile.TemporaryDirectory(prefix="agora-test-") as folder:
        path = Path(folder) / "personas.yaml"
        path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
        yield path


@contextmanager
def running_app(env: dict[str, str] | None = None, port: int | None = None, launch: dict[str, Any] | None = None,
                **server_options: Any) -> Iterator[RunningApp]:
    """The app on the scripted engine, in this process; ``launch``: more options for ``launch``.

    Unless ``env`` names a persona file, the personas are the shipped ones without sample turns.
    """
    with contextlib.ExitStack() as stack:
        env = dict(env or {})
        if "AGORA_PERSONAS" not in env:
            env["AGORA_PERSONAS"] = str(stack.enter_context(personas_without_samples()))
        settings = Settings.from_env({"AGORA_ENGINE": "scripted", "AGORA_SCRIPTED_DELAY": "0.02",
                                      "AGORA_DB": ":memory:", **env})
        demo = AgoraPage(startup.classroom(settings, **server_options))
        url = serve(demo, quiet=True, server_name="127.0.0.1", server_port=port, **(launch or {}))
        try:
            yield RunningApp(url, demo)
        finally:
            demo.close()
            demo.classroom.backend.close()


READINGS = ROOT / "tests" / "readings"
#: A question answered only in ``varnholm.md`` (an invented city; no model knows it).
SALT_QUESTION = "What must a citizen who lies about the salt harvest do?"
SALT_PASSAGE = "must plant one silver birch on the Hill of Gulls for every sack misreported"


@contextmanager
def personas_with_readings(*persona_ids: str) -> Iterator[Path]:
    """The shipped personas (no sample turns) where ``persona_ids`` list the test readings, which
    lie beside the file, as a teacher would put them; the folder is gone afterwards."""
    with personas_without_samples() as path:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entry in entries:
            if entry["id"] in persona_ids:
                entry["readings"] = ["varnholm.md", "harbour-notes.txt"]
        path.write_text(yaml.safe_dump(entries, allow_unicode=True, sort_keys=False), encoding="utf-8")
        for reading in READINGS.iterdir():
            (path.parent / reading.name).write_bytes(reading.read_bytes())
        yield path
