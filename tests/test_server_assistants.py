"""The embedded server's Assistants API, driven over loopback HTTP by the real openai SDK."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest
from openai import AssistantEventHandler, OpenAI
from openai.types.beta import AssistantStreamEvent
from typing_extensions import override

from agora.server import EmbeddedServer
from agora.server.engines import ScriptedEngine
from tests.support import sdk


class Recorder(AssistantEventHandler):
    """Keeps every event name and the arrival time of each text delta."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.delta_times: list[float] = []

    @override
    def on_event(self, event: AssistantStreamEvent) -> None:
        self.events.append(event.event)
        if event.event == "thread.message.delta":
            self.delta_times.append(time.perf_counter())


def setup_thread(client: OpenAI, question: str = "What is virtue?", instructions: str = "You are Socrates."):
    asst = client.beta.assistants.create(model="scripted", name="Socrates", instructions=instructions,
                                         metadata={"persona": "socrates"})
    thread = client.beta.threads.create(messages=[{"role": "user", "content": question}])
    return asst, thread


def test_stream_emits_openais_event_order_and_text_deltas_match_final_message(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Is the unexamined life worth living? [[pieces=15]]")
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id, event_handler=handler) as s:
        deltas = list(s.text_deltas)
        final = s.get_final_messages()
        run = s.get_final_run()

    assert handler.events == [
        "thread.run.created", "thread.run.queued", "thread.run.in_progress",
        "thread.run.step.created", "thread.run.step.in_progress",
        "thread.message.created", "thread.message.in_progress",
        *["thread.message.delta"] * 15,
        "thread.message.completed", "thread.run.step.completed", "thread.run.completed",
    ]
    assert len(deltas) == 15
    text = "".join(deltas)
    assert text.startswith("[turn 1] You asked: Is the unexamined life worth living?")
    assert final[0].content[0].text.value == text  # type: ignore[union-attr]
    listed = client.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in listed] == ["user", "assistant"]
    assert listed[1].content[0].text.value == text  # type: ignore[union-attr]
    assert listed[1].run_id == run.id and listed[1].status == "completed"
    assert run.status == "completed" and run.usage is not None and run.usage.completion_tokens == 15


