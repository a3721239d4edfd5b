"""What a student sees when a reply cannot finish: one short, clear line, in their language.

Details go to the log (never the key); the chat keeps the partial answer and
gets this notice after it.  The browser's ``Accept-Language`` picks English or
French, as Gradio's i18n does for the rest of the page.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import openai

log = logging.getLogger(__name__)

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
        "stopped": "*Stopped.*",
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
        "stopped": "*Arrêté.*",
    },
}


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


def _retry_after(exc: openai.APIStatusError) -> int | None:
    value = exc.response.headers.get("retry-after")
    try:
        return max(1, math.ceil(float(value))) if value else None
    except ValueError:
        return None


def _kind(exc: BaseException, mid_reply: bool) -> tuple[str, dict[str, Any]]:
    from .flows import FlowError  # flows imports backend; keep this module import-light

    if isinstance(exc, FlowError):
        return exc.kind, {"detail": exc.detail}
    if isinstance(exc, openai.RateLimitError):
        return "rate", {"wait": _retry_after(exc) or 20}
    if isinstance(exc, openai.AuthenticationError):
        return "auth", {}
    if isinstance(exc, openai.PermissionDeniedError):
        return "forbidden", {}
    if isinstance(exc, openai.NotFoundError):
        return "not_found", {}
    if isinstance(exc, openai.InternalServerError):
        return "internal", {"status": exc.status_code}
    if isinstance(exc, openai.APIStatusError):
        return "rejected", {"status": exc.status_code}
    if isinstance(exc, openai.APIError) and not isinstance(exc, openai.APIConnectionError):
        return "mid_error", {"detail": exc.message}
    if isinstance(exc, openai.APITimeoutError) or "timeout" in type(exc).__name__.lower():
        return "timeout", {}
    if isinstance(exc, openai.APIConnectionError) and not mid_reply:
        return "unreachable", {}
    if isinstance(exc, openai.APIConnectionError) or type(exc).__module__.split(".")[0] in (
            "httpx", "httpx2", "httpcore", "httpcore2", "h11") or isinstance(exc, (ConnectionError, OSError)):
        return "lost", {}
    return "unknown", {}


def notice_for(exc: BaseException, timeout: float, mid_reply: bool = False, lang: str = "en") -> str:
    """The student-facing notice for a failure (``mid_reply``: some text had arrived); logs details."""
    from .flows import FlowError

    kind, values = _kind(exc, mid_reply)
    if isinstance(exc, FlowError):
        log.info("reply ended early: %s", exc)
    elif kind == "unknown":
        log.exception("unexpected failure", exc_info=exc)
    else:
        log.warning("reply failed: %s: %s", type(exc).__name__, exc)
    return say(kind, lang, timeout=timeout, **values)
