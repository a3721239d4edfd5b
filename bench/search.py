"""How fast ``file_search`` finds a passage: index 1,000 pages of text, then time queries.

    python bench/search.py [--pages 1000] [--queries 200]

Pages are generated (a fixed seed): ~450 words each from a 6,000-word vocabulary drawn with a
Zipf-like skew, as running text is, plus one planted sentence per page that a query can find.
Everything goes through the embedded server's own code (``agora.server.retrieval.Library``) in a
SQLite file, as the server keeps it.  Prints the indexing time and the search latency per query
(p50, p95, max); the target is p95 <= 20 ms at 1,000 pages.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agora.shared.retrieval import Library  # noqa: E402

SYLLABLES = ["ka", "lo", "mi", "ter", "on", "as", "vel", "dra", "sen", "ui", "pho", "rim", "tes", "gal", "ne", "is"]


def vocabulary(size: int, rng: random.Random) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def page(n: int, words: list[str], weights: list[float], rng: random.Random) -> tuple[str, str]:
    """(text, a question only this page answers)."""
    body = rng.choices(words, weights, k=450)
    fact = f"the lantern of house {n} burns {rng.choice(['blue', 'amber', 'white'])} oil from quarry q{n}x"
    at = rng.randrange(len(body))
    return " ".join(body[:at] + [fact + "."] + body[at:]), f"Which oil does the lantern of quarry q{n}x burn?"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(7)
    words = vocabulary(6000, rng)
    weights = [1 / (rank + 1) for rank in range(len(words))]
    pages = [page(n, words, weights, rng) for n in range(args.pages)]
    with tempfile.TemporaryDirectory() as folder:
        library = Library(str(Path(folder) / "agora.db"))
        began = time.perf_counter()
        for first in range(0, args.pages, 10):  # one file per 10 pages, as books and handouts come
            text = "\n\n".join(text for text, _ in pages[first:first + 10])
            library.index("vs_bench", f"file_{first // 10}", f"reading-{first // 10}.txt", text)
        indexed = time.perf_counter() - began
        times, found = [], 0
        for n in rng.sample(range(args.pages), min(args.queries, args.pages)):
            question = pages[n][1]
            began = time.perf_counter()
            hits = library.search(["vs_bench"], question, limit=5)
            times.append((time.perf_counter() - began) * 1000)
            found += bool(hits) and f"q{n}x" in hits[0].text
        library.close()
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    words_total = sum(len(text.split()) for text, _ in pages)
    print(f"pages {args.pages} ({words_total:,} words), indexed in {indexed:.2f} s")
    print(f"search latency per query over {len(times)} queries: p50 {statistics.median(times):.2f} ms, "
          f"p95 {p95:.2f} ms, max {times[-1]:.2f} ms (target p95 <= 20 ms: {'met' if p95 <= 20 else 'NOT met'})")
    print(f"right page ranked first: {found}/{len(times)}")


if __name__ == "__main__":
    main()
