"""CI runs the benchmark's quick mode once: it must run and report every figure with its target.

Absolute times on a shared CI machine are noisy, so this checks that the figures exist and are
sane, not that the targets pass; the table is printed for the log.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.real_model, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.browser
def test_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-W", "ignore", "bench/streaming.py", "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert (tmp_path / "arrival.png").stat().st_size > 5_000
    for path in ("direct_sdk", "gradio_echo", "agora", "gradio_echo_1ms_poll", "agora_1ms_poll"):
        assert results["overhead"][path]["ttft_p50_ms"] > 250  # the paced backend's 300 ms are really there
    assert results["fidelity"]["min_fraction"] > 0.5
    assert results["fast"]["complete_and_ordered"] and results["fast"]["wire_over_reply"] > 1
    assert {"1", "8", "64"} <= set(results["concurrency"])
    assert all(row["all_complete"] for row in results["concurrency"].values())
    assert results["model"]["server"]["tok_s"] > 0 and results["model"]["cold_start_first_token_s"] > 0
    targets = [t["target"] for t in results["targets"]]
    assert len(targets) == 9
    for target in targets:
        assert target in proc.stdout


def test_quick_quality_benchmark_meets_its_count_targets(tmp_path: Path) -> None:
    """The real model against llama.cpp's own server on our questions: it exits 1 if a count or
    ratio target fails (looping replies, replies that end on their own, length, language)."""
    proc = subprocess.run([sys.executable, "-W", "ignore", "bench/quality.py", "--quick", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((tmp_path / "quality.json").read_text())
    assert results["summary"]["agora"]["replies"] == results["summary"]["llama_cpp.server"]["replies"] == 11
    assert all(reply["text"].strip() for reply in results["replies"]["agora"])
    for target in results["targets"]:
        assert target["target"] in proc.stdout
