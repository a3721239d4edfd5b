"""Which language a text is written in, offline (py3langid's bundled model, no download).

The client shows the model example turns in the student's language; the quality benchmark
checks that replies come in the language of the question.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _identifier() -> Any:
    """The model, loaded once and only read afterwards (``rank`` does not change it)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect(text: str) -> str:
    """The ISO 639-1 code of ``text``'s language (``en``, ``fr``, ``de``, …)."""
    return str(_identifier().rank(text)[0][0])
