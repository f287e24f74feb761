"""The township ledger (台帐) as a spreadsheet: its columns, and reading and writing CSV and XLSX.

Headers may be the Chinese labels a township office uses or the English keys; a kind may be its
code or its Chinese name. CSV files saved by Chinese Excel are often GB18030, so that encoding is
tried when UTF-8 fails. Dates are accepted as 2024-03-01, 2024/3/1, 2024.3.1 or 2024年3月1日.

An upload is untrusted: a township's ledger is a few hundred to a few thousand rows, so the reader
refuses files far beyond that before they can cost memory. A workbook's zip directory is checked
(parts, sizes, compression ratios) and its XML parts walked with expat (depth, row width, text
length) before openpyxl opens it; rows are read one at a time, never the file as a whole; and the
caps below bound rows, columns, line and cell length. Messages quote at most a few dozen
characters of what the file held.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, Literal, NoReturn
from xml.parsers import expat

from shared.spreadsheet import safe_row, unescape_text

LedgerFormat = Literal["csv", "xlsx"]

MAX_ROWS = 50_000  # non-empty data rows in one import
MAX_COLUMNS = 100  # cells read per row (the ledger has 17 columns)
MAX_CELL_CHARS = 500  # longer cells reject their row
MAX_LINE_CHARS = 64 * 1024  # one physical CSV line
# the workbook's archive, checked before it is opened
MAX_ZIP_ENTRIES = 1_000
MAX_CENTRAL_DIRECTORY_BYTES = 1024 * 1024
MAX_WORKSHEET_BYTES = 64 * 1024 * 1024  # uncompressed, per worksheet
MAX_SHARED_STRINGS_BYTES = 16 * 1024 * 1024  # openpyxl holds every shared string
MAX_PART_BYTES = 4 * 1024 * 1024  # styles, theme, workbook, relations...
MAX_UNCOMPRESSED_BYTES = 128 * 1024 * 1024
MAX_RATIO = 100  # uncompressed : compressed, for parts above _RATIO_FLOOR
MAX_XML_DEPTH = 64
MAX_XML_RUN = 256 * 1024  # bytes from one "<" to the next: a tag, or a text (a cell's is < 100 KB)
MAX_ROW_CELLS = 1_000  # <c> elements in one <row> (openpyxl builds the whole row)
MAX_SHARED_STRINGS_ELEMENTS = 2_000_000
MAX_PART_ELEMENTS = 200_000  # openpyxl builds every style object
MAX_WORKSHEET_ELEMENTS = 4_000_000  # a full ledger: 50,000 rows of 17 cells of 2 or 3 elements
_RATIO_FLOOR = 1024 * 1024
_EXCEL_ROWS = 1_048_576
_EXCEL_CELL_CHARS = 32_767
_CHUNK_BYTES = 1024 * 1024
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")


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
    # the names the web app's pages show for the kinds, so a ledger typed from them reads too
    "餐饮服务": "catering",
    "食品小作坊": "workshop",
    "校园周边商店": "school_area_shop",
    "食品摊贩": "street_vendor",
    "食品零售店": "grocery",
    "屠宰场": "slaughterhouse",
    "食品生产企业": "producer",
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
    problems: tuple[tuple[str, str], ...] = ()  # (column, reason) found while reading the cells


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
    text = unescape_text(str(value).strip())  # a cell our export escaped reads as it was
    if key in _DATE_COLUMNS and (match := _DATE.match(text)):
        year, month, day = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text


def shorten(text: str, limit: int = 40) -> str:
    """A value quoted in a message: never more than `limit` characters of what the file held."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


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
            unknown.append(shorten(text))
        keys.append(key)
    if unknown:
        more = f" and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise LedgerError(f"unknown columns: {', '.join(unknown[:10])}{more}")
    missing = [column.label for column in COLUMNS[:3] if column.key not in keys]
    if missing:
        raise LedgerError(f"missing columns: {', '.join(missing)}")
    return keys


