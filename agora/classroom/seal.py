"""The keys that protect what a browser keeps: the seal on a conversation's backend ids and on a
session's id, and the secret Gradio seals the browser's storage with.  Both come from one
secret kept beside the server's database, so what a browser kept survives a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path
from typing import Any


def _key_file(db: str) -> bytes | None:
    """The secret kept beside the server's database (made once, readable by its owner only)."""
    if not db or db == ":memory:":
        return None
    path = Path(db).parent / "browser-state.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip().encode()
    key = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key.encode()


def browser_secret(db: str) -> str | None:
    """The key Gradio seals the browser's storage with.  Gradio sends it to the page, so it keeps
    nothing from the browser's owner; it is derived from the kept secret (which it does not reveal)
    so that conversations survive a restart.  No database file: Gradio's per-start key."""
    secret = _key_file(db)
    return hmac.new(secret, b"gradio browser state", hashlib.sha256).hexdigest() if secret else None


class Seal:
    """Signs the backend ids of a conversation the browser keeps, with a key that never leaves the
    server: ids coming back from a browser are used only if the server signed them, so a browser
    cannot point its conversation at a thread that is not its own."""

    def __init__(self, db: str) -> None:
        secret = _key_file(db) or secrets.token_bytes(32)
        self._key = hmac.new(secret, b"agora conversation seal", hashlib.sha256).digest()

    def _mac(self, persona_id: str, ids: dict[str, Any]) -> str:
        message = json.dumps([persona_id, sorted(ids.items())], ensure_ascii=True).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    @staticmethod
    def ids(conversation: dict[str, Any]) -> dict[str, Any]:
        return {k: conversation.get(k) for k in ("thread_id", "conversation_id", "previous_response_id")}

    def sign(self, persona_id: str, conversation: dict[str, Any]) -> dict[str, Any]:
        return {**conversation, "seal": self._mac(persona_id, self.ids(conversation))}

    def sign_id(self, session_id: str) -> dict[str, str]:
        """A session id for the browser to keep, so a daily cap outlives a reload and a restart."""
        return {"id": session_id, "seal": self._mac("#session", {"id": session_id})}

    def check_id(self, kept: Any) -> str | None:
        """The session id the browser kept, if this server sealed it."""
        if not isinstance(kept, dict) or not isinstance(kept.get("id"), str) or not isinstance(kept.get("seal"), str):
            return None
        return kept["id"] if hmac.compare_digest(kept["seal"], self._mac("#session", {"id": kept["id"]})) else None

    def check(self, persona_id: str, conversation: Any) -> dict[str, Any] | None:
        """The conversation if its ids carry this server's seal; else only what needs no trust (its text)."""
        if not isinstance(conversation, dict):
            return None
        seal = conversation.get("seal")
        if isinstance(seal, str) and hmac.compare_digest(seal, self._mac(persona_id, self.ids(conversation))):
            return conversation
        return {k: v for k, v in conversation.items() if k not in ("thread_id", "conversation_id",
                                                                   "previous_response_id", "seal")}
