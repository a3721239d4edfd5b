"""`python app.py` with no key: the embedded server and the real SmolLM2 model answer."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from playwright.sync_api import expect, sync_playwright

from tests.browser import BOT, CHROMIUM, CHROMIUM_ARGS, ask
from tests.support import SALT_PASSAGE, SALT_QUESTION, launched_app, personas_with_readings

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with launched_app(tmp_path_factory.mktemp("app"), AGORA_MAX_OUTPUT_TOKENS="48") as url:
        yield url


def test_plato_answers_from_smollm2_streaming(app_process: str) -> None:
    page = httpx.get(app_process, timeout=10).text
    assert "Agora" in page
    job = Client(app_process, verbose=False).submit("What is philosophy?", "plato", api_name="/chat")
    updates = [text for text in job]
    assert len(updates) >= 5
    assert all(len(b) > len(a) and b.startswith(a) for a, b in zip(updates, updates[1:]))
    reply, _, notice = updates[-1].partition("\n\n⚠️")
    assert reply.strip()
    assert notice in ("", " The reply was cut at the token limit.")  # 48 tokens may end mid-sentence
    config = httpx.get(app_process + "config", timeout=10).text
    assert "smollm2-135m-instruct" in config and "embedded server (llama engine)" in config
    assert "tiny offline model (smollm2-135m-instruct)" in config and "AGORA_GGUF" in config


def test_an_answer_grounded_in_a_reading_cites_it(tmp_path: Path) -> None:
    """SmolLM2 is given the passage and the answer cites the right file and sentence (the citation
    comes from the search, not from the model)."""
    with personas_with_readings("plato") as personas, \
            launched_app(tmp_path, AGORA_PERSONAS=str(personas), AGORA_MAX_OUTPUT_TOKENS="64") as url:
        answer, box = Client(url, verbose=False).predict(SALT_QUESTION, "plato", api_name="/chat")
    assert answer.strip() and "⚠️" not in answer.replace("⚠️ The reply was cut at the token limit.", "")
    assert box["metadata"]["title"] == "📚 Sources"
    assert box["content"].startswith("- **varnholm.md** — “A citizen who lies about the weight of the salt harvest "
                                     + SALT_PASSAGE)
    assert "harbour-notes.txt" not in box["content"]


@pytest.mark.browser
def test_page_says_while_the_model_loads_then_answers(tmp_path: Path) -> None:
    """The first page opened starts the model; a notice shows until it has loaded."""
    with launched_app(tmp_path, AGORA_MAX_OUTPUT_TOKENS="48") as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(locale="en-US")
        # SmolLM2 loads in ~0.1 s once the file is cached: record every text the status line shows.
        page.add_init_script("""
            window.statusSeen = [];
            new MutationObserver(() => {
                const text = document.querySelector('#agora-status')?.innerText.trim();
                if (text !== undefined && text !== window.statusSeen.at(-1)) window.statusSeen.push(text);
            }).observe(document, {subtree: true, childList: true, characterData: true});
        """)
        page.goto(url)
        page.wait_for_function("() => window.statusSeen.some(t => t.includes('Loading the local model'))")
        expect(page.locator("#agora-status")).not_to_contain_text("Loading", timeout=60_000)
        ask(page, "Who are you?")
        expect(page.locator(BOT)).to_have_count(2, timeout=60_000)  # the batched engine sets up 36 streams first
        page.wait_for_function("() => !document.querySelector('#agora-input button.stop-button')", timeout=60_000)
        assert page.locator(BOT).last.inner_text().strip()
        browser.close()


def quality_loops() -> Callable[[str], bool]:
    """The answer-quality benchmark's loop check (bench/quality.py), applied here to debate turns."""
    path = Path(__file__).resolve().parent.parent / "bench" / "quality.py"
    spec = importlib.util.spec_from_file_location("quality", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.loops  # type: ignore[no-any-return]


def test_a_three_turn_debate_on_smollm2_completes_without_loops(tmp_path: Path) -> None:
    loops = quality_loops()
    with launched_app(tmp_path, AGORA_MAX_OUTPUT_TOKENS="160") as url:
        client = Client(url, verbose=False)
        speakers, question = ["kant", "beauvoir"], "Is it ever right to lie?"
        for speaker in ("kant", "beauvoir", "kant"):
            shown = client.predict(speaker, speakers, question, "", api_name="/debate_turn")
        turns = ["".join(part["text"] for part in m["content"]) for m in shown if m["role"] == "assistant"]
        assert len(turns) == 3
        for head, turn in zip(("**Immanuel Kant**", "**Simone de Beauvoir**", "**Immanuel Kant**"), turns):
            assert head in turn
            said = turn.split("\n\n", 1)[1]
            assert len(said.split()) >= 5 and not loops(said), said