def test_every_endpoint_validates_strictly(client: OpenAI) -> None:
    asst, thread = setup_thread(client)
    assert client.beta.assistants.retrieve(asst.id).name == "Socrates"
    updated = client.beta.assistants.update(asst.id, name="Socrates of Athens", temperature=0.5)
    assert (updated.name, updated.temperature, updated.instructions) == ("Socrates of Athens", 0.5, "You are Socrates.")
    assert asst.id in [a.id for a in client.beta.assistants.list(limit=100)]
    assert client.beta.threads.retrieve(thread.id).id == thread.id
    msg = client.beta.threads.messages.create(thread_id=thread.id, role="user", content="And justice?")
    assert client.beta.threads.messages.retrieve(msg.id, thread_id=thread.id).content == msg.content
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    assert run.status == "completed"
    assert [r.id for r in client.beta.threads.runs.list(thread_id=thread.id)] == [run.id]
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data
    assert len(steps) == 1 and steps[0].type == "message_creation" and steps[0].status == "completed"
    assert steps[0].step_details.message_creation.message_id  # type: ignore[union-attr]
    assert client.models.list().data[0].id == "scripted"
    assert client.beta.threads.delete(thread.id).deleted
    assert client.beta.assistants.delete(asst.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.retrieve(thread.id)


def test_create_and_poll_answers_with_context_of_whole_thread(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "First question")
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Second question")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    assert run.status == "completed"
    messages = client.beta.threads.messages.list(thread_id=thread.id).data  # newest first
    assert len(messages) == 4
    assert messages[0].content[0].text.value.startswith("[turn 2] You asked: Second question")  # type: ignore[union-attr]


def test_a_deleted_message_is_gone_from_the_thread_and_from_what_the_next_run_is_shown(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "First question")
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    reply = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    deleted = client.beta.threads.messages.delete(reply.id, thread_id=thread.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (reply.id, "thread.message.deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.beta.threads.messages.retrieve(reply.id, thread_id=thread.id)
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Again [[echo]]")
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    echo = client.beta.threads.messages.list(thread_id=thread.id).data[0].content[0].text.value  # type: ignore[union-attr]
    assert "First question" in echo and "[turn 1]" not in echo


def test_run_options_reach_the_model_in_order(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Hello [[echo]]", instructions="ASSISTANT-INSTRUCTIONS")
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=asst.id, instructions="RUN-INSTRUCTIONS",
        additional_instructions="EXTRA", additional_messages=[{"role": "user", "content": "More [[echo]]"}],
        temperature=0.3, top_p=0.9, max_completion_tokens=500, metadata={"k": "v"}, model="other-model",
        poll_interval_ms=20)
    assert (run.instructions, run.temperature, run.top_p, run.max_completion_tokens, run.metadata, run.model) == (
        "RUN-INSTRUCTIONS\n\nEXTRA", 0.3, 0.9, 500, {"k": "v"}, "other-model")
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert reply.content[0].text.value == (  # type: ignore[union-attr]
        "system: RUN-INSTRUCTIONS EXTRA | user: Hello | user: More")


def test_a_speaker_is_known_by_name_not_by_assistant_id(client: OpenAI) -> None:
    """The same persona with readings is another assistant but the same speaker; another name
    on the thread is another speaker, shown as a named turn."""
    socrates, thread = setup_thread(client, "What is virtue?")
    client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=socrates.id, poll_interval_ms=20)
    reading = client.beta.assistants.create(model="scripted", name="Socrates", instructions="You are Socrates.",
                                            tools=[{"type": "file_search"}])
    kant = client.beta.assistants.create(model="scripted", name="Kant", instructions="You are Kant.")
    seen = {}
    for asst in (reading, kant):
        run = client.beta.threads.runs.create_and_poll(
            thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20,
            additional_messages=[{"role": "user", "content": f"And {asst.name}? [[echo]]"}])
        seen[asst.name] = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert seen["Socrates"].content[0].text.value.startswith(  # type: ignore[union-attr]
        "system: You are Socrates. | user: What is virtue? | assistant: [turn 1] You asked: What is virtue?")
    assert "user: Socrates said: [turn 1] You asked: What is virtue?" in seen["Kant"].content[0].text.value  # type: ignore[union-attr]


def test_max_completion_tokens_makes_run_incomplete(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Tell me everything [[pieces=50]]")
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                   max_completion_tokens=5, poll_interval_ms=20)
    assert run.status == "incomplete" and run.incomplete_details.reason == "max_completion_tokens"  # type: ignore[union-attr]
    msg = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert msg.status == "incomplete" and msg.incomplete_details.reason == "max_tokens"  # type: ignore[union-attr]
    assert len(msg.content[0].text.value.split()) == 5  # type: ignore[union-attr]


def test_pagination_across_more_than_100_messages_terminates(client: OpenAI) -> None:
    asst = client.beta.assistants.create(model="scripted")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"m{i}"} for i in range(105)])
    texts = [m.content[0].text.value for m in  # type: ignore[union-attr]
             client.beta.threads.messages.list(thread_id=thread.id, order="asc", limit=10)]
    assert texts == [f"m{i}" for i in range(105)]
    first = client.beta.threads.messages.list(thread_id=thread.id, order="asc", limit=100)
    assert first.has_more and len(first.data) == 100
    raw = httpx.get(f"{client.base_url}threads/{thread.id}/messages", params={"limit": 3, "order": "asc"}).json()
    assert (raw["first_id"], raw["last_id"], raw["has_more"]) == (raw["data"][0]["id"], raw["data"][2]["id"], True)
    before = client.beta.threads.messages.list(thread_id=thread.id, order="asc", limit=2, before=raw["last_id"])
    assert [m.id for m in before.data] == [raw["data"][0]["id"], raw["data"][1]["id"]]
    assert asst.id


