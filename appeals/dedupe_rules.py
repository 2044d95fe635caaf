"""The verdict on candidate pairs, vectorised over all candidates of one appeal (or over all pairs).

Rules, in order (see training/configs/dedupe.toml for the numbers):
1. hard stops: both dates known and further apart than the window; both topic groups known and
   different; places that contradict (another settlement, another street, same street another house,
   another number of the same kind of object: school №7 and school №9, route 41 and route 12; only a
   street on one side and only a settlement on the other);
2. similarity = max(MinHash estimate of the character-shingle Jaccard of the texts without their
   address, content-term score): the smoothed term overlap at the same place, Jaccard elsewhere;
3. the same house (or the same village when neither names a street, or the same numbered object)
   asks for less similarity (place_* thresholds) than appeals whose place is unknown or partly known;
4. between the "possible" and the "sure" threshold a match is uncertain: "possible duplicate" (no match
   at all where neither appeal names a place, with `placeless_possible` off);
   a match that only rule 3 lets through (text below sure_threshold) is undone when the topic model is
   sure of both appeals' best topics and their topics disagree (`place_topic_conflict`): another
   problem at the same house or school shares the address words and the appeal's formulas;
5. at the same place (as in 3, or where one appeal names a settlement that the other, naming no street,
   writes without a type word: «пос. Кедровый» and «Кедровый — нет света»), appeals whose topic
   distributions by the topic model are alike (`topic_similarity` >= place_topic_threshold) are at
   least a possible duplicate whatever their words: another resident's words about the same problem
   share few terms but get the same topics. The bare name alone is too weak a place for rule 3: most
   real appeals name no street, and capitalised words are often not places.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appeals.dedupe_config import DedupeConfig
from appeals.dedupe_places import town_codes

NONE, POSSIBLE, SURE = 0, 1, 2


@dataclass
class Side:
    """Columns describing appeals: the new one (length 1) or its candidates (length m)."""

    signature: np.ndarray  # uint16[m, num_perm] (low bits of the MinHash)
    has_shingles: np.ndarray  # bool[m]
    comparable: np.ndarray  # bool[m]: at least `min_content_terms` content terms
    settlement: np.ndarray  # uint32[m]
    settlement_prefix: np.ndarray  # uint32[m]: its name cut short, to meet bare `names`
    street: np.ndarray
    house: np.ndarray
    building: np.ndarray
    object_kind: np.ndarray
    object: np.ndarray
    day: np.ndarray  # float64[m], NaN = unknown
    topic: np.ndarray  # int32[m], -1 = unknown
    topic_ids: np.ndarray  # int32[m, TOPIC_K]: the topic model's best topics, -1 = none
    topic_p: np.ndarray  # float32[m, TOPIC_K]: their probabilities
    names: np.ndarray  # uint32[m, NAME_K]: settlement-style codes of capitalised words, 0 = none
    sender: np.ndarray  # uint32[m], 0 = unknown


def unique_sorted(values: np.ndarray) -> np.ndarray:
    """`np.unique` by sorting: numpy 2.4's hash-based unique is about 150x slower on millions of ints."""
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def gather_terms(flat: np.ndarray, offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated term codes of `rows` and, for each code, which of `rows` it belongs to."""
    starts, ends = offsets[rows], offsets[rows + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(rows)), lengths)
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    return flat[np.arange(total) + shift], owner


def term_scores(
    query: np.ndarray, flat: np.ndarray, owner: np.ndarray, count: int, smoothing: float, min_shared: int
) -> tuple[np.ndarray, np.ndarray]:
    """(overlap, jaccard) of the query's content terms with each candidate's.

    overlap = shared / (smaller set + `smoothing`), 0 below `min_shared` shared terms: a shortened
    retelling («Нет горячей воды, Лесная 8») still meets the long original, while the smoothing keeps
    two or three words from counting as a whole text. `query` must be sorted (term codes are).
    """
    lengths = np.bincount(owner, minlength=count).astype(np.float64)
    if len(query) and len(flat):
        at = np.minimum(np.searchsorted(query, flat), len(query) - 1)
        shared: np.ndarray = np.bincount(owner, weights=query[at] == flat, minlength=count)
    else:
        shared = np.zeros(count)
    overlap = np.where(shared >= min_shared, shared / (np.minimum(lengths, len(query)) + smoothing), 0.0)
    union = lengths + len(query) - shared
    return overlap, np.divide(shared, union, out=np.zeros(count), where=union > 0)


def topic_similarity(q: Side, c: Side) -> np.ndarray:
    """Cosine of the two appeals' topic distributions, each cut to its best TOPIC_K topics (0 when
    either is unknown). Two tellings of one problem get the same topics whatever their words."""
    same = (q.topic_ids[:, :, None] == c.topic_ids[:, None, :]) & (q.topic_ids[:, :, None] >= 0)
    dot = (same * q.topic_p[:, :, None] * c.topic_p[:, None, :]).sum(axis=(1, 2))
    norm = np.sqrt((q.topic_p.astype(np.float64) ** 2).sum(axis=1) * (c.topic_p.astype(np.float64) ** 2).sum(axis=1))
    return np.divide(dot, norm, out=np.zeros(len(dot)), where=norm > 0)


def _rows(side: Side, at: np.ndarray) -> Side:
    """The topic columns of `side`'s rows `at` (all `topic_similarity` reads)."""
    return Side(**{**side.__dict__, "topic_ids": side.topic_ids[at], "topic_p": side.topic_p[at]})


