"""The ledger reader's limits, on the reader alone: each check refuses the file with a message
that names the limit and quotes at most a few dozen characters of the file."""

from __future__ import annotations

import io
import zipfile

import pytest

from services.registry.imports import ledger
from tests.support import hostile

HEADER = "名称,类型,所在村"


def refused(data: bytes, fmt: ledger.LedgerFormat) -> str:
    with pytest.raises(ledger.LedgerError) as caught:
        ledger.read(data, fmt)
    return str(caught.value)


@pytest.fixture
def no_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    """The archive checks must refuse before openpyxl opens (and expands) anything."""
    import openpyxl

    def opened(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("openpyxl opened a workbook that the checks should have refused")

    monkeypatch.setattr(openpyxl, "load_workbook", opened)


def test_a_zip_bomb_is_refused_from_its_directory(no_openpyxl: None):
    message = refused(hostile.shared_strings_bomb(64), "xlsx")
    assert message == "xl/sharedStrings.xml expands to 67109052 bytes, more than a ledger needs"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger, "MAX_SHARED_STRINGS_BYTES", 10**9)
        assert refused(hostile.shared_strings_bomb(64), "xlsx") == "xl/sharedStrings.xml is compressed 1007:1"
        patch.setattr(ledger, "MAX_RATIO", 10**6)
        patch.setattr(ledger, "MAX_UNCOMPRESSED_BYTES", 32 * 1024 * 1024)
        assert (
            refused(hostile.shared_strings_bomb(64), "xlsx")
            == "the workbook expands to 67125542 bytes, more than a ledger needs"
        )


def test_a_workbook_of_too_many_parts_is_refused(no_openpyxl: None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for number in range(ledger.MAX_ZIP_ENTRIES + 1):
            archive.writestr(f"x/{number}.bin", b"")
    assert refused(buffer.getvalue(), "xlsx") == "not a ledger workbook: more than 1000 parts"
    assert refused(b"PK\x03\x04 truncated", "xlsx") == "not an XLSX workbook (no zip directory)"


def test_xml_parts_are_walked_before_openpyxl_builds_them(no_openpyxl: None):
    assert refused(hostile.huge_row(ledger.MAX_ROW_CELLS + 1), "xlsx") == (
        "xl/worksheets/sheet1.xml: a row with more than 1000 cells"
    )
    assert refused(hostile.deep_nesting(ledger.MAX_XML_DEPTH), "xlsx") == (
        "xl/worksheets/sheet1.xml: nested deeper than 64 elements"
    )
    assert refused(hostile.workbook_with_sheet('<row r="2000000"/>'), "xlsx") == (
        "xl/worksheets/sheet1.xml: row number 2000000 is beyond a worksheet's last row"
    )
    long_text = f'<row r="2"><c t="inlineStr"><is><t>{"x" * 40_000}</t></is></c></row>'
    assert refused(hostile.workbook_with_sheet(long_text), "xlsx") == (
        "xl/worksheets/sheet1.xml: a text longer than 32767 characters"
    )
    long_tag = f'<row r="2" note="{"a" * 300_000}"/>'  # parsed again and again as it arrives
    assert refused(hostile.workbook_with_sheet(long_tag), "xlsx") == (
        "xl/worksheets/sheet1.xml: more than 262144 bytes without a tag"
    )
    comment = f"<!-- {('<' + 'a' * 1000) * 300} -->"  # a "<" every kilobyte
    assert refused(hostile.workbook_with_sheet(comment), "xlsx") == (
        "xl/worksheets/sheet1.xml: a comment or instruction longer than 262144 characters"
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger, "MAX_ROWS", 3)
        assert refused(hostile.workbook_with_sheet("<row/>" * 7), "xlsx") == (
            "xl/worksheets/sheet1.xml: more than 7 rows"
        )
    doctype = '<!DOCTYPE x [<!ENTITY a "aaaa">]><worksheet><sheetData/></worksheet>'
    assert refused(hostile.workbook_with_sheet(doctype, whole=True), "xlsx") == (
        "xl/worksheets/sheet1.xml: a DOCTYPE is not allowed"
    )


def test_rows_within_the_limits_are_read(monkeypatch: pytest.MonkeyPatch):
    rows = ledger.read(hostile.huge_row(ledger.MAX_ROW_CELLS), "xlsx")
    assert [row.number for row in rows] == [2]  # cells past the header's columns are not read
    monkeypatch.setattr(ledger, "MAX_ROWS", 3)
    ok = (HEADER + "\n" + "a,b,c\n" * 3).encode()
    assert len(ledger.Ledger(io.BytesIO(ok), "csv")) == 3
    message = refused((HEADER + "\n" + "a,b,c\n" * 4).encode(), "csv")
    assert message == "more than 3 rows: split the ledger into several files"
    blank = (HEADER + "\n" + "a,b,c\n" + ",,\n" * 6).encode()
    assert refused(blank, "csv") == "more than 6 lines, blank ones included"
    gap = hostile.workbook_with_sheet('<row r="9"><c t="inlineStr"><is><t>x</t></is></c></row>')
    assert refused(gap, "xlsx") == "more than 6 lines, blank ones included"  # openpyxl yields rows 2 to 8


def test_csv_lines_columns_and_headers_are_bounded():
    one_line = (HEADER + "\n" + "x" * (ledger.MAX_LINE_CHARS + 10)).encode()
    assert refused(one_line, "csv") == "line 2 is longer than 65536 characters"
    wide = (HEADER + "\n" + "," * ledger.MAX_COLUMNS + "\n").encode()
    assert refused(wide, "csv") == "line 2 has more than 100 columns"
    header = ("A" * 10_000 + "," + HEADER + "\n").encode()
    assert refused(header, "csv") == f"unknown columns: {'A' * 40}… (10000 characters)"
    cell = ledger.read((HEADER + "\n" + "x" * 600 + ",b,c\n").encode(), "csv")[0]
    assert len(cell.values["name"]) == ledger.MAX_CELL_CHARS
    assert cell.problems == (("name", "longer than 500 characters (600)"),)
