"""Readings for ``file_search``: the text of a file, cut into overlapping passages, and a ranked
full-text index over them (SQLite FTS5 with BM25) kept in the server's own database file.

A passage is found by the words it shares with the question, weighted by how rare they are
(BM25); no embedding model is needed, so it runs anywhere the server does and gives the same
answer every time.  The files' bytes are kept beside the index, for ``GET /files/{id}/content``.
"""

from __future__ import annotations

import io
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 16 << 20
PASSAGE_WORDS = 120     # a small model's context holds a few of these beside the conversation
OVERLAP_WORDS = 30      # so a sentence cut at one passage's end is whole in the next
READABLE = (".txt", ".md", ".pdf")


class ReadingError(ValueError):
    """A file that cannot be read as a reading; the message is one line."""


def extract_text(filename: str, data: bytes) -> str:
    """The text of a .txt, .md or .pdf file, or :class:`ReadingError` saying why not."""
    suffix = Path(filename).suffix.lower()
    if suffix not in READABLE:
        raise ReadingError(f"{filename}: files of type '{suffix or 'without an extension'}' cannot be read; "
                           f"use {', '.join(READABLE)}")
    if len(data) > MAX_FILE_BYTES:
        raise ReadingError(f"{filename}: {len(data) >> 20} MB is over the limit of {MAX_FILE_BYTES >> 20} MB")
    text = _pdf_text(filename, data) if suffix == ".pdf" else _plain_text(filename, data)
    if not text.strip():
        raise ReadingError(f"{filename}: the file has no text" + (" (a scanned PDF?)" if suffix == ".pdf" else ""))
    return text


def _plain_text(filename: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReadingError(f"{filename}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def _pdf_text(filename: str, data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ReadingError(f"{filename}: the PDF is encrypted; save it without a password")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except ReadingError:
        raise
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise ReadingError(f"{filename}: not a readable PDF ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None


def passages(text: str, words: int = PASSAGE_WORDS, overlap: int = OVERLAP_WORDS) -> list[str]:
    """``text`` cut into passages of about ``words`` words, each sharing ``overlap`` with the next.
    Paragraphs and headings end in a line break, so a quote can tell a heading from the sentence
    under it; lines wrapped inside a paragraph are joined."""
    tokens = [word + (" " if i < len(words) - 1 else "\n") for words in map(str.split, _paragraphs(text))
              for i, word in enumerate(words)]
    step = max(1, words - overlap)
    return [("".join(tokens[i:i + words])).strip() for i in range(0, max(1, len(tokens) - overlap), step)] \
        if tokens else []


def _paragraphs(text: str) -> list[str]:
    """Blocks between blank lines, each Markdown heading a block of its own."""
    blocks: list[str] = []
    for block in re.split(r"\n\s*\n", text):
        lines: list[str] = []
        for line in block.splitlines():
            if line.lstrip().startswith("#"):
                blocks += [" ".join(lines), line] if lines else [line]
                lines = []
            else:
                lines.append(line)
        blocks.append(" ".join(lines))
    return [block for block in blocks if block.strip()]


@dataclass(frozen=True)
class Hit:
    """One passage found for a query, best first; ``score`` in (0, 1), higher is better."""

    file_id: str
    filename: str
    text: str
    score: float


_WORD = re.compile(r"\w+", re.UNICODE)


def relevance(bm25: float) -> float:
    """A BM25 score (0 and up) as a score in [0, 1): half at 4, about where one rare shared word lands."""
    return max(0.0, bm25) / (max(0.0, bm25) + 4.0)


def match_query(query: str) -> str:
    """An FTS5 query for any of the question's words (each quoted, so none is read as syntax)."""
    words = dict.fromkeys(w.lower() for w in _WORD.findall(query) if len(w) > 1)
    return " OR ".join(f'"{w}"' for w in words)


class Library:
    """Files' bytes and the passage index, in one SQLite database (the server's file, or memory)."""

    def __init__(self, path: str = ":memory:") -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("CREATE TABLE IF NOT EXISTS file_bytes (id TEXT PRIMARY KEY, data BLOB NOT NULL, text TEXT)")
        self._db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS passages USING fts5(text, vector_store_id UNINDEXED, "
                         "file_id UNINDEXED, filename UNINDEXED, tokenize='unicode61 remove_diacritics 2')")

    # ------------------------------------------------------------------ bytes

    def keep(self, file_id: str, data: bytes, text: str = "") -> None:
        """A file's bytes, and its text if it was read on arrival."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO file_bytes (id, data, text) VALUES (?, ?, ?)",
                             (file_id, data, text))

    def read(self, file_id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM file_bytes WHERE id = ?", (file_id,)).fetchone()
        return bytes(row[0]) if row else None

    def text(self, file_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM file_bytes WHERE id = ?", (file_id,)).fetchone()
        return row[0] if row else None

    def forget(self, file_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM file_bytes WHERE id = ?", (file_id,))
            self._db.execute("DELETE FROM passages WHERE file_id = ?", (file_id,))

    # ------------------------------------------------------------------ the index

    def index(self, vector_store_id: str, file_id: str, filename: str, text: str) -> int:
        """Add a file's passages to a vector store's index; returns how many."""
        rows = [(p, vector_store_id, file_id, filename) for p in passages(text)]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM passages WHERE vector_store_id = ? AND file_id = ?", (vector_store_id, file_id))
            self._db.executemany("INSERT INTO passages (text, vector_store_id, file_id, filename) VALUES (?, ?, ?, ?)",
                                 rows)
            self._db.execute("COMMIT")
        return len(rows)

    def unindex(self, vector_store_id: str, file_id: str | None = None) -> None:
        with self._lock:
            if file_id is None:
                self._db.execute("DELETE FROM passages WHERE vector_store_id = ?", (vector_store_id,))
            else:
                self._db.execute("DELETE FROM passages WHERE vector_store_id = ? AND file_id = ?",
                                 (vector_store_id, file_id))

    def search(self, vector_store_ids: list[str], query: str, limit: int = 10) -> list[Hit]:
        """The passages of these vector stores that best match ``query`` (BM25), best first."""
        match = match_query(query)
        if not match or not vector_store_ids:
            return []
        marks = ",".join("?" * len(vector_store_ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT file_id, filename, text, bm25(passages) AS rank FROM passages WHERE passages MATCH ? "
                f"AND vector_store_id IN ({marks}) ORDER BY rank LIMIT ?",
                (match, *vector_store_ids, limit)).fetchall()
        return [Hit(file_id, filename, text, relevance(-rank)) for file_id, filename, text, rank in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
