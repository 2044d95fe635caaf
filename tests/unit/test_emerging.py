"""Unusual words for emerging problems: which terms count as new, and which texts get clustered."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from appeals.emerging import burst_weights, select_units
from appeals.trends import load_trends_config


@pytest.fixture(scope="module")
def cfg():
    return load_trends_config().emerging


# Texts 0..39 are recent only, 40..199 earlier only (the recent share of appeals is 20 %).
RECENT = np.r_[np.ones(40), np.zeros(160)]
EARLIER = 1.0 - RECENT


def _term(recent_holders: int, earlier_holders: int) -> np.ndarray:
    column = np.zeros(200)
    column[:recent_holders] = 1
    column[40:40 + earlier_holders] = 1
    return column


@pytest.mark.parametrize(("name", "recent_holders", "earlier_holders", "bursty"), [
    ("new word, many recent appeals", 20, 0, True),
    ("grew fivefold", 20, 16, True),
    ("steady share", 8, 32, False),
    ("new but only twice (chance)", 2, 0, False),
    ("shrinking", 2, 60, False),
])
def test_bursty_terms(cfg, name, recent_holders, earlier_holders, bursty):
    matrix = sparse.csr_matrix(np.c_[_term(recent_holders, earlier_holders), _term(8, 32)])
    weights, flags = burst_weights(matrix, RECENT, EARLIER, cfg)
    assert bool(flags[0]) is bursty, name
    assert (weights[0] > 1.0) if bursty else weights[0] == pytest.approx(cfg.background_weight)
    assert not flags[1]  # the steady reference term


def test_only_recent_texts_with_a_new_word_are_clustered(cfg):
    matrix = sparse.csr_matrix(np.c_[_term(20, 0), _term(8, 32)])
    _, flags = burst_weights(matrix, RECENT, EARLIER, cfg)
    units = select_units(matrix, RECENT, flags, min_units=8)
    assert units.tolist() == list(range(20))


def test_all_recent_texts_when_nothing_new_stands_out(cfg):
    matrix = sparse.csr_matrix(_term(8, 32)[:, None])
    _, flags = burst_weights(matrix, RECENT, EARLIER, cfg)
    assert not flags.any()
    assert select_units(matrix, RECENT, flags, min_units=8).tolist() == list(range(40))


def test_large_mixed_cluster_is_split_until_small(cfg):
    """Twelve texts of one vocabulary and twelve of another, given as one cluster, come apart; no
    cluster keeps more than split_above texts, and each half holds one vocabulary."""
    from appeals.emerging import _split_large

    rng = np.random.default_rng(0)
    a = np.c_[np.ones((12, 1)), rng.uniform(0, 0.2, (12, 3)), np.zeros((12, 4))]
    b = np.c_[np.zeros((12, 4)), np.ones((12, 1)), rng.uniform(0, 0.2, (12, 3))]
    vectors = sparse.csr_matrix(np.r_[a, b])
    labels, centers = _split_large(vectors, np.ones(24), np.zeros(24, dtype=int), vectors.mean(axis=0).A, cfg)
    assert np.bincount(labels).max() <= cfg.split_above
    assert len(centers) == labels.max() + 1
    assert not set(labels[:12]) & set(labels[12:])


def test_small_cluster_is_left_whole(cfg):
    from appeals.emerging import _split_large

    vectors = sparse.csr_matrix(np.eye(6)[[0, 0, 1, 1, 2, 2]])
    labels, centers = _split_large(vectors, np.ones(6), np.zeros(6, dtype=int), vectors.mean(axis=0).A, cfg)
    assert labels.tolist() == [0] * 6 and len(centers) == 1


def test_navec_brings_retellings_in_other_words_closer(cfg):
    """«собака»/«пёс» share no term; their navec part makes the two texts alike, a third stays apart."""
    from appeals.emerging import represent

    vocab = ["собака", "пёс", "двор", "асфальт"]
    tfidf = sparse.csr_matrix(np.array([[1.0, 0, 1.0, 0], [0, 1.0, 1.0, 0], [0, 0, 0, 1.0]]))
    weights = np.ones(4)
    plain, _ = represent(tfidf, vocab, weights, cfg.model_copy(update={"semantic_weight": 0.0}))
    both, terms = represent(tfidf, vocab, weights, cfg.model_copy(update={"semantic_weight": 0.3}))

    def cos(m, i, j):
        return float((m[i] @ m[j].T).toarray()[0, 0])

    assert (terms != plain).nnz == 0  # the term part is what top terms are read from
    assert both.shape == (3, 4 + 300)
    assert cos(both, 0, 1) > cos(plain, 0, 1) + 0.01
    assert cos(both, 0, 1) > cos(both, 0, 2)
    assert np.allclose(np.sqrt(both.multiply(both).sum(axis=1)), 1.0)


def test_unknown_terms_get_no_semantic_part(cfg):
    from appeals.emerging import term_vectors

    vectors = term_vectors(["собака", "qzxqzxqzx"])
    assert np.abs(vectors[0]).sum() > 0 and np.abs(vectors[1]).sum() == 0


def _stream_frame(rows: list[tuple[int, str]]):
    """(days before 2025-06-30, text) -> a scored frame, every appeal of one topic at one confidence."""
    import pandas as pd

    from appeals.trends import prepare_frame

    end = pd.Timestamp("2025-06-30 12:00")
    frame = pd.DataFrame({"created_at": [end - pd.Timedelta(days=d) for d, _ in rows],
                          "text": [t for _, t in rows], "topic": "Прочее", "topic_proba": 0.1})
    return prepare_frame(frame)[0]


def test_a_text_sent_again_and_again_is_not_a_new_problem(cfg):
    """Terms burst by distinct texts: one complaint in three wordings sent 60 times in the recent weeks
    brings no new vocabulary, forty residents describing a new kind of problem do."""
    from appeals.emerging import find_emerging

    every_low = cfg.model_copy(update={"relative_confidence": 2.0})  # one confidence: all poorly explained
    problems = ["яма на дороге", "не горит фонарь", "не вывозят мусор", "сломана скамейка",
                "течёт крыша", "нет горячей воды", "грязный подъезд", "разбит асфальт"]
    streets = ["Ленина", "Мира", "Гагарина", "Победы", "Советская", "Пушкина"]
    earlier = [(30 + i % 80, f"{problems[i % 8]} на улице {streets[i % 6]}, дом {100 + i}") for i in range(240)]
    recent = [(i % 27, f"{problems[i % 8]} на улице {streets[(i + 1) % 6]}, дом {400 + i}") for i in range(60)]
    fountain = ["Фонтан в сквере бьёт струёй на прохожих, фонтан неисправен",
                "Неисправный фонтан в сквере обливает прохожих", "Почините фонтан в сквере, он обливает прохожих"]
    repeated = [(i % 27, fountain[i % 3]) for i in range(60)]  # three wordings, each sent 20 times
    scooters = [(i % 27, f"Прокатные самокаты брошены поперёк тротуара у дома {700 + i % 40} на улице "
                         f"{streets[i % 6]}, самокаты мешают пройти с коляской") for i in range(80)]
    frame = _stream_frame(earlier + recent + repeated + scooters)
    clusters = find_emerging(frame, every_low)
    texts = frame["text"].to_numpy()
    assert not [c for c in clusters if any("онтан" in texts[m] for m in c.members)]
    new = [c for c in clusters if np.mean(["самокат" in texts[m] for m in c.members]) >= 0.7]
    assert sum(c.size for c in new) >= 40


def test_one_text_sent_again_and_again_is_no_cluster_of_its_own(cfg):
    """A cluster needs min_cluster_texts distinct texts: one appeal repeated 30 times that shares the new
    word gets a k-means centre of its own (checked with the floor at 1), but is a mass appeal, not a
    new kind of problem."""
    from appeals.emerging import find_emerging

    every_low = cfg.model_copy(update={"relative_confidence": 2.0})
    streets = ["Ленина", "Мира", "Гагарина", "Победы", "Советская", "Пушкина"]
    problems = ["яма на дороге", "не горит фонарь", "не вывозят мусор", "сломана скамейка"]
    earlier = [(30 + i % 80, f"{problems[i % 4]} на улице {streets[i % 6]}, дом {100 + i}") for i in range(240)]
    recent = [(i % 27, f"{problems[i % 4]} на улице {streets[(i + 1) % 6]}, дом {400 + i}") for i in range(60)]
    scooters = [(i % 27, f"Прокатные самокаты брошены поперёк тротуара у дома {700 + i % 40} на улице "
                         f"{streets[i % 6]}, самокаты мешают пройти с коляской") for i in range(80)]
    lone = "Самокат въехал в витрину кондитерской, осколки стекла, хозяйка требует компенсацию ущерба"
    frame = _stream_frame(earlier + recent + scooters + [(i % 27, lone) for i in range(30)])
    texts = frame["text"].to_numpy()

    def lone_clusters(clusters):
        return [c for c in clusters if all(texts[m] == lone for m in c.members)]

    floor_one = find_emerging(frame, every_low.model_copy(update={"min_cluster_texts": 1}))
    assert lone_clusters(floor_one) and lone_clusters(floor_one)[0].texts == 1
    clusters = find_emerging(frame, every_low)
    assert clusters and not lone_clusters(clusters)
    assert all(c.texts >= cfg.min_cluster_texts for c in clusters)


@pytest.mark.parametrize(("threshold", "expected"), [
    (1.0, [0, 0, 1, 1, 2, 2, -1, 1]),   # never merged
    (0.9, [0, 0, 0, 0, 1, 1, -1, 0]),   # the two alike pieces become one; the other problem stays apart
    (0.1, [0, 0, 0, 0, 0, 0, -1, 0]),   # everything chained together
])
def test_alike_clusters_are_merged(threshold, expected):
    """Clusters 0 and 1 are pieces of one problem (centres ~0.98 alike), cluster 2 another (~0.3);
    row 6 belongs to none, row 7 is an earlier text that joined cluster 1 and follows it."""
    from appeals.emerging import merge_alike

    vectors = sparse.csr_matrix(np.array([
        [1.0, 0.1, 0, 0], [1.0, 0.0, 0.1, 0], [1.0, 0.2, 0, 0], [0.9, 0.1, 0.1, 0],
        [0.3, 0, 0, 1.0], [0.2, 0, 0.1, 1.0], [0, 1.0, 0, 0], [1.0, 0, 0, 0]]))
    labels = np.array([0, 0, 1, 1, 2, 2, -1, 1])
    is_recent = np.array([True] * 7 + [False])
    assert merge_alike(vectors, labels, is_recent, threshold).tolist() == expected


def test_examples_are_cleaned_masked_and_shortened():
    """Examples go through the same cleaning as every text (the Excel apostrophe and HTML of exported
    appeals), then masking; the closest text to the centre comes first."""
    from appeals.emerging import EXAMPLE_CHARS, _examples, display_texts

    texts = ["'Яма на дороге<br>у дома, звоните 8 912 345-67-89",
             "Яма на дороге &amp; лужа " + "очень " * 80, "Совсем другое"]
    vectors = sparse.csr_matrix(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]]))
    first, second = _examples(display_texts(texts), vectors, np.array([0, 1]), 2)
    assert first.startswith("Яма на дороге у дома") and "<br>" not in first and "'" not in first
    assert "345-67-89" not in first and "[ТЕЛЕФОН]" in first
    assert "&amp;" not in second and "&" in second
    assert len(second) == EXAMPLE_CHARS and second.endswith("…")


def test_only_recent_texts_among_recent_neighbours_are_kept(cfg):
    """Ten recent texts of a new vocabulary sit among each other; ten recent texts of an old vocabulary sit
    among its thirty earlier texts: only the first ten stay to be clustered."""
    from appeals.emerging import novel_units

    rng = np.random.default_rng(1)
    new = np.c_[np.ones((10, 1)), rng.uniform(0, 0.3, (10, 3)), np.zeros((10, 4))]
    old = np.c_[np.zeros((40, 4)), np.ones((40, 1)), rng.uniform(0, 0.3, (40, 3))]
    vectors = sparse.csr_matrix(np.r_[new, old])
    is_recent = np.r_[np.ones(20, dtype=bool), np.zeros(30, dtype=bool)]  # new 0-9, old 10-19 recent
    units = np.arange(20)
    assert cfg.novelty_neighbours > 0
    assert novel_units(vectors, units, is_recent, cfg, min_units=8, block=7).tolist() == list(range(10))
    # too few would stay: every unit is kept rather than nothing shown
    assert novel_units(vectors, units, is_recent, cfg, min_units=11).tolist() == list(range(20))
    off = cfg.model_copy(update={"novelty_neighbours": 0})
    assert novel_units(vectors, units, is_recent, off, min_units=8).tolist() == list(range(20))
