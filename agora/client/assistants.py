"""The Assistants flow: a thread per conversation; each turn is one streaming run, read through
the SDK's event handler (``text_deltas``, ``current_run``, ``get_final_run()``).  A debate is one
thread too, each turn a run of its speaker's assistant on it (the server names the others' words)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import openai
from openai.lib.streaming import AssistantEventHandler, AssistantStreamManager
from openai.types.beta.threads import Message, Run

from ..personas import Persona
from ..shared.api import ACTIVE  # the Assistants API's active run states
from ..shared.citations import without_markers
from .conversation import Conversation
from .endings import ReplyEnded
from .flow import Discussion, Flow, cites, given
from .readings import Reading, Source

log = logging.getLogger(__name__)

#: Seconds to wait for a cancelled run to end before its withheld message is taken off the thread.
WITHDRAW_WAIT = 5.0


class OnThread(Protocol):
    """What keeps a thread: a conversation or a discussion."""

    thread_id: str | None
    run_id: str | None  # the run of the latest reply


class AssistantsFlow(Flow):
    name = "assistants"

    def _open(self, client: openai.OpenAI, conv: Conversation, persona: Persona, message: str,
              store: str | None) -> AssistantStreamManager[Any]:
        """One request per turn: create-and-run on the first, a run with the new message after.
        With readings (``store``), the thread searches that vector store."""
        options = given(model=self.backend.model_for(persona), temperature=persona.temperature,
                        max_completion_tokens=self.backend.settings.max_output_tokens)
        assistant_id = self.backend.assistant_id(persona, file_search=store is not None)
        question: Any = {"role": "user", "content": message}
        resources: Any = {"file_search": {"vector_store_ids": [store] if store else []}}
        if conv.thread_id is None:
            conv.searched_store = store
            return client.beta.threads.create_and_run_stream(  # type: ignore[call-overload, no-any-return]
                assistant_id=assistant_id, **options, **({"tool_resources": resources} if store else {}),
                thread={"messages": [*conv.samples(persona, message), question], "metadata": {"agora_persona": persona.id}})
        if store != conv.searched_store:  # readings added (or the thread came back from the browser)
            client.beta.threads.update(conv.thread_id, tool_resources=resources)
            conv.searched_store = store
        return client.beta.threads.runs.stream(thread_id=conv.thread_id, assistant_id=assistant_id,
                                               additional_messages=[question], **options)

    def _retry_open(self, client: openai.OpenAI, conv: Conversation, persona: Persona, message: str,
                    store: str | None, exc: openai.APIStatusError) -> AssistantStreamManager[Any]:
        """A thread restored from the browser that the server lost, or one a lost turn left busy."""
        if conv.thread_id is None or not (exc.status_code == 404 or "active run" in str(exc)):
            raise exc
        if exc.status_code == 404:
            conv.thread_id = None
        else:
            for run in client.beta.threads.runs.list(thread_id=conv.thread_id, limit=5):
                if run.status in ACTIVE:
                    client.beta.threads.runs.cancel(run_id=run.id, thread_id=conv.thread_id)
        return self._open(client, conv, persona, message, store)

    def stream(self, conv: Conversation, persona: Persona, message: str,
               readings: Sequence[Reading] = ()) -> Iterator[str]:
        client = self.backend.client()
        store = self.backend.shelf.vector_store(client, list(readings)) if readings else None
        with contextlib.ExitStack() as stack:  # leaving it closes the HTTP stream
            try:
                run_stream = stack.enter_context(self._open(client, conv, persona, message, store))
            except (openai.BadRequestError, openai.NotFoundError) as exc:
                run_stream = stack.enter_context(self._retry_open(client, conv, persona, message, store, exc))
            yield from self._relay(client, run_stream, conv)
        if store is not None:
            cites(conv, self._sources(client, run_stream.get_final_messages()))
        self._check(client, run_stream.get_final_run())

    def turn(self, persona: Persona, rules: str, discussion: Discussion) -> Iterator[str]:
        """A run of the speaker's assistant on the discussion's thread, with ``rules`` as additional
        instructions and the class's words since the last turn.  A discussion without a thread (new,
        or restored from the browser) gets one with everything said so far."""
        client = self.backend.client()
        pending: Any = discussion.unheard()
        if discussion.thread_id is None:
            discussion.thread_id = client.beta.threads.create(
                messages=discussion.seen_by(None), metadata={"agora_debate": "1"}).id  # type: ignore[arg-type]
            pending = []
        options = given(model=self.backend.model_for(persona), temperature=persona.temperature,
                        max_completion_tokens=self.backend.settings.max_output_tokens)
        with client.beta.threads.runs.stream(thread_id=discussion.thread_id, additional_instructions=rules,
                                             assistant_id=self.backend.assistant_id(persona),
                                             additional_messages=pending, **options) as run_stream:
            yield from self._relay(client, run_stream, discussion)
        self._check(client, run_stream.get_final_run())

    def withdraw(self, holder: OnThread) -> None:
        """The latest reply's message leaves the thread (the server would show it to the next run).
        Its run was cancelled as its stream closed; a cancel may take a moment, and a message is
        deleted only once its run is over."""
        thread_id, run_id = holder.thread_id, holder.run_id
        if thread_id is None or run_id is None:
            return
        client = self.backend.client()
        try:
            deadline = time.monotonic() + WITHDRAW_WAIT
            while client.beta.threads.runs.retrieve(run_id, thread_id=thread_id).status in ACTIVE \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            for message in client.beta.threads.messages.list(thread_id=thread_id, run_id=run_id).data:
                if message.role == "assistant":
                    client.beta.threads.messages.delete(message.id, thread_id=thread_id)
        except openai.OpenAIError as exc:
            log.warning("could not take a withheld reply off thread %s: %s", thread_id, exc)

    def _relay(self, client: openai.OpenAI, run_stream: AssistantEventHandler, holder: OnThread) -> Iterator[str]:
        """The run's text as it streams; a run left mid-reply (Stop) is cancelled on the server."""
        finished = False
        try:
            for delta in run_stream.text_deltas:
                if (run := run_stream.current_run) is not None and holder.run_id != run.id:
                    holder.thread_id, holder.run_id = holder.thread_id or run.thread_id, run.id  # before the first word
                if without_markers(delta):  # a delta of citation markers only: they become the sources box
                    yield delta
            finished = True
        finally:
            self._after(client, holder, run_stream.current_run, finished)

    def _sources(self, client: openai.OpenAI, messages: list[Message]) -> list[Source]:
        """What the reply's file_citation annotations point at (a file once, with its quote)."""
        sources: dict[str, Source] = {}
        for message in messages:
            for block in message.content:
                if block.type != "text":
                    continue
                for note in block.text.annotations:
                    if note.type == "file_citation" and note.file_citation.file_id not in sources:
                        quote = getattr(note.file_citation, "quote", None) or ""
                        sources[note.file_citation.file_id] = Source(
                            self.backend.shelf.filename(client, note.file_citation.file_id), quote)
        return list(sources.values())

    @staticmethod
    def _after(client: openai.OpenAI, holder: OnThread, run: Run | None, finished: bool) -> None:
        if run is None:
            return
        holder.thread_id, holder.run_id = holder.thread_id or run.thread_id, run.id
        if not finished and run.status in ACTIVE:
            # Stopped mid-reply: cancel on the server so the next message works at once.
            try:
                client.beta.threads.runs.cancel(run_id=run.id, thread_id=run.thread_id)
            except openai.OpenAIError as exc:
                log.warning("could not cancel run %s: %s", run.id, exc)

    @staticmethod
    def _check(client: openai.OpenAI, run: Run) -> None:
        """Raise how the run ended, if not with a complete reply."""
        if run.status == "requires_action":
            client.beta.threads.runs.cancel(run_id=run.id, thread_id=run.thread_id)
            raise ReplyEnded("tool")
        if run.status == "expired":
            raise ReplyEnded("expired")
        if run.status == "failed":
            raise ReplyEnded("failed", run.last_error.message if run.last_error else "unknown error")
        if run.status == "incomplete":
            raise ReplyEnded("cut")
