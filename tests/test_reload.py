"""`gradio app.py` (Gradio's reload mode, for teachers editing personas or the page): one launch, live reloads."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from tests.support import ROOT, clean_env, free_port, process, wait_for

pytestmark = pytest.mark.slow


def test_reload_mode_serves_and_swaps_the_page_on_edit(tmp_path: Path) -> None:
    for name in ("app.py", "personas.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "agora", tmp_path / "agora", ignore=shutil.ignore_patterns("__pycache__"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = clean_env(GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1", AGORA_ENGINE="scripted",
                    AGORA_DB=":memory:")
    log = tmp_path / "gradio.log"

    def config() -> str:
        return json.dumps(httpx.get(f"{url}/config", timeout=5).json())

    # `gradio app.py`, through this interpreter: `python -m gradio` needs no `gradio` on PATH.
    with process(["-m", "gradio", "app.py"], f"{url}/config", env=env, log=log, cwd=tmp_path) as proc:
        wait_for(lambda: "Agora" in config(), "the page never came up", log=log)
        app_py = tmp_path / "app.py"
        page_py = tmp_path / "agora" / "web" / "page.py"
        page_py.write_text(page_py.read_text().replace('gr.Markdown("# 🏛️ Agora")', 'gr.Markdown("# 🏛️ Agora, edited")'))
        saved = time.monotonic()

        def reloaded() -> bool:
            # Gradio's watcher takes its first look at the files only after re-running app.py once;
            # an edit saved before that look is its baseline, so save again until it is seen.
            nonlocal saved
            if time.monotonic() - saved > 3:
                page_py.touch()
                app_py.touch()
                saved = time.monotonic()
            return "Agora, edited" in config()

        wait_for(reloaded, "the edit was not reloaded", log=log)
        swapped = json.loads(config())
        assert swapped["css"] and "agora-card" in swapped["css"]  # the page keeps its style…
        assert swapped["i18n_translations"]["fr"]["philosopher"] == "Philosophe"  # …and its French
        reply = Client(url, verbose=False).predict("hello [[pieces=5]]", "plato", api_name="/chat")
        assert reply.startswith("[turn 2] You asked: hello")  # the shipped Plato has one sample turn first
        assert proc.poll() is None
        text = log.read_text()
        assert "Traceback" not in text, text
        assert text.count("embedded server at") == 2, text  # the launch, then the reloaded page's own
