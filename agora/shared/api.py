"""Facts of OpenAI's APIs that the server and the client both act on."""

from __future__ import annotations

#: The Assistants API's run states in which a run is still working (or waiting) and can be cancelled.
ACTIVE = frozenset({"queued", "in_progress", "requires_action", "cancelling"})
