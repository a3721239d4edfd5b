"""The embedded server's Files and Vector Stores APIs, driven by the real openai SDK with strict
validation over loopback HTTP: uploads, readings cut into passages and indexed, ranked search."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import openai
import pytest
from openai import OpenAI

from agora.server import EmbeddedServer
from agora.server.engines import ScriptedEngine
from agora.server.store import SqliteStore
from agora.shared.citations import best_sentence, cite, context
from agora.shared.retrieval import MAX_FILE_BYTES, Library, passages
from tests.support import sdk

READINGS = Path(__file__).resolve().parent / "readings"
VARNHOLM = READINGS / "varnholm.md"
HARBOURS = READINGS / "harbour-notes.txt"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[OpenAI]:
    store = SqliteStore(tmp_path / "agora.db")
    with EmbeddedServer(ScriptedEngine(), store=store) as server:
        yield sdk(server.base_url)
    store.close()


def pdf_of(text: str, *, password: str | None = None) -> bytes:
    """A real PDF with ``text`` on its page (drawn by matplotlib, with fonts whose text can be read back)."""
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"pdf.fonttype": 42}):
        figure = Figure(figsize=(8.5, 11))
        figure.text(0.05, 0.95, text, va="top", wrap=True, fontsize=11)
        out = io.BytesIO()
        figure.savefig(out, format="pdf")
    if password is None:
        return out.getvalue()
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(out.getvalue())))
    writer.encrypt(password)
    locked = io.BytesIO()
    writer.write(locked)
    return locked.getvalue()


def test_files_upload_list_retrieve_content_delete(client: OpenAI) -> None:
    uploaded = client.files.create(file=VARNHOLM.open("rb"), purpose="assistants")
    assert uploaded.filename == "varnholm.md" and uploaded.bytes == VARNHOLM.stat().st_size
    assert uploaded.status == "processed" and uploaded.purpose == "assistants"
    other = client.files.create(file=("notes.bin", b"\x00\x01 raw bytes"), purpose="batch")  # not read: any type
    assert [f.id for f in client.files.list()] == [other.id, uploaded.id]
    assert [f.id for f in client.files.list(purpose="assistants")] == [uploaded.id]
    assert client.files.retrieve(uploaded.id) == uploaded
    assert client.files.content(uploaded.id).content == VARNHOLM.read_bytes()
    deleted = client.files.delete(uploaded.id)
    assert deleted.deleted and deleted.id == uploaded.id
    with pytest.raises(openai.NotFoundError, match=uploaded.id):
        client.files.retrieve(uploaded.id)


def test_pdfs_are_read(client: OpenAI) -> None:
    pdf = client.files.create(file=("laws.pdf", pdf_of("In Varnholm the Silent Court settles disputes.")),
                              purpose="assistants")
    store = client.vector_stores.create(name="pdf", file_ids=[pdf.id])
    done = client.vector_stores.files.poll(pdf.id, vector_store_id=store.id, poll_interval_ms=20)
    assert done.status == "completed"
    hits = client.vector_stores.search(store.id, query="Which court settles disputes?").data
    assert hits and hits[0].filename == "laws.pdf" and "Silent Court" in hits[0].content[0].text


@pytest.mark.parametrize("name, data, says", [
    ("essay.docx", b"PK\x03\x04 not a text file", "essay.docx: files of type '.docx' cannot be read; use .txt, .md, .pdf"),
    ("empty.txt", b"  \n\n ", "empty.txt: the file has no text"),
    ("latin1.txt", "Véritable".encode("latin-1"), "latin1.txt: not UTF-8 text (byte 0xe9 at offset 1)"),
    ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "broken.pdf: not a readable PDF"),
    ("locked.pdf", None, "locked.pdf: the PDF is encrypted; save it without a password"),
    ("blank.pdf", None, "blank.pdf: the file has no text (a scanned PDF?)"),
])
def test_a_file_that_cannot_be_a_reading_gets_one_clear_line(client: OpenAI, name: str, data: bytes | None,
                                                              says: str) -> None:
    if name == "locked.pdf":
        data = pdf_of("Secret laws.", password="s3cret")
    elif name == "blank.pdf":
        data = pdf_of("")
    assert data is not None
    with pytest.raises(openai.BadRequestError) as refused:
        client.files.create(file=(name, data), purpose="assistants")
    message = refused.value.body["message"]  # type: ignore[index]
    assert message.startswith(says) and "\n" not in message
    assert refused.value.body["param"] == "file"  # type: ignore[index]
    assert list(client.files.list()) == []  # nothing was kept


def test_a_file_over_the_limit_is_refused(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as refused:
        client.files.create(file=("huge.txt", b"a " * (MAX_FILE_BYTES // 2 + 40_000)), purpose="assistants")
    assert refused.value.status_code == 413 and "limit" in refused.value.message


def test_vector_store_files_are_indexed_and_searched(client: OpenAI) -> None:
    store = client.vector_stores.create(name="Varnholm readings", metadata={"persona": "plato"})
    assert store.status == "completed" and store.file_counts.total == 0
    entry = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=VARNHOLM.open("rb"),
                                                       poll_interval_ms=20)
    assert entry.status == "completed" and entry.last_error is None and entry.usage_bytes == VARNHOLM.stat().st_size
    notes = client.files.create(file=HARBOURS.open("rb"), purpose="assistants")
    client.vector_stores.files.create_and_poll(notes.id, vector_store_id=store.id, attributes={"kind": "notes"},
                                               poll_interval_ms=20)
    store = client.vector_stores.retrieve(store.id)
    assert store.status == "completed" and store.file_counts.completed == 2 and store.file_counts.total == 2
    assert store.usage_bytes == VARNHOLM.stat().st_size + HARBOURS.stat().st_size

    results = client.vector_stores.search(store.id, query="What must a citizen who lies about the salt harvest do?")
    best = results.data[0]
    assert best.filename == "varnholm.md" and best.file_id == entry.id
    assert "plant one silver birch on the Hill of Gulls for every sack" in best.content[0].text
    assert 0 < best.score < 1 and all(a.score >= b.score for a, b in zip(results.data, results.data[1:]))
    lighthouse = client.vector_stores.search(store.id, query=["lighthouse", "green lamp"], max_num_results=1).data
    assert len(lighthouse) == 1 and lighthouse[0].filename == "harbour-notes.txt"
    assert lighthouse[0].attributes == {"kind": "notes"}
    assert client.vector_stores.search(store.id, query="quantum chromodynamics").data == []

    assert {f.id for f in client.vector_stores.files.list(store.id)} == {entry.id, notes.id}
    assert client.vector_stores.files.update(notes.id, vector_store_id=store.id,
                                             attributes={"kind": "map"}).attributes == {"kind": "map"}
    assert client.vector_stores.files.delete(notes.id, vector_store_id=store.id).deleted
    assert client.vector_stores.search(store.id, query="lighthouse green lamp").data == []
    assert client.vector_stores.update(store.id, name="Renamed").name == "Renamed"
    assert [v.id for v in client.vector_stores.list()] == [store.id]
    assert client.vector_stores.delete(store.id).deleted
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_file_batches(client: OpenAI) -> None:
    store = client.vector_stores.create(name="batch")
    batch = client.vector_stores.file_batches.upload_and_poll(store.id, files=[VARNHOLM.open("rb"), HARBOURS.open("rb")],
                                                              poll_interval_ms=20)
    assert batch.status == "completed" and batch.file_counts.completed == 2 and batch.file_counts.total == 2
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id)
    assert len(listed.data) == 2 and {f.status for f in listed.data} == {"completed"}
    cancelled = client.vector_stores.file_batches.cancel(batch.id, vector_store_id=store.id)
    assert cancelled.status == "cancelled"


def test_a_file_that_fails_in_a_store_says_why(client: OpenAI) -> None:
    odd = client.files.create(file=("slides.pptx", b"PK\x03\x04"), purpose="batch")  # not read on upload
    store = client.vector_stores.create(name="odd", file_ids=[odd.id])
    entry = client.vector_stores.files.poll(odd.id, vector_store_id=store.id, poll_interval_ms=20)
    assert entry.status == "failed" and entry.last_error is not None
    assert entry.last_error.code == "unsupported_file" and entry.last_error.message.startswith("slides.pptx: ")
    assert client.vector_stores.retrieve(store.id).file_counts.failed == 1


def test_unknown_ids_and_filters_get_openai_errors(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.create(file_ids=["file_missing"])
    store = client.vector_stores.create(name="x")
    with pytest.raises(openai.NotFoundError):
        client.vector_stores.files.create(vector_store_id=store.id, file_id="file_missing")
    with pytest.raises(openai.BadRequestError, match="filters"):
        client.vector_stores.search(store.id, query="x", filters={"type": "eq", "key": "a", "value": "b"})


def test_passages_overlap_so_no_sentence_is_lost() -> None:
    words = [f"w{i}" for i in range(300)]
    cut = passages(" ".join(words), words=120, overlap=30)
    assert [p.split()[0] for p in cut] == ["w0", "w90", "w180"]
    assert cut[0].split()[-30:] == cut[1].split()[:30] and cut[-1].split()[-1] == "w299"
    assert passages("one two", words=120, overlap=30) == ["one two"] and passages("   ") == []


def test_a_quote_is_a_whole_sentence_that_bears_on_the_question() -> None:
    """Passages keep paragraphs and headings apart (wrapped lines joined), so a quote is never a
    heading or the fragment a passage begins with, and words like "and" decide nothing."""
    library = Library()
    library.index("vs", "laws", "varnholm.md", VARNHOLM.read_text(encoding="utf-8"))
    assert "## On strangers\nA stranger who arrives by sea" in "".join(passages(VARNHOLM.read_text(encoding="utf-8")))

    def quotes(question: str) -> list[str]:
        return [c.quote for c in cite("", library.search(["vs"], question, 3), question)[1]]

    assert quotes("How are disputes settled?") == [
        "Disputes between neighbours are settled by the Silent Court: each side writes its complaint on a slate, "
        "and the three judges may not speak until they have read both slates twice."]
    assert quotes("Why is the wall called Falk's Wall?") == ["Since then the harbour wall has been called Falk's Wall."]
    assert best_sentence("the stranger's stone. Salt and bread. Gulls and birches. A stranger and a guest.",
                         "and the stranger") == "A stranger and a guest."
    # Sharing only common words with every passage is not bearing on it: nothing cited, nothing given.
    hits = library.search(["vs"], "What is the good life?", 3)
    assert hits and cite("", hits, "What is the good life?") == ("", []) and context(hits) is None


# ------------------------------------------------------------------ file_search in runs


def readings_store(client: OpenAI) -> tuple[str, str]:
    """A vector store holding both readings; (its id, the Varnholm file's id)."""
    store = client.vector_stores.create(name="readings")
    laws = client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=VARNHOLM.open("rb"),
                                                      poll_interval_ms=20)
    client.vector_stores.files.upload_and_poll(vector_store_id=store.id, file=HARBOURS.open("rb"), poll_interval_ms=20)
    return store.id, laws.id


