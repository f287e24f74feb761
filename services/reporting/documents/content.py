"""The work summary as a neutral document: headings, paragraphs (text with linked figures),
tables and charts. The HTML, DOCX and PDF renderers all draw this one structure, so the three
files always say the same thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Number:
    """A figure inside a sentence, with the link to the records behind it."""

    value: float
    unit: str = ""
    link: str | None = None

    @property
    def text(self) -> str:
        number = int(self.value) if float(self.value).is_integer() else round(self.value, 1)
        return f"{number}{self.unit}"


Span = str | Number


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Paragraph:
    spans: tuple[Span, ...]
    editable: str | None = None  # the free-text section this paragraph came from, if any

    @property
    def text(self) -> str:
        return "".join(span if isinstance(span, str) else span.text for span in self.spans)


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Chart:
    key: str
    caption: str
    labels: tuple[str, ...]
    values: tuple[float, ...]
    unit: str = ""
    kind: Literal["bar", "percent"] = "bar"


Block = Heading | Paragraph | Table | Chart


@dataclass
class Document:
    title: str
    subtitle: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, block: Block) -> None:
        self.blocks.append(block)

    def text(self) -> str:
        """Every word of the document, in order (for search and tests)."""
        parts = [self.title, self.subtitle]
        for block in self.blocks:
            if isinstance(block, Heading | Paragraph):
                parts.append(block.text)
            elif isinstance(block, Table):
                parts.append(block.caption)
                parts.extend(" ".join(row) for row in (block.headers, *block.rows))
            else:
                parts.append(block.caption)
        return "\n".join(parts)
