"""natasha's NER as a second opinion on people's names, run only where the rules leave a doubt.

natasha's news NER finds persons the rules miss («Пенсионерка Овчинникова ждёт…») but costs about
2-4 ms a text. Most appeals name nobody, so it runs only on short windows around capitalised words
that could be names (pymorphy3 tags Name/Surn/Patr, an off-dictionary word or a surname ending)
and that the rules have not masked or placed already; the windows of many texts go through the
tagger in batches.
"""

from __future__ import annotations

from collections.abc import Sequence

from appeals.names import NAME1, PATR, SURN, UNKNOWN, capitalised_words, in_place_context
from appeals.nlp import get_ner_tagger

Span = tuple[int, int, str]
WINDOW_CHARS = 60
_STRONG = frozenset({NAME1, SURN, PATR, UNKNOWN})


def _covered(start: int, spans: Sequence[Span]) -> bool:
    return any(s <= start < e for s, e, _ in spans)


def _doubtful(word: str, tags: frozenset[str]) -> bool:
    """A word worth asking NER about: a surname, patronymic, an unambiguous first name or an unknown
    word; not a word in capitals (shouted text) and not a word that is only sometimes a first name."""
    return bool(tags & _STRONG) and not word.isupper()


def candidate_windows(text: str, spans: Sequence[Span]) -> list[tuple[int, int]]:
    """Windows (start, end) around name-like capitalised words not yet masked or placed."""
    windows: list[tuple[int, int]] = []
    for start, end, tags in capitalised_words(text):
        if not _doubtful(text[start:end], tags) or _covered(start, spans) or in_place_context(text, start, end):
            continue
        lo = text.rfind(" ", 0, max(0, start - WINDOW_CHARS)) + 1
        hi = text.find(" ", min(len(text), end + WINDOW_CHARS))
        hi = len(text) if hi < 0 else hi
        if windows and lo <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(hi, windows[-1][1]))
        else:
            windows.append((lo, hi))
    return windows


def ner_persons_many(texts: Sequence[str], spans: Sequence[Sequence[Span]],
                     batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
    """NER entities (start, end, label) found in the candidate windows of each text."""
    jobs = [(i, lo, texts[i][lo:hi]) for i, text in enumerate(texts)
            for lo, hi in candidate_windows(text, spans[i])]
    found: list[list[tuple[int, int, str]]] = [[] for _ in texts]
    tagger = get_ner_tagger()
    for b in range(0, len(jobs), batch_size):
        batch = jobs[b:b + batch_size]
        for (i, lo, _), markup in zip(batch, tagger.map([j[2] for j in batch]), strict=True):
            found[i].extend((lo + sp.start, lo + sp.stop, sp.type) for sp in markup.spans)
    return found
