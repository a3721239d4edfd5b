"""``AGORA_GGUF`` as a Hugging Face Hub reference, resolved offline from a pre-filled Hub cache by
the real ``huggingface_hub`` resolver, and the real model answering from the file it found."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from gradio_client import Client

from agora.server.engines.llama import SMOLLM2_FILE, smollm2_path
from tests.support import ROOT, clean_env, launched_app

REPO, COMMIT = "agora-test/SmolLM2-135M-Instruct-GGUF", "0123456789abcdef0123456789abcdef01234567"
REFERENCE = f"{REPO}:{SMOLLM2_FILE}"


@pytest.fixture
def hub_cache(tmp_path: Path) -> Path:
    """The Hub cache as ``hf_hub_download`` leaves it: a blob, a snapshot linking to it, refs/main."""
    cache = tmp_path / "hub"
    repo = cache / f"models--{REPO.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "blobs" / "smollm2-blob").symlink_to(smollm2_path())  # no copy of the 100 MB file
    (repo / "snapshots" / COMMIT).mkdir(parents=True)
    (repo / "snapshots" / COMMIT / SMOLLM2_FILE).symlink_to(Path("../../blobs/smollm2-blob"))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    return cache


@pytest.mark.real_model
@pytest.mark.slow
def test_a_hub_reference_is_found_offline_and_answers(hub_cache: Path, tmp_path: Path) -> None:
    with launched_app(tmp_path, AGORA_GGUF=REFERENCE, AGORA_MAX_OUTPUT_TOKENS="24", HF_HUB_OFFLINE="1",
                      HF_HUB_CACHE=str(hub_cache)) as url:
        client = Client(url, verbose=False)
        reply = client.predict("What is philosophy?", "plato", api_name="/chat")
        answer, _, notice = reply.partition("\n\n⚠️")
        assert answer.strip() and notice in ("", " The reply was cut at the token limit.")  # 24 tokens
        config = str(client.config)
        assert "SmolLM2-135M-Instruct.Q4_1" in config  # the badge names the model from the reference
        assert "tiny offline model" not in config  # a model the teacher chose gets no tiny-model line


def test_a_reference_missing_offline_is_one_clear_line(tmp_path: Path) -> None:
    env = clean_env(HF_HUB_OFFLINE="1", HF_HUB_CACHE=str(tmp_path / "empty"))
    proc = subprocess.run([sys.executable, "-m", "agora.server", "--model", "nobody/nothing-GGUF:model.gguf",
                           "--port", "0", "--db", ""], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "agora.server: AGORA_GGUF='nobody/nothing-GGUF:model.gguf': not in the Hub cache, and the Hub cannot be "
        "reached (offline?); fetch it once while online"]
