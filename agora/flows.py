"""Chat flows: each turns one API's streaming events into text deltas.

The Gradio function accumulates the deltas; a flow only knows its API.  All
per-conversation state (thread id, conversation id, …) lives in the
:class:`Conversation` the caller passes in, which belongs to one browser session.
"""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import openai
from openai import AssistantEventHandler
from openai.types.beta import AssistantStreamEvent
from openai.types.beta.threads import Run
from typing_extensions import override

from .backend import Backend
from .custom import message_text
from .personas import Persona

log = logging.getLogger(__name__)


#: Why a reply ended early; each names a notice in :data:`agora.failures.NOTICES`.
EndKind = Literal["tool", "expired", "failed", "cut", "error"]


class FlowError(RuntimeError):
    """The reply could not be completed; ``kind`` names its notice (see :mod:`agora.failures`)."""

    def __init__(self, kind: EndKind, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail = kind, detail


@dataclass
class Conversation:
    """One session's conversation with one persona, as the backend knows it."""

    persona_id: str
    history_offset: int = 0                   # chat history before this conversation began
    thread_id: str | None = None              # assistants
    conversation_id: str | None = None        # responses, with Conversations
    previous_response_id: str | None = None   # responses, chained
    responses_mode: str = "conversation"      # conversation → chain → history, as the server allows


def given(**options: Any) -> dict[str, Any]:
    """The options that are set (a persona without ``temperature`` sends none)."""
    return {k: v for k, v in options.items() if v is not None}


class Flow(ABC):
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


class AssistantsFlow(Flow):
    """A thread per conversation; each turn is a streaming run read through ``text_deltas``."""

    name = "assistants"

    def _open(self, client: openai.OpenAI, conv: Conversation, persona: Persona, message: str,
              handler: ReplyHandler) -> Any:
        """One request per turn: create-and-run on the first, a run with the new message after."""
        options = given(model=self.backend.model_for(persona), temperature=persona.temperature,
                        max_completion_tokens=self.backend.settings.max_output_tokens)
        assistant_id = self.backend.assistant_id(persona)
        question: Any = {"role": "user", "content": message}
        if conv.thread_id is None:
            return client.beta.threads.create_and_run_stream(  # type: ignore[call-overload]
                assistant_id=assistant_id, event_handler=handler, **options,
                thread={"messages": [question], "metadata": {"agora_persona": persona.id}})
        return client.beta.threads.runs.stream(thread_id=conv.thread_id, assistant_id=assistant_id,
                                               additional_messages=[question], event_handler=handler, **options)

    def _cancel_active(self, client: openai.OpenAI, thread_id: str) -> None:
        """Cancel a run left over from an interrupted turn, so the thread takes messages again."""
        for run in client.beta.threads.runs.list(thread_id=thread_id, limit=5):
            if run.status in ACTIVE_RUN:
                client.beta.threads.runs.cancel(run_id=run.id, thread_id=thread_id)

    def stream(self, conv: Conversation, persona: Persona, message: str,
               history: list[dict[str, Any]]) -> Iterator[str]:
        client = self.backend.client()
        handler = ReplyHandler()
        with contextlib.ExitStack() as stack:
            try:
                stream = stack.enter_context(self._open(client, conv, persona, message, handler))
            except (openai.BadRequestError, openai.NotFoundError) as exc:
                if conv.thread_id is None or not ("active run" in str(exc) or exc.status_code == 404):
                    raise
                if exc.status_code == 404:  # a thread restored from the browser that the server no longer has
                    conv.thread_id = None
                else:  # a run left over from an interrupted turn
                    self._cancel_active(client, conv.thread_id)
                handler = ReplyHandler()
                stream = stack.enter_context(self._open(client, conv, persona, message, handler))
            finished = False
            try:
                for delta in stream.text_deltas:
                    if conv.thread_id is None and handler.run is not None:
                        conv.thread_id = handler.run.thread_id  # known before the first word is shown
                    yield delta
                finished = True
            finally:
                run = handler.run
                if run is not None and conv.thread_id is None:
                    conv.thread_id = run.thread_id
                if not finished and run is not None and run.status in ACTIVE_RUN:
                    # Stopped mid-reply: cancel on the server so the next message works at once.
                    try:
                        client.beta.threads.runs.cancel(run_id=run.id, thread_id=run.thread_id)
                    except openai.OpenAIError as exc:
                        log.warning("could not cancel run %s: %s", run.id, exc)
        run = handler.run
        if run is not None and run.status == "requires_action":
            client.beta.threads.runs.cancel(run_id=run.id, thread_id=run.thread_id)
            raise FlowError("tool")
        if run is not None and run.status == "expired":
            raise FlowError("expired")
        if run is not None and run.status == "failed":
            reason = run.last_error.message if run.last_error else "unknown error"
            raise FlowError("failed", reason)
        if run is not None and run.status == "incomplete":
            raise FlowError("cut")


NOTICE = "⚠️ "
STOPPED = "\n\n⏹ "  # then "*Stopped.*" in the student's language


def plain_history(history: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Gradio 6 messages (content lists) → plain ``{role, content}`` text messages.

    Agora's own notices are not conversation: a turn that only got a notice (refused, or failed
    before any text) is left out with its question, and a notice after partial text is cut off.
    """
    plain: list[dict[str, str]] = []
    for msg in history:
        content = message_text(msg.get("content"))
        if msg.get("role") not in ("user", "assistant") or not content.strip():
            continue
        if msg["role"] == "assistant" and content.startswith(NOTICE):
            if plain and plain[-1]["role"] == "user":
                plain.pop()
            continue
        content = content.split("\n\n" + NOTICE)[0].split(STOPPED)[0]
        plain.append({"role": msg["role"], "content": content})
    return plain


class ResponsesFlow(Flow):
    """Responses API; history in a server-side Conversation, else chained, else sent along."""

    name = "responses"

    def _begin(self, client: openai.OpenAI, conv: Conversation, persona: Persona) -> None:
        if conv.responses_mode == "conversation" and conv.conversation_id is None:
            try:
                conv.conversation_id = client.conversations.create(metadata={"agora_persona": persona.id}).id
            except (openai.NotFoundError, openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                log.info("no Conversations on this server (%s); chaining responses instead", exc.status_code)
                conv.responses_mode = "chain"

    def stream(self, conv: Conversation, persona: Persona, message: str,
               history: list[dict[str, Any]]) -> Iterator[str]:
        client = self.backend.client()
        self._begin(client, conv, persona)
        base = given(model=self.backend.model_for(persona), instructions=persona.instructions,
                     temperature=persona.temperature, max_output_tokens=self.backend.settings.max_output_tokens)
        if conv.responses_mode == "conversation":
            base["conversation"] = conv.conversation_id
            base["input"] = message
        elif conv.responses_mode == "chain":
            base["input"] = message
            if conv.previous_response_id:
                base["previous_response_id"] = conv.previous_response_id
        else:
            base["input"] = [*plain_history(history[conv.history_offset:]), {"role": "user", "content": message}]
        try:
            yield from self._stream(client, conv, base)
        except (openai.NotFoundError, openai.BadRequestError) as exc:
            if conv.responses_mode != "chain" or "previous_response_id" not in base:
                raise
            log.info("server cannot chain responses (%s); sending the history instead", exc.status_code)
            conv.responses_mode = "history"
            base.pop("previous_response_id")
            base["input"] = [*plain_history(history[conv.history_offset:]), {"role": "user", "content": message}]
            yield from self._stream(client, conv, base)

    def _stream(self, client: openai.OpenAI, conv: Conversation, kwargs: dict[str, Any]) -> Iterator[str]:
        with client.responses.stream(**kwargs) as stream:
            for event in stream:
                if event.type == "response.created":
                    conv.previous_response_id = event.response.id
                elif event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type == "response.failed":
                    error = event.response.error
                    raise FlowError("failed", error.message if error else "unknown error")
                elif event.type == "response.incomplete":
                    raise FlowError("cut")
                elif event.type == "error":
                    raise FlowError("error", event.message)


class ChatCompletionsFlow(Flow):
    """Chat Completions: the persona's instructions as system message, the session's history after it."""

    name = "chat"

    def stream(self, conv: Conversation, persona: Persona, message: str,
               history: list[dict[str, Any]]) -> Iterator[str]:
        client = self.backend.client()
        messages = [{"role": "system", "content": persona.instructions},
                    *plain_history(history[conv.history_offset:]), {"role": "user", "content": message}]
        chunks = client.chat.completions.create(  # type: ignore[call-overload]
            messages=messages, stream=True, stream_options={"include_usage": True},  # type: ignore[arg-type]
            **given(model=self.backend.model_for(persona), temperature=persona.temperature,
                    max_tokens=self.backend.settings.max_output_tokens))
        with chunks:
            finish = None
            for chunk in chunks:
                if chunk.choices:
                    choice = chunk.choices[0]
                    if choice.delta.content:
                        yield choice.delta.content
                    finish = choice.finish_reason or finish
        if finish == "length":
            raise FlowError("cut")


FLOWS: dict[str, type[Flow]] = {f.name: f for f in (AssistantsFlow, ResponsesFlow, ChatCompletionsFlow)}


def make_flow(backend: Backend) -> Flow:
    return FLOWS[backend.api](backend)
