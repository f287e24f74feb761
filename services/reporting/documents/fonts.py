"""The one font of the PDF summary and its chart images, installed with the project as a Python
package, so every machine draws the same glyphs and every PDF carries them: a viewer without
Chinese fonts (poppler without poppler-data, most readers outside China) still shows the text, and
the file can be archived (PDF/A forbids fonts that are not embedded).

The font is WenQuanYi Micro Hei (文泉驿微米黑; Apache-2.0, or GPL-3+ with the font exception), the file
Debian ships as fonts-wqy-microhei, from the `paperang-p2-fonts-cjk` wheel. It has TrueType (glyf)
outlines, which reportlab subsets and embeds (it cannot embed the CFF outlines of Noto Sans CJK or
Source Han .otf files), and Latin letters and digits of its own, so no standard PDF font (Helvetica)
is needed beside it.
"""

from __future__ import annotations

import atexit
import threading
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

PACKAGE = "paperang_p2_fonts_cjk"
FILE = ("fonts", "wqy-microhei.ttc")
FACE = 0  # the collection's first face is the proportional one; face 1 is its monospaced twin
PDF_NAME = "WenQuanYiMicroHei"  # its PostScript name, which pdffonts shows after the subset tag
FAMILY = "WenQuanYi Micro Hei"  # its family name, as matplotlib knows it

_resources = ExitStack()  # keeps the file extracted for the process if the package is zipped
atexit.register(_resources.close)
_lock = threading.Lock()


@cache
def path() -> Path:
    """The font file inside the installed package (never a host font path)."""
    return Path(_resources.enter_context(as_file(files(PACKAGE).joinpath(*FILE))))


@cache
def pdf_font() -> str:
    """Registers the font with reportlab once. Under a lock, and only if absent: summaries render
    in worker threads, and replacing the TTFont while a document is being built would drop the
    subsets it has collected for that document."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    with _lock:
        if PDF_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(PDF_NAME, path(), subfontIndex=FACE))
    return PDF_NAME


@cache
def chart_family() -> str:
    """Adds the font to matplotlib's font manager, so chart labels are drawn with the same glyphs
    whatever fonts the host has."""
    from matplotlib import font_manager

    with _lock:
        font_manager.fontManager.addfont(str(path()))
    return FAMILY
