"""The real local model, a whole class at once: continuous batching on llama.cpp's batch API.

One scheduler thread owns the llama.cpp context (it is not thread-safe); each request's thread
hands it a :class:`Reply` and reads tokens back.  Every step decodes the next token of every
reply under way in one ``llama_decode`` call, then up to ``chunk`` tokens of prompts still
being read in another, so a long prompt slows the others by a step at most instead of stopping
them.  A new student joins at the next step; a finished or stopped reply leaves it and its
cells are freed.

Each sequence has a KV stream of its own (``kv_unified`` off): attention then runs over that
sequence's cells only, not over the whole class's, and its numbers do not depend on who else is
in the batch.  llama.cpp makes one pass over the weights per run of consecutive stream ids, so
the replies under way are kept on streams 0..d-1 (:meth:`BatchedEngine._compact`).  Read
prompts are kept (a few, least recently used first out) in spare streams, and a new prompt
starts from a copy of the longest start it shares with one, or waits for a prompt being read
with the same start: the instructions every student of one persona shares are read once.

Prompts are read so that every token is computed the same way whatever the company and
wherever the prompt was cut or shared (:meth:`BatchedEngine._read_pieces`), and a reply's tokens
one a stream, as alone.  Each sequence samples with its own llama.cpp sampler chain, built as
llama-cpp-python's ``Llama`` builds it for the serial engine (the DRY penalty,
repeat/frequency/presence penalties, then greedy at temperature 0, or top-k, top-p, min-p,
temperature and a seeded draw), so a greedy reply is the serial engine's reply, but for rare
near-ties that float sums ordered differently break the other way.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import queue
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .base import EngineError, FinishReason, Generation
from .llama import LlamaEngine, Sampling
from .loopguard import DryPenalty, RepeatGuard

log = logging.getLogger(__name__)

_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)
_DONE = object()  # the scheduler's last word to a sequence


def default_batch() -> int:
    """Replies decoded together: a class of 25 and a few to spare.  Beyond about 8 per core the
    steps grow as fast as the batch, so more only trades each reply's speed for a sooner start."""
    return 32


@dataclass(eq=False)
class Reply:
    """One reply in the batch as the scheduler decodes it: its prompt, its KV stream (llama.cpp's
    sequence id), its sampler, and the tokens it has made."""

    gen: Generation
    prompt: list[int]
    budget: int                      # tokens it may generate
    arrived: float = field(default_factory=time.monotonic)
    seq_id: int = -1                 # its KV stream, once admitted (it may move)
    number: int = 0                  # its place in the order of admission (for Step records)
    fed: int = 0                     # prompt tokens in its KV stream
    generated: list[int] = field(default_factory=list)
    out: queue.SimpleQueue[Any] = field(default_factory=queue.SimpleQueue)
    closed: threading.Event = field(default_factory=threading.Event)  # its reader has stopped
    sampler: Any = None
    finish: FinishReason = "stop"
    leader: Reply | None = None      # a reply reading the same start: wait, then copy its first `shared` tokens
    shared: int = 0

    @property
    def ids(self) -> np.ndarray:
        return np.asarray(self.prompt + self.generated, dtype=np.intc)

    @property
    def reading(self) -> bool:
        return self.fed < len(self.prompt)

    @property
    def next(self) -> tuple[int, int]:
        """A reply's last token, to decode for the next one, and its position."""
        return self.generated[-1], len(self.prompt) + len(self.generated) - 1

    @property
    def gone(self) -> bool:
        return self.closed.is_set() or self.gen.cancelled.is_set()


@dataclass(frozen=True)
class Step:
    """What one step did (for tests and benchmarks): the sequences (by number) that got their
    next token, how many prompt tokens were read for which, and how many moved stream."""

    number: int
    decoded: tuple[int, ...]
    read: dict[int, int]
    seconds: float
    moved: int = 0


