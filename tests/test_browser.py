"""What a teacher and a student see, in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from agora.personas import load_personas
from agora.web.launch import launch_options
from tests.browser import BOT, CHROMIUM, CHROMIUM_ARGS, USER, ask
from tests.support import READINGS, SALT_PASSAGE, SALT_QUESTION, RunningApp, free_port, running_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCS = Path(__file__).resolve().parent.parent / "docs"
PERSONAS = {p.id: p for p in load_personas()}


@pytest.fixture(scope="module")
def agora() -> Iterator[RunningApp]:
    with running_app({"AGORA_SCRIPTED_DELAY": "0.04", "AGORA_SCRIPTED_PIECES": "60", "AGORA_MAX_INPUT_CHARS": "2000"},
                     launch=launch_options()) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, agora: RunningApp) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="en-US")
    page = context.new_page()
    page.goto(agora.url)
    expect(page.locator(BOT).first).to_contain_text(PERSONAS["socrates"].greeting)
    yield page
    context.close()


def choose(page: Page, label: str) -> None:
    page.locator("#agora-persona input").click()
    page.get_by_role("option", name=label).click()


def last_bot(page: Page) -> str:
    return page.locator(BOT).last.inner_text()


def test_answer_visibly_grows_then_screenshot(page: Page) -> None:
    choose(page, PERSONAS["plato"].label)
    expect(page.locator(BOT).first).to_contain_text(PERSONAS["plato"].greeting)
    ask(page, "What is philosophy?")
    expect(page.locator(BOT)).to_have_count(2)
    expect(page.locator(BOT).last).to_contain_text("You asked")
    readings = []
    for _ in range(4):
        readings.append(last_bot(page))
        time.sleep(0.3)
    assert all(len(b) > len(a) and b.startswith(a.rstrip()) for a, b in zip(readings, readings[1:])), readings
    expect(page.locator(BOT).last).not_to_have_class(re.compile("pending"), timeout=10_000)
    page.wait_for_function("() => !document.querySelector('#agora-input button.stop-button')", timeout=10_000)
    assert len(last_bot(page).split()) == 60
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "screenshot.png"))
    assert (DOCS / "screenshot.png").stat().st_size > 10_000


def test_stop_keeps_partial_and_next_question_works(page: Page) -> None:
    ask(page, "Tell me everything [[pieces=400]]")
    expect(page.locator(BOT).last).to_contain_text("You asked")
    page.locator("#agora-input button.stop-button").click()
    expect(page.locator(BOT).last).to_contain_text("Stopped.")
    stopped = last_bot(page)
    time.sleep(0.6)
    assert last_bot(page) == stopped and 4 <= len(stopped.split()) < 400  # it really stopped; the partial text stays
    ask(page, "Next question [[pieces=8]]")
    expect(page.locator(BOT).last).to_contain_text("[turn 2] You asked: Next question")
    expect(page.locator(USER)).to_have_count(2)


def test_switching_persona_shows_greeting_and_empty_history(page: Page) -> None:
    ask(page, "First [[pieces=5]]")
    expect(page.locator(BOT)).to_have_count(2)
    choose(page, PERSONAS["kant"].label)
    expect(page.locator(BOT)).to_have_count(1)
    expect(page.locator(BOT).first).to_contain_text(PERSONAS["kant"].greeting)
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator("#agora-card")).to_contain_text(PERSONAS["kant"].tagline)
    expect(page.locator("#agora-examples")).to_contain_text(PERSONAS["kant"].examples[0])


def test_html_and_script_in_messages_run_nothing(page: Page) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    ask(page, 'Hi <img src=x onerror="window.__xss=1;alert(1)"> <script>window.__xss2=1</script> [[pieces=12]]')
    expect(page.locator(BOT)).to_have_count(2)
    expect(page.locator(BOT).last).to_contain_text("You asked")  # the echo puts the markup in model output too
    time.sleep(0.5)
    assert page.evaluate("() => [window.__xss, window.__xss2]") == [None, None]
    assert alerts == []


HOSTILE = ('<svg width="220" height="30"><a href="javascript:alert(\'svg\')"><text x="4" y="20">svg-link</text></a>'
           '</svg> <math><mtext><a href="javascript:alert(\'math\')">math-link</a></mtext></math> '
           '<form action="https://example.com/"><button>form-button</button></form> '
           '<div style="position:fixed;inset:0;z-index:9999;background:red">full-screen-overlay</div> '
           '<a href="jav&#x09;ascript:alert(\'tab\')">tab-link</a> [md-link](javascript:alert(\'md\'))')


def inert(page: Page) -> dict[str, list[str]]:
    """What in the chat could run script, submit a form or cover the page (every list empty if nothing)."""
    for text in ("svg-link", "math-link", "form-button", "full-screen-overlay", "tab-link", "md-link"):
        for found in page.locator("#agora-chat").get_by_text(text).all():
            if found.is_visible():
                found.click(modifiers=["Alt"], timeout=2000)  # Alt: a real link would download, not open a tab
    return page.evaluate("""() => {
      const chat = document.querySelector('#agora-chat');
      const messages = [...chat.querySelectorAll("[data-testid='bot'], [data-testid='user']")];
      const inside = messages.flatMap(m => [...m.querySelectorAll('*')]);
      const href = e => e.getAttribute('href') ?? e.getAttribute('xlink:href');
      const scheme = h => { try { return new URL(h, location.href).protocol } catch { return 'invalid' } };
      return {
        links: inside.filter(e => href(e) !== null && !['http:', 'https:', 'mailto:'].includes(scheme(href(e))))
                     .map(e => e.outerHTML),
        forms: inside.filter(e => ['FORM', 'INPUT', 'TEXTAREA', 'SELECT'].includes(e.tagName)).map(e => e.tagName),
        foreign: inside.filter(e => e.closest('svg, math') && e.tagName.toLowerCase() === 'a').map(e => e.outerHTML),
        placed: inside.filter(e => ['fixed', 'sticky'].includes(getComputedStyle(e).position)
                                   || e.getAttribute('style')).map(e => e.outerHTML.slice(0, 120)),
      };
    }""")


def test_hostile_html_in_a_message_a_reply_and_a_card_is_inert(page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    home = page.url
    ask(page, f"Look at this: {HOSTILE} [[pieces=12]]")
    expect(page.locator(BOT).last).to_contain_text("You asked: Look at this")  # the reply repeats it all
    expect(page.locator(BOT).last).not_to_have_class(re.compile("pending"), timeout=10_000)
    expect(page.locator(USER).last).to_contain_text("tab-link")  # the text itself stays readable
    assert inert(page) == {"links": [], "forms": [], "foreign": [], "placed": []}
    # The same, arriving as an imported character card's greeting.
    card = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Mallory", "description": "You are Mallory, who tests every lock in the house.",
        "first_mes": f"Welcome! {HOSTILE}", "mes_example": "", "scenario": "", "personality": ""}}
    page.get_by_text("Create your own philosopher").click()
    page.locator("#agora-card-import input[type=file]").set_input_files(
        files=[{"name": "mallory.json", "mimeType": "application/json", "buffer": json.dumps(card).encode()}])
    expect(page.locator("#agora-custom-name textarea")).to_have_value("Mallory")
    page.locator("#agora-custom-use").click()
    expect(page.locator(BOT).first).to_contain_text("Welcome!")
    assert inert(page) == {"links": [], "forms": [], "foreign": [], "placed": []}
    time.sleep(0.3)
    assert dialogs == [] and page.url == home and len(page.context.pages) == 1


def test_downloads_come_from_memory_and_refused_questions_are_not_kept(page: Page) -> None:
    before = set(Path(tempfile.gettempdir()).iterdir())
    ask(page, "Worth keeping [[pieces=6]]")
    expect(page.locator(BOT).last).to_contain_text("You asked: Worth keeping")
    with page.expect_download() as transcript:
        page.locator("#agora-export").click()
    assert transcript.value.suggested_filename.startswith("agora-socrates-")
    assert "Worth keeping" in Path(transcript.value.path()).read_text(encoding="utf-8")
    page.get_by_text("Create your own philosopher").click()
    page.locator("#agora-custom-name textarea").fill("Hypatia")
    page.locator("#agora-custom-instructions textarea").fill("You are Hypatia of Alexandria, a teacher.")
    page.locator("#agora-custom-use").click()
    with page.expect_download() as exported:
        page.locator("#agora-custom-yaml").click()
    assert exported.value.suggested_filename == "Hypatia.yaml"
    assert load_personas(exported.value.path())[0].id == "hypatia"
    assert set(Path(tempfile.gettempdir()).iterdir()) - before == set()  # the server wrote no file
    ask(page, "z" * 2500)  # over AGORA_MAX_INPUT_CHARS: refused, never sent
    expect(page.locator(BOT).last).to_contain_text("the limit is 2,000")
    ask(page, "A fair question [[pieces=12]]")
    expect(page.locator(BOT).last).to_contain_text("You asked: A fair question")
    time.sleep(0.5)
    page.reload()
    expect(page.locator(USER).last).to_contain_text("A fair question")
    assert [q for q in page.locator(USER).all_inner_texts() if "zzzz" in q] == []  # the refused one is not kept


def test_clicking_an_example_asks_it(page: Page) -> None:
    question = PERSONAS["socrates"].examples[0]
    page.locator("#agora-examples").get_by_text(question).click()
    expect(page.locator(USER).last).to_contain_text(question)
    expect(page.locator(BOT).last).to_contain_text(f"You asked: {question}")


def test_custom_persona_and_reload_keeps_history(page: Page) -> None:
    page.get_by_text("Create your own philosopher").click()
    page.locator("#agora-custom-name textarea").fill("Epictetus")
    page.locator("#agora-custom-instructions textarea").fill("You are Epictetus, a Stoic teacher. Be brief.")
    page.locator("#agora-custom-use").click()
    expect(page.locator(BOT).first).to_contain_text("Hello, I am Epictetus")
    expect(page.locator("#agora-card")).to_contain_text("Epictetus")
    ask(page, "What is in my control?")
    expect(page.locator(BOT).last).to_contain_text("You asked: What is in my control?")
    expect(page.locator("#agora-custom-yaml")).to_be_visible()
    time.sleep(0.5)
    page.reload()
    expect(page.locator(USER).last).to_contain_text("What is in my control?")
    expect(page.locator("#agora-card")).to_contain_text("Epictetus")
    ask(page, "And what is not?")
    expect(page.locator(BOT).last).to_contain_text("[turn 2] You asked: And what is not?")  # same thread


def test_french_and_phone_width(browser: Browser, agora: RunningApp) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
    page = context.new_page()
    page.goto(agora.url)
    socrates = PERSONAS["socrates"].shown_in("fr")
    expect(page.get_by_text("Posez une question à un grand philosophe")).to_be_visible()
    expect(page.locator("#agora-label")).to_have_text("🎭 Ces philosophes sont des simulations par IA, et ils "
                                                      "peuvent se tromper : vérifiez ce que vous lisez dans les textes.")
    expect(page.locator(BOT).first).to_contain_text(socrates.greeting, timeout=15_000)
    expect(page.locator("#agora-badge")).to_contain_text("Répond : assistants API")
    expect(page.locator("#agora-examples")).to_contain_text(socrates.examples[0])
    expect(page.locator("#agora-card")).to_contain_text(socrates.tagline)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    for part in ("#agora-card", "#agora-card .agora-tagline", "#agora-badge", "#agora-label", "#agora-examples"):
        box = page.locator(part).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, (part, box)
    page.screenshot(path=str(DOCS / "phone-fr.png"))
    choose(page, PERSONAS["kant"].label)
    expect(page.locator(BOT).first).to_contain_text(PERSONAS["kant"].shown_in("fr").greeting)
    expect(page.locator("#agora-examples")).to_contain_text(PERSONAS["kant"].shown_in("fr").examples[1])
    ask(page, "Bonjour [[pieces=5]]")
    expect(page.locator(BOT).last).to_contain_text("You asked: Bonjour")
    ask(page, "Racontez tout [[pieces=400]]")
    expect(page.locator(BOT).last).to_contain_text("You asked: Racontez")
    page.locator("#agora-input button.stop-button").click()
    expect(page.locator(BOT).last).to_contain_text("Arrêté.")  # notices in the student's language too
    ask(page, "Encore [[pieces=6 fail_after=3]]")
    expect(page.locator(BOT).last).to_contain_text("La réponse a échoué sur le serveur")
    context.close()


def test_question_right_after_switching_keeps_the_new_greeting(page: Page) -> None:
    # A slow network (as to a Space) widens the window between switching and asking.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 300, "downloadThroughput": -1, "uploadThroughput": -1})
    choose(page, PERSONAS["arendt"].label)
    ask(page, "Right away [[pieces=6]]")  # no waiting for the switch to settle
    expect(page.locator(BOT).last).to_contain_text("[turn 1] You asked: Right away")
    expect(page.locator(BOT)).to_have_count(2)
    expect(page.locator(BOT).first).to_contain_text(PERSONAS["arendt"].greeting)


def test_a_reading_added_in_the_page_is_cited_under_the_reply(page: Page) -> None:
    expect(page.locator("#agora-label")).to_contain_text("AI simulations, and they can be wrong")
    page.get_by_text("Readings for this session").click()
    expect(page.locator("#agora-readings-list")).to_contain_text("No readings yet")
    upload = page.locator("#agora-readings-upload input[type=file]")
    upload.set_input_files(str(READINGS / "varnholm.md"))
    expect(page.locator("#agora-readings-list")).to_contain_text("Answers search: varnholm.md.")
    ask(page, f"{SALT_QUESTION} [[pieces=12]]")
    reply = page.locator(BOT).nth(1)
    expect(reply).to_contain_text("You asked: What must a citizen")
    box = page.locator(BOT).nth(2)  # the sources, in a box of their own under the reply
    expect(box).to_contain_text("📚 Sources", timeout=10_000)
    box.get_by_text("📚 Sources").click()  # collapsed until opened
    expect(box.get_by_text(f"— “A citizen who lies about the weight of the salt harvest {SALT_PASSAGE}")).to_be_visible()
    expect(box.locator("strong")).to_have_text("varnholm.md")
    time.sleep(0.5)  # the box opens with an animation
    page.screenshot(path=str(DOCS / "sources.png"))
    reply_box, sources_box = reply.bounding_box(), box.bounding_box()
    assert reply_box is not None and sources_box is not None and sources_box["y"] > reply_box["y"]
    # A file that cannot be a reading: one clear line; the reading and the conversation stay.
    upload.set_input_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"\xff\xfe\x00bad"}])
    expect(page.get_by_text("notes.txt: not UTF-8 text (byte 0xff at offset 0)")).to_be_visible()
    upload.set_input_files(files=[{"name": "notes.docx", "mimeType": "application/msword", "buffer": b"PK\x03\x04"}])
    expect(page.get_by_text("Invalid file type: notes.docx. Only .txt, .md, .pdf allowed.")).to_be_visible()
    expect(page.locator("#agora-readings-list")).to_have_text("Answers search: varnholm.md.")
    expect(page.locator(BOT)).to_have_count(3)


def test_thumbs_down_and_flag_reach_the_teachers_view(browser: Browser) -> None:
    with running_app({"AGORA_TEACHER_PASSWORD": "hemlock", "AGORA_SCRIPTED_DELAY": "0.01"},
                     launch=launch_options()) as agora:
        page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="en-US")
        page.goto(agora.url)
        ask(page, "Is lying ever right? [[pieces=8]]")
        expect(page.locator(BOT).last).to_contain_text("You asked: Is lying ever right?")
        page.wait_for_function("() => !document.querySelector('#agora-input button.stop-button')")
        page.locator("#agora-chat button[aria-label='Dislike']").last.click()
        page.locator("#agora-chat button[aria-label='Feedback']").last.click()
        page.locator("#agora-chat .extra-feedback-option", has_text="Flag").last.click()
        page.get_by_role("tab", name="🧑‍🏫 Teacher").click()
        expect(page.locator("#agora-teacher-table")).to_be_hidden()  # nothing until the password
        page.locator("#agora-teacher-password input").fill("oak")
        page.locator("#agora-teacher-open").click()
        expect(page.get_by_text("That is not the teacher's password.")).to_be_visible()
        page.locator(".toast-close").click()  # the screenshot below shows the view, not a toast from before
        expect(page.get_by_text("That is not the teacher's password.")).to_be_hidden()
        page.locator("#agora-teacher-password input").fill("hemlock")
        page.locator("#agora-teacher-open").click()
        table = page.locator("#agora-teacher-table")
        expect(table).to_contain_text("Is lying ever right?")
        expect(table).to_contain_text("dislike")
        expect(table).to_contain_text("flag")
        assert sorted(f.kind for f in agora.classroom.records.feedback()) == ["dislike", "flag"]  # once each
        expect(page.locator("#agora-teacher-password input")).to_have_value("")
        expect(page.get_by_role("tab", name="🧑‍🏫 Teacher")).to_have_count(1)  # shown once (it was twice)
        page.screenshot(path=str(DOCS / "teacher.png"))
        page.locator("#agora-teacher-since textarea").fill("someday")
        page.locator("#agora-teacher-since textarea").press("Enter")
        expect(page.get_by_text("since: 'someday' is not a date (YYYY-MM-DD)")).to_be_visible()
        page.close()


def test_restart_keeps_the_conversation(browser: Browser, tmp_path: Path) -> None:
    """A teacher restarts the app mid-class: each student's page still holds its conversation."""
    port, env = free_port(), {"AGORA_DB": str(tmp_path / "agora.db")}
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    with running_app(env, port=port) as first:
        page.goto(first.url)
        ask(page, "Remember this [[pieces=8]]")
        expect(page.locator(BOT).last).to_contain_text("[turn 1] You asked: Remember this")
        time.sleep(0.5)  # the page stores the conversation after the reply
    with running_app(env, port=port):
        page.reload()
        expect(page.locator(USER).last).to_contain_text("Remember this")
        ask(page, "Still there? [[pieces=8]]")
        expect(page.locator(BOT).last).to_contain_text("[turn 2] You asked: Still there?")  # same thread
    context.close()


