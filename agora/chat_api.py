"""Chat Completions: what Ollama, vLLM, LM Studio and llama.cpp's server speak."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta
from pydantic import Field

from .api_common import Body, content_text, sse, threaded_stream
from .deltas import chat_chunk
from .engines import ConnectionDrop, Engine, Generation, HTTPFault
from .errors import OpenAIError, bad_request, from_fault
from .store import new_id


class ChatMessageIn(Body):
    role: str
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None

    def text(self, where: str) -> str:
        return content_text(self.content, f"{where}.content", ("text",))


class StreamOptions(Body):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatIn(Body):
    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1, le=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


class ChatAPI:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.router = APIRouter(prefix="/v1")
        self.router.post("/chat/completions")(self.create)

    def create(self, body: ChatIn) -> Any:
        roles = {"system", "developer", "user", "assistant"}
        for i, m in enumerate(body.messages):
            if m.role not in roles:
                raise bad_request(f"Invalid value for 'messages[{i}].role': {m.role!r}.", f"messages[{i}].role",
                                  "invalid_value")
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text(f"messages[{i}]")}
                    for i, m in enumerate(body.messages)]
        try:
            self.engine.preflight(messages)
        except HTTPFault as fault:
            raise from_fault(fault) from None
        gen = Generation(messages=messages, model=body.model, temperature=body.temperature, top_p=body.top_p,
                         max_tokens=body.max_completion_tokens or body.max_tokens)
        cid, created = new_id("chatcmpl").replace("_", "-", 1), int(time.time())
        if not body.stream:
            try:
                text = "".join(self.engine.stream(gen))
            except Exception as exc:  # noqa: BLE001
                raise OpenAIError(500, f"The engine failed: {exc}", type="server_error") from exc
            return ChatCompletion(
                id=cid, object="chat.completion", created=created, model=body.model,
                choices=[Choice(index=0, finish_reason="length" if gen.finish_reason == "length" else "stop",
                                message=ChatCompletionMessage(role="assistant", content=text))],
                usage=self._usage(gen))
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return threaded_stream(lambda emit, cancel: self._stream(body.model, cid, created, gen, include_usage,
                                                                  emit, cancel))

    @staticmethod
    def _usage(gen: Generation) -> CompletionUsage:
        return CompletionUsage(prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                               total_tokens=gen.prompt_tokens + gen.completion_tokens)

    def _stream(self, model: str, cid: str, created: int, gen: Generation, include_usage: bool,
                emit: Callable[[bytes], None], cancel: threading.Event) -> None:
        gen.cancelled = cancel

        def chunk(delta: ChoiceDelta | None, finish: str | None = None, usage: CompletionUsage | None = None) -> None:
            choices = [] if delta is None else [ChunkChoice(index=0, delta=delta, finish_reason=finish)]  # type: ignore[arg-type]
            emit(sse(None, ChatCompletionChunk(id=cid, object="chat.completion.chunk", created=created, model=model,
                                               choices=choices, usage=usage)))

        chunk(ChoiceDelta(role="assistant", content=""))
        try:
            for piece in self.engine.stream(gen):
                emit(sse(None, chat_chunk(cid, created, model, piece)))
        except ConnectionDrop:
            raise
        except Exception as exc:  # noqa: BLE001 - mid-stream failure: an error frame, as OpenAI sends
            error = {"message": f"The engine failed: {exc}", "type": "server_error", "param": None, "code": None}
            emit(sse(None, json.dumps({"error": error})))
            return
        if cancel.is_set():
            return
        chunk(ChoiceDelta(), "length" if gen.finish_reason == "length" else "stop")
        if include_usage:
            chunk(None, usage=self._usage(gen))
        emit(sse(None, "[DONE]"))
