"""What every API router shares: its store and engine, lookups that 404 as OpenAI does, list pages,
a whole generation for requests that do not stream, and the count of work in progress."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel

from .engines import Deadline, Engine, Generation
from .errors import bad_request, must_exist
from .store import Store

T = TypeVar("T", bound=BaseModel)
ListOrder = Literal["asc", "desc"]


REQUEST_SECONDS = 600.0  # the longest any one reply may take, as a run's lifetime


class Work:
    """Replies being generated for requests right now (runs are counted by their executor), and
    how long one may take.  ``/health`` reports the count; tests wait for it to fall to zero."""

    def __init__(self, request_seconds: float = REQUEST_SECONDS) -> None:
        self.request_seconds = request_seconds
        self._count = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        with self._lock:
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    def deadline(self) -> Deadline:
        return Deadline.after(self.request_seconds)


class API:
    """One API's routes, bound to one server's store and engine (no globals)."""

    def __init__(self, store: Store, engine: Engine, work: Work | None = None) -> None:
        self.store, self.engine = store, engine
        self.work = work or Work()
        self.router = APIRouter(prefix="/v1")

    def find(self, kind: str, obj_id: str, cls: type[T], *, thread_id: str | None = None) -> T:
        """The object, or OpenAI's 404 naming it (also when it belongs to another thread)."""
        obj = self.store.get(kind, obj_id, cls)
        if obj is not None and thread_id is not None and getattr(obj, "thread_id", None) != thread_id:
            obj = None
        return must_exist(obj, kind, obj_id)

    async def generate(self, gen: Generation, request: Request) -> tuple[str, str | None]:
        """A whole reply for a request that does not stream: (text, error message or None).

        It is worked out in a thread of its own (not one of the server's request threads, which
        hanging requests would use up), ends when the client leaves, and fails past the time limit.
        """
        gen.cancelled = self.work.deadline()
        loop, done = asyncio.get_running_loop(), asyncio.Event()
        result: tuple[str, str | None] = ("", None)

        def work() -> None:
            nonlocal result
            try:
                with self.work.track():
                    result = self._whole_reply(gen)
            finally:
                loop.call_soon_threadsafe(done.set)

        threading.Thread(target=work, name="agora-generate", daemon=True).start()
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), 0.25)
            if not done.is_set() and not gen.cancelled.is_set() and await request.is_disconnected():
                gen.cancelled.set()  # nobody waits for this reply any more
        return result

    def _whole_reply(self, gen: Generation) -> tuple[str, str | None]:
        text: list[str] = []
        try:
            text.extend(self.engine.stream(gen))
        except Exception as exc:  # noqa: BLE001 - the engine's failure becomes the reply's error
            return "".join(text), str(exc) or type(exc).__name__
        return "".join(text), unoffered_tools(gen) or self.timed_out(gen)

    def timed_out(self, gen: Generation) -> str | None:
        """The error for a reply cut by the request's time limit (not by its client)."""
        flag = gen.cancelled
        if isinstance(flag, Deadline) and flag.expired and not flag.requested:
            return f"the reply took longer than this server's limit of {self.work.request_seconds:g} s"
        return None


def unoffered_tools(gen: Generation) -> str | None:
    """The error for an API that offers no tools when the model asked for one anyway."""
    if gen.finish_reason != "tool_calls":
        return None
    return f"the model called {', '.join(c.name for c in gen.tool_calls)}, a tool this API does not offer"


def page(items: Sequence[T], *, limit: int, order: ListOrder, after: str | None,
         before: str | None, last_id_field: bool = True, max_limit: int = 100) -> dict[str, Any]:
    """One cursor page of ``items`` (given oldest first), shaped like OpenAI's lists."""
    if not 1 <= limit <= max_limit:
        raise bad_request(f"Invalid 'limit': integer must be between 1 and {max_limit}.", "limit", "invalid_value")
    ordered = list(items) if order == "asc" else list(reversed(items))
    ids = [getattr(item, "id") for item in ordered]
    for name, cursor in (("after", after), ("before", before)):
        if cursor is not None and cursor not in ids:
            raise bad_request(f"Invalid '{name}': no object with id '{cursor}' in this list.", name)
    if after is not None:
        ordered = ordered[ids.index(after) + 1:]
    if before is not None:
        remaining = [getattr(i, "id") for i in ordered]
        ordered = ordered[:remaining.index(before)] if before in remaining else []
        chosen = ordered[-limit:]
    else:
        chosen = ordered[:limit]
    data = [item.model_dump(mode="json") for item in chosen]
    body: dict[str, Any] = {"object": "list", "data": data, "has_more": len(ordered) > limit,
                            "first_id": data[0]["id"] if data else None}
    if last_id_field:
        body["last_id"] = data[-1]["id"] if data else None
    return body
