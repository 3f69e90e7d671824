"""`kaohe score` end to end, exactly as a user runs it, against LibreOffice recalculating the
same rows as a formula workbook — HR's alternative — in the same run.

    python benchmarks/bench_cli.py [--sizes 10000,100000,1000000] [--rounds 3]
                                   [--spreadsheet-sizes 10000,100000] [--xlsx-sizes 100000]
                                   [--reasons-sizes 10000,100000,1000000]
                                   [--work /tmp/kaohe-bench-cli]

Inputs: the taobao-presales rows that ``../shared/bench/spreadsheet/make_workbook.py`` writes
(seeded, realistic, with planted band edges), saved both as its formula workbook and as the
CSV kaohe reads, so both score the very same rows. Sizes above the largest spreadsheet size
are that size's rows repeated with the employee and team ids made unique (a workbook of a
million formula rows is past what the spreadsheet handles; kaohe alone is timed there).

Timed, each as a fresh process started the way a user starts it (the ``kaohe`` script next to
this Python, else ``python -m kaohe``), wall time and peak RSS (``wait4``):
  kaohe csv / json / xlsx (the xlsx sizes) / csv --reasons / json --reasons (10k only)
  LibreOffice: ``recalc.sh`` — load the workbook, recalculate every formula, write CSV
  ``kaohe --help`` and ``kaohe presets`` (start-up)
Every round runs every variant once, in turn (kaohe, LibreOffice, kaohe, LibreOffice, …), and
the table shows medians over the rounds. Before timing, kaohe's totals and grades are checked
against LibreOffice's for the smallest size (the workbook leaves out the pool share, so pay is
not compared).

Targets (2-core machine): 100k rows to CSV ≥ 20× faster than LibreOffice; JSON within 2× of
CSV; 1M rows to CSV in < 15 s and < 3 GiB peak; `--help` and `presets` < 0.5 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
SPREADSHEET = (HERE.parent / ".." / "shared" / "bench" / "spreadsheet").resolve()
if not SPREADSHEET.is_dir():
    SPREADSHEET = Path("/work/shared/bench/spreadsheet")


@dataclass
class Runs:
    wall: list[float] = field(default_factory=list)
    rss_mib: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def peak(self) -> float:
        return max(self.rss_mib)


def kaohe_cmd() -> list[str]:
    script = Path(sys.executable).with_name("kaohe")
    return [str(script)] if script.exists() else [sys.executable, "-m", "kaohe"]


#: an input sheet is capped at 200 000 rows and 5 million cells by default (``KAOHE_MAX_ROWS``,
#: ``KAOHE_MAX_CELLS``: the web upload's limits, which the CLI shares); a contact centre's
#: million-row file needs them raised, as here
ENV = {**os.environ, "KAOHE_MAX_ROWS": os.environ.get("KAOHE_MAX_ROWS", "2000000"),
       "KAOHE_MAX_CELLS": os.environ.get("KAOHE_MAX_CELLS", "50000000")}


def timed(cmd: list[str], *, stdout: Path | None = None) -> tuple[float, float, float]:
    """Run ``cmd``; its wall time (s), peak RSS (MiB) and CPU time (user + system, s), each
    over the process and the children it waited for. Fails loudly on a non-zero exit."""
    out = stdout.open("wb") if stdout is not None else subprocess.DEVNULL
    err_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-cli-{os.getpid()}.err"
    with err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    if stdout is not None:
        out.close()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{err_path.read_text()[-3000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def make_inputs(work: Path, sizes: list[int], sheet_sizes: list[int]) -> dict[int, Path]:
    """inputs-N.csv for every size (and book-N.xlsx for the spreadsheet sizes); not timed."""
    inputs: dict[int, Path] = {}
    base_n = max(sheet_sizes) if sheet_sizes else min(sizes)
    for n in sorted(set(sizes) | set(sheet_sizes)):
        csv_path = work / f"inputs-{n}.csv"
        book = work / f"book-{n}.xlsx"
        if n in sheet_sizes or n <= base_n:
            if not csv_path.exists() or (n in sheet_sizes and not book.exists()):
                print(f"  writing the {n:,}-row workbook and its inputs …", file=sys.stderr)
                subprocess.run([sys.executable, str(SPREADSHEET / "make_workbook.py"), str(n),
                                str(book), "--write-csv", str(csv_path)], check=True,
                               capture_output=True)
        elif not csv_path.exists():
            base = make_inputs(work, [base_n], sheet_sizes)[base_n]
            rows = pl.read_csv(base, infer_schema=False)
            copies = -(-n // rows.height)
            big = pl.concat([rows.with_columns(pl.col("employee") + f"-{k}",
                                               pl.col("team") + f"-{k}") for k in range(copies)])
            big.head(n).write_csv(csv_path)
        inputs[n] = csv_path
    return inputs


def check_agreement(work: Path, inputs: Path, book: Path) -> None:
    """kaohe and LibreOffice give the same total and grade for every row (not timed)."""
    ours = work / "agree-kaohe.csv"
    theirs = work / "agree-lo.csv"
    timed([*kaohe_cmd(), "score", "--preset", "taobao-presales", "-i", str(inputs), "-f", "csv",
           "-o", str(ours)])
    timed(["bash", str(SPREADSHEET / "recalc.sh"), str(book), str(theirs)])
    with ours.open(encoding="utf-8") as a, theirs.open(encoding="utf-8-sig") as b:
        k = {(r["period"], r["employee"]): r for r in csv.DictReader(a)}
        lo = list(csv.DictReader(b))
    bad = [r for r in lo if (r["period"], r["employee"]) not in k
           or float(k[(r["period"], r["employee"])]["total"]) != float(r["total"])
           or k[(r["period"], r["employee"])]["grade"] != r["grade"]]
    if len(lo) != len(k) or bad:
        raise SystemExit(f"kaohe and LibreOffice disagree on {len(bad)} of {len(lo)} rows, "
                         f"e.g. {bad[:2]}")
    print(f"agreement: kaohe and LibreOffice give the same total and grade on all {len(lo):,} "
          "rows", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--spreadsheet-sizes", default="10000,100000")
    ap.add_argument("--xlsx-sizes", default="100000")
    ap.add_argument("--reasons-sizes", default="10000,100000,1000000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/kaohe-bench-cli"))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    sheet_sizes = [int(x) for x in args.spreadsheet_sizes.split(",") if x]
    xlsx_sizes = {int(x) for x in args.xlsx_sizes.split(",") if x}
    reasons_sizes = {int(x) for x in args.reasons_sizes.split(",") if x}
    if sheet_sizes and shutil.which("soffice") is None:
        raise SystemExit("LibreOffice (soffice) is not installed: apt-get install -y "
                         "libreoffice-calc")
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    inputs = make_inputs(work, sizes, sheet_sizes)
    if sheet_sizes:
        n0 = min(sheet_sizes)
        check_agreement(work, inputs[n0], work / f"book-{n0}.xlsx")

    k = kaohe_cmd()
    jobs: list[tuple[str, int, list[str], Path | None]] = [
        ("--help", 0, [*k, "--help"], None), ("presets", 0, [*k, "presets"], None)]
    for n in sorted(set(sizes) | set(sheet_sizes)):
        base = [*k, "score", "--preset", "taobao-presales", "-i", str(inputs[n])]
        if n in sizes:
            jobs.append(("csv", n, [*base, "-f", "csv"], work / "out.csv"))
            jobs.append(("json", n, [*base, "-f", "json"], work / "out.json"))
            if n in xlsx_sizes:
                jobs.append(("xlsx", n, [*base, "-f", "xlsx", "-o", str(work / "out.xlsx")], None))
            if n in reasons_sizes:
                jobs.append(("csv --reasons", n, [*base, "-f", "csv", "--reasons"],
                             work / "out.csv"))
            if n == min(sizes):
                jobs.append(("json --reasons", n, [*base, "-f", "json", "--reasons"],
                             work / "out.json"))
        if n in sheet_sizes:
            jobs.append(("LibreOffice", n, ["bash", str(SPREADSHEET / "recalc.sh"),
                                            str(work / f"book-{n}.xlsx"),
                                            str(work / "lo.csv")], None))
    runs: dict[tuple[str, int], Runs] = {}
    for r in range(args.rounds):
        for label, n, cmd, out in jobs:
            if label == "csv --reasons" and r > 0 and n > 100_000:
                continue  # once is enough for the slowest variant at the largest size
            wall, rss, cpu = timed(cmd, stdout=out)
            rr = runs.setdefault((label, n), Runs())
            rr.wall.append(wall)
            rr.rss_mib.append(rss)
            rr.cpu.append(cpu)
            print(f"  round {r + 1}: {label:<15} {n:>9,} rows {wall:8.2f} s (cpu {cpu:7.2f} s) "
                  f"{rss:7.0f} MiB", file=sys.stderr)

    print(f"\nkaohe score (taobao-presales), medians of {args.rounds} alternating rounds: wall "
          "seconds, CPU seconds (user + system), peak MiB")
    print(f"{'rows':>10} {'variant':<15} {'median s':>9} {'cpu s':>7} {'peak MiB':>9} "
          f"{'rows/s':>11} {'LibreOffice s':>14} {'LO ÷ kaohe':>11} {'(cpu)':>7}")
    for (label, n), rr in runs.items():
        if label == "LibreOffice":
            continue
        lo = runs.get(("LibreOffice", n))
        ratio = f"{lo.median / rr.median:10.1f}×" if lo and n else ""
        cpu_ratio = f"{lo.cpu_median / rr.cpu_median:6.1f}×" if lo and n else ""
        los = f"{lo.median:14.2f}" if lo and n else ""
        speed = f"{n / rr.median:11,.0f}" if n else ""
        print(f"{n or '':>10} {label:<15} {rr.median:9.2f} {rr.cpu_median:7.2f} {rr.peak:9.0f} "
              f"{speed:>11} {los:>14} {ratio:>11} {cpu_ratio:>7}")
    for n in sheet_sizes:
        lo = runs[("LibreOffice", n)]
        print(f"{n:>10} {'LibreOffice':<15} {lo.median:9.2f} {lo.cpu_median:7.2f} {lo.peak:9.0f} "
              f"{n / lo.median:11,.0f}")

    def med(label: str, n: int) -> float | None:
        rr = runs.get((label, n))
        return rr.median if rr else None

    verdicts = []
    c100, lo100, j100 = med("csv", 100_000), med("LibreOffice", 100_000), med("json", 100_000)
    if c100 and lo100:
        verdicts.append((f"100k CSV ≥ 20× faster than LibreOffice ({lo100 / c100:.1f}×)",
                         lo100 / c100 >= 20))
    if c100 and j100:
        verdicts.append((f"100k JSON within 2× of CSV ({j100 / c100:.2f}×)", j100 <= 2 * c100))
    c1m = runs.get(("csv", 1_000_000))
    if c1m:
        verdicts.append((f"1M CSV < 15 s ({c1m.median:.1f} s) and < 3 GiB "
                         f"({c1m.peak / 1024:.2f} GiB)", c1m.median < 15 and c1m.peak < 3072))
    for label in ("--help", "presets"):
        t = med(label, 0)
        if t is not None:
            verdicts.append((f"kaohe {label} < 0.5 s ({t:.2f} s)", t < 0.5))
    print()
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
