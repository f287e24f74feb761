"""Hostile spreadsheets for the ledger import's limits: a zip bomb, a huge row, deep nesting, and a
CSV of millions of rows. Each is built in memory in a second or two; the zip bomb is assembled
from one deflate block repeated, so a gigabyte of text costs a megabyte and no gigabyte of work."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

from openpyxl import Workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ("名称", "类型", "所在村")


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def _archive(parts: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, raw deflate stream, crc32, uncompressed size), written by hand so that a
    part's deflate stream can be one we assembled."""
    out = io.BytesIO()
    directory = []
    for name, stream, crc, size in parts:
        encoded = name.encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(stream), size, len(encoded), 0
            )
        )
        out.write(encoded)
        out.write(stream)
        directory.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(stream),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    start = out.tell()
    for entry in directory:
        out.write(entry)
    size = out.tell() - start
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(directory), len(directory), size, start, 0))
    return out.getvalue()


SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def _workbook_parts(replace: dict[str, tuple[bytes, int, int]]) -> bytes:
    """A real workbook (header 名称, 类型, 所在村 and one row) with parts replaced or added; an added
    xl/sharedStrings.xml is declared in [Content_Types].xml, where openpyxl looks for it."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADER))
    sheet.append(["X", "餐饮单位", "上村"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    parts = []
    pending = dict(replace)
    with zipfile.ZipFile(buffer) as archive:
        for info in archive.infolist():
            data = archive.read(info)
            if info.filename in pending:
                parts.append((info.filename, *pending.pop(info.filename)))
                continue
            if info.filename == "[Content_Types].xml" and "xl/sharedStrings.xml" in replace:
                declared = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{SHARED_STRINGS_TYPE}"/>'
                data = data.replace(b"</Types>", declared.encode() + b"</Types>")
            parts.append((info.filename, _deflate(data), zlib.crc32(data), len(data)))
    parts.extend((name, *part) for name, part in pending.items())
    return _archive(parts)


def _sheet(rows_xml: str) -> tuple[bytes, int, int]:
    header = "".join(f'<c t="inlineStr"><is><t>{label}</t></is></c>' for label in HEADER)
    xml = f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">{header}</row>{rows_xml}</sheetData></worksheet>'
    data = xml.encode()
    return _deflate(data), zlib.crc32(data), len(data)


def workbook_with_sheet(rows_xml: str, *, whole: bool = False) -> bytes:
    """A workbook whose first sheet has the header and `rows_xml` (or is `rows_xml`, when whole)."""
    if whole:
        data = rows_xml.encode()
        return _workbook_parts({"xl/worksheets/sheet1.xml": (_deflate(data), zlib.crc32(data), len(data))})
    return _workbook_parts({"xl/worksheets/sheet1.xml": _sheet(rows_xml)})


def shared_strings_bomb(megabytes: int = 1024) -> bytes:
    """sharedStrings.xml holds one string of `megabytes` MiB of 'A': about 1 KB a MiB zipped."""
    prefix = (
        f'<sst xmlns="{MAIN}" count="4" uniqueCount="4">'.encode()
        + b"".join(f"<si><t>{label}</t></si>".encode() for label in HEADER)
        + b"<si><t>"
    )
    suffix = b"</t></si></sst>"
    chunk = b"A" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == block  # after a full flush the compressor starts afresh: the block repeats
    tail = compressor.compress(suffix) + compressor.flush()
    stream = head + block * megabytes + tail
    crc = zlib.crc32(prefix)
    for _ in range(megabytes):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(suffix, crc)
    size = len(prefix) + megabytes * len(chunk) + len(suffix)
    sheet = '<row r="2"><c t="s"><v>3</v></c><c t="inlineStr"><is><t>餐饮单位</t></is></c></row>'
    return _workbook_parts(
        {"xl/sharedStrings.xml": (stream, crc, size), "xl/worksheets/sheet1.xml": _sheet(sheet)}
    )


def huge_row(cells: int = 1_000_000) -> bytes:
    """One data row of `cells` cells of random numbers (they do not compress away)."""
    generator = random.Random(7)
    pool = [f"<c><v>{generator.randrange(10**8, 10**9)}</v></c>" for _ in range(100_000)]
    values = "".join(generator.choices(pool, k=cells))
    return _workbook_parts({"xl/worksheets/sheet1.xml": _sheet(f'<row r="2">{values}</row>')})


def deep_nesting(depth: int = 100_000) -> bytes:
    """A data row whose cell holds elements nested `depth` deep."""
    nested = "<r>" * depth + "</r>" * depth
    return _workbook_parts(
        {"xl/worksheets/sheet1.xml": _sheet(f'<row r="2"><c t="inlineStr"><is>{nested}</is></c></row>')}
    )


def many_rows_csv(rows: int = 5_000_000) -> bytes:
    """The ledger's header and `rows` rows that are all wrong (about 6 bytes each)."""
    return ",".join(HEADER).encode() + b"\n" + b"x,y,z\n" * rows


def full_ledger_csv(rows: int, *, good: bool) -> bytes:
    """A ledger at the row limit: every row good (distinct names and permits in 上村), or every
    row wrong in its kind and village with long (but allowed) cells, about 26 MB for 50,000."""
    if good:
        header = "名称,类型,所在村,经营者,地址,食品经营许可证号,许可证发证日期,许可证有效期至\n"
        lines = (
            f"好味餐馆{i},餐饮单位,上村,赵{i},东山镇新街{i}号,JY{i:08d},2024-01-01,2029-01-01\n"
            for i in range(rows)
        )
    else:
        header = "名称,类型,所在村,经营者,地址\n"
        lines = (f"{'坏' * 100}{i},spaceship,火星村,{'x' * 100},{'y' * 100}\n" for i in range(rows))
    return (header + "".join(lines)).encode()
