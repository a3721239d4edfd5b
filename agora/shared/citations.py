"""From passages found by ``file_search`` to what a reply cites: the passages put before the model,
and the citation markers added after its answer.

A small model will not write citation markers itself, so citations come from the retrieval step:
the passages that ranked close to the best are cited, each with the sentence in it that shares
the most words with the question as its quote.  Markers look like OpenAI's (``【0:1†laws.md】``),
so code written for OpenAI's citations reads them unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .retrieval import Hit

PASSAGES = 3            # given to the model: a small context holds a few
CITED_FRACTION = 0.75   # cite passages scoring at least this share of the best one
MIN_RELEVANCE = 0.05    # below this a passage shares only common words ("the", "what") with the question
_MARKER = re.compile(r"\s*【[^】]*】")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")  # sentence ends and line breaks
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Citation:
    """One cited passage: where its marker sits in the reply's text, and what it quotes."""

    file_id: str
    filename: str
    quote: str
    marker: str
    start: int
    end: int


def relevant(hits: list[Hit]) -> list[Hit]:
    """The hits worth reading: a passage that shares only common words with the question is not."""
    return [hit for hit in hits if hit.score >= MIN_RELEVANCE]


def context(hits: list[Hit]) -> dict[str, str] | None:
    """The passages as a system message for the model, or None if nothing relevant was found."""
    hits = relevant(hits)
    if not hits:
        return None
    passages = "\n\n".join(f"[{i + 1}] From {hit.filename}: {hit.text}" for i, hit in enumerate(hits))
    return {"role": "system", "content": "Passages from the readings the class is studying. Answer from them "
                                         f"when they bear on the question:\n\n{passages}"}


def without_markers(text: str) -> str:
    """A past reply as the model should see it again: without citation markers."""
    return _MARKER.sub("", text)


def best_sentence(passage: str, question: str) -> str:
    """The sentence of ``passage`` that bears most on ``question``: the question's words it holds,
    each weighted by how few of the passage's sentences hold it (so "and" or "the" decide nothing).
    A passage may begin mid-sentence (passages overlap); that fragment, and a Markdown heading, is
    quoted only if nothing else is there."""
    sentences = [s for s in _SENTENCE.split(passage) if s.strip()]
    if len(sentences) > 1 and not sentences[0][0].isupper():
        sentences = sentences[1:]
    sentences = [s for s in sentences if not s.startswith("#")] or sentences  # headings are not quotes
    if not sentences:
        return passage.strip()
    words = [{w.lower() for w in _WORD.findall(s)} for s in sentences]
    wanted = {w.lower() for w in _WORD.findall(question) if len(w) > 2}
    weight = {w: 1 / sum(w in ws for ws in words) for w in wanted if any(w in ws for ws in words)}
    best = max(range(len(sentences)), key=lambda i: (sum(weight.get(w, 0) for w in words[i]), -i))
    return sentences[best]


def cite(answer: str, hits: list[Hit], question: str) -> tuple[str, list[Citation]]:
    """What to add after ``answer`` (its markers), and the citations they stand for."""
    hits = relevant(hits)
    if not hits:
        return "", []
    best = hits[0].score
    cited = [hit for hit in hits if hit.score >= CITED_FRACTION * best]
    suffix, citations = "\n\n", []
    for i, hit in enumerate(cited):
        marker = f"【0:{i}†{hit.filename}】"
        start = len(answer) + len(suffix)
        suffix += marker
        citations.append(Citation(hit.file_id, hit.filename, best_sentence(hit.text, question), marker, start,
                                  start + len(marker)))
    return suffix, citations
