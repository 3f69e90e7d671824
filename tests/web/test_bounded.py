"""Bounded work: request bodies are limited before they are read (and before the login is
looked at), uploads are parsed off the event loop within caps on rows, columns and cells,
and hostile schemes (aliases, deep nesting, huge numbers, division by zero) are refused
with a message — never a 500, and never at the cost of other users' pages."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select

from kaohe.presets import preset_text
from kaohe.store.db import Database
from kaohe.store.models import Cycle
from kaohe.web.app import create_app

from ..store.factories import INPUT_HEADER, input_row
from .served import kaohe_serve
from .served import login as served_login
from .test_access import login, shop  # noqa: F401 - the fixture is shared
from .test_journeys import token

MB = 1024 * 1024


def _cycle(db: Database) -> int:
    with db.read() as s:
        return int(s.scalars(select(Cycle.id)).one())


# -- hostile files --------------------------------------------------------------------------
def wide_csv(columns: int = 100_000) -> bytes:
    """1.1 MB: a header of 100 000 columns and one row."""
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


def xlsx(rows: list[list[object]], *, dimension: str | None = None,
         cells: dict[str, object] | None = None) -> bytes:
    """A small workbook; ``dimension`` overrides the size it declares for itself."""
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for ref, v in (cells or {}).items():
        ws[ref] = v
    buf = io.BytesIO()
    wb.save(buf)
    if dimension is None:
        return buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zin, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]+"/>',
                              f'<dimension ref="{dimension}"/>'.encode(), data)
            zout.writestr(item, data)
    return out.getvalue()


def sheet(period: str, **changes: str) -> list[list[object]]:
    rows: list[list[object]] = [list(INPUT_HEADER)]
    for i in range(1, 7):
        row: list[object] = list(input_row(f"E{i:03d}", period))
        for col, value in changes.items():
            row[INPUT_HEADER.index(col)] = value
        rows.append(row)
    return rows


def scheme_with(old: str, new: str) -> str:
    text = preset_text("taobao-presales")
    assert old in text
    return text.replace(old, new, 1)


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefghi", "bcdefghij", strict=True)) + "id: x\n"
HOSTILE_SCHEMES = {
    "aliases": (ALIAS_BOMB, "aliases expand the scheme to more than"),
    "deep YAML": ("id: x\nname: " + "[" * 5000 + "]" * 5000 + "\n",
                  "nested more than 40 levels deep"),
    "deep parentheses": (scheme_with("value: sales / sales_target",
                                     "value: " + "(" * 500 + "sales" + ")" * 500),
                         "parentheses nested 500 deep"),
    "4300-digit integer": (scheme_with("max_total: 100", "max_total: " + "9" * 4300),
                           "a number of 4300 digits"),
    "1.0e999999999": (scheme_with("max_total: 100", "max_total: 1.0e999999999"),
                      "too large, too small or too long"),
    "division by zero": (scheme_with("value: sales / sales_target", "value: sales / 0"),
                         "division by zero in 'sales / 0'"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_SCHEMES))
def test_hostile_schemes_are_refused_quickly_with_a_message(shop: Database,  # noqa: F811
                                                            case: str) -> None:
    text, message = HOSTILE_SCHEMES[case]
    cid = _cycle(shop)
    with TestClient(create_app(shop, secret="s"), raise_server_exceptions=False) as hr:
        login(hr, "hr")
        csrf = token(hr, f"/hr/cycles/{cid}/scheme")
        started = time.perf_counter()
        r = hr.post(f"/hr/cycles/{cid}/scheme", data={"csrf": csrf, "content": text})
        assert r.status_code == 400, (r.status_code, r.text[:300])
        assert message in r.text.replace("&#39;", "'"), r.text[-800:]
        r = hr.post(f"/hr/cycles/{cid}/what-if", headers={"HX-Request": "true"},
                    data={"csrf": csrf, "content": text})
        assert r.status_code == 200 and message in r.text.replace("&#39;", "'")
        assert time.perf_counter() - started < 5


def test_division_by_a_literal_zero_names_file_line_and_field(tmp_path: Path) -> None:
    from kaohe.engine.load import load_scheme
    from kaohe.errors import SchemeError

    path = tmp_path / "s.yaml"
    path.write_text(HOSTILE_SCHEMES["division by zero"][0], "utf-8")
    line = 1 + path.read_text("utf-8").splitlines().index("    value: sales / 0")
    with pytest.raises(SchemeError, match=rf"^{re.escape(str(path))}:{line}: "
                                          r"indicators\[0\]\.value: division by zero"):
        load_scheme(path)


HOSTILE_UPLOADS = {
    "100 000 columns": ("wide.csv", wide_csv(), "the header has 100000 columns"),
    "a value beyond the header (declared A1:XFD2000)": (
        "declared.xlsx", xlsx(sheet("2026-10"), dimension="A1:XFD2000", cells={"XFD3": "备注"}),
        "the row has a value in column 16384"),
    "a 4300-digit number": ("big.csv", None, "not a number"),
    "a note under the table, right of the header": (
        "note.xlsx", xlsx(sheet("2026-10"), cells={"R4": "注：单位元"}),
        "has no header of its own"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_UPLOADS))
def test_hostile_uploads_answer_422_with_a_message(shop: Database, case: str) -> None:  # noqa: F811
    name, data, message = HOSTILE_UPLOADS[case]
    if data is None:
        rows = sheet("2026-10", sales="9" * 4300)
        data = ("\n".join(",".join(str(v) for v in r) for r in rows) + "\n").encode()
    cid = _cycle(shop)
    with TestClient(create_app(shop, secret="s"), raise_server_exceptions=False) as hr:
        login(hr, "hr")
        started = time.perf_counter()
        r = hr.post(f"/hr/cycles/{cid}/inputs?lang=en",
                    data={"csrf": token(hr, f"/hr/cycles/{cid}")},
                    files={"file": (name, data, "application/octet-stream")})
        assert r.status_code == 422, (r.status_code, r.text[:500])
        assert message in r.text, r.text[-1500:]
        assert time.perf_counter() - started < 5


def test_a_note_right_of_the_header_is_an_extra_column(shop: Database) -> None:  # noqa: F811
    """A note beside the header row, with nothing under it, is read as a column nobody
    asked for (ignored), whatever size the workbook declares."""
    data = xlsx(sheet("2026-10"), dimension="A1:XFD2000", cells={"R1": "注：金额单位为元"})
    cid = _cycle(shop)
    with TestClient(create_app(shop, secret="s"), raise_server_exceptions=False) as hr:
        login(hr, "hr")
        r = hr.post(f"/hr/cycles/{cid}/inputs", data={"csrf": token(hr, f"/hr/cycles/{cid}")},
                    files={"file": ("note.xlsx", data, "application/octet-stream")})
        assert r.status_code == 200, r.text[-1500:]
        assert 'name="token"' in r.text


# -- against a running server ----------------------------------------------------------------
def _raw(base: str, head: str, body: bytes = b"", *, wait: float = 10) -> tuple[int, float]:
    """Send a request's head (and maybe the start of its body) on a plain socket; the status
    of the answer and how long it took. The rest of a declared body is never sent."""
    url = urlsplit(base)
    started = time.perf_counter()
    with socket.create_connection((url.hostname, url.port), timeout=wait) as sock:
        sock.sendall(head.encode("latin-1") + body)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.perf_counter() - started


def _head(path: str, kind: str, length: int | None) -> str:
    size = f"Content-Length: {length}\r\n" if length is not None else \
        "Transfer-Encoding: chunked\r\n"
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n{size}"
            "Connection: close\r\n\r\n")


def test_anonymous_100_mb_bodies_are_refused_before_they_are_read(
        shop: Database, tmp_path: Path) -> None:  # noqa: F811
    cid = _cycle(shop)
    upload = f"/hr/cycles/{cid}/inputs"
    kind = "multipart/form-data; boundary=xyz"
    with kaohe_serve(shop.url, tmp_path / "data") as base:
        # declared: answered at once, though the 100 MB never come
        for path, ctype in ((upload, kind), ("/api/appraisals/1/ratings", "application/json"),
                            ("/login", "application/x-www-form-urlencoded")):
            status, took = _raw(base, _head(path, ctype, 100 * MB))
            assert status == 413 and took < 5, (path, status, took)
        # not declared (chunked): stopped once past the limit, not read to the end
        chunk = b"x" * 65536
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4))
        status, took = _raw(base, _head(upload, kind, None), body)
        assert status == 413, status
        # a logged-in user gets the upload limit, and HR's 100 MB upload is refused too
        with httpx.Client(base_url=base, timeout=30) as hr:
            assert served_login(hr, "hr", "pw").status_code == 303
            cookie = hr.cookies["kaohe_session"]
        status, _ = _raw(base, _head(upload, kind, 100 * MB).replace(
            "Connection: close\r\n", f"Connection: close\r\nCookie: kaohe_session={cookie}\r\n"))
        assert status == 413


def test_another_page_is_served_promptly_while_hostile_uploads_are_parsed(
        shop: Database, tmp_path: Path) -> None:  # noqa: F811
    """HR's hostile uploads run one after another for a while; meanwhile an agent's page
    answers within a second every time."""
    cid = _cycle(shop)
    big_rows = sheet("2026-10")
    long_sheet = [big_rows[0]] + [[f"X{i:06d}", "2026-10", *big_rows[1][2:]]
                                  for i in range(150_000)]  # 150 000 unknown employees, 10 MB
    uploads = [("wide.csv", wide_csv()),
               ("declared.xlsx", xlsx(sheet("2026-10"), dimension="A1:XFD2000",
                                      cells={"XFD3": "x"})),
               ("long.csv", ("\n".join(",".join(map(str, r)) for r in long_sheet)
                             + "\n").encode())]
    statuses: list[int] = []
    latencies: list[float] = []
    took: dict[str, float] = {}
    done = threading.Event()
    with kaohe_serve(shop.url, tmp_path / "data") as base:
        with httpx.Client(base_url=base, timeout=120) as hr, \
                httpx.Client(base_url=base, timeout=30) as agent:
            assert served_login(hr, "hr", "pw").status_code == 303
            assert served_login(agent, "e1", "pw").status_code == 303
            csrf = hr.get("/api/me").json()["csrf"]

            def attack() -> None:
                try:
                    for _ in range(3):
                        for name, data in uploads:
                            started = time.perf_counter()
                            r = hr.post(f"/hr/cycles/{cid}/inputs", data={"csrf": csrf},
                                        files={"file": (name, data, "text/csv")})
                            statuses.append(r.status_code)
                            took[name] = max(took.get(name, 0), time.perf_counter() - started)
                finally:
                    done.set()

            thread = threading.Thread(target=attack)
            thread.start()
            while not done.is_set():
                started = time.perf_counter()
                assert agent.get("/me").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)
            thread.join(300)
    assert statuses and all(400 <= s < 500 for s in statuses), statuses
    assert len(latencies) >= 5, latencies
    assert max(latencies) < 1.0, sorted(latencies)[-5:]
    # the uploads keep the server busy for longer than a page may take (else this test
    # would prove nothing): three rounds of the hostile sheets, one after another
    assert 3 * sum(took.values()) > 1.5, took


def test_the_cli_refuses_the_same_inputs_with_exit_2(tmp_path: Path) -> None:
    import subprocess
    import sys

    def kaohe(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kaohe", *args], capture_output=True,
                              text=True, timeout=120)

    for case in ("aliases", "deep YAML", "4300-digit integer", "division by zero"):
        text, message = HOSTILE_SCHEMES[case]
        path = tmp_path / "scheme.yaml"
        path.write_text(text, "utf-8")
        r = kaohe("check", str(path))
        assert r.returncode == 2 and message in r.stderr, (case, r.stderr[-500:])
        assert "Traceback" not in r.stderr
    wide = tmp_path / "wide.csv"
    wide.write_bytes(wide_csv())
    declared = tmp_path / "declared.xlsx"
    declared.write_bytes(xlsx(sheet("2026-10"), dimension="A1:XFD2000", cells={"XFD3": "x"}))
    for path, message in ((wide, "the header has 100000 columns"),
                          (declared, "the row has a value in column 16384")):
        r = kaohe("score", "--preset", "taobao-presales", "--input", str(path))
        assert r.returncode == 2 and message in r.stderr, r.stderr[-500:]
        assert "Traceback" not in r.stderr
