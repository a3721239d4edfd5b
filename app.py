"""Agora: talk with great philosophers; each reply streams in token by token.

``demo`` is built at import (for tests and ``gradio app.py``); ``python app.py``
also starts the backend at once and launches the page.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import gradio as gr

from agora.backend import Backend
from agora.custom import CUSTOM_ID, message_text, persona_from_card, persona_from_form, transcript_markdown
from agora.failures import language, notice_for, say
from agora.flows import NOTICE, STOPPED, Conversation, make_flow
from agora.guardrails import RateLimiter, clean
from agora.pacing import UpdatePacer
from agora.personas import Persona, PersonaError, load_personas, to_yaml
from agora.settings import Settings, SettingsError
from agora.ui import CSS, I18N, Session, avatar_file, browser_secret, card, greeting, serve_avatars, t


def language_of(request: gr.Request) -> str:
    """The browser's language, for the notices Agora writes into the chat."""
    return language(request.headers.get("accept-language"))


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
    placeholder = persona_from_form("Your persona", "Fill in the form below to create your own philosopher.",
                                    "Create your own philosopher in the form below, then chat with them here.")

    def persona_of(persona_id: str, session: Session) -> Persona:
        if persona_id == CUSTOM_ID:
            return session.custom or placeholder
        if persona_id not in by_id:
            raise gr.Error(f"Unknown persona '{persona_id}'. Choose one of: {', '.join(by_id)}")
        return by_id[persona_id]

    def respond(message: str, history: list[dict[str, Any]], persona_id: str, session: Session,
                request: gr.Request) -> Iterator[str]:
        persona = persona_of(persona_id, session)
        message = clean(message)
        if not message:
            return  # nothing to ask
        lang = language_of(request)
        if len(message) > settings.max_input_chars:
            yield NOTICE + say("too_long", lang, length=len(message), limit=settings.max_input_chars)
            return
        if (wait := limiter.check(session, request)) is not None:
            yield NOTICE + say("too_many", lang, wait=wait)
            return
        conversation = session.conversation_for(persona.id, len(history))
        text = sent = ""
        try:
            deltas = flow.stream(conversation, persona, message, history)
            with pacer.reply() as due, contextlib.closing(deltas):  # type: ignore[type-var]
                for delta in deltas:
                    text += delta
                    if due():
                        yield (sent := text)
            if text != sent:
                yield text
        except Exception as exc:  # noqa: BLE001 - every failure ends in a notice; the partial text stays
            yield f"{text}\n\n{NOTICE}{notice_for(exc, settings.timeout, mid_reply=bool(text), lang=lang)}".lstrip()

    def show(persona: Persona, session: Session, history: list[dict[str, Any]] | None = None) -> tuple[Any, ...]:
        """Everything on the page that depends on the chosen persona."""
        messages = history or greeting(persona)
        return (gr.Chatbot(value=messages, avatar_images=(None, avatar_file(persona))),  # type: ignore[arg-type]
                messages, session, card(persona), gr.Dataset(samples=[[q] for q in persona.examples]))

    def switch(persona_id: str, session: Session) -> tuple[Any, ...]:
        session.conversation = Conversation(persona_id=persona_id)  # a fresh thread for the new persona
        return show(persona_of(persona_id, session), session)

    def use_custom(name: str, instructions: str, greeting_text: str, examples_text: str,
                   session: Session) -> tuple[Any, ...]:
        try:
            persona = persona_from_form(name, instructions, greeting_text, examples_text)
        except PersonaError as exc:
            raise gr.Error(str(exc)) from None
        session.custom = persona
        session.conversation = Conversation(persona_id=CUSTOM_ID)
        return (*show(persona, session), gr.Dropdown(value=CUSTOM_ID),
                gr.File(value=write_file("persona.yaml", to_yaml(persona)), visible=True))

    def import_card(path: str | None) -> tuple[Any, ...]:
        if not path:
            return (gr.skip(),) * 4
        try:
            persona = persona_from_card(Path(path).read_bytes(), Path(path).name)
        except PersonaError as exc:
            raise gr.Error(str(exc)) from None
        return persona.name, persona.instructions, persona.greeting, "\n".join(persona.examples)

    def mark_stopped(history: list[dict[str, Any]], request: gr.Request) -> tuple[Any, Any]:
        """Stop leaves the partial answer on screen, marked as stopped (in the chat and its history)."""
        if not history or history[-1].get("role") != "assistant":
            return gr.skip(), gr.skip()
        last = dict(history[-1])
        text = message_text(last.get("content"))
        if STOPPED in text:
            return gr.skip(), gr.skip()
        last["content"] = text + STOPPED + say("stopped", language_of(request))
        marked = [*history[:-1], last]
        return marked, marked

    def export(history: list[dict[str, Any]], persona_id: str, session: Session) -> Any:
        persona = persona_of(persona_id, session)
        path = write_file(f"agora-{persona.id}-{datetime.now():%Y%m%d-%H%M}.md", transcript_markdown(persona, history))
        return gr.File(value=path, visible=True)

    def remember(history: list[dict[str, Any]], persona_id: str, session: Session,
                 saved: dict[str, Any] | None) -> dict[str, Any]:
        """Keep the conversation in the browser (per persona), so a reload brings it back."""
        saved = dict(saved or {})
        saved["current"] = persona_id
        saved[persona_id] = {"history": history[-200:], "conversation": session.saved()}
        if session.custom is not None:
            saved["custom_persona"] = session.custom.model_dump()
        return saved

    def restore(saved: dict[str, Any] | None, session: Session) -> tuple[Any, ...]:
        saved = saved or {}
        if isinstance(saved.get("custom_persona"), dict):
            with contextlib.suppress(ValueError):
                session.custom = Persona.model_validate(saved["custom_persona"])
        current = saved.get("current")
        entry = saved.get(current) if isinstance(current, str) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("history"), list) or (
                current not in by_id and not (current == CUSTOM_ID and session.custom)):
            return (gr.skip(),) * 6
        session.conversation = Session.restore_conversation(entry.get("conversation"), current)
        return (*show(persona_of(current, session), session, entry["history"]), gr.Dropdown(value=current))

    def warm_up() -> Iterator[str]:
        """Start the backend when the first page opens, and say so while the local model loads."""
        if backend.local_model and not backend.engine.loaded:  # type: ignore[union-attr]
            yield t("loading")
            backend.start()
            backend.engine.load()  # type: ignore[union-attr]
        yield ""

    concurrency = settings.concurrency or (1 if backend.local_model else 64)
    serve_avatars()
    with gr.Blocks(title="Agora — talk with philosophers", fill_height=True) as demo:
        gr.Markdown("# 🏛️ Agora")
        gr.Markdown(t("subtitle"))
        badge = gr.Markdown(f"Answering: {backend.badge()}", elem_id="agora-badge")
        status = gr.Markdown("", elem_id="agora-status")
        with gr.Row(elem_id="agora-top", equal_height=False):
            persona_menu = gr.Dropdown(choices=[(p.label, p.id) for p in personas] + [(t("custom"), CUSTOM_ID)],
                                       value=first.id, label=t("philosopher"), scale=1, min_width=220,
                                       elem_id="agora-persona")
            persona_card = gr.HTML(card(first), elem_id="agora-card", min_height=0)
        session = gr.State(Session(Conversation(persona_id=first.id)))
        saved = gr.BrowserState({}, storage_key="agora-conversations", secret=browser_secret(settings.db))
        chat = gr.ChatInterface(
            respond,
            chatbot=gr.Chatbot(value=greeting(first), elem_id="agora-chat", scale=1,  # type: ignore[arg-type]
                               min_height=320, avatar_images=(None, avatar_file(first))),
            textbox=gr.Textbox(placeholder=t("ask"), elem_id="agora-input", submit_btn=True, stop_btn=True,
                               show_label=False),
            additional_inputs=[persona_menu, session],
            api_name="chat",
            cache_examples=False,
            concurrency_limit=concurrency,
            fill_height=True,
        )
        examples = gr.Dataset(components=[chat.textbox], samples=[[q] for q in first.examples],
                              label=t("try"), elem_id="agora-examples")
        with gr.Row():
            export_btn = gr.Button(t("export"), size="sm", elem_id="agora-export")
            transcript = gr.File(label=t("transcript"), visible=False, height=60, elem_id="agora-transcript")
        with gr.Accordion(t("create"), open=False, elem_id="agora-custom"):
            custom_name = gr.Textbox(label=t("name"), elem_id="agora-custom-name")
            custom_instructions = gr.Textbox(label=t("instructions"), lines=4, elem_id="agora-custom-instructions")
            custom_greeting = gr.Textbox(label=t("greeting"))
            custom_examples = gr.Textbox(label=t("examples"), lines=3)
            with gr.Row():
                use_btn = gr.Button(t("use"), variant="primary", elem_id="agora-custom-use")
                yaml_file = gr.File(label=t("yaml"), height=60, visible=False, elem_id="agora-custom-yaml")
            card_upload = gr.File(label=t("card"), file_types=[".json"], type="filepath", elem_id="agora-card-import")

        # The chat and ChatInterface's copy of its history change together, in one event: a question
        # asked right after switching must not meet the old history.
        shown = [chat.chatbot, chat.chatbot_state, session, persona_card, examples]
        # Clicking an example asks it: fill the box, then press the send button.
        examples.click(lambda sample: sample[0], [examples], [chat.textbox], api_visibility="private").then(
            None, js="() => setTimeout(() => document.querySelector('#agora-input button.submit-button')?.click(), 50)")
        persona_menu.input(switch, [persona_menu, session], shown, api_visibility="private")
        chat.textbox.stop(mark_stopped, [chat.chatbot], [chat.chatbot, chat.chatbot_state],
                          queue=False, api_visibility="private")
        use_btn.click(use_custom, [custom_name, custom_instructions, custom_greeting, custom_examples, session],
                      [*shown, persona_menu, yaml_file], api_visibility="private")
        card_upload.upload(import_card, [card_upload],
                           [custom_name, custom_instructions, custom_greeting, custom_examples], api_visibility="private")
        export_btn.click(export, [chat.chatbot, persona_menu, session], [transcript], api_visibility="private")
        chat.chatbot.change(remember, [chat.chatbot, persona_menu, session, saved], [saved], trigger_mode="always_last",
                            queue=False, show_progress="hidden", api_visibility="private")
        demo.load(restore, [saved, session], [*shown, persona_menu], api_visibility="private")
        demo.load(warm_up, None, [status], api_visibility="private")
    demo.i18n_instance = I18N  # launch(i18n=...) sets it too; a `gradio app.py` reload only swaps the Blocks
    demo.agora_backend = backend  # type: ignore[attr-defined]
    demo.agora_concurrency = concurrency  # type: ignore[attr-defined]
    demo.agora_chat = chat  # type: ignore[attr-defined]
    demo.agora_badge = badge  # type: ignore[attr-defined]
    return demo


def write_file(name: str, text: str) -> str:
    """A download: ``text`` in a fresh temporary folder, under a friendly name."""
    path = Path(tempfile.mkdtemp(prefix="agora-")) / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def launch_options() -> dict[str, Any]:
    """``demo.launch`` options: the page style, and a login if AGORA_PASSWORD is set (read now, not kept)."""
    options: dict[str, Any] = {"css": CSS, "i18n": I18N}
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
    if __name__ != "__main__" or not gr.NO_RELOAD:
        raise
    sys.exit(f"agora: {exc}")

def main() -> None:
    """``python app.py``: start the backend (the embedded server, if no URL is set), serve the page."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    blocks = demo  # `gradio app.py` rebinds the global `demo` on each reload; this one is served
    blocks.agora_backend.start()  # type: ignore[attr-defined]
    serve(blocks, **launch_options())
    blocks.block_thread()


# `gradio app.py` re-runs this file on every edit, as __main__, with NO_RELOAD false: launch only once.
if __name__ == "__main__" and gr.NO_RELOAD:
    main()
