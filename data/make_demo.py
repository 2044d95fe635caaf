"""Write the project's demo dataset: fictional Russian appeals of a fictional city, from templates.

Deterministic: the same templates and seed give a byte-identical CSV. Run
`.venv/bin/python data/make_demo.py [--output PATH]`; the phrases, places and planted spikes live in
data/demo_templates.toml and data/README.md documents the result.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "demo_templates.toml"
OUTPUT = HERE / "demo_appeals.csv"
COLUMNS = ("id", "text", "created_at", "channel", "municipality", "district", "address",
           "topic", "topic_group", "department", "urgency")
SCENARIO_WEIGHT = {"critical": 0.45, "high": 1.0, "normal": 1.1, "low": 0.55}
THANKS = re.compile("пасибо|лагодар")
SENTENCE_START = re.compile(r"(?:^|[.!?] )[а-яё]")
ABBREVIATIONS = {"ул", "д", "ш", "пр-т", "пер", "кв", "мкр", "наб", "пл", "б-р", "корп", "тел", "ост"}
HOUSE_SLOTS = ("{addr}", "{at_house}", "{near}", "{yard}", "{house}")
TRANSLIT = dict(zip("абвгдеёжзийклмнопрстуфхцчшщыэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "sch", "y", "e", "yu", "ya"],
                    strict=True))

Spec = dict[str, Any]
Slots = dict[str, str]


def load_spec(path: Path = TEMPLATES) -> Spec:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def pick(rng: random.Random, items: list[Any]) -> Any:
    return items[rng.randrange(len(items))]


def pick_weighted(rng: random.Random, weights: dict[Any, float]) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys], k=1)[0]


def make_place(rng: random.Random, spec: Spec, district: str, fixed: tuple[str, str] | None = None) -> Slots:
    """Address slots for a random house on a street of `district` (or for the `fixed` street and house)."""
    streets = [name for name, (_, d) in spec["streets"].items() if d == district]
    street = pick(rng, streets)
    house = str(rng.randint(1, 75)) + ("" if rng.random() < 0.85 else pick(rng, ["а", "б", " корп. 2"]))
    if fixed:
        street, house = fixed
    on_forms = spec["streets"][street][0]
    on_street = pick(rng, on_forms)
    bare = street.split(" ", 1)[1] if street[0].islower() else street.split(" ")[0]
    addr = pick(rng, [f"{street}, д. {house}", f"{street}, {house}", f"{street}, д. {house}",
                      f"{bare} {house}", f"{street.replace('. ', '.')} д.{house}"])
    return {
        "street": street, "house": house, "on_street": on_street, "addr": addr,
        "at_house": pick(rng, [f"в доме по адресу {addr}", f"в доме № {house} {on_street}",
                               f"в нашем доме ({addr})", f"по адресу: {addr},"]),
        "near": pick(rng, [f"возле дома {house} {on_street}", f"у дома по адресу {addr}",
                           f"напротив дома {house} {on_street}", f"{on_street} в районе дома {house}"]),
        "yard": pick(rng, [f"во дворе дома {house} {on_street}", f"во дворе дома {addr}",
                           f"у нас во дворе ({addr})"]),
    }


def make_person(rng: random.Random, spec: Spec) -> Slots:
    """A fictional person: name, phone in the +7 900 000-xx-xx range, e-mail at an example domain."""
    pools = spec["pools"]
    female = rng.random() < 0.6
    surname = pick(rng, pools["surnames_m"]) + ("а" if female else "")
    first = pick(rng, pools["first_f" if female else "first_m"])
    patronymic = pick(rng, pools["patronymic_f" if female else "patronymic_m"])
    a, b = rng.randint(10, 99), rng.randint(10, 99)
    phone = pick(rng, [f"+7 (900) 000-{a}-{b}", f"8 900 000 {a} {b}", f"8900000{a}{b}",
                       f"+7900000{a}{b}", f"8-900-000-{a}-{b}"])
    latin = "".join(TRANSLIT.get(c, c) for c in surname.lower())
    email = pick(rng, [f"{latin}.{TRANSLIT[first[0].lower()]}", f"{latin}{rng.randint(60, 99)}",
                       f"{TRANSLIT[first[0].lower()]}.{latin}"]) + "@" + pick(rng, pools["email_domains"])
    return {
        "fio": pick(rng, [f"{surname} {first} {patronymic}", f"{first} {patronymic} {surname}"]),
        "short_name": pick(rng, [f"{first[0]}. {patronymic[0]}. {surname}", f"{surname} {first[0]}.{patronymic[0]}."]),
        "first": first, "phone": phone, "email": email, "flat": f"кв. {rng.randint(1, 180)}",
    }


def make_slots(rng: random.Random, spec: Spec, district: dict[str, str], when: datetime,
               fixed: tuple[str, str] | None = None) -> Slots:
    pools = spec["pools"]
    earlier = (when - timedelta(days=rng.randint(8, 45))).strftime("%d.%m.%Y")
    slots = make_place(rng, spec, district["name"], fixed)
    slots.update({
        "district_loc": f"в {district['loc']} районе", "district": district["name"], "route": pick(rng, pools["routes"]),
        "stop": pick(rng, pools["stops"]), "clinic": pick(rng, pools["clinics"]),
        "doctor": pick(rng, pools["doctors"]), "drug": pick(rng, pools["drugs"]), "date": earlier,
        "flat": "",
    })
    return slots


def full_text(rng: random.Random, frames: Spec, scenario: Spec, urgency: str, pd: bool,
              formal: bool = True) -> list[str]:
    """Templates of a written appeal: greeting, context, problem, detail, duration, request, sign-off."""
    parts = [pick(rng, frames["greeting"])] if formal and rng.random() < 0.6 else []
    if pd and formal and rng.random() < 0.5:
        parts.append(pick(rng, frames["name_intro"]))
    elif formal and rng.random() < 0.25 and urgency != "low" and scenario["located"]:
        parts.append(pick(rng, frames["intro"]))
    parts.append(pick(rng, scenario["problem"]))
    if scenario.get("extra") and rng.random() < 0.55:
        parts.append(pick(rng, scenario["extra"]))
    if rng.random() < 0.5:
        parts.append(pick(rng, frames["duration"][urgency]))
    if rng.random() < 0.75 and not (urgency == "low" and THANKS.search(parts[-1])):
        parts.append(pick(rng, frames["request"][urgency]))
    if pd and not any("{fio}" in p for p in parts):
        parts.append(pick(rng, frames["signoff"]))
    elif rng.random() < 0.4 and not THANKS.search(" ".join(parts[-2:])):
        parts.append(pick(rng, frames["plain_signoff"]))
    return parts


def hotline_text(rng: random.Random, frames: Spec, scenario: Spec, urgency: str, pd: bool) -> list[str]:
    """An operator's note of a phone call, in the third person."""
    where = pick(rng, ["Адрес: {addr}.", "Адрес проблемы: {addr}.", "Район: {district}, адрес: {addr}."])
    if not scenario["located"]:
        where = pick(rng, ["", "Проживает {district_loc}."])
    lead = pick(rng, ["Заявитель сообщает: {s}.", "Суть обращения: {s}.", "{S}."]
                + (["Жалоба: {s}."] if urgency != "low" else []))
    s = pick(rng, scenario["short"])
    parts = [pick(rng, frames["hotline_open"]), lead.replace("{s}", s).replace("{S}", s[0].upper() + s[1:])]
    if where and urgency != "low" or rng.random() < 0.3:
        parts.append(where)
    parts.append(pick(rng, frames["hotline_ask"][urgency]))
    if pd:
        parts.append(pick(rng, frames["hotline_pd"]))
    return parts


