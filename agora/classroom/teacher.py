"""The teacher's view: what students liked, disliked and flagged, and what moderation stopped.

Its rows reach a page only after the teacher's password was typed there; five wrong tries lock
that session out.  Filters come from a form a script can forge, so each is checked and a value
no form could send is refused in one line.  The CSV is written so that a spreadsheet shows a
formula-like cell as text rather than running it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..config import Settings
from .errors import ClassroomError
from .records import COLUMNS, KINDS, Kind, Records
from .session import Session

#: Wrong passwords a session may type before it is locked out.
TRIES = 5
#: First characters that make a spreadsheet read a cell as a formula.
FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    kinds: tuple[Kind, ...]
    persona: str | None  # None: every persona
    since: date | None


class TeachersView:
    """The records as the teacher reads them; one per classroom."""

    def __init__(self, settings: Settings, records: Records, persona_ids: set[str]) -> None:
        self.settings, self.records, self.persona_ids = settings, records, persona_ids

    def unlock(self, password: str, session: Session) -> None:
        """Open the view for this session, if ``password`` is the teacher's."""
        if session.failed_unlocks >= TRIES:
            raise ClassroomError("Too many wrong passwords in this session; reload the page to try again.")
        if not self.settings.is_teacher_password(password or ""):
            session.failed_unlocks += 1
            raise ClassroomError("That is not the teacher's password.")
        session.teacher = True

    def filters(self, kind: Any, persona_id: Any, since: Any) -> Filters:
        """The filters as the records take them; a value no form could send gets one line naming it."""
        if not isinstance(kind, str) or (kind != "all" and kind not in KINDS):
            raise ClassroomError(f"kind: {str(kind)[:40]!r} is not one of all, {', '.join(KINDS)}")
        if not isinstance(persona_id, str) or (persona_id != "all" and persona_id not in self.persona_ids):
            raise ClassroomError(f"persona: {str(persona_id)[:40]!r} is not a persona of this app")
        try:
            if since is not None and not isinstance(since, str):
                raise ValueError
            day = date.fromisoformat(since.strip()) if since and since.strip() else None
        except ValueError:
            raise ClassroomError(f"since: {str(since)[:40]!r} is not a date (YYYY-MM-DD)") from None
        kinds = KINDS if kind == "all" else tuple(k for k in KINDS if k == kind)
        return Filters(kinds, None if persona_id == "all" else persona_id, day)

    def rows(self, session: Session, kind: Any, persona_id: Any, since: Any) -> list[list[str]]:
        """The records the filters select, newest first; nothing unless this session typed the password."""
        if not session.teacher:
            raise ClassroomError("The teacher's view is locked: type the teacher's password first.")
        chosen = self.filters(kind, persona_id, since)
        return [[getattr(f, c) for c in COLUMNS] for f in self.records.feedback(chosen.kinds, chosen.persona,
                                                                                chosen.since)]

    def csv(self, session: Session, kind: Any, persona_id: Any, since: Any) -> str:
        """The rows as CSV text, formula-like cells written as text."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in self.rows(session, kind, persona_id, since):
            writer.writerow(["'" + cell if cell.startswith(FORMULA) else cell for cell in row])
        return out.getvalue()
