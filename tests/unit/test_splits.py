"""Duplicate grouping, the conflict rule and the leak-free split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from appeals.splits import Split, add_group_keys, collapse_duplicates, content_hash, make_split


def _frame(n_topics: int = 6, per_topic: int = 30, dup_every: int = 5) -> pd.DataFrame:
    rows = []
    for t in range(n_topics):
        for i in range(per_topic):
            text = f"Обращение номер {i} по теме {t}"
            rows.append({"id": f"r{t}-{i}", "text": text, "topic": f"T{t}"})
            if i % dup_every == 0:  # near-exact duplicates: case, punctuation, apostrophe, HTML
                rows.append({"id": f"r{t}-{i}-dup", "text": f"'<p>{text.upper()}!!</p>", "topic": f"T{t}"})
    return pd.DataFrame(rows)


def test_group_keys_match_for_near_exact_duplicates() -> None:
    keyed = add_group_keys(pd.DataFrame({"id": ["a", "b", "c"],
                                         "text": ["Яма на дороге", "'ЯМА  на дороге!", "Яма на тротуаре"]}))
    assert keyed.loc[0, "group_key"] == keyed.loc[1, "group_key"] != keyed.loc[2, "group_key"]


@pytest.mark.parametrize(
    ("labels", "expected", "conflict"),
    [
        (["A", "A", "B"], "A", True),   # majority wins
        (["A", "B"], "B", True),        # tie: the value more frequent in the whole dataset (B)
        (["A", "A"], "A", False),
        ([None, "A"], "A", False),       # blanks do not vote
    ],
)
def test_conflict_rule(labels: list, expected: str, conflict: bool) -> None:
    group = [{"id": f"g{i}", "text": "Одинаковый текст", "topic": lab} for i, lab in enumerate(labels)]
    others = [{"id": f"o{i}", "text": f"Другой текст {i}", "topic": "B"} for i in range(3)]
    collapsed, report = collapse_duplicates(pd.DataFrame(group + others))
    row = collapsed[collapsed["id"] == "g0"].iloc[0]
    assert row["topic"] == expected
    assert row["members"] == [f"g{i}" for i in range(len(labels))]
    assert report.conflicts["topic"] == int(conflict)
    assert report.duplicate_groups == 1 and report.duplicate_rows == len(labels)


def test_no_duplicate_group_straddles_parts() -> None:
    frame = _frame()
    split, collapsed = make_split(frame, "toy", target="topic", seed=7)
    part_of = {i: part for part, ids in split.parts.items() for i in ids}
    part_of_row: dict[str, str] = {}
    for rep in collapsed.itertuples():
        for member in rep.members:
            assert member not in part_of_row
            part_of_row[member] = part_of[rep.id]
    assert set(part_of_row) == set(frame["id"])  # every row placed once, through its group
    keyed = add_group_keys(frame).assign(part=lambda f: f["id"].map(part_of_row))
    assert keyed.groupby("group_key")["part"].nunique().max() == 1
    all_ids = [i for ids in split.parts.values() for i in ids]
    assert len(all_ids) == len(set(all_ids)) == len(collapsed)
    assert set(all_ids) == set(collapsed["id"])
    # duplicates' ids are listed as members of their representative, never in a part of their own
    assert "r0-0-dup" not in all_ids and "r0-0-dup" in split.members["r0-0"]


def test_split_is_stratified_and_seeded() -> None:
    frame = _frame(per_topic=40)
    a, collapsed = make_split(frame, "toy", target="topic", seed=1)
    b, _ = make_split(frame, "toy", target="topic", seed=1)
    c, _ = make_split(frame, "toy", target="topic", seed=2)
    assert a.parts == b.parts and a.parts != c.parts
    test = collapsed[collapsed["id"].isin(a.parts["test"])]
    assert test["topic"].nunique() == 6  # every class present in the test part
    assert abs(len(a.parts["test"]) / len(collapsed) - 0.15) < 0.02


def test_rare_classes_do_not_break_stratification() -> None:
    frame = _frame(per_topic=30)
    rare = pd.DataFrame([{"id": "rare1", "text": "редкая тема один", "topic": "R"},
                         {"id": "rare2", "text": "редкая тема два", "topic": "Q"}])
    split, _ = make_split(pd.concat([frame, rare]), "toy", target="topic")
    assert sum(len(v) for v in split.parts.values()) == len(frame) - frame["id"].str.endswith("dup").sum() + 2


def test_manifest_roundtrip_and_reuse(tmp_path: Path) -> None:
    frame = _frame()
    manifest = tmp_path / "split.json"
    first, _ = make_split(frame, "toy", target="topic", seed=3, manifest=manifest)
    again, _ = make_split(frame, "toy", target="topic", seed=99, manifest=manifest)  # seed ignored: reused
    assert again.parts == first.parts
    assert Split.load(manifest).content_hash == content_hash(frame)


def test_manifest_for_other_data_is_refused(tmp_path: Path) -> None:
    frame = _frame()
    manifest = tmp_path / "split.json"
    make_split(frame, "toy", target="topic", manifest=manifest)
    changed = frame.assign(topic=frame["topic"].where(frame.index != 0, "T9"))
    with pytest.raises(ValueError, match="made for other data"):
        make_split(changed, "toy", target="topic", manifest=manifest)
