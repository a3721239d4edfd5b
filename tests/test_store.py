"""Both stores keep the same contract: creation order per parent, updates in place, the newest child."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import BaseModel

from agora.server.store import MemoryStore, SqliteStore, Store


class Item(BaseModel):
    id: str
    text: str = ""


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(":memory:")
    yield s


def ids(items: list[Item]) -> list[str]:
    return [i.id for i in items]


def test_children_in_creation_order_per_parent(store: Store) -> None:
    for n, parent in enumerate(["t1", "t2", "t1", "t1", "t2"]):
        store.put("message", Item(id=f"m{n}"), parent=parent)
    store.put("run", Item(id="r0"), parent="t1")
    assert ids(store.children("message", "t1", Item)) == ["m0", "m2", "m3"]
    assert ids(store.children("message", "t2", Item)) == ["m1", "m4"]
    assert ids(store.children("message", None, Item)) == ["m0", "m1", "m2", "m3", "m4"]
    assert store.children("message", "t3", Item) == []


def test_update_keeps_position_and_parent(store: Store) -> None:
    for n in range(3):
        store.put("message", Item(id=f"m{n}"), parent="t1")
    store.put("message", Item(id="m0", text="edited"))  # no parent given: keeps its thread
    assert [(i.id, i.text) for i in store.children("message", "t1", Item)] == [("m0", "edited"), ("m1", ""), ("m2", "")]
    assert store.latest("message", "t1", Item) == Item(id="m2")


def test_latest_and_delete(store: Store) -> None:
    assert store.latest("run", "t1", Item) is None
    store.put("run", Item(id="r0"), parent="t1")
    store.put("run", Item(id="r1"), parent="t1")
    store.put("run", Item(id="x"), parent="t2")
    assert store.latest("run", "t1", Item) == Item(id="r1")
    assert store.delete("run", "r1") and not store.delete("run", "r1")
    assert store.latest("run", "t1", Item) == Item(id="r0")
    assert store.get("run", "r1", Item) is None
    assert ids(store.children("run", None, Item)) == ["r0", "x"]


def test_objects_are_copies(store: Store) -> None:
    item = Item(id="m0", text="kept")
    store.put("message", item, parent="t1")
    item.text = "changed after put"
    fetched = store.get("message", "m0", Item)
    assert fetched is not None and fetched.text == "kept"
    fetched.text = "changed after get"
    assert store.children("message", "t1", Item)[0].text == "kept"
