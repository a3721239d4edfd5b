"""Readings: the files that ground a persona's answers (listed in ``personas.yaml``, or added by the
teacher for one session), put where the backend can search them, and the sources an answer cites.

Assistants and Responses backends (the embedded server, OpenAI) get a vector store through the
SDK, made once per set of readings and found again by its metadata after a restart.  A Chat
Completions backend has no ``file_search``, so the app searches the readings itself with the
embedded server's own retrieval code and cites the same way.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import openai

from ..shared.citations import PASSAGES, best_sentence, cite, context
from ..shared.retrieval import Library, extract_text

# Each in-memory index (Chat backends) holds one set of readings; a few sets are kept.
LOCAL_SETS = 16


@dataclass(frozen=True)
class Reading:
    name: str
    data: bytes

    @cached_property
    def digest(self) -> bytes:
        """The content's hash, worked out once (a reading may be a 16 MB PDF, asked about every turn)."""
        return hashlib.sha256(self.data).digest()

    @classmethod
    def from_path(cls, path: str | Path) -> Reading:
        return cls(Path(path).name, Path(path).read_bytes())


@dataclass(frozen=True)
class Source:
    """What an answer cites: a file, and the passage's sentence that bears on the question."""

    filename: str
    quote: str


def fingerprint(readings: list[Reading]) -> str:
    digest = hashlib.sha256()
    for reading in sorted(readings, key=lambda r: r.name):
        digest.update(reading.name.encode() + b"\0" + reading.digest)
    return digest.hexdigest()[:24]


class Shelf:
    """The backend's vector stores for each set of readings, and local indexes for Chat backends.

    One per :class:`~.backend.Backend` (so per app); keyed by the readings' content, so two
    sessions with the same readings share a store, and a changed file gets a new one.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[str, str] = {}
        self._files: dict[str, str] = {}  # file id -> name, for citations
        self._local: dict[str, Library] = {}

    def vector_store(self, client: openai.OpenAI, readings: list[Reading]) -> str:
        """The id of a vector store holding ``readings``: known, found by metadata, or made now."""
        key = fingerprint(readings)
        with self._lock:
            if key in self._stores:
                return self._stores[key]
        found = next((v for v in client.vector_stores.list(limit=100)
                      if (v.metadata or {}).get("agora_readings") == key and v.file_counts.failed == 0), None)
        names: dict[str, str] = {}
        if found is None:
            file_ids = [client.files.create(file=(r.name, r.data), purpose="assistants").id for r in readings]
            found = client.vector_stores.create(name="Agora readings", file_ids=file_ids,
                                                metadata={"agora_readings": key})
            for file_id in file_ids:
                client.vector_stores.files.poll(file_id, vector_store_id=found.id, poll_interval_ms=100)
            names = dict(zip(file_ids, (r.name for r in readings)))
        with self._lock:
            self._stores[key] = found.id
            self._files.update(names)
        return found.id

    def filename(self, client: openai.OpenAI, file_id: str) -> str:
        with self._lock:
            if file_id in self._files:
                return self._files[file_id]
        name = client.files.retrieve(file_id).filename
        with self._lock:
            self._files[file_id] = name
        return name

    def local(self, readings: list[Reading]) -> Library:
        """An in-memory index of ``readings`` (for backends without file_search)."""
        key = fingerprint(readings)
        with self._lock:
            if key in self._local:
                return self._local[key]
        library = Library()
        for reading in readings:
            library.index(key, reading.name, reading.name, extract_text(reading.name, reading.data))
        with self._lock:
            if len(self._local) >= LOCAL_SETS:
                self._local.pop(next(iter(self._local))).close()
            self._local.setdefault(key, library)
            return self._local[key]

    def search_locally(self, readings: list[Reading], question: str) -> tuple[dict[str, str] | None, list[Source]]:
        """For Chat backends: the passages as a system message, and the sources they would cite."""
        hits = self.local(readings).search([fingerprint(readings)], question, PASSAGES)
        return context(hits), [Source(c.filename, c.quote) for c in cite("", hits, question)[1]]


def quote_for(passages: list[str], question: str) -> str:
    """The sentence of a cited file's passages that bears most on the question."""
    return best_sentence(" ".join(passages), question) if passages else ""
