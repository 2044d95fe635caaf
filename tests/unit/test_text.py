import pytest

from appeals.text import (
    TextTooLongError,
    check_length,
    clean_text,
    cyrillic_share,
    has_letters,
    normalize_for_dedup,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("'Добрый день", "Добрый день"),
        ("''  Добрый день", "Добрый день"),
        ("Яма<br>на дороге", "Яма\nна дороге"),
        ("Яма<BR/>на<br />дороге", "Яма\nна\nдороге"),
        ("<p>Яма&nbsp;на&nbsp;дороге</p>", "Яма на дороге"),
        ("<span style=\"color:red\">Срочно</span> помогите", "Срочно помогите"),
        ("&amp;nbsp;Текст", "Текст"),
        ("Много    пробелов\t\tи табов", "Много пробелов и табов"),
        ("Строка\r\n\r\n\r\nдругая", "Строка\nдругая"),
        ("Ноль\u200bширины\ufeff", "Нольширины"),
        ("ﬁ лигатура", "fi лигатура"),
        ("  края  ", "края"),
        ("", ""),
    ],
)
def test_clean_text(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_clean_text_is_idempotent() -> None:
    raw = "'<p>Яма&nbsp;на  дороге</p><br>уже месяц"
    assert clean_text(clean_text(raw)) == clean_text(raw)


def test_clean_text_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="must be a string"):
        clean_text(123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b"),
    [("Яма на дороге!", "яма  на дороге"), ("'Ёлка упала", "елка упала"), ("A<br>B", "a b")],
)
def test_normalize_for_dedup_groups_near_exact(a: str, b: str) -> None:
    assert normalize_for_dedup(a) == normalize_for_dedup(b)


def test_check_length_messages() -> None:
    assert check_length("ok", max_chars=5) == "ok"
    with pytest.raises(ValueError, match="empty"):
        check_length("   ", where="request.text")
    with pytest.raises(TextTooLongError, match="over the limit of 5"):
        check_length("слишком длинно", max_chars=5)


@pytest.mark.parametrize(("text", "letters", "share"), [("Привет", True, 1.0), ("12345", False, 0.0),
                                                         ("Hello мир", True, 3 / 8)])
def test_language_helpers(text: str, letters: bool, share: float) -> None:
    assert has_letters(text) is letters
    assert cyrillic_share(text) == pytest.approx(share)
