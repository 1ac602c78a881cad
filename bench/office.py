"""A large office for the benchmark: the demo department grown to 60 specialists."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from visits.config import DEMO_CONFIG_PATH

SPECIALISTS = 60
# Phone operators on the consultation line (§18-27), each with a call card open at once.
LINE_OPERATORS = 10
SURNAMES = [
    "Абрамов",
    "Борисов",
    "Васильев",
    "Голубев",
    "Данилов",
    "Ершов",
    "Жуков",
    "Зайцев",
    "Ильин",
    "Королёв",
    "Лазарев",
    "Макаров",
    "Никитин",
    "Осипов",
    "Павлов",
    "Романов",
    "Семёнов",
    "Тарасов",
    "Уткин",
    "Филиппов",
]
NAMES = [("Андрей", "Ильич"), ("Борис", "Олегович"), ("Глеб", "Петрович")]
# Check-in opens this long before a visit (the most the office file allows): the capacity
# runs check in several hundred visitors, the next few hours of every specialist.
CHECKIN_OPENS_MINUTES = 240


def morning_timezone() -> str:
    """A fixed-offset zone where it is 08:00-09:00 now: the day's visits all fit before midnight.

    (Etc/GMT-N means UTC+N: the sign is inverted by the POSIX convention.)
    """
    offset = (8 - datetime.now(UTC).hour) % 24
    if offset > 14:
        offset -= 24
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def large_office(target: Path) -> Path:
    """Write the benchmark office TOML and return its path."""
    config: dict[str, Any] = tomllib.loads(DEMO_CONFIG_PATH.read_text(encoding="utf-8"))
    config["office"]["timezone"] = morning_timezone()
    config["office"]["checkin_opens_minutes_before"] = CHECKIN_OPENS_MINUTES
    existing = sum("specialist" in s["roles"] for s in config["staff"])
    services = [s["code"] for s in config["services"]]
    for member in config["staff"]:
        if "specialist" in member["roles"] and "consultation" not in member["services"]:
            member["services"].append("consultation")
    extra = SPECIALISTS - existing
    for i in range(extra):
        floor = 5 + i // 20
        number = f"{floor}{i % 20 + 1:02d}"
        if not any(f["number"] == floor for f in config["floors"]):
            config["floors"].append({"number": floor, "name": f"{floor} этаж"})
        config["rooms"].append(
            {
                "number": number,
                "floor": floor,
                "kind": "office",
                "route": f"Лифт на {floor} этаж, кабинет {number}.",
            }
        )
        first, patronymic = NAMES[i % len(NAMES)]
        config["staff"].append(
            {
                "login": f"bench{i:02d}",
                "surname": SURNAMES[i % len(SURNAMES)],
                "first_name": first,
                "patronymic": patronymic,
                "position": "Специалист",
                "unit": f"Отдел {i % 6 + 1}",
                "room": number,
                "roles": ["specialist"],
                # Everyone also gives consultations: the slot search covers all 60 specialists.
                "services": sorted({"consultation", services[i % len(services)]}),
            }
        )
    for i in range(LINE_OPERATORS):
        first, patronymic = NAMES[i % len(NAMES)]
        config["staff"].append(
            {
                "login": f"line{i + 1:02d}",
                "surname": SURNAMES[-1 - i % len(SURNAMES)],
                "first_name": first,
                "patronymic": patronymic,
                "position": "Оператор консультационной линии",
                "unit": "Консультационная линия",
                "roles": ["operator"],
            }
        )
    target.write_text(tomli_w.dumps(config), encoding="utf-8")
    return target
