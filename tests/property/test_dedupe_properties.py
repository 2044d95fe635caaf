"""Properties of duplicate grouping (appeals.dedupe.group_frame) on hostile texts."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from appeals.dedupe import OUTPUT_COLUMNS, group_frame, load_dedupe_config
from appeals.text import normalize_for_dedup
from tests.property.strategies import texts

pytestmark = pytest.mark.filterwarnings("ignore:Could not infer format:UserWarning")


@pytest.fixture(scope="module")
def config():  # type: ignore[no-untyped-def]
    return load_dedupe_config()


@given(st.lists(texts, min_size=1, max_size=12), st.lists(st.sampled_from([None, "2025-03-01", "bad", "01.02.2025"]),
                                                          min_size=12, max_size=12))
def test_group_frame_never_raises(config, batch: list[str], dates: list[str | None]) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"id": [f"a{i}" for i in range(len(batch))], "text": batch,
                          "created_at": dates[: len(batch)]})
    out = group_frame(frame, config)
    assert len(out) == len(frame) and all(c in out.columns for c in OUTPUT_COLUMNS)
    assert out["group_size"].min() >= 1
    sizes = out.groupby("group_id").size()
    assert (out["group_size"] == out["group_id"].map(sizes)).all()


@given(st.lists(texts.filter(lambda t: normalize_for_dedup(t) != ""), min_size=1, max_size=6))
def test_exact_repeats_share_a_group(config, batch: list[str]) -> None:  # type: ignore[no-untyped-def]
    doubled = batch + batch
    frame = pd.DataFrame({"id": [f"a{i}" for i in range(len(doubled))], "text": doubled})
    out = group_frame(frame, config)
    n = len(batch)
    assert (out["group_id"].iloc[:n].to_numpy() == out["group_id"].iloc[n:].to_numpy()).all()
