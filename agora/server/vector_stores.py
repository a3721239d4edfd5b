"""The Vector Stores API: stores, their files and file batches, and search.

A file added to a store is read and cut into passages in a thread of its own: it is
``in_progress`` until then, and ``completed`` or ``failed`` (with ``last_error``) after, as on
OpenAI, so ``upload_and_poll`` and ``create_and_poll`` work unchanged.  A store's ``status`` and
``file_counts`` are worked out from its files whenever it is read.
"""

from __future__ import annotations

import threading
from typing import Any

from openai.types import FileObject, VectorStore, VectorStoreDeleted
from openai.types.vector_store import FileCounts
from openai.types.vector_stores import (
    VectorStoreFile,
    VectorStoreFileBatch,
    VectorStoreFileDeleted,
)
from openai.types.vector_stores.vector_store_file import LastError
from openai.types.vector_stores.vector_store_file_batch import FileCounts as BatchCounts

from ..shared.retrieval import Hit, Library, ReadingError, extract_text
from .base import API, ListOrder, page
from .engines import Engine
from .errors import bad_request, not_found
from .files import vector_store_files
from .models import (
    Attributes,
    FileBatchIn,
    SearchIn,
    VectorStoreFileIn,
    VectorStoreFileUpdate,
    VectorStoreIn,
    VectorStoreUpdate,
)
from .store import Store, new_id, now

STATUSES = ("in_progress", "completed", "failed", "cancelled")


