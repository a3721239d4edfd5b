"""Executes Assistants runs: engine pieces in, OpenAI's run events out.

Each run works in a thread of its own.  It writes every state change to the store and hands
each event to an optional listener (the streaming response), so a streamed run and a polled
run are the same code path.  A run that asks for a tool waits in ``requires_action`` until
its outputs are submitted, then goes on in a new thread; a run past ``expires_at`` expires.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from openai.types.beta import Assistant, FileSearchTool, FunctionTool, Thread
from openai.types.beta.file_search_tool import FileSearch as FileSearchOptions
from openai.types.beta.threads import AnnotationDelta as Annotation
from openai.types.beta.threads import (
    FileCitationAnnotation,
    FileCitationDeltaAnnotation,
    Message,
    MessageContent,
    MessageDelta,
    MessageDeltaEvent,
    Run,
    Text,
    TextContentBlock,
    TextDelta,
    TextDeltaBlock,
)
from openai.types.beta.threads.file_citation_annotation import FileCitation
from openai.types.beta.threads.file_citation_delta_annotation import (
    FileCitation as DeltaCitation,
)
from openai.types.beta.threads.message import IncompleteDetails as MessageIncomplete
from openai.types.beta.threads.required_action_function_tool_call import (
    Function,
    RequiredActionFunctionToolCall,
)
from openai.types.beta.threads.run import IncompleteDetails as RunIncomplete
from openai.types.beta.threads.run import (
    LastError,
    RequiredAction,
    RequiredActionSubmitToolOutputs,
    Usage,
)
from openai.types.beta.threads.runs import (
    FileSearchToolCall,
    FunctionToolCall,
    MessageCreationStepDetails,
    RunStep,
    ToolCallsStepDetails,
)
from openai.types.beta.threads.runs.file_search_tool_call import (
    FileSearch as StepFileSearch,
)
from openai.types.beta.threads.runs.file_search_tool_call import (
    FileSearchRankingOptions as StepRanking,
)
from openai.types.beta.threads.runs.file_search_tool_call import (
    FileSearchResult,
    FileSearchResultContent,
)
from openai.types.beta.threads.runs.function_tool_call import Function as StepFunction
from openai.types.beta.threads.runs.message_creation_step_details import MessageCreation
from openai.types.beta.threads.runs.run_step import LastError as StepError
from openai.types.beta.threads.runs.run_step import Usage as StepUsage
from pydantic import BaseModel

from ..shared.api import ACTIVE
from ..shared.citations import PASSAGES, Citation, cite, context, without_markers
from ..shared.retrieval import Hit
from .engines import Deadline, Engine, Generation, ToolCall
from .sse import message_delta
from .store import Store, new_id, now

log = logging.getLogger(__name__)

LIFETIME = 600.0  # seconds from creation to expires_at, as OpenAI's runs had
SAVE_EVERY = 0.5  # seconds between saves of a growing message: a crash loses at most this much
STOPPED = "The server stopped while this run was in progress."


class RunListener(Protocol):
    """Where a run's events go as they happen (a streaming response's channel)."""

    def event(self, name: str | None, data: BaseModel | str) -> None: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


@dataclass
class RunHandle:
    run: Run  # as it was when the handle was made
    listener: RunListener | None
    cancel: Deadline
    done: threading.Event = field(default_factory=threading.Event)

    def emit(self, name: str, obj: BaseModel | str) -> None:
        if self.listener is not None:
            self.listener.event(name, obj)


def message_text(message: Message) -> str:
    return "".join(block.text.value for block in message.content if isinstance(block, TextContentBlock))


def text_block(value: str, citations: list[Citation] | None = None) -> list[MessageContent]:
    annotations = [FileCitationAnnotation(type="file_citation", text=c.marker, start_index=c.start, end_index=c.end,
                                          file_citation=FileCitation(file_id=c.file_id, quote=c.quote))  # type: ignore[call-arg]
                   for c in citations or []]
    return [TextContentBlock(type="text", text=Text(value=value, annotations=annotations))]  # type: ignore[arg-type]


def cited_delta(message_id: str, suffix: str, citations: list[Citation]) -> MessageDeltaEvent:
    """The last ``thread.message.delta`` of a reply that cites: its markers, and what they stand for."""
    annotations: list[Annotation] = [FileCitationDeltaAnnotation(index=i, type="file_citation", text=c.marker, start_index=c.start,
                                               end_index=c.end, file_citation=DeltaCitation(file_id=c.file_id,
                                                                                            quote=c.quote))
                   for i, c in enumerate(citations)]
    return MessageDeltaEvent(id=message_id, object="thread.message.delta", delta=MessageDelta(content=[
        TextDeltaBlock(index=0, type="text", text=TextDelta(value=suffix, annotations=annotations))]))


Search = Callable[[list[str], str, int, float], list[Hit]]


def usage_of(gen: Generation) -> tuple[int, int, int]:
    return gen.prompt_tokens, gen.completion_tokens, gen.prompt_tokens + gen.completion_tokens


EndStatus = Literal["completed", "incomplete", "failed", "expired", "cancelled"]


@dataclass(frozen=True)
class End:
    """What a run's reply message, its message-creation step and the run itself become when the
    run ends one way.  A message without ``message_reason`` is completed, one with it incomplete;
    a status sets the timestamp field named beside it (OpenAI's runs set none for ``incomplete``
    and ``expired``)."""

    message_reason: Literal["max_tokens", "run_failed", "run_expired", "run_cancelled"] | None
    step: Literal["completed", "failed", "expired", "cancelled"]
    step_at: str
    run_at: str | None
    run_reason: Literal["max_completion_tokens"] | None = None  # the run's incomplete_details.reason
    step_usage: bool = False  # the tokens counted, on the step and on the run
    run_usage: bool = False
    via: Literal["cancelling"] | None = None  # a status the run is saved and announced in first


#: How a run ends, by the status it ends in.  A reply the token limit cut is ``incomplete``, yet
#: its step completed; only a finished or failed reply reports the tokens it used.
ENDS: dict[EndStatus, End] = {
    "completed": End(message_reason=None, step="completed", step_at="completed_at", run_at="completed_at",
                     step_usage=True, run_usage=True),
    "incomplete": End(message_reason="max_tokens", step="completed", step_at="completed_at", run_at=None,
                      run_reason="max_completion_tokens", step_usage=True, run_usage=True),
    "failed": End(message_reason="run_failed", step="failed", step_at="failed_at", run_at="failed_at",
                  run_usage=True),
    "expired": End(message_reason="run_expired", step="expired", step_at="expired_at", run_at=None),
    "cancelled": End(message_reason="run_cancelled", step="cancelled", step_at="cancelled_at", run_at="cancelled_at",
                     via="cancelling"),
}


class RunExecutor:
    """Starts, resumes, tracks, cancels and expires the runs of one server."""

    def __init__(self, store: Store, engine: Engine, lifetime: float = LIFETIME, search: Search | None = None) -> None:
        self.store, self.engine, self.lifetime, self.search = store, engine, lifetime, search
        self._handles: dict[str, RunHandle] = {}
        self._deadlines: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def new_run_times(self) -> tuple[int, int]:
        """``created_at`` and ``expires_at`` for a run created now."""
        created = now()
        return created, created + math.ceil(self.lifetime)

    def start(self, run: Run, listener: RunListener | None = None) -> RunHandle:
        with self._lock:
            self._deadlines[run.id] = time.monotonic() + self.lifetime
        return self._spawn(run, listener, None)

    def resume(self, run: Run, outputs: dict[str, str], listener: RunListener | None = None) -> RunHandle:
        """Go on with a run that required action: its tool outputs complete the waiting step."""
        step = self._take_outputs(run, outputs)
        run = self._save(run.model_copy(update={"status": "queued", "required_action": None}))
        return self._spawn(run, listener, step)

    def _spawn(self, run: Run, listener: RunListener | None, resumed: RunStep | None) -> RunHandle:
        with self._lock:
            at = self._deadlines.get(run.id, time.monotonic() + (run.expires_at or 0) - time.time())
            handle = self._handles[run.id] = RunHandle(run, listener, Deadline(at))
        threading.Thread(target=self._execute, args=(handle, run, resumed), name=f"run-{run.id}",
                         daemon=True).start()
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

    def refresh(self, run: Run) -> Run:
        """The run as it stands now: one that waited for tool outputs past ``expires_at`` has expired."""
        if run.status == "requires_action" and run.expires_at is not None and time.time() >= run.expires_at:
            run = self._save(run.model_copy(update={"status": "expired", "required_action": None}))
        return run

    def busy(self) -> int:
        with self._lock:
            return len(self._handles)

    def shutdown(self, wait: float = 3.0) -> int:
        """The server is stopping: end every run now, as the crash recovery would on the next start
        (failed, their messages incomplete with the text so far).  Returns how many were ended."""
        with self._lock:
            self._stopping = True
            handles = list(self._handles.values())
        for handle in handles:
            handle.cancel.set()
        deadline = time.monotonic() + wait
        for handle in handles:
            handle.done.wait(max(0.0, deadline - time.monotonic()))
        return len(handles) + recover(self.store)

    # ------------------------------------------------------------------ the run itself

    def _save(self, run: Run) -> Run:
        return self.store.put("run", run, parent=run.thread_id)

    def _save_step(self, step: RunStep, **changes: object) -> RunStep:
        return self.store.put("step", step.model_copy(update=changes), parent=step.run_id)

    def _execute(self, handle: RunHandle, run: Run, resumed: RunStep | None) -> None:
        try:
            if resumed is None:
                handle.emit("thread.run.created", run)
            handle.emit("thread.run.queued", run)
            if resumed is not None:
                handle.emit("thread.run.step.completed", resumed)
            if self._stopping:
                return self._end(handle, run, "failed", error=STOPPED)
            if handle.cancel.is_set():
                return self._end(handle, run, "cancelled")
            run = self._save(run.model_copy(update={"status": "in_progress", "started_at": now(),
                                                    "required_action": None}))
            handle.emit("thread.run.in_progress", run)
            self._generate(handle, run)
        except Exception:  # never leave a run active because of a bug here
            log.exception("run %s crashed", run.id)
            self._end(handle, run, "failed", error="internal error")
        finally:
            self._close(handle)

    def _close(self, handle: RunHandle) -> None:
        if handle.listener is not None:
            handle.listener.event("done", "[DONE]")
            handle.listener.close()
        with self._lock:
            self._handles.pop(handle.run.id, None)
            run = self.store.get("run", handle.run.id, Run)
            if run is None or run.status not in ACTIVE:
                self._deadlines.pop(handle.run.id, None)
        handle.done.set()

    def _prompt(self, run: Run, hits: list[Hit]) -> list[dict[str, str]]:
        """Instructions, passages found by file_search, the thread's messages (without citation
        markers), then the outputs of tools this run called."""
        system = [{"role": "system", "content": run.instructions}] if run.instructions else []
        if (passages := context(hits)) is not None:
            system.append(passages)
        messages = [self._as_seen_by(run, m, without_markers(text))
                    for m in self.store.children("message", run.thread_id, Message) if (text := message_text(m))]
        tools = [{"role": "tool", "content": f"{call.function.name}: {call.function.output}"}
                 for step in self.store.children("step", run.id, RunStep)
                 if isinstance(step.step_details, ToolCallsStepDetails)
                 for call in step.step_details.tool_calls if isinstance(call, FunctionToolCall)]
        return system + messages + tools

    def _as_seen_by(self, run: Run, message: Message, text: str) -> dict[str, str]:
        """A thread message as this run's assistant sees it: another speaker's words (several
        assistants may take turns on one thread, as in a debate) reach it as a named turn. A
        speaker is known by name: its own assistant with readings, or with new settings, is
        still itself."""
        if message.role == "assistant" and message.assistant_id and message.assistant_id != run.assistant_id:
            other = self.store.get("assistant", message.assistant_id, Assistant)
            mine = self.store.get("assistant", run.assistant_id, Assistant)
            name = other.name if other and other.name else None
            if name is None or mine is None or name != mine.name:
                return {"role": "user", "content": f"{name or 'Another speaker'} said: {text}"}
        return {"role": message.role, "content": text}

    def _vector_store_ids(self, run: Run) -> list[str]:
        """The vector stores file_search reads for ``run``: its thread's, then its assistant's."""
        ids: list[str] = []
        for owner in (self.store.get("thread", run.thread_id, Thread), self.store.get("assistant", run.assistant_id,
                                                                                      Assistant)):
            resources = getattr(owner, "tool_resources", None)
            if resources is not None and resources.file_search is not None:
                ids += [i for i in resources.file_search.vector_store_ids or [] if i not in ids]
        return ids

    def _file_search(self, handle: RunHandle, run: Run) -> tuple[list[Hit], str]:
        """If the run offers file_search: search with the student's question, as a ``tool_calls``
        run step; returns the passages found and the question."""
        tool = next((t for t in run.tools if isinstance(t, FileSearchTool)), None)
        last = self.store.latest("message", run.thread_id, Message)
        if tool is None or self.search is None or last is None:
            return [], ""
        options = tool.file_search or FileSearchOptions()
        threshold = options.ranking_options.score_threshold if options.ranking_options else 0.0
        question = message_text(last)
        hits = self.search(self._vector_store_ids(run), question, options.max_num_results or PASSAGES, threshold)
        call = FileSearchToolCall(id=new_id("call"), type="file_search", file_search=StepFileSearch(
            ranking_options=StepRanking(ranker="default_2024_08_21", score_threshold=threshold),
            results=[FileSearchResult(file_id=h.file_id, file_name=h.filename, score=h.score,
                                      content=[FileSearchResultContent(type="text", text=h.text)]) for h in hits]))
        step = RunStep(id=new_id("step"), object="thread.run.step", assistant_id=run.assistant_id, created_at=now(),
                       run_id=run.id, thread_id=run.thread_id, status="in_progress", type="tool_calls",
                       step_details=ToolCallsStepDetails(type="tool_calls", tool_calls=[call]))
        self.store.put("step", step, parent=run.id)
        handle.emit("thread.run.step.created", step)
        handle.emit("thread.run.step.in_progress", step)
        handle.emit("thread.run.step.completed", self._save_step(step, status="completed", completed_at=now()))
        return hits, question

    def _generate(self, handle: RunHandle, run: Run) -> None:
        hits, question = self._file_search(handle, run)
        gen = Generation(messages=self._prompt(run, hits), model=run.model, temperature=run.temperature, top_p=run.top_p,
                         max_tokens=run.max_completion_tokens, cancelled=handle.cancel,
                         tools=[t.model_dump(exclude_none=True) for t in run.tools if isinstance(t, FunctionTool)])
        step, message = self._open_message(handle, run)
        text, saved_at = "", time.monotonic()
        try:
            for piece in self.engine.stream(gen):
                text += piece
                handle.emit("thread.message.delta", message_delta(message.id, piece))
                if time.monotonic() - saved_at >= SAVE_EVERY:  # what was streamed survives a crash
                    self.store.put("message", message.model_copy(update={"content": text_block(text)}))
                    saved_at = time.monotonic()
        except ConnectionAbortedError:  # the engine dropped the client: the run fails, as on a real network drop
            if handle.listener is not None:
                handle.listener.abort()
            return self._end(handle, run, "failed", step, message, text, gen, error="connection dropped")
        except Exception as exc:  # the engine failed: the run fails, the partial text is kept
            log.warning("run %s failed: %s", run.id, exc)
            return self._end(handle, run, "failed", step, message, text, gen, error=str(exc) or type(exc).__name__)
        if self._stopping:
            return self._end(handle, run, "failed", step, message, text, gen, error=STOPPED)
        if handle.cancel.requested:
            return self._end(handle, run, "cancelled", step, message, text)
        if handle.cancel.expired:
            return self._end(handle, run, "expired", step, message, text)
        if gen.finish_reason == "tool_calls":
            return self._require_action(handle, run, step, message, gen.tool_calls)
        suffix, citations = cite(text, hits, question)
        if citations:
            handle.emit("thread.message.delta", cited_delta(message.id, suffix, citations))
        self._end(handle, run, "incomplete" if gen.finish_reason == "length" else "completed", step, message,
                  text + suffix, gen, citations=citations)

    def _open_message(self, handle: RunHandle, run: Run) -> tuple[RunStep, Message]:
        msg_id = new_id("msg")
        step = RunStep(id=new_id("step"), object="thread.run.step", assistant_id=run.assistant_id, created_at=now(),
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
        return step, message

    def _end(self, handle: RunHandle, run: Run, status: EndStatus, step: RunStep | None = None,
             message: Message | None = None, text: str = "", gen: Generation | None = None, *,
             error: str | None = None, citations: list[Citation] | None = None) -> None:
        """End ``run`` in ``status`` as :data:`ENDS` says: its reply message (with ``text``), then
        its step, then the run, each saved and announced in that order, as OpenAI's were.

        ``step`` and ``message`` are None for a run that ended before its reply began; ``gen``
        (what the engine counted) is None if none was asked for; ``error`` says why a run failed.
        """
        end = ENDS[status]
        if end.via is not None:
            run = self._save(run.model_copy(update={"status": end.via}))
            handle.emit(f"thread.run.{end.via}", run)
        prompt, completion, total = usage_of(gen) if gen is not None else (0, 0, 0)
        if message is not None:
            message = self._close_message(message, text, end, citations)
            handle.emit(f"thread.message.{message.status}", message)
        if step is not None:
            changes: dict[str, object] = {"status": end.step, end.step_at: now()}
            if error is not None:
                changes["last_error"] = StepError(code="server_error", message=error)
            if end.step_usage and gen is not None:
                changes["usage"] = StepUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
            step = self._save_step(step, **changes)
            handle.emit(f"thread.run.step.{end.step}", step)
        final: dict[str, object] = {"status": status}
        if end.run_at is not None:
            final[end.run_at] = now()
        if end.run_reason is not None:
            final["incomplete_details"] = RunIncomplete(reason=end.run_reason)
        if error is not None:
            final["last_error"] = LastError(code="server_error", message=error)
        if end.run_usage and gen is not None:
            final["usage"] = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
        run = self._save(run.model_copy(update=final))
        handle.emit(f"thread.run.{status}", run)

    def _close_message(self, message: Message, text: str, end: End, citations: list[Citation] | None) -> Message:
        update: dict[str, object] = {"content": text_block(text, citations) if text else []}
        if end.message_reason is None:
            update.update(status="completed", completed_at=now())
        else:
            update.update(status="incomplete", incomplete_at=now(),
                          incomplete_details=MessageIncomplete(reason=end.message_reason))
        return self.store.put("message", message.model_copy(update=update), parent=message.thread_id)

    def _require_action(self, handle: RunHandle, run: Run, step: RunStep, message: Message,
                        calls: list[ToolCall]) -> None:
        """The model wants tools: a ``tool_calls`` step, and the run waits for their outputs."""
        self.store.delete("message", message.id)
        self.store.delete("step", step.id)
        step = step.model_copy(update={"id": new_id("step"), "type": "tool_calls", "step_details": ToolCallsStepDetails(
            type="tool_calls", tool_calls=[FunctionToolCall(id=c.id, type="function", function=StepFunction(
                name=c.name, arguments=c.arguments, output=None)) for c in calls])})
        self.store.put("step", step, parent=run.id)
        handle.emit("thread.run.step.created", step)
        required = [RequiredActionFunctionToolCall(id=c.id, type="function",
                                                   function=Function(name=c.name, arguments=c.arguments))
                    for c in calls]
        run = self._save(run.model_copy(update={"status": "requires_action", "required_action": RequiredAction(
            type="submit_tool_outputs", submit_tool_outputs=RequiredActionSubmitToolOutputs(tool_calls=required))}))
        handle.emit("thread.run.requires_action", run)

    def _take_outputs(self, run: Run, outputs: dict[str, str]) -> RunStep | None:
        """Record the submitted outputs on the run's waiting ``tool_calls`` step, which completes."""
        for step in self.store.children("step", run.id, RunStep):
            if step.status == "in_progress" and isinstance(step.step_details, ToolCallsStepDetails):
                calls = [call.model_copy(update={"function": call.function.model_copy(
                    update={"output": outputs.get(call.id)})}) if isinstance(call, FunctionToolCall) else call
                    for call in step.step_details.tool_calls]
                return self._save_step(step, status="completed", completed_at=now(),
                                       step_details=step.step_details.model_copy(update={"tool_calls": calls}))
        return None


def recover(store: Store) -> int:
    """On start-up, end the runs a previous process left active: nothing is working on them now."""
    ended = 0
    reason = STOPPED
    for run in store.children("run", None, Run):
        if run.status not in ACTIVE:
            continue
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
