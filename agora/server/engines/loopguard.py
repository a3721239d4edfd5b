"""Keeping a small model from repeating itself.

Two layers, both on the reply being generated.  :class:`DryPenalty` is a logits processor in
the manner of DRY ("don't repeat yourself"): a token that would extend a sequence already seen
in the context loses score, the more the longer that sequence — so loops are rarely started.
:class:`RepeatGuard` watches the text and says when the reply has begun to repeat itself
anyway (a sentence said twice, or a run of words seen again and again), so the engine ends the
reply there as a normal stop instead of streaming the loop to the token cap.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s+|\n+")


@dataclass
class DryPenalty:
    """Lower the score of tokens that would continue a repetition of the recent context.

    For the last token, find its earlier occurrences in the last ``window`` tokens; where the
    tokens before it match too (a repeated run of length ``n``), the token that came next then
    is penalised by ``multiplier * base ** (n - allowed_length)``.  Called by llama.cpp with the
    token ids so far and the next token's scores (numpy arrays).
    """

    multiplier: float = 0.8
    base: float = 1.75
    allowed_length: int = 2
    window: int = 512
    longest: int = 48  # runs longer than this are penalised as this long (the score is gone anyway)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        ids = input_ids[-self.window:]
        n = len(ids)
        if n < self.allowed_length + 1:
            return scores
        last = ids[-1]
        runs: dict[int, int] = {}
        for i in (ids[:-1] == last).nonzero()[0]:
            if i + 1 >= n - 1:
                continue
            length = 1
            while length <= i and length < self.longest and ids[i - length] == ids[n - 1 - length]:
                length += 1
            if length >= self.allowed_length:
                token = int(ids[i + 1])
                runs[token] = max(runs.get(token, 0), length)
        for token, length in runs.items():
            scores[token] -= self.multiplier * self.base ** (length - self.allowed_length)
        return scores


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@dataclass
class RepeatGuard:
    """Say when a reply starts repeating itself; fed the reply's text as it grows.

    It trips when a finished sentence of at least ``min_sentence_words`` words equals an earlier
    one (ignoring case and punctuation), or when some run of ``ngram`` words has occurred
    ``max_ngram_repeats`` times.
    """

    min_sentence_words: int = 4
    ngram: int = 5
    max_ngram_repeats: int = 3
    _text: str = ""
    _sentences: set[tuple[str, ...]] = field(default_factory=set)
    _done: int = 0  # characters of _text already split into finished sentences
    _scanned: int = 0  # characters of _text already split into finished words
    _grams: Counter[tuple[str, ...]] = field(default_factory=Counter)
    _words: list[str] = field(default_factory=list)
    reason: str = ""

    def feed(self, piece: str) -> bool:
        """Add a piece of the reply; True once the reply repeats itself."""
        self._text += piece
        return self._new_words() or self._new_sentences()

    def _new_words(self) -> bool:
        """Count the runs of words completed since the last piece (only the new text is read)."""
        for match in _WORD.finditer(self._text, self._scanned):
            if match.end() == len(self._text):
                break  # the last word may still grow
            self._scanned = match.end()
            self._words.append(match.group().lower())
            gram = tuple(self._words[-self.ngram:])
            if len(gram) == self.ngram:
                self._grams[gram] += 1
                if self._grams[gram] >= self.max_ngram_repeats:
                    self.reason = f"the words {' '.join(gram)!r} came {self.max_ngram_repeats} times"
                    return True
        return False

    def _new_sentences(self) -> bool:
        for end in _SENTENCE_END.finditer(self._text, self._done):
            sentence, self._done = self._text[self._done:end.start()], end.end()
            key = tuple(words(sentence))
            if len(key) >= self.min_sentence_words:
                if key in self._sentences:
                    self.reason = f"the sentence {sentence.strip()!r} came twice"
                    return True
                self._sentences.add(key)
        return False


def repeats(pieces: Iterable[str], guard: RepeatGuard | None = None) -> bool:
    """Whether text given in pieces trips a guard (for tests and benchmarks)."""
    guard = guard or RepeatGuard()
    return any(guard.feed(piece) for piece in pieces)
