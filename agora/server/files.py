"""The Files API: upload (multipart), list, retrieve, content, delete.

A file meant for ``file_search`` (purpose ``assistants`` or ``user_data``) is read on arrival, so
a file that cannot be a reading (wrong type, no text, encrypted, too large) is refused at once
with one line, rather than failing later inside a vector store.
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import File, Form, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from openai.types import FileDeleted, FileObject, FilePurpose, VectorStore

from ..shared.retrieval import MAX_FILE_BYTES, Library, ReadingError, extract_text
from .base import API, ListOrder, page
from .engines import Engine
from .errors import bad_request
from .store import Store, new_id, now

READ_ON_ARRIVAL = ("assistants", "user_data")


def vector_store_files(vector_store_id: str) -> str:
    """The store kind of one vector store's files (a file may be in several; its id names it in each)."""
    return f"vector_store_file:{vector_store_id}"


class FilesAPI(API):
    def __init__(self, store: Store, engine: Engine, library: Library) -> None:
        super().__init__(store, engine)
        self.library = library
        r = self.router
        r.post("/files")(self.upload)
        r.get("/files")(self.list_files)
        r.get("/files/{file_id}")(self.get_file)
        r.get("/files/{file_id}/content")(self.content)
        r.delete("/files/{file_id}")(self.delete_file)

    async def upload(self, file: UploadFile = File(...), purpose: str = Form(...)) -> FileObject:
        if purpose not in get_args(FilePurpose):
            raise bad_request(f"Invalid value for 'purpose': '{purpose}'. Use one of: {', '.join(get_args(FilePurpose))}.",
                              "purpose", "invalid_value")
        data = await file.read(MAX_FILE_BYTES + 1)
        name = file.filename or "upload"
        return await run_in_threadpool(self._keep, name, data, purpose)

    def _keep(self, name: str, data: bytes, purpose: str) -> FileObject:
        text = ""
        if purpose in READ_ON_ARRIVAL:
            try:
                text = extract_text(name, data)
            except ReadingError as exc:
                raise bad_request(str(exc), "file", "invalid_file") from None
        obj = FileObject(id=new_id("file"), object="file", bytes=len(data), created_at=now(), filename=name,
                         purpose=purpose, status="processed")  # type: ignore[arg-type]
        self.library.keep(obj.id, data, text)
        return self.store.put("file", obj)

    def list_files(self, purpose: str | None = None, limit: int = 10000, order: ListOrder = "desc",
                   after: str | None = None) -> dict[str, Any]:
        files = [f for f in self.store.children("file", None, FileObject) if purpose in (None, f.purpose)]
        return page(files, limit=min(limit, 10000), order=order, after=after, before=None, max_limit=10000)

    def get_file(self, file_id: str) -> FileObject:
        return self.find("file", file_id, FileObject)

    def content(self, file_id: str) -> Response:
        self.find("file", file_id, FileObject)
        return Response(self.library.read(file_id) or b"", media_type="application/octet-stream")

    def delete_file(self, file_id: str) -> FileDeleted:
        """Deleting a file also takes it out of every vector store that holds it."""
        self.find("file", file_id, FileObject)
        for vector_store in self.store.children("vector_store", None, VectorStore):
            self.store.delete(vector_store_files(vector_store.id), file_id)
        self.library.forget(file_id)
        self.store.delete("file", file_id)
        return FileDeleted(id=file_id, object="file", deleted=True)
