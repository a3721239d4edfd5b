"""The API key never reaches the page, the Gradio API schema, error messages or logs; the password gate works."""

from __future__ import annotations

import logging
import uuid

import httpx
import pytest
from gradio_client import Client

from agora.server import EmbeddedServer
from agora.server.engines import ScriptedEngine
from agora.web.launch import launch_options
from tests.support import running_app


@pytest.mark.slow
@pytest.mark.parametrize("flow", ["assistants", "responses", "chat"])
def test_key_is_nowhere_to_be_seen(flow: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    secret = f"sk-agora-{uuid.uuid4().hex}"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OPENAI_LOG", "debug")
    with EmbeddedServer(ScriptedEngine(), api_key=secret) as server:
        monkeypatch.setenv("OPENAI_API_KEY", secret)
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": secret, "AGORA_API": flow}
        with running_app(env) as remote:
            client = Client(remote.url, verbose=False)
            seen = [client.predict("hello [[pieces=5]]", "socrates", api_name="/chat"),
                    client.predict("break [[status=500]]", "socrates", api_name="/chat"),
                    client.predict("break [[fail_after=2]]", "socrates", api_name="/chat")]
            assert seen[0].startswith("[turn 1]") and "⚠️" in seen[1] and "⚠️" in seen[2]
            for path in ("", "config", "gradio_api/info", "gradio_api/openapi.json", "gradio_api/info?all_endpoints=true"):
                seen.append(httpx.get(remote.url + path, timeout=10).text)
            seen.append(str(client.view_api(print_info=False, return_format="dict")))
        # And with a wrong key, the error the student sees does not echo it either.
        monkeypatch.setenv("OPENAI_API_KEY", secret + "-wrong")
        with running_app({**env, "OPENAI_API_KEY": secret + "-wrong"}) as wrong:
            seen.append(Client(wrong.url, verbose=False).predict("hello", "socrates", api_name="/chat"))
    assert "401" in seen[-1]
    seen.append(caplog.text)
    assert len(caplog.records) > 10  # the logs really were captured
    for text in seen:
        assert secret not in text


def test_password_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGORA_PASSWORD", "hemlock")
    options = launch_options()
    assert options["auth"] == ("student", "hemlock")
    with running_app(launch=options) as agora:
        url = agora.url
        assert httpx.get(url + "config", timeout=10).status_code == 401
        assert "hemlock" not in httpx.get(url, timeout=10).text
        with pytest.raises(Exception):
            Client(url, verbose=False, auth=("student", "wrong"))
        reply = Client(url, verbose=False, auth=("student", "hemlock")).predict("hi [[pieces=5]]", "plato",
                                                                              api_name="/chat")
        assert reply.startswith("[turn 1]")
