"""Machinery of the urgency labelling functions: what a function sees and how it matches lemmas.

A labelling function (LF) reads one appeal as a `Context` (clean text, lemma tokens, month) and either
votes for one urgency level or abstains. The functions themselves live in `appeals.urgency_lfs`;
this module holds the matching helpers they share, so each function is one readable line of words.

Negation is handled once, here: «не» is glued to the next lemma («газом не пахнет» → `не_пахнуть`),
so a plain `пахнуть` pattern cannot match it, and `negated` looks for «нет»/«отсутствовать» right
after a noun («запаха газа нет»). Failure patterns may ask for the glued form on purpose
(`не_дать` for «не дали отопление»).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

ABSTAIN = ""
NEGATORS = frozenset({"нет", "отсутствовать", "отсутствие"})
BEFORE_NEGATORS = frozenset({"нет", "без", "ни"})
_NUMBER_RE = re.compile(r"\d+")


def glue_negation(lemmas: Sequence[str]) -> list[str]:
    """Join «не» with the following lemma: ["не", "пахнуть"] → ["не_пахнуть"].

    «ни» stays apart: «ни тепла ни воды» is a stated absence, read by the failure patterns."""
    out: list[str] = []
    skip = False
    for i, lemma in enumerate(lemmas):
        if skip:
            skip = False
            continue
        if lemma == "не" and i + 1 < len(lemmas) and lemmas[i + 1] not in ("не", "ни"):
            out.append(f"{lemma}_{lemmas[i + 1]}")
            skip = True
        else:
            out.append(lemma)
    return out


@dataclass(frozen=True)
class Context:
    """One appeal as the labelling functions see it."""

    text: str
    tokens: tuple[str, ...]
    month: int | None = None
    in_heating_season: bool = True

    # Computed once per appeal and kept on it (the functions ask about 50 times an appeal; a cache keyed
    # by the tokens would hash the whole tuple on every question).
    @cached_property
    def token_set(self) -> frozenset[str]:
        return frozenset(self.tokens)

    @cached_property
    def joined(self) -> str:
        """The tokens after one space each: «␠prefix» occurs in it exactly where a token starts with it
        (lemmas hold no spaces; a glued negation is «не_пахнуть»)."""
        return "".join(" " + tok for tok in self.tokens)

    @cached_property
    def lower(self) -> str:
        return self.text.lower().replace("ё", "е")


def make_context(text: str, lemmas: str, month: int | None, heating_months: Iterable[int]) -> Context:
    """Build the context; an unknown month counts as inside the heating season (see urgency.toml)."""
    months = frozenset(heating_months)
    season = True if month is None else month in months
    return Context(text=text, tokens=tuple(glue_negation(lemmas.split())), month=month,
                   in_heating_season=season)


class Vocab(frozenset):
    """A set of lemmas; items ending in `*` are prefixes (kept apart so matching stays fast)."""

    prefixes: tuple[str, ...]

    def __new__(cls, items: Iterable[str]) -> Vocab:
        items = tuple(items)
        self = super().__new__(cls, (i for i in items if not i.endswith("*")))
        self.prefixes = tuple(i[:-1] for i in items if i.endswith("*"))
        return self

    def __or__(self, other: frozenset[str]) -> Vocab:  # type: ignore[override]
        # Functions write «FAIL | W(...)» in their bodies: built once per pair of vocabularies.
        return _union(tuple(_items(self)), tuple(_items(other)))

    def __sub__(self, other: frozenset[str]) -> Vocab:  # type: ignore[override]
        return _difference(tuple(_items(self)), frozenset(other))

    def matches(self, token: str) -> bool:
        return token in self or (bool(self.prefixes) and token.startswith(self.prefixes))


def _items(vocab: frozenset[str]) -> list[str]:
    extra = [p + "*" for p in getattr(vocab, "prefixes", ())]
    return [*vocab, *extra]


@lru_cache(maxsize=1024)
def _union(first: tuple[str, ...], second: tuple[str, ...]) -> Vocab:
    return Vocab([*first, *second])


@lru_cache(maxsize=1024)
def _difference(items: tuple[str, ...], other: frozenset[str]) -> Vocab:
    return Vocab([i for i in items if i.endswith("*") or i not in other])


@lru_cache(maxsize=4096)
def words(*items: str) -> Vocab:
    """A set of lemmas; an item ending in `*` matches every lemma with that prefix (cached)."""
    return Vocab(items)


def _as_vocab(vocab: frozenset[str]) -> Vocab:
    return vocab if isinstance(vocab, Vocab) else Vocab(vocab)


def positions(ctx: Context, vocab: frozenset[str]) -> list[int]:
    """Indexes of the tokens matching `vocab`."""
    v = _as_vocab(vocab)
    if v.isdisjoint(ctx.token_set) and not (
            v.prefixes and any(" " + p in ctx.joined for p in v.prefixes)):
        return []  # most functions' words are not in most appeals: no per-token scan then
    if not v.prefixes:
        return [i for i, tok in enumerate(ctx.tokens) if tok in v]
    prefixes = v.prefixes
    return [i for i, tok in enumerate(ctx.tokens) if tok in v or tok.startswith(prefixes)]


def negated(ctx: Context, i: int, after: int = 2) -> bool:
    """True when token `i` is negated: «нет»/«отсутствовать» within `after` tokens after it,
    or «нет»/«без»/«ни» right before it («без запаха», «ни тепла»)."""
    toks = ctx.tokens
    if i > 0 and toks[i - 1] in BEFORE_NEGATORS:
        return True
    return any(tok in NEGATORS for tok in toks[i + 1:i + 1 + after])


def has(ctx: Context, vocab: frozenset[str], *, allow_negated: bool = True) -> bool:
    """Some token matches `vocab` (and, unless allowed, is not negated)."""
    return any(allow_negated or not negated(ctx, i) for i in positions(ctx, vocab))


def near(ctx: Context, first: frozenset[str], second: frozenset[str], window: int = 4,
         *, allow_negated: bool = True) -> bool:
    """A token of `first` within `window` tokens of a token of `second` (either order)."""
    right = positions(ctx, second)
    if not right:
        return False
    for i in positions(ctx, first):
        if not allow_negated and negated(ctx, i):
            continue
        if any(abs(i - j) <= window and (allow_negated or not negated(ctx, j)) for j in right):
            return True
    return False


def numbers(ctx: Context) -> list[int]:
    """Integer tokens of the lemma stream (temperatures, years, day counts)."""
    return [int(tok) for tok in ctx.tokens if _NUMBER_RE.fullmatch(tok) and len(tok) <= 4]


def is_question(ctx: Context) -> bool:
    return "?" in ctx.text


@dataclass(frozen=True)
class LabellingFunction:
    """A named rule voting for `level` when `fires(ctx)` is true, abstaining otherwise."""

    name: str
    level: str
    fires: Callable[[Context], bool] = field(repr=False)
    doc: str = ""

    def __call__(self, ctx: Context) -> str:
        return self.level if self.fires(ctx) else ABSTAIN


def lf(level: str, doc: str) -> Callable[[Callable[[Context], bool]], LabellingFunction]:
    """Decorator: turn `def cr_gas(ctx) -> bool` into a LabellingFunction named `cr_gas`."""

    def wrap(func: Callable[[Context], bool]) -> LabellingFunction:
        return LabellingFunction(name=func.__name__, level=level, fires=func, doc=doc)

    return wrap