def _rows(lines: Iterator[Sequence[Any]]) -> Iterator[LedgerRow]:
    """Non-empty rows with their cells checked: a cell longer than MAX_CELL_CHARS is cut and the
    row carries the problem (it is rejected); more than MAX_ROWS rows, or twice as many lines
    counting blank ones, stop the whole file."""
    try:
        header = next(lines)
    except StopIteration:
        raise LedgerError("the file is empty") from None
    keys = _keys(list(header))
    count = 0
    most_lines = 2 * MAX_ROWS + 1  # blank rows cost little, but reading a million of them is work
    for number, cells in enumerate(lines, start=2):
        if number > most_lines:
            raise LedgerError(f"more than {most_lines - 1} lines, blank ones included")
        values: dict[str, str] = {}
        problems: list[tuple[str, str]] = []
        for key, value in zip(keys, cells, strict=False):
            if key is None:
                continue
            text = _cell(value, key)
            if len(text) > MAX_CELL_CHARS:
                problems.append((key, f"longer than {MAX_CELL_CHARS} characters ({len(text)})"))
                text = text[:MAX_CELL_CHARS]
            values[key] = text
        if any(values.values()):
            count += 1
            if count > MAX_ROWS:
                raise LedgerError(f"more than {MAX_ROWS} rows: split the ledger into several files")
            yield LedgerRow(number=number, values=values, problems=tuple(problems))


# ---- CSV ------------------------------------------------------------------------------------------


def _csv_encoding(source: BinaryIO) -> str:
    """UTF-8 (with or without BOM), else GB18030, decided by decoding the whole file in chunks."""
    for encoding in ("utf-8-sig", "gb18030"):
        source.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := source.read(_CHUNK_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise LedgerError("the CSV is neither UTF-8 nor GB18030 text")


def _csv_lines(text: io.TextIOBase) -> Iterator[str]:
    """Physical lines, none longer than MAX_LINE_CHARS (a file with no line breaks is refused
    rather than read whole)."""
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 1):
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise LedgerError(f"line {number} is longer than {MAX_LINE_CHARS} characters")
        yield line


