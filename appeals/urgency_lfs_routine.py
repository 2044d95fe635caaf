"""Labelling functions for the routine levels, `normal` and `low` (rubric signs of the lower half).

These vote with smaller weights than the danger functions (training/configs/urgency.toml), so a
stated danger outvotes a routine sign, which is the rubric's «several problems: the most urgent one».
"""

from __future__ import annotations

from appeals.urgency_lfs import FEES, LONG_RE
from appeals.urgency_rules import Context, has, is_question, lf, near
from appeals.urgency_rules import words as W

COMPLAINT = W("нет", "отсутствовать", "сломать", "жалоба", "проблема", "невозможно", "ужас", "кошмар",
              "безобразие", "беда", "течь", "мусор", "яма", "грязь", "отключить", "отключение", "авария",
              "сломаться", "прорвать", "затопить", "без")


def _complains(ctx: Context) -> bool:
    return has(ctx, COMPLAINT) or any(t.startswith("не_") and t not in ("не_мочь", "не_знать")
                                      for t in ctx.tokens)


# ----------------------------------------------------------------------------- normal


@lf("normal", "repair, landscaping, playgrounds, benches, parking")
def no_repair(ctx: Context) -> bool:
    return has(ctx, W("ремонт", "отремонтировать", "благоустройство", "благоустроить", "скамейка", "лавочка",
                      "площадка", "парковка", "асфальт", "асфальтирование", "остановка", "озеленение",
                      "ограждение", "качели", "покраска", "покрасить", "песочница", "тротуар", "бордюр",
                      "клумба", "газон", "ямочный", "асфальтировать", "установить", "сквер", "парк"))


@lf("normal", "management company, fees, bills, recalculations")
def no_housing_services(ctx: Context) -> bool:
    return has(ctx, FEES | W("ук", "тсж", "жэу", "управлять", "капремонт", "жку", "жкх", "управляйка"))


@lf("normal", "a grievance about staff, a request for an inspection or an explanation")
def no_grievance(ctx: Context) -> bool:
    return has(ctx, W("жалоба", "пожаловаться", "нарушение", "проверка", "проверить", "разобраться",
                      "хамство", "нахамить", "грубить", "грубый", "хамить", "халатность", "безобразие",
                      "беспредел", "отписка", "бездействие", "бездействовать", "правомерно", "неправомерно",
                      "незаконно", "законно", "хамло", "прокуратура", "недовольство", "возмущение"))


@lf("normal", "housing queues, resettlement from unsafe housing, plans")
def no_housing_queue(ctx: Context) -> bool:
    return has(ctx, W("расселение", "переселение", "аварийный", "снос", "очередь", "сирота", "жилье",
                      "расселить", "застройка", "строительство", "построить"))


@lf("normal", "a benefit refused or disputed (not stopped): the standard procedure")
def no_benefit_dispute(ctx: Context) -> bool:
    return near(ctx, W("пособие", "выплата", "компенсация", "льгота", "субсидия", "выплатить"),
                W("отказать", "отказ", "почему", "правомерно", "не_положить", "неправомерно", "не_назначить",
                  "положить", "рассчитать", "маленький", "размер"), 6)


@lf("normal", "a long-standing problem («уже третий год»)")
def no_long_standing(ctx: Context) -> bool:
    return bool(LONG_RE.search(" ".join(ctx.tokens)))


@lf("normal", "healthcare organisation: clinics, doctors shortage, hospital conditions")
def no_healthcare(ctx: Context) -> bool:
    return has(ctx, W("поликлиника", "больница", "фап", "цгб", "црб", "стационар", "отделение",
                      "медицина", "медицинский", "врач")) and _complains(ctx)


# ----------------------------------------------------------------------------- low


@lf("low", "thanks and praise with no complaint")
def lo_thanks(ctx: Context) -> bool:
    return has(ctx, W("спасибо", "благодарить", "благодарность", "молодец", "благодарный", "признательный")) \
        and not _complains(ctx)


@lf("low", "a question that only asks for information")
def lo_info_question(ctx: Context) -> bool:
    asks = has(ctx, W("подсказать", "узнать", "интересовать", "разъяснить", "проконсультировать", "уточнить",
                      "куда", "какой", "где", "планироваться", "когда", "можно", "положить", "полагаться",
                      "интересно", "нужно"))
    return is_question(ctx) and asks and not _complains(ctx)


@lf("low", "a fragment too short to act on")
def lo_short(ctx: Context) -> bool:
    return len(ctx.tokens) < 7


@lf("low", "an opinion, proposal or idea")
def lo_opinion(ctx: Context) -> bool:
    return has(ctx, W("предлагать", "предложение", "хотеться", "идея", "давать", "мнение", "считать", "думать",
                      "здорово", "предложить", "поддерживать", "согласный", "за")) and not _complains(ctx)


@lf("low", "advertising, hashtags, links, test texts")
def lo_spam(ctx: Context) -> bool:
    no_letters = not any(ch.isalpha() for ch in ctx.text)
    link_only = "http" in ctx.lower and len(ctx.tokens) < 25
    return no_letters or ctx.text.count("#") >= 2 or link_only or has(
        ctx, W("реклама", "подкаст", "вакансия", "розыгрыш", "конкурс", "репост"))
