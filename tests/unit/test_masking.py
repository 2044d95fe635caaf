"""Personal-data masking rules, one table per kind, with the hard cases of the issue."""

from __future__ import annotations

import pytest

from appeals.masking import find_spans, mask_many, mask_text, merge_spans, render, shadow


def _check(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("звоните +7 (902) 123-45-67", "звоните [ТЕЛЕФОН]"),
        ("звоните +79021234567!", "звоните [ТЕЛЕФОН]!"),
        ("мой номер 89021234567.", "мой номер [ТЕЛЕФОН]."),
        ("мой номер 8 902 123 45 67", "мой номер [ТЕЛЕФОН]"),
        ("мой номер 8-902-123-45-67", "мой номер [ТЕЛЕФОН]"),
        ("мой номер 8(902)1234567", "мой номер [ТЕЛЕФОН]"),
        ("мой номер +7 902 1234567", "мой номер [ТЕЛЕФОН]"),
        ("городской (342) 212-34-56", "городской [ТЕЛЕФОН]"),
        ("в приёмной 8 (34249) 2-12-34", "в приёмной [ТЕЛЕФОН]"),
        ("горячая линия 8-800-555-35-35", "горячая линия [ТЕЛЕФОН]"),
        ("телефон 212-34-56", "телефон [ТЕЛЕФОН]"),
        ("т. 2-12-34", "т. [ТЕЛЕФОН]"),
        ("тел.: 45678", "тел.: [ТЕЛЕФОН]"),
        ("звоните 8 902\n123-45-67 вечером", "звоните [ТЕЛЕФОН] вечером"),  # split by a line break
        ("звоните 8 902<br>123-45-67", "звоните [ТЕЛЕФОН]"),
        ("Тeлефон 8 9O2 123 45 67", "Тeлефон [ТЕЛЕФОН]"),  # Latin e, letter O for zero
        ("номер 8902123456７", "номер [ТЕЛЕФОН]"),  # a full-width digit is still a digit
    ],
)
def test_phones(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    "text",
    [
        "в 2023 году потратили 1 500 000 рублей",
        "обращение от 12.03.2023 № 45-12/2023",
        "дом 12 по ул. Гагарина, 3 подъезд, 5 этаж",
        "температура 18 градусов, 25 человек в очереди",
        "площадь 50 кв.м, сумма 12 345 руб.",
        "ИНН организации 5902123456",
    ],
)
def test_numbers_that_are_not_phones(text: str) -> None:
    assert "[ТЕЛЕФОН]" not in mask_text(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("пишите на ivanov.p@mail.ru", "пишите на [EMAIL]"),
        ("почта: anna_1985@yandex.ru.", "почта: [EMAIL]."),
        ("e-mail ivan-petrov@gmail.com, ответ жду", "e-mail [EMAIL], ответ жду"),
        ("адрес почта@пример.рф", "адрес [EMAIL]"),
        ("моя страница vk.com/id12345", "моя страница [ССЫЛКА]"),
        ("профиль https://ok.ru/profile/5551234", "профиль [ССЫЛКА]"),
        ("пишите в телеграм @ivan_petrov", "пишите в телеграм [ССЫЛКА]"),
        ("сайт администрации permkrai.ru", "сайт администрации permkrai.ru"),
    ],
)
def test_emails_and_links(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("паспорт 57 08 123456", "паспорт [ДОКУМЕНТ]"),
        ("паспорт серии 5708 номер 123456", "паспорт [ДОКУМЕНТ]"),
        ("СНИЛС 123-456-789 01", "СНИЛС [ДОКУМЕНТ]"),
        ("мой снилс: 12345678901", "мой снилс: [ДОКУМЕНТ]"),
        ("полис ОМС 5901234567890123", "полис ОМС [ДОКУМЕНТ]"),
        ("номер полиса 5901234567890123", "номер полиса [ДОКУМЕНТ]"),
        ("лицевой счет 1234567", "лицевой счет [ДОКУМЕНТ]"),
        ("без СНИЛС не записывают", "без СНИЛС не записывают"),
    ],
)
def test_documents(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("проживаю по адресу: ул. Ленина, д. 5, кв. 12", "проживаю по адресу: [АДРЕС]"),
        ("мой адрес: г. Пермь, ул. Мира, 3-15.", "мой адрес: г. Пермь, [АДРЕС]."),
        ("живу на ул. Мира, 3. Во дворе яма", "живу на [АДРЕС]. Во дворе яма"),
        ("в квартире 45 нет воды", "в [АДРЕС] нет воды"),
        ("затопило кв. 7 и кв.8", "затопило [АДРЕС] и [АДРЕС]"),
        ("ул. Гагарина, д. 10, кв. 3 — течёт крыша", "[АДРЕС] — течёт крыша"),
        ("на ул. Ленина возле дома 5 яма", "на ул. Ленина возле дома 5 яма"),  # place of the problem
        ("по ул. Советской, 12 не горят фонари", "по ул. Советской, 12 не горят фонари"),
        ("квартира 50 кв.м без отопления", "квартира 50 кв.м без отопления"),
    ],
)
def test_addresses(text: str, expected: str) -> None:
    _check(text, expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Меня зовут Иванов Пётр.", "Меня зовут [ФИО]."),
        ("меня зовут Ольга, помогите", "меня зовут [ФИО], помогите"),
        ("Я, Петрова Анна Сергеевна, прошу", "Я, [ФИО], прошу"),
        ("Уважаемая Анна Сергеевна!", "Уважаемая [ФИО]!"),
        ("директор И. П. Смирнов не отвечает", "директор [ФИО] не отвечает"),
        ("подписал Смирнов И.П. вчера", "подписал [ФИО] вчера"),
        ("Иванова Мария обещала помочь", "[ФИО] обещала помочь"),
        ("врач Кузьмичёва отказала", "врач [ФИО] отказала"),
        ("ИВАНОВ ИВАН ИВАНОВИЧ", "[ФИО]"),
        ("Иванова улица не убрана", "Иванова улица не убрана"),
        ("на ул. Гагарина яма", "на ул. Гагарина яма"),
        ("улица Максима Горького не освещена", "улица Максима Горького не освещена"),
        ("школа имени А. С. Пушкина", "школа имени А. С. Пушкина"),
        ("Министерство здравоохранения Пермского края", "Министерство здравоохранения Пермского края"),
        ("Надежда только на вас", "Надежда только на вас"),
        ("В Лысьве и Губахе", "В Лысьве и Губахе"),
        # a region or district after a cue word is a place, not a surname; an adjective is not enough
        ("С праздником всех жителей Пермского края!", "С праздником всех жителей Пермского края!"),
        ("Главе Ленинского района г. Перми", "Главе Ленинского района г. Перми"),
        ("Жители Чусовского городского округа просят", "Жители Чусовского городского округа просят"),
        ("Врач Иванова районной больницы грубит", "Врач [ФИО] районной больницы грубит"),
    ],
)
def test_names(text: str, expected: str) -> None:
    _check(text, expected)


