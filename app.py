"""Agora: talk with great philosophers; each reply streams in token by token.

``demo`` is built at import (for tests and ``gradio app.py``); ``python app.py``
also starts the backend at once and launches the page.
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from agora.backend import Backend
from agora.failures import notice_for
from agora.flows import Conversation, make_flow
from agora.guardrails import RateLimiter, clean
from agora.pacing import UpdatePacer
from agora.personas import Persona, PersonaError, load_personas
from agora.settings import Settings, SettingsError

log = logging.getLogger("agora")


@dataclass
class Session:
    """One browser session's state: the conversation with the chosen persona."""

    conversation: Conversation = field(default_factory=lambda: Conversation(persona_id=""))

    def conversation_for(self, persona_id: str, history_len: int) -> Conversation:
        """The current conversation; a new one (history so far set aside) if the persona changed."""
        if self.conversation.persona_id != persona_id:
            self.conversation = Conversation(persona_id=persona_id, history_offset=history_len)
        return self.conversation


def greeting(persona: Persona) -> list[dict[str, Any]]:
    return [{"role": "assistant", "content": persona.greeting}]


def card(persona: Persona) -> str:
    e = html.escape
    return (f'<div class="agora-card"><span class="agora-avatar">{e(persona.avatar)}</span>'
            f'<div><div class="agora-name">{e(persona.name)} <span class="agora-dates">{e(persona.dates)}</span>'
            f'</div><div class="agora-tagline">{e(persona.tagline)}</div></div></div>')


CSS = """
.agora-card {display:flex; gap:.8rem; align-items:center; padding:.4rem .2rem}
.agora-avatar {font-size:2.4rem; line-height:1}
.agora-name {font-weight:600; font-size:1.1rem}
.agora-dates {font-weight:400; opacity:.7; font-size:.9rem}
.agora-tagline {font-style:italic; opacity:.85}
#agora-badge {font-size:.8rem; opacity:.75}
"""


def build_demo(settings: Settings | None = None, backend: Backend | None = None) -> gr.Blocks:
    """The whole UI; raises PersonaError / SettingsError with one clear line."""
    settings = settings or Settings.from_env()
    personas = load_personas(settings.personas)
    by_id = {p.id: p for p in personas}
    backend = backend or Backend(settings)
    flow = make_flow(backend)
    first = personas[0]
    limiter = RateLimiter(settings.rate_per_session, settings.rate_per_ip)
    pacer = UpdatePacer(settings.max_updates_per_s)

    def respond(message: str, history: list[dict[str, Any]], persona_id: str, session: Session,
                request: gr.Request) -> Iterator[str]:
        persona = by_id.get(persona_id)
        if persona is None:
            raise gr.Error(f"Unknown persona '{persona_id}'. Choose one of: {', '.join(by_id)}")
        message = clean(message)
        if not message:
            return  # nothing to ask
        if len(message) > settings.max_input_chars:
            yield (f"⚠️ Your message has {len(message):,} characters; the limit is {settings.max_input_chars:,} "
                   "(AGORA_MAX_INPUT_CHARS). Nothing was sent — please shorten it.")
            return
        if (wait := limiter.check(session, request)) is not None:
            yield f"⚠️ Too many messages; please wait {wait} s before asking again."
            return
        conversation = session.conversation_for(persona.id, len(history))
        text = sent = ""
        try:
            with pacer.reply() as due, contextlib.closing(flow.stream(conversation, persona, message, history)) as deltas:
                for delta in deltas:
                    text += delta
                    if due():
                        yield (sent := text)
            if text != sent:
                yield text
        except Exception as exc:  # noqa: BLE001 - every failure ends in a notice; the partial text stays
            yield f"{text}\n\n⚠️ {notice_for(exc, settings.timeout, mid_reply=bool(text))}".lstrip()

    def switch(persona_id: str) -> tuple[Any, ...]:
        persona = by_id[persona_id]
        return (greeting(persona), Session(Conversation(persona_id=persona.id)), card(persona),
                gr.Dataset(samples=[[q] for q in persona.examples]))

    concurrency = settings.concurrency or (1 if backend.local_model else 64)
    with gr.Blocks(title="Agora — talk with philosophers", fill_height=True) as demo:
        gr.Markdown("# Agora\nAsk a great philosopher; the answer streams in as it is written.")
        badge = gr.Markdown(f"Answering: {backend.badge()}", elem_id="agora-badge")
        with gr.Row():
            persona_menu = gr.Dropdown(choices=[(p.label, p.id) for p in personas], value=first.id,
                                       label="Philosopher", scale=1, elem_id="agora-persona")
            persona_card = gr.HTML(card(first), elem_id="agora-card")
        session = gr.State(Session(Conversation(persona_id=first.id)))
        chat = gr.ChatInterface(
            respond,
            chatbot=gr.Chatbot(value=greeting(first), elem_id="agora-chat", scale=1),
            textbox=gr.Textbox(placeholder="Ask a question…", elem_id="agora-input", submit_btn=True,
                               stop_btn=True),
            additional_inputs=[persona_menu, session],
            api_name="chat",
            cache_examples=False,
            concurrency_limit=concurrency,
            fill_height=True,
        )
        examples = gr.Dataset(components=[chat.textbox], samples=[[q] for q in first.examples],
                              label="Try asking", elem_id="agora-examples")
        examples.click(lambda sample: sample[0], [examples], [chat.textbox], api_visibility="private")
        persona_menu.change(switch, [persona_menu], [chat.chatbot_value, session, persona_card, examples],
                            api_visibility="private")
    demo.agora_backend = backend  # type: ignore[attr-defined]
    demo.agora_concurrency = concurrency  # type: ignore[attr-defined]
    demo.agora_chat = chat  # type: ignore[attr-defined]
    demo.agora_badge = badge  # type: ignore[attr-defined]
    return demo


def launch_options() -> dict[str, Any]:
    """``demo.launch`` options: the page style, and a login if AGORA_PASSWORD is set (read now, not kept)."""
    options: dict[str, Any] = {"css": CSS}
    if password := os.environ.get("AGORA_PASSWORD"):
        options["auth"] = (os.environ.get("AGORA_USERNAME", "student"), password)
        options["auth_message"] = "Ask your teacher for the password."
    return options


def serve(blocks: gr.Blocks, **options: Any) -> str:
    """Launch without blocking and return the URL, with Nagle's algorithm off on Gradio's socket.

    uvicorn's listening socket does not ask for TCP_NODELAY, so a small streamed update can sit
    in the kernel until the browser's delayed ACK (up to 40 ms).  Accepted connections inherit
    the option from the listening socket on Linux.
    """
    # Each streaming reply holds a worker thread; Gradio's default pool (40) would queue the rest.
    options.setdefault("max_threads", max(40, getattr(blocks, "agora_concurrency", 1) + 16))
    _, url, _ = blocks.launch(prevent_thread_lock=True, **options)
    # A ChatInterface nested in Blocks runs its generator on anyio's default pool (40 threads),
    # not the launched app's; give it the app's, or the 41st streaming reply waits for a thread.
    if (chat := getattr(blocks, "agora_chat", None)) is not None:
        chat.limiter = blocks.limiter
    for server in getattr(blocks.server, "servers", []):
        for sock in server.sockets:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return url


try:
    demo = build_demo()
except (PersonaError, SettingsError) as exc:
    if __name__ != "__main__":
        raise
    sys.exit(f"agora: {exc}")

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    demo.agora_backend.start()  # type: ignore[attr-defined]
    serve(demo, **launch_options())
    demo.block_thread()
