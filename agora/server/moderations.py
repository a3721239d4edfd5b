"""The Moderations API, ``POST /v1/moderations``, in OpenAI's shape, on a classifier that works
offline.

The classifier is alt-profanity-check: a linear SVM over word n-grams trained on abusive and
offensive comments, shipped with its model (nothing is downloaded).  What it scores is how
offensive or abusive a text is — insults, slurs, obscenity — reported as ``harassment``.  It does
not understand meaning: self-harm, violence, sexual content, hate without abusive words and
illicit requests score 0 here (OpenAI's omni-moderation model covers them, and the app uses
whichever backend answers).  It is English-first; other languages are caught only through shared
words.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

from fastapi.concurrency import run_in_threadpool
from openai.types import Moderation, ModerationCreateResponse

from .base import API
from .engines import Engine
from .models import ModerationIn
from .store import Store, new_id

MODEL = "agora-offensive-language-1"
#: OpenAI's categories, by the names its API uses.
CATEGORIES = ("harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
              "self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
              "violence/graphic")
#: Above this offensiveness a text is ``flagged`` (a philosophy question about killing a tyrant
#: scores 0.85 on its words alone; a plain insult scores 1.0).
FLAG_AT = 0.9


@cache
def _predict() -> Any:
    """The classifier's scoring function, loaded once (~1 s) and only read afterwards."""
    from profanity_check import predict_prob

    return predict_prob


def offensive(texts: list[str]) -> list[float]:
    """How offensive each text is, from 0 to 1."""
    return [float(p) for p in _predict()(texts)] if texts else []


def moderation(score: float) -> Moderation:
    scores = dict.fromkeys(CATEGORIES, 0.0) | {"harassment": round(score, 6)}
    return Moderation.model_validate({
        "flagged": score >= FLAG_AT,
        "categories": {name: value >= FLAG_AT for name, value in scores.items()},
        "category_scores": scores,
        "category_applied_input_types": {name: ["text"] for name in CATEGORIES}})


class ModerationsAPI(API):
    def __init__(self, store: Store, engine: Engine) -> None:
        super().__init__(store, engine)
        self.router.post("/moderations")(self.create)

    async def create(self, body: ModerationIn) -> ModerationCreateResponse:
        texts = body.texts()
        scores = await run_in_threadpool(offensive, texts)
        return ModerationCreateResponse(id=new_id("modr").replace("_", "-", 1), model=MODEL,
                                        results=[moderation(score) for score in scores])


def warm() -> float:
    """Load the classifier now (seconds taken), not on the first message."""
    started = time.monotonic()
    _predict()
    return time.monotonic() - started
