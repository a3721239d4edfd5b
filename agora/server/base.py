"""What every API router shares: its store and engine, lookups that 404 as OpenAI does, list pages,
and a whole generation for requests that do not stream."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel

from .engines import Engine, Generation
from .errors import bad_request, must_exist
from .store import Store

T = TypeVar("T", bound=BaseModel)
ListOrder = Literal["asc", "desc"]


class API:
    """One API's routes, bound to one server's store and engine (no globals)."""

    def __init__(self, store: Store, engine: Engine) -> None:
        self.store, self.engine = store, engine
        self.router = APIRouter(prefix="/v1")

    def find(self, kind: str, obj_id: str, cls: type[T], *, thread_id: str | None = None) -> T:
        """The object, or OpenAI's 404 naming it (also when it belongs to another thread)."""
        obj = self.store.get(kind, obj_id, cls)
        if obj is not None and thread_id is not None and getattr(obj, "thread_id", None) != thread_id:
            obj = None
        return must_exist(obj, kind, obj_id)

    def generate(self, gen: Generation) -> tuple[str, str | None]:
        """A whole reply for a request that does not stream: (text, error message or None)."""
        text: list[str] = []
        try:
            text.extend(self.engine.stream(gen))
        except Exception as exc:  # noqa: BLE001 - the engine's failure becomes the reply's error
            return "".join(text), str(exc) or type(exc).__name__
        return "".join(text), unoffered_tools(gen)


def unoffered_tools(gen: Generation) -> str | None:
    """The error for an API that offers no tools when the model asked for one anyway."""
    if gen.finish_reason != "tool_calls":
        return None
    return f"the model called {', '.join(c.name for c in gen.tool_calls)}, a tool this API does not offer"


def page(items: Sequence[T], *, limit: int, order: ListOrder, after: str | None,
         before: str | None, last_id_field: bool = True) -> dict[str, Any]:
    """One cursor page of ``items`` (given oldest first), shaped like OpenAI's lists."""
    if not 1 <= limit <= 100:
        raise bad_request("Invalid 'limit': integer must be between 1 and 100.", "limit", "invalid_value")
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
