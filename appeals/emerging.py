"""Emerging problems: appeals the known topics explain poorly, grouped so a new kind shows up early.

Poorly explained = the topic model's confidence (`topic_proba`) below a threshold. Their distinct
texts are lemmatised and turned into TF-IDF vectors. "Unusual words" are the terms whose share of
distinct texts grew in the recent weeks beyond chance (a one-sided binomial test against the earlier weeks)
and by a minimum ratio; they are weighted up and every other term down, and only the recent texts
holding such a term, and whose nearest texts are mostly recent ones too, are clustered (k-means, small
clusters, each text weighted by how often it occurs), with the mean navec vector of each text's weighted terms appended so other words for the
same thing count. Clustering everything poorly explained mixed a new kind of problem into the much larger
mass of appeals the model merely hesitates about (evaluation/RESULTS.md). Clusters are ranked by
their recent weekly rate and its growth against the weeks before; each carries its top terms and
masked example appeals.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field
from scipy import sparse

from appeals.trends import EmergingConfig

EXAMPLE_CHARS = 300


class EmergingCluster(BaseModel):
    """One group of poorly explained recent appeals; `members`: their row positions in the frame."""

    rank: int
    size: int
    texts: int
    recent_per_week: float
    earlier_per_week: float
    growth: float | None
    top_terms: list[str]
    examples: list[str]
    nearest_topics: list[str]
    members: list[int] = Field(default_factory=list, exclude=True)


def poorly_explained(frame: pd.DataFrame, cfg: EmergingConfig) -> pd.Series:
    """Rows with a text whose topic confidence is below cfg.max_confidence and below
    cfg.relative_confidence x the median confidence of the appeals given the same topic."""
    if "topic_proba" not in frame.columns or "text" not in frame.columns:
        return pd.Series(False, index=frame.index)
    has_text = frame["text"].astype("string").str.strip().fillna("") != ""
    proba = pd.to_numeric(frame["topic_proba"], errors="coerce")
    typical = proba.groupby(frame["topic"], observed=True).transform("median")
    return has_text & (proba < cfg.max_confidence) & (proba < cfg.relative_confidence * typical)


def display_texts(texts: list[str]) -> list[str]:
    """The texts cleaned as every text is (HTML, the Excel apostrophe) and masked with NER, as anything
    shown is: what is clustered, and what examples are shown from."""
    from appeals.masking import mask_many
    from appeals.text import clean_text

    return mask_many(clean_text(t) for t in texts)


def _tfidf(masked: list[str]) -> tuple[sparse.csr_matrix, list[str]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from appeals.masking import PLACEHOLDERS
    from appeals.nlp import lemmatize_many

    # Terms come from masked text with the placeholders dropped: a resident who writes several times
    # must not put their name, phone or e-mail among a cluster's key words.
    for placeholder in PLACEHOLDERS.values():
        masked = [m.replace(placeholder, " ") for m in masked]
    lemmas = lemmatize_many(masked)
    tfidf = TfidfVectorizer(min_df=2 if len(masked) >= 50 else 1, max_df=0.4, sublinear_tf=True,
                            token_pattern=r"(?u)\b\w\w\w+\b")
    return tfidf.fit_transform(lemmas).tocsr(), list(tfidf.get_feature_names_out())


def burst_weights(matrix: sparse.csr_matrix, recent: np.ndarray, earlier: np.ndarray,
                  cfg: EmergingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per term (weight, bursty): a bursty term weighs 1 + w * log2 of its (smoothed) share of recent
    texts over its earlier share, every other term `background_weight`. `recent` and `earlier` weigh
    each text (rows of `matrix`) in the two periods.

    Bursty = more recent texts hold it than chance allows (binomial, p < burst_alpha, the recent
    share of all appeals as the null) and its share grew at least burst_min_ratio times. New
    vocabulary is what a new kind of problem brings; weighting it pulls such appeals together.
    """
    from scipy import stats

    present = (matrix > 0).astype(float).T
    in_recent, in_earlier = present @ recent, present @ earlier
    total_recent, total_earlier = max(recent.sum(), 1.0), max(earlier.sum(), 1.0)
    ratio = np.log2((in_recent / total_recent + cfg.burst_smoothing)
                    / (in_earlier / total_earlier + cfg.burst_smoothing))
    pvalue = stats.binom.sf(in_recent - 1, in_recent + in_earlier, total_recent / (total_recent + total_earlier))
    bursty = (pvalue < cfg.burst_alpha) & (ratio >= np.log2(cfg.burst_min_ratio))
    return np.where(bursty, 1.0 + cfg.burst_weight * np.clip(ratio, 0.0, 4.0), cfg.background_weight), bursty


