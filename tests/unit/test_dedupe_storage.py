"""Compact storage of the dedupe index: the id table, group labels and the growable arrays.

The index keeps ids and groups in numpy arrays instead of Python lists and dicts; these tests hold it
to what the lists and dicts did, also when ids share a hash, repeat, or are not plain ASCII.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from appeals import dedupe_strings
from appeals.dedupe import DedupeIndex, group_frame, load_dedupe_config, load_index, save_index
from appeals.dedupe_config import DedupeConfig
from appeals.dedupe_groups import Groups
from appeals.dedupe_strings import NumberOf, StringTable
from appeals.dedupe_table import GROWTH, capacity, reserve, resized
from appeals.schema import Appeal

T0 = datetime(2024, 3, 1, 9, 0)
ODD_IDS = ["a", "", "обращение-№5", "emoji-🚰", "lone-\ud800", "tab\tand\nnewline", "a#2", "A"]
APPEAL_IDS = [i for i in ODD_IDS if i and "\ud800" not in i]  # what an Appeal's id can be
LEAK = "Садовая 12, прорвало трубу в подвале, подвал затоплен"


@pytest.fixture(scope="module")
def config() -> DedupeConfig:
    return load_dedupe_config()


@pytest.fixture(params=["real hash", "one hash for all"])
def hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test twice: with the real hash, and with every string hashed to the same key."""
    if request.param == "one hash for all":
        monkeypatch.setattr(dedupe_strings, "hash_key", lambda raw: 7)
    return str(request.param)


def appeal(appeal_id: str, text: str, days: float = 0) -> Appeal:
    return Appeal(id=appeal_id, text=text, created_at=T0 + timedelta(days=days), topic_group="ЖКХ")


def test_string_table_numbers_and_finds_strings(hashes: str) -> None:
    table = StringTable()
    assert [table.append(s) for s in ODD_IDS[:4]] == [0, 1, 2, 3]
    assert table.extend(ODD_IDS[4:]).tolist() == [4, 5, 6, 7]
    assert list(table) == ODD_IDS and [table[k] for k in range(len(table))] == ODD_IDS
    assert [table.find(s) for s in ODD_IDS] == list(range(len(ODD_IDS)))
    assert table.find_many([*ODD_IDS, "missing", "a "]).tolist() == [*range(len(ODD_IDS)), -1, -1]
    assert table.find("missing") == -1 and table.find_all("missing") == []
    with pytest.raises(IndexError):
        table[len(ODD_IDS)]


def test_string_table_repeated_string_finds_the_newest(hashes: str) -> None:
    """A batch may repeat an id; like a dict updated in order, the id then means its newest row."""
    table = StringTable()
    table.extend(["x", "y", "x"])
    table.append("x")
    assert table.find("x") == 3 and table.find_all("x") == [0, 2, 3]
    assert table.find_many(["x", "y"]).tolist() == [3, 1]
    assert table.newest().tolist() == [1, 3]
    view = NumberOf(table)
    assert dict(view) == {"y": 1, "x": 3} and len(view) == 2


