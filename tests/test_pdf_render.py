"""The PDF 考核表 reads on a machine without any Chinese font: rendered by poppler
(``pdftoppm``) with fontconfig pointed at an empty font folder, the Chinese words are drawn —
there is ink inside each word's box — because the PDF carries its own font.

Where each word sits comes from poppler's ``pdftotext -bbox`` (the text layer, which needs no
font); the pixels come from ``pdftoppm``, so the two are independent of the PDF writer. The
same check on a PDF that only names a font it does not embed (reportlab's STSong-Light) finds
blank boxes, which shows the check can fail."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from kaohe.reports.pdf import agent_pdf

from .test_forms import H41_FULL, ROW41_FULL, _score


@pytest.fixture(autouse=True)
def _poppler() -> None:
    missing = [t for t in ("pdftoppm", "pdftotext", "pdffonts") if shutil.which(t) is None]
    assert not missing, f"{missing} not found: install poppler-utils (scripts/test.sh does)"


DPI = 100
HAN = re.compile(r"^[\u4e00-\u9fff]{2,}$")


def _no_fonts_env(tmp: Path) -> dict[str, str]:
    """An environment whose fontconfig sees no font at all."""
    empty = tmp / "no-fonts"
    empty.mkdir(exist_ok=True)
    conf = tmp / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n'
        f"<fontconfig><dir>{empty}</dir><cachedir>{tmp / 'fc-cache'}</cachedir></fontconfig>\n",
        encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "FONTCONFIG_FILE": str(conf), "HOME": str(tmp)}
    listed = subprocess.run(["fc-list"], capture_output=True, text=True, env=env, check=False)
    assert listed.stdout.strip() == "" or listed.returncode != 0  # truly no fonts visible
    return env


def _chinese_words(pdf: Path, env: dict[str, str]) -> list[tuple[str, float, float, float, float]]:
    """(word, xMin, yMin, xMax, yMax) in points, for words that are two or more Han characters."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, env=env, check=True).stdout
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                       r"([^<]*)</word>", html)
    return [(w, float(a), float(b), float(c), float(d)) for a, b, c, d, w in words if HAN.match(w)]


def _ink(pdf: Path, env: dict[str, str]) -> tuple[Image.Image, float]:
    png = subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", "-f", "1", "-l", "1", "-png",
                          str(pdf)], capture_output=True, env=env, check=True).stdout
    return Image.open(io.BytesIO(png)).convert("L"), DPI / 72


def _dark(page: Image.Image, box: tuple[int, int, int, int]) -> int:
    """How many pixels of ``box`` are dark (ink, not paper)."""
    return sum(page.crop(box).histogram()[:128])


def _inked_words(pdf: Path, tmp: Path) -> tuple[int, int]:
    """(words with ink in their box, Chinese words found) on page 1."""
    env = _no_fonts_env(tmp)
    words = _chinese_words(pdf, env)
    page, scale = _ink(pdf, env)
    inked = 0
    for _, x0, y0, x1, y1 in words:
        # the box shrunk by a fifth of its height, clear of cell borders
        pad = (y1 - y0) / 5
        box = (round((x0 + pad) * scale), round((y0 + pad) * scale),
               round((x1 - pad) * scale), round((y1 - pad) * scale))
        inked += _dark(page, box) >= 3
    return inked, len(words)


def test_form_is_drawn_without_any_installed_font(tmp_path: Path) -> None:
    scored, doc = _score(tmp_path, H41_FULL + ROW41_FULL)
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(agent_pdf(scored, doc["results"][0]))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    embedded = {line.split()[0].split("+")[-1]: line.split()[-5] == "yes" for line in fonts}
    assert embedded.pop("KaoheNotoSansSC-Regular") is True
    # reportlab's canvas always lists its default Helvetica (one of PDF's 14 standard fonts,
    # which every viewer has); no text is set in it
    assert set(embedded) <= {"Helvetica"}
    inked, words = _inked_words(pdf, tmp_path)
    assert words >= 20  # 考核表, 被考核人, 部门, 岗位, the indicators' labels, …
    assert inked == words


def test_the_check_finds_a_font_that_is_not_embedded(tmp_path: Path) -> None:
    """The same words drawn at known places, once in reportlab's STSong-Light (named, not
    embedded: what kaohe's PDFs did before) and once in kaohe's embedded font: without any
    font installed, only the embedded one leaves ink."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    from kaohe.reports.cjkfont import embedded

    words = ["考核表", "被考核人", "部门团队", "成交额完成度"]
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    env = _no_fonts_env(tmp_path)
    inked: dict[str, int] = {}
    with embedded("".join(words)) as ours:
        for font in ("STSong-Light", ours):
            pdf = tmp_path / f"{font}.pdf"
            c = canvas.Canvas(str(pdf))
            height = c._pagesize[1]
            boxes = []
            for i, text in enumerate(words):
                y = 700 - 40 * i
                c.setFont(font, 20)
                c.drawString(72, y, text)
                width = pdfmetrics.stringWidth(text, font, 20)
                scale = DPI / 72
                boxes.append((round(72 * scale), round((height - y - 16) * scale),
                              round((72 + width) * scale), round((height - y) * scale)))
            c.save()
            page, _ = _ink(pdf, env)
            inked[font] = sum(_dark(page, box) >= 3 for box in boxes)
    assert inked == {"STSong-Light": 0, ours: len(words)}
