"""The Assistants API v2: assistants, threads, messages, runs, run steps and tool outputs."""

from __future__ import annotations

import threading
from typing import Any

from openai.types import VectorStore
from openai.types.beta import Assistant, AssistantDeleted, Thread, ThreadDeleted
from openai.types.beta.assistant import ToolResources, ToolResourcesFileSearch
from openai.types.beta.thread import ToolResources as ThreadResources
from openai.types.beta.thread import ToolResourcesFileSearch as ThreadFileSearch
from openai.types.beta.threads import Message, MessageDeleted, Run
from openai.types.beta.threads.run import TruncationStrategy
from openai.types.beta.threads.runs import RunStep
from sse_starlette import EventSourceResponse

from ..shared.api import ACTIVE
from .base import API, ListOrder, Work, page
from .engines import Engine
from .errors import bad_request
from .models import (
    AssistantIn,
    MessageIn,
    RunIn,
    RunOptions,
    ThreadAndRunIn,
    ThreadIn,
    ThreadUpdate,
    ToolOutputsIn,
    ToolResourcesIn,
    VectorStoreIn,
    sdk_tools,
)
from .runs import RunExecutor, message_text, text_block
from .sse import sse_response
from .store import Store, new_id, now
from .vector_stores import VectorStoresAPI


