"""Every string the page shows, in English and French: the page's own (translated in the
browser by Gradio's i18n) and the notices Agora writes into the chat (chosen from the
browser's ``Accept-Language``), and how an exchange is shown with its notice."""

from __future__ import annotations

from typing import Any

import gradio as gr

from ..client.conversation import Exchange

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


NOTICES: dict[str, dict[str, str]] = {
    "en": {
        "tool": "The philosopher tried to use a tool, which Agora does not offer; the run was cancelled.",
        "expired": "The reply took too long and expired on the server.",
        "failed": "The reply failed on the server ({detail}).",
        "cut": "The reply was cut at the token limit.",
        "error": "The server reported an error ({detail}).",
        "rate": "The backend is busy (rate limit). Try again in {wait} s.",
        "auth": "The backend refused the API key (401). The teacher should check OPENAI_API_KEY.",
        "forbidden": "The backend does not allow this request (403).",
        "not_found": "The backend does not know this model or endpoint (404). Check AGORA_MODEL and AGORA_API.",
        "internal": "The backend had an internal error ({status}). Please try again.",
        "rejected": "The backend rejected the request ({status}).",
        "mid_error": "The backend reported an error mid-reply ({detail}).",
        "timeout": "The backend stopped answering (nothing for {timeout:g} s). Please try again.",
        "unreachable": "Cannot reach the backend. Is it running?",
        "lost": "The connection to the backend was lost mid-reply. Please try again.",
        "unknown": "Something went wrong; the details are in the server log.",
        "too_long": "Your message has {length:,} characters; the limit is {limit:,} (AGORA_MAX_INPUT_CHARS). "
                    "Nothing was sent — please shorten it.",
        "too_many": "Too many messages; please wait {wait} s before asking again.",
        "daily": "You have used today's {limit} messages; the philosophers will be glad to talk again tomorrow.",
        "moderated": "This message was not sent: it reads as hurtful ({categories}). Please put it another way — "
                     "hard subjects such as death, war or suicide are welcome as questions.",
        "moderated_help": "This message was not sent. If you are thinking about hurting yourself, please talk to "
                          "someone you trust now — a teacher, a friend, your family — or call a helpline "
                          "(116 123 in much of Europe, 988 in the US). You are not alone.",
        "withheld": "This reply was withheld by moderation ({categories}); please ask again another way.",
        "stopped": "*Stopped.*",
        "sources": "📚 Sources",
        "reading_list": "Answers search: {names}.",
        "no_readings": "No readings yet: answers come from the model alone.",
        "answering": "Answering: {badge}",
        "downloading": "⏳ Downloading the model {name} into the Hugging Face cache: {done:,} of {total:,} MB…",
        "tiny": "These answers come from a tiny offline model ({model}), so expect odd ones. For better answers, "
                "set AGORA_GGUF to a larger model (see the README) or OPENAI_API_KEY.",
    },
    "fr": {
        "tool": "Le philosophe a voulu utiliser un outil, ce qu'Agora ne propose pas ; la réponse a été annulée.",
        "expired": "La réponse a pris trop de temps et a expiré sur le serveur.",
        "failed": "La réponse a échoué sur le serveur ({detail}).",
        "cut": "La réponse a été coupée à la limite de jetons.",
        "error": "Le serveur a signalé une erreur ({detail}).",
        "rate": "Le service est saturé (limite de débit). Réessayez dans {wait} s.",
        "auth": "Le service a refusé la clé d'API (401). L'enseignant doit vérifier OPENAI_API_KEY.",
        "forbidden": "Le service n'autorise pas cette requête (403).",
        "not_found": "Le service ne connaît pas ce modèle ou ce point d'accès (404). Vérifiez AGORA_MODEL et AGORA_API.",
        "internal": "Le service a rencontré une erreur interne ({status}). Veuillez réessayer.",
        "rejected": "Le service a rejeté la requête ({status}).",
        "mid_error": "Le service a signalé une erreur en cours de réponse ({detail}).",
        "timeout": "Le service ne répond plus (rien depuis {timeout:g} s). Veuillez réessayer.",
        "unreachable": "Impossible de joindre le service. Est-il démarré ?",
        "lost": "La connexion au service a été perdue en cours de réponse. Veuillez réessayer.",
        "unknown": "Une erreur est survenue ; les détails sont dans le journal du serveur.",
        "too_long": "Votre message compte {length:,} caractères ; la limite est de {limit:,} (AGORA_MAX_INPUT_CHARS). "
                    "Rien n'a été envoyé — raccourcissez-le.",
        "too_many": "Trop de messages ; attendez {wait} s avant de poser une autre question.",
        "daily": "Vous avez utilisé les {limit} messages d'aujourd'hui ; les philosophes seront heureux de reprendre demain.",
        "moderated": "Ce message n'a pas été envoyé : il paraît blessant ({categories}). Dites-le autrement — les "
                     "sujets difficiles comme la mort, la guerre ou le suicide sont les bienvenus en questions.",
        "moderated_help": "Ce message n'a pas été envoyé. Si vous pensez à vous faire du mal, parlez-en dès "
                          "maintenant à quelqu'un de confiance — un enseignant, un ami, votre famille — ou appelez "
                          "une ligne d'écoute (le 3114 en France). Vous n'êtes pas seul·e.",
        "withheld": "Cette réponse a été retenue par la modération ({categories}) ; reformulez votre question.",
        "stopped": "*Arrêté.*",
        "sources": "📚 Sources",
        "reading_list": "Les réponses cherchent dans : {names}.",
        "no_readings": "Pas encore de lectures : les réponses viennent du modèle seul.",
        "answering": "Répond : {badge}",
        "downloading": "⏳ Téléchargement du modèle {name} dans le cache Hugging Face : {done:,} sur {total:,} Mo…",
        "tiny": "Ces réponses viennent d'un tout petit modèle hors ligne ({model}) : attendez-vous à des bizarreries. "
                "Pour de meilleures réponses, réglez AGORA_GGUF sur un modèle plus grand (voir le README) "
                "ou OPENAI_API_KEY.",
    },
}

NOTICE = "⚠️ "
STOPPED = "⏹ "


def language(accept_language: str | None) -> str:
    """The first of the browser's languages that Agora speaks (``fr-FR,fr;q=0.9`` → ``fr``); else English."""
    ranked = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        ranked.append((-weight, n, tag.split("-")[0].lower()))
    return next((lang for _, _, lang in sorted(ranked) if lang in NOTICES), "en")


def say(key: str, lang: str = "en", **values: Any) -> str:
    """One notice in ``lang``."""
    return NOTICES.get(lang, NOTICES["en"])[key].format(**values)


def language_of(request: gr.Request) -> str:
    """The browser's language, for the notices Agora writes into the chat."""
    return language(request.headers.get("accept-language"))


def shown(exchange: Exchange, lang: str) -> str:
    """The answer as the page shows it: the text so far, then why it ended early, if it did."""
    ending = exchange.ending
    if ending is None:
        return exchange.answer
    mark = STOPPED if ending.kind == "stopped" else NOTICE
    return f"{exchange.answer}\n\n{mark}{say(ending.kind, lang, **ending.values)}".lstrip()
