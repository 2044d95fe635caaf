"""Every urgency labelling function on a table of sentences written for these tests, and the vote."""

from __future__ import annotations

import numpy as np
import pytest

from appeals.labelmodel import (
    LEVELS,
    NO_VOTE,
    all_labelling_functions,
    build_contexts,
    combine_votes,
    coverage_total,
    lf_summary,
    vote_distribution,
    vote_matrix,
    vote_scores,
)
from appeals.nlp import lemmatize
from appeals.urgency_rules import glue_negation, make_context, words

HEATING = (1, 2, 3, 4, 5, 9, 10, 11, 12)
LFS = {f.name: f for f in all_labelling_functions()}


def fires(name: str, text: str, month: int | None = None) -> bool:
    ctx = make_context(text, lemmatize(text), month, HEATING)
    return LFS[name].fires(ctx)


CASES: list[tuple[str, str, int | None, bool]] = [
    # critical
    ("cr_gas", "В подъезде сильно пахнет газом", None, True),
    ("cr_gas", "Чувствуется запах газа у плиты", None, True),
    ("cr_gas", "Запаха газа нет, просто уточняю график проверки", None, False),
    ("cr_gas", "Газом не пахнет, счётчик поменяли", None, False),
    ("cr_gas", "Когда проведут газ в нашу деревню?", None, False),
    ("cr_fire", "Горит сарай за домом, дым идёт к окнам", None, True),
    ("cr_fire", "У соседей пожар на балконе", None, True),
    ("cr_fire", "Третий день не горит фонарь у школы", None, False),
    ("cr_collapse", "Стена дома обвалилась прямо на тротуар", None, True),
    ("cr_collapse", "Балкон вот-вот упадёт на прохожих", None, True),
    ("cr_collapse", "Просим покрасить стены в подъезде", None, False),
    ("cr_wires", "После ветра оборвало провода, они лежат на земле", None, True),
    ("cr_wires", "Провода висят над детской площадкой", None, True),
    ("cr_wires", "Просим провести интернет по проводу", None, False),
    ("cr_manhole", "Открытый люк прямо на тротуаре у остановки", None, True),
    ("cr_manhole", "На колодце нет крышки, можно провалиться", None, True),
    ("cr_manhole", "Крышка люка громко стучит, когда едут машины", None, False),
    ("cr_manhole", "Во дворе школы открыто два люка, там ходят дети", None, True),
    ("cr_manhole", "Треснул люк, ребёнок чуть не провалился", None, True),
    ("cr_manhole", "Просим заменить люк на полимерный, этот старый", None, False),
    ("cr_tree", "Дерево упало на дорогу и перекрыло проезд", None, True),
    ("cr_tree", "Аварийное дерево наклонилось над машинами", None, True),
    ("cr_tree", "Посадите, пожалуйста, деревья во дворе", None, False),
    ("cr_flood", "Прорвало трубу, затопило подвал", None, True),
    ("cr_flood", "Сосед сверху заливает квартиру кипятком", None, True),
    ("cr_flood", "Когда будут менять трубы в подвале?", None, False),
    ("cr_sewage", "Канализация течёт в подвал, вонь по всему подъезду", None, True),
    ("cr_sewage", "Прошу установить новую канализационную трубу весной", None, False),
    ("cr_no_heating", "В доме нет отопления, дети мёрзнут", 1, True),
    ("cr_no_heating", "В доме нет отопления, дети мёрзнут", None, True),
    ("cr_no_heating", "В доме нет отопления, дети мёрзнут", 7, False),
    ("cr_no_heating", "До сих пор не дали отопление в нашем доме", 10, True),
    ("cr_no_heating", "Отопление работает хорошо, спасибо", 1, False),
    ("cr_no_utility", "Второй день нет воды во всём доме", None, True),
    ("cr_no_utility", "Отключили свет на всей улице", None, True),
    ("cr_no_utility", "Горячей воды нет с понедельника", None, False),
    ("cr_no_utility", "Нет света на улице, фонарь не горит", None, False),
    ("cr_icicles", "Огромные сосульки висят над входом", None, True),
    ("cr_icicles", "С крыши падает снег на прохожих", None, True),
    ("cr_icicles", "Во дворе много снега, просим убрать", None, False),
    ("cr_icicles", "На Ленина 5 страшные сосули висят над тротуаром", None, True),
    ("cr_icicles", "Над входом в магазин ледяной навес", None, True),
    ("cr_icicles", "Не убран снег с крыши, он в любое время может упасть на прохожих", None, True),
    ("cr_icicles", "Снег с крыши убрали, спасибо, ничего не упало", None, False),
    ("cr_dogs", "Стая бродячих собак напала на ребёнка", None, True),
    ("cr_dogs", "Собака покусала соседку у подъезда", None, True),
    ("cr_dogs", "Где можно зарегистрировать собаку?", None, False),
    ("cr_ambulance", "Вызвали скорую три часа назад, до сих пор ждём", None, True),
    ("cr_ambulance", "Скорая отказалась ехать к бабушке", None, True),
    ("cr_ambulance", "Спасибо врачам скорой помощи за работу", None, False),
    ("cr_child_no_help", "У ребёнка температура 39, врач не пришёл, ждём сутки", None, True),
    ("cr_child_no_help", "Ребёнок болен, второй день ждём помощи", None, True),
    ("cr_child_no_help", "Ребёнок пошёл в первый класс, нужна форма", None, False),
    ("cr_violence", "Сосед угрожает убить мою семью", None, True),
    ("cr_violence", "Во дворе подростки избивают мальчика", None, True),
    ("cr_violence", "Спасибо полиции за порядок на празднике", None, False),
    ("cr_homeless", "После пожара семья с ребёнком осталась на улице", None, True),
    ("cr_homeless", "Мы остались довольны праздником на улице", None, False),
    # high
    ("hi_snow", "Во дворе не убран снег, машины буксуют", None, True),
    ("hi_snow", "Тротуар не чистят, сплошной гололёд", None, True),
    ("hi_snow", "Красивый снег выпал сегодня", None, False),
    ("hi_garbage", "Мусор не вывозят уже неделю, контейнеры переполнены", None, True),
    ("hi_garbage", "Почему плата за вывоз мусора выросла?", None, False),
    ("hi_lights", "На нашей улице не горят фонари, очень темно", None, True),
    ("hi_lights", "Светофор на перекрёстке не работает", None, True),
    ("hi_lights", "Просим установить светофор у новой школы", None, False),
    ("hi_road_damage", "Пробил колесо в яме на въезде во двор", None, True),
    ("hi_road_damage", "После раскопок проезда нет к дому", None, True),
    ("hi_road_damage", "Планируется ли ремонт дороги в этом году?", None, False),
    ("hi_weak_heating", "Батареи чуть тёплые, в квартире холодно", None, True),
    ("hi_weak_heating", "Горячей воды нет уже неделю", None, True),
    ("hi_weak_heating", "Батареи горячие, в квартире тепло", None, False),
    ("hi_lift_roof", "Лифт не работает вторую неделю, девятый этаж", None, True),
    ("hi_lift_roof", "После дождя течёт крыша над моей квартирой", None, True),
    ("hi_lift_roof", "Когда покрасят лифт?", None, False),
    ("hi_medicine", "В аптеке нет льготного инсулина", None, True),
    ("hi_medicine", "Лекарство по рецепту не выдали", None, True),
    ("hi_medicine", "Спасибо за помощь с лекарствами", None, False),
    ("hi_doctor", "Месяц не могу записаться к терапевту", None, True),
    ("hi_doctor", "Вызвали врача на дом, ждали весь день, никто не пришёл", None, True),
    ("hi_doctor", "Врач принял вовремя, всё хорошо", None, False),
    ("hi_transport", "Автобус по маршруту 5 отменили, дети не могут доехать до школы", None, True),
    ("hi_transport", "Рейс в посёлок больше не ходит", None, True),
    ("hi_transport", "Какое расписание автобуса до вокзала?", None, False),
    ("hi_payment", "Пособие на ребёнка не пришло в этом месяце", None, True),
    ("hi_payment", "Выплату задерживают второй месяц", None, True),
    ("hi_payment", "Как оформить пособие на ребёнка?", None, False),
    ("hi_standing_water", "В подвале стоит вода уже неделю", None, True),
    ("hi_standing_water", "Вода в реке чистая", None, False),
    # normal
    ("no_repair", "Просим установить скамейку у подъезда", None, True),
    ("no_repair", "Когда будет ремонт дороги на улице Садовой?", None, True),
    ("no_repair", "Спасибо за праздник", None, False),
    ("no_housing_services", "Управляющая компания не отвечает на звонки", None, True),
    ("no_housing_services", "В квитанции неправильное начисление", None, True),
    ("no_housing_services", "Сосульки висят над входом", None, False),
    ("no_grievance", "Прошу провести проверку работы поликлиники", None, True),
    ("no_grievance", "Медсестра нахамила маме", None, True),
    ("no_grievance", "Подскажите часы работы", None, False),
    ("no_housing_queue", "Когда будет расселение из аварийного дома?", None, True),
    ("no_housing_queue", "Стою в очереди на жильё десять лет", None, True),
    ("no_housing_queue", "Сосулька упала на машину", None, False),
    ("no_benefit_dispute", "Почему мне отказали в выплате на ребёнка?", None, True),
    ("no_benefit_dispute", "Пособие не пришло в этом месяце", None, False),
    ("no_long_standing", "Уже третий год не можем добиться ремонта", None, True),
    ("no_long_standing", "Дорогу не ремонтируют который год", None, True),
    ("no_long_standing", "С 2015 года обещают построить школу", None, True),
    ("no_long_standing", "Вчера прорвало трубу", None, False),
    ("no_healthcare", "В поликлинике нет окулиста, записи нет", None, True),
    ("no_healthcare", "В больнице вкусно кормят", None, False),
    # low
    ("lo_thanks", "Большое спасибо за новую площадку!", None, True),
    ("lo_thanks", "Спасибо, но мусор так и не вывезли", None, False),
    ("lo_info_question", "Подскажите, пожалуйста, где оформить субсидию?", None, True),
    ("lo_info_question", "Подскажите, почему не вывозят мусор?", None, False),
    ("lo_info_question", "Подскажите, где оформить субсидию.", None, False),
    ("lo_short", "А что там?", None, True),
    ("lo_short", "Во дворе третью неделю не вывозят мусор, контейнеры переполнены", None, False),
    ("lo_opinion", "Предлагаю построить в городе новый бассейн", None, True),
    ("lo_opinion", "Предлагаю разобраться, почему не работает лифт", None, False),
    ("lo_spam", "#город #новости #праздник #фото", None, True),
    ("lo_spam", "Во дворе разбит асфальт", None, False),
]