class BatchedEngine(LlamaEngine):
    """SmolLM2 (or another GGUF) generating up to ``batch`` replies at once."""

    name: ClassVar[str] = "llama"

    def __init__(self, model_path: Any = None, *, batch: int | None = None, chunk: int = 256, prefixes: int = 8,
                 sampling: Sampling = Sampling(), **options: Any) -> None:
        super().__init__(model_path, sampling=sampling, cache_mb=0, **options)
        self.parallel = batch or default_batch()
        self.chunk = chunk
        self.prefixes = prefixes
        self.steps = 0
        self.admitted = 0
        self.on_step: list[Any] = []  # callables given each Step (tests, benchmarks)
        self._arrivals: deque[Reply] = deque()
        self._wake = threading.Condition()

    # -- loading -------------------------------------------------------------------------------

    def _open(self) -> Any:
        return _Model(self)

    # -- a request's side ----------------------------------------------------------------------

    @property
    def waiting(self) -> int:
        """Requests queued for a place in the batch."""
        return len(self._arrivals)

    def stream(self, gen: Generation) -> Iterator[str]:
        model: _Model = self.load()
        budget = gen.max_tokens or self.reply_tokens
        messages, _ = self._fit(model, gen.messages, min(budget, self.n_ctx // 2))
        prompt, stops = model.prompt(messages)
        gen.prompt_tokens = len(prompt)
        room = self.n_ctx - len(prompt)
        if room <= 0:
            raise EngineError(f"the prompt is {len(prompt)} tokens, more than the model's context of {self.n_ctx}")
        seq = Reply(gen, prompt, min(gen.max_tokens or room, room))
        seq.sampler = model.sampler(seq, self.sampling)
        with self._wake:
            self._arrivals.append(seq)
            self._wake.notify_all()
        try:
            yield from self._read(model, seq, stops + list(gen.stop))
        finally:
            seq.closed.set()
            with self._wake:
                self._wake.notify_all()

    def _read(self, model: _Model, seq: Reply, stops: list[str]) -> Iterator[str]:
        gen, guard = seq.gen, RepeatGuard()
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        held = ""  # text that may be the start of a stop sequence
        while True:
            try:
                item = seq.out.get(timeout=0.05)
            except queue.Empty:
                if gen.cancelled.is_set():
                    gen.finish_reason = "cancelled"
                    return
                continue
            if item is _DONE:
                gen.finish_reason = seq.finish
                if held:
                    yield held
                return
            if isinstance(item, Exception):
                raise EngineError(f"llama.cpp: {item}")
            gen.completion_tokens += 1
            text = held + decoder.decode(model.piece(item))
            cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
            if cut >= 0:
                if text[:cut]:
                    yield text[:cut]
                return
            keep = max((n for s in stops if s for n in range(1, min(len(s), len(text)) + 1)
                        if text.endswith(s[:n])), default=0)
            text, held = (text[:-keep], text[-keep:]) if keep else (text, "")
            if not text:
                continue
            yield text
            if self.ends_reply(gen, guard, text):
                return

    # -- the scheduler's side --------------------------------------------------------------------

    def _schedule(self, model: _Model) -> None:
        """The scheduler thread (a daemon, for the life of the process): admit, decode one step,
        hand out tokens."""
        active: list[Reply] = []
        free = list(range(self.parallel))
        while True:
            with self._wake:
                for seq in [s for s in active if s.gone]:
                    self._leave(model, seq, active, free, "cancelled")
                while self._arrivals and self._arrivals[0].gone:  # left the line before their turn
                    gone = self._arrivals.popleft()
                    gone.sampler.close()
                    gone.out.put(_DONE)
                while self._arrivals and free:
                    seq = self._arrivals.popleft()
                    seq.seq_id = self._place(active, free)
                    free.remove(seq.seq_id)
                    self.admitted += 1
                    seq.number = self.admitted
                    seq.fed = model.reuse(seq)
                    self._follow(seq, active)
                    active.append(seq)
                if not active:
                    self._wake.wait(0.5)
                    continue
            try:
                self._step(model, active, self._compact(model, active, free))
            except Exception as exc:  # noqa: BLE001 - this step's replies fail; the engine goes on
                log.exception("llama.cpp failed a batch")
                for seq in list(active):
                    seq.out.put(exc)
                    self._leave(model, seq, active, free, "stop")
                continue
            for seq in [s for s in active if s.generated and self._finished(model, s)]:
                self._leave(model, seq, active, free, seq.finish)

    @staticmethod
    def _follow(seq: Reply, active: list[Reply]) -> None:
        """If a prompt being read begins as ``seq``'s does, for more tokens than ``seq`` already
        has, let ``seq`` wait for it and copy them: a class asking one persona at the same moment
        reads its instructions once."""
        best, shared = None, seq.fed
        for other in active:
            if other.reading and other.leader is None:
                n = sharable(common(other.prompt, seq.prompt), seq)
                if n > shared:
                    best, shared = other, n
        seq.leader, seq.shared = best, shared

    @staticmethod
    def _place(active: list[Reply], free: list[int]) -> int:
        """A new sequence's stream: the lowest free one above the replies under way, so that a
        class arriving at once reads on 0, 1, 2, … and replies there without moving."""
        d = sum(1 for s in active if not s.reading)
        return min((i for i in free if i >= d), default=max(free))

    @staticmethod
    def _compact(model: _Model, active: list[Reply], free: list[int]) -> int:
        """Keep the replies under way on streams 0..d-1; the number of sequences moved.

        With a KV stream per sequence, llama.cpp cuts a step into runs of consecutive stream ids
        and makes a pass over the weights for each run: on 2 cores sixteen replies on consecutive
        ids decode in 105 ms, the same sixteen with gaps in 139 ms.  Moving a sequence costs one
        copy of its stream (about 9 ms, once); a reply that ends below others, or a prompt read
        past one still being read, moves into the gap.  A prompt being read in the way moves up.
        """
        decoding = [s for s in active if not s.reading]
        d = len(decoding)
        holes = sorted(set(range(d)) - {s.seq_id for s in decoding})
        outliers = sorted((s for s in decoding if s.seq_id >= d), key=lambda s: s.seq_id, reverse=True)
        readers = {s.seq_id: s for s in active if s.reading}
        moved = 0
        for hole, seq in zip(holes, outliers):
            if (reader := readers.get(hole)) is not None:  # a prompt being read: up, out of the way
                up = max(free, default=-1)
                if up < d:
                    break  # nowhere to put it: the batch is full
                free.remove(up)
                model.move(reader, up)
                moved += 1
            else:
                free.remove(hole)
            free.append(seq.seq_id)
            model.move(seq, hole)
            moved += 1
        return moved

    def _finished(self, model: _Model, seq: Reply) -> bool:
        if model.ends(seq.generated[-1]):
            seq.generated.pop()
            seq.finish = "stop"
            return True
        if len(seq.generated) >= seq.budget:
            seq.finish = "length"
            return True
        return False

    def _leave(self, model: _Model, seq: Reply, active: list[Reply], free: list[int],
               finish: FinishReason) -> None:
        seq.finish = finish
        active.remove(seq)
        model.drop(seq.seq_id)
        free.append(seq.seq_id)
        seq.sampler.close()
        seq.out.put(_DONE)

    def _step(self, model: _Model, active: list[Reply], moved: int = 0) -> None:
        """One step: every reply's next token, then up to ``chunk`` prompt tokens in arrival order
        (a prompt read to its end gets its first token)."""
        started = time.perf_counter()
        decoding = [s for s in active if s.generated]
        self._decode(model, [(*s.next, s) for s in decoding], {s: s.next[1] for s in decoding})
        pieces: dict[int, list[Reply]] = {}  # length -> the sequences reading that many tokens
        read: dict[Reply, int] = {}
        room = max(self.chunk, 1)
        cached = {s: s.fed for s in active}  # prompt tokens in the cache before this step
        for seq in sorted((s for s in active if s.reading), key=lambda s: s.arrived):
            if room <= 0:
                break
            if (leader := seq.leader) is not None:
                if leader in active and cached[leader] < seq.shared:
                    continue  # its leader is still reading the part they share
                if leader in active:
                    model.copy(leader.seq_id, seq.seq_id, seq.shared)
                    seq.fed = seq.shared
                seq.leader = None
            left = len(seq.prompt) - seq.fed
            take = min(left, self.chunk)
            if left - take == 1:
                take -= 1  # never a piece of one token (see _read_pieces)
            if take > room:
                continue  # its whole next piece at the next step
            pieces.setdefault(take, []).append(seq)
            read[seq], room = take, room - take
        self._read_pieces(model, pieces)
        for seq in read:
            if not seq.reading:
                model.keep(seq)
        self.steps += 1
        step = Step(self.steps, tuple(s.number for s in decoding), {s.number: n for s, n in read.items()},
                    time.perf_counter() - started, moved)
        for hook in self.on_step:
            hook(step)

    def _read_pieces(self, model: _Model, pieces: dict[int, list[Reply]]) -> None:
        """Read each sequence's next piece of prompt, one ``llama_decode`` per piece length.

        llama.cpp computes a stream's tokens in sub-batches with as many tokens for each stream;
        a stream's token computed on its own takes another path, whose float sums differ in the
        last bits (measured: logits up to 0.5 apart).  With pieces of one length per call and
        never of one token, every prompt token is computed with others of its stream, however
        the prompt was cut or shared: a greedy reply is then the same in any company, and the
        serial engine's, which reads a prompt in one batch.
        """
        for length, group in pieces.items():
            entries = [(token, i, seq) for seq in group
                       for i, token in enumerate(seq.prompt[seq.fed:seq.fed + length], start=seq.fed)]
            ends = {seq: len(seq.prompt) - 1 for seq in group if seq.fed + length == len(seq.prompt)}
            for seq in group:
                seq.fed += length
            self._decode(model, entries, ends)

    def _decode(self, model: _Model, entries: list[tuple[int, int, Reply]], sample: dict[Reply, int]) -> None:
        """One ``llama_decode`` of ``entries``; then a token for each sequence in ``sample``, drawn
        from the logits at the position given."""
        if not entries:
            return
        batch, outputs = model.batch, {}
        batch.n_tokens = len(entries)
        # llama.cpp cuts a batch for separate KV streams into runs of consecutive sequence ids,
        # each its own pass over the weights, growing a run in batch order: sorted, runs are whole.
        entries = sorted(entries, key=lambda entry: (entry[2].seq_id, entry[1]))
        for j, (token, pos, seq) in enumerate(entries):
            wanted = sample.get(seq) == pos
            batch.token[j], batch.pos[j], batch.n_seq_id[j], batch.logits[j] = token, pos, 1, wanted
            batch.seq_id[j][0] = seq.seq_id
            if wanted:
                outputs[seq] = j
        model.decode()
        for seq, index in outputs.items():
            token = model.sample(seq, index)
            seq.generated.append(token)
            if not model.ends(token):
                seq.out.put(token)


class _Model:
    """The model, its context and batch: everything llama.cpp, used by the scheduler thread only
    (tokenising and the chat template are safe from any thread)."""

    def __init__(self, engine: BatchedEngine) -> None:
        import llama_cpp
        from llama_cpp import _internals, llama_chat_format

        self.lib, self.internals = llama_cpp, _internals
        llama_cpp.llama_log_set(_quiet, ctypes.c_void_p(0))
        self.model = _internals.LlamaModel(path_model=str(engine.model_path),
                                           params=llama_cpp.llama_model_default_params(), verbose=False)
        params = llama_cpp.llama_context_default_params()
        params.n_seq_max = engine.parallel + engine.prefixes
        params.n_ctx = engine.n_ctx * params.n_seq_max  # each sequence's stream holds a whole context
        params.n_batch = params.n_ubatch = self.n_batch = 512
        params.kv_unified = False  # a stream per sequence (see the module's docstring)
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED  # as Llama's default
        params.n_threads = engine.n_threads
        params.n_threads_batch = engine.n_threads
        self.context = _internals.LlamaContext(model=self.model, params=params, verbose=False)
        self.ctx, self.memory = self.context.ctx, self.context.memory
        self.batch = llama_cpp.llama_batch_init(self.n_batch, 0, 1)
        self.vocab = self.model.vocab
        self.n_vocab = self.model.n_vocab()
        metadata = self.model.metadata()
        eos, bos = self.model.token_eos(), self.model.token_bos()
        self.formatter = llama_chat_format.Jinja2ChatFormatter(
            template=metadata["tokenizer.chat_template"], eos_token=self.model.token_get_text(eos) if eos != -1 else "",
            bos_token=self.model.token_get_text(bos) if bos != -1 else "", stop_token_ids=[eos])
        self.first_id = engine.parallel
        self.kept: OrderedDict[int, list[int]] = OrderedDict()  # prefix sequence id -> its tokens, oldest first
        self.spare = list(range(engine.parallel, engine.parallel + engine.prefixes))
        self.chunk = engine.chunk
        self.scheduler = threading.Thread(target=engine._schedule, args=(self,), name="agora-batch", daemon=True)
        self.scheduler.start()

    # Any thread.
    def tokenize(self, text: bytes, add_bos: bool = True, special: bool = False) -> list[int]:
        return self.model.tokenize(text, add_bos, special)

    def prompt(self, messages: list[dict[str, str]]) -> tuple[list[int], list[str]]:
        """The prompt's tokens and the template's stop strings, as llama-cpp-python's chat handler makes them."""
        result = self.formatter(messages=messages)  # type: ignore[arg-type]  # plain dicts of the same shape
        tokens = self.tokenize(result.prompt.encode(), add_bos=not result.added_special, special=True)
        stops = [] if result.stop is None else [result.stop] if isinstance(result.stop, str) else list(result.stop)
        return tokens, stops

    def piece(self, token: int) -> bytes:
        """The bytes of one token (a character may span several tokens)."""
        buffer = ctypes.create_string_buffer(64)
        n = self.lib.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, False)
        return buffer.raw[:max(n, 0)]

    def ends(self, token: int) -> bool:
        return bool(self.lib.llama_vocab_is_eog(self.vocab, token))

    def sampler(self, seq: Reply, sampling: Sampling) -> Any:
        """``seq``'s sampler chain, in the order ``Llama._init_sampler`` builds the serial one."""
        gen, chain = seq.gen, self.internals.LlamaSampler()
        dry = DryPenalty()

        def apply(candidates: Any) -> None:
            size = candidates.contents.size
            data = np.ctypeslib.as_array(ctypes.cast(candidates.contents.data, ctypes.POINTER(ctypes.c_uint8)),
                                         shape=(size * _TOKEN_DATA.itemsize,)).view(_TOKEN_DATA)
            data["logit"][:] = dry(seq.ids, data["logit"])

        chain.add_custom(apply)
        chain.add_penalties(self.n_vocab, 64, sampling.repeat_penalty, gen.frequency_penalty or 0.0,
                            gen.presence_penalty or 0.0)
        temperature = sampling.temperature if gen.temperature is None else gen.temperature
        if temperature == 0:
            chain.add_greedy()
        else:
            chain.add_top_k(sampling.top_k)
            chain.add_typical(1.0, 1)
            chain.add_top_p(sampling.top_p if gen.top_p is None else gen.top_p, 1)
            chain.add_min_p(sampling.min_p, 1)
            chain.add_temp(temperature)
            chain.add_dist(self.lib.LLAMA_DEFAULT_SEED if gen.seed is None else gen.seed & 0xFFFFFFFF)
        return chain

    # The scheduler thread only.
    def decode(self) -> None:
        code = self.lib.llama_decode(self.ctx, self.batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")

    def sample(self, seq: Reply, index: int) -> int:
        return int(self.lib.llama_sampler_sample(seq.sampler.sampler, self.ctx, index))

    def reuse(self, seq: Reply) -> int:
        """Share the longest kept prompt ``seq`` begins with; the number of its tokens already read."""
        best, length = None, 0
        for kept_id, tokens in self.kept.items():
            n = common(tokens, seq.prompt)
            if n > length:
                best, length = kept_id, n
        length = sharable(length, seq)
        if best is None or length == 0:
            return 0
        self.kept.move_to_end(best)
        self.copy(best, seq.seq_id, length)
        return length

    def keep(self, seq: Reply) -> None:
        """Keep ``seq``'s read prompt for later ones, unless a kept prompt already covers most of
        it; one it extends (a conversation's next turn) gives way to it."""
        if not self.spare and not self.kept:
            return  # keeping no prompts
        tokens = seq.prompt[:seq.fed]
        covered = max((common(kept, tokens) for kept in self.kept.values()), default=0)
        extended = [k for k, kept in self.kept.items() if len(kept) == common(kept, tokens) < len(tokens)]
        if covered >= 0.8 * len(tokens) and not extended:
            return
        for kept_id in extended:
            self._free(kept_id)
        if not self.spare:
            self.forget()
        kept_id = self.spare.pop()
        self.copy(seq.seq_id, kept_id, len(tokens))
        self.kept[kept_id] = tokens

    def copy(self, source: int, target: int, length: int) -> None:
        """Make ``target``'s stream the first ``length`` positions of ``source``'s.  Streams are
        copied whole (llama.cpp copies between streams no other way), then cut."""
        self.lib.llama_memory_seq_cp(self.memory, source, target, -1, -1)
        self.lib.llama_memory_seq_rm(self.memory, target, length, -1)

    def move(self, seq: Reply, target: int) -> None:
        """Move ``seq`` to stream ``target`` (free): its cells, then its id."""
        self.copy(seq.seq_id, target, len(seq.prompt) + len(seq.generated))
        self.drop(seq.seq_id)
        seq.seq_id = target

    def forget(self) -> bool:
        """Drop the least recently used kept prompt; False if none is kept."""
        if not self.kept:
            return False
        self._free(next(iter(self.kept)))
        return True

    def _free(self, kept_id: int) -> None:
        del self.kept[kept_id]
        self.drop(kept_id)
        self.spare.append(kept_id)

    def drop(self, seq_id: int) -> None:
        self.lib.llama_memory_seq_rm(self.memory, seq_id, -1, -1)


def sharable(shared: int, seq: Reply) -> int:
    """How much of ``shared`` leading tokens ``seq`` may take from another: all but its last two
    (read again, for its logits, and never a token on its own: see ``_read_pieces``)."""
    return max(0, min(shared, len(seq.prompt) - 2))


def common(a: list[int], b: list[int]) -> int:
    """The length of the prefix two token lists share."""
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


@ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
def _quiet(level: int, text: bytes, user_data: Any) -> None:
    """llama.cpp's log: only errors, to ours."""
    if level == 4 and text:  # GGML_LOG_LEVEL_ERROR (5 continues any message: the loader's dots)
        log.error("llama.cpp: %s", text.decode(errors="replace").rstrip())
