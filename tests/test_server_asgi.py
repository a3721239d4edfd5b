"""The body replay the server's limits and the page's guard share (agora/shared/asgi.py), message by
message: what the app is handed is what the client sent, and a client's leaving still reaches it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import pytest
from starlette.types import Message, Scope

from agora.shared.asgi import BodyTooLarge, ClientDisconnect, read_body, replay

T = TypeVar("T")
Client = Callable[[], Coroutine[Any, Any, Message]]


def client(*messages: Message) -> Client:
    """A client that sends ``messages``, then leaves."""
    queue = [*messages, {"type": "http.disconnect"}]

    async def receive() -> Message:
        return queue.pop(0)

    return receive


def scope(length: int | None = None) -> Scope:
    return {"type": "http", "headers": [] if length is None else [(b"content-length", str(length).encode())]}


def run(step: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return asyncio.run(step())


def test_a_body_in_pieces_is_read_whole_and_replayed_once_then_the_disconnect() -> None:
    receive = client({"type": "http.request", "body": b"ab", "more_body": True},
                     {"type": "http.request", "body": b"c", "more_body": False})

    async def both() -> tuple[bytes, list[Message]]:
        body = await read_body(scope(3), receive, 3)
        again = replay(body, receive)
        return body, [await again(), await again()]

    assert run(both) == (b"abc", [{"type": "http.request", "body": b"abc", "more_body": False},
                                  {"type": "http.disconnect"}])


def test_a_body_over_the_limit_is_refused_by_its_length_before_any_is_read() -> None:
    receive = client()
    with pytest.raises(BodyTooLarge) as err:
        run(lambda: read_body(scope(11), receive, 10))
    assert err.value.limit == 10
    assert run(receive) == {"type": "http.disconnect"}  # nothing was read


def test_a_body_over_the_limit_without_a_length_is_refused_as_it_arrives() -> None:
    receive = client({"type": "http.request", "body": b"x" * 8, "more_body": True},
                     {"type": "http.request", "body": b"x" * 8, "more_body": True})
    with pytest.raises(BodyTooLarge):
        run(lambda: read_body(scope(), receive, 10))
    assert run(receive) == {"type": "http.disconnect"}  # the rest is not waited for


def test_a_client_that_leaves_while_sending_is_reported() -> None:
    with pytest.raises(ClientDisconnect):
        run(lambda: read_body(scope(), client({"type": "http.request", "body": b"x", "more_body": True}), 10))