def _csv_records(lines: Iterator[str]) -> Iterator[list[str]]:
    reader = csv.reader(lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field beyond the csv module's limit, a NUL byte
            raise LedgerError(f"line {reader.line_num}: {shorten(str(error), 100)}") from None
        if len(cells) > MAX_COLUMNS:
            raise LedgerError(f"line {reader.line_num} has more than {MAX_COLUMNS} columns")
        yield cells


def _read_csv(source: BinaryIO, encoding: str) -> Iterator[LedgerRow]:
    source.seek(0)
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    try:
        yield from _rows(_csv_records(_csv_lines(text)))
    finally:
        text.detach()  # the caller owns the file


# ---- XLSX -----------------------------------------------------------------------------------------

_EOCD = struct.Struct("<4s4H2LH")
_EOCD_SIGNATURE = b"PK\x05\x06"


def _central_directory(source: BinaryIO) -> tuple[int, int]:
    """(entries, central directory bytes) from the end record, read before zipfile reads (and holds)
    the whole central directory."""
    size = source.seek(0, io.SEEK_END)
    tail_size = min(size, _EOCD.size + 65_535)
    source.seek(size - tail_size)
    tail = source.read(tail_size)
    at = tail.rfind(_EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise LedgerError("not an XLSX workbook (no zip directory)")
    _sig, _disk, _cd_disk, _disk_entries, entries, cd_size, _cd_offset, _comment = _EOCD.unpack_from(tail, at)
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        raise LedgerError("not a ledger workbook (a ZIP64 archive)")
    return entries, cd_size


def _part_limit(name: str) -> int:
    if _WORKSHEET.match(name):
        return MAX_WORKSHEET_BYTES
    if name.endswith("sharedStrings.xml"):
        return MAX_SHARED_STRINGS_BYTES
    return MAX_PART_BYTES


def _check_archive(source: BinaryIO) -> int:
    """The zip bomb checks, on the archive's directory, before anything is decompressed: number of
    entries, each entry's size and compression ratio, and the total. zipfile stops reading an
    entry at its declared size (and fails its CRC), so the declared sizes bind."""
    entries, cd_size = _central_directory(source)
    if entries > MAX_ZIP_ENTRIES or cd_size > MAX_CENTRAL_DIRECTORY_BYTES:
        raise LedgerError(f"not a ledger workbook: more than {MAX_ZIP_ENTRIES} parts")
    source.seek(0)
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise LedgerError(f"not an XLSX workbook: {shorten(str(error), 100)}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise LedgerError(f"not a ledger workbook: more than {MAX_ZIP_ENTRIES} parts")
        total = 0
        for info in infos:
            name = shorten(info.filename, 60)
            if info.file_size > _part_limit(info.filename):
                raise LedgerError(f"{name} expands to {info.file_size} bytes, more than a ledger needs")
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > _RATIO_FLOOR:
                raise LedgerError(f"{name} is compressed {info.file_size // max(info.compress_size, 1)}:1")
            total += info.file_size
        if total > MAX_UNCOMPRESSED_BYTES:
            raise LedgerError(f"the workbook expands to {total} bytes, more than a ledger needs")
        rows = 0
        for info in infos:
            if info.filename.endswith((".xml", ".rels")):
                rows = max(rows, _scan_xml(archive, info))
        return rows


def _scan_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Walk one XML part with expat, holding nothing: refuse a DOCTYPE (entities), nesting deeper
    than MAX_XML_DEPTH, text longer than an Excel cell can be, a worksheet with more rows than
    the line limit, a row with more than MAX_ROW_CELLS cells or a number beyond Excel's last, and
    parts with absurdly many elements. openpyxl builds each row (and all shared strings and styles)
    in memory, so these bound it. The number of rows of a worksheet (blank ones included)."""
    name = shorten(info.filename, 60)
    worksheet = bool(_WORKSHEET.match(info.filename))
    if worksheet:
        limit = MAX_WORKSHEET_ELEMENTS
    elif info.filename.endswith("sharedStrings.xml"):
        limit = MAX_SHARED_STRINGS_ELEMENTS
    else:
        limit = MAX_PART_ELEMENTS
    most_rows = 2 * MAX_ROWS + 1
    depth = elements = text_length = cells = rows = 0
    parser = expat.ParserCreate()
    parser.buffer_text = True

    def refuse(reason: str) -> NoReturn:
        raise LedgerError(f"{name}: {reason}")

    def doctype(*_args: Any) -> None:
        refuse("a DOCTYPE is not allowed")

    def start(tag: str, attributes: dict[str, str]) -> None:
        nonlocal depth, elements, text_length, cells, rows
        depth += 1
        elements += 1
        text_length = 0
        if depth > MAX_XML_DEPTH:
            refuse(f"nested deeper than {MAX_XML_DEPTH} elements")
        if elements > limit:
            refuse(f"more than {limit} elements")
        if not worksheet:
            return
        if tag == "c" or tag.endswith(":c"):
            cells += 1
            if cells > MAX_ROW_CELLS:
                refuse(f"a row with more than {MAX_ROW_CELLS} cells")
        elif tag == "row" or tag.endswith(":row"):
            cells = 0
            rows += 1
            if rows > most_rows:
                refuse(f"more than {most_rows} rows")
            number = attributes.get("r", "")
            if number and (not number.isdigit() or int(number) > _EXCEL_ROWS):
                refuse(f"row number {shorten(number, 20)} is beyond a worksheet's last row")

    def end(_tag: str) -> None:
        nonlocal depth, text_length
        depth -= 1
        text_length = 0

    def text(data: str) -> None:
        nonlocal text_length
        text_length += len(data)
        if text_length > _EXCEL_CELL_CHARS:
            refuse(f"a text longer than {_EXCEL_CELL_CHARS} characters")

    def other(*parts: str) -> None:  # comments and processing instructions
        if sum(len(part) for part in parts) > MAX_XML_RUN:
            refuse(f"a comment or instruction longer than {MAX_XML_RUN} characters")

    parser.StartDoctypeDeclHandler = doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.CommentHandler = other
    parser.ProcessingInstructionHandler = other
    run = 0  # bytes since the last "<"
    try:
        with archive.open(info) as part:
            while chunk := part.read(_CHUNK_BYTES):
                # A tag is parsed again each time more of it arrives (expat here, libxml2 in
                # openpyxl): one tag of megabytes costs minutes. Every tag and text starts at a
                # "<", so a long stretch without one is refused before it is parsed.
                pieces = chunk.split(b"<")
                if len(pieces) == 1:
                    run += len(chunk)
                else:
                    longest = max(run + len(pieces[0]), max(map(len, pieces[1:-1]), default=0))
                    run = max(len(pieces[-1]), longest if longest > MAX_XML_RUN else 0)
                del pieces
                if run > MAX_XML_RUN:
                    refuse(f"more than {MAX_XML_RUN} bytes without a tag")
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
        return rows
    except expat.ExpatError as error:
        refuse(f"not well-formed XML ({shorten(str(error), 80)})")
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as error:
        refuse(f"a damaged part ({shorten(str(error), 80)})")


def _read_xlsx(source: BinaryIO) -> Iterator[LedgerRow]:
    from openpyxl import load_workbook

    source.seek(0)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises several kinds for a file that is not a workbook
        raise LedgerError(f"not an XLSX workbook: {shorten(str(error), 100)}") from None
    try:
        if not workbook.worksheets:
            raise LedgerError("the workbook has no worksheet")
        sheet = workbook.worksheets[0]
        # max_col bounds the padding openpyxl adds to every row (a workbook may claim any width)
        yield from _rows(iter(sheet.iter_rows(values_only=True, max_col=MAX_COLUMNS)))
    finally:
        workbook.close()


# ---- the ledger as a whole ----------------------------------------------------------------------


class Ledger:
    """An uploaded ledger in a seekable binary file, checked as a whole when opened. A CSV's
    encoding is found and every row read once, so that the header, the row count and the line
    lengths are known good, and `total` exact, before a row is used. A workbook's archive and XML
    parts are checked (openpyxl is slow enough that a second pass is not worth it: `total` is
    the rows of its largest worksheet, blank ones included, and the header and row limit are
    checked as the rows are read). Iterating reads the rows from the file: nothing but the
    current row is held. Iterating may raise LedgerError."""

    def __init__(self, source: BinaryIO, fmt: LedgerFormat) -> None:
        if fmt not in ("csv", "xlsx"):
            raise LedgerError(f"unknown format {fmt!r}")
        self.source = source
        self.fmt = fmt
        if fmt == "csv":
            self._encoding = _csv_encoding(source)
            self.total = sum(1 for _row in self)
        else:
            self.total = max(_check_archive(source) - 1, 0)
            if self.total == 0:
                next(iter(self), None)  # an empty or headless sheet is refused now

    def __iter__(self) -> Iterator[LedgerRow]:
        if self.fmt == "csv":
            return _read_csv(self.source, self._encoding)
        return _read_xlsx(self.source)

    def __len__(self) -> int:
        return self.total


def read(data: bytes, fmt: LedgerFormat) -> list[LedgerRow]:
    """Every non-empty row of a ledger held in memory (small files: tests, tools), header checked."""
    return list(Ledger(io.BytesIO(data), fmt))


def write(rows: Iterable[dict[str, Any]], fmt: LedgerFormat) -> bytes:
    """The ledger in the same shape the import reads (Chinese headers), plus the export-only columns.
    Text that a spreadsheet would run as a formula is escaped (`shared.spreadsheet`); the import
    reads it back unescaped."""
    columns = COLUMNS + EXPORT_ONLY
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([column.label for column in columns])
        for row in rows:
            writer.writerow(safe_row("" if row.get(c.key) is None else row[c.key] for c in columns))
        return buffer.getvalue().encode("utf-8-sig")  # the BOM lets Excel open it as UTF-8
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("台帐")
    sheet.append([column.label for column in columns])
    for row in rows:
        sheet.append(safe_row(row.get(column.key) for column in columns))
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()
