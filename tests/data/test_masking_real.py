"""After masking, the real datasets hold no phone number or e-mail pattern (counts only, never texts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appeals.datasets import load_dataset
from appeals.masking import EMAIL_AUDIT_RE, PHONE_AUDIT_RE, count_leftovers, mask_many
from appeals.text import clean_text

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.mark.parametrize("name", ["perm_promobot_2023", "kursk_2022", "ryazan_nashdom_2019"])
def test_no_phone_or_email_left_after_masking(real_data_dir: Path, name: str) -> None:
    texts = [clean_text(t) for t in load_dataset(name, real_data_dir).frame["text"]]
    before = count_leftovers(texts)
    # The audit patterns must find something to remove, or the test proves nothing (Ryazan has 2 + 1).
    assert before["phone"] + before["email"] > 0
    after = count_leftovers(mask_many(texts, ner=False))  # phones and e-mails are the rules' job
    assert (after["phone"], after["email"]) == (0, 0), f"{name}: leftovers after masking {after}"


@pytest.mark.parametrize(
    ("text", "phone", "email"),
    [("8 902 123-45-67", True, False), ("+7 (342) 212-34-56", True, False), ("a.b@mail.ru", False, True),
     ("в 2023 году", False, False)],
)
def test_audit_patterns(text: str, phone: bool, email: bool) -> None:
    assert (bool(PHONE_AUDIT_RE.search(text)), bool(EMAIL_AUDIT_RE.search(text))) == (phone, email)


def test_spacy_lemmas_equal_fast_path_on_real_texts(real_data_dir: Path) -> None:
    """The spaCy lemma component and `lemmatize` agree on real appeals (HTML, odd punctuation, Latin)."""
    from appeals.nlp import build_nlp, doc_lemmas, lemmatize

    texts = [clean_text(t) for t in load_dataset("kursk_2022", real_data_dir).frame["text"].head(400)]
    nlp = build_nlp(with_ner=False, with_mask=False, with_places=False)
    mismatches = sum(doc_lemmas(doc) != lemmatize(text) for text, doc in zip(texts, nlp.pipe(texts), strict=True))
    assert mismatches == 0