def messenger_text(rng: random.Random, frames: Spec, scenario: Spec, urgency: str, pd: bool) -> list[str]:
    """A short social-network post: a fragment and a place, or a written appeal without the formalities."""
    if urgency == "low" or rng.random() < 0.5:
        parts = full_text(rng, frames, scenario, urgency, pd, formal=False)
    else:
        place = pick(rng, ["{addr}", "{on_street}", "{district_loc}", ""] if scenario["located"] else [""])
        parts = [f"{place} {pick(rng, scenario['short'])}!", pick(rng, frames["messenger_tail"])]
        if pd:
            parts.append(pick(rng, ["мой номер {phone}", "{first}, {phone}", "пишите {email}"]))
    return parts


def capitalize_sentences(text: str) -> str:
    """Upper-case the first letter of each sentence, but not after «ул.», «д.», «ш.» and the like."""
    def upper(match: re.Match[str]) -> str:
        word = text[: match.start()].rsplit(" ", 1)[-1].lower()
        return match.group(0) if word in ABBREVIATIONS else match.group(0).upper()
    return SENTENCE_START.sub(upper, text)


def add_typos(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) < 5 or not w.isalpha():
            continue
        j = rng.randrange(1, len(w) - 2)
        words[i] = pick(rng, [w[:j] + w[j + 1] + w[j] + w[j + 2:], w[:j] + w[j + 1:], w[:j] + w[j] + w[j:]])
    return " ".join(words)


