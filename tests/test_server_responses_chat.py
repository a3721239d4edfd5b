"""The embedded server's Responses + Conversations and Chat Completions, via the real SDK."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI


def test_responses_stream_event_order_and_sequence_numbers(client: OpenAI) -> None:
    events = []
    with client.responses.stream(model="scripted", instructions="You are Kant.",
                                 input="Is lying wrong? [[pieces=8]]") as stream:
        for event in stream:
            events.append(event)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert types == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added", *["response.output_text.delta"] * 8,
                     "response.output_text.done", "response.content_part.done", "response.output_item.done",
                     "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert final.output_text == deltas and deltas.startswith("[turn 1] You asked: Is lying wrong?")
    assert final.status == "completed" and final.usage is not None and final.usage.output_tokens == 8
    assert client.responses.retrieve(final.id).output_text == deltas


def test_conversation_items_are_appended_after_each_turn(client: OpenAI) -> None:
    conv = client.conversations.create(metadata={"persona": "kant"})
    with client.responses.stream(model="scripted", instructions="Kant", input="first",
                                 conversation=conv.id) as s:
        first = s.get_final_response()
    second = client.responses.create(model="scripted", instructions="Kant", input="second", conversation=conv.id)
    assert first.conversation is not None and first.conversation.id == conv.id
    assert second.output_text.startswith("[turn 2] You asked: second")
    items = list(client.conversations.items.list(conv.id, order="asc", limit=1))  # paginates one by one
    assert [(i.role, i.content[0].text.split(" —")[0]) for i in items] == [  # type: ignore[union-attr]
        ("user", "first"), ("assistant", "[turn 1] You asked: first"),
        ("user", "second"), ("assistant", "[turn 2] You asked: second")]
    added = client.conversations.items.create(conv.id, items=[{"type": "message", "role": "user",
                                                               "content": "note"}])
    assert added.data[0].content[0].text == "note"  # type: ignore[union-attr]
    assert client.conversations.retrieve(conv.id).id == conv.id
    assert client.conversations.delete(conv.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conv.id)


def test_previous_response_id_chains_context(client: OpenAI) -> None:
    one = client.responses.create(model="scripted", input="alpha")
    two = client.responses.create(model="scripted", input="beta [[echo]]", previous_response_id=one.id,
                                  instructions="SYS")
    assert two.previous_response_id == one.id
    assert two.output_text.startswith("system: SYS | user: alpha | assistant: [turn 1] You asked: alpha")
    assert two.output_text.endswith("user: beta")
    with pytest.raises(openai.BadRequestError, match="Mutually exclusive"):
        client.responses.create(model="scripted", input="x", previous_response_id=one.id, conversation="conv_x")


def test_responses_token_limit_and_failure(client: OpenAI) -> None:
    cut = client.responses.create(model="scripted", input="long [[pieces=40]]", max_output_tokens=4)
    assert cut.status == "incomplete" and cut.incomplete_details.reason == "max_output_tokens"  # type: ignore[union-attr]
    with client.responses.stream(model="scripted", input="break [[fail_after=2]]") as s:
        events = [e.type for e in s]
    assert events[-1] == "response.failed"


def test_chat_completions_stream_chunks_finish_reason_and_usage(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="scripted", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "system", "content": "You are Laozi."}, {"role": "user", "content": "Water? [[pieces=6]]"}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    pieces = [c.choices[0].delta.content for c in chunks[1:] if c.choices and c.choices[0].delta.content]
    assert len(pieces) == 6 and "".join(pieces).startswith("[turn 1] You asked: Water?")
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 6
    assert len({c.id for c in chunks}) == 1


def test_chat_completions_without_usage_and_non_stream(client: OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="scripted", stream=True,
                                                 messages=[{"role": "user", "content": "hi [[pieces=3]]"}]))
    assert all(c.usage is None for c in chunks) and chunks[-1].choices[0].finish_reason == "stop"
    done = client.chat.completions.create(model="scripted", max_tokens=2,
                                          messages=[{"role": "user", "content": "hi [[pieces=30]]"}])
    assert done.choices[0].finish_reason == "length" and done.usage.completion_tokens == 2  # type: ignore[union-attr]


def test_chat_stream_helper_accumulates(client: OpenAI) -> None:
    with client.chat.completions.stream(model="scripted",
                                        messages=[{"role": "user", "content": "hello [[pieces=5]]"}]) as s:
        final = s.get_final_completion()
    assert final.choices[0].message.content == "[turn 1] You asked: hello"


def test_sampling_options_reach_the_engine_on_every_api(client: OpenAI) -> None:
    """What a client sends to steer decoding arrives at the engine — none of it is dropped."""
    chat = client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "[[params]]"}], temperature=0.3, top_p=0.8,
        max_completion_tokens=90, stop=["\n\n", "Student:"], seed=7, presence_penalty=0.5, frequency_penalty=-0.25)
    assert chat.choices[0].message.content == ("model=scripted temperature=0.3 max_tokens=90 top_p=0.8 "
                                               "stop=\n\n|Student: seed=7 presence_penalty=0.5 frequency_penalty=-0.25")
    response = client.responses.create(model="scripted", input="[[params]]", temperature=1.2, top_p=0.7,
                                       max_output_tokens=60)
    assert response.output_text == "model=scripted temperature=1.2 max_tokens=60 top_p=0.7"
    assistant = client.beta.assistants.create(model="scripted", temperature=0.9, top_p=0.6)
    run = client.beta.threads.create_and_run_poll(
        assistant_id=assistant.id, temperature=0.4, max_completion_tokens=50,
        thread={"messages": [{"role": "user", "content": "[[params]]"}]})
    text = client.beta.threads.messages.list(thread_id=run.thread_id, run_id=run.id).data[0].content[0]
    assert text.text.value == "model=scripted temperature=0.4 max_tokens=50 top_p=0.6"  # type: ignore[union-attr]


def test_out_of_range_sampling_options_are_refused_by_name(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="presence_penalty"):
        client.chat.completions.create(model="scripted", messages=[{"role": "user", "content": "hi"}],
                                       presence_penalty=3)