def test_colliding_hashes_never_give_a_wrong_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every id under one hash, spread over both levels of the key table: lookups still compare
    the bytes, one by one and in bulk."""
    from appeals import dedupe_table

    monkeypatch.setattr(dedupe_table, "_MIN_PENDING", 5)
    monkeypatch.setattr(dedupe_strings, "hash_key", lambda raw: 2**64 - 1 if raw.startswith(b"b") else 1)
    table = StringTable()
    ids = [f"{'ab'[k % 2]}{k}" for k in range(40)]
    for appeal_id in ids[:25]:
        table.append(appeal_id)
    table.extend(ids[25:])
    assert len(table.table.keys) and table.table.pending_count == 0
    table.append("a-last")
    assert table.table.pending_count == 1
    assert [table.find(i) for i in ids] == list(range(40)) and table.find("a-last") == 40
    assert table.find_many([*reversed(ids), "a-none", "b-none"]).tolist() == [*range(39, -1, -1), -1, -1]


def test_string_table_grows_keeping_what_it_holds() -> None:
    table = StringTable()
    ids = [f"обращение-{k}" * (1 + k % 3) for k in range(3000)]
    for appeal_id in ids[:1500]:
        table.append(appeal_id)
    table.extend(ids[1500:])
    assert len(table.offsets) > 3000 and len(table.data) >= int(table.offsets[3000])
    assert list(table) == ids and table.find_many(ids).tolist() == list(range(3000))
    assert table.nbytes == sum(len(i.encode()) for i in ids) + 8 * 3001 + 12 * 3000  # no object per id


def test_row_of_view_acts_as_the_dict_it_replaced(config: DedupeConfig, hashes: str) -> None:
    index = DedupeIndex(config)
    for k, appeal_id in enumerate(APPEAL_IDS):
        index.add(appeal(appeal_id, f"{LEAK} {k}", days=k))
    row_of = index.row_of
    assert set(row_of) == set(APPEAL_IDS) and len(row_of) == len(APPEAL_IDS)
    assert all(appeal_id in row_of and row_of[appeal_id] == k for k, appeal_id in enumerate(APPEAL_IDS))
    assert "missing" not in row_of and 5 not in row_of and row_of.get("missing") is None
    with pytest.raises(KeyError):
        row_of["missing"]
    assert row_of.contains_many(["A", "b", "emoji-🚰"]).tolist() == [True, False, True]
    assert [index.ids[k] for k in range(len(index))] == APPEAL_IDS
    with pytest.raises(ValueError, match="already in the dedupe index"):
        index.add(appeal("emoji-🚰", "Нет света"))


def test_groups_split_merge_and_labels_with_colliding_ids(config: DedupeConfig, hashes: str) -> None:
    index = DedupeIndex(config)
    for k, appeal_id in enumerate(["a0", "a1", "a2"]):
        index.add(appeal(appeal_id, LEAK, days=k))
    index.add(appeal("a0#2", "Улица Школьная разбита полностью, ямы по колено"))  # an id like a label
    assert index.split("a1") == "a1" and index.members("a0") == ["a0", "a2"]
    assert index.merge("a0", "a1") == "a0" and index.group_size("a0") == 3
    assert index.split("a0") == "a0#3"  # "a0#2" is the group of the appeal with that id
    assert index.members("a0") == ["a1", "a2"] and index.members("a0#3") == ["a0"]
    assert index.members("a0#2") == ["a0#2"]
    with pytest.raises(KeyError):
        index.members("a1")  # emptied by the merge; the label stays taken
    assert index.split("a1") == "a1#2"
    assert index.groups.named.count == 2  # only the "#k" labels need strings of their own


def test_open_many_and_assign_many_match_one_at_a_time(hashes: str) -> None:
    ids = StringTable()
    ids.extend(["r0", "r1", "r2", "r3", "r4", "r5"])
    labels = ["r0", "gone", "r0", "r3", "gone", "r5#2"]
    senders = np.array([0, 7, 7, 0, 9, 7], dtype=np.uint32)
    one, many = Groups(ids), Groups(ids)
    expected = [one.open(label) for label in labels]
    for row, (group, sender) in enumerate(zip(expected, senders.tolist(), strict=True)):
        one.assign(row, group, sender)
    groups = many.open_many(labels)
    many.assign_many(np.arange(6), groups, senders)
    assert groups.tolist() == expected == [0, 1, 0, 2, 1, 3]
    assert many.labels() == one.labels() == ["r0", "gone", "r3", "r5#2"]
    assert many.rows == one.rows == 6 and many.count == one.count == 4
    for name in ("of_row", "labelled"):
        assert np.array_equal(getattr(many, name)[:6], getattr(one, name)[:6]), name
    for name in ("size", "first_row", "label_row"):
        assert np.array_equal(getattr(many, name)[:4], getattr(one, name)[:4]), name
    assert many.sender_keys == one.sender_keys == {(1, 7), (0, 7), (1, 9), (3, 7)}
    assert [many.find(label) for label in ["r0", "gone", "r3", "r5#2", "r1", "r5"]] == [0, 1, 2, 3, -1, -1]


def test_save_load_round_trip_keeps_ids_and_groups(config: DedupeConfig, tmp_path: Path, hashes: str) -> None:
    index = DedupeIndex(config)
    for k, appeal_id in enumerate(APPEAL_IDS):
        index.add(appeal(appeal_id, LEAK if k % 2 else f"Нет света в посёлке номер {k}", days=k))
    index.split("A")
    index.groups.open("restored label of a dropped appeal")
    loaded = load_index(save_index(index, tmp_path / "index.npz"))
    assert list(loaded.ids) == APPEAL_IDS and len(loaded) == len(index)
    assert loaded.groups.labels() == index.groups.labels()
    assert loaded.groups.named.count == index.groups.named.count == 1  # the label of no stored appeal
    for appeal_id in APPEAL_IDS:
        group = index.group_id_of(appeal_id)
        assert loaded.group_id_of(appeal_id) == group and loaded.members(group) == index.members(group)
    assert np.array_equal(loaded.groups.group_of_rows(len(index)), index.groups.group_of_rows(len(index)))
    count = index.groups.count
    assert np.array_equal(loaded.groups.size[:count], index.groups.size[:count])
    assert np.array_equal(loaded.groups.first_row[:count], index.groups.first_row[:count])
    again = appeal("new", LEAK + "!", days=9)
    assert loaded.add(again).group_id == index.add(again).group_id


def test_batch_refuses_stored_ids_and_keeps_repeats_in_a_batch(config: DedupeConfig, hashes: str) -> None:
    index = DedupeIndex(config)
    index.add(appeal("z", "Нет света"))
    road = "Улица Школьная разбита полностью"
    frame = pd.DataFrame({"id": ["d", "d", "e", "d#2"], "text": [LEAK, road, LEAK + "!", road + ", ямы"]})
    out = group_frame(frame, config, index=index)
    assert out["group_id"].tolist() == ["d", "d#2", "d", "d#2"]
    assert index.row_of["d"] == 2 and index.group_id_of("d") == "d#2" and index.members("d") == ["d", "e"]
    with pytest.raises(ValueError, match="'e' is already in the dedupe index"):
        group_frame(frame.iloc[2:3], config, index=index)


def test_growable_arrays_leave_new_room_zero_and_untouched() -> None:
    """Capacity grows by a factor, copying only the rows in use; the rest is calloc'd zeros that
    nothing reads, so it becomes resident only when rows are written."""
    array = np.arange(10, dtype=np.int32)
    grown = resized(array, 40, used=6)
    assert grown.tolist() == [0, 1, 2, 3, 4, 5] + [0] * 34
    assert capacity(1000, 1001) == int(1000 * GROWTH) and capacity(1000, 999) == 1000
    assert capacity(0, 1) == 1024 and capacity(1000, 5000) == 5000
    assert reserve(array, 10, used=10) is array and len(reserve(array, 11, used=10)) == 1024


def test_columns_keep_rows_across_growth(config: DedupeConfig) -> None:
    from appeals.dedupe_columns import Columns
    from appeals.dedupe_features import featurize

    feats = featurize([f"{LEAK} {k}" for k in range(1500)], config)
    one, many = Columns(config.num_perm), Columns(config.num_perm)
    for i in range(1500):
        one.append(feats, i, float(i), i % 3 - 1, i % 5)
    many.extend(feats, np.arange(1500, dtype=np.float64), np.arange(1500) % 3 - 1, np.arange(1500) % 5)
    assert len(one["exact"]) > 1500 and one.count == many.count == 1500
    a, b = one.state(), many.state()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert one.side(np.array([0, 1499])).topic.tolist() == [-1, 1]
