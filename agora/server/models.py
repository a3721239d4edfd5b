"""Every request body the server accepts, in one place.

Bodies reject unknown fields, as OpenAI does, naming the field.  Options the server cannot
honour are refused with OpenAI's 400 wording, never accepted and dropped.
"""

from __future__ import annotations

from typing import Any, Literal

from openai.types.beta import AssistantTool, FileSearchTool, FunctionTool
from openai.types.shared import FunctionDefinition
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import bad_request

Metadata = dict[str, str]
Content = str | list[dict[str, Any]]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def content_text(content: Content | None, where: str, part_types: tuple[str, ...]) -> str:
    """The text of a message's content: a string, or text parts (other parts are refused, named)."""
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for i, part in enumerate(content):
        if not isinstance(part, dict) or part.get("type") not in part_types or not isinstance(part.get("text"), str):
            raise bad_request("Only text content parts are supported by this server.", f"{where}[{i}]")
        parts.append(part["text"])
    return "".join(parts)


# ---------------------------------------------------------------------------------- Assistants


class FunctionIn(Body):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class RankingOptionsIn(Body):
    ranker: Literal["auto", "default_2024_08_21"] | None = None
    score_threshold: float = Field(ge=0, le=1)


class FileSearchIn(Body):
    max_num_results: int | None = Field(None, ge=1, le=50)
    ranking_options: RankingOptionsIn | None = None


class ToolIn(Body):
    """An Assistants tool: functions and ``file_search``; the other hosted tools are refused by name."""

    type: str
    function: FunctionIn | None = None
    file_search: FileSearchIn | None = None

    def to_sdk(self, where: str) -> AssistantTool:
        if self.type == "file_search":
            return FileSearchTool.model_validate(
                {"type": "file_search", **({"file_search": self.file_search.model_dump(exclude_none=True)}
                                            if self.file_search else {})})
        if self.type != "function":
            raise bad_request(f"Invalid value: '{self.type}'. Supported values are: 'function', 'file_search'.",
                              f"{where}.type", "invalid_value")
        if self.function is None:
            raise bad_request(f"Missing required parameter: '{where}.function'.", f"{where}.function",
                              "missing_required_parameter")
        return FunctionTool(type="function", function=FunctionDefinition(
            **self.function.model_dump(exclude_none=True)))


def sdk_tools(tools: list[ToolIn] | None) -> list[AssistantTool] | None:
    """The tools as the SDK's types (``None`` if none were given), refusing what is not offered."""
    return None if tools is None else [tool.to_sdk(f"tools[{i}]") for i, tool in enumerate(tools)]


class NewVectorStoreIn(Body):
    file_ids: list[str] = Field(default_factory=list, max_length=10000)
    chunking_strategy: dict[str, Any] | None = None
    metadata: Metadata | None = None


class FileSearchResourcesIn(Body):
    vector_store_ids: list[str] | None = Field(None, max_length=1)
    vector_stores: list[NewVectorStoreIn] | None = Field(None, max_length=1)


class ToolResourcesIn(Body):
    """``tool_resources``: the vector stores ``file_search`` reads (code_interpreter is not offered)."""

    file_search: FileSearchResourcesIn | None = None


class MessageIn(Body):
    role: Literal["user", "assistant"]
    content: Content
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
    tools: list[ToolIn] | None = None
    tool_resources: ToolResourcesIn | None = None
    response_format: Literal["auto"] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)


class ThreadIn(Body):
    messages: list[MessageIn] = []
    metadata: Metadata | None = None
    tool_resources: ToolResourcesIn | None = None


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
    tools: list[ToolIn] | None = None
    tool_choice: Literal["auto", "none"] | None = None
    parallel_tool_calls: bool | None = None
    response_format: Literal["auto"] | None = None
    truncation_strategy: dict[str, Any] | None = None


class RunIn(RunOptions):
    additional_instructions: str | None = None
    additional_messages: list[MessageIn] | None = None


class ThreadAndRunIn(RunOptions):
    thread: ThreadIn | None = None
    tool_resources: ToolResourcesIn | None = None


class ThreadUpdate(Body):
    metadata: Metadata | None = None
    tool_resources: ToolResourcesIn | None = None


class ToolOutputIn(Body):
    tool_call_id: str
    output: str


class ToolOutputsIn(Body):
    tool_outputs: list[ToolOutputIn]
    stream: bool | None = None


# ---------------------------------------------------------------------------------- Responses


class ConversationIn(Body):
    items: list[dict[str, Any]] | None = None
    metadata: Metadata | None = None


class ItemsIn(Body):
    items: list[dict[str, Any]]


