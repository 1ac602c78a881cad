"""§5-6: every Russian text the product shows, prints, says or sends keeps the order's style.

The scan (visits.style) reads the Jinja templates of every screen, the string
constants of the Python code (errors, services' messages, message templates,
the printer layout, speech) and the office file. The whole-tree test fails as
soon as a forbidden phrase is added anywhere; the other tests prove that each
kind of file is really read, so the scan cannot quietly shrink.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from visits.style import STYLE_ALLOWED, product_files, style_problems, style_scan, texts_of

ROOT = Path(__file__).resolve().parents[2]


# The order's own examples (§6.2, §6.3, §6.5, §6.6).
@pytest.mark.parametrize(
    "bad",
    [
        "Мы приняли меры по вашему обращению.",
        "Департамент провел ряд мероприятий.",
        "Вам доступны иные меры поддержки.",
        "Обращение в работе.",
        "Запись на прием производится посредством звонка.",
        "Данное решение было принято в результате заседания.",
        "Просим Вас подойти позже.",
        "Мы передадим коллегам.",
        "Вас приглашают: кабинет 305.",
        "Приносим извинения за доставленные неудобства.",
        "Выдача осуществляется в кабинете 101.",
        "Клиент записан(а).",
    ],
)
def test_the_orders_bad_examples_are_caught(bad: str) -> None:
    assert style_problems(bad), bad


@pytest.mark.parametrize(
    "good",
    [
        "Записаться можно по телефону 238-60-02.",
        "Решение было принято на заседании.",
        "Вас примет Мария Петровна Иванова, кабинет 305, 3 этаж.",
        "Ваше обращение находится на рассмотрении в отделе X, у ФИО, телефон",
        "Я приношу Вам извинения.",
        # "Data" is a noun, not the bureaucratic «данный».
        "Согласие на обработку персональных данных получено.",
        "Исправить данные клиента",
    ],
)
def test_the_orders_good_examples_pass(good: str) -> None:
    assert style_problems(good) == [], good


def test_the_orders_own_phone_phrases_are_allowed_verbatim() -> None:
    # §27.1 prescribes these words; elsewhere «данный» is still caught.
    for phrase in STYLE_ALLOWED:
        assert style_problems(f"Иван Петрович, {phrase} времени.") == []
    assert style_problems("Иван Петрович, данный вопрос решён.")


def test_every_text_of_the_product_keeps_the_style() -> None:
    findings = style_scan(ROOT)
    assert findings == [], "\n" + "\n".join(str(f) for f in findings)


def test_the_scan_reads_every_kind_of_text_the_product_has() -> None:
    files = {str(p.relative_to(ROOT)) for p in product_files(ROOT)}
    for expected in (
        "visits/errors.py",
        "visits/notify/templates.py",
        "visits/speech.py",
        "visits/services/tts.py",
        "printer/layout.py",
        "visits/services/printing.py",
        "visits/demo_office.toml",
        "signage/templates/signage/partials/_board_live.html",
        "kiosk/templates/kiosk/partials/_ticket_status.html",
        "staff_panel/templates/staff_panel/partials/_desk_done.html",
    ):
        assert expected in files, expected
    assert not any(f.startswith(("tests/", "migrations/")) for f in files)
    # The texts of a module with messages come out of it.
    printed = [t for _, t in texts_of(ROOT / "printer/layout.py")]
    assert printed, "the ticket layout's texts are read"


def _write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_phrase_is_found_in_each_kind_of_file(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "kiosk/templates/kiosk/partials/_x.html",
        '<p>{{ name }}, запись производится\n  посредством звонка</p>\n<button title="Ваш звонок очень важен">OK</button>\n',
    )
    _write(
        tmp_path,
        "visits/services/x.py",
        '"""Данный модуль: a docstring is not shown to anyone."""\n'
        "def f(n: str) -> str:\n"
        '    return f"{n}, мы приняли " f"меры"\n'
        'ERROR = "Обращение в работе."\n',
    )
    _write(tmp_path, "printer/x.py", 'LINE = "Просим вас сохранить талон"\n')
    _write(tmp_path, "visits/office.toml", '[office]\nroute = "Проход осуществляется с торца"\n')
    # Not the product's: tests are not scanned.
    _write(tmp_path, "visits/tests/t.py", 'X = "приняли меры"\n')
    found = {(f.where.split(":")[0], f.problem.split(":")[0]) for f in style_scan(tmp_path)}
    assert found == {
        ("kiosk/templates/kiosk/partials/_x.html", "канцелярское «посредством»"),
        ("kiosk/templates/kiosk/partials/_x.html", "страдательное «производится»"),
        ("kiosk/templates/kiosk/partials/_x.html", "вычурная вежливость"),
        ("visits/services/x.py", "размытое «приняли меры»"),
        ("visits/services/x.py", "«в работе» без исполнителя"),
        ("printer/x.py", "«просим вас» вместо личного обращения"),
        ("visits/office.toml", "страдательное «осуществляется»"),
    }