@pytest.mark.parametrize(("name", "text", "month", "expected"), CASES)
def test_labelling_function(name: str, text: str, month: int | None, expected: bool) -> None:
    assert fires(name, text, month) is expected


def test_every_labelling_function_has_cases() -> None:
    tested = {name for name, *_ in CASES}
    assert tested == set(LFS), f"untested: {set(LFS) - tested}"
    for name in LFS:
        outcomes = {expected for n, _, _, expected in CASES if n == name}
        assert outcomes == {True, False}, f"{name} needs a firing and a non-firing case"


@pytest.mark.parametrize(("lemmas", "expected"), [
    (["газ", "не", "пахнуть"], ["газ", "не_пахнуть"]),
    (["ни", "тепло", "ни", "вода"], ["ни", "тепло", "ни", "вода"]),
    (["не", "не", "знать"], ["не", "не_знать"]),
    (["не"], ["не"]),
])
def test_glue_negation(lemmas: list[str], expected: list[str]) -> None:
    assert glue_negation(lemmas) == expected


def test_vocab_prefixes_and_union() -> None:
    vocab = words("снег", "не_убир*")
    assert vocab.matches("не_убирать") and vocab.matches("снег") and not vocab.matches("дождь")
    merged = vocab | words("лед")
    assert merged.matches("не_убираться") and merged.matches("лед")
    assert not (vocab - words("снег")).matches("снег")


