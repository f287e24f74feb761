"""Cells of the spreadsheets the services hand out (CSV and XLSX), made safe to open.

Text such as a business name comes from users. Excel, LibreOffice and WPS run a cell that begins
with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)` leaks data when clicked, `cmd|...` runs a
program through DDE), and a leading tab or carriage return lets such a formula hide. As OWASP's
"CSV Injection" page advises, such text is written with a single quote in front, which the
spreadsheet shows as plain text. Only text is touched: numbers, dates and empty cells stay as they
are, so `-1.5` remains a number. JSON is data, not a spreadsheet, and is never escaped.

openpyxl writes a `str` that starts with `=` as a formula; escaped text never does, so an XLSX
cell written through `safe_cell` is always a string (data type "s").
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def safe_text(text: str) -> str:
    """The text with a leading quote if a spreadsheet would take it for a formula."""
    return QUOTE + text if text.startswith(FORMULA_TRIGGERS) else text


def safe_cell(value: Any) -> Any:
    """A cell's value ready for a CSV or XLSX file: text escaped, anything else unchanged."""
    return safe_text(value) if isinstance(value, str) else value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def unescape_text(text: str) -> str:
    """What `safe_text` escaped, back as it was: a file we exported can be imported again."""
    if text.startswith(QUOTE) and text[1:].startswith(FORMULA_TRIGGERS):
        return text[1:]
    return text
