"""Generate the demo schools, class sets and pre-school rosters in admission/reference/.

Deterministic (fixed seed): run it again and the files do not change.  The
numbers are invented; the shapes are those of real Kazakh schools.

    python scripts/gen_reference.py [--schools-per-region 10]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from pathlib import Path

from admission.iin import check_digit, make_iin

REFERENCE = Path(__file__).resolve().parent.parent / "admission" / "reference"

LOCALITIES = {
    "astana": ["Астана"], "almaty-city": ["Алматы"], "shymkent": ["Шымкент"],
    "abai": ["Семей", "Аягөз"], "akmola": ["Көкшетау", "Степногорск"], "aktobe": ["Ақтөбе", "Хромтау"],
    "almaty-region": ["Қонаев", "Есік"], "atyrau": ["Атырау", "Құлсары"],
    "west-kazakhstan": ["Орал", "Ақсай"], "zhambyl": ["Тараз", "Шу"], "zhetisu": ["Талдықорған", "Текелі"],
    "karaganda": ["Қарағанды", "Теміртау"], "kostanay": ["Қостанай", "Рудный"],
    "kyzylorda": ["Қызылорда", "Арал"], "mangystau": ["Ақтау", "Жаңаөзен"],
    "pavlodar": ["Павлодар", "Екібастұз"], "north-kazakhstan": ["Петропавл", "Булаево"],
    "turkistan": ["Түркістан", "Кентау"], "ulytau": ["Жезқазған", "Сәтбаев"],
    "east-kazakhstan": ["Өскемен", "Риддер"],
}  # fmt: skip


def make_bin(rng: random.Random) -> str:
    while True:
        first11 = f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}4{rng.randint(0, 999_999):06d}"
        digit = check_digit(first11)
        if digit is not None:
            return first11 + str(digit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schools-per-region", type=int, default=10)
    args = parser.parse_args()
    rng = random.Random(2026)
    regions = [row["slug"] for row in csv.DictReader((REFERENCE / "regions.csv").open(encoding="utf-8"))]
    schools, classes, roster = [], [], []
    for region in regions:
        for number in range(1, args.schools_per_region + 1):
            bin_ = make_bin(rng)
            locality = rng.choice(LOCALITIES[region])
            schools.append({
                "bin": bin_, "region_slug": region,
                "name_kk": f"№{number} жалпы білім беретін мектеп ({locality})",
                "name_ru": f"Общеобразовательная школа №{number} ({locality})",
                "locality": locality,
                "address": f"{locality}, {rng.choice(['Абай', 'Сәтпаев', 'Бейбітшілік', 'Тәуелсіздік'])} көшесі, {rng.randint(1, 200)}",
                "phone": f"+7 7{rng.randint(10, 29)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                "email": f"school{number}.{region}@edu.kz",
                "website": f"https://school{number}-{region}.edu.kz",
            })  # fmt: skip
            for grade in range(1, 12):
                for language, weight in (("kk", 3), ("ru", 2)):
                    classes.append({
                        "school_bin": bin_, "grade": grade, "language": language,
                        "classes": rng.randint(1, weight), "seats_per_class": rng.choice([24, 25, 30]),
                    })  # fmt: skip
            for serial in range(rng.randint(3, 8)):
                born = dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
                roster.append({
                    "school_bin": bin_,
                    "child_iin": make_iin(born, rng.random() < 0.5, rng.randint(0, 9999) + serial),
                    "language": rng.choice(["kk", "kk", "ru"]),
                })  # fmt: skip
    for name, rows in (("schools", schools), ("school_classes", classes), ("preschool_roster", roster)):
        with (REFERENCE / f"{name}.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        print(f"{name}.csv: {len(rows)} rows")


if __name__ == "__main__":
    main()
