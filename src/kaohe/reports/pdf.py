"""The 考核表 as a PDF: the same form as the xlsx one, cell for cell, on one A4 page.

The form is not laid out twice. The xlsx writer's own functions (``_header``,
``_scored_body``, ``_excluded_body``, ``_signatures``) fill a :class:`_Recorder`, a sheet that
keeps each cell (columns, value, format) instead of writing it to a worksheet; the formats
they ask for become :class:`_Look` values. Each run of filled rows then becomes one
platypus ``Table`` over the xlsx form's seven columns, with merged cells as spans and long
texts (评分标准, 数据, 理由) wrapped in their cells. The page is A4 portrait with an 8 pt body,
so the usual form (8–12 indicators, pay lines, signatures) fits one page; a longer one runs
on, and a table that starts with the column headings repeats them on every page.

Text is set in Noto Sans SC (SIL Open Font License 1.1, see :mod:`kaohe.reports.cjkfont`),
embedded as a subset of the characters the document uses, so it reads on a viewer that has
no Chinese font of its own, and stays extractable (a ToUnicode map). English forms use it
too, since they still carry Chinese names, teams and the scheme's own labels. Numbers are shown as the
xlsx form's number formats show them: ``0.00`` to the fen, ``0%``, ``0``. The output is
deterministic (reportlab's ``invariant`` mode: fixed dates and document id), so the same
record gives the same bytes.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from kaohe.engine.score import Scored
from kaohe.formatting import dec, pct, plain, two
from kaohe.reports.cjkfont import FONT, embedded
from kaohe.reports.layout import (
    WIDTHS,
    FormContext,
    Sheet,
    Styles,
    check_lang,
    fill_form,
    row_context,
    title,
)

__all__ = ["FONT", "agent_pdf", "write_agent_pdf"]

_PAGE = A4
# the xlsx form's print margins (0.4" left and right, 0.5" top and bottom), in points
_SIDE, _TOP = 0.4 * 72, 0.5 * 72
# xlsx sizes are for an 11 pt body; the PDF body is 7.5 pt, so the form, with its worded
# reasons, fits one A4 page
_SCALE = 7.5 / 11
# the xlsx form's column widths (序号 考核指标 权重/分值 评分标准 数据 得分 理由), but 序号
# one unit wider so that its heading does not break
_COLUMNS = (WIDTHS[0] + 1, *WIDTHS[1:-1], WIDTHS[-1] - 1)
_PAD = 3.0
# line height over font size: Noto Sans SC's glyphs span one em (0.88 up, 0.12 down), so
# 1.2 keeps lines apart and the usual form on one page
_LEADING = 1.2
_GAP = 6.0  # the height of one empty row of the xlsx form
_RULE = 0.5


# -- what the xlsx writer asks for ---------------------------------------------------------

@dataclass(frozen=True)
class _Look:
    """An xlsx cell format as the PDF uses it."""

    size: float = 11.0
    fill: str | None = None
    colour: str | None = None
    box: bool = False
    underline: bool = False
    centre: bool = False
    number: str | None = None

    @classmethod
    def of(cls, props: dict[str, Any]) -> _Look:
        return cls(size=float(props.get("font_size", 11)), fill=props.get("bg_color"),
                   colour=props.get("font_color"), box=bool(props.get("border")),
                   underline=bool(props.get("bottom")), centre=props.get("align") == "center",
                   number=props.get("num_format"))


class _LookBook:
    """Stands in for the workbook when the xlsx styles are made: each format is a _Look."""

    def add_format(self, props: dict[str, Any]) -> _Look:
        return _Look.of(props)


@dataclass(frozen=True)
class _Cell:
    c1: int
    c2: int
    value: Any
    look: _Look


class _Recorder(Sheet):
    """A form sheet that keeps its cells, row by row, instead of writing a worksheet."""

    def __init__(self) -> None:
        super().__init__(WIDTHS)
        self.rows: dict[int, dict[int, _Cell]] = {}

    def cell(self, c1: int, c2: int, value: Any, fmt: Any) -> None:
        assert isinstance(fmt, _Look), fmt
        self.rows.setdefault(self.r, {})[c1] = _Cell(c1, c2, value, fmt)

    def height(self, points: float) -> None:
        if points > self.heights.get(self.r, 0.0):
            self.heights[self.r] = points


def _fill(sheet: _Recorder, ctx: FormContext, record: dict[str, Any]) -> Styles:
    """The xlsx form's content, cell for cell, into ``sheet``."""
    st = Styles(_LookBook())
    fill_form(sheet, st, ctx, record)
    return st


# -- cells as text ---------------------------------------------------------------------------

