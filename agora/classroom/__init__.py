"""The classroom: what the conversation and the debate share, between the page and the client.

It imports no Gradio, so anything can drive it (the page does; so could a test or another
front end):

- ``classroom``  the :class:`Classroom`: personas and readings, the backend and its flow, the
  moderator, the records, the limits and the seal, one of each per app;
- ``admission``  whether a message may go to the philosophers: limits, then moderation;
- ``reply``      the one streaming reply pipeline, moderated as it streams, for chat and debate;
- ``debate``     the debate's records, what each speaker is shown, and its turns;
- ``teacher``    the teacher's view: its password, filters and CSV;
- ``keeping``    what the browser keeps, and taking it back (validated by pydantic models);
- ``session``, ``seal``, ``records``, ``pacing``, ``notices``: one student's state, the keys that
  protect what the browser keeps, the app's records, how often the page is updated, and the
  notices Agora writes into a chat.
"""

from __future__ import annotations

from .classroom import Classroom
from .errors import ClassroomError
from .session import Session

__all__ = ["Classroom", "ClassroomError", "Session"]
