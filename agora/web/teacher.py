"""The Teacher tab: what students liked, disliked and flagged, and what moderation stopped,
filterable, as CSV.  Its rows reach a page only after the teacher's password was typed there;
the checks are the classroom's (:mod:`agora.classroom.teacher`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import gradio as gr

from ..classroom import Classroom, Session
from ..classroom.records import COLUMNS, KINDS
from ..personas import CUSTOM_ID
from .strings import t
from .transcript import SAVE_JS, download
from .view import as_toast


class TeacherTab:
    """Renders the tab (in the page's ``Tabs``), wires its events, and handles them."""

    def __init__(self, classroom: Classroom, session: gr.State) -> None:
        self.view, self.session = classroom.teacher, session
        with gr.Tab(t("t_teacher"), id="teacher", elem_id="agora-teacher-tab"):
            with gr.Row(equal_height=True):
                self.password = gr.Textbox(label=t("t_password"), type="password", scale=3,
                                           elem_id="agora-teacher-password")
                self.open = gr.Button(t("t_open"), scale=1, elem_id="agora-teacher-open")
            with gr.Row():
                self.kind = gr.Dropdown([(t("t_all"), "all"), *((t(f"t_{k}"), k) for k in KINDS)], value="all",
                                        label=t("t_kind"), elem_id="agora-teacher-kind")
                self.persona = gr.Dropdown(
                    [(t("t_all"), "all"), *((p.label, p.id) for p in classroom.personas), (t("custom"), CUSTOM_ID)],
                    value="all", label=t("philosopher"), elem_id="agora-teacher-persona")
                self.since = gr.Textbox(label=t("t_since"), placeholder="2026-12-01", elem_id="agora-teacher-since")
            self.table = gr.Dataframe(headers=list(COLUMNS), interactive=False, wrap=True, visible=False,
                                      elem_id="agora-teacher-table")
            self.csv = gr.Button(t("t_csv"), size="sm", visible=False, elem_id="agora-teacher-csv")
            self.download = gr.Textbox(visible=False)

    def wire(self) -> None:
        filters = [self.kind, self.persona, self.since, self.session]
        self.open.click(self.unlock, [self.password, *filters], [self.table, self.csv, self.password],
                        api_visibility="private")
        gr.on([self.kind.input, self.persona.input, self.since.submit], self.rows, filters, [self.table],
              api_visibility="private")
        self.csv.click(self.csv_file, filters, [self.download], api_visibility="private").then(
            None, [self.download], None, js=SAVE_JS)

    def unlock(self, password: str, kind: str, persona_id: str, since: str, session: Session) -> tuple[Any, Any, Any]:
        with as_toast():
            self.view.unlock(password, session)
        return (gr.Dataframe(value=self.rows(kind, persona_id, since, session), visible=True),
                gr.Button(visible=True), gr.Textbox(value=""))

    def rows(self, kind: str, persona_id: str, since: str, session: Session) -> list[list[str]]:
        with as_toast():
            return self.view.rows(session, kind, persona_id, since)

    def csv_file(self, kind: str, persona_id: str, since: str, session: Session) -> str:
        """The rows as CSV, saved by the browser from memory."""
        with as_toast():
            text = self.view.csv(session, kind, persona_id, since)
        return download(f"agora-feedback-{datetime.now():%Y%m%d-%H%M}.csv", text)
