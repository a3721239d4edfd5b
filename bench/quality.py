"""What a student reads from the offline default, measured against llama.cpp's own server.

    python bench/quality.py [--quick] [--out DIR]

Our own questions (bench/questions.yaml: several per persona, in English, French, Spanish and
German, none of them a persona's example) are asked as the app asks them — the persona's
instructions, its sample turns, the question — through Chat Completions, with the same seed and
a 512-token cap, to (a) Agora's embedded server with SmolLM2-135M and (b) `python -m
llama_cpp.server` on the same GGUF with its default sampling: the anchor.  Per reply: loops,
ended on its own or cut at the cap, language (py3langid, offline) against the question's,
words, seconds to the first token and to the end, and in-character signals.  Prints the table
with its targets and writes quality.json; exits 1 if a count or ratio target fails (times are
printed against their target but depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import yaml
from openai import OpenAI

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from streaming import free_port, process  # noqa: E402 - the bench's own process helpers

from agora.language import detect  # noqa: E402
from agora.personas import load_personas  # noqa: E402
from agora.server.app import EmbeddedServer  # noqa: E402
from agora.server.engines import BatchedEngine  # noqa: E402
from agora.server.engines.llama import smollm2_path  # noqa: E402

CAP = 512
SEED = 1234
FIRST_PERSON = {"en": r"\b(i|me|my|mine|we|us|our)\b", "fr": r"\b(je|j'|moi|mon|ma|mes|nous)\b",
                "es": r"\b(yo|me|mi|mis|nosotros|nos)\b", "de": r"\b(ich|mich|mir|mein|meine|wir|uns)\b"}
OUT_OF_CHARACTER = re.compile(r"as an ai|language model|i am an assistant|i'm an assistant|"
                              r"en tant qu'(ia|intelligence)|como (una )?ia|als (eine )?ki", re.I)


def word_list(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def loops(text: str) -> bool:
    """A reply loops when some run of 6 words comes 3 times, or a long reply compresses too well."""
    words = word_list(text)
    grams = Counter(tuple(words[i:i + 6]) for i in range(len(words) - 5))
    return max(grams.values(), default=0) >= 3 or (len(text) > 300 and compression(text) < 0.3)


def compression(text: str) -> float:
    raw = text.encode()
    return len(zlib.compress(raw, 9)) / max(1, len(raw))


def in_character(text: str, lang: str) -> bool:
    first_person = re.search(FIRST_PERSON.get(lang, FIRST_PERSON["en"]), text.lower()) is not None
    return first_person and not OUT_OF_CHARACTER.search(text)


def questions(quick: bool) -> list[dict[str, Any]]:
    data = yaml.safe_load((HERE / "questions.yaml").read_text(encoding="utf-8"))
    return [{"persona": pid, **q} for pid, items in data.items() for q in items if q.get("quick") or not quick]


def ask(client: OpenAI, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    started, first, text, finish = time.perf_counter(), None, "", None
    stream = client.chat.completions.create(model=model, messages=messages, stream=True,  # type: ignore[call-overload]
                                            max_tokens=CAP, seed=SEED)
    with stream:
        for chunk in stream:
            if chunk.choices:
                piece = chunk.choices[0].delta.content
                if piece:
                    first = first if first is not None else time.perf_counter() - started
                    text += piece
                finish = chunk.choices[0].finish_reason or finish
    return {"text": text, "finish": finish, "first_s": first or float("nan"),
            "end_s": time.perf_counter() - started}


def score(reply: dict[str, Any], lang: str) -> dict[str, Any]:
    text = reply["text"]
    return {**reply, "loops": loops(text), "own_end": reply["finish"] == "stop", "words": len(text.split()),
            "compression": round(compression(text), 2), "lang": detect(text) if text.strip() else "",
            "in_lang": bool(text.strip()) and detect(text) == lang, "in_character": in_character(text, lang)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    return {"replies": n, "looping": sum(r["loops"] for r in rows), "own_end": sum(r["own_end"] for r in rows),
            "own_end_pct": 100 * sum(r["own_end"] for r in rows) / n, "in_lang": sum(r["in_lang"] for r in rows),
            "in_character": sum(r["in_character"] for r in rows),
            "median_words": statistics.median(r["words"] for r in rows),
            "median_first_s": statistics.median(r["first_s"] for r in rows),
            "median_end_s": statistics.median(r["end_s"] for r in rows),
            "median_compression": statistics.median(r["compression"] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one question per persona (under 2 minutes)")
    parser.add_argument("--out", type=Path, default=HERE, help="where quality.json goes")
    args = parser.parse_args()
    personas = {p.id: p for p in load_personas()}
    asked = questions(args.quick)
    port = free_port()
    anchor_url = f"http://127.0.0.1:{port}/v1"
    gguf = smollm2_path()
    anchor_cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                  "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--model_alias", "smollm2"]
    results: dict[str, list[dict[str, Any]]] = {"agora": [], "llama_cpp.server": []}
    with EmbeddedServer(BatchedEngine()) as server, process(anchor_cmd, f"{anchor_url}/models"):
        engine = server.engine
        clients = {"agora": (OpenAI(base_url=server.base_url, api_key="local", max_retries=0), "smollm2-135m-instruct"),
                   "llama_cpp.server": (OpenAI(base_url=anchor_url, api_key="local", max_retries=0), "smollm2")}
        for name, (client, model) in clients.items():  # load both models before timing anything
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        for q in asked:
            persona = personas[q["persona"]]
            messages = [{"role": "system", "content": persona.instructions}, *persona.sample_turns(q["q"]),
                        {"role": "user", "content": q["q"]}]
            for name, (client, model) in clients.items():
                row = {"persona": q["persona"], "question": q["q"], "question_lang": q["lang"],
                       **score(ask(client, model, messages), q["lang"])}
                results[name].append(row)
                print(f"{name:>17} {q['persona']:>10} {q['lang']} {row['finish']:>6} {row['words']:>4}w "
                      f"{row['end_s']:5.1f}s {'LOOP ' if row['loops'] else ''}{row['text'][:70]!r}", flush=True)
        loop_stops = getattr(engine, "loop_stops", 0)
    summaries = {name: summarise(rows) for name, rows in results.items()}
    ours, anchor = summaries["agora"], summaries["llama_cpp.server"]
    targets = [
        ("looping replies: 0", ours["looping"] == 0, True),
        ("replies that end on their own ≥ 90 %", ours["own_end_pct"] >= 90, True),
        ("median reply ≤ 120 words", ours["median_words"] <= 120, True),
        ("replies in the question's language ≥ llama_cpp.server's", ours["in_lang"] >= anchor["in_lang"], True),
        ("median reply ≤ 3 s to the end (this machine; not enforced)", ours["median_end_s"] <= 3, False),
    ]
    report(summaries, targets, loop_stops, len(asked))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(json.dumps(
        {"quick": args.quick, "summary": summaries, "loop_guard_stops": loop_stops, "replies": results,
         "targets": [{"target": t, "met": met, "enforced": enforced} for t, met, enforced in targets]},
        indent=1, ensure_ascii=False), encoding="utf-8")
    sys.exit(0 if all(met for _, met, enforced in targets if enforced) else 1)


def report(summaries: dict[str, dict[str, Any]], targets: list[tuple[str, bool, bool]], loop_stops: int,
           n: int) -> None:
    rows = [("looping replies", "looping", "{:d}"), ("ended on their own", "own_end", "{:d}"),
            ("in the question's language", "in_lang", "{:d}"), ("in character (first person, no 'as an AI')",
                                                                 "in_character", "{:d}"),
            ("median words", "median_words", "{:.0f}"), ("median compression ratio", "median_compression", "{:.2f}"),
            ("median s to first token", "median_first_s", "{:.2f}"), ("median s to the end", "median_end_s", "{:.2f}")]
    print(f"\nAnswer quality — {n} questions, SmolLM2-135M-Instruct Q4_1, seed {SEED}, cap {CAP} tokens")
    print(f"{'':44} {'agora':>10} {'llama_cpp.server':>17}")
    for label, key, fmt in rows:
        values = [fmt.format(summaries[name][key]) for name in ("agora", "llama_cpp.server")]
        print(f"{label:44} {values[0]:>10} {values[1]:>17}")
    print(f"(agora's loop guard ended {loop_stops} of these replies as a normal stop)\n")
    for target, met, enforced in targets:
        print(f"  [{'PASS' if met else 'FAIL' if enforced else 'MISS'}] {target}")


if __name__ == "__main__":
    main()
