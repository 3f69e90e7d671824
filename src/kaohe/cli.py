"""The ``kaohe`` command line (Typer + rich).

Every user error (bad scheme, bad input, unknown preset) exits with status 2, prints one
message on stderr and nothing on stdout, and writes no output file.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from kaohe.errors import KaoheError

app = typer.Typer(
    name="kaohe",
    help="考核 kaohe — customer-service performance appraisal: schemes, scores, grades and pay.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    json = "json"
    table = "table"
    csv = "csv"
    xlsx = "xlsx"


def fail(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def _scheme(preset: str | None, scheme: Path | None) -> Any:
    from kaohe.presets import load_preset
    from kaohe.scheme.loader import load_scheme

    if (preset is None) == (scheme is None):
        fail("give exactly one of --preset ID or --scheme FILE.yaml")
    return load_preset(preset) if preset is not None else load_scheme(scheme)  # type: ignore[arg-type]


@app.command()
def score(
    input: Annotated[Path, typer.Option("--input", "-i", help="CSV or XLSX, one row per employee and period")],
    preset: Annotated[str | None, typer.Option(help="a shipped scheme id (see `kaohe presets`)")] = None,
    scheme: Annotated[Path | None, typer.Option(help="a scheme YAML file")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    period: Annotated[str | None, typer.Option(help="period for inputs without a period column, e.g. 2026-10")] = None,
) -> None:
    """Score an input table with a scheme (rulebook §5)."""
    from kaohe.engine.results import to_document
    from kaohe.engine.score import score_file
    from kaohe.reports import render

    try:
        sch = _scheme(preset, scheme)
        scored = score_file(sch, input, period=period)
        doc = to_document(scored.outcome, scored.table)
        if format is Format.json:
            payload = json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
            _emit_text(payload, output)
        elif format is Format.csv:
            _emit_text(render.results_csv(scored, doc), output)
        elif format is Format.xlsx:
            if output is None:
                fail("--format xlsx needs --output FILE.xlsx")
            assert output is not None
            render.write_results_xlsx(scored, doc, output)
            err.print(f"wrote {output}")
        else:
            text = render.results_table(scored, doc)
            _emit_text(text, output)
    except KaoheError as exc:
        fail(str(exc))


def _emit_text(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    tmp = output.with_name(output.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)


@app.command()
def presets() -> None:
    """List the shipped schemes."""
    from rich.table import Table

    from kaohe.presets import PRESET_IDS, load_preset

    table = Table(title="kaohe presets 预置考核方案")
    table.add_column("id")
    table.add_column("名称 name")
    table.add_column("说明 description")
    for pid in PRESET_IDS:
        s = load_preset(pid)
        table.add_row(pid, f"{s.name}\n{s.name_en}", f"{s.description}\n{s.description_en}")
    Console().print(table)


@app.command()
def check(scheme: Annotated[Path, typer.Argument(help="scheme YAML file")]) -> None:
    """Validate a scheme file; print a summary, or every error with its line."""
    from kaohe.scheme.loader import load_scheme

    try:
        s = load_scheme(scheme)
    except KaoheError as exc:
        fail(str(exc))
        return
    out = Console()
    out.print(f"[bold]{s.id}[/bold] {s.name} — ok")
    out.print(f"  inputs: {len(s.inputs)}; indicators: {len(s.indicators)}; "
              f"adjustments: {len(s.adjustments)}; grades: {', '.join(g.name for g in s.grades) or '-'}; "
              f"pay lines: {', '.join(p.id for p in s.pay) or '-'}; flags: "
              f"{', '.join(f.flag for f in s.flags) or '-'}")


def main() -> None:
    try:
        app()
    except KaoheError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
