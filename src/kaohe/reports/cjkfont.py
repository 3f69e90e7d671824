"""The Chinese font embedded in kaohe's PDFs.

The PDF forms must read on any viewer, including one with no Chinese font of its own (a
phone, poppler without its data package), so the PDF carries the font: a subset holding just
the characters of that document, in the PDF's own file.

The font is Noto Sans SC Regular (思源黑体, Google and Adobe, SIL Open Font License 1.1),
shipped by the ``pylopdf-fonts-zh-cn`` package, a dependency of kaohe, so ``pip install``
brings it. Its outlines are cubic (CFF), which reportlab cannot embed; the glyphs a document
needs are converted to TrueType (quadratic) outlines with fontTools on first use — within a
1/1000 em, invisible at any size — kept for the life of the process, and assembled into a
small TrueType font per document, which reportlab subsets and embeds with a ToUnicode map,
so the text stays selectable and searchable.
"""

from __future__ import annotations

import functools
import io
import string
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fontTools.fontBuilder import FontBuilder  # type: ignore[import-untyped]
from fontTools.pens.cu2quPen import Cu2QuPen  # type: ignore[import-untyped]
from fontTools.pens.ttGlyphPen import TTGlyphPen  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.ttfonts import TTFont as ReportlabTTFont  # type: ignore[import-untyped]

#: the name documents set their text in (registered with reportlab by :func:`embedded`)
FONT = "KaoheSans"
#: where the font comes from, and under which licence (shown in the README too)
SOURCE = "Noto Sans SC Regular (SIL Open Font License 1.1), from the pylopdf-fonts-zh-cn package"

# always in the font: what the writers put around the data (digits, signs, punctuation)
_ALWAYS = frozenset(string.printable.strip() + " " + "—–−×÷→←≥≤…·：；，。、（）《》「」“”‘’％‰￥¥")
_TOLERANCE = 1.0  # font units (1/1000 em): how far a quadratic curve may stray from the cubic


class _Source:
    """Noto Sans SC, opened once; its glyphs converted to TrueType outlines on first use."""

    def __init__(self) -> None:
        from pylopdf_fonts_zh_cn import sans_path

        font = TTFont(str(sans_path()), lazy=True)
        self.cmap: dict[int, str] = font.getBestCmap()
        self.glyphset = font.getGlyphSet()
        self.advance = {name: width for name, (width, _) in font["hmtx"].metrics.items()}
        head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
        self.units = int(head.unitsPerEm)
        self.stamp = (int(head.created), int(head.modified))
        self.ascent, self.descent = int(hhea.ascent), int(hhea.descent)
        self.os2 = {k: getattr(os2, k) for k in (
            "sTypoAscender", "sTypoDescender", "sTypoLineGap", "usWinAscent", "usWinDescent",
            "sxHeight", "sCapHeight", "usWeightClass", "fsType")}
        self.outlines: dict[str, Any] = {}
        self.lock = threading.Lock()

    def outline(self, name: str) -> Any:
        glyph = self.outlines.get(name)
        if glyph is None:
            pen = TTGlyphPen(None)
            self.glyphset[name].draw(Cu2QuPen(pen, _TOLERANCE, reverse_direction=True))
            glyph = self.outlines[name] = pen.glyph()
        return glyph

    def build(self, chars: Iterable[str]) -> bytes:
        """A TrueType font with the glyphs of ``chars`` (those the font has)."""
        cmap = {ord(c): self.cmap[ord(c)] for c in sorted(set(chars) | _ALWAYS)
                if ord(c) in self.cmap}
        order = [".notdef", *dict.fromkeys(cmap.values())]
        with self.lock:  # one conversion of a glyph at a time, shared by all threads
            glyphs = {name: self.outline(name) for name in order}
        fb = FontBuilder(self.units, isTTF=True)
        fb.setupGlyphOrder(order)
        fb.setupCharacterMap(cmap)
        fb.setupGlyf(glyphs)
        fb.setupHorizontalMetrics({
            name: (self.advance[name], getattr(glyphs[name], "xMin", 0)) for name in order})
        fb.setupHorizontalHeader(ascent=self.ascent, descent=self.descent)
        fb.setupNameTable({"familyName": "Kaohe Noto Sans SC", "styleName": "Regular",
                           "psName": "KaoheNotoSansSC-Regular"})
        fb.setupOS2(**self.os2)
        fb.setupPost()
        # the source's dates, not today's: the same document gives the same bytes
        fb.font["head"].created, fb.font["head"].modified = self.stamp
        buf = io.BytesIO()
        fb.save(buf)
        return buf.getvalue()


@functools.cache
def _source() -> _Source:
    return _Source()


_REGISTRY = threading.Lock()


@contextmanager
def embedded(chars: Iterable[str]) -> Iterator[str]:
    """Register :data:`FONT` with the glyphs of ``chars`` for the length of the block (one
    document is built inside it), and yield its name.

    reportlab keeps fonts in a process-wide registry by name and never replaces an entry, so
    the document's font is registered for the block only and removed after it (from the
    registry's two tables, ``_fonts`` and ``_dynFaceNames``; reportlab has no call for it).
    Documents are therefore built one at a time per process; each font holds only its own
    document's glyphs, so nothing accumulates in a long-running server."""
    data = _source().build(chars)
    with _REGISTRY:
        font = ReportlabTTFont(FONT, io.BytesIO(data))
        _unregister(font)
        pdfmetrics.registerFont(font)
        try:
            yield FONT
        finally:
            _unregister(font)


def _unregister(font: Any) -> None:
    pdfmetrics._fonts.pop(font.fontName, None)
    pdfmetrics._dynFaceNames.pop(font.face.name, None)
