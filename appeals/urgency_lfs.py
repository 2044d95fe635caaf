"""The urgency labelling functions, one per sign of ../shared/data/urgency/RUBRIC.md.

Names start with the level they vote for (cr_, hi_, no_, lo_). Each reads lemmas (see
`appeals.urgency_rules` for the negation convention) and none reads tone: capitals, «СРОЧНО» and
exclamation marks never make a vote, as the rubric asks.
"""

from __future__ import annotations

import re

from appeals.urgency_rules import Context, has, lf, near, negated, numbers
from appeals.urgency_rules import positions as pos
from appeals.urgency_rules import words as W

FAIL = W("нет", "без", "ни", "отключить", "отключать", "отключение", "отсутствовать", "отсутствие",
         "не_дать", "не_давать", "не_включить", "не_подать", "не_подавать", "не_быть", "сидеть")
CHILD = W("ребенок", "дети", "детишки", "малыш", "младенец", "сын", "дочь", "дочка", "грудничок")
HEAT = W("отопление", "тепло", "теплоснабжение")
UTILITY = W("вода", "водоснабжение", "свет", "электричество", "электроэнергия", "электроснабжение", "газ")
STREET_LIGHT = W("фонарь", "освещение", "столб", "уличный", "светофор", "лампа", "лампочка", "подъезд")
SNOW = W("снег", "наледь", "гололед", "сугроб", "лед", "снегопад", "гололедица", "колея")
GARBAGE = W("мусор", "контейнер", "тко", "отход", "помойка", "свалка", "мусорка", "бак", "мусорный")
FEES = W("плата", "оплата", "квитанция", "начисление", "тариф", "платить", "оплачивать", "договор",
         "перерасчет", "счет", "задолженность", "долг", "начислять", "заплатить")
LONG_RE = re.compile(r"(который|второй|третий|четвертый|пятый|несколько|много|уже \d+|\d+ й|десять) "
                     r"(год|лет)\b|\bдавно\b|\bгодами\b|\bс \d{4} год|\bдесятилетие")


def _failing(ctx: Context, vocab: frozenset[str]) -> list[int]:
    """Positions of `vocab` words that are stated as absent or cut off («нет воды», «воды нет»)."""
    hits = []
    for i in pos(ctx, vocab):
        before = ctx.tokens[max(0, i - 2):i]
        if negated(ctx, i) or any(t in FAIL for t in before) or near(
                ctx, W(ctx.tokens[i]), W("отключить", "отключение", "не_дать", "не_включить"), 3):
            hits.append(i)
    return hits


# ----------------------------------------------------------------------------- critical


@lf("critical", "gas smell or leak, not negated («запаха газа нет» abstains)")
def cr_gas(ctx: Context) -> bool:
    return near(ctx, W("газ", "газовый"), W("запах", "пахнуть", "утечка", "вонять", "вонь", "травить"),
                3, allow_negated=False)


@lf("critical", "fire, smoke, explosion («горит» only with a building or thing burning, not a lamp)")
def cr_fire(ctx: Context) -> bool:
    if has(ctx, W("пожар", "возгорание", "задымление", "взрыв", "взорваться", "дым", "загореться", "сгореть",
                  "горение", "поджечь"), allow_negated=False):
        return True
    return near(ctx, W("гореть"), W("дом", "квартира", "сарай", "баня", "машина", "здание", "подъезд", "балкон",
                                   "трава", "лес", "мусор", "свалка", "гараж", "склад"), 3, allow_negated=False)


@lf("critical", "a building, roof, balcony or wall collapsing or about to")
def cr_collapse(ctx: Context) -> bool:
    if has(ctx, W("обрушение", "обрушиться", "рухнуть", "обвалиться", "обвал", "обрушаться", "обрушить"),
           allow_negated=False):
        return True
    return near(ctx, W("балкон", "потолок", "стена", "крыша", "перекрытие", "плита", "козырек", "лестница"),
                W("упасть", "падать", "провалиться", "осыпаться", "отвалиться", "трещина"), 3)


@lf("critical", "fallen, hanging or bare live wires")
def cr_wires(ctx: Context) -> bool:
    return near(ctx, W("провод", "кабель", "проводы", "электропровод"),
                W("оборвать", "обрыв", "оголить", "висеть", "лежать", "упасть", "искрить", "свисать",
                  "порвать", "оборваться", "валяться"), 3)


@lf("critical", "an open or missing manhole")
def cr_manhole(ctx: Context) -> bool:
    # «чуть не провалились» glues to «не_провалиться»: a near miss is still the danger.
    return near(ctx, W("люк", "колодец"),
                W("открытый", "открыть", "открыто", "нет", "без", "отсутствовать", "отсутствие", "провалиться",
                  "не_провалиться", "сдвинуть", "сорвать", "упасть", "открытие", "треснуть"), 3)


@lf("critical", "a tree fallen or about to fall")
def cr_tree(ctx: Context) -> bool:
    return near(ctx, W("дерево", "ветка", "тополь", "береза", "сук", "ель"),
                W("упасть", "повалить", "рухнуть", "падать", "аварийный", "наклониться", "сломаться",
                  "поваленный", "завалиться", "угрожать"), 3)


