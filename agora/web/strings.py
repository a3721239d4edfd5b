"""Every string of the page itself, in English and French, translated in the browser by Gradio's
i18n; the notices Agora writes into the chat are :mod:`agora.classroom.notices`, chosen from the
browser's ``Accept-Language``."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..classroom.notices import language

STRINGS = {
    "en": {
        "subtitle": "Ask a great philosopher; the answer streams in as it is written.",
        "honest": "🎭 The philosophers here are AI simulations, and they can be wrong: check what you read "
                 "against the texts.",
        "philosopher": "Philosopher", "ask": "Ask a question…", "try": "Try asking",
        "export": "Download the conversation (Markdown)", "transcript": "Transcript",
        "create": "Create your own philosopher", "name": "Name",
        "instructions": "Instructions (who they are, how they speak)", "greeting": "Greeting (optional)",
        "examples": "Example questions, one per line (optional)", "use": "Chat with this persona",
        "yaml": "Download as YAML", "card": "…or import a character card (SillyTavern JSON)",
        "readings": "📚 Readings for this session", "add_readings": "Add readings (.txt, .md, .pdf): answers will cite them",
        "custom": "✏️ Your persona", "loading": "⏳ Loading the local model — the first answer may take a few seconds…",
        # Keys of their own: Gradio's translations already use words such as "label" or "chat".
        "t_chat": "💬 Conversation", "t_teacher": "🧑‍🏫 Teacher", "t_password": "Teacher's password",
        "t_open": "Open", "t_kind": "Show", "t_all": "Everything", "t_since": "From (YYYY-MM-DD)",
        "t_csv": "Download as CSV", "t_like": "👍 liked", "t_dislike": "👎 disliked", "t_flag": "🚩 flagged",
        "t_moderation": "🛡️ stopped by moderation",
        "d_tab": "🗣️ Debate", "d_who": "Two or three philosophers", "d_question": "The question they debate",
        "d_auto": "▶ Auto", "d_rounds": "Rounds", "d_next": "Who speaks next:", "d_stop": "■ Stop",
        "d_interject": "Interject (the next speaker answers you)", "d_export": "Download the debate (Markdown)",
    },
    "fr": {
        "subtitle": "Posez une question à un grand philosophe ; la réponse s'affiche au fur et à mesure.",
        "honest": "🎭 Ces philosophes sont des simulations par IA, et ils peuvent se tromper : vérifiez ce que "
                 "vous lisez dans les textes.",
        "philosopher": "Philosophe", "ask": "Posez une question…", "try": "Essayez de demander",
        "export": "Télécharger la conversation (Markdown)", "transcript": "Transcription",
        "create": "Créez votre propre philosophe", "name": "Nom",
        "instructions": "Instructions (qui est-ce, comment parle-t-il ou elle)", "greeting": "Salutation (facultatif)",
        "examples": "Questions d'exemple, une par ligne (facultatif)", "use": "Discuter avec ce personnage",
        "yaml": "Télécharger en YAML", "card": "…ou importer une fiche de personnage (JSON SillyTavern)",
        "readings": "📚 Lectures de cette séance", "add_readings": "Ajouter des lectures (.txt, .md, .pdf) : les réponses les citeront",
        "custom": "✏️ Votre personnage", "loading": "⏳ Chargement du modèle local — la première réponse peut prendre quelques secondes…",
        "t_chat": "💬 Conversation", "t_teacher": "🧑‍🏫 Enseignant", "t_password": "Mot de passe de l'enseignant",
        "t_open": "Ouvrir", "t_kind": "Afficher", "t_all": "Tout", "t_since": "Depuis (AAAA-MM-JJ)",
        "t_csv": "Télécharger en CSV", "t_like": "👍 aimé", "t_dislike": "👎 pas aimé", "t_flag": "🚩 signalé",
        "t_moderation": "🛡️ arrêté par la modération",
        "d_tab": "🗣️ Débat", "d_who": "Deux ou trois philosophes", "d_question": "La question qu'ils débattent",
        "d_auto": "▶ Auto", "d_rounds": "Tours", "d_next": "Qui parle ensuite :", "d_stop": "■ Arrêter",
        "d_interject": "Intervenir (le prochain orateur vous répond)", "d_export": "Télécharger le débat (Markdown)",
    },
}

I18N = gr.I18n(**STRINGS)


def t(key: str) -> Any:
    """A page string, translated in the browser's language."""
    return I18N(key)


def language_of(request: gr.Request) -> str:
    """The browser's language, for the notices Agora writes into the chat."""
    return language(request.headers.get("accept-language"))