class VectorStoresAPI(API):
    def __init__(self, store: Store, engine: Engine, library: Library) -> None:
        super().__init__(store, engine)
        self.library = library
        r = self.router
        r.post("/vector_stores")(self.create)
        r.get("/vector_stores")(self.list_stores)
        r.get("/vector_stores/{vector_store_id}")(self.get)
        r.post("/vector_stores/{vector_store_id}")(self.update)
        r.delete("/vector_stores/{vector_store_id}")(self.delete)
        r.post("/vector_stores/{vector_store_id}/search")(self.search_api)
        r.post("/vector_stores/{vector_store_id}/files")(self.add_file)
        r.get("/vector_stores/{vector_store_id}/files")(self.list_files)
        r.get("/vector_stores/{vector_store_id}/files/{file_id}")(self.get_file)
        r.post("/vector_stores/{vector_store_id}/files/{file_id}")(self.update_file)
        r.delete("/vector_stores/{vector_store_id}/files/{file_id}")(self.remove_file)
        r.post("/vector_stores/{vector_store_id}/file_batches")(self.create_batch)
        r.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}")(self.get_batch)
        r.post("/vector_stores/{vector_store_id}/file_batches/{batch_id}/cancel")(self.cancel_batch)
        r.get("/vector_stores/{vector_store_id}/file_batches/{batch_id}/files")(self.list_batch_files)

    # ------------------------------------------------------------------ stores

    def _files(self, vector_store_id: str) -> list[VectorStoreFile]:
        return self.store.children(vector_store_files(vector_store_id), None, VectorStoreFile)

    def _current(self, vector_store: VectorStore) -> VectorStore:
        """The store with its status, counts and size as its files stand now."""
        files = self._files(vector_store.id)
        counts = {status: sum(f.status == status for f in files) for status in STATUSES}
        return vector_store.model_copy(update={
            "file_counts": FileCounts(total=len(files), in_progress=counts["in_progress"], completed=counts["completed"],
                                      failed=counts["failed"], cancelled=counts["cancelled"]),
            "status": "in_progress" if counts["in_progress"] else "completed",
            "usage_bytes": sum(f.usage_bytes for f in files if f.status == "completed")})

    def find_store(self, vector_store_id: str) -> VectorStore:
        return self._current(self.find("vector_store", vector_store_id, VectorStore))

    def create(self, body: VectorStoreIn) -> VectorStore:
        for file_id in body.file_ids:
            self.find("file", file_id, FileObject)
        vector_store = VectorStore(
            id=new_id("vs"), object="vector_store", created_at=now(), last_active_at=now(), name=body.name or "",
            metadata=body.metadata or {}, status="completed", usage_bytes=0,
            file_counts=FileCounts(in_progress=0, completed=0, failed=0, cancelled=0, total=0),
            expires_after=body.expires_after.model_dump() if body.expires_after else None)  # type: ignore[arg-type]
        self.store.put("vector_store", vector_store)
        for file_id in body.file_ids:
            self._start_file(vector_store.id, file_id, None)
        return self._current(vector_store)

    def list_stores(self, limit: int = 20, order: ListOrder = "desc", after: str | None = None,
                    before: str | None = None) -> dict[str, Any]:
        stores = [self._current(v) for v in self.store.children("vector_store", None, VectorStore)]
        return page(stores, limit=limit, order=order, after=after, before=before)

    def get(self, vector_store_id: str) -> VectorStore:
        return self.find_store(vector_store_id)

    def update(self, vector_store_id: str, body: VectorStoreUpdate) -> VectorStore:
        vector_store = self.find("vector_store", vector_store_id, VectorStore)
        changes = body.model_dump(exclude_unset=True)
        self.store.put("vector_store", vector_store.model_copy(update={**changes, "last_active_at": now()}))
        return self.find_store(vector_store_id)

    def delete(self, vector_store_id: str) -> VectorStoreDeleted:
        self.find("vector_store", vector_store_id, VectorStore)
        for entry in self._files(vector_store_id):
            self.store.delete(vector_store_files(vector_store_id), entry.id)
        self.library.unindex(vector_store_id)
        self.store.delete("vector_store", vector_store_id)
        return VectorStoreDeleted(id=vector_store_id, object="vector_store.deleted", deleted=True)

    # ------------------------------------------------------------------ files in a store

    def _start_file(self, vector_store_id: str, file_id: str, attributes: Attributes | None,
                    batch_id: str | None = None) -> VectorStoreFile:
        """Add a file, ``in_progress``; a thread of its own reads and indexes it."""
        entry = VectorStoreFile(id=file_id, object="vector_store.file", created_at=now(), status="in_progress",
                                usage_bytes=0, vector_store_id=vector_store_id, attributes=attributes,
                                chunking_strategy={"type": "other"})  # type: ignore[arg-type]
        self.store.put(vector_store_files(vector_store_id), entry, parent=batch_id)
        threading.Thread(target=self._index, args=(entry,), name=f"index-{file_id}", daemon=True).start()
        return entry

    def _index(self, entry: VectorStoreFile) -> None:
        file = self.store.get("file", entry.id, FileObject)
        error: LastError | None = None
        try:
            if file is None:
                raise ReadingError(f"file {entry.id} no longer exists")
            text = self.library.text(entry.id) or extract_text(file.filename, self.library.read(entry.id) or b"")
            self.library.index(entry.vector_store_id, entry.id, file.filename, text)
        except ReadingError as exc:
            error = LastError(code="unsupported_file" if "cannot be read" in str(exc) else "invalid_file",
                              message=str(exc))
        except Exception as exc:  # noqa: BLE001 - recorded on the file, as OpenAI records it
            error = LastError(code="server_error", message=str(exc) or type(exc).__name__)
        kind = vector_store_files(entry.vector_store_id)
        if (current := self.store.get(kind, entry.id, VectorStoreFile)) is None or current.status != "in_progress":
            self.library.unindex(entry.vector_store_id, entry.id)  # removed or cancelled meanwhile
            return
        self.store.put(kind, current.model_copy(update={
            "status": "failed" if error else "completed", "last_error": error,
            "usage_bytes": 0 if error or file is None else file.bytes}))

    def add_file(self, vector_store_id: str, body: VectorStoreFileIn) -> VectorStoreFile:
        self.find("vector_store", vector_store_id, VectorStore)
        self.find("file", body.file_id, FileObject)
        return self._start_file(vector_store_id, body.file_id, body.attributes)

    def list_files(self, vector_store_id: str, limit: int = 20, order: ListOrder = "desc", after: str | None = None,
                   before: str | None = None, filter: str | None = None) -> dict[str, Any]:
        self.find("vector_store", vector_store_id, VectorStore)
        if filter is not None and filter not in STATUSES:
            raise bad_request(f"Invalid value for 'filter': '{filter}'.", "filter", "invalid_value")
        files = [f for f in self._files(vector_store_id) if filter in (None, f.status)]
        return page(files, limit=limit, order=order, after=after, before=before)

    def get_file(self, vector_store_id: str, file_id: str) -> VectorStoreFile:
        self.find("vector_store", vector_store_id, VectorStore)
        return self.find(vector_store_files(vector_store_id), file_id, VectorStoreFile)

    def update_file(self, vector_store_id: str, file_id: str, body: VectorStoreFileUpdate) -> VectorStoreFile:
        entry = self.get_file(vector_store_id, file_id)
        return self.store.put(vector_store_files(vector_store_id), entry.model_copy(update={"attributes": body.attributes}))

    def remove_file(self, vector_store_id: str, file_id: str) -> VectorStoreFileDeleted:
        self.get_file(vector_store_id, file_id)
        self.store.delete(vector_store_files(vector_store_id), file_id)
        self.library.unindex(vector_store_id, file_id)
        return VectorStoreFileDeleted(id=file_id, object="vector_store.file.deleted", deleted=True)

    # ------------------------------------------------------------------ batches

    def _batch_files(self, vector_store_id: str, batch_id: str) -> list[VectorStoreFile]:
        return self.store.children(vector_store_files(vector_store_id), batch_id, VectorStoreFile)

    def _batch(self, batch: VectorStoreFileBatch) -> VectorStoreFileBatch:
        files = self._batch_files(batch.vector_store_id, batch.id)
        counts = {status: sum(f.status == status for f in files) for status in STATUSES}
        status = batch.status if batch.status == "cancelled" else (
            "in_progress" if counts["in_progress"] else "failed" if counts["failed"] == len(files) and files
            else "completed")
        return batch.model_copy(update={"status": status, "file_counts": BatchCounts(
            total=len(files), in_progress=counts["in_progress"], completed=counts["completed"], failed=counts["failed"],
            cancelled=counts["cancelled"])})

    def create_batch(self, vector_store_id: str, body: FileBatchIn) -> VectorStoreFileBatch:
        self.find("vector_store", vector_store_id, VectorStore)
        if bool(body.file_ids) == bool(body.files):
            raise bad_request("Provide either 'file_ids' or 'files', not both and not neither.", "file_ids")
        wanted = [(f, body.attributes) for f in body.file_ids or []] + [(f.file_id, f.attributes) for f in body.files or []]
        for file_id, _ in wanted:
            self.find("file", file_id, FileObject)
        batch = VectorStoreFileBatch(
            id=new_id("vsfb"), object="vector_store.files_batch", created_at=now(), vector_store_id=vector_store_id,
            status="in_progress", file_counts=BatchCounts(in_progress=0, completed=0, failed=0, cancelled=0, total=0))
        self.store.put("file_batch", batch, parent=vector_store_id)
        for file_id, attributes in wanted:
            self._start_file(vector_store_id, file_id, attributes, batch.id)
        return self._batch(batch)

    def get_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch:
        batch = self.find("file_batch", batch_id, VectorStoreFileBatch)
        if batch.vector_store_id != vector_store_id:
            raise not_found("file_batch", batch_id)
        return self._batch(batch)

    def cancel_batch(self, vector_store_id: str, batch_id: str) -> VectorStoreFileBatch:
        batch = self.get_batch(vector_store_id, batch_id)
        kind = vector_store_files(vector_store_id)
        for entry in self._batch_files(vector_store_id, batch_id):
            if entry.status == "in_progress":
                self.store.put(kind, entry.model_copy(update={"status": "cancelled"}))
        return self._batch(self.store.put("file_batch", batch.model_copy(update={"status": "cancelled"})))

    def list_batch_files(self, vector_store_id: str, batch_id: str, limit: int = 20, order: ListOrder = "desc",
                         after: str | None = None, before: str | None = None,
                         filter: str | None = None) -> dict[str, Any]:
        self.get_batch(vector_store_id, batch_id)
        files = [f for f in self._batch_files(vector_store_id, batch_id) if filter in (None, f.status)]
        return page(files, limit=limit, order=order, after=after, before=before)

    # ------------------------------------------------------------------ search

    def search(self, vector_store_ids: list[str], query: str, limit: int = 10, threshold: float = 0.0) -> list[Hit]:
        """Ranked passages for ``query`` (also what ``file_search`` runs use)."""
        return [hit for hit in self.library.search(vector_store_ids, query, limit) if hit.score >= threshold]

    def search_api(self, vector_store_id: str, body: SearchIn) -> dict[str, Any]:
        self.find("vector_store", vector_store_id, VectorStore)
        queries = [body.query] if isinstance(body.query, str) else body.query
        threshold = body.ranking_options.score_threshold if body.ranking_options else None
        hits = self.search([vector_store_id], " ".join(queries), body.max_num_results, threshold or 0.0)
        attributes = {f.id: f.attributes for f in self._files(vector_store_id)}
        return {"object": "vector_store.search_results.page", "search_query": queries, "has_more": False,
                "next_page": None, "data": [
                    {"file_id": h.file_id, "filename": h.filename, "score": h.score, "attributes": attributes.get(h.file_id),
                     "content": [{"type": "text", "text": h.text}]} for h in hits]}
