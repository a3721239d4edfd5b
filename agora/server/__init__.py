"""The embedded OpenAI-compatible server (Assistants v2, Responses + Conversations, Chat Completions).

It depends on nothing of the chat app or its page: any OpenAI client can use it.
"""

from __future__ import annotations

from .app import EmbeddedServer, create_app

__all__ = ["EmbeddedServer", "create_app"]
