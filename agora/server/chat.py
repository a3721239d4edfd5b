"""Chat Completions: what Ollama, vLLM, LM Studio and llama.cpp's server speak."""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import Request
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessage
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import ChoiceDelta

from .base import API, Work, unoffered_tools
from .engines import Engine, Generation
from .errors import OpenAIError
from .models import ChatIn
from .sse import Channel, chat_chunk, error_frame, threaded_stream
from .store import Store, new_id


def usage_of(gen: Generation) -> CompletionUsage:
    return CompletionUsage(prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                           total_tokens=gen.prompt_tokens + gen.completion_tokens)


def finish_reason(gen: Generation) -> Any:
    return "length" if gen.finish_reason == "length" else "stop"


class ChatAPI(API):
    def __init__(self, store: Store, engine: Engine, work: Work | None = None) -> None:
        super().__init__(store, engine, work)
        self.router.post("/chat/completions")(self.create)

    async def create(self, body: ChatIn, request: Request) -> Any:
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text(f"messages[{i}]")}
                    for i, m in enumerate(body.messages)]
        self.engine.preflight(messages)
        gen = Generation(messages=messages, model=body.model, temperature=body.temperature, top_p=body.top_p,
                         max_tokens=body.max_completion_tokens or body.max_tokens,
                         stop=[body.stop] if isinstance(body.stop, str) else body.stop or [], seed=body.seed,
                         presence_penalty=body.presence_penalty, frequency_penalty=body.frequency_penalty)
        cid, created = new_id("chatcmpl").replace("_", "-", 1), int(time.time())
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return threaded_stream(lambda channel, cancel: self._stream(body.model, cid, created, gen, include_usage,
                                                                        channel, cancel),
                                   self.work.deadline(), self.work.track)
        text, error = await self.generate(gen, request)
        if (late := self.timed_out(gen)) is not None:
            raise OpenAIError(504, f"The request timed out: {late}.", type="server_error", code="timeout")
        if error is not None:
            raise OpenAIError(500, f"The engine failed: {error}", type="server_error")
        return ChatCompletion(
            id=cid, object="chat.completion", created=created, model=body.model, usage=usage_of(gen),
            choices=[Choice(index=0, finish_reason=finish_reason(gen),
                            message=ChatCompletionMessage(role="assistant", content=text))])

    def _stream(self, model: str, cid: str, created: int, gen: Generation, include_usage: bool,
                channel: Channel, cancel: threading.Event) -> None:
        gen.cancelled = cancel

        def chunk(delta: ChoiceDelta | None, finish: Any = None, usage: CompletionUsage | None = None) -> None:
            choices = [] if delta is None else [ChunkChoice(index=0, delta=delta, finish_reason=finish)]
            channel.event(None, ChatCompletionChunk(id=cid, object="chat.completion.chunk", created=created,
                                                    model=model, choices=choices, usage=usage))

        chunk(ChoiceDelta(role="assistant", content=""))
        try:
            for piece in self.engine.stream(gen):
                channel.event(None, chat_chunk(cid, created, model, piece))
            if (error := unoffered_tools(gen)) is not None:
                raise RuntimeError(error)
        except ConnectionAbortedError:
            raise
        except Exception as exc:  # noqa: BLE001 - mid-stream failure: an error frame, as OpenAI sends
            channel.event(None, error_frame(f"The engine failed: {exc}"))
            return
        if (late := self.timed_out(gen)) is not None:
            channel.event(None, error_frame(f"The request timed out: {late}."))
            return
        if cancel.is_set():  # the client has gone
            return
        chunk(ChoiceDelta(), finish_reason(gen))
        if include_usage:
            chunk(None, usage=usage_of(gen))
        channel.event(None, "[DONE]")
