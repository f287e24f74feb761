"""The township ledger (台帐) as a spreadsheet: its columns, and reading and writing CSV and XLSX.

Headers may be the Chinese labels a township office uses or the English keys; a kind may be its
code or its Chinese name. CSV files saved by Chinese Excel are often GB18030, so that encoding is
tried when UTF-8 fails. Dates are accepted as 2024-03-01, 2024/3/1, 2024.3.1 or 2024年3月1日.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

LedgerFormat = Literal["csv", "xlsx"]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    is_date: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("name", "名称"),
    Column("kind", "类型"),
    Column("village", "所在村"),
    Column("operator", "经营者"),
    Column("address", "地址"),
    Column("registered_on", "登记日期", is_date=True),
    Column("latitude", "纬度"),
    Column("longitude", "经度"),
    Column("business_licence_number", "营业执照号"),
    Column("business_licence_issued_on", "营业执照发证日期", is_date=True),
    Column("business_licence_expires_on", "营业执照有效期至", is_date=True),
    Column("food_permit_number", "食品经营许可证号"),
    Column("food_permit_issued_on", "许可证发证日期", is_date=True),
    Column("food_permit_expires_on", "许可证有效期至", is_date=True),
)
# written by the export for the reader's benefit, ignored by the import
EXPORT_ONLY: tuple[Column, ...] = (
    Column("id", "编号"),
    Column("risk_level", "风险等级"),
    Column("status", "状态"),
)

KIND_LABELS: dict[str, str] = {
    "catering": "餐饮单位",
    "workshop": "小作坊",
    "school_canteen": "学校食堂",
    "central_kitchen": "中央厨房",
    "school_area_shop": "校园周边副食店",
    "street_vendor": "流动摊贩",
    "market": "农贸市场",
    "grocery": "杂货店",
    "slaughterhouse": "生猪定点屠宰",
    "producer": "食品生产加工企业",
    "other": "其他",
}
KIND_ALIASES: dict[str, str] = {
    **{label: kind for kind, label in KIND_LABELS.items()},
    "小餐馆": "catering",
    "小餐饮店": "catering",
    "饮食摊点": "street_vendor",
    "幼儿园食堂": "school_canteen",
    "小卖部": "school_area_shop",
    "集贸市场": "market",
    "批发市场": "market",
    "酒类生产企业": "producer",
}

_HEADERS: dict[str, str] = {
    **{column.key: column.key for column in COLUMNS + EXPORT_ONLY},
    **{column.label: column.key for column in COLUMNS + EXPORT_ONLY},
}
_DATE_COLUMNS = frozenset(column.key for column in COLUMNS if column.is_date)
_DATE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


class LedgerError(ValueError):
    """The file as a whole cannot be read (encoding, header); no row is considered."""


@dataclass(frozen=True)
class LedgerRow:
    number: int  # the spreadsheet's row number (the header is row 1)
    values: dict[str, str]


def kind_code(value: str) -> str:
    """The kind's code for a code or a Chinese label; unknown values pass through to be rejected."""
    return KIND_ALIASES.get(value.strip(), value.strip())


def _cell(value: Any, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and key not in ("latitude", "longitude"):
        return str(int(value))
    text = str(value).strip()
    if key in _DATE_COLUMNS and (match := _DATE.match(text)):
        year, month, day = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text


def _keys(header: list[Any]) -> list[str | None]:
    keys: list[str | None] = []
    unknown = []
    for cell in header:
        text = str(cell).strip().lstrip("\ufeff") if cell is not None else ""
        if not text:
            keys.append(None)
            continue
        key = _HEADERS.get(text)
        if key is None:
            unknown.append(text)
        keys.append(key)
    if unknown:
        raise LedgerError(f"unknown columns: {', '.join(unknown)}")
    missing = [column.label for column in COLUMNS[:3] if column.key not in keys]
    if missing:
        raise LedgerError(f"missing columns: {', '.join(missing)}")
    return keys


def _rows(lines: Iterator[list[Any]]) -> Iterator[LedgerRow]:
    try:
        header = next(lines)
    except StopIteration:
        raise LedgerError("the file is empty") from None
    keys = _keys(list(header))
    for number, cells in enumerate(lines, start=2):
        values = {key: _cell(value, key) for key, value in zip(keys, cells, strict=False) if key is not None}
        if any(values.values()):
            yield LedgerRow(number=number, values=values)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LedgerError("the CSV is neither UTF-8 nor GB18030 text")


def read(data: bytes, fmt: LedgerFormat) -> list[LedgerRow]:
    """Every non-empty row of the ledger, with the header checked."""
    if fmt == "csv":
        return list(_rows(iter(csv.reader(io.StringIO(_decode(data), newline="")))))
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several kinds for a file that is not a workbook
        raise LedgerError(f"not an XLSX workbook: {error}") from None
    try:
        sheet = workbook.worksheets[0]
        return list(_rows(iter(sheet.iter_rows(values_only=True))))
    finally:
        workbook.close()


def write(rows: Iterable[dict[str, Any]], fmt: LedgerFormat) -> bytes:
    """The ledger in the same shape the import reads (Chinese headers), plus the export-only columns."""
    columns = COLUMNS + EXPORT_ONLY
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([column.label for column in columns])
        for row in rows:
            writer.writerow(["" if row.get(c.key) is None else row[c.key] for c in columns])
        return buffer.getvalue().encode("utf-8-sig")  # the BOM lets Excel open it as UTF-8
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台帐")
    sheet.append([column.label for column in columns])
    for row in rows:
        sheet.append([row.get(column.key) for column in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
