"""Readings in the app, for each flow: gradio_client → Gradio → SDK → embedded server → an answer
grounded in the persona's readings, with its sources in a box of their own under it.

Assistants and Responses search with the server's ``file_search``; Chat Completions has none, so
the app searches the readings itself.  The scripted engine's ``[[echo]]`` repeats the prompt it
was given, which shows the passage reached the model.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gradio_client import Client

from tests.support import (
    SALT_PASSAGE,
    SALT_QUESTION,
    RunningApp,
    personas_with_readings,
    running_app,
)

FLOWS = ["assistants", "responses", "chat"]


@pytest.fixture(scope="module", params=FLOWS)
def agora(request: pytest.FixtureRequest) -> Iterator[RunningApp]:
    with personas_with_readings("plato") as personas, \
            running_app({"AGORA_API": request.param, "AGORA_PERSONAS": str(personas),
                         "AGORA_MAX_OUTPUT_TOKENS": "1000", "AGORA_SCRIPTED_DELAY": "0"}) as running:
        yield running


def ask(app: RunningApp, question: str, persona: str = "plato", **client: Any) -> tuple[str, dict[str, Any] | None]:
    """The answer's text and its sources box (None when it cites nothing)."""
    out = Client(app.url, verbose=False, **client).predict(question, persona, api_name="/chat")
    if isinstance(out, str):
        return out, None
    answer, box = out
    assert box["role"] == "assistant" and box["metadata"]["status"] == "done"
    return answer, box


def test_an_answer_from_the_reading_cites_its_file_and_passage(agora: RunningApp) -> None:
    answer, box = ask(agora, f"{SALT_QUESTION} [[echo]]")
    assert SALT_PASSAGE in answer and "varnholm.md" in answer  # the passage, named, reached the model
    assert box is not None and box["metadata"]["title"] == "📚 Sources"
    assert box["content"] == ("- **varnholm.md** — “A citizen who lies about the weight of the salt harvest "
                              f"{SALT_PASSAGE}, and must tend those trees for seven years.”")


def test_each_question_cites_the_file_that_answers_it_in_the_page_language(agora: RunningApp) -> None:
    client = Client(agora.url, verbose=False, headers={"Accept-Language": "fr-FR"})
    first = client.predict("Which harbour has a lighthouse with a green lamp?", "plato", api_name="/chat")
    assert first[1]["content"] == ("- **harbour-notes.txt** — “The harbour of Lund has a lighthouse with a green "
                                   "lamp, lit from the first storm of the year.”")
    # The same conversation goes on (Assistants: the thread already searches the store).
    second = client.predict("Who governs Varnholm? [[echo]]", "plato", api_name="/chat")
    assert "Council of Nine Lanterns" in second[0] and "[turn 2]" not in second[0]
    assert second[1]["content"].startswith("- **varnholm.md** — “It is governed by the Council of Nine Lanterns")
    assert second[1]["metadata"]["title"] == "📚 Sources"


def test_an_answer_cut_at_the_limit_keeps_its_sources(agora: RunningApp) -> None:
    answer, box = ask(agora, f"{SALT_QUESTION} [[pieces=1200]]")
    assert answer.endswith("⚠️ The reply was cut at the token limit.")
    assert box is not None and box["content"].startswith("- **varnholm.md**")


def test_what_the_readings_do_not_touch_cites_nothing(agora: RunningApp) -> None:
    answer, box = ask(agora, "Hello there! [[echo]]")
    assert box is None and "Passages from the readings" not in answer
    # A persona with no readings searches nothing, even for a question its readings would answer.
    answer, box = ask(agora, f"{SALT_QUESTION} [[echo]]", persona="kant")
    assert box is None and SALT_PASSAGE not in answer


def test_the_readings_go_in_one_vector_store_on_the_backend(agora: RunningApp) -> None:
    ask(agora, SALT_QUESTION)
    ask(agora, "Who governs Varnholm?")
    stores = [s for s in agora.server_client.vector_stores.list() if (s.metadata or {}).get("agora_readings")]
    if agora.backend.api == "chat":
        assert stores == []  # Chat Completions has no file_search: the app searched the readings itself
        return
    assert len(stores) == 1 and stores[0].file_counts.completed == 2
    files = agora.server_client.vector_stores.files.list(vector_store_id=stores[0].id)
    assert sorted(agora.server_client.files.retrieve(f.id).filename for f in files) == ["harbour-notes.txt",
                                                                                        "varnholm.md"]
