"""The Responses flow (the Assistants API's successor): history in a server-side Conversation,
else chained with ``previous_response_id``, else sent along as input items.  A debate turn is one
unstored response: the speaker's instructions and the debate as input."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

import openai
from openai.types.responses import Response

from ..personas import Persona
from .conversation import Conversation
from .endings import ReplyEnded
from .flow import Discussion, Flow, cites, given
from .readings import Reading, Source, quote_for

log = logging.getLogger(__name__)


def sources(response: Response, question: str) -> list[Source]:
    """The files the reply's file_citation annotations name, each quoted from its search results."""
    passages: dict[str, list[str]] = {}
    for item in response.output:
        if item.type == "file_search_call":
            for result in item.results or []:
                passages.setdefault(result.file_id or "", []).append(result.text or "")
    cited: dict[str, Source] = {}
    for item in response.output:
        if item.type != "message":
            continue
        for part in item.content:
            for note in getattr(part, "annotations", []):
                if note.type == "file_citation" and note.file_id not in cited:
                    cited[note.file_id] = Source(note.filename, quote_for(passages.get(note.file_id, []), question))
    return list(cited.values())


class ResponsesFlow(Flow):
    name = "responses"

    def _begin(self, client: openai.OpenAI, conv: Conversation, persona: Persona) -> None:
        if conv.responses_mode == "conversation" and conv.conversation_id is None:
            try:
                conv.conversation_id = client.conversations.create(metadata={"agora_persona": persona.id}).id
            except (openai.NotFoundError, openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                log.info("no Conversations on this server (%s); chaining responses instead", exc.status_code)
                conv.responses_mode = "chain"

    def _request(self, conv: Conversation, persona: Persona, message: str, store: str | None) -> dict[str, Any]:
        request = given(model=self.backend.model_for(persona), instructions=persona.instructions,
                        temperature=persona.temperature, max_output_tokens=self.backend.settings.max_output_tokens)
        if store is not None:
            request["tools"] = [{"type": "file_search", "vector_store_ids": [store]}]
            request["include"] = ["file_search_call.results"]
        question = {"role": "user", "content": message}
        # The persona's sample turns open the conversation; the server keeps them after that.
        request["input"] = [*conv.samples(persona, message), question]
        if conv.responses_mode == "conversation":
            request["conversation"] = conv.conversation_id
            if any(x.heard for x in conv.exchanges[:-1]):
                request["input"] = [question]
        elif conv.responses_mode == "chain" and conv.previous_response_id:
            request["previous_response_id"] = conv.previous_response_id
            request["input"] = [question]
        elif conv.responses_mode == "history":
            request["input"] = [*conv.samples(persona, message), *conv.history(), question]
        return request

    def stream(self, conv: Conversation, persona: Persona, message: str,
               readings: Sequence[Reading] = ()) -> Iterator[str]:
        client = self.backend.client()
        self._begin(client, conv, persona)
        store = self.backend.shelf.vector_store(client, list(readings)) if readings else None
        request = self._request(conv, persona, message, store)
        try:
            yield from self._stream(client, conv, request, message)
        except (openai.NotFoundError, openai.BadRequestError) as exc:
            if "previous_response_id" not in request:
                raise
            log.info("server cannot chain responses (%s); sending the history instead", exc.status_code)
            conv.responses_mode = "history"
            yield from self._stream(client, conv, self._request(conv, persona, message, store), message)

    def withdraw(self, holder: Conversation | Discussion) -> None:
        """The server's conversation (or the chain of responses) holds the withheld reply; from now
        on the history goes with each turn, from the records, which no longer hold it.  (A debate
        turn is unstored: nothing to do.)"""
        if isinstance(holder, Conversation):
            holder.responses_mode = "history"

    def turn(self, persona: Persona, rules: str, discussion: Discussion) -> Iterator[str]:
        request = given(model=self.backend.model_for(persona), instructions=f"{persona.instructions}\n\n{rules}",
                        temperature=persona.temperature, max_output_tokens=self.backend.settings.max_output_tokens)
        request.update(input=discussion.seen_by(persona.id), store=False)
        yield from self._stream(self.backend.client(), None, request, "")

    @staticmethod
    def _stream(client: openai.OpenAI, conv: Conversation | None, request: dict[str, Any],
                question: str) -> Iterator[str]:
        with client.responses.stream(**request) as stream:
            for event in stream:
                if event.type == "response.created" and conv is not None:
                    conv.previous_response_id = event.response.id
                elif event.type == "response.output_text.delta":
                    yield event.delta
                elif event.type in ("response.completed", "response.incomplete") and conv and "tools" in request:
                    cites(conv, sources(event.response, question))  # a reply cut short drew on them too
                if event.type == "response.failed":
                    error = event.response.error
                    raise ReplyEnded("failed", error.message if error else "unknown error")
                elif event.type == "response.incomplete":
                    raise ReplyEnded("cut")
                elif event.type == "error":
                    raise ReplyEnded("error", event.message)