def test_shadow_keeps_length() -> None:
    text = "Тeлефон 8 9O2 1OO 45 67 и СOБАКА"
    assert len(shadow(text)) == len(text)
    assert "8 902 100 45 67" in shadow(text)


def test_merge_spans_prefers_priority_type() -> None:
    assert merge_spans([(0, 5, "ФИО"), (3, 9, "EMAIL"), (12, 14, "АДРЕС")]) == [(0, 9, "EMAIL"), (12, 14, "АДРЕС")]


def test_render_and_spans_agree() -> None:
    text = "Звоните 89021234567, Анна Сергеевна"
    assert render(text, find_spans(text)) == mask_text(text) == "Звоните [ТЕЛЕФОН], [ФИО]"


def test_mask_many() -> None:
    assert mask_many(["кв. 5", "без данных"]) == ["[АДРЕС]", "без данных"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[id12345|Иван Петров], помогите", "[ССЫЛКА], помогите"),  # a VK mention of a person
        ("по телефону единой справочной 206 66 66 не дозвониться", "по телефону единой справочной [ТЕЛЕФОН] не дозвониться"),
        ("Номер клиента 123456789, прошу пересчитать", "Номер клиента [ДОКУМЕНТ], прошу пересчитать"),
        ("звонила 5 раз в 2023 году", "звонила 5 раз в 2023 году"),
        ("Звоните на номер 8 982 47 33 210, Светлана.", "Звоните на номер [ТЕЛЕФОН], [ФИО]."),
        ("Зовут меня Рустам, работаю в Перми", "Зовут меня [ФИО], работаю в Перми"),
        ("Я Лапина Вероника Олеговна, мой сын", "Я [ФИО], мой сын"),
        ("Алиева Севиль Гасановна многодетная", "[ФИО] многодетная"),
        ("Роман Толстого выдают в читальном зале", "Роман Толстого выдают в читальном зале"),
        ("Проживаю в г. Березники по ул. Юбилейная 102-45, нет воды", "Проживаю в г. Березники по [АДРЕС], нет воды"),
    ],
)
def test_rules_found_on_real_wording(text: str, expected: str) -> None:
    assert mask_text(text, ner=False) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Пенсионерка Овчинникова ждёт ремонта крыши.", "Пенсионерка [ФИО] ждёт ремонта крыши."),
        ("Руководитель управляющей компании Шилов не отвечает.", "Руководитель управляющей компании [ФИО] не отвечает."),
        ("Иванова улица не убрана", "Иванова улица не убрана"),
        ("Министерство здравоохранения Пермского края", "Министерство здравоохранения Пермского края"),
    ],
)
def test_default_path_asks_ner(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    ("text", "word", "person"),
    [
        ("Снова яма на Ленина, 15 у остановки", "Ленина", False),  # a house number follows
        ("На Пушкина опять не убрали снег", "Пушкина", False),  # a street eponym, no role word
        ("Здраствуйте, помогите", "Здраствуйте", False),  # a misspelt greeting is no name
        ("Врач Пушкина отказала в приёме", "Пушкина", True),  # a role word makes the eponym a person
        ("Пенсионерка Овчинникова ждёт", "Овчинникова", True),
        ("На ул. Гагарина яма", "Гагарина", False),
    ],
)
def test_ner_person_filter(text: str, word: str, person: bool) -> None:
    from appeals.names import plausible_person

    start = text.index(word)
    assert plausible_person(text, start, start + len(word)) is person