def term_vectors(vocab: list[str]) -> np.ndarray:
    """(terms x 300) navec vectors of the lemma terms, zeros for a term navec does not know."""
    from appeals.nlp import navec_table

    table = navec_table(vocab)
    out = np.zeros((len(vocab), 300), dtype=np.float32)
    for i, term in enumerate(vocab):
        if term in table:
            out[i] = table[term]
    return out


def represent(tfidf: sparse.csr_matrix, vocab: list[str], weights: np.ndarray,
              cfg: EmergingConfig) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """(vectors clustered, their term part): the burst-weighted TF-IDF rows, L2-normalised, and with
    `semantic_weight` > 0 the normalised mean navec vector of each text's weighted terms appended at that
    weight. Terms alone keep two retellings of a new problem apart when they share few words."""
    from sklearn.preprocessing import normalize

    terms = normalize(tfidf @ sparse.diags(weights)).tocsr()
    if cfg.semantic_weight <= 0 or not len(vocab):
        return terms, terms
    semantic = normalize(np.asarray(terms @ term_vectors(vocab)))
    both = sparse.hstack([terms, sparse.csr_matrix(cfg.semantic_weight * semantic)]).tocsr()
    return normalize(both).tocsr(), terms


def select_units(matrix: sparse.csr_matrix, recent: np.ndarray, bursty: np.ndarray,
                 min_units: int) -> np.ndarray:
    """The recent texts holding a bursty term; all recent texts when too few do (nothing new stands
    out, so the groups of poorly explained appeals are shown instead)."""
    units = np.flatnonzero(recent > 0)
    holds = np.asarray((matrix[:, np.flatnonzero(bursty)] > 0).sum(axis=1)).ravel() > 0
    return units[holds[units]] if holds[units].sum() >= min_units else units


def novel_units(vectors: sparse.csr_matrix, units: np.ndarray, is_recent: np.ndarray, cfg: EmergingConfig,
                min_units: int, block: int = 512) -> np.ndarray:
    """The `units` whose cfg.novelty_neighbours nearest texts (cosine over `vectors`, every analysed text
    but itself) are at least cfg.novelty_min_share recent ones; all `units` when fewer than `min_units`
    are. A chance word that passed the burst test sits among texts that came before too; a new kind of
    problem's appeals sit among each other, all recent."""
    k = min(cfg.novelty_neighbours, vectors.shape[0] - 1)
    if k <= 0 or not len(units):
        return units
    share = np.empty(len(units))
    for start in range(0, len(units), block):  # blocks bound the dense similarity rows in memory
        part = units[start : start + block]
        sims = np.asarray((vectors[part] @ vectors.T).todense())
        sims[np.arange(len(part)), part] = -np.inf
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        share[start : start + block] = is_recent[nearest].mean(axis=1)
    keep = units[share >= cfg.novelty_min_share]
    return keep if len(keep) >= min_units else units