def _matrix(rows: list[dict[int, str]], n_lfs: int) -> np.ndarray:
    votes = np.full((len(rows), n_lfs), NO_VOTE, dtype=np.int8)
    for i, row in enumerate(rows):
        for j, level in row.items():
            votes[i, j] = LEVELS.index(level)
    return votes


@pytest.mark.parametrize(("row", "expected"), [
    ({}, None),                                          # all abstain: no weak label
    ({0: "critical", 2: "normal"}, "critical"),          # 3.0 vs 1.0
    ({1: "high", 2: "normal", 3: "low"}, "high"),        # 2.0 vs 1.0 vs 1.0
    ({2: "normal", 3: "low"}, "low"),                    # tie 1.0 / 1.0 goes to the less urgent
    ({2: "normal", 3: "low", 4: "low"}, "low"),          # 1.0 vs 2.0
    ({5: "normal", 1: "high"}, "high"),                  # a per-function weight (1.5) below high's 2.0
])
def test_combination_rule(row: dict[int, str], expected: str | None) -> None:
    fake = [type("F", (), {"name": f"f{j}", "level": "x"})() for j in range(6)]
    weights = {"f0": 3.0, "f1": 2.0, "f2": 1.0, "f3": 1.0, "f4": 1.0, "f5": 1.5}
    votes = _matrix([row], 6)
    assert combine_votes(votes, fake, weights) == [expected]


