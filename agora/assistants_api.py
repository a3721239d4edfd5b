"""The Assistants API v2: assistants, threads, messages, runs and run steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.threads import Message, Run
from openai.types.beta.threads.run import TruncationStrategy
from openai.types.beta.threads.runs import RunStep
from pydantic import BaseModel, Field

from .api_common import ABORT, Body, ThreadToLoop, content_text, page, sse, sse_response
from .engines import HTTPFault
from .errors import bad_request, from_fault, must_exist, not_found
from .runs import ACTIVE, RunExecutor, message_text, text_block
from .store import Store, new_id, now

Metadata = dict[str, str]
ListOrder = Literal["asc", "desc"]


class MessageIn(Body):
    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]
    attachments: list[Any] | None = None
    metadata: Metadata | None = None

    def text(self) -> str:
        return content_text(self.content, "content", ("text",))


class AssistantIn(Body):
    model: str | None = None
    name: str | None = None
    description: str | None = None
    instructions: str | None = None
    metadata: Metadata | None = None
    tools: list[dict[str, Any]] | None = None
    tool_resources: Any = None
    response_format: Any = None
    reasoning_effort: Any = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)


class ThreadIn(Body):
    messages: list[MessageIn] = []
    metadata: Metadata | None = None
    tool_resources: Any = None


class RunOptions(Body):
    assistant_id: str
    model: str | None = None
    instructions: str | None = None
    metadata: Metadata | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    max_prompt_tokens: int | None = Field(None, ge=1)
    stream: bool | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    response_format: Any = None
    truncation_strategy: Any = None


class RunIn(RunOptions):
    additional_instructions: str | None = None
    additional_messages: list[MessageIn] | None = None
    reasoning_effort: Any = None


class ThreadAndRunIn(RunOptions):
    thread: ThreadIn | None = None
    tool_resources: Any = None


class ThreadUpdate(Body):
    metadata: Metadata | None = None
    tool_resources: Any = None


class AssistantsAPI:
    """Routes bound to one server's store, engine and run executor (no globals)."""

    def __init__(self, store: Store, executor: RunExecutor, default_model: str) -> None:
        self.store, self.executor, self.default_model = store, executor, default_model
        self.router = APIRouter(prefix="/v1")
        r = self.router
        r.post("/assistants")(self.create_assistant)
        r.get("/assistants")(self.list_assistants)
        r.get("/assistants/{assistant_id}")(self.get_assistant)
        r.post("/assistants/{assistant_id}")(self.update_assistant)
        r.delete("/assistants/{assistant_id}")(self.delete_assistant)
        r.post("/threads")(self.create_thread)
        r.post("/threads/runs")(self.create_thread_and_run)
        r.get("/threads/{thread_id}")(self.get_thread)
        r.post("/threads/{thread_id}")(self.update_thread)
        r.delete("/threads/{thread_id}")(self.delete_thread)
        r.post("/threads/{thread_id}/messages")(self.create_message)
        r.get("/threads/{thread_id}/messages")(self.list_messages)
        r.get("/threads/{thread_id}/messages/{message_id}")(self.get_message)
        r.post("/threads/{thread_id}/runs")(self.create_run)
        r.get("/threads/{thread_id}/runs")(self.list_runs)
        r.get("/threads/{thread_id}/runs/{run_id}")(self.get_run)
        r.post("/threads/{thread_id}/runs/{run_id}/cancel")(self.cancel_run)
        r.get("/threads/{thread_id}/runs/{run_id}/steps")(self.list_steps)

    # ------------------------------------------------------------------ lookups

    def _assistant(self, assistant_id: str) -> Assistant:
        return must_exist(self.store.get("assistant", assistant_id, Assistant), "assistant", assistant_id)

    def _thread(self, thread_id: str) -> Thread:
        return must_exist(self.store.get("thread", thread_id, Thread), "thread", thread_id)

    def _run(self, thread_id: str, run_id: str) -> Run:
        self._thread(thread_id)
        found = self.store.get("run", run_id, Run)
        if found is None or found.thread_id != thread_id:
            raise not_found("run", run_id)
        return found

    def active_run(self, thread_id: str) -> Run | None:
        # A run starts only when none is active, so only a thread's newest run can be.
        run = self.store.latest("run", thread_id, Run)
        return run if run is not None and run.status in ACTIVE else None

    def _add_message(self, thread_id: str, body: MessageIn) -> Message:
        msg = Message(id=new_id("msg"), object="thread.message", created_at=now(), thread_id=thread_id,
                      role=body.role, content=text_block(body.text()), status="completed",
                      completed_at=now(), attachments=body.attachments or [], metadata=body.metadata or {})
        return self.store.put("message", msg, parent=thread_id)

    # ------------------------------------------------------------------ assistants

    def create_assistant(self, body: AssistantIn) -> Assistant:
        if not body.model:
            raise bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        asst = Assistant(id=new_id("asst"), object="assistant", created_at=now(), model=body.model,
                         name=body.name, description=body.description, instructions=body.instructions,
                         metadata=body.metadata or {}, tools=[], temperature=body.temperature,
                         top_p=body.top_p, response_format="auto")
        return self.store.put("assistant", asst)

    def list_assistants(self, limit: int = 20, order: ListOrder = "desc", after: str | None = None,
                        before: str | None = None) -> dict[str, Any]:
        return page(self.store.children("assistant", None, Assistant), limit=limit, order=order,
                    after=after, before=before)

    def get_assistant(self, assistant_id: str) -> Assistant:
        return self._assistant(assistant_id)

    def update_assistant(self, assistant_id: str, body: AssistantIn) -> Assistant:
        asst = self._assistant(assistant_id)
        changes = body.model_dump(exclude_unset=True, exclude={"tools", "tool_resources", "response_format",
                                                               "reasoning_effort"})
        return self.store.put("assistant", asst.model_copy(update=changes))

    def delete_assistant(self, assistant_id: str) -> AssistantDeleted:
        self._assistant(assistant_id)
        self.store.delete("assistant", assistant_id)
        return AssistantDeleted(id=assistant_id, object="assistant.deleted", deleted=True)

    # ------------------------------------------------------------------ threads & messages

    def _new_thread(self, body: ThreadIn) -> Thread:
        thread = self.store.put("thread", Thread(id=new_id("thread"), object="thread", created_at=now(),
                                                 metadata=body.metadata or {}))
        for msg in body.messages:
            self._add_message(thread.id, msg)
        return thread

    def create_thread(self, body: ThreadIn | None = None) -> Thread:
        return self._new_thread(body or ThreadIn())

    def get_thread(self, thread_id: str) -> Thread:
        return self._thread(thread_id)

    def update_thread(self, thread_id: str, body: ThreadUpdate) -> Thread:
        thread = self._thread(thread_id)
        return self.store.put("thread", thread.model_copy(update={"metadata": body.metadata or thread.metadata}))

    def delete_thread(self, thread_id: str) -> ThreadDeleted:
        self._thread(thread_id)
        for msg in self.store.children("message", thread_id, Message):
            self.store.delete("message", msg.id)
        self.store.delete("thread", thread_id)
        return ThreadDeleted(id=thread_id, object="thread.deleted", deleted=True)

    def create_message(self, thread_id: str, body: MessageIn) -> Message:
        self._thread(thread_id)
        if (run := self.active_run(thread_id)) is not None:
            raise bad_request(f"Can't add messages to {thread_id} while a run {run.id} is active.")
        return self._add_message(thread_id, body)

    def list_messages(self, thread_id: str, limit: int = 20, order: ListOrder = "desc",
                      after: str | None = None, before: str | None = None,
                      run_id: str | None = None) -> dict[str, Any]:
        self._thread(thread_id)
        msgs = self.store.children("message", thread_id, Message)
        if run_id is not None:
            msgs = [m for m in msgs if m.run_id == run_id]
        return page(msgs, limit=limit, order=order, after=after, before=before)

    def get_message(self, thread_id: str, message_id: str) -> Message:
        self._thread(thread_id)
        msg = self.store.get("message", message_id, Message)
        if msg is None or msg.thread_id != thread_id:
            raise not_found("message", message_id)
        return msg

    # ------------------------------------------------------------------ runs

    def _start(self, thread: Thread, body: RunOptions, request: Request,
               extra_instructions: str | None = None) -> Run | StreamingResponse:
        asst = self._assistant(body.assistant_id)
        instructions = body.instructions if body.instructions is not None else (asst.instructions or "")
        if extra_instructions:
            instructions = f"{instructions}\n\n{extra_instructions}" if instructions else extra_instructions
        created = now()
        run = Run(id=new_id("run"), object="thread.run", created_at=created, thread_id=thread.id,
                  assistant_id=asst.id, status="queued", instructions=instructions,
                  model=body.model or asst.model, tools=[], metadata=body.metadata or {},
                  temperature=body.temperature if body.temperature is not None else asst.temperature,
                  top_p=body.top_p if body.top_p is not None else asst.top_p,
                  max_completion_tokens=body.max_completion_tokens, max_prompt_tokens=body.max_prompt_tokens,
                  expires_at=created + 600, parallel_tool_calls=True, tool_choice="auto",
                  response_format="auto", truncation_strategy=TruncationStrategy(type="auto", last_messages=None))
        self.store.put("run", run, parent=thread.id)
        if not body.stream:
            self.executor.start(run)
            return run
        return self._stream(run)

    def _stream(self, run: Run) -> StreamingResponse:
        def start(channel: ThreadToLoop) -> Callable[[], None]:
            def sink(event: str, obj: BaseModel | str | None) -> None:
                if obj is not None:
                    channel.put(sse(event, obj))
                elif event == "abort":  # injected fault: drop the connection
                    channel.put(ABORT)
                else:  # the run is over
                    channel.put(sse("done", "[DONE]"))
                    channel.put(None)

            return self.executor.start(run, sink).cancel.set

        return sse_response(start)

    def create_run(self, thread_id: str, body: RunIn, request: Request) -> Any:
        thread = self._thread(thread_id)
        self._assistant(body.assistant_id)
        if (active := self.active_run(thread_id)) is not None:
            raise bad_request(f"Thread {thread_id} already has an active run {active.id}.")
        for msg in body.additional_messages or []:
            self._add_message(thread_id, msg)
        self._preflight(thread_id)
        return self._start(thread, body, request, body.additional_instructions)

    def _preflight(self, thread_id: str) -> None:
        try:
            last = self.store.latest("message", thread_id, Message)  # the question that starts the run
            self.executor.engine.preflight([{"role": last.role, "content": message_text(last)}] if last else [])
        except HTTPFault as fault:
            raise from_fault(fault) from None

    def create_thread_and_run(self, body: ThreadAndRunIn, request: Request) -> Any:
        self._assistant(body.assistant_id)
        thread = self._new_thread(body.thread or ThreadIn())
        self._preflight(thread.id)
        return self._start(thread, body, request)

    def list_runs(self, thread_id: str, limit: int = 20, order: ListOrder = "desc",
                  after: str | None = None, before: str | None = None) -> dict[str, Any]:
        self._thread(thread_id)
        return page(self.store.children("run", thread_id, Run), limit=limit, order=order, after=after,
                    before=before)

    def get_run(self, thread_id: str, run_id: str) -> Run:
        return self._run(thread_id, run_id)

    def cancel_run(self, thread_id: str, run_id: str) -> Run:
        run = self._run(thread_id, run_id)
        if run.status not in ACTIVE:
            raise bad_request(f"Cannot cancel run with status '{run.status}'.", code="run_not_active")
        self.executor.cancel(run)
        run = self._run(thread_id, run_id)
        return run if run.status not in ACTIVE else run.model_copy(update={"status": "cancelling"})

    def list_steps(self, thread_id: str, run_id: str, limit: int = 20, order: ListOrder = "desc",
                   after: str | None = None, before: str | None = None) -> dict[str, Any]:
        self._run(thread_id, run_id)
        return page(self.store.children("step", run_id, RunStep), limit=limit, order=order, after=after,
                    before=before)


def model_list(model_ids: list[str]) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "agora"}
                                       for m in model_ids]}

