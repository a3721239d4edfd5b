"""Settings from the environment alone: flow choice, validation, no key kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from agora.config import Settings, SettingsError


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "assistants"),                                                      # embedded server
    ({"OPENAI_API_KEY": "sk-x"}, "responses"),                               # OpenAI itself
    ({"OPENAI_BASE_URL": "http://localhost:11434/v1"}, "chat"),              # Ollama & co.
    ({"OPENAI_BASE_URL": "http://h/v1", "OPENAI_API_KEY": "k"}, "chat"),
    ({"OPENAI_BASE_URL": "http://h/v1", "AGORA_API": "responses"}, "responses"),
    ({"OPENAI_API_KEY": "sk-x", "AGORA_API": "assistants"}, "assistants"),
    ({"AGORA_API": "chat"}, "chat"),                                         # embedded server, chat flow
])
def test_auto_chooses_the_flow(env: dict[str, str], expected: str) -> None:
    assert Settings.from_env(env).resolved_api == expected


def test_embedded_only_without_key_and_base_url() -> None:
    assert Settings.from_env({}).embedded
    assert not Settings.from_env({"OPENAI_API_KEY": "sk"}).embedded
    assert not Settings.from_env({"OPENAI_BASE_URL": "http://h/v1"}).embedded


def test_key_is_not_kept_in_settings() -> None:
    settings = Settings.from_env({"OPENAI_API_KEY": "sk-very-secret"})
    assert settings.has_api_key and "sk-very-secret" not in repr(settings) + str(settings.describe())


@pytest.mark.parametrize(("env", "message"), [
    ({"AGORA_API": "soap"}, "AGORA_API='soap': Input should be 'auto', 'assistants', 'responses' or 'chat'"),
    ({"AGORA_MAX_INPUT_CHARS": "lots"},
     "AGORA_MAX_INPUT_CHARS='lots': Input should be a valid integer, unable to parse string as an integer"),
    ({"AGORA_MAX_OUTPUT_TOKENS": "0"}, "AGORA_MAX_OUTPUT_TOKENS='0': Input should be greater than or equal to 1"),
    ({"AGORA_PERSONAS": "/nope.yaml"}, "AGORA_PERSONAS='/nope.yaml': no such file"),
    ({"AGORA_ENGINE": "gpt"}, "AGORA_ENGINE='gpt': Input should be 'llama', 'llama-serial' or 'scripted'"),
])
def test_bad_settings_name_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings.from_env(env)
    assert str(err.value) == message


def test_every_setting_is_described_and_read_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert all(f.description for f in Settings.model_fields.values())
    (tmp_path / ".env").write_text("AGORA_API=chat\nAGORA_TIMEOUT=7.5\nOPENAI_API_KEY=sk-from-dotenv\n")
    monkeypatch.chdir(tmp_path)
    for name in ("AGORA_API", "AGORA_TIMEOUT", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGORA_TIMEOUT", "9")  # the environment wins over .env
    settings = Settings.from_env()
    assert (settings.api, settings.timeout, settings.has_api_key) == ("chat", 9.0, True)
    assert "sk-from-dotenv" not in repr(settings)
    monkeypatch.setenv("AGORA_TIMEOUT", "soon")
    with pytest.raises(SettingsError, match="^AGORA_TIMEOUT='soon': Input should be a valid number"):
        Settings.from_env()