def test_missing_weight_is_a_readable_error() -> None:
    fake = [type("F", (), {"name": "cr_new", "level": "critical"})()]
    with pytest.raises(ValueError, match="cr_new"):
        vote_scores(_matrix([{0: "critical"}], 1), fake, {"high": 1.0})


def test_vote_distribution_and_summary() -> None:
    fake = [type("F", (), {"name": f"f{j}", "level": lvl})() for j, lvl in enumerate(["critical", "normal", "low"])]
    votes = _matrix([{0: "critical", 1: "normal"}, {2: "low"}, {}], 3)
    scores = vote_scores(votes, fake, {"critical": 3.0, "normal": 1.0, "low": 1.0})
    dist = vote_distribution(scores)
    assert dist[0].tolist() == [0.75, 0.0, 0.25, 0.0] and dist[2].sum() == 0.0
    summary = lf_summary(votes, fake, ["critical", "low", "normal"]).set_index("function")
    assert summary.loc["f0", "coverage"] == pytest.approx(1 / 3)
    assert summary.loc["f0", "conflict"] == pytest.approx(1 / 3)   # f1 votes differently on row 0
    assert summary.loc["f2", "overlap"] == 0.0
    assert summary.loc["f1", "accuracy"] == 0.0 and summary.loc["f2", "accuracy"] == 1.0
    assert coverage_total(votes) == pytest.approx(2 / 3)


def test_vote_matrix_on_contexts() -> None:
    texts = ["Пахнет газом в подъезде", "Спасибо за уборку двора"]
    contexts = build_contexts(texts, [lemmatize(t) for t in texts], [None, None], HEATING)
    lfs = all_labelling_functions()
    votes = vote_matrix(contexts, lfs)
    names = [f.name for f in lfs]
    assert votes[0, names.index("cr_gas")] == LEVELS.index("critical")
    assert votes[1, names.index("lo_thanks")] == LEVELS.index("low")
    assert votes[1, names.index("cr_gas")] == NO_VOTE


@pytest.mark.parametrize(("text", "expected"), [
    ("В доме нет газа с утра, плиты не работают", True),
    ("Запаха газа нет, проверка прошла", False),
])
def test_no_gas_supply_versus_no_gas_smell(text: str, expected: bool) -> None:
    assert fires("cr_no_utility", text) is expected


def test_a_question_about_an_outage_is_not_merely_informational() -> None:
    assert fires("lo_info_question", "Воду отключили сегодня без объявления, где теперь её брать?") is False


def test_corrections_take_priority_over_weak_labels() -> None:
    import pandas as pd

    from appeals.urgency_data import CORRECTION_WEIGHT, merge_corrections

    weak = pd.DataFrame({"text": ["Во дворе не вывозят мусор", "Спасибо за праздник", "Нет света в подъезде"],
                         "created_at": None, "urgency": ["high", "low", "high"], "weight": 1.0, "origin": "weak"})
    corrections = pd.DataFrame({
        "text": ["во дворе  не вывозят мусор!", "Нет света в подъезде", "Нет света в подъезде",
                 "Пахнет гарью в подвале"],
        "urgency": ["normal", "normal", "critical", "critical"],
        "created_at": [None, None, "2026-01-10", None]})
    merged = merge_corrections(weak, corrections).set_index("text")
    assert len(merged) == 4                                   # same appeal (normalised text) replaced
    assert merged.loc["во дворе не вывозят мусор!", "urgency"] == "normal"   # cleaned text kept
    assert merged.loc["Нет света в подъезде", "urgency"] == "critical"        # the last correction wins
    assert merged.loc["Пахнет гарью в подвале", "weight"] == CORRECTION_WEIGHT
    assert merged.loc["Спасибо за праздник", "origin"] == "weak"
    with pytest.raises(ValueError, match="unknown urgency"):
        merge_corrections(weak, pd.DataFrame({"text": ["x"], "urgency": ["urgent"]}))