@lf("critical", "flooding or a burst pipe now")
def cr_flood(ctx: Context) -> bool:
    return near(ctx, W("затопить", "потоп", "заливать", "затоплять", "прорвать", "порыв", "прорыв",
                       "залить", "хлестать", "фонтан"),
                W("квартира", "подвал", "подъезд", "труба", "кипяток", "вода", "потолок", "этаж",
                  "сосед", "дом", "улица"), 4)


@lf("critical", "sewage flooding a flat or basement")
def cr_sewage(ctx: Context) -> bool:
    return near(ctx, W("канализация", "фекалия", "нечистоты", "канализационный", "стоки"),
                W("затопить", "течь", "заливать", "топить", "выливаться", "подвал", "квартира",
                  "вытекать", "бежать", "засор", "прорвать", "вонь"), 4)


@lf("critical", "no heating in the cold season (unknown month counts as cold), or children freezing")
def cr_no_heating(ctx: Context) -> bool:
    if not ctx.in_heating_season:
        return False
    if _failing(ctx, HEAT) or has(ctx, W("не_топить")):
        return True
    return near(ctx, W("мерзнуть", "замерзать", "замерзнуть"), CHILD, 4)


@lf("critical", "no water, electricity or gas for a building right now")
def cr_no_utility(ctx: Context) -> bool:
    for i in _failing(ctx, UTILITY):
        if ctx.tokens[i] == "вода" and i > 0 and ctx.tokens[i - 1] in ("горячий", "гвс"):
            continue
        if ctx.tokens[i] == "свет" and near(ctx, W("свет"), STREET_LIGHT, 4):
            continue
        if ctx.tokens[i] == "газ" and i > 0 and ctx.tokens[i - 1] in ("запах", "утечка"):
            continue  # «запаха газа нет» denies a smell, not the supply
        return True
    return False


@lf("critical", "icicles or snow masses hanging or falling from roofs")
def cr_icicles(ctx: Context) -> bool:
    # «сосули» (colloquial) is lemmatised to «сосулить» or «сосуля».
    if has(ctx, W("сосулька", "глыба", "сосулить", "сосуля")) or near(ctx, W("ледяной"), W("навес", "глыба"), 1):
        return True
    return has(ctx, W("крыша", "кровля")) and near(
        ctx, W("снег", "лед", "наледь", "шифер", "снежный"),
        W("сойти", "упасть", "падать", "сход", "свисать", "висеть", "сползать", "съехать"), 8)


@lf("critical", "attacks by stray dogs")
def cr_dogs(ctx: Context) -> bool:
    return near(ctx, W("собака", "пес", "стая", "псина"),
                W("напасть", "нападать", "покусать", "укусить", "кидаться", "бросаться", "загрызть",
                  "кусать", "нападение", "укус"), 5)


@lf("critical", "an ambulance not coming, refusing or leaving a patient")
def cr_ambulance(ctx: Context) -> bool:
    return near(ctx, W("скорый", "неотложка", "смп", "неотложный"),
                W("ждать", "не_приехать", "не_ехать", "уехать", "отказать", "отказаться", "нет",
                  "не_приезжать", "ожидание", "жду", "не_дождаться", "час"), 6)


@lf("critical", "a child with high fever or without medical help")
def cr_child_no_help(ctx: Context) -> bool:
    if not has(ctx, CHILD):
        return False
    fever = any(38 <= n <= 41 for n in numbers(ctx)) and has(ctx, W("температура", "т", "так"))
    waiting = has(ctx, W("ждать", "жду", "нет", "не_прийти", "сутки", "никто", "плевать", "не_приходить"))
    return (fever and waiting) or near(ctx, W("помощь"), W("ждать", "жду", "без", "не_оказать"), 3)


@lf("critical", "violence, threats, a child in danger")
def cr_violence(ctx: Context) -> bool:
    return has(ctx, W("избить", "избивать", "насилие", "изнасиловать", "убить", "поножовщина", "драка",
                      "похитить", "угрожать", "расправа", "зарезать")) or near(
        ctx, W("угроза"), W("жизнь", "здоровье", "убийство", "ребенок"), 2)


@lf("critical", "a fire or disaster left people without a home")
def cr_homeless(ctx: Context) -> bool:
    return near(ctx, W("остаться", "оказаться"), W("улица"), 2) and has(ctx, CHILD | W("сгореть", "пожар"))


# ----------------------------------------------------------------------------- high


@lf("high", "uncleaned snow or ice making roads, sidewalks or yards hard to pass")
def hi_snow(ctx: Context) -> bool:
    return near(ctx, SNOW, W("не_убрать", "не_убирать", "не_чистить", "не_почистить", "не_вывозить",
                             "не_посыпать", "не_чиститься", "не_убираться", "не_вывезти", "невозможно",
                             "буксовать", "скользко", "застрять", "не_пройти", "не_проехать", "убрать",
                             "почистить", "очистить", "уборка", "посыпать", "опасно", "завалить",
                             "расчистить", "чистить", "вывезти", "убирать", "гора", "куча"), 6)