def _shown(value: Any, look: _Look) -> str:
    """A cell's text, as the xlsx number format shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if not isinstance(value, int | float | Decimal):
        return str(value)
    d = dec(value)
    if d is None or not d.is_finite():
        return str(value)
    if look.number == "0.00":
        return two(d)
    if look.number == "0":
        return f"{d.quantize(Decimal(1), rounding=ROUND_HALF_UP):f}"
    if look.number in ("0%", "0.00%"):
        return pct(d, 0 if look.number == "0%" else 2)
    return plain(d)


@functools.cache
def _style(look: _Look, numeric: bool) -> ParagraphStyle:
    size = look.size * _SCALE
    align = TA_CENTER if look.centre else TA_RIGHT if numeric else TA_LEFT
    return ParagraphStyle(
        "kaohe-cell", fontName=FONT, fontSize=size,
        leading=round(size * _LEADING, 1), alignment=align, wordWrap="CJK",
        textColor=colors.HexColor(look.colour) if look.colour else colors.black)


def _paragraph(cell: _Cell) -> Paragraph:
    numeric = isinstance(cell.value, int | float | Decimal) and not isinstance(cell.value, bool)
    text = escape(_shown(cell.value, cell.look)).replace("\n", "<br/>")
    return Paragraph(text, _style(cell.look, numeric))


# -- the page --------------------------------------------------------------------------------

def _widths() -> list[float]:
    usable = _PAGE[0] - 2 * _SIDE
    total = sum(_COLUMNS)
    return [usable * w / total for w in _COLUMNS]


def _table(sheet: _Recorder, rows: list[int], head: _Look) -> Flowable:
    widths = _widths()
    data: list[list[Any]] = []
    heights: list[float | None] = []
    tallest = 0.0
    commands: list[tuple[Any, ...]] = [
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), _PAD), ("RIGHTPADDING", (0, 0), (-1, -1), _PAD),
        ("TOPPADDING", (0, 0), (-1, -1), _PAD - 1), ("BOTTOMPADDING", (0, 0), (-1, -1), _PAD)]
    for i, r in enumerate(rows):
        line: list[Any] = [""] * len(widths)
        needed = 0.0
        for cell in sheet.rows[r].values():
            start, end = (cell.c1, i), (cell.c2, i)
            para = _paragraph(cell)
            line[cell.c1] = para
            _, h = para.wrap(sum(widths[cell.c1:cell.c2 + 1]) - 2 * _PAD, _PAGE[1])
            needed = max(needed, h + 2 * _PAD)
            if cell.c2 > cell.c1:
                commands.append(("SPAN", start, end))
            if cell.look.fill:
                commands.append(("BACKGROUND", start, end, colors.HexColor(cell.look.fill)))
            if cell.look.box:
                commands.append(("BOX", start, end, _RULE, colors.black))
            elif cell.look.underline:
                commands.append(("LINEBELOW", start, end, _RULE, colors.black))
        data.append(line)
        tallest = max(tallest, needed)
        # a row the xlsx form makes taller (title, signatures) keeps that height if it fits
        asked = sheet.heights.get(r)
        heights.append(asked if asked is not None and asked >= needed else None)
    first = sheet.rows[rows[0]].get(0)
    repeat = 1 if first is not None and first.look == head and len(rows) > 1 else 0
    # a row taller than a page (pages of warnings) is split rather than refused
    split = 1 if tallest > _PAGE[1] - 2 * _TOP else 0
    table = Table(data, colWidths=widths, rowHeights=heights, repeatRows=repeat,
                  splitInRow=split, style=TableStyle(commands), hAlign="LEFT")
    # short blocks (header, signatures) are kept whole; the indicator table may run on
    return table if repeat else KeepTogether([table])


def _story(sheet: _Recorder, head: _Look) -> list[Flowable]:
    story: list[Flowable] = []
    block: list[int] = []
    last = -1
    for r in sorted(sheet.rows):
        if block and r != last + 1:
            story.append(_table(sheet, block, head))
            story.append(Spacer(1, _GAP * (r - last - 1)))
            block = []
        block.append(r)
        last = r
    if block:
        story.append(_table(sheet, block, head))
    return story


def _render(ctx: FormContext, record: dict[str, Any]) -> bytes:
    lang = ctx.lang
    sheet = _Recorder()
    st = _fill(sheet, ctx, record)
    head = st.head
    assert isinstance(head, _Look)
    who = " ".join(str(x) for x in (record["employee"], record.get("name"),
                                     record.get("period")) if x)
    buf = io.BytesIO()
    doc = BaseDocTemplate(
        buf, pagesize=_PAGE, leftMargin=_SIDE, rightMargin=_SIDE, topMargin=_TOP,
        bottomMargin=_TOP, invariant=1, title=title(ctx.scheme, lang),
        subject=who, author="kaohe", creator="kaohe")
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, leftPadding=0,
                  rightPadding=0, topPadding=0, bottomPadding=0)
    doc.addPageTemplates([PageTemplate(id="form", frames=[frame])])
    chars = {ch for row in sheet.rows.values() for cell in row.values()
             for ch in _shown(cell.value, cell.look)}
    with embedded(chars):
        doc.build(_story(sheet, head))
    return buf.getvalue()


def agent_pdf(scored: Scored, record: dict[str, Any], *, lang: str = "zh") -> bytes:
    """The 考核表 of one result record (an element of ``to_document(...)["results"]``) as PDF
    bytes: the same content as :func:`kaohe.reports.forms.write_agent_form`."""
    check_lang(lang)
    return _render(row_context(scored, record, lang), record)


def write_agent_pdf(scored: Scored, record: dict[str, Any], path: Path, *,
                    lang: str = "zh") -> None:
    """Write :func:`agent_pdf` to ``path``, under ``<path>.part`` first and renamed when
    complete, so a failure leaves no half-written file."""
    data = agent_pdf(scored, record, lang=lang)
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