def place_relation(q: Side, c: Side) -> tuple[np.ndarray, np.ndarray]:
    """(conflict, strong) boolean arrays: contradicting places; the same house or bare settlement."""
    both_settlement = (q.settlement > 0) & (c.settlement > 0)
    both_street = (q.street > 0) & (c.street > 0)
    both_house = (q.house > 0) & (c.house > 0)
    conflict = (
        (both_settlement & (q.settlement != c.settlement))
        | (both_street & (q.street != c.street))
        | (both_house & (q.house != c.house))
        | ((q.building > 0) & (c.building > 0) & (q.building != c.building))
        | ((q.object_kind > 0) & (q.object_kind == c.object_kind) & (q.object != c.object))
    )
    # One names only a street (its town unsaid), the other only a settlement: the same template about
    # «ул. Береговой» and «в селе Дубки» is two places. A street of that settlement would be written
    # with it («с. Дубки, ул. Береговая») and meet.
    # The same numbered object («школа №3» on «ул. Мира» and «в Лысьве») is no contradiction.
    same_object = (q.object > 0) & (q.object == c.object)
    conflict |= (q.street > 0) & (q.settlement == 0) & (c.settlement > 0) & (c.street == 0) & ~same_object
    conflict |= (c.street > 0) & (c.settlement == 0) & (q.settlement > 0) & (q.street == 0) & ~same_object
    no_street = (q.street == 0) & (c.street == 0)
    # A town is too coarse a place to join two appeals that name no street in it («Березники г, …» of a
    # form and another problem there); a village («пос. Кедровый», «д. Кондратово») is not.
    town = np.isin(q.settlement, town_codes())
    strong = (
        (both_house & (q.house == c.house))
        | (both_settlement & no_street & (q.settlement == c.settlement) & ~town)
        | ((q.object > 0) & (q.object == c.object))
    )
    return conflict, strong & ~conflict


def allowed_pairs(q: Side, c: Side, config: DedupeConfig) -> np.ndarray:
    """False where dates are known and too far apart, or topic groups are known and differ."""
    gap = np.abs(c.day - q.day)
    too_far = np.where(np.isnan(gap), False, gap > config.window_days)
    other_topic = (q.topic >= 0) & (c.topic >= 0) & (q.topic != c.topic)
    return ~(too_far | other_topic)


@dataclass
class Evidence:
    """What the verdict on candidate pairs is made of (arrays over the candidates)."""

    text_sim: np.ndarray  # MinHash estimate of the shingle Jaccard (0 where a text has no shingles)
    overlap: np.ndarray
    jaccard: np.ndarray
    conflict: np.ndarray  # places that contradict
    strong: np.ndarray  # the same house, numbered object, or settlement without streets
    allowed: np.ndarray  # not stopped by the time window or by different known topic groups


def evidence(q: Side, c: Side, terms: tuple[np.ndarray, np.ndarray], config: DedupeConfig) -> Evidence:
    count = len(c.street)
    text_sim = (c.signature == q.signature).mean(axis=1) if count else np.zeros(0)
    text_sim = np.where(c.has_shingles & q.has_shingles, text_sim, 0.0)
    conflict, strong = place_relation(q, c)
    return Evidence(text_sim, terms[0], terms[1], conflict, strong, allowed_pairs(q, c, config) & ~conflict)


