"""A deterministic engine for tests, demos and benchmarks: no model, paced like one, with faults.

The reply names the turn number and echoes the question, so tests can check that context and
sessions are kept apart.  Directives in the last user message steer it (see :class:`ScriptedEngine`).
Faults use only the engine contract of :mod:`.base`: a refusal is the server's own
``OpenAIError``, a dropped connection is ``ConnectionAbortedError``, a tool call is reported on
the generation, a crash is :class:`EngineError`.  The server has no code of its own for them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from ..errors import refusal
from .base import Engine, EngineError, Generation, ToolCall

_DIRECTIVE = re.compile(r"\[\[(.*?)\]\]")


def parse_directives(text: str) -> tuple[dict[str, str], str]:
    """Split ``[[key=value other]]`` test directives from a message's text."""
    found: dict[str, str] = {}
    for block in _DIRECTIVE.findall(text):
        for part in block.split():
            key, _, value = part.partition("=")
            found[key] = value or "1"
    return found, _DIRECTIVE.sub("", text).strip()


#: What the scripted engine says after echoing the question (deterministic, readable in screenshots).
FILLER = ("— let us examine this together. What do we mean by it, and does our answer hold in every case? "
          "Give me an example, and we will test it.").split()


@dataclass
class ScriptedEngine(Engine):
    """Deterministic replies derived from the input, paced like a real model.

    Directives: ``pieces`` (reply length), ``first`` (seconds before the first piece),
    ``delay`` (seconds between pieces), ``fail_after=N`` (fail after N pieces), ``raise`` (fail
    before any piece), ``hang=N`` (stop producing after N pieces, until cancelled), ``drop=N``
    (drop the connection after N pieces), ``tool`` / ``tool=NAME`` (call a tool: the first one
    the request offers, else ``get_weather``), ``status=429 retry=0.1`` (refuse the request),
    ``echo`` (reply with the prompt itself: each message as ``role: content``), ``params``
    (reply with the model, temperature, token limit and any other sampling options the request carried).
    """

    name: ClassVar[str] = "scripted"
    model_id: str = "scripted"
    delay: float = 0.0
    first_delay: float = 0.0
    min_pieces: int = 12

    def reply_pieces(self, gen: Generation, directives: dict[str, str], question: str) -> list[str]:
        turns = sum(1 for m in gen.messages if m["role"] == "user")
        if "params" in directives:  # show the sampling settings the request carried
            words = f"model={gen.model} temperature={gen.temperature} max_tokens={gen.max_tokens}".split()
            words += [f"{name}={'|'.join(value) if isinstance(value, list) else value}" for name, value in (
                ("top_p", gen.top_p), ("stop", gen.stop), ("seed", gen.seed),
                ("presence_penalty", gen.presence_penalty), ("frequency_penalty", gen.frequency_penalty))
                if value not in (None, [])]
        elif "echo" in directives:  # show the whole prompt, as the model received it
            words = " | ".join(f"{m['role']}: {parse_directives(m['content'])[1]}" for m in gen.messages).split()
        else:
            words = f"[turn {turns}] You asked: {question}".split()
        if "echo" in directives or "params" in directives:
            count = len(words)
        elif "pieces" in directives:
            count = int(directives["pieces"])
        else:
            count = max(self.min_pieces, len(words))
        words = (words + [FILLER[i % len(FILLER)] for i in range(count - len(words))])[:count]
        return [w if i == 0 else " " + w for i, w in enumerate(words)]

    @staticmethod
    def _directives(messages: list[dict[str, str]]) -> tuple[dict[str, str], str]:
        """The last question's directives; a ``tool`` directive already answered by a tool is spent."""
        asked = [i for i, m in enumerate(messages) if m["role"] == "user"]
        if not asked:
            return {}, ""
        directives, question = parse_directives(messages[asked[-1]]["content"])
        if any(m["role"] == "tool" for m in messages[asked[-1] + 1:]):
            directives.pop("tool", None)
        return directives, question

    def preflight(self, messages: list[dict[str, str]]) -> None:
        directives, _ = self._directives(messages)
        if "status" in directives:
            raise refusal(int(directives["status"]), float(directives.get("retry", 0.1)))

    def _tool_call(self, gen: Generation, wanted: str) -> ToolCall:
        offered = [t["function"]["name"] for t in gen.tools if t.get("type") == "function"]
        name = wanted if wanted != "1" else (offered[0] if offered else "get_weather")
        return ToolCall(id=f"call_{secrets.token_hex(12)}", name=name, arguments='{"asked": true}')

    def stream(self, gen: Generation) -> Iterator[str]:
        directives, question = self._directives(gen.messages)
        gen.prompt_tokens = sum(len(m["content"].split()) + 4 for m in gen.messages)
        if "raise" in directives:
            raise EngineError("scripted engine crashed before the first piece")
        if "tool" in directives:
            gen.tool_calls, gen.finish_reason = [self._tool_call(gen, directives["tool"])], "tool_calls"
            return
        first = float(directives.get("first", self.first_delay))
        if first and gen.cancelled.wait(first):
            gen.finish_reason = "cancelled"
            return
        yield from self._pieces(gen, directives, self.reply_pieces(gen, directives, question))

    def _pieces(self, gen: Generation, directives: dict[str, str], pieces: list[str]) -> Iterator[str]:
        delay = float(directives.get("delay", self.delay))
        for i, piece in enumerate(pieces):
            if gen.cancelled.is_set() or (i and delay and gen.cancelled.wait(delay)):
                gen.finish_reason = "cancelled"
                return
            if i == int(directives.get("fail_after", -1)):
                raise EngineError(f"scripted engine failed after {i} pieces")
            if i == int(directives.get("drop", -1)):
                raise ConnectionAbortedError("scripted fault: connection dropped")
            if i == int(directives.get("hang", -1) or 1):
                gen.cancelled.wait()
                gen.finish_reason = "cancelled"
                return
            if gen.max_tokens is not None and i >= gen.max_tokens:
                gen.finish_reason = "length"
                return
            gen.completion_tokens += 1
            yield piece