def test_cancel_mid_stream_then_next_run_works(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Go slowly [[pieces=100 delay=0.05]]")
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id, event_handler=handler) as s:
        got = []
        for delta in s.text_deltas:
            got.append(delta)
            if len(got) == 3:
                client.beta.threads.runs.cancel(run_id=s.current_run.id, thread_id=thread.id)  # type: ignore[union-attr]
        run = s.get_final_run()
    assert run.status == "cancelled"
    assert handler.events[-3:] == ["thread.run.cancelling", "thread.message.incomplete", "thread.run.step.cancelled"] \
        or handler.events[-4:] == ["thread.run.cancelling", "thread.message.incomplete",
                                   "thread.run.step.cancelled", "thread.run.cancelled"]
    msg = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert msg.status == "incomplete" and msg.incomplete_details.reason == "run_cancelled"  # type: ignore[union-attr]
    assert 3 <= len(msg.content[0].text.value.split()) < 100  # type: ignore[union-attr]
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="Again")
    assert client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id,
                                                    poll_interval_ms=20).status == "completed"


def test_active_run_blocks_messages_and_runs_with_openais_400(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Think forever [[hang]]")
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.threads.messages.create(thread_id=thread.id, role="user", content="hello?")
    assert err.value.status_code == 400
    assert err.value.body["message"] == f"Can't add messages to {thread.id} while a run {run.id} is active."  # type: ignore[index]
    assert err.value.body == {"message": err.value.body["message"], "type": "invalid_request_error", "param": None,  # type: ignore[index]
                              "code": None}
    with pytest.raises(openai.BadRequestError, match=f"Thread {thread.id} already has an active run {run.id}."):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id)
    assert client.beta.threads.runs.cancel(run_id=run.id, thread_id=thread.id).status == "cancelled"
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content="hello?")


def test_unknown_ids_give_404_with_openai_body(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as err:
        client.beta.threads.messages.list(thread_id="thread_nope")
    assert err.value.body == {"message": "No thread found with id 'thread_nope'.", "type": "invalid_request_error",
                              "param": None, "code": None}
    with pytest.raises(openai.NotFoundError, match="No assistant found with id 'asst_nope'"):
        client.beta.threads.create_and_run(assistant_id="asst_nope")


def test_invalid_bodies_give_400_naming_the_field(client: OpenAI, scripted_server: EmbeddedServer) -> None:
    asst, thread = setup_thread(client)
    url = f"{scripted_server.base_url}/threads/{thread.id}/runs"
    missing = httpx.post(url, json={})
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "assistant_id"
    assert missing.json()["error"]["message"] == "Missing required parameter: 'assistant_id'."
    wrong = httpx.post(url, json={"assistant_id": asst.id, "temperature": "hot"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "temperature"
    typo = httpx.post(url, json={"assistant_id": asst.id, "temprature": 1})
    assert typo.json()["error"] == {"message": "Unknown parameter: 'temprature'.", "type": "invalid_request_error",
                                    "param": "temprature", "code": "unknown_parameter"}
    assert client.beta.threads.runs.list(thread_id=thread.id).data == []


def test_wrong_key_gives_401() -> None:
    with EmbeddedServer(ScriptedEngine(), api_key="sk-right") as server:
        with pytest.raises(openai.AuthenticationError) as err:
            sdk(server.base_url, api_key="sk-wrong").beta.assistants.list()
        assert err.value.body == {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                  "param": None, "code": "invalid_api_key"}
        assert "sk-wrong" not in str(err.value)
        assert sdk(server.base_url, api_key="sk-right").beta.assistants.list().data == []


def test_client_disconnect_cancels_run_and_frees_engine(client: OpenAI, scripted_server: EmbeddedServer) -> None:
    asst, thread = setup_thread(client, "Slow [[pieces=400 delay=0.02]]")
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as s:
        for i, _ in enumerate(s.text_deltas):
            if i == 2:
                break
        run_id = s.current_run.id  # type: ignore[union-attr]
    # Leaving the `with` closes the HTTP response; the server must notice and stop.
    deadline = time.monotonic() + 5
    while client.beta.threads.runs.retrieve(run_id, thread_id=thread.id).status != "cancelled":
        assert time.monotonic() < deadline, "run still active after the client went away"
        time.sleep(0.02)
    assert scripted_server.app.state.executor.busy() == 0
    msg = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert msg.status == "incomplete" and len(msg.content[0].text.value.split()) < 400  # type: ignore[union-attr]


def test_engine_failure_ends_stream_with_run_failed(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Break [[fail_after=3]]")
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id, event_handler=handler) as s:
        text = "".join(s.text_deltas)
        run = s.get_final_run()
    assert handler.events[-3:] == ["thread.message.incomplete", "thread.run.step.failed", "thread.run.failed"]
    assert run.status == "failed" and run.last_error is not None
    assert (run.last_error.code, run.last_error.message) == ("server_error", "scripted engine failed after 3 pieces")
    assert text == "[turn 1] You"  # three pieces, then the crash
    msg = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert msg.content[0].text.value == text and msg.incomplete_details.reason == "run_failed"  # type: ignore[union-attr]


def test_deltas_arrive_spread_over_time(client: OpenAI) -> None:
    asst, thread = setup_thread(client, "Pace [[pieces=12 delay=0.05]]")
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id, event_handler=handler) as s:
        s.until_done()
    times = handler.delta_times
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 12
    assert times[-1] - times[0] > 0.45  # 11 gaps of 50 ms, not a burst at the end
    assert sum(g > 0.03 for g in gaps) >= 9


def test_create_and_run_streams_into_new_thread(client: OpenAI) -> None:
    asst = client.beta.assistants.create(model="scripted", instructions="Be brief.")
    with client.beta.threads.create_and_run_stream(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "Hi"}]}) as s:
        text = "".join(s.text_deltas)
        run = s.get_final_run()
    assert text.startswith("[turn 1] You asked: Hi") and run.status == "completed"


