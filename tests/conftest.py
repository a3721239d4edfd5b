"""Shared fixtures: real embedded servers on loopback, real openai SDK clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openai import OpenAI

from agora.engines import LlamaEngine, ScriptedEngine
from agora.server import EmbeddedServer


def sdk(base_url: str, api_key: str = "unused", **kw: object) -> OpenAI:
    """The official client, validating every response strictly against the SDK's types."""
    return OpenAI(base_url=base_url, api_key=api_key, max_retries=0, _strict_response_validation=True, **kw)


@pytest.fixture(scope="session")
def scripted_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(ScriptedEngine()) as server:
        yield server


@pytest.fixture
def client(scripted_server: EmbeddedServer) -> OpenAI:
    return sdk(scripted_server.base_url)


@pytest.fixture(scope="session")
def llama_server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(LlamaEngine()) as server:
        yield server


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak-turns", type=int, default=2, help="turns per session in the soak test (CI: 2)")
