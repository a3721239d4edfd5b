"""The chat client: where replies come from (:mod:`.backend`) and the three API flows."""

from __future__ import annotations

from .assistants import AssistantsFlow
from .backend import Backend
from .chat import ChatCompletionsFlow
from .flow import Flow
from .responses import ResponsesFlow

FLOWS: dict[str, type[Flow]] = {f.name: f for f in (AssistantsFlow, ResponsesFlow, ChatCompletionsFlow)}


def make_flow(backend: Backend) -> Flow:
    return FLOWS[backend.api](backend)


__all__ = ["FLOWS", "Backend", "Flow", "make_flow"]
