"""The embedded server's key check, header by header, over real loopback HTTP: OpenAI's two 401s,
Bearer read as RFC 6750 reads it, and no header shape that makes it fail with a 500."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from agora.server import EmbeddedServer
from agora.server.app import NO_KEY
from agora.server.engines import ScriptedEngine

WRONG = {"message": "Incorrect API key provided.", "type": "invalid_request_error", "param": None,
         "code": "invalid_api_key"}


@pytest.fixture(scope="module")
def models_url() -> Iterator[str]:
    with EmbeddedServer(ScriptedEngine(), api_key="sk-clé") as server:
        yield f"{server.base_url}/models"


@pytest.mark.parametrize("header", [None, b""])
def test_no_key_is_told_how_to_send_one(models_url: str, header: bytes | None) -> None:
    response = httpx.get(models_url, headers={} if header is None else {"Authorization": header})
    assert response.status_code == 401 and response.json()["error"]["message"] == NO_KEY
    assert response.json()["error"]["code"] is None


@pytest.mark.parametrize("header", [b"Bearer", b"Bearer sk-wrong", b"Basic sk-cl\xc3\xa9", b"sk-cl\xc3\xa9",
                                    b"Bearer sk-cl\xe9", b"Bearer \xff\xfe"])
def test_a_wrong_key_or_scheme_is_refused_as_openai_does(models_url: str, header: bytes) -> None:
    response = httpx.get(models_url, headers={"Authorization": header})
    assert response.status_code == 401 and response.json() == {"error": WRONG}


@pytest.mark.parametrize("header", [b"Bearer sk-cl\xc3\xa9", b"bearer   sk-cl\xc3\xa9"])
def test_the_right_key_passes_in_any_case_and_spacing(models_url: str, header: bytes) -> None:
    assert httpx.get(models_url, headers={"Authorization": header}).status_code == 200


def test_without_a_key_nothing_is_checked() -> None:
    with EmbeddedServer(ScriptedEngine()) as server:
        assert httpx.get(f"{server.base_url}/models", headers={"Authorization": b"Bearer \xff"}).status_code == 200
