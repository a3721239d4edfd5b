"""The Chat Completions flow: the persona's instructions as system message, passages from its
readings (searched here: Chat Completions has no file_search), its sample turns, the exchanges so far.
A debate turn: the instructions and the debate's rules, then the debate as the speaker sees it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..personas import Persona
from .conversation import Conversation
from .endings import ReplyEnded
from .flow import Discussion, Flow, cites, given
from .readings import Reading


class ChatCompletionsFlow(Flow):
    name = "chat"

    def stream(self, conv: Conversation, persona: Persona, message: str,
               readings: Sequence[Reading] = ()) -> Iterator[str]:
        passages, sources = self.backend.shelf.search_locally(list(readings), message) if readings else (None, [])
        messages = [{"role": "system", "content": persona.instructions}, *([passages] if passages else []),
                    *conv.samples(persona, message), *conv.history(), {"role": "user", "content": message}]
        try:
            yield from self._complete(persona, messages)
        finally:
            cites(conv, sources)  # a reply cut short drew on them too

    def turn(self, persona: Persona, rules: str, discussion: Discussion) -> Iterator[str]:
        yield from self._complete(persona, [{"role": "system", "content": f"{persona.instructions}\n\n{rules}"},
                                            *discussion.seen_by(persona.id)])

    def _complete(self, persona: Persona, messages: list[Any]) -> Iterator[str]:
        """One streamed completion; raises :class:`ReplyEnded` if the token limit cut it."""
        chunks = self.backend.client().chat.completions.create(  # type: ignore[call-overload]
            messages=messages, stream=True, stream_options={"include_usage": True},
            **given(model=self.backend.model_for(persona), temperature=persona.temperature,
                    max_tokens=self.backend.settings.max_output_tokens))
        finish = None
        with chunks:
            for chunk in chunks:
                if chunk.choices:
                    choice = chunk.choices[0]
                    if choice.delta.content:
                        yield choice.delta.content
                    finish = choice.finish_reason or finish
        if finish == "length":
            raise ReplyEnded("cut")
