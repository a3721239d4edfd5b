"""Rate limits per session and per client IP (off by default, on for public Spaces)."""

from __future__ import annotations

from gradio_client import Client

from agora.classroom.admission import RateLimiter, clean
from tests.support import running_app


def test_rate_limits_per_session_and_per_ip() -> None:
    with running_app({"AGORA_RATE_PER_SESSION": "2", "AGORA_RATE_PER_IP": "3"}) as agora:
        first, second = Client(agora.url, verbose=False), Client(agora.url, verbose=False)
        assert first.predict("one", "plato", api_name="/chat").startswith("[turn 1]")
        assert first.predict("two", "plato", api_name="/chat").startswith("[turn 2]")
        refused = first.predict("three", "plato", api_name="/chat")
        assert refused.startswith("⚠️ Too many messages; please wait ") and refused.endswith(" s before asking again.")
        assert second.predict("mine", "plato", api_name="/chat").startswith("[turn 1]")  # own session budget
        assert second.predict("again", "plato", api_name="/chat").startswith("⚠️ Too many")  # same IP: 3 used
        # The refused question was never sent: the next allowed turn would be turn 3 for `first`.


def test_limits_are_off_by_default() -> None:
    limiter = RateLimiter(None, None)
    assert all(limiter.check("a-session", None) is None for _ in range(1000))


def test_clean_keeps_newlines_and_text() -> None:
    assert clean("  a\tb\nc\x00\x1b[31m\u202e  ") == "a\tb\nc[31m"
