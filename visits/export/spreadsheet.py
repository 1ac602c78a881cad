"""CSV for a spreadsheet, safe to open: every CSV the system writes goes through here.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is read by
Excel and LibreOffice as a formula: a visitor's comment `=HYPERLINK(...)` would
become a live link in an administrator's report (CSV injection). Such a cell gets
a leading apostrophe, which the spreadsheet shows as text and does not display.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """The value as a spreadsheet must read it: text that looks like a formula stays text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A whole table as semicolon-separated text with CRLF lines, every cell neutralised.

    Semicolons: a Russian spreadsheet opens the file as it is (its list separator).
    """
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([csv_cell(v) for v in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
