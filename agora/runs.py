"""Executes Assistants runs: engine pieces in, OpenAI's run events out.

Each run works in its own thread.  It writes every state change to the store and
hands each event to an optional sink (the streaming response), so a streamed
run and a polled run are the same code path.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from openai.types.beta.threads import (
    Message,
    MessageContent,
    Run,
    Text,
    TextContentBlock,
)
from openai.types.beta.threads.message import IncompleteDetails as MessageIncomplete
from openai.types.beta.threads.required_action_function_tool_call import Function, RequiredActionFunctionToolCall
from openai.types.beta.threads.run import IncompleteDetails as RunIncomplete
from openai.types.beta.threads.run import LastError, RequiredAction, RequiredActionSubmitToolOutputs, Usage
from openai.types.beta.threads.runs import MessageCreationStepDetails, RunStep
from openai.types.beta.threads.runs.message_creation_step_details import MessageCreation
from openai.types.beta.threads.runs.run_step import LastError as StepError
from openai.types.beta.threads.runs.run_step import Usage as StepUsage
from pydantic import BaseModel

from .deltas import message_delta
from .engines import ConnectionDrop, Engine, Generation, RunExpired, ToolCallRequested
from .store import Store, new_id, now

log = logging.getLogger(__name__)

ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})

#: Receives ``(event name, object or its JSON)``; ``("done", None)`` ends the stream.
Sink = Callable[[str, BaseModel | str | None], None]


def message_text(message: Message) -> str:
    return "".join(block.text.value for block in message.content if isinstance(block, TextContentBlock))


def text_block(value: str) -> list[MessageContent]:
    return [TextContentBlock(type="text", text=Text(value=value, annotations=[]))]


@dataclass
class RunHandle:
    run_id: str
    sink: Sink | None
    cancel: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)

    def emit(self, event: str, obj: BaseModel | str | None = None) -> None:
        if self.sink is not None:
            self.sink(event, obj)


class RunExecutor:
    """Starts, tracks and cancels the runs of one server."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store = store
        self.engine = engine
        self._handles: dict[str, RunHandle] = {}
        self._lock = threading.Lock()

    def start(self, run: Run, sink: Sink | None = None) -> RunHandle:
        handle = RunHandle(run.id, sink)
        with self._lock:
            self._handles[run.id] = handle
        threading.Thread(target=self._execute, args=(handle, run), name=f"run-{run.id}", daemon=True).start()
        return handle

    def cancel(self, run: Run, wait: float = 2.0) -> None:
        """Ask a run to stop; wait briefly so the thread is free when we return."""
        with self._lock:
            handle = self._handles.get(run.id)
        if handle is not None:
            handle.cancel.set()
            handle.done.wait(wait)
        elif run.status == "requires_action":  # nothing is working on it: cancel at once
            self._save(run.model_copy(update={"status": "cancelled", "cancelled_at": now(), "required_action": None}))

    def busy(self) -> int:
        with self._lock:
            return len(self._handles)

    # ------------------------------------------------------------------ the run itself

    def _save(self, run: Run) -> Run:
        return self.store.put("run", run, parent=run.thread_id)

    def _execute(self, handle: RunHandle, run: Run) -> None:
        try:
            self._run(handle, run)
        except Exception:  # never leave a run active because of a bug here
            log.exception("run %s crashed", run.id)
            run = run.model_copy(update={"status": "failed", "failed_at": now(),
                                         "last_error": LastError(code="server_error", message="internal error")})
            self._save(run)
            handle.emit("thread.run.failed", run)
        finally:
            handle.emit("done")
            with self._lock:
                self._handles.pop(run.id, None)
            handle.done.set()

    def thread_messages(self, thread_id: str) -> list[dict[str, str]]:
        return [{"role": m.role, "content": text} for m in self.store.children("message", thread_id, Message)
                if (text := message_text(m))]

    def _prompt(self, run: Run) -> list[dict[str, str]]:
        system = [{"role": "system", "content": run.instructions}] if run.instructions else []
        return system + self.thread_messages(run.thread_id)

    def _run(self, handle: RunHandle, run: Run) -> None:
        handle.emit("thread.run.created", run)
        handle.emit("thread.run.queued", run)
        if handle.cancel.is_set():
            return self._finish_cancelled(handle, run, None, None, "")
        run = self._save(run.model_copy(update={"status": "in_progress", "started_at": now()}))
        handle.emit("thread.run.in_progress", run)

        gen = Generation(messages=self._prompt(run), model=run.model, temperature=run.temperature, top_p=run.top_p,
                         max_tokens=run.max_completion_tokens, cancelled=handle.cancel)
        msg_id, step_id = new_id("msg"), new_id("step")
        step = RunStep(id=step_id, object="thread.run.step", assistant_id=run.assistant_id, created_at=now(),
                       run_id=run.id, thread_id=run.thread_id, status="in_progress", type="message_creation",
                       step_details=MessageCreationStepDetails(
                           type="message_creation", message_creation=MessageCreation(message_id=msg_id)))
        self.store.put("step", step, parent=run.id)
        handle.emit("thread.run.step.created", step)
        handle.emit("thread.run.step.in_progress", step)
        message = Message(id=msg_id, object="thread.message", created_at=now(), thread_id=run.thread_id,
                          role="assistant", content=[], assistant_id=run.assistant_id, run_id=run.id,
                          status="in_progress", attachments=[], metadata={})
        self.store.put("message", message, parent=run.thread_id)
        handle.emit("thread.message.created", message)
        handle.emit("thread.message.in_progress", message)

        text = ""
        try:
            for piece in self.engine.stream(gen):
                text += piece
                handle.emit("thread.message.delta", message_delta(msg_id, piece))
        except ConnectionDrop:  # injected fault: cut the client off, end the run as failed
            handle.emit("abort")
            return self._finish_failed(handle, run, step, message, text, gen, "connection dropped")
        except RunExpired:
            return self._finish_expired(handle, run, step, message, text)
        except ToolCallRequested as exc:
            return self._require_action(handle, run, step, message, str(exc))
        except Exception as exc:  # the engine failed: the run fails, the partial text is kept
            log.warning("run %s failed: %s", run.id, exc)
            return self._finish_failed(handle, run, step, message, text, gen, str(exc) or type(exc).__name__)
        if handle.cancel.is_set():
            return self._finish_cancelled(handle, run, step, message, text)
        usage = (gen.prompt_tokens, gen.completion_tokens)
        if gen.finish_reason == "length":
            message = self._close_message(message, text, "incomplete", "max_tokens")
            handle.emit("thread.message.incomplete", message)
        else:
            message = self._close_message(message, text, "completed")
            handle.emit("thread.message.completed", message)
        step = self.store.put("step", step.model_copy(update={
            "status": "completed", "completed_at": now(), "usage": StepUsage(
                prompt_tokens=usage[0], completion_tokens=usage[1], total_tokens=sum(usage))}), parent=run.id)
        handle.emit("thread.run.step.completed", step)
        final: dict[str, object] = {"usage": Usage(prompt_tokens=usage[0], completion_tokens=usage[1],
                                                    total_tokens=sum(usage))}
        if gen.finish_reason == "length":
            final.update(status="incomplete", incomplete_details=RunIncomplete(reason="max_completion_tokens"))
            run = self._save(run.model_copy(update=final))
            handle.emit("thread.run.incomplete", run)
        else:
            final.update(status="completed", completed_at=now())
            run = self._save(run.model_copy(update=final))
            handle.emit("thread.run.completed", run)

    def _close_message(self, message: Message, text: str, status: str, reason: str | None = None) -> Message:
        update: dict[str, object] = {"status": status, "content": text_block(text) if text else []}
        if status == "completed":
            update["completed_at"] = now()
        else:
            update.update(incomplete_at=now(), incomplete_details=MessageIncomplete(reason=reason))  # type: ignore[arg-type]
        return self.store.put("message", message.model_copy(update=update), parent=message.thread_id)

    def _finish_failed(self, handle: RunHandle, run: Run, step: RunStep, message: Message, text: str,
                       gen: Generation, reason: str) -> None:
        message = self._close_message(message, text, "incomplete", "run_failed")
        handle.emit("thread.message.incomplete", message)
        step = self.store.put("step", step.model_copy(update={
            "status": "failed", "failed_at": now(),
            "last_error": StepError(code="server_error", message=reason)}), parent=run.id)
        handle.emit("thread.run.step.failed", step)
        run = self._save(run.model_copy(update={
            "status": "failed", "failed_at": now(), "last_error": LastError(code="server_error", message=reason),
            "usage": Usage(prompt_tokens=gen.prompt_tokens, completion_tokens=gen.completion_tokens,
                           total_tokens=gen.prompt_tokens + gen.completion_tokens)}))
        handle.emit("thread.run.failed", run)

    def _finish_expired(self, handle: RunHandle, run: Run, step: RunStep, message: Message, text: str) -> None:
        message = self._close_message(message, text, "incomplete", "run_expired")
        handle.emit("thread.message.incomplete", message)
        step = self.store.put("step", step.model_copy(update={"status": "expired", "expired_at": now()}),
                              parent=run.id)
        handle.emit("thread.run.step.expired", step)
        run = self._save(run.model_copy(update={"status": "expired"}))
        handle.emit("thread.run.expired", run)

    def _require_action(self, handle: RunHandle, run: Run, step: RunStep, message: Message, tool: str) -> None:
        """The model wants a tool: the run waits for tool outputs, as OpenAI's did."""
        self.store.delete("message", message.id)
        self.store.delete("step", step.id)
        call = RequiredActionFunctionToolCall(id=new_id("call"), type="function",
                                              function=Function(name=tool, arguments="{}"))
        run = self._save(run.model_copy(update={"status": "requires_action", "required_action": RequiredAction(
            type="submit_tool_outputs", submit_tool_outputs=RequiredActionSubmitToolOutputs(tool_calls=[call]))}))
        handle.emit("thread.run.requires_action", run)

    def _finish_cancelled(self, handle: RunHandle, run: Run, step: RunStep | None, message: Message | None,
                          text: str) -> None:
        run = self._save(run.model_copy(update={"status": "cancelling"}))
        handle.emit("thread.run.cancelling", run)
        if message is not None:
            message = self._close_message(message, text, "incomplete", "run_cancelled")
            handle.emit("thread.message.incomplete", message)
        if step is not None:
            step = self.store.put("step", step.model_copy(update={"status": "cancelled", "cancelled_at": now()}),
                                  parent=run.id)
            handle.emit("thread.run.step.cancelled", step)
        run = self._save(run.model_copy(update={"status": "cancelled", "cancelled_at": now()}))
        handle.emit("thread.run.cancelled", run)


def recover(store: Store) -> int:
    """On start-up, end the runs a previous process left active: nothing is working on them now."""
    ended = 0
    for run in store.children("run", None, Run):
        if run.status not in ACTIVE:
            continue
        reason = "The server stopped while this run was in progress."
        if run.status == "queued":
            store.put("run", run.model_copy(update={"status": "expired"}))
        else:
            store.put("run", run.model_copy(update={
                "status": "failed", "failed_at": now(), "last_error": LastError(code="server_error", message=reason)}))
        for step in store.children("step", run.id, RunStep):
            if step.status == "in_progress":
                store.put("step", step.model_copy(update={
                    "status": "failed", "failed_at": now(), "last_error": StepError(code="server_error", message=reason)}))
        for msg in store.children("message", run.thread_id, Message):
            if msg.run_id == run.id and msg.status == "in_progress":
                store.put("message", msg.model_copy(update={
                    "status": "incomplete", "incomplete_at": now(),
                    "incomplete_details": MessageIncomplete(reason="run_failed")}))
        ended += 1
    return ended
