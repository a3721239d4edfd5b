"""The per-token frames, serialised directly.

Every other object the server sends is built from the openai SDK's own types.  These three
are sent once per generated piece, and building and dumping a pydantic model costs about
100 µs each — at 64 streams that alone fills a core.  They are written as plain JSON of
exactly the SDK's shape instead; ``tests/test_deltas.py`` checks them against the SDK types.
"""

from __future__ import annotations

import json

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def message_delta(message_id: str, piece: str) -> str:
    """Assistants ``thread.message.delta`` (``MessageDeltaEvent``)."""
    return _dumps({"id": message_id, "object": "thread.message.delta", "delta": {"content": [
        {"index": 0, "type": "text", "text": {"value": piece, "annotations": []}}]}})


def response_text_delta(item_id: str, piece: str, sequence_number: int) -> str:
    """Responses ``response.output_text.delta`` (``ResponseTextDeltaEvent``)."""
    return _dumps({"type": "response.output_text.delta", "sequence_number": sequence_number, "item_id": item_id,
                   "output_index": 0, "content_index": 0, "delta": piece, "logprobs": []})


def chat_chunk(chunk_id: str, created: int, model: str, piece: str) -> str:
    """Chat Completions content chunk (``ChatCompletionChunk``)."""
    return _dumps({"id": chunk_id, "object": "chat.completion.chunk", "created": created, "model": model,
                   "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