def _cluster(vectors: sparse.csr_matrix, units: np.ndarray, weights: np.ndarray, cfg: EmergingConfig) -> np.ndarray:
    """Labels for every text, -1 for none: k-means over the recent texts, kept when close to their
    centre (the cluster's core); earlier texts join the closest centre when close enough."""
    from sklearn.cluster import KMeans

    k = int(np.clip(len(units) // cfg.texts_per_cluster, cfg.min_clusters, cfg.max_clusters))
    model = KMeans(n_clusters=min(k, len(units)), n_init=3, random_state=cfg.seed)
    model.fit(vectors[units], sample_weight=weights[units])
    unit_labels, centers = model.labels_, model.cluster_centers_
    if cfg.split_above:
        unit_labels, centers = _split_large(vectors[units], weights[units], unit_labels, centers, cfg)
    norms = np.linalg.norm(centers, axis=1, keepdims=True)
    sims = np.asarray(vectors @ (centers / np.maximum(norms, 1e-12)).T)
    labels = np.where(sims.max(axis=1) >= cfg.assign_similarity, sims.argmax(axis=1), -1)
    own = sims[units, unit_labels]
    labels[units] = np.where(own >= cfg.core_similarity, unit_labels, -1)
    return labels


def _split_large(vectors: sparse.csr_matrix, weights: np.ndarray, labels: np.ndarray, centers: np.ndarray,
                 cfg: EmergingConfig) -> tuple[np.ndarray, np.ndarray]:
    """Split every cluster of more than cfg.split_above texts in two (k-means), again and again: a
    large cluster is where a new kind of problem hides among its neighbours' poorly explained appeals."""
    from sklearn.cluster import KMeans

    labels, centres = labels.copy(), [np.asarray(c) for c in centers]
    queue = [int(label) for label in np.unique(labels)]
    while queue:
        label = queue.pop()
        rows = np.flatnonzero(labels == label)
        if len(rows) <= cfg.split_above:
            continue
        halves = KMeans(n_clusters=2, n_init=3, random_state=cfg.seed).fit(vectors[rows], sample_weight=weights[rows])
        if np.bincount(halves.labels_, minlength=2).min() == 0:
            continue
        labels[rows[halves.labels_ == 1]] = len(centres)
        centres[label] = halves.cluster_centers_[0]
        centres.append(halves.cluster_centers_[1])
        queue += [label, len(centres) - 1]
    return labels, np.vstack(centres)


def merge_alike(vectors: sparse.csr_matrix, labels: np.ndarray, is_recent: np.ndarray,
                threshold: float) -> np.ndarray:
    """Labels where clusters whose centres (the mean of their recent texts) are at least `threshold`
    alike (cosine), directly or through a chain of such clusters, become one. Small clusters keep a
    new kind of problem apart from its neighbours; one problem cut into several near-identical pieces
    would otherwise be shown, and counted, several times."""
    from scipy.sparse.csgraph import connected_components
    from sklearn.preprocessing import normalize

    rows = np.flatnonzero((labels >= 0) & is_recent)
    ids, position = np.unique(labels[rows], return_inverse=True)
    if threshold >= 1.0 or len(ids) < 2:
        return labels
    members = sparse.csr_matrix((np.ones(len(rows)), (position, rows)), shape=(len(ids), vectors.shape[0]))
    centres = normalize(np.asarray((members @ vectors).todense()))  # sums: the mean's direction
    _, component = connected_components(sparse.csr_matrix(centres @ centres.T >= threshold), directed=False)
    lookup = np.full(int(labels.max()) + 1, -1)
    lookup[ids] = component
    return np.where(labels >= 0, lookup[np.maximum(labels, 0)], -1)


def _examples(masked: list[str], vectors: sparse.csr_matrix, idx: np.ndarray, n: int) -> list[str]:
    """The `n` texts closest to the cluster's centre, from `display_texts`, on one line and shortened."""
    centroid = np.asarray(vectors[idx].mean(axis=0)).ravel()
    order = idx[np.argsort(-(vectors[idx] @ centroid))][:n]
    out = []
    for i in order:
        text = " ".join(masked[i].split())
        out.append(text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…")
    return out


def _describe(label: int, labels: np.ndarray, ctx: dict,
              cfg: EmergingConfig) -> tuple[EmergingCluster, np.ndarray]:
    """Size and members count the recent appeals; earlier ones close to the cluster give its earlier rate."""
    rows = np.flatnonzero(labels[ctx["text_of_row"]] == label)
    weeks = ctx["weeks_back"][rows]
    members = rows[weeks < cfg.recent_weeks]
    idx = np.flatnonzero((labels == label) & ctx["is_recent"])
    recent = len(members) / cfg.recent_weeks
    earlier = float((weeks >= cfg.recent_weeks).sum()) / max(ctx["span_weeks"] - cfg.recent_weeks, 1)
    terms = np.asarray(ctx["tfidf"][idx].mean(axis=0)).ravel()
    top = [ctx["vocab"][i] for i in np.argsort(-terms)[: cfg.top_terms] if terms[i] > 0]
    topics = ctx["topics"].iloc[members].value_counts().head(3).index.astype(str).tolist()
    return EmergingCluster(
        rank=0, examples=[], size=len(members), texts=len(idx), recent_per_week=round(recent, 2),
        earlier_per_week=round(earlier, 2), growth=round(recent / earlier - 1, 3) if earlier > 0 else None,
        top_terms=top, nearest_topics=topics, members=ctx["positions"][members].tolist()), idx


def _rank_key(cluster: EmergingCluster) -> float:
    ratio = (cluster.recent_per_week + 1.0) / (cluster.earlier_per_week + 1.0)
    return cluster.recent_per_week * float(np.log2(ratio))


def _window(frame: pd.DataFrame, cfg: EmergingConfig, end: date | None,
            weeks: int | None) -> tuple[pd.DataFrame, np.ndarray, pd.Timestamp, int]:
    """Poorly explained rows of the analysed weeks (sampled down to max_texts distinct texts)."""
    last = (pd.Timestamp(end) + pd.Timedelta(days=1) if end
            else frame["created_at"].max().normalize() + pd.Timedelta(days=1))
    span = weeks or cfg.recent_weeks * 4
    mask = poorly_explained(frame, cfg)
    mask &= (frame["created_at"] >= last - pd.Timedelta(weeks=span)) & (frame["created_at"] < last)
    rows, positions = frame[mask], np.flatnonzero(mask.to_numpy())
    texts = rows["text"].astype(str)
    uniques = texts.unique()
    if len(uniques) > cfg.max_texts:
        keep = np.random.default_rng(cfg.seed).choice(uniques, cfg.max_texts, replace=False)
        chosen = texts.isin(keep).to_numpy()
        rows, positions = rows[chosen], positions[chosen]
    return rows, positions, last, span


def find_emerging(frame: pd.DataFrame, cfg: EmergingConfig, end: date | None = None,
                  weeks: int | None = None) -> list[EmergingCluster]:
    """Clusters of the poorly explained appeals of the recent weeks up to `end`, best ranked first.

    The `weeks` weeks up to `end` (default 4 x recent_weeks) are analysed; the texts of the recent
    weeks are clustered, earlier texts close to a cluster count towards its earlier rate.
    """
    rows, positions, last, span = _window(frame, cfg, end, weeks)
    codes, uniques = pd.factorize(rows["text"].astype(str))
    weeks_back = ((last - rows["created_at"]).dt.days // 7).to_numpy()
    recent = np.bincount(codes[weeks_back < cfg.recent_weeks], minlength=len(uniques)).astype(float)
    earlier = np.bincount(codes[weeks_back >= cfg.recent_weeks], minlength=len(uniques)).astype(float)
    is_recent = recent > 0
    min_units = max(cfg.min_cluster_size, 3)
    if is_recent.sum() < min_units:
        return []
    masked = display_texts(list(uniques))
    tfidf, vocab = _tfidf(masked)
    # Terms burst by the distinct texts holding them, not by how often each text came: one text
    # sent again and again (a resident writing every day, a copied template) is not new vocabulary.
    weights, bursty = burst_weights(tfidf, is_recent.astype(float), (earlier > 0).astype(float), cfg)
    weighted, terms = represent(tfidf, vocab, weights, cfg)
    units = novel_units(weighted, select_units(tfidf, recent, bursty, min_units), is_recent, cfg, min_units)
    labels = _cluster(weighted, units, recent, cfg)
    labels[np.setdiff1d(np.flatnonzero(is_recent), units)] = -1
    labels = merge_alike(terms, labels, is_recent, cfg.merge_similarity)
    ctx = {"text_of_row": codes, "is_recent": is_recent, "weeks_back": weeks_back, "span_weeks": span, "tfidf": terms,
           "vocab": vocab,
           "topics": rows["topic"].astype(str).reset_index(drop=True), "positions": positions}
    clusters = [_describe(label, labels, ctx, cfg) for label in np.unique(labels[labels >= 0])]
    clusters = [(c, idx) for c, idx in clusters
                if c.size >= cfg.min_cluster_size and c.texts >= cfg.min_cluster_texts]
    clusters.sort(key=lambda pair: _rank_key(pair[0]), reverse=True)
    return [c.model_copy(update={"rank": i + 1, "examples": _examples(masked, weighted, idx, cfg.examples)})
            for i, (c, idx) in enumerate(clusters[: cfg.show])]