def test_labelled_table_meets_targets() -> None:
    """The whole table (dev and holdout rows) through the default path meets the issue's targets."""
    from evaluation.eval_language import TARGETS, load_table, predict_default, score_masking

    scores = score_masking(load_table(), predict_default)
    for key, target in TARGETS.items():
        assert scores[key] >= target, f"{key}: {scores[key]:.3f} < {target}"


def test_cli_mask_writes_same_rows(tmp_path) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from appeals.cli import build_app

    src, dst = tmp_path / "in.csv", tmp_path / "out.jsonl"
    pd.DataFrame({"id": ["1", "2"], "Текст": ["Звоните 89021234567, Анна Сергеевна", "Яма на ул. Ленина"],
                  "Тема": ["a", "b"]}).to_csv(src, index=False)
    result = CliRunner().invoke(build_app(), ["mask", "--input", str(src), "--output", str(dst), "--no-ner"])
    assert result.exit_code == 0, result.output
    out = pd.read_json(dst, lines=True, dtype=str)
    assert list(out.columns) == ["id", "Текст", "Тема"]
    assert out["Текст"].tolist() == ["Звоните [ТЕЛЕФОН], [ФИО]", "Яма на ул. Ленина"]
    assert out["Тема"].tolist() == ["a", "b"]


def test_cli_mask_names_the_missing_column(tmp_path) -> None:
    import pandas as pd
    from typer.testing import CliRunner

    from appeals.cli import build_app

    src = tmp_path / "in.csv"
    pd.DataFrame({"body": ["x"]}).to_csv(src, index=False)
    result = CliRunner().invoke(build_app(), ["mask", "-i", str(src), "-o", str(tmp_path / "o.csv"),
                                              "-c", "Текст"])
    assert result.exit_code == 2
    assert "Текст" in result.output and "--text-column" in result.output


@pytest.mark.parametrize("junk", ["1-2-3-4-" * 2000, "кв." * 3000, "Пeтров-" * 2000, "a_b." * 4000, "8 " * 8000])
def test_long_junk_runs_in_linear_time(junk: str) -> None:
    """Patterns must not backtrack quadratically on long runs (a 16k-character text used to take 10 s)."""
    import time

    started = time.process_time()
    mask_text(junk, ner=False)
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("г.Гремячинск ул, Ленина 112 кв 5", "г.Гремячинск [АДРЕС]"),
        ("по адресу г. Пермь Краснофлотская 33, кв. 83", "по адресу г. Пермь [АДРЕС]"),
        ("по Суворова 56 КВ 44", "по [АДРЕС]"),
        ("ул.Уинская, д.4. Кв 80", "[АДРЕС]"),
        ("за 2 кв. 2023 года начислили", "за 2 кв. 2023 года начислили"),  # a quarter of the year
        ("на ул. Ленина 5 яма", "на ул. Ленина 5 яма"),
    ],
)
def test_addresses_without_street_type(text: str, expected: str) -> None:
    assert mask_text(text, ner=False) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("пишет петрова татьяна юрьевна, помогите", "пишет [ФИО], помогите"),
    ("иванов иван иванович обратился", "[ФИО] обратился"),
    ("Петрова татьяна юрьевна", "[ФИО]"),
    ("мы звонили ивану петровичу сидорову", "мы звонили [ФИО]"),
    ("надежда петровна из 5 квартиры не отвечает", "[ФИО] из 5 квартиры не отвечает"),
    ("сергей петрович сказал прийти завтра", "[ФИО] сказал прийти завтра"),
    # no patronymic: ordinary words that can be names stay
    ("вера в светлое будущее", "вера в светлое будущее"),
    ("роман толстого читаем всем классом", "роман толстого читаем всем классом"),
    ("надежда на ремонт дороги есть", "надежда на ремонт дороги есть"),
])
def test_lower_case_names_from_messengers_are_masked(text: str, expected: str) -> None:
    assert mask_text(text, ner=False) == expected


def test_every_patronymic_form_passes_the_cheap_hint() -> None:
    """lowercase_names parses only pairs whose second word has a patronymic ending; that must hold for
    every inflected form the dictionary tags Patr, or lower-case names would slip through."""
    from appeals.names import _PATR_HINT_RE, PATR, name_tags
    from appeals.nlp import get_morph

    morph = get_morph()
    seeds = ["иванович", "ивановна", "ильинична", "кузьминична", "саввична", "саввишна", "кузьмич", "ильич",
             "палыч", "михалыч", "сергеевич", "юрьевна", "никитична", "лукич", "николаевна", "ильинишна"]
    forms = {f.word for seed in seeds for p in morph.parse(seed)[:4] for f in p.lexeme}
    patronymics = {w for w in forms if PATR in name_tags(w)}
    assert len(patronymics) > 300
    assert not {w for w in patronymics if not _PATR_HINT_RE.search(w)}
