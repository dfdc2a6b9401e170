"""A generated long-format national extract: Kazakh internal migration by region, direction, sex,
age, settlement type, citizenship group and year, 12 columns, as an information system exports it.

Used by bench/convert.py (1,000,000 rows) and, small, by the tests. Numbers are
pseudo-random and illustrative; a few cells carry the symbols '-' and '...'.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HEADER = ["Год", "Код КАТО", "Регион", "Показатель", "Направление", "Пол", "Возраст", "Местность",
          "Гражданство", "Значение", "Единица", "Примечание"]
REGIONS = [("110000000", "Акмолинская область"), ("150000000", "Актюбинская область"),
           ("190000000", "Алматинская область"), ("230000000", "Атырауская область"),
           ("270000000", "Западно-Казахстанская область"), ("310000000", "Жамбылская область"),
           ("350000000", "Карагандинская область"), ("390000000", "Костанайская область"),
           ("430000000", "Кызылординская область"), ("470000000", "Мангистауская область"),
           ("550000000", "Павлодарская область"), ("590000000", "Северо-Казахстанская область"),
           ("610000000", "Туркестанская область"), ("630000000", "Восточно-Казахстанская область"),
           ("710000000", "г. Астана"), ("750000000", "г. Алматы"), ("790000000", "г. Шымкент")]
INDICATORS = ["прибывшие", "выбывшие"]
DIRECTIONS = ["внутри региона", "между регионами"]
SEXES = ["мужчины", "женщины", "всего"]
AGES = ["Моложе 5 лет", "5-9 лет", "10-14 лет", "15-19 лет", "20-24 года", "25-29 лет", "30-34 года",
        "35-39 лет", "40-44 года", "45-49 лет", "50-54 года", "55-59 лет", "60-64 года", "65-69 лет",
        "70-74 года", "75-79 лет", "80-84 года", "85 лет и старше", "Все возрасты"]
SETTLEMENTS = ["городская местность", "сельская местность", "всего"]
CITIZENSHIPS = ["граждане Казахстана", "иностранцы и лица без гражданства", "все"]
YEARS = [str(y) for y in range(1994, 2024)]


def rows(count: int, seed: int = 2023):
    """``count`` data rows, sorted by series key with the years varying fastest."""
    rng = random.Random(seed)
    made = 0
    while True:
        for kato, region in REGIONS:
            for indicator in INDICATORS:
                for direction in DIRECTIONS:
                    for sex in SEXES:
                        for age in AGES:
                            for settlement in SETTLEMENTS:
                                for citizenship in CITIZENSHIPS:
                                    for year in YEARS:
                                        if made == count:
                                            return
                                        roll = rng.random()
                                        value = "-" if roll < 0.01 else "..." if roll < 0.012 else \
                                            str(rng.randint(1, 4000))
                                        note = "оперативные данные" if year == "2023" and roll > 0.999 else ""
                                        yield [year, kato, region, indicator, direction, sex, age, settlement,
                                               citizenship, value, "человек", note]
                                        made += 1


def write(path: Path, count: int, seed: int = 2023) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(rows(count, seed))
    return path


if __name__ == "__main__":
    import sys
    print(write(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 1000))
