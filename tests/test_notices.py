"""Notices speak the student's language: the browser's Accept-Language picks English or French."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import get_args

import pytest
from gradio_client import Client

from agora.classroom.notices import NOTICES, language, say
from agora.client.conversation import EndKind
from tests.support import RunningApp, running_app


@pytest.mark.parametrize(("header", "lang"), [
    ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
    ("en-GB,en;q=0.9,fr;q=0.8", "en"),
    ("de-DE,de;q=0.9,fr;q=0.5,en;q=0.3", "fr"),  # the best one Agora speaks
    ("de-DE;q=0.9,en;q=0.1,FR;q=0.2", "fr"),
    ("de, ja", "en"),
    ("fr;q=bad, en", "en"),
    ("", "en"),
    (None, "en"),
])
def test_language_from_accept_language(header: str | None, lang: str) -> None:
    assert language(header) == lang


def test_every_notice_in_both_languages_with_the_same_fields() -> None:
    def fields(text: str) -> set[str]:
        return set(re.findall(r"\{(\w+)", text))

    assert NOTICES["fr"].keys() == NOTICES["en"].keys()
    assert set(get_args(EndKind)) <= NOTICES["en"].keys()  # every way a reply can end early is told
    for key, english in NOTICES["en"].items():
        assert fields(NOTICES["fr"][key]) == fields(english), key
    assert say("rate", "fr", wait=7) == "Le service est saturé (limite de débit). Réessayez dans 7 s."
    assert say("rate", "xx", wait=7) == "The backend is busy (rate limit). Try again in 7 s."


@pytest.fixture(scope="module")
def agora() -> Iterator[RunningApp]:
    with running_app({"AGORA_MAX_INPUT_CHARS": "50"}) as running:
        yield running


def test_french_browser_gets_french_notices(agora: RunningApp) -> None:
    french = Client(agora.url, verbose=False, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert french.predict("x" * 51, "plato", api_name="/chat") == (
        "⚠️ Votre message compte 51 caractères ; la limite est de 50 (AGORA_MAX_INPUT_CHARS). "
        "Rien n'a été envoyé — raccourcissez-le.")
    reply = french.predict("Bonjour [[pieces=8 fail_after=4]]", "plato", api_name="/chat")
    assert reply.startswith("[turn 1] You asked:")  # the partial answer stays
    assert "\n\n⚠️ La réponse a échoué sur le serveur (" in reply
    english = Client(agora.url, verbose=False)
    assert english.predict("x" * 51, "plato", api_name="/chat").startswith("⚠️ Your message has 51 characters")
