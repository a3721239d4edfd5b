"""The classroom's one exception: a request it refuses, in one line the page shows as it is."""

from __future__ import annotations


class ClassroomError(ValueError):
    """A request the classroom refuses (a bad filter, an unknown persona, a locked view…), as one
    line that names what is wrong; the page shows it to the person who asked."""
