"""Chat flows: each turns one API's streaming events into text deltas.

The Gradio function accumulates the deltas; a flow only knows its API.  All
per-conversation state (thread id, conversation id, …) lives in the
:class:`Conversation` the caller passes in, which belongs to one browser session.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import openai
from openai import AssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Run
from typing_extensions import override

from .backend import Backend
from .personas import Persona

log = logging.getLogger(__name__)


class FlowError(RuntimeError):
    """The reply could not be completed; the message is safe to show to a student."""


@dataclass
class Conversation:
    """One session's conversation with one persona, as the backend knows it."""

    persona_id: str
    thread_id: str | None = None


class ChatFlow(ABC):
    name: ClassVar[str]

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @abstractmethod
    def stream(self, conv: Conversation, persona: Persona, message: str,
               history: list[dict[str, Any]]) -> Iterator[str]:
        """Yield the reply's text deltas; raise :class:`FlowError` if it cannot finish."""


class ReplyHandler(AssistantEventHandler):
    """One per run: remembers the run, so Stop can cancel it and failures can be told."""

    def __init__(self) -> None:
        super().__init__()
        self.run: Run | None = None

    @override
    def on_event(self, event: AssistantStreamEvent) -> None:
        if event.event.startswith("thread.run.") and not event.event.startswith("thread.run.step"):
            self.run = event.data  # type: ignore[assignment]


ACTIVE_RUN = ("queued", "in_progress", "requires_action", "cancelling")


class AssistantsFlow(ChatFlow):
    """A thread per conversation; each turn is a streaming run read through ``text_deltas``."""

    name = "assistants"

    def _add_message(self, client: openai.OpenAI, thread_id: str, message: str) -> None:
        try:
            client.beta.threads.messages.create(thread_id=thread_id, role="user", content=message)
        except openai.BadRequestError as exc:
            if "is active" not in str(exc):
                raise
            # A run left over from an interrupted turn: cancel it, then add the message.
            for run in client.beta.threads.runs.list(thread_id=thread_id, limit=5):
                if run.status in ACTIVE_RUN:
                    client.beta.threads.runs.cancel(run_id=run.id, thread_id=thread_id)
            client.beta.threads.messages.create(thread_id=thread_id, role="user", content=message)

    def stream(self, conv: Conversation, persona: Persona, message: str,
               history: list[dict[str, Any]]) -> Iterator[str]:
        client = self.backend.client()
        assistant_id = self.backend.assistant_id(persona)
        if conv.thread_id is None:
            conv.thread_id = client.beta.threads.create(metadata={"agora_persona": persona.id}).id
        self._add_message(client, conv.thread_id, message)
        handler = ReplyHandler()
        with client.beta.threads.runs.stream(
                thread_id=conv.thread_id, assistant_id=assistant_id, event_handler=handler,
                model=self.backend.model_for(persona), temperature=persona.temperature,
                max_completion_tokens=self.backend.settings.max_output_tokens) as stream:
            finished = False
            try:
                yield from stream.text_deltas
                finished = True
            finally:
                run = handler.run
                if not finished and run is not None and run.status in ACTIVE_RUN:
                    # Stopped mid-reply: cancel on the server so the next message works at once.
                    try:
                        client.beta.threads.runs.cancel(run_id=run.id, thread_id=conv.thread_id)
                    except openai.OpenAIError as exc:
                        log.warning("could not cancel run %s: %s", run.id, exc)
        run = handler.run
        if run is not None and run.status == "failed":
            reason = run.last_error.message if run.last_error else "unknown error"
            raise FlowError(f"The reply failed on the server ({reason}).")
        if run is not None and run.status == "incomplete":
            raise FlowError("The reply was cut at the token limit.")


FLOWS: dict[str, type[ChatFlow]] = {AssistantsFlow.name: AssistantsFlow}


def make_flow(backend: Backend) -> ChatFlow:
    return FLOWS[backend.api](backend)
