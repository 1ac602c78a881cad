"""CSV injection: a cell that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv
import io

import pytest

from visits.export.spreadsheet import csv_cell, csv_text


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","Оценка")',
        "+7 913 000-00-00",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
    ],
)
def test_formula_starts_are_neutralised(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Иванов", "", " =1", "1=1", "5", 5, -3, None])
def test_other_values_are_kept(value: object) -> None:
    assert csv_cell(value) == value


def test_a_table_neutralises_every_cell_and_reads_back() -> None:
    text = csv_text(("Кто", "=Комментарий"), [("Мария", '=HYPERLINK("x")'), ("@a", 3)])
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows == [["Кто", "'=Комментарий"], ["Мария", '\'=HYPERLINK("x")'], ["'@a", "3"]]
    assert text.endswith("\r\n")
