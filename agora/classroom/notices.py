"""The notices Agora writes into a chat or a debate, in English and French, and how a reply is
shown with its notice.  The page's own strings, translated in the browser, are in
:mod:`agora.web.strings`."""

from __future__ import annotations

from typing import Any, Protocol

from ..client.conversation import Ending


class Said(Protocol):
    """A reply being written: a chat :class:`~agora.client.conversation.Exchange` or a debate
    :class:`~.debate.Turn`; its text so far, and why it ended early, if it did."""

    text: str
    ending: Ending | None


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


def shown(said: Said, lang: str) -> str:
    """A reply as the page shows it: the text so far, then why it ended early, if it did."""
    ending = said.ending
    if ending is None:
        return said.text
    mark = STOPPED if ending.kind == "stopped" else NOTICE
    return f"{said.text}\n\n{mark}{say(ending.kind, lang, **ending.values)}".lstrip()