def test_a_debate_goes_turn_by_turn_stops_and_answers_an_interjection(page: Page) -> None:
    socrates, plato = PERSONAS["socrates"], PERSONAS["plato"]
    page.get_by_role("tab", name="🗣️ Debate").click()
    turns = page.locator("#agora-debate [data-testid='bot']")
    page.locator("#agora-debate-question textarea").fill("What is courage?")
    page.locator("#agora-debate-auto").click()  # one round: each philosopher once
    expect(turns.first).to_contain_text(f"{socrates.avatar} {socrates.name}")
    expect(turns.first).to_contain_text("[turn 1] You asked: What is courage?")
    partway = turns.first.inner_text()
    expect(turns).to_have_count(2, timeout=20_000)  # the first turn ended, the second began
    assert len(partway) < len(turns.first.inner_text())  # it streamed
    expect(turns.nth(1)).to_contain_text(f"{plato.avatar} {plato.name}")
    expect(turns.nth(1)).to_contain_text("You asked: Socrates said: [turn 1] You asked: What is courage?",
                                         timeout=20_000)
    expect(page.locator("#agora-debate-speaker-0")).to_have_text(f"{socrates.avatar} {socrates.name}")
    page.wait_for_timeout(3_000)  # the round is over
    # Socrates again, stopped mid-turn: what he said stays, marked as cut, and grows no more.
    page.locator("#agora-debate-speaker-0").click()
    expect(turns).to_have_count(3)
    expect(turns.nth(2)).to_contain_text("You asked: Plato said:")
    page.locator("#agora-debate-stop").click()
    expect(turns.nth(2)).to_contain_text("…")
    stopped = turns.nth(2).inner_text()
    page.wait_for_timeout(800)
    assert turns.nth(2).inner_text() == stopped and len(stopped.split()) < 60
    # An interjection: the next speaker (Plato) answers it.
    page.locator("#agora-debate-interject textarea").fill("But is courage knowledge?")
    page.locator("#agora-debate-speaker-1").click()
    users = page.locator("#agora-debate [data-testid='user']")
    expect(users.last).to_have_text("But is courage knowledge?")
    expect(turns.nth(3)).to_contain_text("You asked: The moderator says: But is courage knowledge?")
    expect(page.locator("#agora-debate-interject textarea")).to_have_value("")
    page.wait_for_timeout(3_000)
    page.screenshot(path=str(DOCS / "debate.png"), full_page=True)
    # A reload keeps the debate (checked, from the browser's copy).
    page.reload()
    page.get_by_role("tab", name="🗣️ Debate").click()
    expect(turns).to_have_count(4)
    expect(page.locator("#agora-debate-question textarea")).to_have_value("What is courage?")
