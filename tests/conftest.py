"""Shared fixtures (real embedded servers on loopback, real SDK clients) and the session-end checks
that nothing the suite started is still running and nothing it wrote is left in the checkout."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from agora.server import EmbeddedServer
from agora.server.engines import BatchedEngine, ScriptedEngine
from tests.support import ROOT, SESSION_MARK, sdk

MARK = f"{SESSION_MARK}={uuid.uuid4().hex}"
CACHES = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


def checkout_files() -> set[Path]:
    """Every file in the checkout, caches aside (the screenshots in docs/ are tracked: rewritten, not new)."""
    return {p for p in ROOT.rglob("*") if p.is_file() and not CACHES & set(p.relative_to(ROOT).parts)}


_BEFORE: set[Path] = set()


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(ScriptedEngine()) as server:
        yield server


@pytest.fixture
def client(scripted_server: EmbeddedServer) -> OpenAI:
    return sdk(scripted_server.base_url)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[EmbeddedServer]:
    """The real model on the engine the app uses (batched), with room for eight replies at once."""
    with EmbeddedServer(BatchedEngine(batch=8)) as server:
        yield server


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak-turns", type=int, default=2, help="turns per session in the soak test (CI: 2)")


def pytest_configure(config: pytest.Config) -> None:
    """Mark this session's environment: every process the tests start inherits the mark."""
    name, _, value = MARK.partition("=")
    os.environ[name] = value
    _BEFORE.update(checkout_files())


def started_by_this_session() -> list[str]:
    """Processes alive now (other than this one) whose environment carries this session's mark."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if MARK.encode() in (proc / "environ").read_bytes().split(b"\0"):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command[:120]}")
        except OSError:  # gone already, or not ours to read
            continue
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if anything it started outlives it (after a short grace for processes exiting)."""
    deadline = time.monotonic() + 5
    while (left := started_by_this_session()) and time.monotonic() < deadline:
        time.sleep(0.2)
    if left:
        print("\nProcesses started by the tests are still running:\n  " + "\n  ".join(left))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if written := sorted(str(p.relative_to(ROOT)) for p in checkout_files() - _BEFORE):
        print("\nFiles the tests wrote in the checkout and left there:\n  " + "\n  ".join(written))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
