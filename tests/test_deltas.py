"""The hand-serialised per-token frames are exactly the SDK's objects."""

from __future__ import annotations

import json

from openai.types.beta.threads import (
    MessageDelta,
    MessageDeltaEvent,
    TextDelta,
    TextDeltaBlock,
)
from openai.types.chat import ChatCompletionChunk
from openai.types.chat.chat_completion_chunk import Choice, ChoiceDelta
from openai.types.responses import ResponseTextDeltaEvent

from agora.server.sse import chat_chunk, message_delta, response_text_delta

PIECE = ' "quoted" ünïcode\n\\ '


def same(fast: str, model: object) -> None:
    parsed = type(model).model_validate_json(fast)  # type: ignore[attr-defined]
    assert parsed == model
    assert json.loads(fast) == json.loads(model.model_dump_json(exclude_unset=True))  # type: ignore[attr-defined]


def test_message_delta() -> None:
    same(message_delta("msg_1", PIECE), MessageDeltaEvent(id="msg_1", object="thread.message.delta", delta=MessageDelta(
        content=[TextDeltaBlock(index=0, type="text", text=TextDelta(value=PIECE, annotations=[]))])))


def test_response_text_delta() -> None:
    same(response_text_delta("msg_1", PIECE, 7), ResponseTextDeltaEvent(
        type="response.output_text.delta", sequence_number=7, item_id="msg_1", output_index=0, content_index=0,
        delta=PIECE, logprobs=[]))


def test_chat_chunk() -> None:
    same(chat_chunk("chatcmpl-1", 5, "m", PIECE), ChatCompletionChunk(
        id="chatcmpl-1", object="chat.completion.chunk", created=5, model="m",
        choices=[Choice(index=0, delta=ChoiceDelta(content=PIECE), finish_reason=None)]))
