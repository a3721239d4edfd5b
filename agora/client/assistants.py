"""The Assistants flow: a thread per conversation; each turn is one streaming run, read through
the SDK's event handler (``text_deltas``, ``current_run``, ``get_final_run()``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import openai
from openai.lib.streaming import AssistantStreamManager
from openai.types.beta.threads import Run

from ..personas import Persona
from ..server.runs import ACTIVE  # the Assistants API's active run states
from .conversation import Conversation
from .endings import ReplyEnded
from .flow import Flow, given

log = logging.getLogger(__name__)



class AssistantsFlow(Flow):
    name = "assistants"

    def _open(self, client: openai.OpenAI, conv: Conversation, persona: Persona,
              message: str) -> AssistantStreamManager[Any]:
        """One request per turn: create-and-run on the first, a run with the new message after."""
        options = given(model=self.backend.model_for(persona), temperature=persona.temperature,
                        max_completion_tokens=self.backend.settings.max_output_tokens)
        assistant_id = self.backend.assistant_id(persona)
        question: Any = {"role": "user", "content": message}
        if conv.thread_id is None:
            return client.beta.threads.create_and_run_stream(  # type: ignore[call-overload, no-any-return]
                assistant_id=assistant_id, **options,
                thread={"messages": [*conv.samples(persona, message), question], "metadata": {"agora_persona": persona.id}})
        return client.beta.threads.runs.stream(thread_id=conv.thread_id, assistant_id=assistant_id,
                                               additional_messages=[question], **options)

    def _retry_open(self, client: openai.OpenAI, conv: Conversation, persona: Persona, message: str,
                    exc: openai.APIStatusError) -> AssistantStreamManager[Any]:
        """A thread restored from the browser that the server lost, or one a lost turn left busy."""
        if conv.thread_id is None or not (exc.status_code == 404 or "active run" in str(exc)):
            raise exc
        if exc.status_code == 404:
            conv.thread_id = None
        else:
            for run in client.beta.threads.runs.list(thread_id=conv.thread_id, limit=5):
                if run.status in ACTIVE:
                    client.beta.threads.runs.cancel(run_id=run.id, thread_id=conv.thread_id)
        return self._open(client, conv, persona, message)

    def stream(self, conv: Conversation, persona: Persona, message: str) -> Iterator[str]:
        client = self.backend.client()
        with contextlib.ExitStack() as stack:  # leaving it closes the HTTP stream
            try:
                run_stream = stack.enter_context(self._open(client, conv, persona, message))
            except (openai.BadRequestError, openai.NotFoundError) as exc:
                run_stream = stack.enter_context(self._retry_open(client, conv, persona, message, exc))
            finished = False
            try:
                for delta in run_stream.text_deltas:
                    if conv.thread_id is None and run_stream.current_run is not None:
                        conv.thread_id = run_stream.current_run.thread_id  # known before the first word shows
                    yield delta
                finished = True
            finally:
                self._after(client, conv, run_stream.current_run, finished)
        self._check(client, run_stream.get_final_run())

    @staticmethod
    def _after(client: openai.OpenAI, conv: Conversation, run: Run | None, finished: bool) -> None:
        if run is None:
            return
        conv.thread_id = conv.thread_id or run.thread_id
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