def judge(
    q: Side,
    c: Side,
    terms: tuple[np.ndarray, np.ndarray],
    config: DedupeConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """(verdict NONE/POSSIBLE/SURE, similarity) for every candidate.

    `q` is one appeal (arrays of length 1, broadcast) or one appeal per candidate (aligned with `c`);
    `terms` is (overlap, jaccard) from `term_scores` or `pair_term_scores`.
    """
    ev = evidence(q, c, terms, config)
    strong, conflict = ev.strong, ev.conflict
    # Without the same place, a shared handful of words is weak evidence: use Jaccard there.
    weak_terms = ev.jaccard if config.weak_terms == "jaccard" else ev.overlap
    sim = np.maximum(ev.text_sim, np.where(strong, ev.overlap, weak_terms))
    # A text too short to tell problems apart is alike only to its exact repeats, or on the same street
    # or at the same place.
    same_street = (q.street > 0) & (q.street == c.street)
    sim = np.where(strong | same_street | (q.comparable & c.comparable), sim, 0.0)
    sure = np.where(strong, config.place_sure_threshold, config.sure_threshold)
    possible = np.where(strong, config.place_possible_threshold, config.possible_threshold)
    verdict = np.where(sim >= sure, SURE, np.where(sim >= possible, POSSIBLE, NONE))
    if not config.placeless_possible:
        # Neither appeal names a place: an uncertain likeness from two senders is two residents asking
        # alike («как узнать, одобрили ли пособие?»), not one problem.
        placeless = ((q.settlement == 0) & (q.street == 0) & (q.object == 0)) & (
            (c.settlement == 0) & (c.street == 0) & (c.object == 0))
        placeless &= ~((q.sender > 0) & (q.sender == c.sender))  # one resident writing again («пишу повторно»)
        verdict = np.where(placeless & (verdict == POSSIBLE), NONE, verdict)
    if config.place_topic_conflict is not None and q.topic_p.any():
        # Matches that only the same place lets through: their text is below the sure threshold elsewhere.
        place_only = strong & (verdict >= POSSIBLE) & (sim < config.sure_threshold)
        verdict = _topic_conflict(q, c, place_only, verdict, config.place_topic_conflict,
                                  config.place_topic_conflict_confidence)
    if config.place_topic_threshold is not None and q.topic_p.any():
        verdict = _topic_rule(q, c, strong & (verdict < POSSIBLE), conflict, verdict, config.place_topic_threshold)
    return np.where(ev.allowed, verdict, NONE), sim


def _topic_conflict(q: Side, c: Side, place_only: np.ndarray, verdict: np.ndarray, threshold: float,
                    confidence: float) -> np.ndarray:
    """`verdict` lowered to NONE where a match that only the same place lets through (`place_only`) joins
    appeals whose best topics both have at least `confidence` and whose topics disagree (cosine below
    `threshold`)."""
    floor = max(confidence, 1e-9)  # a confidence of 0 still asks for topics on both sides
    sure_topics = (q.topic_p.max(axis=1) >= floor) & (c.topic_p.max(axis=1) >= floor)
    at = np.flatnonzero(place_only & sure_topics)
    if len(at):
        qa = q if len(q.topic_ids) == 1 else _rows(q, at)
        verdict[at[topic_similarity(qa, _rows(c, at)) < threshold]] = NONE
    return verdict


def _bare_name(named: Side, bare: Side) -> np.ndarray:
    """Where `named` names a settlement that `bare`, naming no settlement and no street, writes
    among its capitalised words (any words, in a text typed without capitals) without a type word."""
    found = (bare.names == named.settlement_prefix[:, None]).any(axis=1)
    return (named.settlement_prefix > 0) & (bare.settlement == 0) & (bare.street == 0) & found


def _topic_rule(q: Side, c: Side, strong: np.ndarray, conflict: np.ndarray, verdict: np.ndarray,
                threshold: float) -> np.ndarray:
    """Rule 5: `verdict` raised to POSSIBLE where the place is shared (`strong`, or a settlement one
    side writes without a type word, naming no street) and the topics agree."""
    low = verdict < POSSIBLE
    bare = _bare_name(q, c) | _bare_name(c, q)
    at = np.flatnonzero(strong | (bare & ~conflict & low))
    if len(at):
        qa = q if len(q.topic_ids) == 1 else _rows(q, at)
        topical = topic_similarity(qa, _rows(c, at)) >= threshold
        verdict[at[topical]] = POSSIBLE
    return verdict