def test_concurrent_runs_on_different_threads_do_not_mix(client: OpenAI) -> None:
    asst = client.beta.assistants.create(model="scripted")
    results: dict[int, str] = {}

    def talk(n: int) -> None:
        c = sdk(str(client.base_url))
        thread = c.beta.threads.create(messages=[{"role": "user", "content": f"nonce-{n} [[delay=0.01]]"}])
        with c.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as s:
            results[n] = "".join(s.text_deltas)

    workers = [threading.Thread(target=talk, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert sorted(results) == list(range(8))
    for n, text in results.items():
        assert f"nonce-{n}" in text and all(f"nonce-{m}" not in text for m in range(8) if m != n)


@pytest.mark.real_model
@pytest.mark.slow
def test_real_smollm2_streams_token_by_token(llama_server: EmbeddedServer) -> None:
    client = sdk(llama_server.base_url)
    asst = client.beta.assistants.create(model="smollm2-135m-instruct",
                                         instructions="You are Plato. Answer in two sentences.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is philosophy?"}])
    handler = Recorder()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id, event_handler=handler,
                                         max_completion_tokens=60, temperature=0.2) as s:
        deltas = list(s.text_deltas)
        final = s.get_final_messages()[0].content[0].text.value  # type: ignore[union-attr]
    assert len(deltas) >= 10
    assert "".join(deltas) == final and final.strip()
    listed = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert listed.content[0].text.value == final  # type: ignore[union-attr]
    assert handler.events[-1] in ("thread.run.completed", "thread.run.incomplete")


WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "The weather in a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def test_function_tools_round_trip_through_submit_tool_outputs(client: OpenAI) -> None:
    asst = client.beta.assistants.create(model="scripted", instructions="Use tools.", tools=[WEATHER])  # type: ignore[list-item]
    assert client.beta.assistants.retrieve(asst.id).tools[0].model_dump(exclude_none=True) == WEATHER
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "Weather? [[tool echo]]"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    assert run.status == "requires_action" and run.required_action is not None
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert (call.function.name, run.tools[0].type) == ("get_weather", "function")
    waiting = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id).data[0]
    assert waiting.type == "tool_calls" and waiting.status == "in_progress"
    done = client.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": call.id, "output": "sunny"}],
        poll_interval_ms=20)
    assert done.status == "completed"
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=run.id).data[0]
    assert reply.content[0].text.value == "system: Use tools. | user: Weather? | tool: get_weather: sunny"  # type: ignore[union-attr]
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc").data
    assert [(s.type, s.status) for s in steps] == [("tool_calls", "completed"), ("message_creation", "completed")]
    assert steps[0].step_details.tool_calls[0].function.output == "sunny"  # type: ignore[union-attr]