@lf("high", "garbage not collected, overflowing containers, a growing dump")
def hi_garbage(ctx: Context) -> bool:
    if has(ctx, FEES):
        return False
    return near(ctx, GARBAGE, W("не_вывозить", "не_вывезти", "не_вывозиться", "не_убирать", "не_убрать",
                                "переполнить", "переполненный", "крыса", "растаскивать", "гора", "куча",
                                "валяться", "неделя", "свалка", "помойка", "вонь", "не_забирать"), 6)


@lf("high", "street lights or a traffic light out")
def hi_lights(ctx: Context) -> bool:
    return near(ctx, STREET_LIGHT - W("подъезд"),
                W("не_гореть", "не_работать", "нет", "отсутствовать", "темно", "отключить", "выключить",
                  "не_светить", "отсутствие", "неисправный"), 4) or near(ctx, W("темно"), W("улица"), 4)


@lf("high", "a pothole damaging cars, a road that cannot be passed")
def hi_road_damage(ctx: Context) -> bool:
    return near(ctx, W("яма", "выбоина", "колея", "дорога", "провал"),
                W("пробить", "повредить", "колесо", "диск", "подвеска", "разбить"), 5) or near(
        ctx, W("пройти", "проехать", "проход", "проезд"), W("невозможно", "нет", "не_мочь", "не_возможно"), 2)


@lf("high", "cold radiators, a cold flat, no hot water")
def hi_weak_heating(ctx: Context) -> bool:
    cold_radiator = near(ctx, W("батарея", "радиатор", "отопление", "стояк"),
                         W("холодный", "чуть", "еле", "едва", "слабый", "плохо", "прохладный", "остывать",
                           "тепленький", "не_греть"), 3)
    cold_flat = near(ctx, W("холодно", "холод", "холодина", "градус", "мерзнуть", "замерзать", "холодный"),
                     W("квартира", "дом", "комната", "помещение", "дома", "подъезд", "этаж"), 4)
    hot_water = near(ctx, W("горячий", "гвс"), FAIL | W("холодный", "еле", "чуть", "подача", "нет"), 3)
    return cold_radiator or cold_flat or hot_water


@lf("high", "a broken lift or a leaking roof")
def hi_lift_roof(ctx: Context) -> bool:
    return near(ctx, W("лифт"), W("не_работать", "сломать", "стоять", "стоить", "застрять", "неисправный",
                                  "отключить", "сломаться"), 3) or near(
        ctx, W("крыша", "кровля", "потолок"), W("течь", "протекать", "протечка", "капать", "бежать"), 3)


@lf("high", "medicine or subsidised drugs not given, no supply")
def hi_medicine(ctx: Context) -> bool:
    return near(ctx, W("лекарство", "препарат", "инсулин", "льготный", "медикамент", "рецепт"),
                FAIL | W("не_выдать", "не_выдавать", "не_получить", "закончиться", "исчезновение",
                         "дефицит", "нехватка", "перебой", "не_мочь", "исчезнуть"), 5)


@lf("high", "a sick person who cannot get a doctor or a home visit")
def hi_doctor(ctx: Context) -> bool:
    cannot_book = near(ctx, W("записаться", "запись", "попасть", "талон", "дозвониться"),
                       W("не_мочь", "невозможно", "нет", "не_получаться", "месяц"), 3)
    no_visit = near(ctx, W("врач", "вызов", "педиатр", "терапевт", "фельдшер"),
                    W("не_прийти", "ждать", "не_приходить", "никто", "отказать", "не_сделать", "прождать",
                      "нет"), 5)
    return cannot_book or no_visit


@lf("high", "a public transport route cancelled or not running")
def hi_transport(ctx: Context) -> bool:
    return near(ctx, W("рейс", "маршрут", "автобус", "электричка", "маршрутка", "трамвай", "троллейбус"),
                W("отменить", "отмена", "не_ходить", "не_ездить", "не_приехать", "не_выйти", "сократить",
                  "убрать", "не_быть", "не_прийти", "перестать"), 4)


@lf("high", "a benefit or payment stopped or delayed")
def hi_payment(ctx: Context) -> bool:
    return near(ctx, W("пособие", "выплата", "пенсия", "компенсация", "зачисление", "зарплата"),
                W("не_прийти", "не_поступить", "не_поступать", "задержать", "задерживать", "задержка",
                  "не_приходить", "прекратить", "перестать", "приостановить", "не_перечислить",
                  "не_выплатить", "нет", "не_получить"), 4)


@lf("high", "standing water in a flat, basement or toilet")
def hi_standing_water(ctx: Context) -> bool:
    # pymorphy3 reads «стоит» as «стоить» as often as «стоять»: both count.
    return near(ctx, W("вода"), W("стоять", "стоить", "скапливаться", "подтопить", "подтоплять"), 3)