class ResponseIn(Body):
    model: str | None = None
    input: str | list[dict[str, Any]] = ""
    instructions: str | None = None
    conversation: str | dict[str, str] | None = None
    previous_response_id: str | None = None
    store: bool | None = True
    stream: bool | None = None
    max_output_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    metadata: Metadata | None = None
    background: bool | None = None
    include: list[str] | None = None
    parallel_tool_calls: bool | None = None
    prompt_cache_key: str | None = None
    reasoning: Any = None
    safety_identifier: str | None = None
    service_tier: str | None = None
    stream_options: Any = None
    text: Any = None
    tool_choice: Any = None
    tools: list[Any] | None = None
    top_logprobs: int | None = None
    truncation: str | None = None
    user: str | None = None

    @field_validator("tools")
    @classmethod
    def _file_search_only(cls, tools: list[Any] | None) -> list[Any] | None:
        for i, tool in enumerate(tools or []):
            kind = tool.get("type") if isinstance(tool, dict) else None
            if kind != "file_search":
                raise bad_request(f"Invalid value: '{kind}'. Supported values are: 'file_search'.", f"tools[{i}].type",
                                  "invalid_value")
            if tool.get("filters") is not None:
                raise bad_request("Attribute filters are not supported by this server.", f"tools[{i}].filters",
                                  "unsupported_value")
            if not isinstance(tool.get("vector_store_ids"), list) or not tool["vector_store_ids"]:
                raise bad_request(f"Missing required parameter: 'tools[{i}].vector_store_ids'.",
                                  f"tools[{i}].vector_store_ids", "missing_required_parameter")
        return tools


# ---------------------------------------------------------------------------------- Chat Completions


class ChatMessageIn(Body):
    role: Literal["system", "developer", "user", "assistant"]
    content: Content | None = None
    name: str | None = None

    def text(self, where: str) -> str:
        return content_text(self.content, f"{where}.content", ("text",))


class StreamOptions(Body):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


class ChatIn(Body):
    model: str
    messages: list[ChatMessageIn] = Field(min_length=1)
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int | None = Field(None, ge=1, le=1)
    stop: str | list[str] | None = Field(None, max_length=4)
    seed: int | None = None
    user: str | None = None
    metadata: Metadata | None = None
    store: bool | None = None
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    presence_penalty: float | None = Field(None, ge=-2, le=2)


# ---------------------------------------------------------------------------------- Moderations


class ModerationIn(Body):
    input: str | list[str] | list[dict[str, Any]]
    model: str | None = None

    def texts(self) -> list[str]:
        """The texts to classify: a string, strings, or text parts (images are refused, named)."""
        if isinstance(self.input, str):
            return [self.input]
        if all(isinstance(item, str) for item in self.input):
            return list(self.input)  # type: ignore[arg-type]
        return [content_text([item], f"input[{i}]", ("text",)) for i, item in enumerate(self.input)]  # type: ignore[list-item]


# ---------------------------------------------------------------------------------- Vector stores

Attributes = dict[str, str | float | bool]


class ExpiresAfterIn(Body):
    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class ChunkingIn(Body):
    """Accepted for compatibility; passages are cut the server's one way (see ``retrieval``)."""

    type: Literal["auto", "static"]
    static: dict[str, int] | None = None


class VectorStoreIn(Body):
    name: str | None = None
    description: str | None = None
    file_ids: list[str] = Field(default_factory=list, max_length=500)
    metadata: Metadata | None = None
    expires_after: ExpiresAfterIn | None = None
    chunking_strategy: ChunkingIn | None = None


class VectorStoreUpdate(Body):
    name: str | None = None
    metadata: Metadata | None = None
    expires_after: ExpiresAfterIn | None = None


class VectorStoreFileIn(Body):
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: ChunkingIn | None = None


class VectorStoreFileUpdate(Body):
    attributes: Attributes | None


class BatchFileIn(Body):
    file_id: str
    attributes: Attributes | None = None
    chunking_strategy: ChunkingIn | None = None


class FileBatchIn(Body):
    file_ids: list[str] | None = Field(None, max_length=500)
    files: list[BatchFileIn] | None = Field(None, max_length=500)
    attributes: Attributes | None = None
    chunking_strategy: ChunkingIn | None = None


class RankingIn(Body):
    ranker: Literal["none", "auto", "default-2024-11-15"] | None = None
    score_threshold: float | None = Field(None, ge=0, le=1)


class SearchIn(Body):
    query: str | list[str]
    max_num_results: int = Field(10, ge=1, le=50)
    ranking_options: RankingIn | None = None
    rewrite_query: bool | None = None
    filters: dict[str, Any] | None = None

    @field_validator("filters")
    @classmethod
    def _no_filters(cls, value: dict[str, Any] | None) -> None:
        if value is not None:
            raise bad_request("Attribute filters are not supported by this server.", "filters", "unsupported_value")
        return None
