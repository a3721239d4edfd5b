"""Serving the page: launch options (style, French, the login) and a non-blocking launch."""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

from starlette.middleware import Middleware

from .guard import PageGuard
from .page import AgoraPage
from .strings import I18N
from .view import CSS


def launch_options() -> dict[str, Any]:
    """``launch`` options: the page style, and a login if AGORA_PASSWORD is set (read now, not kept)."""
    options: dict[str, Any] = {"css": CSS, "i18n": I18N}
    if password := os.environ.get("AGORA_PASSWORD"):
        options["auth"] = (os.environ.get("AGORA_USERNAME", "student"), password)
        options["auth_message"] = "Ask your teacher for the password."
    return options


def serve(page: AgoraPage, **options: Any) -> str:
    """Launch without blocking and return the URL, with Nagle's algorithm off on Gradio's socket.

    uvicorn's listening socket does not ask for TCP_NODELAY, so a small streamed update can sit
    in the kernel until the browser's delayed ACK (up to 40 ms).  Accepted connections inherit
    the option from the listening socket on Linux.
    """
    # Each streaming reply holds a worker thread; Gradio's default pool (40) would queue the rest.
    options.setdefault("max_threads", max(40, page.classroom.concurrency + 16))
    limit = int(page.classroom.settings.max_upload_mb * (1 << 20))
    options.setdefault("max_file_size", limit)
    app_kwargs = options.setdefault("app_kwargs", {})
    app_kwargs.setdefault("middleware", []).append(Middleware(PageGuard, max_body=limit, private=page.private_events))
    _, url, _ = page.launch(prevent_thread_lock=True, **options)
    # A ChatInterface nested in Blocks runs its generator on anyio's default pool (40 threads),
    # not the launched app's; give it the app's, or the 41st streaming reply waits for a thread.
    page.chat.limiter = page.limiter
    for server in getattr(page.server, "servers", []):
        for sock in server.sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return url
