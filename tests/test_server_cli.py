"""``python -m agora.server``'s command line, generated from ServerSettings: the flags it always had,
with their meaning and defaults, ``--help``, and one line naming the flag for a bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agora.config import EngineSettings, ServerSettings, Settings, SettingsError
from tests.support import ROOT, clean_env

FLAGS = ("--host", "--port", "--engine", "--batch", "--threads", "--model", "--api-key", "--db", "--delay",
         "--first-delay")


def server(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agora.server", *args], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=120)


def test_help_lists_every_flag() -> None:
    done = server("--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m agora.server")
    assert all(flag in done.stdout for flag in FLAGS)


def test_a_bad_value_is_one_line_naming_the_flag() -> None:
    done = server("--engine", "scripted", "--port", "eighty")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "agora.server: --port='eighty': Input should be a valid integer, unable to parse string as an integer"]


@pytest.mark.parametrize(("args", "message"), [
    (["--engine", "gpt"], "--engine='gpt': Input should be 'llama', 'llama-serial' or 'scripted'"),
    (["--batch", "0"], "--batch='0': Input should be greater than or equal to 1"),
    (["--first-delay", "-1"], "--first-delay='-1': Input should be greater than or equal to 0"),
])
def test_bad_values_name_their_flag(args: list[str], message: str) -> None:
    with pytest.raises(SettingsError) as err:
        ServerSettings.from_args(args)
    assert str(err.value) == message


def test_the_flags_mean_what_they_meant() -> None:
    assert ServerSettings.from_args([]).model_dump() == {
        "engine": "llama", "batch": None, "threads": None, "gguf": None, "db": "data/agora.db", "scripted_delay": 0.0,
        "scripted_first_delay": 0.0, "host": "127.0.0.1", "port": 8000, "api_key": None}
    given = ServerSettings.from_args(["--engine", "scripted", "--port", "0", "--db", "", "--api-key", "K", "--model",
                                      "owner/repo:file.gguf", "--batch", "4", "--threads", "2", "--delay", "0.5",
                                      "--first-delay", "0.25", "--host", "0.0.0.0"])
    assert given.model_dump() == {
        "engine": "scripted", "batch": 4, "threads": 2, "gguf": "owner/repo:file.gguf", "db": "", "scripted_delay": 0.5,
        "scripted_first_delay": 0.25, "host": "0.0.0.0", "port": 0, "api_key": "K"}


def test_the_apps_variables_do_not_reach_the_servers_flags(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("AGORA_THREADS=3\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGORA_ENGINE", "scripted")
    monkeypatch.setenv("AGORA_DB", ":memory:")
    server, app = ServerSettings.from_args([]), Settings.from_env()
    assert (server.engine, server.db, server.threads) == ("llama", "data/agora.db", None)
    assert (app.engine, app.db, app.threads) == ("scripted", ":memory:", 3)


def test_the_engine_settings_are_declared_once_for_both() -> None:
    for name in EngineSettings.model_fields:
        assert Settings.model_fields[name].description == ServerSettings.model_fields[name].description