def compose(rng: random.Random, spec: Spec, scenario: Spec, urgency: str, channel: str,
            slots: Slots) -> tuple[str, bool]:
    """The text of one appeal and whether it names a house (then the address column gets the house)."""
    frames = spec["frames"]
    pd = rng.random() < spec["pd_share"]
    style = {"hotline": hotline_text, "vk": messenger_text, "telegram": messenger_text}.get(channel, full_text)
    template = " ".join(p for p in style(rng, frames, scenario, urgency, pd) if p)
    values = dict(slots)
    if pd:
        values.update(make_person(rng, spec))
    text = template.format_map(values)
    text = re.sub(r"\s+([,.!?)])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()
    text = text.replace(",.", ".").replace(",,", ",").replace("..", ".")
    text = capitalize_sentences(text)
    if channel in ("vk", "telegram") and rng.random() < 0.5:
        text = text.lower().rstrip(".")
    if rng.random() < spec["typo_share"]:
        text = add_typos(rng, text)
    return text, any(s in template for s in HOUSE_SLOTS)


def pick_scenario(rng: random.Random, topic: Spec, month: int, urgency: str | None = None) -> Spec:
    options = [s for s in topic["scenario"] if month in s.get("months", range(1, 13))
               and (urgency is None or s["urgency"] == urgency)]
    chosen: Spec = rng.choices(options, weights=[SCENARIO_WEIGHT[s["urgency"]] for s in options], k=1)[0]
    return chosen


def make_row(rng: random.Random, spec: Spec, topic: Spec, when: datetime, district: dict[str, str],
             scenario: Spec, fixed: tuple[str, str] | None = None) -> dict[str, str]:
    channel = pick_weighted(rng, spec["channels"])
    slots = make_slots(rng, spec, district, when, fixed)
    scenario = dict(scenario, located=topic.get("where") != "none")
    text, names_house = compose(rng, spec, scenario, scenario["urgency"], channel, slots)
    department = scenario.get("department", topic["department"])
    if department == "district":
        department = f"Администрация {district['gen']} района"
    address = "" if topic.get("where") == "none" else (
        f"{slots['street']}, д. {slots['house']}" if names_house else slots["street"])
    return {"text": text, "created_at": when.isoformat(timespec="seconds"), "channel": channel,
            "municipality": spec["municipality"], "district": district["name"], "address": address,
            "topic": topic["name"], "topic_group": topic["group"], "department": department,
            "urgency": scenario["urgency"]}


def random_moment(rng: random.Random, spec: Spec, first: date, days: int) -> datetime:
    """A day in [first, first + days) weighted by weekday, at an hour weighted towards the daytime."""
    candidates = [first + timedelta(days=i) for i in range(days)]
    day = rng.choices(candidates, weights=[spec["weekday_weights"][d.weekday()] for d in candidates], k=1)[0]
    hour = rng.choices(range(24), weights=[1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11, 10, 9, 9, 9, 9, 9, 8, 8,
                                           7, 7, 6, 4, 2], k=1)[0]
    return datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60))


