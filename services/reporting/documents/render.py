"""The summary document as HTML (jinja2), DOCX (python-docx) and PDF (reportlab, in the CJK font the
project installs, embedded as a subset, so the PDF shows its text on any viewer; see fonts.py)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from services.reporting.documents import charts, fonts
from services.reporting.documents.content import Chart, Document, Heading, Paragraph, Table

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))


def html(document: Document) -> str:
    return _environment().get_template("summary.html.j2").render(document=document)


def docx(document: Document) -> bytes:
    from docx import Document as DocxDocument
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    out = DocxDocument()
    normal = out.styles["Normal"]
    normal.font.name = "SimSun"
    normal.font.size = Pt(11)
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    title = out.add_heading(document.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = out.add_paragraph(document.subtitle)
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for block in document.blocks:
        if isinstance(block, Heading):
            out.add_heading(block.text, level=min(block.level, 3))
        elif isinstance(block, Paragraph):
            paragraph = out.add_paragraph(block.text)
            paragraph.paragraph_format.first_line_indent = Pt(22)
        elif isinstance(block, Table):
            caption = out.add_paragraph(block.caption)
            caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
            table = out.add_table(rows=0, cols=len(block.headers))
            table.style = "Table Grid"
            for row in (block.headers, *block.rows):
                for cell, text in zip(table.add_row().cells, row, strict=True):
                    cell.text = text
        elif isinstance(block, Chart):
            out.add_picture(io.BytesIO(charts.png(block)), width=Cm(15))
            caption = out.add_paragraph(block.caption)
            caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
    buffer = io.BytesIO()
    out.save(buffer)
    return buffer.getvalue()


@cache
def _pdf_styles():
    """Every style in the one embedded font (digits and Latin too: its own glyphs), with Chinese
    line breaking (wordWrap CJK, which ChineseParagraph breaks by 避头尾)."""
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    base = {"fontName": fonts.pdf_font(), "wordWrap": "CJK"}
    return {
        "title": ParagraphStyle("title", fontSize=18, leading=26, alignment=TA_CENTER, spaceAfter=6, **base),
        "subtitle": ParagraphStyle(
            "subtitle", fontSize=9, leading=13, alignment=TA_CENTER, spaceAfter=12, **base
        ),
        "h1": ParagraphStyle("h1", fontSize=13, leading=20, spaceBefore=10, spaceAfter=4, **base),
        "h2": ParagraphStyle("h2", fontSize=12, leading=18, spaceBefore=8, spaceAfter=4, **base),
        "body": ParagraphStyle("body", fontSize=10.5, leading=17, firstLineIndent=21, spaceAfter=3, **base),
        "cell": ParagraphStyle("cell", fontSize=8.5, leading=11, alignment=TA_CENTER, **base),
        "caption": ParagraphStyle(
            "caption", fontSize=9.5, leading=14, alignment=TA_CENTER, spaceAfter=4, **base
        ),
    }


def pdf(document: Document) -> bytes:
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as PdfTable

    from services.reporting.documents.linebreak import ChineseParagraph as PdfParagraph

    styles = _pdf_styles()
    story: list = [
        PdfParagraph(escape(document.title), styles["title"]),
        PdfParagraph(escape(document.subtitle), styles["subtitle"]),
    ]
    for block in document.blocks:
        if isinstance(block, Heading):
            story.append(PdfParagraph(escape(block.text), styles["h1" if block.level == 1 else "h2"]))
        elif isinstance(block, Paragraph):
            story.append(PdfParagraph(escape(block.text), styles["body"]))
        elif isinstance(block, Table):
            story.append(PdfParagraph(escape(block.caption), styles["caption"]))
            cells = [
                [PdfParagraph(escape(text), styles["cell"]) for text in row]
                for row in (block.headers, *block.rows)
            ]
            table = PdfTable(cells, repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("FONTNAME", (0, 0), (-1, -1), styles["cell"].fontName),  # else Helvetica per cell
                        ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
                        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                    ]
                )
            )
            story += [table, Spacer(1, 8)]
        elif isinstance(block, Chart):
            story.append(Image(io.BytesIO(charts.png(block)), width=15 * cm, height=6.5 * cm))
            story.append(PdfParagraph(escape(block.caption), styles["caption"]))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=document.title,
        leftMargin=2.2 * cm,
        rightMargin=2.2 * cm,
        topMargin=2 * cm,
        bottomMargin=2 * cm,
        initialFontName=styles["body"].fontName,  # else each page declares Helvetica, not embedded
    ).build(story)
    return buffer.getvalue()