QUESTION = "What must a citizen who lies about the salt harvest do?"


def test_an_assistants_run_searches_and_cites_the_reading(client: OpenAI) -> None:
    store_id, laws_id = readings_store(client)
    asst = client.beta.assistants.create(model="scripted", instructions="You are Plato.", tools=[{"type": "file_search"}],
                                         tool_resources={"file_search": {"vector_store_ids": [store_id]}})
    assert asst.tool_resources is not None and asst.tool_resources.file_search is not None
    assert asst.tool_resources.file_search.vector_store_ids == [store_id]
    thread = client.beta.threads.create(messages=[{"role": "user", "content": f"{QUESTION} [[echo]]"}])
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=asst.id) as stream:
        events = [(event.event, getattr(event.data, "type", None)) for event in stream]
        message = stream.get_final_messages()[0]
        run = stream.get_final_run()
    names = [name for name, _ in events]
    search_done = events.index(("thread.run.step.completed", "tool_calls"))
    assert events.index(("thread.run.step.created", "tool_calls")) < search_done < names.index("thread.message.created")
    text = message.content[0].text  # type: ignore[union-attr]
    assert "plant one silver birch on the Hill of Gulls" in text.value  # [[echo]]: the passage reached the model
    cited = text.annotations[0]
    assert cited.type == "file_citation" and cited.file_citation.file_id == laws_id  # type: ignore[union-attr]
    assert text.value[cited.start_index:cited.end_index] == cited.text == "【0:0†varnholm.md】"
    assert "plant one silver birch" in cited.file_citation.quote  # type: ignore[union-attr]
    assert all(a.file_citation.file_id == laws_id for a in text.annotations)  # type: ignore[union-attr]  # not the harbour notes
    steps = client.beta.threads.runs.steps.list(run_id=run.id, thread_id=thread.id, order="asc").data
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    call = steps[0].step_details.tool_calls[0]  # type: ignore[union-attr]
    assert call.type == "file_search" and call.file_search.results[0].file_name == "varnholm.md"  # type: ignore[union-attr]
    # A polled run cites the same way, and the next turn's prompt shows no markers to the model.
    client.beta.threads.messages.create(thread_id=thread.id, role="user", content=f"And then? {QUESTION} [[echo]]")
    polled = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=asst.id, poll_interval_ms=20)
    reply = client.beta.threads.messages.list(thread_id=thread.id, run_id=polled.id).data[0].content[0].text  # type: ignore[union-attr]
    assert reply.annotations and reply.value.count("【") == len(reply.annotations)  # the echoed history had none


