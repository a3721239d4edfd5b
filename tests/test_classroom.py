"""Classroom safety (issue 15): the app's own records, daily caps that outlive a restart, the
teacher's view behind its password, and an honest label.  (Thumbs and flags clicked in a real
page, and what the teacher then sees, are in test_browser.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from agora import startup
from agora.classroom import Classroom, ClassroomError, Session
from agora.classroom.records import Feedback, SqliteRecords
from agora.config import Settings
from tests.support import personas_without_samples, running_app

CAP = "⚠️ You have used today's 2 messages; the philosophers will be glad to talk again tomorrow."


def test_records_keep_feedback_and_daily_counts_across_a_restart(tmp_path: Path) -> None:
    records = SqliteRecords(str(tmp_path / "records.db"))
    records.add(Feedback.now("flag", "plato", "Is it ever right to lie?", "Never, said Kant."))
    records.add(Feedback("2026-11-30T09:00:00+00:00", "like", "kant", "What is duty?", "Acting from respect for law."))
    today = date(2026, 12, 2)
    assert [records.count("ip:10.0.0.7", today) for _ in range(3)] == [1, 2, 3]
    records.close()
    again = SqliteRecords(str(tmp_path / "records.db"))
    assert [f.kind for f in again.feedback()] == ["flag", "like"]  # newest first
    assert [f.persona for f in again.feedback(("like",))] == ["kant"]
    assert again.feedback(persona="kant", since=date(2026, 12, 1)) == []
    assert again.count("ip:10.0.0.7", today) == 4 and again.count("ip:10.0.0.7", today + timedelta(days=1)) == 1
    assert again.count("ip:10.0.0.7", today) == 1  # a new day: yesterday's counts are gone
    again.close()


@pytest.mark.slow
def test_the_daily_cap_holds_per_ip_across_a_restart_and_refused_messages_go_nowhere(tmp_path: Path) -> None:
    env = {"AGORA_DAILY_MESSAGES": "2", "AGORA_RECORDS": str(tmp_path / "records.db")}
    with running_app(env) as agora:
        client = Client(agora.url, verbose=False)
        assert client.predict("first", "plato", api_name="/chat").startswith("[turn 1]")
        assert client.predict("second", "plato", api_name="/chat").startswith("[turn 2]")
        assert client.predict("third", "plato", api_name="/chat") == CAP
        other_session = Client(agora.url, verbose=False)  # same IP: the cap is the classroom's too
        assert other_session.predict("hello", "kant", api_name="/chat") == CAP
        threads = agora.threads()
        assert len(threads) == 1 and len(agora.messages(threads[0].id)) == 4  # nothing refused was sent
    with running_app(env) as restarted:
        assert Client(restarted.url, verbose=False).predict("again", "plato", api_name="/chat") == CAP
        assert restarted.embedded.server is None  # nothing reached a backend: it was never even started
    with running_app({**env, "AGORA_RECORDS": str(tmp_path / "another-day.db")}) as fresh:
        assert Client(fresh.url, verbose=False).predict("again", "plato", api_name="/chat").startswith("[turn 1]")


@pytest.fixture
def classroom(tmp_path: Path) -> Iterator[Classroom]:
    with personas_without_samples() as personas:
        settings = Settings.from_env({"AGORA_ENGINE": "scripted", "AGORA_DB": str(tmp_path / "agora.db"),
                                      "AGORA_PERSONAS": str(personas), "AGORA_TEACHER_PASSWORD": "hemlock"})
        room = startup.classroom(settings)
        room.records.add(Feedback.now("flag", "plato", "A question", "=HYPERLINK(\"http://evil\")"))
        yield room
        room.close()
        room.backend.close()


def test_the_teachers_view_opens_only_with_its_password(classroom: Classroom) -> None:
    view, session = classroom.teacher, Session()
    with pytest.raises(ClassroomError, match="locked: type the teacher's password first"):
        view.rows(session, "all", "all", "")
    with pytest.raises(ClassroomError, match="not the teacher's password"):
        view.unlock("Hemlock", session)
    view.unlock("hemlock", session)
    assert [row[1:4] for row in view.rows(session, "all", "all", "")] == [["flag", "plato", "A question"]]
    assert "'=HYPERLINK" in view.csv(session, "flag", "plato", "")  # a spreadsheet shows it as text, does not run it
    # Five wrong tries and this session may try no more.
    other = Session()
    for _ in range(5):
        with pytest.raises(ClassroomError):
            view.unlock("guess", other)
    with pytest.raises(ClassroomError, match="Too many wrong passwords"):
        view.unlock("hemlock", other)


@pytest.mark.parametrize(("kind", "persona", "since", "message"), [
    ("everything", "all", "", "kind: 'everything' is not one of all, like, dislike, flag, moderation"),
    ("all", "socrates'; DROP TABLE feedback;--", "", "persona: \"socrates'; DROP TABLE feedback;--\" is not a persona"),
    ("all", "all", "yesterday", "since: 'yesterday' is not a date (YYYY-MM-DD)"),
    ("all", "all", "2026-13-45", "since: '2026-13-45' is not a date (YYYY-MM-DD)"),
    ("flag", ["plato"], "", "persona: \"['plato']\" is not a persona of this app"),
])
def test_the_teachers_filters_refuse_malformed_values_in_one_line(classroom: Classroom, kind: object,
                                                                   persona: object, since: str, message: str) -> None:
    view, session = classroom.teacher, Session()
    view.unlock("hemlock", session)
    for handler in (view.rows, view.csv):
        with pytest.raises(ClassroomError) as err:
            handler(session, kind, persona, since)
        assert message in str(err.value) and "\n" not in str(err.value)
    assert len(classroom.records.feedback()) == 1


@pytest.mark.slow
def test_nothing_of_the_teachers_view_is_in_the_public_api(tmp_path: Path) -> None:
    with running_app({"AGORA_TEACHER_PASSWORD": "hemlock"}) as agora:
        agora.classroom.records.add(Feedback.now("flag", "plato", "secret-question-7", "an answer"))
        api = Client(agora.url, verbose=False).view_api(return_format="dict", print_info=False)
        assert list(api["named_endpoints"]) == ["/chat", "/debate_turn"] and api["unnamed_endpoints"] == {}
        config = httpx.get(agora.url + "config", timeout=10).text
        assert "secret-question-7" not in config and "hemlock" not in config
        assert "agora-teacher-tab" in config  # the tab is there, empty until the password is typed


def test_a_session_goes_on_after_a_reload_only_under_the_servers_seal(classroom: Classroom) -> None:
    """The browser keeps its session id (so its daily count survives a reload); a forged one is ignored."""
    student = Session()
    saved = classroom.keeping.remember([{"role": "assistant", "content": "hi"}], "plato", student, {})
    reloaded = Session()
    classroom.keeping.restore(saved, reloaded)
    assert reloaded.id == student.id
    forged = {**saved, "session": {"id": "someone-else", "seal": saved["session"]["seal"]}}
    stranger = Session()
    classroom.keeping.restore(forged, stranger)
    assert stranger.id not in (student.id, "someone-else")
