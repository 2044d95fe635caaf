"""`make eval` section "trends": spike detection and emerging problems on simulated streams.

Streams come from evaluation/simulate_stream.py (real Perm appeals, synthetic dates and districts,
planted spikes, one held-out topic). Spikes are detected on the true topics; emerging problems on
the topics and confidences of a quick TF-IDF + logistic model trained on the grouped train part
without the held-out topic (the streams draw only from the disjoint pool part).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.simulate_stream import (
    Pool,
    SimulationConfig,
    load_pool,
    load_simulation_config,
    simulate_stream,
    train_topic_model,
)

PURITY_TARGET = 0.7


def score_pool(model: Any, pool: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    proba = model.predict_proba(pool["lemmas"])
    return model.classes_[proba.argmax(axis=1)], proba.max(axis=1)


def stream_weeks(truth: dict) -> list[date]:
    start = date.fromisoformat(truth["start"])
    return [start + timedelta(weeks=w) for w in range(truth["weeks"])]


def spike_results(alerts: list, truth: dict) -> list[dict]:
    """Each planted spike with `first_week`: an alert on its topic (and district, or none) raised at the
    end of its first week whose period covers that week; and `found`: such an alert raised at the end
    of any week of the spike (a two-week alert covers the week before or the spike's two weeks)."""
    out = []
    for spike in truth["spikes"]:
        start = date.fromisoformat(spike["start"])
        first_end, last_end = start + timedelta(days=6), start + timedelta(days=7 * spike["weeks"] - 1)
        ends = [a.period_end for a in alerts
                if a.topic == spike["topic"] and (a.district is None or a.district == spike["district"])]
        out.append({**spike, "first_week": first_end in ends,
                    "found": any(first_end <= end <= last_end for end in ends)})
    return out


def false_alerts(alerts: list, truth: dict, topics: list[str], min_weeks: int) -> tuple[int, int]:
    """(topic-weeks with an alert but no planted spike, topic-weeks without a planted spike)."""
    weeks = stream_weeks(truth)[min_weeks:]
    planted = {(s["topic"], date.fromisoformat(s["start"]) + timedelta(weeks=k))
               for s in truth["spikes"] for k in range(s["weeks"])}
    clean = {(t, w) for t in topics if t != truth["held_out_topic"] for w in weeks} - planted
    alerted = {(a.topic, a.period_end - timedelta(days=6)) for a in alerts}  # the week an alert is raised
    return len(alerted & clean), len(clean)


def emerging_result(stream: pd.DataFrame, pred: np.ndarray, proba: np.ndarray, truth: dict,
                    cfg) -> dict:
    """Best purity of the held-out topic among the shown clusters, and that cluster's rank."""
    from appeals.emerging import find_emerging
    from appeals.trends import prepare_frame

    scored = stream.assign(topic=pred[stream["pool_index"]], topic_proba=proba[stream["pool_index"]])
    frame, _ = prepare_frame(scored)
    true_topic = stream["topic"].to_numpy()
    clusters = find_emerging(frame, cfg)
    best = {"purity": 0.0, "rank": None, "size": 0, "texts": 0}
    for c in clusters:
        purity = float(np.mean(true_topic[c.members] == truth["held_out_topic"]))
        if purity > best["purity"]:
            best = {"purity": purity, "rank": c.rank, "size": c.size, "texts": c.texts}
    low = frame["topic_proba"] < cfg.max_confidence
    held = true_topic == truth["held_out_topic"]
    best["held_out_low_share"] = float(low[held].mean()) if held.any() else 0.0
    return best


def evaluate_streams(pool: Pool, sim: SimulationConfig, data_limit: int | None = None,
                     cfg: Any = None) -> dict:
    from appeals.spikes import detect_spikes
    from appeals.trends import load_trends_config, prepare_frame

    cfg = cfg or load_trends_config()
    models = {t: score_pool(train_topic_model(pool.train, t, sim.seed), pool.pool) for t in pool.held_out}
    spikes, fa, clean, emerging = [], 0, 0, []
    for i in range(data_limit or sim.streams):
        stream, truth = simulate_stream(pool, sim, i)
        frame, _ = prepare_frame(stream.drop(columns=["text"]))
        alerts = detect_spikes(frame, cfg.spikes)
        spikes += [{**r, "stream": i} for r in spike_results(alerts, truth)]
        f, c = false_alerts(alerts, truth, sorted(stream["topic"].unique()), cfg.spikes.min_baseline_weeks)
        fa, clean = fa + f, clean + c
        pred, proba = models[truth["held_out_topic"]]
        emerging.append({"stream": i, "topic": truth["held_out_topic"],
                         **emerging_result(stream, pred, proba, truth, cfg.emerging)})
    return {"spikes": pd.DataFrame(spikes), "false": fa, "clean": clean,
            "emerging": pd.DataFrame(emerging)}


def _rate(found: pd.Series) -> str:
    return f"{found.mean():.1%} ({int(found.sum())}/{len(found)})" if len(found) else "n/a"


def render(result: dict, sim: SimulationConfig, streams: int) -> str:
    spikes, em = result["spikes"], result["emerging"]
    big, half = spikes[spikes["magnitude"] >= 1.0], spikes[spikes["magnitude"] == 0.5]
    per50 = 50 * result["false"] / max(result["clean"], 1)
    hits = em[em["purity"] >= PURITY_TARGET]
    lines = [
        "## Demand trends: spikes and emerging problems (simulated streams)", "",
        f"{streams} streams of {sim.weeks} weeks, about {sim.weekly_volume:.0f} appeals a week drawn from the "
        f"grouped pool part ({sim.pool_share:.0%}) of `{sim.dataset}` with a weekday rhythm, volume noise "
        f"{sim.volume_noise}, topic drift {sim.topic_drift}/week; {sim.spikes.per_stream} spikes per stream "
        f"in topics or topic x district cells with at least {sim.spikes.min_cell_mean:.0f} appeals a week; "
        f"the held-out topic comes in the last {sim.held_out.weeks} weeks, which draw every topic only from "
        f"{sim.held_out.fresh_share:.0%} of its texts, kept out of the earlier weeks (a recent appeal is never an "
        "earlier text again; within those weeks each text comes about seven times, as the pool is small); "
        "configs training/configs/trends.toml and trends_eval.toml.", "",
        "| measure | target | measured |", "|---|---|---|",
        f"| spikes of +100 % or more found in their first week | >= 90 % | {_rate(big['first_week'])} |",
        f"| spikes of +50 % found while they last (one or two weeks) | >= 60 % | {_rate(half['found'])} |",
        f"| spikes of +50 % found in their first week (no target) | | {_rate(half['first_week'])} |",
        f"| false alerts per 50 topic-weeks without a spike | <= 1 | {per50:.2f} "
        f"({result['false']} of {result['clean']} topic-weeks) |",
        f"| held-out topic among the emerging clusters, purity >= 70 % | yes | {len(hits)}/{len(em)} streams |",
        "", "Found by magnitude, level and duration (in the first week / while the spike lasts):", "",
        "| magnitude | topic level | topic x district | lasting 1 week | lasting 2 weeks |", "|---|---|---|---|---|"]
    for mag, part in spikes.groupby("magnitude"):
        cells = [part[part["district"].isna()], part[part["district"].notna()], part[part["weeks"] == 1],
                 part[part["weeks"] == 2]]
        lines.append(f"| +{mag:.0%} | " + " | ".join(f"{_rate(c['first_week'])} / {_rate(c['found'])}"
                                                       for c in cells) + " |")
    lines += ["", "Emerging problems per held-out topic (best cluster purity, its rank among the shown "
              "clusters, the distinct texts among its recent appeals, share of the topic's appeals below the "
              "confidence threshold):", "",
              "| held-out topic | streams | median purity | hits | median rank | median distinct texts | "
              "low-confidence share |",
              "|---|---|---|---|---|---|---|"]
    for topic, part in em.groupby("topic"):
        lines.append(f"| {topic} | {len(part)} | {part['purity'].median():.2f} | "
                     f"{int((part['purity'] >= PURITY_TARGET).sum())} | {part['rank'].median()} | "
                     f"{part['texts'].median():.0f} | {part['held_out_low_share'].median():.2f} |")
    return "\n".join(lines + DEV_NOTES) + "\n"


# Settings chosen on dev streams (other seed, other held-out topics; `python -m evaluation.tune_trends`),
# recorded here because the eval streams above were not used to choose them.
DEV_NOTES = [
    "", "Settings were chosen on 20 dev streams (seed + 7919, held-out topics other than the ones above; "
    "`python -m evaluation.tune_trends --set section.key=value ...`), not on these streams:", "",
    "- Emerging problems (held-out topic in a shown cluster of purity >= 70 %, dev): the earlier method "
    "(all terms, clusters of ~25 texts; now `emerging.burst_alpha=1.1 emerging.burst_min_ratio=1.0 "
    "emerging.background_weight=1.0`) 10/20 (11/20 counting clusters ranked below the 10 shown); all terms "
    "with clusters of ~10 / ~6 texts 10/20 / 12/20; only recent texts holding a term whose share grew "
    "significantly (binomial p < 0.001, x1.5), other terms weighted 0.5, clusters of ~6 texts 15/20 (kept); "
    "the same with clusters of ~4 / ~10 texts 13/20 / 14/20, other terms at 0.3: 12/20, p < 0.01: 13/20. "
    "The held-out appeals are only 2-5 % of the poorly explained recent ones whatever the confidence "
    "threshold (0.1 .. 0.35), and their nearest TF-IDF neighbours are no more often recent than chance, "
    "so the selection by new vocabulary, not the threshold, is what makes a pure cluster.",
    "- Spikes (+50 % found / false alerts per 50 topic-weeks, 60 planted +50 % spikes, dev): as configured "
    "61.7 % / 0.56; false_alarm_rate 0.04: 63.3 % / 0.77, 0.05: 63.3 % / 0.99; and in a throwaway patch of score_series (not kept): median "
    "baseline: 63.3 % / 0.75; expected scaled by the week's robust volume factor: 60.0 % / 0.56; one pooled overdispersion 0.003: "
    "63.3 % / 0.68, 0.01: 51.7 % / 0.54; district share of alpha 0.7: 61.7 % / 0.51. None beat the current "
    "detector by more than one spike in 60, so it is unchanged: a +50 % spike on a cell of 25 appeals a "
    "week is about 2.5 Poisson standard deviations, near the limit of any test at this false-alarm rate.",
    "- Then a two-week test (sums of two weeks against earlier two-week sums, alerting only where neither week "
    "was flagged alone; `spikes.pair_alpha_share` of the false-alarm rate), and +50 % spikes counted as found "
    "when an alert comes while they last (the issue's criterion; the +100 % target keeps \"in their first "
    "week\"). +50 % found (first week) / +100 % first week / false alerts per 50 topic-weeks, dev: as before "
    "(false_alarm_rate 0.03, no two-week test) 66.7 % (61.7 %) / 97 % / 0.56; false_alarm_rate 0.05 alone "
    "70.0 % (63.3 %) / 98 % / 0.99; two-week share 0.3 at 0.03: 65.0 % / 97 % / 0.47; 0.5 at 0.03: "
    "68.3 % / 95 % / 0.45; 0.5 at 0.04: 68.3 % / 97 % / 0.60; **0.5 at 0.05: 71.7 % (61.7 %) / 97 % / 0.74 "
    "(kept)**; 0.5 at 0.06: 73.3 % / 97 % / 0.89; 0.7 at 0.05: 73.3 % (60.0 %) / 95 % / 0.75. 0.5 at 0.05 "
    "keeps a margin on both other targets; the three best differ by one spike in 60.",
    "- Then splitting large clusters (`emerging.split_above`: a cluster of more than that many distinct "
    "recent texts is cut in two by k-means until none is), because the dev misses were large clusters mixing "
    "the new topic with its neighbours (purity 0.5-0.68). Held-out topic in a >= 70 % pure shown cluster, dev "
    "streams 0-19: never split 16/20, above 8 texts 18, **10: 19 (kept)**, 12: 18, 16: 16, 24: 16; core "
    "similarity 0.4 (with 12) 18, 0.4 and 0.5 without splitting 16. On 20 more dev streams (20-39): never "
    "split 16, 10: 19, 12: 19 (38 of 40 against 32 of 40). On the eval streams above, which were run for "
    "12 and then 10 and not used to choose: never split 18/20, 12: 18/20, 10: 17/20; the best cluster is ranked higher "
    "for four of the five topics. The dev gain does not show on these streams; the remaining misses are topics spread "
    "over several clusters of 40-50 % each (dev: «Очередь»). With splitting at 10, the first k-means "
    "with clusters of ~10 or ~15 texts instead of ~6: dev streams 0-19 and 40-59 together 33 and 35 of 40 "
    "against 35 (16 of 20 on 40-59 as configured, whose misses have no cluster above 0.64 purity at any "
    "rank), so ~6 stays.",
    "- Later (2026-11-28 15:50, dev streams 0-59, held-out topic in a >= 70 % pure shown cluster; 54 of 60 as "
    "configured, misses: «Очередь» three times, «Жалобы на управляющие компании», «Нехватка ... врачей», «Уборка/Вывоз "
    "мусора»): the TF-IDF terms smoothed by navec (each text also gets the mean navec vector of its "
    "weighted terms, at 0.3 / 0.6 / 1.0 of the TF-IDF part) 55 / 54 / 53, then on 40 more dev streams (60-99) "
    "32 of 40 without and 35 with 0.3 or 0.5, so **0.3 was kept** (`emerging.semantic_weight`; 90 of 100 "
    "dev streams against 86, mean best purity 0.91 -> 0.93 and 0.86 -> 0.90). On the eval streams above, run "
    "once afterwards, it gave 16 of 20 against 17 (one «График движения общественного транспорта» stream "
    "fewer): the dev gain does not show there, as with the splitting. Not kept: word bigrams 52, with min_df 3 50; max_df 0.2 54; "
    "burst ratio 2.0 44; burst weight 5 51; clusters of ~4 texts split above 8 50; background weight 0.3 53; "
    "HDBSCAN instead of k-means (min cluster 3 / 5) 39 / 21; agglomerative, average linkage at cosine distance "
    "0.6 / 0.75, complete at 0.85: 41 / 40 / 41. In two of the «Очередь» misses only 2-4 of its ~40 texts hold a "
    "term whose share grew (the word «очередь» is common in other topics), so no clustering can find them; in the "
    "others its texts hold the same grown terms as the neighbours' («компания», «управлять», «вывоз») and the "
    "best clusters are 0.4-0.6 pure. In these streams every text of the known topics also occurs before the recent "
    "weeks (a pool of ~5,400 texts drawn ~20 times each), so \"seen before\" would separate them perfectly; "
    "members are chosen without looking at a text's own earlier occurrences (only the ranking counts earlier "
    "appeals near a cluster's centre), since real streams do not repeat texts that way.",
    "- Then (2026-11-28 18:00-19:40) that caveat was mended in the simulator. The last `held_out.weeks` weeks "
    "now draw every topic, the held-out one included, only from `held_out.fresh_share` (30 %) of its texts, which "
    "the earlier weeks never use: a recent appeal is never an earlier text again, and every text of those weeks "
    "comes about equally often (about seven times, as the pool is small; about 400 distinct texts a week, near "
    "Perm's real volume, the held-out topic bringing 10-60 of them in four weeks). Everything above this line, dev and eval, was "
    "measured on the earlier streams. Held-out topic in a >= 70 % pure shown cluster on the new dev streams:",
    "  - With the settings above it was **0 of 40** (0-39) on a first version where the held-out topic still drew "
    "from all its texts: the words of a few fresh texts of known topics passed the burst test by their repeats "
    "alone (the burst test had profited from repeats before). Terms now burst by the distinct texts that hold "
    "them (kept; a resident or a template sending one text again is not new vocabulary): 30 of 40 on that "
    "version, where the held-out topic's texts came about twice each against seven times for the others, which "
    "favoured it; **14 of 40 (0-39) and 16 of 40 (40-79)** once it drew from the same share (the streams kept).",
    "  - Not kept, on the kept streams 0-39 (14 as configured): burst_alpha 0.01: 15, with burst_min_ratio 2: 18 "
    "(on 40-79: 14 against 16), with ratio 3: 12; burst_alpha 0.05 with ratio 2: 9; texts_per_cluster 10: 15, with "
    "alpha 0.01 and ratio 2: 17; clusters ranked by distinct texts instead of appeals: 14; clusters ranked by the "
    "share of the 30 texts nearest their centre that are new to the recent weeks: 17 with every recent text "
    "clustered, 18 with only those holding a burst term. None differs from the configuration by more than the "
    "two halves of the dev streams differ from each other.",
    "  - Not kept, on the first version (30 of 40 as configured): semantic_weight 0: 30; burst_alpha 1e-4: 29, "
    "0.01: 7; split_above 16: 27; texts_per_cluster 8 / 10 / 15: 30 / 33 / 32 (on 40-79 6: 31, 10: 30); only "
    "the clustered texts whose 20 nearest texts are mostly new to the recent weeks (share >= 0.3 / 0.5): 30 / 30.",
    "  - Why it misses: a held-out topic with ~40 texts in the pool now brings about 12 distinct texts in four weeks "
    "among ~800 poorly explained ones. In dev stream 3 («Отлов безнадзорных собак и кошек») no word of it passed "
    "the burst test (a word in 12 recent texts and 20 earlier ones is within chance at this rate of recent texts) "
    "and the only bursty words were «один» and «космонавт», so the shown clusters gathered around those. A new "
    "problem that a dozen residents describe in a month is at the edge of what word counts show; the spike "
    "figures of the new draws changed with the draws, not with the detector.",
    "  - Also tried (dev 0-19, outside the pipeline): the poorly explained appeals grouped by their predicted topic and "
    "ranked by the growth of each group (binomial test of recent against earlier counts), the held-out topic's "
    "appeals being expected to swell the groups of its neighbours: 1 of 20. The grown groups were mostly a few fresh "
    "texts of a known topic that the model happens to explain poorly, each counted about seven times.",
    "  - Later (2026-11-28 20:40-21:00, dev 0-19, 7 of 20 as configured): word pairs instead of single words (pairs "
    "co-occurring in at least four recent texts, binomial test on the distinct texts holding both): the most "
    "significant pairs were chance pairs of common words («принять+просить», «один+они»); in stream 3 the held-out "
    "topic's words («собака» 12 recent / 6 earlier texts, p = 0.002; «стая» 5 / 0, p = 0.003) stay below what "
    "thousands of tested words reach by chance. Soft evidence (each word's -log10 p, texts clustered when the sum "
    "over their words reaches 3-8, weights scaled over 1-4 of it): 4, 5, 5, 5, 6, 7, 8 and 10 of 20 for eight "
    "nearby settings, so the spread between settings is as large as any gain. Not kept.",
    "- Later (2026-11-29 00:50-01:40, dev streams): 6 of the 8 dev hits of streams 0-19 were clusters of **one "
    "distinct text** sent about seven times (the simulator repeats every recent text), which a real stream would "
    "not give: a mass appeal, not a new kind of problem. A shown cluster now needs `emerging.min_cluster_texts` "
    "(3) distinct texts; counting only such clusters, dev 0-19 gives 5 of 20 with the floor or without it, and dev "
    "20-39 6 of 20 either way (8 of 20 counting one-text clusters). Pieces of one problem cut apart by the small "
    "clusters are now shown as one when their term centres are >= 0.9 alike (`emerging.merge_similarity`): dev "
    "0-19 5 of 20 as at 1.0 (never merged; one stream's pure cluster was merged into a mixed one, another's "
    "made purer), 0.8 4, 0.7 3 (the same on the TF-IDF-and-navec vectors). Not kept, dev 0-19 (5 as "
    "configured): core_similarity 0.4 / 0.5 5 / 6; split_above 6 7, with merging at 0.8 5; texts_per_cluster 4 6; "
    "assign_similarity 0.6 5. Outside the pipeline (dev 0-9), as novelty scores of the recent poorly explained "
    "texts (held-out against the others, ROC AUC; share of held-out among the 20 best-scored, where it makes "
    "2.4 % of them): the share of recent texts among each text's 30 nearest TF-IDF neighbours over all texts of "
    "the 16 weeks 0.68 / 0.16, over the topic model's probabilities 0.65 / 0.09, both 0.74 / 0.21; a logistic "
    "regression telling recent from earlier poorly explained texts (cross-fitted) 0.67 / 0.12. None is sharp "
    "enough to pick a dozen texts out of 1,300.",
    "  - On the eval streams above, measured after the choice: the earlier settings' 3 of 20 were 2 of 20 counting "
    "only clusters of at least 3 distinct texts (two of the three hits were one text repeated, one of them «График "
    "движения общественного транспорта»); with the floor and without merging also 2 of 20; as configured (merging "
    "at 0.9) 1 of 20, one «отопление» cluster of 0.72 being merged with a neighbour. One stream either way, as on dev.",
    "- **Kept, 2026-11-29 06:10-06:50: a novelty filter on the texts clustered** (`emerging.novelty_neighbours`, "
    "`novelty_min_share`). Outside the pipeline (dev streams 0-7) the share of recent texts among each recent poorly "
    "explained text's nearest texts (every analysed text of the 16 weeks, over the vectors that are clustered) "
    "separates the held-out topic's texts from the rest with ROC AUC 0.72-0.73 at 3-10 neighbours (0.68-0.70 over "
    "plain TF-IDF); the 30 best hold 4-6 of its 10-40 texts. As a filter: of the recent texts holding an unusual "
    "word, only those whose 5 nearest texts are at least 60 % recent are clustered, and with it the burst test can be "
    "laxer (alpha 0.01 instead of 0.001), since a word that passes by chance sits among earlier texts too. Held-out "
    "topic in a >= 70 % pure shown cluster, dev streams 0-19 and a second dev set of 20 (seed + 1): as before 6 + 3 "
    "of 40; alpha 0.01 alone 6 + 6; the filter with alpha 0.01 9 + 7 (kept); the filter alone (alpha 0.001) 6 "
    "(first set); 3 neighbours at 0.67 with alpha 0.01 6, 10 at 0.6 7, 5 at 0.8 with alpha 0.001 7. On the eval streams above, run once after the "
    "choice: 1 of 20 before, 3 of 20 after (three of the four «отопление» streams). Still far from every stream.",
    "- Not kept, 2026-11-29 18:35-18:40 (dev streams 0-19, 9 of 20 as configured): the burst test against the topic "
    "model's own training texts, words new to what the model learnt from rather than to the stream's earlier weeks "
    "(document frequencies of the lemmas of the training part without the held-out topic, about 12,000 texts, "
    "instead of or beside the earlier poorly explained texts). Added to the earlier texts as the background: 6 of "
    "20; required as a second test beside the present one: 7 of 20. Against every training text, words common to "
    "any poorly explained appeal (questions, complaints about answers) pass as new, and the held-out topic's few "
    "words are lost among them.",
    "- Not kept, 2026-11-30 02:10-02:25 (dev streams 0-19, 9 of 20 as configured): the earlier texts that the"
    " known topics explain well as extra neighbours in the novelty test (up to 5,000 or 20,000 distinct texts"
    " of the 12 earlier weeks, in the same weighted TF-IDF and navec terms), so that a fresh text of a known "
    "topic finds its kin among confidently scored appeals too. 5,000 at share 0.6: 7 of 20; at 0.4: 9; 20,000"
    " at 0.4 / 0.6: 9 / 7; 5,000 with 10 neighbours at 0.5: 7. Spikes unchanged. No gain: the held-out "
    "topic's few texts are not nearer each other than a known topic's fresh texts are to its earlier ones.",
]


def run(data_dir: Path | None) -> str:
    if data_dir is None or not (data_dir / "perm_promobot_2023").is_dir():
        return "## Demand trends: spikes and emerging problems\n\nSkipped: the real datasets were not found.\n"
    sim = load_simulation_config()
    pool = load_pool(data_dir, sim)
    return render(evaluate_streams(pool, sim), sim, sim.streams)
