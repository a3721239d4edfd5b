"""Launch the real app (on the scripted engine) and talk to it as a browser would."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import gradio as gr
from openai import OpenAI
from openai.types.beta import Thread
from openai.types.beta.threads import Message, Run

import app
from agora.backend import Backend
from agora.settings import Settings


@dataclass
class RunningApp:
    url: str
    demo: gr.Blocks
    backend: Backend

    @property
    def server_client(self) -> OpenAI:
        """The SDK pointed at the app's embedded server, to inspect what it holds."""
        return self.backend.client()

    def threads(self) -> list[Thread]:
        assert self.backend.server is not None
        return self.backend.server.app.state.store.children("thread", None, Thread)

    def thread_with(self, text: str) -> Thread:
        """The one thread whose messages contain ``text``."""
        found = [t for t in self.threads()
                 if any(text in str(m.content) for m in self.server_client.beta.threads.messages.list(thread_id=t.id))]
        assert len(found) == 1, f"{len(found)} threads contain {text!r}"
        return found[0]

    def messages(self, thread_id: str) -> list[Message]:
        return list(self.server_client.beta.threads.messages.list(thread_id=thread_id, order="asc"))

    def runs(self, thread_id: str) -> list[Run]:
        return list(self.server_client.beta.threads.runs.list(thread_id=thread_id, order="asc"))

    def wait_run_status(self, thread_id: str, status: str, timeout: float = 5) -> Run:
        deadline = time.monotonic() + timeout
        while True:
            run = self.runs(thread_id)[-1]
            if run.status == status or time.monotonic() > deadline:
                return run
            time.sleep(0.02)


def free_port() -> int:
    """A loopback port nobody is listening on (for a process that must be started on a known port)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_app(env: dict[str, str] | None = None, port: int | None = None) -> Iterator[RunningApp]:
    settings = Settings.from_env({"AGORA_ENGINE": "scripted", "AGORA_SCRIPTED_DELAY": "0.02", "AGORA_DB": ":memory:",
                                    **(env or {})})
    backend = Backend(settings)
    demo = app.build_demo(settings, backend)
    url = app.serve(demo, quiet=True, server_name="127.0.0.1", server_port=port)
    try:
        yield RunningApp(url, demo, backend)
    finally:
        demo.close()
        backend.close()
