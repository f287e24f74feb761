"""Chinese line breaking (避头尾) for the PDF summary.

reportlab's `wordWrap='CJK'` cuts lines between any two characters and keeps only a few marks
(、。」）) off a line's start, hanging one past the margin: a line of a summary could begin with
"，", "；", "：" or "？", and end with "（" or "《"; and the part of a paragraph moved on to the
next page was broken again by those rules. This breaks lines so that no line starts with closing punctuation
and no line ends with opening punctuation (GB/T 15834), the line's last characters moving to the
next line instead (推出, so nothing hangs past the margin or a table cell's border); "——" and "……"
stay whole, and so does a run of ASCII letters and digits ("2026", "100.0%") where the line has
room to break before it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from reportlab.platypus import Paragraph

# Marks that close: stops, commas, closing quotes, brackets and book-title marks, the interpunct,
# the connecting tilde, and the ASCII ones of these, plus signs that belong to the number before.
NO_LINE_START = frozenset("，。、；：！？”’）》〉」』】〕〗］｝·～%％‰℃,.;:!?)]}")
# Marks that open: quotes, brackets and book-title marks.
NO_LINE_END = frozenset("“‘（《〈「『【〔〖［｛([{")
UNSPLIT = frozenset("—…")  # 破折号 and 省略号 are two characters that stay on one line
FUZZ = 1e-6  # reportlab's tolerance for a line that fills its width exactly


def may_break(text: str, at: int) -> bool:
    """Whether a line may end before text[at]."""
    before, after = text[at - 1], text[at]
    if after in NO_LINE_START or before in NO_LINE_END:
        return False
    if before == after and after in UNSPLIT:
        return False
    return not (_latin(before) and _latin(after))


def _latin(char: str) -> bool:
    return char.isascii() and not char.isspace()


def break_lines(
    text: str, width_of: Callable[[str], float], max_widths: Sequence[float]
) -> list[tuple[float, str]]:
    """Lines of `text` as (space left, line): as many characters as fit, then back to the nearest
    place where a line may end. A line with no such place (one long URL) is cut where it is full."""
    widths = [width_of(char) for char in text]
    lines: list[tuple[float, str]] = []
    start = 0
    while start < len(text):
        if text[start].isspace():  # a space where a line starts is not drawn, nor counted
            start += 1
            continue
        max_width = max_widths[min(len(lines), len(max_widths) - 1)]
        end, used = start, 0.0
        while end < len(text) and (end == start or used + widths[end] <= max_width + FUZZ):
            used += widths[end]
            end += 1
        if end < len(text):
            end = next((at for at in range(end, start, -1) if may_break(text, at)), end)
        last = end
        while text[last - 1].isspace():  # nor one where it ends
            last -= 1
        lines.append((max_width - sum(widths[start:last]), text[start:last]))
        start = end
    return lines


class ChineseParagraph(Paragraph):
    """A reportlab Paragraph (style with `wordWrap='CJK'`) whose lines follow `break_lines`.

    Only a paragraph of plain text in one font (one fragment) is broken here, which is every
    paragraph the summary writes; one with markup or bullets keeps reportlab's own breaking."""

    def breakLinesCJK(self, maxWidths):
        frags = self.frags
        if len(frags) != 1 or hasattr(frags[0], "cbDefn") or self.style.endDots or self.bulletText:
            return super().breakLinesCJK(maxWidths)
        if not isinstance(maxWidths, list | tuple):
            maxWidths = [maxWidths]
        self.height = 0
        frag = frags[0]
        if hasattr(self, "blPara") and getattr(self, "_splitpara", False):
            return frag.clone(kind=0, lines=self.blPara.lines)  # the part of a split kept on this page
        # the part moved to the next page holds its lines as `words`
        text = frag.text if hasattr(frag, "text") else "".join(getattr(frag, "words", []))
        from reportlab.pdfbase.pdfmetrics import getFont

        font, size = getFont(frag.fontName), frag.fontSize
        lines = break_lines(text, lambda char: font.stringWidth(char, size), maxWidths)
        return frag.clone(
            kind=0,
            lines=[(space, [line]) for space, line in lines],
            ascent=size,
            descent=-0.2 * size,
        )