def base_rows(rng: random.Random, spec: Spec) -> list[dict[str, str]]:
    first, last = date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
    districts = {d["name"]: d for d in spec["district"]}
    rows = []
    for _ in range(spec["base_count"]):
        when = random_moment(rng, spec, first, (last - first).days + 1)
        weights = {t["name"]: t["weight"] * t.get("season", [1.0] * 12)[when.month - 1]
                   for t in spec["topic"] if any(when.month in s.get("months", range(1, 13)) for s in t["scenario"])}
        name = pick_weighted(rng, weights)
        topic = next(t for t in spec["topic"] if t["name"] == name)
        district = districts[pick_weighted(rng, {n: d["weight"] for n, d in districts.items()})]
        rows.append(make_row(rng, spec, topic, when, district, pick_scenario(rng, topic, when.month)))
    return rows


def spike_rows(rng: random.Random, spec: Spec) -> list[dict[str, str]]:
    topics = {t["name"]: t for t in spec["topic"]}
    districts = {d["name"]: d for d in spec["district"]}
    rows = []
    for spike in spec["spike"]:
        topic = topics[spike["topic"]]
        for _ in range(spike["extra"]):
            when = random_moment(rng, spec, date.fromisoformat(spike["start"]), spike["days"])
            district = districts[spike["district"] or pick(rng, sorted(districts))]
            rows.append(make_row(rng, spec, topic, when, district,
                                 pick_scenario(rng, topic, when.month, spike["urgency"])))
    return rows


def burst_rows(rng: random.Random, spec: Spec) -> list[dict[str, str]]:
    """Residents of one house retell one burst pipe; one of them sends the same text twice."""
    burst = spec["burst"]
    topic = next(t for t in spec["topic"] if t["name"] == burst["topic"])
    district = next(d for d in spec["district"] if d["name"] == spec["streets"][burst["street"]][1])
    scenario = {"urgency": "critical", "problem": burst["problem"], "short": burst["short"]}
    start = datetime.fromisoformat(burst["start"])
    rows = []
    for _ in range(burst["count"]):
        when = start + timedelta(minutes=rng.randint(0, 36 * 60))
        row = make_row(rng, spec, topic, when, district, scenario, (burst["street"], burst["house"]))
        rows.append(dict(row, address=f"{burst['street']}, д. {burst['house']}"))
    written = [row for row in rows if row["channel"] in ("portal", "email")]
    for row in written[: burst["exact_repeats"]]:
        repeat = dict(row, channel="portal" if row["channel"] == "email" else "email")
        repeat["created_at"] = (datetime.fromisoformat(row["created_at"]) + timedelta(hours=3)).isoformat()
        rows.append(repeat)
    return rows


def generate(spec: Spec) -> list[dict[str, str]]:
    rng = random.Random(spec["seed"])
    rows = base_rows(rng, spec) + spike_rows(rng, spec) + burst_rows(rng, spec)
    rows.sort(key=lambda r: (r["created_at"], r["text"]))
    return [{"id": f"demo-{i:05d}", **row} for i, row in enumerate(rows, start=1)]


def write_csv(rows: list[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=OUTPUT, help="CSV to write (default: %(default)s)")
    parser.add_argument("--templates", type=Path, default=TEMPLATES, help="phrase templates (TOML)")
    args = parser.parse_args(argv)
    rows = generate(load_spec(args.templates))
    write_csv(rows, args.output)
    print(f"{args.output}: {len(rows)} appeals written")


if __name__ == "__main__":
    main()
