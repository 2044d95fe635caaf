"""`make eval` section: duplicate and mass-appeal grouping (issue 9).

1. The labelled pair set tests/fixtures/dedupe_pairs.csv (texts written in the project): each pair is
   decided on its own (store A, query B) and, separately, inside one batch of all the set's texts.
   Thresholds were chosen on the "dev" families; "test" families are reported apart.
2. The real Perm file: every exact, whitespace/case-only and normalised-text duplicate must share a
   group; the share of groups mixing gold topic groups is reported (with and without giving the
   grouper the topic labels). No text is printed.
3. With the real data present, a Perm topic model (fitted on the training part of perm.toml's split)
   gives every text its three best topics, as the service does; pairs and Perm's unseen parts are
   grouped with and without them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from appeals.config import project_root
from appeals.dedupe import DedupeIndex, group_frame, load_dedupe_config
from appeals.dedupe_config import DedupeConfig
from appeals.schema import Appeal

PAIRS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "dedupe_pairs.csv"
# A second held-out set, written later by another author who had not seen the matcher's code or the
# first set's texts (split "fresh"): the first "test" half had been read during tuning.
FRESH_PAIRS = PAIRS.with_name("dedupe_pairs_fresh.csv")
# A third held-out set (split "blind"), written by a third author under the same conditions after the
# fresh set's misses had been studied to mend the place parser.
BLIND_PAIRS = PAIRS.with_name("dedupe_pairs_blind.csv")
# A fourth (split "blind2"), written the same way once the blind set's errors had been read to mend the
# parser and add the topic-conflict rule; scored once, after those changes were chosen.
BLIND2_PAIRS = PAIRS.with_name("dedupe_pairs_blind2.csv")
# A fifth (split "blind3"), written the same way while blind2's errors were read; scored once, after the
# changes they led to.
BLIND3_PAIRS = PAIRS.with_name("dedupe_pairs_blind3.csv")
# A sixth (split "blind4"), written the same way and kept unscored in tests/fixtures/held_out until the
# changes chosen on blind3's errors (2026-11-29) were fixed; scored once after them.
BLIND4_PAIRS = PAIRS.with_name("dedupe_pairs_blind4.csv")
# A seventh (split "blind5"), written on 2026-11-29 by an author who saw neither the code nor any set,
# kept unscored while blind4's errors were read the same day; scored once after the changes they led to.
BLIND5_PAIRS = PAIRS.with_name("dedupe_pairs_blind5.csv")
# An eighth (split "blind6"), written the same way that morning, kept unscored while blind5's errors were
# read; scored once after the changes they led to.
BLIND6_PAIRS = PAIRS.with_name("dedupe_pairs_blind6.csv")
# A ninth (split "blind7"), written the same way on 2026-11-29, kept unscored while blind6's errors were
# read; scored once on 2026-11-29 after the changes they led to.
BLIND7_PAIRS = PAIRS.with_name("dedupe_pairs_blind7.csv")
# A tenth (split "blind8"), written the same way on 2026-11-29, kept unscored while blind7's errors were
# read; scored once that day after the changes they led to.
BLIND8_PAIRS = PAIRS.with_name("dedupe_pairs_blind8.csv")
# An eleventh (split "blind9"), written the same way on 2026-11-29, kept unscored while blind8's errors
# were read; scored once on 2026-11-29 after the change they led to (not kept).
BLIND9_PAIRS = PAIRS.with_name("dedupe_pairs_blind9.csv")
# A twelfth (split "blind10"), written the same way on 2026-11-29 while blind9's errors were read; scored
# once that day after the changes they led to.
BLIND10_PAIRS = PAIRS.with_name("dedupe_pairs_blind10.csv")
# A thirteenth (split "blind11"), written the same way that day while blind10's errors were read; its
# author was asked for similar street names among the hard negatives («Ленина» and «Ленинградская»), the
# kind of pair the change scored on it mends, so its verdict on that change is flattered.
BLIND11_PAIRS = PAIRS.with_name("dedupe_pairs_blind11.csv")
# A fourteenth (split "blind12"), written the same way that day while blind11's errors were read; scored
# once after the changes they led to.
BLIND12_PAIRS = PAIRS.with_name("dedupe_pairs_blind12.csv")
# A fifteenth (split "blind13"), written the same way that day while blind12's errors were read; scored
# once after the changes they led to.
BLIND13_PAIRS = PAIRS.with_name("dedupe_pairs_blind13.csv")
# A sixteenth (split "blind14"), written the same way that day while blind13's errors were read; scored
# once, after the day's changes drawn from Perm's real joins read by hand (none from a pair set's errors).
BLIND14_PAIRS = PAIRS.with_name("dedupe_pairs_blind14.csv")
# A seventeenth (split "blind15"), written the same way that day by an author who read no file; scored
# once on 2026-11-30, after the parser fixes read from blind14's errors.
BLIND15_PAIRS = PAIRS.with_name("dedupe_pairs_blind15.csv")
# An eighteenth (split "blind16"), written on 2026-11-30 by an author who read no file; scored once that
# day, after the parser fixes read from blind15's errors (streets named with a number, their crossings).
BLIND16_PAIRS = PAIRS.with_name("dedupe_pairs_blind16.csv")
# A nineteenth (split "blind17"), written on 2026-11-30 by an author who read no file; scored once that
# day on the code as it stood after blind16 (no change had been chosen from blind16's errors).
BLIND17_PAIRS = PAIRS.with_name("dedupe_pairs_blind17.csv")
# Every set, in the order written; the splits reported against the targets (all but "dev").
PAIR_SETS = (PAIRS, FRESH_PAIRS, BLIND_PAIRS, BLIND2_PAIRS, BLIND3_PAIRS, BLIND4_PAIRS, BLIND5_PAIRS,
             BLIND6_PAIRS, BLIND7_PAIRS, BLIND8_PAIRS, BLIND9_PAIRS,
             BLIND10_PAIRS, BLIND11_PAIRS, BLIND12_PAIRS, BLIND13_PAIRS, BLIND14_PAIRS, BLIND15_PAIRS,
             BLIND16_PAIRS, BLIND17_PAIRS)
# The test half of the first file, then each later file's own split, named as its file.
HELD_OUT_SPLITS = ("test", *(p.stem.removeprefix("dedupe_pairs_") for p in PAIR_SETS[1:]))
TARGET_PRECISION, TARGET_RECALL = 0.95, 0.85
CONFIGS = project_root() / "training" / "configs"


def read_pairs(paths: tuple[Path, ...] = PAIR_SETS) -> pd.DataFrame:
    frames = [pd.read_csv(p, keep_default_na=False, dtype=str) for p in paths if p.exists()]
    return pd.concat(frames, ignore_index=True).assign(label=lambda d: d["label"].astype(int))


def _appeal(row: pd.Series, side: str) -> Appeal:
    return Appeal(
        id=row[f"id_{side}"],
        text=row[f"text_{side}"],
        topic_group=row[f"topic_group_{side}"] or None,
        created_at=row[f"created_at_{side}"] or None,
    )


Tops = dict[str, list[tuple[str, float]]]  # text -> the topic model's three best topics


def decide_pairs(pairs: pd.DataFrame, config: DedupeConfig, tops: Tops | None = None) -> pd.DataFrame:
    """Adds `grouped` (B joined A's group), `sure` (and not only as a possible duplicate), `status`.
    With `tops`, each text's best topics go to the grouper as the service would pass them."""
    tops = tops or {}
    grouped, sure, status = [], [], []
    for _, row in pairs.iterrows():
        index = DedupeIndex(config)
        index.add(_appeal(row, "a"), row["sender_a"] or None, topics=tops.get(row["text_a"]))
        match = index.query(_appeal(row, "b"), row["sender_b"] or None, topics=tops.get(row["text_b"]))
        grouped.append(match.duplicate_of is not None)
        sure.append(match.duplicate_of is not None and match.status != "possible")
        status.append(match.status)
    return pairs.assign(grouped=grouped, sure=sure, status=status)


def batch_pairs(pairs: pd.DataFrame, config: DedupeConfig, tops: Tops | None = None) -> pd.Series:
    """Whether A and B end in one group when all texts of the set are grouped together."""
    tops = tops or {}
    texts = {}
    for side in ("a", "b"):
        for _, row in pairs.iterrows():
            texts[row[f"id_{side}"]] = {
                "id": row[f"id_{side}"],
                "text": row[f"text_{side}"],
                "topic_group": row[f"topic_group_{side}"] or None,
                "created_at": pd.Timestamp(row[f"created_at_{side}"]),
                "sender": row[f"sender_{side}"] or None,
                "topic_top3": tops.get(row[f"text_{side}"]),
            }
    groups = group_frame(pd.DataFrame(list(texts.values())), config).set_index("id")["group_id"]
    return pd.Series(groups[pairs["id_a"]].to_numpy() == groups[pairs["id_b"]].to_numpy(), index=pairs.index)


def precision_recall(label: pd.Series, predicted: pd.Series) -> tuple[float, float, int, int]:
    tp = int((predicted & (label == 1)).sum())
    fp = int((predicted & (label == 0)).sum())
    positives = int((label == 1).sum())
    return tp / max(tp + fp, 1), tp / max(positives, 1), fp, positives - tp


def _pair_table(pairs: pd.DataFrame) -> list[str]:
    lines = [
        "| part | pairs (pos/neg) | decision | precision | recall | false pos. | missed |",
        "|---|---|---|---|---|---|---|",
    ]
    for part in (*pairs["split"].unique(), "all"):
        sub = pairs if part == "all" else pairs[pairs["split"] == part]
        counts = f"{len(sub)} ({int(sub['label'].sum())}/{int((sub['label'] == 0).sum())})"
        for name, column in (
            ("grouped (sure + possible)", "grouped"),
            ("sure only", "sure"),
            ("in one batch", "batch"),
            ("grouped, no topic model", "no_topics"),
            ("grouped, predicted topic groups (as the service)", "service"),
        ):
            if column not in sub.columns:
                continue
            p, r, fp, fn = precision_recall(sub["label"], sub[column])
            lines.append(f"| {part} | {counts} | {name} | {p:.3f} | {r:.3f} | {fp} | {fn} |")
    return lines


def _kind_table(pairs: pd.DataFrame) -> list[str]:
    lines = ["| label | kind | pairs | share grouped |", "|---|---|---|---|"]
    for (label, kind), sub in pairs.groupby(["label", "kind"]):
        lines.append(
            f"| {'positive' if label else 'negative'} | {kind} | {len(sub)} | {sub['grouped'].mean():.2f} |"
        )
    return lines


# What was tried on the rules, measured by hand (/tmp scripts, not kept) on 2026-11-28: precision /
# recall on dev + test + fresh, and on the real Perm file (topic unknown, no time window) the number
# of groups of 2+ and the share of them mixing gold topic groups.
TRIED = [
    "Tried on 2026-11-28 (precision / recall on dev + test + fresh; Perm without topics: groups of 2+ "
    "and the share mixing gold topic groups, 32.4 % before):",
    "",
    "- **Kept: place-parser fixes** found by reading the fresh set's misses: «ул. Мира, 10 разобран» "
    "was read as house 1 (a count word «раз…» cut the number), «Рябиновая 14 подъезд 3» lost its house, "
    "«проспекту Космонавтов» became a street named «Проспект», «Жители мкр. Солнечный» a street named "
    "«Жители», and «18/2», «18 к2», «дом 18, корпус 2» disagreed with each other and with «18» "
    "(now one house; «18к1» and «18к2» are two). 0.940 / 0.668 on the pool before, 0.938 / 0.716 "
    "after; Perm 1,148 → 1,150 groups, 32.4 % mixing either way.",
    "- Rejected: the same street with a house named on one side at most counted as the same place; "
    "a street or settlement named by one appeal and written by the other without a type word "
    "(«Кедровый — нет света») counted as the same place; the smoothed term overlap instead of Jaccard "
    "for appeals without a known common place; the place thresholds at 0.2. Together: 0.954 / 0.782 on "
    "the pool, but on Perm 3,382 groups with 52.4 % mixing; the rules alone (Jaccard kept) 2,074 "
    "groups, 49.2 % (place thresholds at 0.2); the name rule alone for streets 1,767 (44.3 %), for settlements 1,449 (41.2 %). "
    "About two thirds of the groups they add mix topic groups: on real appeals, most of which name no "
    "street and many the city, they join different problems. The pair sets, where every family names "
    "its place, do not show this.",
    "- Separating other words from another problem at the same house is the open gap: within pairs at "
    "the same place, no threshold of the text similarity (or of a navec soft-cosine of the lemmas, "
    "ROC AUC 0.86 against 0.83 for the term overlap) gives precision 0.95 with recall above 0.6.",
    "- **Kept, later that day: the topic model's topics at the same place.** Within pairs at the same "
    "place (dev + test + fresh, 286 pairs), the cosine of the two texts' topic distributions by a Perm "
    "topic model separates positives from negatives with ROC AUC 0.93 (0.905 cut to the three best "
    "topics that predict, the service and the store keep) against 0.90 for the grouper's similarity; "
    "another resident's words average 0.75, another problem at the same house or place 0.14. So at the "
    "same place a topic cosine of at least `place_topic_threshold` makes a possible duplicate (flagged for "
    "review). On the dev pairs 0.3 gave 0.976 / 0.952 and 0.4-0.7 0.975 / 0.940 (0.986 / 0.845 without); "
    "0.3 was kept. With this rule alone, test went from 0.949 / 0.649 to 0.909 / 0.702, fresh from "
    "0.860 / 0.614 to 0.875 / 0.700 and blind from 0.848 / 0.596 to 0.836 / 0.649: recall +0.05 to "
    "+0.09, precision -0.04 on test (2 more false pairs), +0.02 on fresh, -0.01 on blind (2 more). Read after choosing: 0.7 would have had one false pair fewer on "
    "test + fresh. On Perm's unseen parts the groups of 2+ went from 205 to 229 with the share mixing "
    "topic groups 38.0 % → 38.4 % (below).",
    "- Rejected after that: the same topic rule also on one street when neither appeal names a house. "
    "Dev has no such pairs; it was found in the test and fresh misses and raised them to 0.917 / 0.772 "
    "and 0.881 / 0.743, but blind moved only from 0.836 / 0.649 to 0.827 / 0.660 (one pair more "
    "each way) and Perm's unseen parts to 250 groups, 39.2 % mixing.",
    "- **Kept after that: a settlement written without its type word** («Кедровый — нет света» against "
    "«пос. Кедровый»), for the topic rule only: capitalised words outside the recognised places get "
    "settlement codes, and a match with the other appeal's settlement (the bare side naming no street) "
    "counts as the same place when the topics agree. Found in the test and fresh misses (dev has none): "
    "test 0.909 / 0.702 → 0.918 / 0.789, fresh 0.875 / 0.700 → 0.877 / 0.714, dev unchanged; blind, "
    "scored once afterwards, 0.836 / 0.649 → 0.831 / 0.681 (three true pairs more, one false); Perm's "
    "unseen parts 229 → 281 groups with the share mixing topic groups 38.4 % → 37.0 %. The earlier "
    "bare-name rule (above, rejected) let a bare name lower the text threshold; this one asks for the "
    "topics to agree instead.",
    "- Rejected on the dev pairs (test, fresh and blind not scored): dropping a match by text below place_sure_threshold at the same place when both topic distributions are known and their cosine is below 0.02-0.2: one false pair fewer and one true pair fewer (0.988 / 0.940 against 0.976 / 0.952) at every value tried.",
    "- **Kept, 2026-11-28 16:00: «пр.» read as «проспект»** before a capitalised name or a number (not in «и пр.», «и прочее»). Found in the test misses («Гололёд на тротуаре у дома 22, пр. Космонавтов» had no place, so three retellings of one problem at that house were not matched). Test 0.918 / 0.789 → 0.923 / 0.842, dev and fresh unchanged; blind, scored once afterwards, 0.831 / 0.681 → 0.815 / 0.702 (two true pairs more, two false); Perm 1,150 → 1,144 groups with 32.4 % → 32.2 % mixing, its unseen parts 281 → 280 groups, 37.0 % → 36.8 %.",
    "- Rejected after that: the topic probabilities raised to a power below 1 before the cosine (the calibrated topics are peaked, 0.85 / 0.01 / 0.0, so only the first topic counted). On the dev pairs power 0.3 with the threshold at 0.6 or 0.7 gave 0.988 / 0.952 against 0.976 / 0.952 (power 0.5: 0.976-0.988 / 0.940-0.952); with 0.3 and 0.6, test stayed 0.923 / 0.842 and fresh went 0.877 / 0.714 → 0.881 / 0.743, but blind went 0.815 / 0.702 → 0.805 / 0.702 (one false pair more) and Perm's unseen parts 280 → 277 groups with 36.8 % → 38.6 % mixing topic groups.",
    "- **Kept, 2026-11-28 evening, after reading the blind set's errors (blind is no longer held out; "
    "blind2, written by a fourth author who saw neither the code nor the earlier sets, was scored "
    "before and once after):** (1) parser: settlement type words in every case («за деревней Ивановка», "
    "«посёлком», «селу»), house numbers written as ordinals («Сосновая, двенадцатый дом», «возле 25-го "
    "дома на Лесной»), an adjective between an ordinal and its object («второй детской поликлиники»), "
    "and a named stop («на остановке «Рынок»», «ост. Рынок») as a place like a numbered object"
    " (its name was at first also left out of the content words; that let «прорвало трубу» at a stop meet the same words at a house on another street, which a service test caught, so the name counts again: the grouped pair figures did not move; Perm 1,148 → 1,152 groups, 32.2 % → 32.3 % mixing); dev + test + fresh + blind 0.901 / 0.803 → 0.907 / 0.830 "
    "(27 → 26 false pairs, 60 → 52 missed). (2) `place_topic_conflict`: a possible match at the same "
    "place is dropped when the topic model is sure of both best topics (≥ 0.3) and the two topic "
    "distributions disagree (cosine < 0.2): 0.907 / 0.830 → 0.920 / 0.830; without the confidence "
    "floor 0.932 / 0.803 (five true pairs lost where the model guessed). Blind2 before → after: "
    "0.747 / 0.677 (22 false pairs, 31 missed) → 0.805 / 0.688 (16, 30). Perm 1,143 → 1,148 groups, "
    "32.2 % → 32.1 % mixing topic groups; its unseen parts with the topic model's topics 280 → 271 groups, "
    "36.8 % → 34.7 %. Not kept then (kept in the next round, below): the conflict rule "
    "also on sure matches that only the same place lets through (text below sure_threshold): 0.926 / "
    "0.823 (two false and two true pairs fewer). Open in the blind errors: another problem on the same "
    "bus route, at the same school or house under a catch-all topic («Жалобы на управляющие компании»), "
    "a district («Ленинского района» against «Кировского района») not read as a place, and bare "
    "settlement names on both sides («Берёзовка.», «из Берёзовки»).",
    "- **Kept, 2026-11-28 21:00-21:20, after reading blind2's errors (blind2 is no longer held out; blind3, "
    "a fifth author's, was scored once afterwards):** (1) parser: «г.» before a capitalised name is «город», "
    "not «год» («в школе №12 г. Лысьвы» had lost its school number, so schools 12 and 2 matched), «улиц» "
    "before a crossing («на перекрёстке улиц Уральской и Вишерской»), and a town of the gazetteer written "
    "without a type word («в Губахе», «Заречная 3, Кунгур»; not the regional capitals) as the settlement, "
    "but only beside a street or a numbered object: alone it made every appeal from one town that names no "
    "street the same place (Perm: 1,148 → 1,218 groups, 32.1 % → 35.4 % mixing topic groups; with the "
    "condition 1,148, 32.2 %). (2) the topic-conflict rule on every match that only the same place lets "
    "through (text below sure_threshold), not only on possible ones: over all five sets 0.904 / 0.803 → "
    "0.917 / 0.796 (blind2, then read: 0.805 / 0.688 → 0.873 / 0.719). Blind3, scored once (with the topic "
    "model fitted before the masking fix of 20:35): 0.836 / 0.526 (10 false pairs, 46 missed); without the "
    "topic-conflict rule 0.806 / 0.557; the code of 20:00 (before this evening's two rounds) 0.788 / "
    "0.536 (14, 45); the table above, whose topic model is refitted on the masked texts of now, gives "
    "0.850 / 0.526. Perm: 1,148 groups, 32.2 % mixing; its unseen parts with the topic model's topics 275 "
    "groups, 32.7 % mixing (271, 34.7 % after round 1). So on sets never read, the evening's "
    "changes raised precision by about 0.05 and left recall where it was. Blind3 counted by kind, its texts "
    "not read: missed 26 of 37 other residents' words, 8 of 13 shortened, 5 of 9 repeats by the sender, 4 of "
    "10 with typos (its author wrote them in lower case without punctuation, where the place parser finds "
    "no street); grouped 4 of 10 pairs from another settlement, 3 of 16 with another problem at the same "
    "place, 2 of 11 at the same house.",
    "- Not kept, 2026-11-28 21:55: a same-sender rule (a resident's new appeal joins their earlier one when the topics agree). A set of 82 same-sender pairs (evaluation/experiments/dedupe_pairs_sender.csv: 42 repeats of one problem, 40 other problems by the same resident, about half at the same address in the same formulas) was written by an author who saw neither the code nor the other sets. The rules as they are: 0.800 / 0.381 on it; adding «same sender and topic cosine ≥ 0.2 / 0.3 / 0.5»: 0.767 / 0.786, 0.744 / 0.690, 0.750 / 0.643 (topic cosine ROC AUC 0.77 there). A resident writing again is as often about another problem as about the same one, and the topics do not tell them apart well enough for a merge.",
    "- Not kept, 2026-11-28 22:30-22:50: a learned verdict instead of the hand-set thresholds (logistic regression over the same evidence: MinHash and term scores, which places both appeals name and whether they agree, topic cosine and confidence; hard stops kept; `python -m evaluation.experiments.dedupe_scorer`). Scored by leaving one author's set out at a time, over the five read sets (882 pairs; the rules 0.905 / 0.745, blind3 0.850 / 0.526): fitted on the pairs alone, 0.918 / 0.873 at p ≥ 0.6 (blind3 0.848 / 0.866), but on Perm's real appeals 393 groups with the largest of 453 appeals and 96.9 % mixing topic groups: every labelled negative is a hard case at a named place, so the model learnt that nothing in common and no contradiction is a duplicate. With real negatives added (each of half of Kursk's and Ryazan's appeals against the other half, its five most alike candidates, 11,968 pairs, weight 0.1-1 each): 0.898 / 0.711 at 0.5, 0.930 / 0.667 at 0.6, and on Perm (0.1, 0.5) 640 groups of 2+ with 47.2 % mixing, its unseen parts with topics 199 groups, 52.8 % (rules 32.3 % and 32.7 %). The model only where both appeals name a place, the rules elsewhere: 0.901 / 0.769 at 0.5. The recall the pair sets reward comes from pairs where one appeal names the place and the other none, which on real streams are mostly different problems: at the real data's precision a linear model over this evidence does no better than the rules.",
    "- **Kept, 2026-11-29 03:10-03:30, after reading blind3's errors (blind3 is no longer held out; blind4, "
    "written by a sixth author on 2026-11-28 and kept unscored in tests/fixtures/held_out, was scored once "
    "afterwards):** (1) parser: a period only after a short type word («ул.», «пер.»), so «как на улице. "
    "Сплю в свитере» no longer names a street «Сплю»; a whole type word before a lower-case word («улица "
    "грунтовая», «на Набережной басы долбят») names a street only where the text gives a house number; "
    "(2) a microdistrict («мкр. Заречье») is also the appeal's settlement, so it contradicts «пос. Южный»; "
    "(3) only a street on one side and only a settlement on the other is a contradiction (the same template "
    "about «ул. Береговой» and «в селе Дубки»); (4) a text typed without capitals («солнечный дом 4 "
    "батареи холодные») gives the bare-settlement rule its words, not only capitalised ones, and hyphenated "
    "names («в Юго-Западном») count. Over the five read sets (dev to blind3, 882 pairs) 0.905 / 0.745 → "
    "0.913 / 0.759 (blind3 0.850 / 0.526 → 0.905 / 0.588, read); Perm's unseen parts with the topic model's "
    "topics 275 → 282 groups of 2+, 32.4 % → 31.6 % mixing topic groups (same run); all of Perm without "
    "topics 1,152 → 1,159 groups, 32.3 % → 32.4 %. **Blind4, scored once: 0.895 / 0.543 (6 false pairs, 43 "
    "missed) before, 0.931 / 0.574 (4, 40) after**; without the topic model 0.808 / 0.447 → 0.843 / 0.457.",
    "- **Kept, 2026-11-29 03:45-04:05, after reading blind4's errors (blind4 is no longer held out; blind5, "
    "written that morning by a seventh author and kept unscored in tests/fixtures/held_out, was scored once "
    "afterwards):** parser: a crossing written on a corner («на углу Кирова и Садовой»), with a dash "
    "(«Советская — Кирова») or as two bare names with a slash («Садовая/Кирова»); an ordinal house word "
    "before «дома на …» («у восьмого дома на Чапаева»); a street after «на/по» and then the house near "
    "which («на Мира, возле 32-го дома»); in a text typed without capitals, a street-like word (ending "
    "as an adjective or a name in the genitive) before a house number («на лесной 14», «ленина 5 бар»), "
    "not a count or an object («собак 6-7 штук», «температура 39», «квартире 16»), and no object word as a "
    "capitalised bare street («Детсад 5 Солнышко» is a kindergarten); «детский сад №5» and «детсад 5» one "
    "kind of object; Latin look-alike letters inside Cyrillic words read as Cyrillic («Kомсомoльская», "
    "`appeals.text.unmix_scripts`, for grouping only). Dev to blind4 (the six read sets, 1,050 pairs): "
    "fresh 0.945 / 0.743 → 0.946 / 0.757, blind 0.863 / 0.734 → 0.864 / 0.745, blind2 0.873 / 0.719 → "
    "0.875 / 0.729, blind3 0.905 / 0.588 → 0.908 / 0.608, blind4 0.931 / 0.574 → 0.940 / 0.670, dev and "
    "test unchanged; Perm's unseen parts with topics 282 → 283 groups of 2+, 31.6 % → 31.4 % mixing topic "
    "groups. **Blind5, scored once: 0.950 / 0.594 with the code before both of this day's rounds, 0.954 / "
    "0.646 after the first, 0.955 / 0.667 after the second** (precision at the target, recall not; without "
    "the topic model 0.964 / 0.562).",
    "- **Kept, 2026-11-29 04:10, after reading blind5's errors (blind5 is no longer held out; blind6, "
    "written that morning by an eighth author, was scored once afterwards):** parser: a house letter after "
    "a space only when capital or not followed by a word («Мира 12 в Чусовом» was house «12в», so it "
    "contradicted «ул. Мира, д. 12»; «ул. Ленина 9 А» and «9 а,» keep their letter), and a town before a "
    "bare street («Лысьва Металлистов 8») is the settlement, not part of the street's name. blind5 0.955 / "
    "0.667 → 0.957 / 0.698, blind2 one true pair more, blind3 one false pair more (a second problem at "
    "«Победы, 33 в третьем подъезде», which the wrong house letter had kept apart), the others unchanged; "
    "Perm's unseen parts with topics 283 → 284 groups, 31.4 % → 31.7 % mixing. **Blind6, scored once: "
    "0.955 / 0.681 with the code before this day's rounds, 0.958 / 0.734 after the second round, 0.945 / "
    "0.734 after this one** (one false pair more, no true pair more: the round does not show a gain on "
    "unread pairs; kept, as chosen before blind6 was scored, because the houses it reads are the right ones). "
    "Also found in blind5 (not changed): 11 of its 96 positive pairs, and 12 of blind4's, carry two "
    "different topic groups, which the grouper takes as a hard stop when both are given, as the issue asks; "
    "the service passes each appeal's predicted topic group instead.",
    "- Measured, 2026-11-29 04:30 (the row «predicted topic groups (as the service)» above): the service "
    "passes each appeal's predicted topic group, which stops a match when the two differ. On the pair sets "
    "that costs recall against the authors' groups (all sets 0.924 / 0.746 → 0.913 / 0.680): retellings get "
    "different predictions. Not kept: using a predicted group only when the topic-group model gives it at "
    "least 0.5 / 0.8 / 0.9 (pairs, all sets: 0.913 / 0.708, 0.905 / 0.758, 0.905 / 0.766; no group at all "
    "0.905 / 0.766), because on Perm's unseen parts the predicted groups keep the groups purer: groups of "
    "2+ mixing gold topic groups 21.1 % with every predicted group (247 groups), 25.0 % / 28.5 % with "
    "those of at least 0.5 / 0.8 (264 / 284 groups), 31.7 % with none (284 groups). On real appeals the "
    "hard stop removes more wrong groups than it loses right ones.",
    "- Not kept, 2026-11-29 04:50: a crossing kept as a numbered place (object «перекрёсток», number the "
    "two streets) instead of a street and house, so that «на углу Уральской и Ветеранов» no longer "
    "contradicts «на Уральской» (found in blind6's errors). Pairs: one true pair more (blind6 0.946 / "
    "0.745), nothing else changed; Perm 1,159 → 1,166 groups of 2+ with 32.4 % → 32.6 % mixing topic groups, "
    "its unseen parts with topics 284 → 284 groups, 31.7 % → 32.0 %. Neutral at best; blind7 stays unscored.",
    "- **Kept, 2026-11-29 05:25-05:40, after reading blind6's errors (blind6 is no longer held out; blind7, "
    "written by a ninth author on 2026-11-29 and kept unscored in tests/fixtures/held_out, was scored once "
    "afterwards):** parser: a crossing typed without capitals («на перекрестке ул уральской и ул "
    "ветеранов»); a microdistrict beside a street is that street's microdistrict («жители микрорайона "
    "Северный Берег … на ул. Заводской» and «на ул. Заводской (мкр Северный Берег)» both Заводская; before, "
    "whichever came first was the street, so the two contradicted each other), and within a city the "
    "narrower place («г. Пермь, мкр Новые Ляды»: at first the city, which joined appeals from all over "
    "Perm); in a text typed without capitals an adjective and its agreeing noun make one name («мкр "
    "лесная поляна», pymorphy3 only for such texts); «сад №…», «садик» and «д/с» with a number are "
    "kindergartens («сад 112», «в двадцатом садике», «д/с 20»; not «на все 3 садика», «в саду 3 яблони» or "
    "«кол. сад 15», which an early version read as kindergartens on Perm); «возле домов 5 и 7» gives "
    "house 5. The read sets (dev to blind6, 1,390 pairs): 0.924 / 0.746 → 0.926 / 0.754 (seven true pairs "
    "more, five of them typed-without-capitals copies; one false pair fewer); Perm without topics 1,159 "
    "→ 1,160 groups of 2+, 32.4 % mixing either way; its unseen parts with topics 284 → 282 groups, "
    "31.7 % → 31.6 %. **Blind7, scored once: 0.867 / 0.571 (8 false pairs, 39 missed) before, 0.869 / "
    "0.582 (8, 38) after**; without the topic model 0.860 / 0.473 → 0.863 / 0.484. A new author's set "
    "again scores well below the read ones.",
    "- **Kept, 2026-11-29 05:45-06:10, after reading blind7's errors (blind7 is no longer held out; blind8, "
    "written by a tenth author that morning and kept unscored in tests/fixtures/held_out, was scored once "
    "afterwards):** parser: «пр-та», «пр-те» as «пр-т» («вдоль пр-та Ленина от дома 10/1» had no place, "
    "so a template about another street matched it); a bare name and a number before an object word are "
    "the object's number, not a street and house («Родители 45-й школы»); «Снова», «Опять», «Родители» "
    "and the like starting a sentence are not part of a street's name («Снова Гагарина 5»). Read sets "
    "(dev to blind6) unchanged at 0.926 / 0.754; blind7 (read) 0.869 / 0.582 → 0.887 / 0.604; Perm "
    "without topics 1,160 groups of 2+ either way, 32.4 % → 32.6 % mixing, its unseen parts with topics 282 "
    "→ 283 groups, 31.6 % → 31.4 % (a few groups either way). Not kept, each measured alone on the same "
    "sets: (1) a named park or square («в парке Победы», «Заречный парк») as one place like a named stop: "
    "blind7 three true pairs more and the read sets one more and one false pair fewer, but on Perm eight "
    "more groups of 2+ (1,167, 32.8 % mixing; its unseen parts 32.0 %), read by hand mostly different "
    "problems in or beside one park (seven appeals about Балатово park: rats, fireworks, gym equipment, a "
    "pool); (2) a message opening with its settlement and street («Берёзовка, Набережная. …», «Ключи, "
    "Школьная — …»): blind7 precision up (two false pairs fewer) but recall down, four true pairs of the "
    "read sets lost, Perm's unseen parts 31.4 % → 32.0 %. **Blind8, scored once: 0.895 / 0.680 (8 false "
    "pairs, 32 missed) with the code of the session's start, 0.896 / 0.690 (8, 31) after the blind6 round "
    "and the same after this one**; without the topic model 0.897 / 0.610 → 0.899 / 0.620.",
    "- Not kept, 2026-11-29: a street named by one appeal and written bare by the other («на Лермонтова», "
    "«на Строителей»; the bare side naming no street) as a place for the topic rule, like the bare "
    "settlement. Over the five read sets 0.917 / 0.795 (blind3 0.921 / 0.722), but on Perm's unseen parts "
    "341 groups of 2+ instead of about 280, with 34.3 % mixing topic groups, and the groups it added, read by hand, "
    "were mostly different problems on one long street («ремонт дороги по Ленина» and «разметка на Ленина "
    "у Борчанинова»): a street without a house is too coarse a place in a city. Asking for a topic cosine "
    "of 0.5 / 0.7 / 0.85 instead of 0.3 for it moved the unseen groups only to 330 / 329 / 326 (the "
    "calibrated topics are peaked, so one shared best topic gives a cosine near 1). Only where the bare "
    "side also writes the house number after the name (lower-case «на садовой 14»): one pair more, no "
    "change on Perm; not worth the code.",
    "- **Kept, 2026-11-28 17:15: a crossing of two streets as one place** («на перекрёстке проспекта Победы и улицы Литейной», «пр-т Победы / Литейная»): both names, sorted so either order meets, as the street, and the crossing as its house, so two crossings that share one street no longer match and a shortened retelling at the same crossing meets the place thresholds. Found in the fresh false pairs (only the first street was read). Fresh 0.877 / 0.714 → 0.895 / 0.729, dev and test unchanged, blind (scored once) unchanged at 0.815 / 0.702; Perm 1,144 → 1,143 groups, 32.2 % mixing, its unseen parts 280 groups, 36.8 %.",
    "- Not kept, 2026-11-29 08:00-08:15, after reading blind8's errors (blind8 is no longer held out; "
    "blind9, written by an eleventh author that morning and kept unscored in tests/fixtures/held_out, was "
    "scored once afterwards): a shared name as a place for the topic rule. Two appeals sharing a "
    "capitalised word inside a sentence that the parser does not read as a place («Снова про Осинцево», «в "
    "Солнышке на Дегтярева», «у Центрального рынка»; not towns of the gazetteer, district adjectives, first "
    "names, patronymics or «Министерство», «Администрация» and the like; all capitalised words first, "
    "sentence starts included, joined every «Подскажите» and «Почему»), with no contradicting place and "
    "topic cosine ≥ 0.5 (0.3-0.9 alike), became possible duplicates. Read sets without blind8 0.923 / "
    "0.739 → 0.921 / 0.753, blind8 (read for it) 0.896 / 0.690 → 0.902 / 0.740; Perm's unseen parts with "
    "topics 283 → 326 groups of 2+, 31.4 % → 31.9 % mixing topic groups. **Blind9, scored once: 0.869 / "
    "0.753 (11 false pairs, 24 missed) as the rules are, 0.849 / 0.753 (13, 24) with the rule**: two false "
    "pairs more and no true pair more on the unread set, so it is not kept.",
    "- **Kept, 2026-11-29 08:15-08:45, after reading blind9's errors (blind10, written by a twelfth author "
    "that morning, scored once; then blind10's errors read and blind11, a thirteenth author's, scored):** "
    "(1) names of places are compared by their stem without the case ending, not by its first five letters, "
    "so «Ленина» and «Ленинградская», «Строителей» and «Строительная», «Кедровый» and «Кедровка» are two "
    "places; soft signs and doubled letters do not count, so «Металистов» meets «Металлистов» and "
    "«Октябрская» «Октябрьская» (without that, three typed retellings of the read sets were lost); "
    "(2) an ordinal before an entrance or floor word is not a house («в доме 45 по ул. Мира, 3-й подъезд» "
    "was house 3); «Это», «Вот», «Здесь» before a street type word are not a street («Это ул. Гагарина»); "
    "a town of the gazetteer in brackets beside a street is the settlement («ул. Спортивной (Чусовой)»). "
    "Blind9 (read) 0.869 / 0.753 → 0.926 / 0.773, the other read sets one true pair more (blind2); "
    "Perm without topics 1,160 → 1,159 groups of 2+, 32.6 % → 32.5 % mixing topic groups, its unseen parts "
    "with topics 283 → 281 groups, 31.4 % → 31.7 %. **Blind10, scored once: 0.835 / 0.667 (13 false pairs, "
    "33 missed) before, 0.833 / 0.657 (13, 34) after**: the one pair lost was «Кунгурцы, осторожно!» "
    "against «в г. Кунгуре», which the five-letter stems had met by chance (as «Шумиха» and «пос. "
    "Шумихинский» in blind9). So (3), read from blind10: a name written bare is compared with a settlement "
    "by the first five letters of its stem, as before, only the settlement's own match is by the whole "
    "stem (a second code per appeal, `settlement_prefix`). **Blind11, scored once after (1)-(3): 0.798 / "
    "0.691 (17, 30) before, 0.815 / 0.680 (15, 31) after**; the pair lost («Лысьвенская поликлиника» "
    "against «Лысьва») came from a bug in (3), which cut the five letters after dropping the soft sign; "
    "mended, and blind11 looked at a second time: 0.817 / 0.691 (15, 30). Caveat: blind11's author had "
    "been asked for similar street names among the hard negatives, and the two false pairs mended there "
    "are such pairs («Ленина 45» / «Ленинградская 45», «Строителей 8» / «Строительная 8»), so blind11 "
    "flatters the change; on blind10 (no such request) it moved nothing but that lost pair. Perm after "
    "(3): without topics 1,163 groups of 2+, 32.8 % mixing; its unseen parts with topics 281 groups, "
    "31.7 %. Also measured on the read sets and Perm, not built: one appeal naming no place (or neither "
    "naming one) joined when the topics agree (cosine ≥ 0.9) and the term overlap is ≥ 0.3: 27 true "
    "pairs more and 2 false over the 1,903 pairs of the sets up to blind9, but Perm's unseen parts (no dates, so every appeal "
    "within the window) 278 → 844 groups of 2+ with 2,603 appeals in them (741 before), the largest of "
    "54: on a real stream most such matches are other problems of the same topic.",
    "- **Kept, 2026-11-29 08:45-08:55, after reading blind11's errors (blind12, written by a fourteenth "
    "author that morning, scored once afterwards):** parser: a preposition starting a sentence is no street "
    "(«Гайва, Репина. От 17-го дома до остановки темень» was street «От», house 17, so two retellings on "
    "two streets met and a third contradicted its own street); a number before «км», «м», «метров», «кг», "
    "«шт», «градус» is a distance or count, not a house («пешком до Фоков 7 км»); and the same numbered "
    "object on both sides («школа №3» on «ул. Мира» and «в Лысьве») makes one-street-one-settlement no "
    "contradiction. Read sets: blind5, blind8 and blind11 one true pair more each, nothing else; Perm without "
    "topics 1,163 → 1,160 groups of 2+, 32.8 % mixing either way, its unseen parts with topics 281 → 279 "
    "groups, 31.7 % → 31.5 %. Not kept: two different towns of the gazetteer named anywhere, with or "
    "without a type word, as a contradiction («Очёр остался без детского врача» against «Нытва осталась "
    "…»): two false pairs fewer (blind2, blind11) but one true pair lost where a retelling names first the "
    "town it travels to («нас отправили в Верещагино … в Очёрской больнице»), and real appeals often "
    "name the district centre they go to. **Blind12, scored once: 0.910 / 0.629 (6 false pairs, 36 missed) "
    "before and after**; without the topic model 0.852 / 0.474 → 0.849 / 0.464, the pair lost being two "
    "texts that both read «до Осы 25 км» as street «Осы», house 25: the round shows no gain on unread "
    "pairs.",
    "- **Kept, 2026-11-29 08:55-09:15, after reading blind12's errors (blind13, written by a fifteenth "
    "author that morning, scored once afterwards):** parser: a number before a month is a date, not a house "
    "(«Скоро 1 сентября» was street «Скоро», house 1); «у дома 48 на проезжей части» names no street "
    "«Проезжая» (a part of a road or yard: «проезжей», «придомовой», «пешеходной» …), so the street "
    "typed before it counts; a street's name inside a stop's name («остановка «Улица Кочегаров»» on «шоссе "
    "Космонавтов») is the stop, not the street (a microdistrict's stop still names the microdistrict). "
    "Read sets: blind12 0.910 / 0.629 → 0.930 / 0.680, blind11 one true pair more, nothing else; Perm "
    "without topics 1,160 → 1,163 groups of 2+, 32.8 % → 32.9 % mixing, its unseen parts with topics 279 "
    "groups, 31.5 % → 31.9 %. **Blind13, scored once: 0.923 / 0.742 (6 false pairs, 25 missed) before, "
    "0.922 / 0.732 (6, 26) with a fourth fix**, two streets named together as one area («район ул. "
    "Шоссейной и ул. Комарова», «улиц Комарова и Шоссейной», a crossing-like place): its lost pair was "
    "the same two streets written with a comma on the other side («ул. Коммунистическая, Строительная»), "
    "so that fix is not kept; without it (blind13 looked at a second time) 0.923 / 0.742, the same as "
    "before the round.",
    "- Measured, 2026-11-29 09:25, not built: a town of the gazetteer opening the text or a sentence («Очёр "
    "остался без детского врача», «Кизел — скорую ждали…», «В Губахе …») as a contradiction when the two "
    "appeals open with different towns (unlike any town named anywhere, above, this leaves out the towns "
    "an appeal travels to). One false pair fewer over the 2,597 read pairs (blind11), no true pair lost, "
    "and Perm unchanged (one appeal fewer in a group): too rare to be worth a column of the index and the "
    "unread blind14, which stays unscored.",
    "- Tried again, 2026-11-29 10:25-10:50, not kept: the bare street of the entry «a street named by one "
    "appeal and written bare by the other» above, now only from words inside a sentence (not a sentence's "
    "first word, not a town, not a word before «район»), its name word cut to five letters without soft "
    "signs and doubled letters. All 2,597 read pairs 0.909 / 0.730 -> 0.911 / 0.764 (blind13 unchanged at "
    "0.923 / 0.742); Perm's unseen parts 279 -> 301 groups, 31.9 % -> 32.6 % mixing. Read by hand, 1 of "
    "14 sampled Perm pairs it would join was one problem («Дегтярёва 18 отопления нет» and «на Дегтярёва "
    "очень холодно»); the rest were other problems on one long street («разметка по Ленина», «Ленина 121, "
    "управляющая компания»), the same finding as before. Also a table that finds such candidates even "
    "when the texts share no word (an appeal naming a place asks for appeals writing it bare): +3 read "
    "pairs, but Perm's unseen parts 329-403 groups with about half of the added ones mixing topic groups. "
    "blind14 stays unscored.",
    "- **Kept, 2026-11-29 10:55: a regional capital is no bare place name.** The bare-settlement rule "
    "(«Кедровый — нет света» meets «пос. Кедровый» when the topics agree) also met «Пермь» / «в Перми» "
    "written in an appeal naming no street with any appeal naming «г. Пермь» and no street: Perm is left "
    "out of the bare towns (most of the region's appeals are there) and so stayed among the bare names. "
    "Read by hand, 12 of 12 sampled Perm pairs joined only that way were different problems («где в Перми "
    "встать в очередь на кардиостимулятор» and a question about a sick note). The settlement's bare-name "
    "code is now 0 for the regional capitals (Пермь, Курск, Рязань, Омск). Perm's unseen parts with "
    "topics 279 -> 256 groups of 2+ (749 -> 679 appeals); the share mixing topic groups rises 31.9 % -> "
    "32.4 %, since the groups it removes agree in topic (which that share cannot see). All 2,597 read "
    "pairs 0.909 / 0.730 -> 0.909 / 0.729: one true pair lost (blind10, joined by «Левшино … уже не "
    "Пермь» rather than by its route 68); blind13 unchanged. Scored on read pairs only, since the change "
    "comes from the real data, not from a pair set's errors; blind14 stays unscored.",
    "- **Kept, 2026-11-29 11:00-11:20: fewer joins of different problems on real appeals**, found by reading "
    "joins instead of pair sets. 60 joins of Perm's unseen parts (30 of any kind, 30 sure; not exact "
    "repeats) were read by hand: only 2 of 30 and 7 of 30 described one problem. The wrong ones were short "
    "texts («Очень плохо чистят!!!» and «Очень плохо чистят дорогу ул. Пихтовая, 38а»), photo links and "
    "phone numbers sent through a form, VK community tags, and residents asking the same question with no "
    "place. Three changes: links, VK tags and phone numbers are no content; a text with fewer than "
    "`min_content_terms` (3) content terms is alike only to its exact repeats, to appeals on its street or "
    "at its place; and between two appeals that name no place and come from different senders a likeness "
    "below the sure threshold is no match (`placeless_possible = false`; one sender writing again still is). "
    "Joins still made of the 60 read first: right 9 of 9 throughout, wrong 51 -> 46 (links and tags) -> 37 "
    "(and 3 terms; in an earlier form that compared short texts nowhere, 4 terms 31 and 5 terms 27, losing "
    "11 and 21 read pairs) -> 26. On 58 more read before either setting was applied (and looked at for the "
    "three placeless settings tried: no possible, a floor of 0.45, of 0.6): right 12 -> 11 -> 10, wrong 48 "
    "-> 31 -> 25. So of the sampled joins about 26-29 % are one problem instead of 15-20 %: still most "
    "non-exact joins on Perm (all of it one window, since it has no dates) are different problems. Perm's "
    "unseen parts with topics 256 -> 173 groups of 2+. All 2,597 read pairs 0.909 / 0.729 -> 0.912 / 0.724 "
    "(8 true and 5 false joins fewer); blind13 unchanged at 0.923 / 0.742. blind14 stays unscored.",
    "- **Kept, 2026-11-29 11:22-11:30: a town is no shared place without a street.** Among the wrong joins "
    "left were appeals naming only the same town («Березники г, +7…» of a form, «г. Соликамск», «в "
    "Кунгуре») about different problems, joined by rule 5 (the same settlement and agreeing topics). The "
    "same settlement with no street on either side is now a shared place only for a village, not for a "
    "town of the gazetteer (its municipalities named as a noun: Пермь, Березники, Кунгур, Курск …). One "
    "setting tried, looked at on both read sets at once: choose wrong joins 26 -> 23, check 25 -> 21, "
    "right ones all kept (9 and 10); Perm's unseen parts 173 -> 155 groups of 2+, 32.4 % -> 25.8 % mixing "
    "topic groups; all 2,597 read pairs 0.912 / 0.724 -> 0.913 / 0.723; blind13 unchanged.",
    "- **Blind14 scored once, 2026-11-29 11:46**, after the four changes above (capital, links and short "
    "texts, placeless, town), none of them drawn from a pair set's errors: with the code of the day's "
    "start 0.939 / 0.620 (4 false, 38 missed of 100 true pairs), now 0.954 / 0.620 (3 false, 38 missed); "
    "without the topic model 0.863 / 0.440 either way. Recall on a new author's set stays far from the "
    "target; blind14 is now a read set and blind15 (178 pairs, written by a seventeenth author who read no "
    "file) waits unscored in tests/fixtures/held_out.",
    "- **Kept, 2026-11-29 11:55-12:00: greetings and courtesy formulas are no content** («Здравствуйте», "
    "«добрый день», «подскажите», «скажите», «пожалуйста», «уважаемые», «спасибо»): in the short questions "
    "still joined they were most of the letters («Здравствуйте! Скажите пожалуйста, как ездит 5 маршрут?» "
    "and «…как работает психиатр на Веденеева?», 0.35). One setting, looked at on both read sets of joins: "
    "wrong joins still made 23 -> 17 (choose) and 21 -> 19 (check), right ones all kept; Perm's unseen "
    "parts 155 -> 159 groups of 2+ (25.8 % -> 26.4 % mixing); all 2,774 read pairs 0.916 / 0.717 -> 0.916 / "
    "0.717 (one false pair fewer); blind14 unchanged (it is read now, so this says little). Not kept: "
    "the bare-town rule («Кедровый — нет света») limited to villages like the shared settlement above: "
    "wrong joins 23 -> 20 and 21 -> 18, but 28 read true pairs lost (blind14 0.954 / 0.620 -> 0.950 / 0.570): "
    "the pair sets' authors write «Лысьва, …» beside «в г. Лысьве …» for one problem.",
    "- **Validated, 2026-11-29 12:05**, on 59 joins sampled afresh from the joins of the code of the day's "
    "start (Perm's unseen parts with topics; 30 of any kind, 29 sure) and labelled by reading before "
    "anything was measured on them: that code makes all 59 (10 one problem, 49 not); the code after the "
    "changes above still makes 7 of the 10 right ones and 16 of the 49 wrong ones. So of these sampled "
    "joins 17 % were one problem before and 30 % after, at the cost of 3 of 10 right joins (placeless "
    "questions about one vaccine or one QR-code rule from different residents, and dirty water in one "
    "town). Not kept, decided on choose and check and then scored once on validate: «нет», «почему», "
    "«узнать» as stop words (choose and check wrong joins 17 -> 12 and 19 -> 16, right ones kept; validate "
    "wrong 16 -> 15 but right 7 -> 6).",
    "- **Kept, 2026-11-30 00:40-00:50, after reading blind14's errors (blind15, written by a seventeenth "
    "author who read no file, scored once afterwards):** parser fixes. (1) A street's spelling key is cut "
    "after the doubled letters are made single, not before: a stem keeps 12 letters, so «Коммунистической» "
    "and the misspelt «комунистическая» kept «коммунистиче» and «комунистичес», two streets that contradicted "
    "each other; each word of the key now keeps 11 letters. (2) A first name before the surname a street is "
    "named after is left out («Карла Маркса» and «К. Маркса» are both «маркс»; «Розы Люксембург»). (3) «вся», "
    "«наша», «эта», «моя», «целая», «каждая» in their cases are no street name («Вся улица в копоти», «Нашу "
    "улицу оставили без воды»). (4) «СОШ № 163» is school 163. All 2,774 read pairs 0.918 / 0.717 -> 0.918 / "
    "0.721 (six true pairs more, five of them blind14's, no false pair more; blind14 0.954 / 0.620 -> 0.957 / "
    "0.670, read); Perm without topics 742 -> 743 groups of 2+ (26.5 % mixing either way), its unseen parts "
    "with topics 159 -> 160 (one join more: two appeals about water in the village of Barda, one of them "
    "written «Нашу улицу», which had been a street); none of the joins read by hand changed. **Blind15, scored "
    "once: 0.857 / 0.545 (9 false pairs, 45 missed of 99 true ones) with the code before these fixes and "
    "after them**: another new author's set, and again far below both targets; blind15 is now a read set "
    "and blind16, written by an eighteenth author who read no file, waits unscored in tests/fixtures/held_out.",
    "- Not kept, 2026-11-30 01:15, read from blind15's false pairs (one form letter from two towns, «В "
    "Соликамске невозможно дозвониться …» / «В Березниках …»): a town of the gazetteer opening the text taken "
    "as the appeal's settlement. All 2,952 read pairs 0.915 / 0.710 -> 0.917 / 0.702: three false pairs fewer "
    "but fourteen true ones lost, since «Губаха, Шахтёрская — темнота» then names only a settlement against "
    "«На ул. Шахтёрской …», which names only a street, and the two contradict each other. blind16 not scored.",
    "- **Kept, 2026-11-30 01:20-01:30, read from blind15's errors (blind16, written by an eighteenth author "
    "who read no file, scored once afterwards):** streets named with a number. «20-летия Победы» was read as "
    "«Победы» (another street) and «50-летия Октября» not at all; a crossing of two streets one of which opens "
    "with a number («перекрёсток Масленникова и 10 лет Октября», «Ленина и 8 Марта») was no crossing, so its "
    "first street alone met a crossing of that street with another. Now a name may open with «20-летия», "
    "and «20-летия Победы» and «20 лет Победы» are one street. All 2,952 read pairs 0.915 / 0.710 -> 0.918 / "
    "0.712 (three false pairs fewer, three true ones more, none lost); Perm's unseen parts unchanged. "
    "**Blind16, scored once: 0.889 / 0.646 (8 false pairs, 35 missed of 99 true ones) before and after**; "
    "blind16 is now a read set and blind17, written by a nineteenth author who read no file, waits unscored "
    "in tests/fixtures/held_out.",
    "- Not kept, 2026-11-30 01:35, read from blind16's false pairs («ул. Пушкина напротив дома № 16 в Перми» "
    "against the same house «в Краснокамске»): a regional capital written bare beside a street taken as the "
    "appeal's settlement, like the other towns. Among the pairs read before, one true pair was lost (an appeal "
    "from Очёр that mentions being sent to Perm then names Perm), and the capitals hold settlements of their "
    "own («мкр Новые Ляды»), the reason they were left out on 2026-11-28. blind17 not scored.",
    "- **Blind17, scored once on 2026-11-30 02:45 on the code as it stood (no change chosen from blind16's "
    "errors): 0.913 / 0.636 (6 false pairs, 36 missed of 99 true ones).** Where the read pairs' misses lie "
    "(all 3,308 read pairs, blind17 included): where the place parser finds a place in both appeals (2,527 pairs) "
    "0.925 / 0.841, recall near the target and precision below it (68 of the 86 false pairs there are another "
    "problem at the same house or place, which share the address and the formulas); where it finds one in only one "
    "of them (622 pairs, 504 true) 0.914 / 0.442; in neither (159) 0.567 / 0.205. Of the 549 missed true pairs "
    "347 are of the last two kinds (some name their place in a form the parser does not read): the issue's own "
    "notion of a compatible place (the same street and house, or the same settlement when no street is named) "
    "does not hold for them. Among the pairs not grouped with a place in one appeal only (before blind17), 101 true "
    "and 10 false pairs have topic distributions alike at cosine >= 0.9. Measured then (not kept): such a pair "
    "made a possible duplicate when neither place contradicts. All read pairs 0.916 / 0.704 -> 0.915 / 0.757 "
    "(blind17 0.913 / 0.636 -> 0.914 / 0.646); Perm's unseen parts with the topic model's topics 160 -> 869 groups of 2+ holding "
    "366 -> 3,517 appeals, the largest 7 -> 43, groups mixing gold topic groups 26.9 % -> 48.3 %: most real "
    "appeals name no place, so a named one meets dozens of them on the same topic. blind17 is now a read set; "
    "blind18, written by a twentieth author who read no file, waits unscored in tests/fixtures/held_out.",
]


def perm_model(task: str, data_dir: Path, parts: Any | None = None) -> tuple[Any, Any]:
    """A Perm model of `task` as `appeals train` builds it (its lemma_svm family, calibrated on
    validation), fitted on Perm's training part only: the pair texts were written in the project and
    the validation and test parts stay unseen. The topic model gives the grouper its topics; the
    topic-group model the groups the service passes, where the pair files carry their authors' own.
    `parts`: Perm's split when already loaded. Returns (pipeline, parts)."""
    from appeals.training import fit_tasks, load_train_config, single_model_config
    from appeals.training_data import load_frame, make_parts

    config = single_model_config(load_train_config(CONFIGS / "perm.toml"), task)
    parts = parts if parts is not None else make_parts(load_frame(config.data, data_dir), config.data)
    return fit_tasks(config, parts)[task].pipeline, parts


def top_topics(model: Any, texts: list[str]) -> Tops:
    """text -> [(topic, probability)] of its three best topics, rounded as `appeals predict` writes them."""
    from appeals.predict import top_k_pairs

    rows = top_k_pairs(model.predict_proba(texts), np.asarray(model.classes_, dtype=object))
    return dict(zip(texts, rows, strict=True))


def pair_section(config: DedupeConfig, model: Any | None = None, group_model: Any | None = None) -> list[str]:
    pairs = read_pairs()
    texts = sorted(set(pairs["text_a"]) | set(pairs["text_b"]))
    tops = top_topics(model, texts) if model is not None else None
    pairs = decide_pairs(pairs, config, tops)
    pairs["batch"] = batch_pairs(pairs, config, tops)
    if tops is not None:
        pairs["no_topics"] = decide_pairs(pairs, config)["grouped"]
    if group_model is not None:
        predicted = dict(zip(texts, (str(g) for g in group_model.predict(texts)), strict=True))
        as_service = pairs.assign(topic_group_a=pairs["text_a"].map(predicted),
                                  topic_group_b=pairs["text_b"].map(predicted))
        pairs["service"] = decide_pairs(as_service, config, tops)["grouped"]
    verdicts = []
    for part in HELD_OUT_SPLITS:
        held = pairs[pairs["split"] == part]
        if len(held):
            p, r, _, _ = precision_recall(held["label"], held["grouped"])
            verdict = "met" if p >= TARGET_PRECISION and r >= TARGET_RECALL else "NOT met"
            verdicts.append(f"on {part} {verdict} (precision {p:.3f}, recall {r:.3f})")
    return [
        "### Labelled pairs (tests/fixtures/" + ", ".join(p.name for p in PAIR_SETS) + ")",
        "",
        f"{len(pairs)} pairs written in the project ({int(pairs['label'].sum())} positive), split by "
        "family into dev (thresholds chosen there) and test. The test half was read during tuning, so a "
        "second set (fresh) was written by an author who saw neither the matcher's code nor the first "
        "set's texts; its misses were later read to mend the place parser. A third set (blind), written "
        "the same way after that, was the held-out figure until its errors were read (2026-11-28 evening) "
        "to mend the parser again and add the topic-conflict rule; a fourth (blind2), written the same way "
        "before those changes and scored once after them, was then read in turn; a fifth (blind3), written "
        "while it was read and scored once after the changes it led to, was read on 2026-11-29; a sixth "
        "(blind4), kept unscored until the changes read from blind3 were chosen, was scored once and read "
        "the same day; a seventh (blind5), kept unscored until the changes read from blind4 were chosen, "
        "was scored once and read in turn; an eighth (blind6), kept unscored until the changes read from "
        "blind5 were chosen, was scored once and read in turn; a ninth (blind7), kept unscored until the "
        "changes read from blind6 were chosen, was scored once and read in turn; a tenth (blind8), kept "
        "unscored until the changes read from blind7 were chosen, was scored once and read in turn; an "
        "eleventh (blind9), kept unscored while blind8's errors were read, was scored once on the change "
        "they led to (not kept) and read; a twelfth to a fifteenth (blind10 to blind13) were each scored on the "
        "changes read from the set before and read in turn; a sixteenth (blind14) was scored once on the "
        "changes drawn from Perm's real joins read by hand (see below) and then read; a seventeenth (blind15) "
        "was scored once on the parser fixes read from blind14 (2026-11-30) and then read; an eighteenth "
        "(blind16) was scored once on the fixes read from blind15 the same day, and a nineteenth (blind17) "
        "once on the code as it then stood, no change having been chosen from blind16's errors. A pair "
        "counts as grouped when B joins A's group. Targets: "
        f"precision ≥ {TARGET_PRECISION}, recall ≥ {TARGET_RECALL}: " + "; ".join(verdicts) + ".",
        "",
        ("Topics: each text's three best topics by a Perm topic model (lemma_svm, fitted on the training "
         "part of perm.toml's split), as the service passes them; «grouped, no topic model» is the "
         "grouper without them (`appeals dedupe` on a file without `topic_top3`). The pair files give each "
         "appeal its author's topic group, and two different groups stop a match, as the issue asks; «predicted "
         "topic groups (as the service)» replaces them by a Perm topic-group model's prediction (lemma_svm, "
         "training part), as `/classify` passes them: the targets are read on the first row." if tops is not None else
         "Topics: none (no real data folder to fit the topic model on); the grouper ran without them."),
        "",
        *_pair_table(pairs),
        "",
        "By kind (all splits):",
        "",
        *_kind_table(pairs),
        "",
        *TRIED,
        "",
    ]


def _exact_checks(frame: pd.DataFrame, grouped: pd.DataFrame) -> list[str]:
    from appeals.text import clean_text, normalize_for_dedup

    keys = {
        "exact text": frame["text"],
        "whitespace/case only": frame["text"].map(lambda t: " ".join(clean_text(t).lower().split())),
        "normalised key (also punctuation, ё)": frame["text"].map(normalize_for_dedup),
    }
    lines = ["| duplicate kind | duplicate sets | appeals in them | sets in one group |", "|---|---|---|---|"]
    for name, key in keys.items():
        sets = grouped.groupby(key.to_numpy())["group_id"].agg(["size", "nunique"])
        sets = sets[sets["size"] > 1]
        together = int((sets["nunique"] == 1).sum())
        lines.append(
            f"| {name} | {len(sets)} | {int(sets['size'].sum())} | {together} "
            f"({together / max(len(sets), 1):.0%}) |"
        )
    return lines


def _group_stats(grouped: pd.DataFrame, label: str, seconds: float) -> str:
    sizes = grouped["group_id"].value_counts()
    multi = sizes[sizes > 1]
    mixed = grouped[grouped["group_id"].isin(multi.index)].groupby("group_id")["gold_topic_group"].nunique()
    return (
        f"| {label} | {len(sizes)} | {len(multi)} | {int(multi.sum())} | {multi.head(5).tolist()} | "
        f"{(mixed > 1).mean() if len(mixed) else 0:.1%} | {seconds:.0f} s |"
    )


def _label_noise(frame: pd.DataFrame) -> str:
    """How often sets of identical (normalised) texts carry different gold topic groups: the floor of
    "groups mixing topic groups" that no grouper can go below."""
    from appeals.text import normalize_for_dedup

    sets = frame.groupby(frame["text"].map(normalize_for_dedup).to_numpy())["topic_group"]
    sizes, kinds = sets.size(), sets.nunique()
    mixed = (kinds[sizes > 1] > 1).mean()
    return (
        f"For reference, {mixed:.1%} of the sets of identical normalised texts already carry more than "
        "one gold topic group (label noise in the source)."
    )


def unseen_section(config: DedupeConfig, model: Any, parts: Any) -> list[str]:
    """Perm's validation and test parts (unseen by the topic model), grouped with and without topics."""
    frame = pd.concat([parts.val, parts.test], ignore_index=True)[["id", "text", "topic_group"]]
    frame = frame.assign(gold_topic_group=frame["topic_group"], topic_group=None, created_at=None)
    tops = top_topics(model, frame["text"].astype(str).tolist())
    lines = [
        f"Perm's validation and test parts ({len(frame):,} appeals the topic model did not learn from; "
        "topic groups not given):",
        "",
        "| grouping | groups | groups > 1 | appeals in them | largest | groups mixing topic groups | time |",
        "|---|---|---|---|---|---|---|",
    ]
    grouped = pd.DataFrame()
    for label, data in (
        ("text + places only", frame),
        ("text + places + topic model's best topics", frame.assign(topic_top3=frame["text"].map(tops))),
    ):
        started = time.perf_counter()
        grouped = group_frame(data, config)
        lines.append(_group_stats(grouped, label, time.perf_counter() - started))
    return [*lines, "", *audit_lines(grouped)]


AUDIT = Path(__file__).parent / "audit" / "perm_joins.csv"


def audit_lines(grouped: pd.DataFrame) -> list[str]:
    """How many of the joins read by hand (evaluation/audit/perm_joins.csv: Perm ids, no text) the grouper
    still makes, wrong and right apart. The pairs were sampled from the grouper's own joins on Perm's
    unseen parts with topics; an unlabelled new join counts nowhere, so this shows what a change undoes,
    not the precision of what it adds."""
    audit = pd.read_csv(AUDIT)
    group_of = grouped.set_index("id")["group_id"]
    known = audit["id_a"].isin(group_of.index) & audit["id_b"].isin(group_of.index)
    audit = audit[known]
    audit = audit.assign(joined=group_of[audit["id_a"]].to_numpy() == group_of[audit["id_b"]].to_numpy())
    lines = [
        f"Joins read by hand ({len(audit)} pairs of one group, not exact repeats, sampled from the grouper's "
        "own joins on these parts with topics and labelled by reading whether both appeals describe one "
        "problem; `choose`: the 60 read before min_content_terms and placeless_possible were set, `check`: "
        "58 more read before either was applied and looked at for the later changes, `validate`: 59 more, "
        "sampled from the joins of the code of 2026-11-29's start and read after every change but the last "
        "(stop words, not kept) was chosen, used for no choice; evaluation/audit/perm_joins.csv holds ids, "
        "no text). Still joined now:",
        "",
        "| set | sample | one problem | still joined | other problems | still joined |",
        "|---|---|---|---|---|---|",
    ]
    for (name, sample), part in audit.groupby(["set", "sample"], sort=True):
        right, wrong = part[part["same_problem"] == 1], part[part["same_problem"] == 0]
        lines.append(f"| {name} | {sample} | {len(right)} | {int(right['joined'].sum())} | {len(wrong)} | "
                     f"{int(wrong['joined'].sum())} |")
    return [*lines, ""]


def perm_section(config: DedupeConfig, data_dir: Path) -> list[str]:
    from appeals.datasets import load_dataset

    frame = load_dataset("perm_promobot_2023", data_dir).frame
    frame = frame.assign(gold_topic_group=frame["topic_group"])
    lines = [
        "### Real data: Perm (perm_promobot_2023, all 18,371 rows here; no dates, so no time window)",
        "",
        "| grouping | groups | groups > 1 | appeals in them | largest | groups mixing topic groups | time |",
        "|---|---|---|---|---|---|---|",
    ]
    grouped = None
    for label, data in (
        ("text + places + gold topic group", frame),
        ("text + places only (topic unknown)", frame.assign(topic_group=None)),
    ):
        started = time.perf_counter()
        result = group_frame(data, config)
        lines.append(_group_stats(result, label, time.perf_counter() - started))
        grouped = grouped if grouped is not None else result
    assert grouped is not None
    lines += [
        "",
        "Exact duplicates (with the gold topic group given to the grouper; exact and normalised "
        "repeats are grouped whatever their labels):",
        "",
        *_exact_checks(frame, grouped),
        "",
        _label_noise(frame),
        "",
    ]
    return lines


def run(data_dir: Path | None) -> str:
    config = load_dedupe_config()
    parts = [
        "## Duplicate and mass-appeal grouping",
        "",
        f"Config: training/configs/dedupe.toml (shingles {config.shingle_size} chars, MinHash "
        f"{config.num_perm} permutations in {config.bands} bands, window {config.window_days:g} days, "
        f"terms: {config.terms}).",
        "",
    ]
    if data_dir is None or not (data_dir / "perm_promobot_2023").is_dir():
        parts += [*pair_section(config), "Perm check skipped: no real data folder (set APPEALS_DATA_DIR)."]
    else:
        model, split = perm_model("topic", data_dir)
        group_model, _ = perm_model("topic_group", data_dir, split)
        parts += [*pair_section(config, model, group_model), *perm_section(config, data_dir),
                  *unseen_section(config, model, split)]
    return "\n".join(parts)
