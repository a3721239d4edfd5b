"""The Responses API with Conversations: the Assistants API's successor.

History comes from a Conversation (``conversation=``), from a chain of stored
responses (``previous_response_id``), or from the input items themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from openai.types import VectorStore
from openai.types.conversations import Conversation, ConversationDeletedResource
from openai.types.conversations import Message as ConvMessage
from openai.types.responses import (
    FileSearchTool,
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFailedEvent,
    ResponseFileSearchCallCompletedEvent,
    ResponseFileSearchCallInProgressEvent,
    ResponseFileSearchCallSearchingEvent,
    ResponseFileSearchToolCall,
    ResponseIncompleteEvent,
    ResponseInProgressEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseOutputTextAnnotationAddedEvent,
    ResponseTextDoneEvent,
    ResponseUsage,
)
from openai.types.responses.response import Conversation as ResponseConversation
from openai.types.responses.response import IncompleteDetails
from openai.types.responses.response_error import ResponseError
from openai.types.responses.response_file_search_tool_call import (
    Result as FileSearchResult,
)
from openai.types.responses.response_output_text import AnnotationFileCitation
from openai.types.responses.response_text_config import ResponseTextConfig
from openai.types.responses.response_usage import (
    InputTokensDetails,
    OutputTokensDetails,
)
from openai.types.shared.response_format_text import ResponseFormatText
from pydantic import BaseModel

from ..shared.citations import PASSAGES, cite
from ..shared.citations import context as citations_context
from ..shared.retrieval import Hit
from .base import API, ListOrder, Work, page, unoffered_tools
from .engines import Engine, Generation
from .errors import bad_request
from .models import ConversationIn, ItemsIn, ResponseIn, content_text
from .sse import Channel, response_text_delta, threaded_stream
from .store import Store, new_id, now
from .vector_stores import VectorStoresAPI

ChatMessages = list[dict[str, str]]


class ResponseContext(BaseModel):
    """What a stored response saw and said, so ``previous_response_id`` can continue it."""

    id: str
    messages: list[dict[str, str]]


def item_text(item: dict[str, Any], where: str) -> tuple[str, str]:
    """(role, text) of one input item: an easy message or a ``type: message`` item."""
    if item.get("type", "message") != "message":
        raise bad_request(f"Only message items are supported by this server, got '{item.get('type')}'.",
                          f"{where}.type")
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise bad_request(f"Invalid value for '{where}.role': {role!r}.", f"{where}.role", "invalid_value")
    content = item.get("content")
    if not isinstance(content, (str, list)):
        raise bad_request(f"Missing required parameter: '{where}.content'.", f"{where}.content",
                          "missing_required_parameter")
    return role, content_text(content, f"{where}.content", ("input_text", "output_text", "text"))


def to_conv_item(role: str, text: str) -> ConvMessage:
    part: dict[str, Any] = ({"type": "output_text", "text": text, "annotations": []} if role == "assistant"
                            else {"type": "input_text", "text": text})
    return ConvMessage.model_validate({"id": new_id("msg"), "type": "message", "role": role, "status": "completed",
                                       "content": [part]})


def conv_item_text(item: ConvMessage) -> str:
    return "".join(getattr(part, "text", "") or "" for part in item.content)


class ResponsesAPI(API):
    def __init__(self, store: Store, engine: Engine, work: Work | None = None,
                 vector_stores: VectorStoresAPI | None = None) -> None:
        super().__init__(store, engine, work)
        self.vector_stores = vector_stores
        r = self.router
        r.post("/conversations")(self.create_conversation)
        r.get("/conversations/{conversation_id}")(self.get_conversation)
        r.delete("/conversations/{conversation_id}")(self.delete_conversation)
        r.post("/conversations/{conversation_id}/items")(self.create_items)
        r.get("/conversations/{conversation_id}/items")(self.list_items)
        r.post("/responses")(self.create_response)
        r.get("/responses/{response_id}")(self.get_response)

    # ------------------------------------------------------------------ conversations

    def _items_from(self, raw: list[dict[str, Any]], param: str) -> list[ConvMessage]:
        return [to_conv_item(*item_text(item, f"{param}[{i}]")) for i, item in enumerate(raw)]

    def create_conversation(self, body: ConversationIn | None = None) -> Conversation:
        body = body or ConversationIn()
        items = self._items_from(body.items or [], "items")
        conv = self.store.put("conversation", Conversation(id=new_id("conv"), object="conversation",
                                                           created_at=now(), metadata=body.metadata or {}))
        for item in items:
            self.store.put("conv_item", item, parent=conv.id)
        return conv

    def get_conversation(self, conversation_id: str) -> Conversation:
        return self.find("conversation", conversation_id, Conversation)

    def delete_conversation(self, conversation_id: str) -> ConversationDeletedResource:
        self.find("conversation", conversation_id, Conversation)
        for item in self.store.children("conv_item", conversation_id, ConvMessage):
            self.store.delete("conv_item", item.id)
        self.store.delete("conversation", conversation_id)
        return ConversationDeletedResource(id=conversation_id, deleted=True, object="conversation.deleted")

    def create_items(self, conversation_id: str, body: ItemsIn) -> dict[str, Any]:
        self.find("conversation", conversation_id, Conversation)
        items = [self.store.put("conv_item", item, parent=conversation_id)
                 for item in self._items_from(body.items, "items")]
        return page(items, limit=max(1, min(100, len(items) or 1)), order="asc", after=None, before=None)

    def list_items(self, conversation_id: str, limit: int = 20, order: ListOrder = "desc",
                   after: str | None = None, include: list[str] | None = None) -> dict[str, Any]:
        self.find("conversation", conversation_id, Conversation)
        return page(self.store.children("conv_item", conversation_id, ConvMessage), limit=limit, order=order,
                    after=after, before=None)

    # ------------------------------------------------------------------ responses

    def get_response(self, response_id: str) -> Response:
        return self.find("response", response_id, Response)

    def _history(self, body: ResponseIn) -> tuple[ChatMessages, str | None]:
        conversation_id = body.conversation.get("id") if isinstance(body.conversation, dict) else body.conversation
        if conversation_id and body.previous_response_id:
            raise bad_request("Mutually exclusive parameters: Ensure you are only providing one of: "
                              "'previous_response_id' or 'conversation'.", "conversation")
        if conversation_id:
            self.find("conversation", conversation_id, Conversation)
            items = self.store.children("conv_item", conversation_id, ConvMessage)
            return [{"role": i.role, "content": conv_item_text(i)} for i in items], conversation_id
        if body.previous_response_id:
            ctx = self.find("response_context", body.previous_response_id, ResponseContext)
            return list(ctx.messages), None
        return [], None

    async def create_response(self, body: ResponseIn, request: Request) -> Any:
        gen, finish, start = await run_in_threadpool(self._prepare, body)
        if body.stream:
            return threaded_stream(start, self.work.deadline(), self.work.track)
        text, error = await self.generate(gen, request)
        return await run_in_threadpool(finish, text, error, gen.cancelled.is_set() and error is None)

    def _prepare(self, body: ResponseIn) -> tuple[Generation, Callable[..., Response],
                                                   Callable[[Channel, threading.Event], None]]:
        """The generation a request asks for, how to finish its response, and how to stream it."""
        history, conversation_id = self._history(body)
        raw = [{"role": "user", "content": body.input}] if isinstance(body.input, str) else body.input
        new_items = [item_text(item, f"input[{i}]") for i, item in enumerate(raw)]
        if not new_items:
            raise bad_request("Missing required parameter: 'input'.", "input", "missing_required_parameter")
        context = history + [{"role": "system" if r == "developer" else r, "content": t} for r, t in new_items]
        self.engine.preflight(context)
        question = next((t for r, t in reversed(new_items) if r == "user"), "")
        tool, search = self._file_search(body, question)
        hits = [Hit(r.file_id or "", r.filename or "", r.text or "", r.score or 0.0) for r in search.results or []] \
            if search else []
        passages = [found] if (found := citations_context(hits)) else []
        prompt = ([{"role": "system", "content": body.instructions}] if body.instructions else []) + passages + context
        resp_id, msg_id = new_id("resp"), new_id("msg")
        base = Response(
            id=resp_id, object="response", created_at=time.time(), model=body.model or self.engine.model_id,
            output=[], parallel_tool_calls=True, tool_choice="auto", tools=[tool] if tool else [], status="in_progress",
            instructions=body.instructions, temperature=body.temperature, top_p=body.top_p,
            max_output_tokens=body.max_output_tokens, previous_response_id=body.previous_response_id,
            conversation=ResponseConversation(id=conversation_id) if conversation_id else None,
            metadata=body.metadata or {}, text=ResponseTextConfig(format=ResponseFormatText(type="text")), truncation="disabled",
            background=False, service_tier="default")
        gen = Generation(messages=prompt, model=base.model, temperature=body.temperature, top_p=body.top_p,
                         max_tokens=body.max_output_tokens)

        def finish(text: str, error: str | None, cancelled: bool = False) -> Response:
            status = "failed" if error else ("incomplete" if gen.finish_reason == "length" else "completed")
            status = "cancelled" if cancelled and not error else status
            msg = ResponseOutputMessage(id=msg_id, type="message", role="assistant",
                                        status="completed" if status == "completed" else "incomplete",
                                        content=[ResponseOutputText(type="output_text", text=text,
                                                                    annotations=annotations(text))])  # type: ignore[arg-type]
            usage = ResponseUsage(input_tokens=gen.prompt_tokens, output_tokens=gen.completion_tokens,
                                  total_tokens=gen.prompt_tokens + gen.completion_tokens,
                                  input_tokens_details=InputTokensDetails(cached_tokens=0, cache_write_tokens=0),
                                  output_tokens_details=OutputTokensDetails(reasoning_tokens=0))
            final = base.model_copy(update={
                "status": status, "output": [search, msg] if search else [msg], "usage": usage,
                "completed_at": time.time() if status == "completed" else None,
                "error": ResponseError(code="server_error", message=error) if error else None,
                "incomplete_details": IncompleteDetails(reason="max_output_tokens") if status == "incomplete" else None})
            # Every turn that reached the model stays in the history, as a thread keeps a failed run's message.
            self._remember(final, context, text, new_items, conversation_id, body.store)
            return final

        def annotations(text: str) -> list[AnnotationFileCitation]:
            """The passages the reply cites, at its end (Responses puts no markers in the text)."""
            return [AnnotationFileCitation(type="file_citation", file_id=c.file_id, filename=c.filename,
                                           index=len(text)) for c in cite(text, hits, question)[1]]

        return gen, finish, lambda channel, cancel: self._stream(base, msg_id, gen, finish, channel, cancel, search)

    def _file_search(self, body: ResponseIn, question: str) -> tuple[FileSearchTool | None,
                                                                      ResponseFileSearchToolCall | None]:
        """The request's file_search tool and, if it has one, the search made with the question."""
        raw = next(iter(body.tools or []), None)
        if raw is None or self.vector_stores is None:
            return None, None
        tool = FileSearchTool.model_validate(raw)
        for vector_store_id in tool.vector_store_ids:
            self.find("vector_store", vector_store_id, VectorStore)
        threshold = (tool.ranking_options.score_threshold if tool.ranking_options else None) or 0.0
        hits = self.vector_stores.search(tool.vector_store_ids, question, tool.max_num_results or PASSAGES, threshold)
        results = [FileSearchResult(file_id=h.file_id, filename=h.filename, score=h.score, text=h.text) for h in hits]
        return tool, ResponseFileSearchToolCall(id=new_id("fs"), type="file_search_call", status="completed",
                                                queries=[question], results=results)

    def _remember(self, final: Response, context: ChatMessages, text: str, new_items: list[tuple[str, str]],
                  conversation_id: str | None, store: bool | None) -> None:
        if store is not False:
            self.store.put("response", final)
            self.store.put("response_context", ResponseContext(
                id=final.id, messages=context + [{"role": "assistant", "content": text}]))
        if conversation_id:
            for role, item_text_ in [*new_items, ("assistant", text)]:
                self.store.put("conv_item", to_conv_item(role, item_text_), parent=conversation_id)

    def _stream(self, base: Response, msg_id: str, gen: Generation, finish: Callable[..., Response],
                channel: Channel, cancel: threading.Event, search: ResponseFileSearchToolCall | None = None) -> None:
        gen.cancelled = cancel
        seq = iter(range(1_000_000))
        at = 1 if search else 0  # the message's output_index: after the file search, if there was one

        def send(event: BaseModel) -> None:
            channel.event(getattr(event, "type"), event)

        send(ResponseCreatedEvent(type="response.created", sequence_number=next(seq), response=base))
        send(ResponseInProgressEvent(type="response.in_progress", sequence_number=next(seq), response=base))
        if search:
            self._stream_search(search, send, seq)
        item = ResponseOutputMessage(id=msg_id, type="message", role="assistant", status="in_progress", content=[])
        send(ResponseOutputItemAddedEvent(type="response.output_item.added", sequence_number=next(seq),
                                          output_index=at, item=item))
        empty = ResponseOutputText(type="output_text", text="", annotations=[])
        send(ResponseContentPartAddedEvent(type="response.content_part.added", sequence_number=next(seq),
                                           item_id=msg_id, output_index=at, content_index=0, part=empty))
        text, error = "", None
        try:
            for piece in self.engine.stream(gen):
                text += piece
                channel.event("response.output_text.delta", response_text_delta(msg_id, piece, next(seq), at))
            error = unoffered_tools(gen)
        except ConnectionAbortedError:  # as on a real network drop, the turn still happened server-side
            finish(text, None, cancelled=True)
            raise
        except Exception as exc:  # noqa: BLE001 - reported as response.failed
            error = str(exc) or type(exc).__name__
        error = error or self.timed_out(gen)
        if cancel.is_set() and error is None:  # the client has gone: keep what was said, send nothing
            finish(text, error, cancelled=True)
            return
        final = finish(text, error)
        if error is None:
            message, part = final.output[at], None
            assert isinstance(message, ResponseOutputMessage) and isinstance(part := message.content[0], ResponseOutputText)
            for i, annotation in enumerate(part.annotations):
                send(ResponseOutputTextAnnotationAddedEvent.model_validate({
                    "type": "response.output_text.annotation.added", "sequence_number": next(seq), "item_id": msg_id,
                    "output_index": at, "content_index": 0, "annotation_index": i, "annotation": annotation.model_dump()}))
            send(ResponseTextDoneEvent(type="response.output_text.done", sequence_number=next(seq), item_id=msg_id,
                                       output_index=at, content_index=0, text=text, logprobs=[]))
            send(ResponseContentPartDoneEvent(type="response.content_part.done", sequence_number=next(seq),
                                              item_id=msg_id, output_index=at, content_index=0, part=part))
            send(ResponseOutputItemDoneEvent(type="response.output_item.done", sequence_number=next(seq),
                                             output_index=at, item=message))
        if final.status == "completed":
            send(ResponseCompletedEvent(type="response.completed", sequence_number=next(seq), response=final))
        elif final.status == "incomplete":
            send(ResponseIncompleteEvent(type="response.incomplete", sequence_number=next(seq), response=final))
        else:
            send(ResponseFailedEvent(type="response.failed", sequence_number=next(seq), response=final))

    @staticmethod
    def _stream_search(search: ResponseFileSearchToolCall, send: Callable[[BaseModel], None],
                       seq: Iterator[int]) -> None:
        """The file_search_call item at output_index 0: added, in progress, searching, completed, done."""
        started = search.model_copy(update={"status": "in_progress", "results": None})
        send(ResponseOutputItemAddedEvent(type="response.output_item.added", sequence_number=next(seq), output_index=0,
                                          item=started))
        for kind, event in (("in_progress", ResponseFileSearchCallInProgressEvent),
                            ("searching", ResponseFileSearchCallSearchingEvent),
                            ("completed", ResponseFileSearchCallCompletedEvent)):
            send(event.model_validate({"type": f"response.file_search_call.{kind}", "sequence_number": next(seq),
                                       "item_id": search.id, "output_index": 0}))
        send(ResponseOutputItemDoneEvent(type="response.output_item.done", sequence_number=next(seq), output_index=0,
                                         item=search))