def test_file_search_reads_the_threads_stores_too(client: OpenAI) -> None:
    store_id, laws_id = readings_store(client)
    asst = client.beta.assistants.create(model="scripted", tools=[{"type": "file_search"}])
    run = client.beta.threads.create_and_run_poll(
        assistant_id=asst.id, poll_interval_ms=20, tool_resources={"file_search": {"vector_store_ids": [store_id]}},
        thread={"messages": [{"role": "user", "content": "Who governs Varnholm?"}]})
    message = client.beta.threads.messages.list(thread_id=run.thread_id).data[0]
    assert message.content[0].text.annotations[0].file_citation.file_id == laws_id  # type: ignore[union-attr]


def test_a_response_searches_and_cites_the_reading(client: OpenAI) -> None:
    store_id, laws_id = readings_store(client)
    tools = [{"type": "file_search", "vector_store_ids": [store_id]}]
    with client.responses.stream(model="scripted", input=f"{QUESTION} [[echo]]", tools=tools) as stream:  # type: ignore[arg-type]
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    search_events = ["response.file_search_call.in_progress", "response.file_search_call.searching",
                     "response.file_search_call.completed"]
    assert [k for k in kinds if k.startswith("response.file_search_call")] == search_events
    assert kinds.index("response.file_search_call.completed") < kinds.index("response.output_text.delta")
    assert kinds.index("response.output_text.annotation.added") < kinds.index("response.output_text.done")
    search, message = final.output
    assert search.type == "file_search_call" and search.queries == [f"{QUESTION} [[echo]]"]
    assert search.results is not None and search.results[0].filename == "varnholm.md"
    assert message.type == "message"
    text = message.content[0]
    assert text.type == "output_text" and "plant one silver birch on the Hill of Gulls" in text.text  # reached the model
    assert [(a.type, a.file_id, a.filename, a.index) for a in text.annotations] == [  # type: ignore[union-attr]
        ("file_citation", laws_id, "varnholm.md", len(text.text))]
    # Not streamed, and stored: the same output.
    polled = client.responses.create(model="scripted", input="Who governs Varnholm?", tools=tools)  # type: ignore[arg-type]
    assert [item.type for item in polled.output] == ["file_search_call", "message"]
    assert client.responses.retrieve(polled.id).output[1].content[0].annotations[0].file_id == laws_id  # type: ignore[union-attr]


def test_responses_offer_file_search_only(client: OpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="Supported values are: 'file_search'"):
        client.responses.create(model="scripted", input="hi", tools=[{"type": "web_search"}])  # type: ignore[list-item]
    with pytest.raises(openai.NotFoundError, match="vs_missing"):
        client.responses.create(model="scripted", input="hi", tools=[{"type": "file_search",
                                                                      "vector_store_ids": ["vs_missing"]}])