class AssistantsAPI(API):
    def __init__(self, store: Store, engine: Engine, executor: RunExecutor, work: Work | None = None,
                 vector_stores: VectorStoresAPI | None = None) -> None:
        super().__init__(store, engine, work)
        self.executor, self.vector_stores = executor, vector_stores
        # Checking that a thread has no active run and then writing to it is one step: requests
        # arrive on many threads at once, and a thread must never get two runs.
        self._writing = threading.Lock()
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
        r.delete("/threads/{thread_id}/messages/{message_id}")(self.delete_message)
        r.post("/threads/{thread_id}/runs")(self.create_run)
        r.get("/threads/{thread_id}/runs")(self.list_runs)
        r.get("/threads/{thread_id}/runs/{run_id}")(self.get_run)
        r.post("/threads/{thread_id}/runs/{run_id}/cancel")(self.cancel_run)
        r.post("/threads/{thread_id}/runs/{run_id}/submit_tool_outputs")(self.submit_tool_outputs)
        r.get("/threads/{thread_id}/runs/{run_id}/steps")(self.list_steps)

    # ------------------------------------------------------------------ lookups

    def _run(self, thread_id: str, run_id: str) -> Run:
        self.find("thread", thread_id, Thread)
        return self.executor.refresh(self.find("run", run_id, Run, thread_id=thread_id))

    def active_run(self, thread_id: str) -> Run | None:
        # A run starts only when none is active, so only a thread's newest run can be.
        run = self.store.latest("run", thread_id, Run)
        run = self.executor.refresh(run) if run is not None else None
        return run if run is not None and run.status in ACTIVE else None

    def _add_message(self, thread_id: str, body: MessageIn) -> Message:
        msg = Message(id=new_id("msg"), object="thread.message", created_at=now(), thread_id=thread_id,
                      role=body.role, content=text_block(body.text()), status="completed",
                      completed_at=now(), attachments=body.attachments or [], metadata=body.metadata or {})
        return self.store.put("message", msg, parent=thread_id)

    def _resources(self, given: ToolResourcesIn | None) -> ToolResources | None:
        """An assistant's ``tool_resources``: named vector stores checked, new ones (``vector_stores``) made."""
        ids = self._vector_store_ids(given)
        return None if ids is None else ToolResources(file_search=ToolResourcesFileSearch(vector_store_ids=ids))

    def _thread_resources(self, given: ToolResourcesIn | None) -> ThreadResources | None:
        """A thread's ``tool_resources`` (the SDK has a type of its own for them)."""
        ids = self._vector_store_ids(given)
        return None if ids is None else ThreadResources(file_search=ThreadFileSearch(vector_store_ids=ids))

    def _vector_store_ids(self, given: ToolResourcesIn | None) -> list[str] | None:
        if given is None or given.file_search is None:
            return None
        ids = list(given.file_search.vector_store_ids or [])
        for vector_store_id in ids:
            self.find("vector_store", vector_store_id, VectorStore)
        if given.file_search.vector_stores:
            if self.vector_stores is None:
                raise bad_request("This server has no vector stores.", "tool_resources.file_search.vector_stores")
            for new in given.file_search.vector_stores:
                ids.append(self.vector_stores.create(VectorStoreIn(file_ids=new.file_ids, metadata=new.metadata)).id)
        return ids

    # ------------------------------------------------------------------ assistants

    def create_assistant(self, body: AssistantIn) -> Assistant:
        if not body.model:
            raise bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
        asst = Assistant(id=new_id("asst"), object="assistant", created_at=now(), model=body.model,
                         name=body.name, description=body.description, instructions=body.instructions,
                         metadata=body.metadata or {}, tools=sdk_tools(body.tools) or [],
                         temperature=body.temperature, top_p=body.top_p, response_format="auto",
                         tool_resources=self._resources(body.tool_resources))
        return self.store.put("assistant", asst)

    def list_assistants(self, limit: int = 20, order: ListOrder = "desc", after: str | None = None,
                        before: str | None = None) -> dict[str, Any]:
        return page(self.store.children("assistant", None, Assistant), limit=limit, order=order,
                    after=after, before=before)

    def get_assistant(self, assistant_id: str) -> Assistant:
        return self.find("assistant", assistant_id, Assistant)

    def update_assistant(self, assistant_id: str, body: AssistantIn) -> Assistant:
        asst = self.find("assistant", assistant_id, Assistant)
        changes = body.model_dump(exclude_unset=True, exclude={"tools", "response_format", "tool_resources"})
        if body.tools is not None:
            changes["tools"] = sdk_tools(body.tools)
        if body.tool_resources is not None:
            changes["tool_resources"] = self._resources(body.tool_resources)
        return self.store.put("assistant", asst.model_copy(update=changes))

    def delete_assistant(self, assistant_id: str) -> AssistantDeleted:
        self.find("assistant", assistant_id, Assistant)
        self.store.delete("assistant", assistant_id)
        return AssistantDeleted(id=assistant_id, object="assistant.deleted", deleted=True)

    # ------------------------------------------------------------------ threads & messages

    def _new_thread(self, body: ThreadIn, resources: ToolResourcesIn | None = None) -> Thread:
        thread = self.store.put("thread", Thread(id=new_id("thread"), object="thread", created_at=now(),
                                                 metadata=body.metadata or {},
                                                 tool_resources=self._thread_resources(resources or body.tool_resources)))
        for msg in body.messages:
            self._add_message(thread.id, msg)
        return thread

    def create_thread(self, body: ThreadIn | None = None) -> Thread:
        return self._new_thread(body or ThreadIn())

    def get_thread(self, thread_id: str) -> Thread:
        return self.find("thread", thread_id, Thread)

    def update_thread(self, thread_id: str, body: ThreadUpdate) -> Thread:
        thread = self.find("thread", thread_id, Thread)
        changes: dict[str, Any] = {"metadata": body.metadata or thread.metadata}
        if body.tool_resources is not None:
            changes["tool_resources"] = self._thread_resources(body.tool_resources)
        return self.store.put("thread", thread.model_copy(update=changes))

    def delete_thread(self, thread_id: str) -> ThreadDeleted:
        self.find("thread", thread_id, Thread)
        for msg in self.store.children("message", thread_id, Message):
            self.store.delete("message", msg.id)
        self.store.delete("thread", thread_id)
        return ThreadDeleted(id=thread_id, object="thread.deleted", deleted=True)

    def create_message(self, thread_id: str, body: MessageIn) -> Message:
        self.find("thread", thread_id, Thread)
        with self._writing:
            if (run := self.active_run(thread_id)) is not None:
                raise bad_request(f"Can't add messages to {thread_id} while a run {run.id} is active.")
            return self._add_message(thread_id, body)

    def list_messages(self, thread_id: str, limit: int = 20, order: ListOrder = "desc",
                      after: str | None = None, before: str | None = None,
                      run_id: str | None = None) -> dict[str, Any]:
        self.find("thread", thread_id, Thread)
        msgs = self.store.children("message", thread_id, Message)
        if run_id is not None:
            msgs = [m for m in msgs if m.run_id == run_id]
        return page(msgs, limit=limit, order=order, after=after, before=before)

    def get_message(self, thread_id: str, message_id: str) -> Message:
        self.find("thread", thread_id, Thread)
        return self.find("message", message_id, Message, thread_id=thread_id)

    def delete_message(self, thread_id: str, message_id: str) -> MessageDeleted:
        """A message leaves the thread (a later run is not shown it); not while a run writes on it."""
        self.find("thread", thread_id, Thread)
        message = self.find("message", message_id, Message, thread_id=thread_id)
        with self._writing:
            if (run := self.active_run(thread_id)) is not None and run.id == message.run_id:
                raise bad_request(f"Can't delete message {message_id} while its run {run.id} is active.")
            self.store.delete("message", message_id)
        return MessageDeleted(id=message_id, object="thread.message.deleted", deleted=True)

    # ------------------------------------------------------------------ runs

    def _start(self, thread: Thread, body: RunOptions,
               extra_instructions: str | None = None) -> Run | EventSourceResponse:
        """Store a new run on ``thread`` and start it (called holding ``_writing``)."""
        asst = self.find("assistant", body.assistant_id, Assistant)
        last = self.store.latest("message", thread.id, Message)  # the question that starts the run
        self.engine.preflight([{"role": last.role, "content": message_text(last)}] if last else [])
        instructions = body.instructions if body.instructions is not None else (asst.instructions or "")
        if extra_instructions:
            instructions = f"{instructions}\n\n{extra_instructions}" if instructions else extra_instructions
        created, expires = self.executor.new_run_times()
        tools = sdk_tools(body.tools)
        run = Run(id=new_id("run"), object="thread.run", created_at=created, thread_id=thread.id,
                  assistant_id=asst.id, status="queued", instructions=instructions,
                  model=body.model or asst.model, tools=asst.tools if tools is None else tools,
                  metadata=body.metadata or {},
                  temperature=body.temperature if body.temperature is not None else asst.temperature,
                  top_p=body.top_p if body.top_p is not None else asst.top_p,
                  max_completion_tokens=body.max_completion_tokens, max_prompt_tokens=body.max_prompt_tokens,
                  expires_at=expires, parallel_tool_calls=True, tool_choice=body.tool_choice or "auto",
                  response_format="auto", truncation_strategy=TruncationStrategy(type="auto", last_messages=None))
        self.store.put("run", run, parent=thread.id)
        if not body.stream:
            self.executor.start(run)
            return run
        return sse_response(lambda channel: self.executor.start(run, channel).cancel.set)

    def create_run(self, thread_id: str, body: RunIn) -> Any:
        thread = self.find("thread", thread_id, Thread)
        self.find("assistant", body.assistant_id, Assistant)
        sdk_tools(body.tools)  # refuse what is not offered before anything is written
        with self._writing:
            if (active := self.active_run(thread_id)) is not None:
                raise bad_request(f"Thread {thread_id} already has an active run {active.id}.")
            for msg in body.additional_messages or []:
                self._add_message(thread_id, msg)
            return self._start(thread, body, body.additional_instructions)

    def create_thread_and_run(self, body: ThreadAndRunIn) -> Any:
        self.find("assistant", body.assistant_id, Assistant)
        sdk_tools(body.tools)
        with self._writing:
            return self._start(self._new_thread(body.thread or ThreadIn(), body.tool_resources), body)

    def list_runs(self, thread_id: str, limit: int = 20, order: ListOrder = "desc",
                  after: str | None = None, before: str | None = None) -> dict[str, Any]:
        self.find("thread", thread_id, Thread)
        runs = [self.executor.refresh(run) for run in self.store.children("run", thread_id, Run)]
        return page(runs, limit=limit, order=order, after=after, before=before)

    def get_run(self, thread_id: str, run_id: str) -> Run:
        return self._run(thread_id, run_id)

    def cancel_run(self, thread_id: str, run_id: str) -> Run:
        run = self._run(thread_id, run_id)
        if run.status not in ACTIVE:
            raise bad_request(f"Cannot cancel run with status '{run.status}'.", code="run_not_active")
        self.executor.cancel(run)
        run = self._run(thread_id, run_id)
        return run if run.status not in ACTIVE else run.model_copy(update={"status": "cancelling"})

    def submit_tool_outputs(self, thread_id: str, run_id: str, body: ToolOutputsIn) -> Any:
        with self._writing:  # two submissions must not both resume the run
            return self._submit(self._run(thread_id, run_id), body)

    def _submit(self, run: Run, body: ToolOutputsIn) -> Any:
        if run.status != "requires_action" or run.required_action is None:
            raise bad_request(f'Runs in status "{run.status}" do not accept tool outputs.')
        expected = sorted(call.id for call in run.required_action.submit_tool_outputs.tool_calls)
        outputs = {out.tool_call_id: out.output for out in body.tool_outputs}
        if sorted(outputs) != expected:
            raise bad_request(f"Expected tool outputs for call_ids {expected}, got {sorted(outputs)}",
                              "tool_outputs", "invalid_value")
        if not body.stream:
            return self.executor.resume(run, outputs).run
        return sse_response(lambda channel: self.executor.resume(run, outputs, channel).cancel.set)

    def list_steps(self, thread_id: str, run_id: str, limit: int = 20, order: ListOrder = "desc",
                   after: str | None = None, before: str | None = None) -> dict[str, Any]:
        self._run(thread_id, run_id)
        return page(self.store.children("step", run_id, RunStep), limit=limit, order=order, after=after,
                    before=before)


def model_list(model_ids: list[str]) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "agora"}
                                       for m in model_ids]}
