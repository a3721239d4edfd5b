"""*Create your own philosopher*: a form, a character card that fills it, and the persona as YAML
to paste into ``personas.yaml``.  What the form makes is checked by :mod:`agora.personas`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from ..classroom import Session
from ..client.conversation import Conversation
from ..personas import CUSTOM_ID, Persona, PersonaError, persona_from_card, persona_from_form, to_yaml
from .strings import t
from .transcript import SAVE_JS, download


class CustomForm:
    """Renders the form (in an accordion of the Conversation tab), wires it, and handles it."""

    def __init__(self) -> None:
        with gr.Accordion(t("create"), open=False, elem_id="agora-custom"):
            self.name = gr.Textbox(label=t("name"), elem_id="agora-custom-name")
            self.instructions = gr.Textbox(label=t("instructions"), lines=4, elem_id="agora-custom-instructions")
            self.greeting = gr.Textbox(label=t("greeting"))
            self.examples = gr.Textbox(label=t("examples"), lines=3)
            with gr.Row():
                self.use_btn = gr.Button(t("use"), variant="primary", elem_id="agora-custom-use")
                self.yaml_btn = gr.Button(t("yaml"), size="sm", visible=False, elem_id="agora-custom-yaml")
            self.yaml_text = gr.Textbox(visible=False)
            self.card_upload = gr.File(label=t("card"), file_types=[".json"], type="filepath",
                                       elem_id="agora-card-import")

    def wire(self, session: gr.State, shown: list[Any], menu: gr.Dropdown,
             show: Callable[[Persona, Session], tuple[Any, ...]]) -> None:
        """``shown``: what :meth:`AgoraPage.show` updates, and ``show`` itself."""
        self.show = show
        form = [self.name, self.instructions, self.greeting, self.examples]
        self.use_btn.click(self.use, [*form, session], [*shown, menu, self.yaml_btn, self.yaml_text],
                           api_visibility="private")
        self.yaml_btn.click(None, [self.yaml_text], None, js=SAVE_JS)
        self.card_upload.upload(self.import_card, [self.card_upload], form, api_visibility="private")

    def use(self, name: str, instructions: str, greeting: str, examples: str, session: Session) -> tuple[Any, ...]:
        """Chat with the persona the form describes, at once; offer it as YAML."""
        try:
            persona = persona_from_form(name, instructions, greeting, examples)
        except PersonaError as exc:
            raise gr.Error(str(exc)) from None
        session.custom = persona
        session.conversation = Conversation(persona_id=CUSTOM_ID)
        return (*self.show(persona, session), gr.Dropdown(value=CUSTOM_ID), gr.Button(visible=True),
                download(f"{persona.name or 'persona'}.yaml", to_yaml(persona)))

    @staticmethod
    def import_card(path: str | None) -> tuple[Any, ...]:
        """A SillyTavern character card fills the form (nothing is used until the teacher says so)."""
        if not path:
            return (gr.skip(),) * 4
        try:
            persona = persona_from_card(Path(path).read_bytes(), Path(path).name)
        except PersonaError as exc:
            raise gr.Error(str(exc)) from None
        return persona.name, persona.instructions, persona.greeting, "\n".join(persona.examples)