def test_tool_outputs_stream_and_are_checked(client: OpenAI) -> None:
    asst = client.beta.assistants.create(model="scripted", tools=[WEATHER])  # type: ignore[list-item]
    with client.beta.threads.create_and_run_stream(
            assistant_id=asst.id, thread={"messages": [{"role": "user", "content": "Weather? [[tool]]"}]}) as s:
        s.until_done()
        run = s.get_final_run()
    assert run.status == "requires_action" and run.required_action is not None
    call_id = run.required_action.submit_tool_outputs.tool_calls[0].id
    with pytest.raises(openai.BadRequestError, match=r"Expected tool outputs for call_ids \['call_"):
        client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=run.thread_id,
                                                      tool_outputs=[{"tool_call_id": "call_wrong", "output": "x"}])
    handler = Recorder()
    with client.beta.threads.runs.submit_tool_outputs_stream(
            run_id=run.id, thread_id=run.thread_id, event_handler=handler,
            tool_outputs=[{"tool_call_id": call_id, "output": "rain"}]) as s:
        text = "".join(s.text_deltas)
        final = s.get_final_run()
    assert final.status == "completed" and text.startswith("[turn 1] You asked:")
    assert handler.events[:3] == ["thread.run.queued", "thread.run.step.completed", "thread.run.in_progress"]
    with pytest.raises(openai.BadRequestError, match='Runs in status "completed" do not accept tool outputs.'):
        client.beta.threads.runs.submit_tool_outputs(run_id=run.id, thread_id=run.thread_id,
                                                      tool_outputs=[{"tool_call_id": call_id, "output": "x"}])


@pytest.mark.parametrize("tool", [{"type": "code_interpreter"}, {"type": "web_search"}])
def test_tools_the_server_does_not_offer_are_refused_not_dropped(client: OpenAI, tool: dict[str, str]) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.beta.assistants.create(model="scripted", tools=[tool])  # type: ignore[list-item]
    assert err.value.body == {  # type: ignore[comparison-overlap]
        "message": f"Invalid value: '{tool['type']}'. Supported values are: 'function', 'file_search'.",
        "type": "invalid_request_error", "param": "tools[0].type", "code": "invalid_value"}
    asst, thread = setup_thread(client)
    with pytest.raises(openai.BadRequestError, match="Supported values are: 'function', 'file_search'"):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=asst.id, tools=[tool])  # type: ignore[list-item]
    assert client.beta.threads.runs.list(thread_id=thread.id).data == []


def test_runs_expire_at_expires_at() -> None:
    with EmbeddedServer(ScriptedEngine(), run_lifetime=0.6) as server:
        client = sdk(server.base_url)
        asst, thread = setup_thread(client, "Slow [[pieces=200 delay=0.02]]")
        handler = Recorder()
        with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id, event_handler=handler) as s:
            text = "".join(s.text_deltas)
            run = s.get_final_run()
        assert run.status == "expired" and run.expires_at is not None and run.expires_at >= run.created_at
        assert handler.events[-3:] == ["thread.message.incomplete", "thread.run.step.expired", "thread.run.expired"]
        assert 5 < len(text.split()) < 200
        msg = client.beta.threads.messages.list(thread_id=thread.id).data[0]
        assert msg.incomplete_details is not None and msg.incomplete_details.reason == "run_expired"
        # A run that waits for tool outputs past its deadline expires too.
        waiting = client.beta.threads.runs.create_and_poll(
            thread_id=client.beta.threads.create(messages=[{"role": "user", "content": "[[tool]]"}]).id,
            assistant_id=asst.id, poll_interval_ms=20)
        assert waiting.status == "requires_action"
        time.sleep(1.1)
        assert client.beta.threads.runs.retrieve(waiting.id, thread_id=waiting.thread_id).status == "expired"
