"""A GGUF named on the Hugging Face Hub (``owner/repo:file.gguf``), fetched once into the
standard Hub cache by ``huggingface_hub`` and read from there afterwards, offline included.

A stronger model is then one setting away: ``AGORA_GGUF=bartowski/Qwen2.5-1.5B-Instruct-GGUF:
Qwen2.5-1.5B-Instruct-Q4_K_M.gguf``.  The download's progress goes to the terminal (tqdm) and
to whoever asked through ``progress(done, total)`` — the page shows it in its status line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .base import EngineError

HUB_REFERENCE = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+):(?P<file>[\w./-]+\.gguf)$")
Progress = Callable[[int, int], None]


def resolve_gguf(value: str, progress: Progress | None = None) -> Path:
    """A GGUF path: ``value`` itself if it is a file, else the Hub file it names (cached once)."""
    path = Path(value).expanduser()
    if path.is_file():
        return path
    match = HUB_REFERENCE.match(value)
    if match is None:
        raise EngineError(f"AGORA_GGUF={value!r}: no such file, and not a Hub reference (owner/repo:file.gguf)")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    repo, name = match["repo"], match["file"]
    try:
        return Path(hf_hub_download(repo, name, local_files_only=True))  # already fetched: no network at all
    except LocalEntryNotFoundError:
        pass
    try:
        return Path(hf_hub_download(repo, name, tqdm_class=_reporting(progress)))  # type: ignore[arg-type]
    except LocalEntryNotFoundError:
        raise EngineError(f"AGORA_GGUF={value!r}: not in the Hub cache, and the Hub cannot be reached "
                          "(offline?); fetch it once while online") from None
    except (HfHubHTTPError, OSError) as exc:
        raise EngineError(f"AGORA_GGUF={value!r}: download failed: {str(exc).splitlines()[0]}") from None


def _reporting(progress: Progress | None) -> Any:
    """A tqdm class that draws in the terminal as usual and also tells ``progress``."""
    from tqdm.auto import tqdm

    class Reporting(tqdm):  # type: ignore[misc, valid-type]
        def update(self, n: float | None = 1) -> bool | None:
            shown = super().update(n)
            if progress is not None and self.total:
                progress(int(self.n), int(self.total))
            return shown

    return Reporting
