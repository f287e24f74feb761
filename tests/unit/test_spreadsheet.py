"""The one escape for text cells of the CSV and XLSX files the services hand out (OWASP CSV
injection): what is escaped, what is left alone, and that openpyxl then writes a string."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from shared.spreadsheet import safe_cell, safe_row, safe_text, unescape_text

PAYLOADS = ['=HYPERLINK("http://x","y")', "@SUM(1)", "-1+cmd|' /C calc'!A0", "+1", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", PAYLOADS)
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(text: str):
    assert safe_text(text) == "'" + text
    assert unescape_text(safe_text(text)) == text


@pytest.mark.parametrize("text", ["好味餐馆", "", "'quoted", "a=b", " =1", "1-2", "#N/A", "'x=1"])
def test_other_text_is_left_alone(text: str):
    assert safe_text(text) == text
    assert unescape_text(text) == text


def test_only_text_is_touched():
    values = [-1.5, -3, 0, None, True, "=1", "-", "中"]
    assert safe_row(values) == [-1.5, -3, 0, None, True, "'=1", "'-", "中"]
    assert safe_cell(-1.5) == -1.5 and isinstance(safe_cell(-3), int)


def test_openpyxl_writes_escaped_text_as_a_string_never_a_formula():
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("s")
    sheet.append(safe_row([*PAYLOADS, -1.5]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    cells = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    assert [cell.data_type for cell in cells] == ["s"] * len(PAYLOADS) + ["n"]
    assert [cell.value for cell in cells] == ["'" + text for text in PAYLOADS] + [-1.5]
