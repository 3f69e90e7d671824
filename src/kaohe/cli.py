"""The ``kaohe`` command line (Typer + rich).

Every user error (bad scheme, bad input, unknown preset) exits with status 2, prints one
message on stderr and nothing on stdout, and writes no output file.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from contextlib import nullcontext
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


class Lang(str, Enum):
    zh = "zh"
    en = "en"


class Format(str, Enum):
    json = "json"
    table = "table"
    csv = "csv"
    xlsx = "xlsx"


def fail(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


def _scheme(preset: str | None, scheme: Path | None) -> Any:
    from kaohe.engine.load import load_scheme
    from kaohe.presets import load_preset

    if (preset is None) == (scheme is None):
        fail("give exactly one of --preset ID or --scheme FILE.yaml")
    return load_preset(preset) if preset is not None else load_scheme(scheme)  # type: ignore[arg-type]


@app.command()
def score(
    input: Annotated[list[Path], typer.Option("--input", "-i", help="CSV or XLSX, one row per employee and period; "
                                                  "repeat to join several files on employee and period")],
    preset: Annotated[str | None, typer.Option(help="a shipped scheme id (see `kaohe presets`)")] = None,
    scheme: Annotated[Path | None, typer.Option(help="a scheme YAML file")] = None,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write here instead of stdout")] = None,
    period: Annotated[str | None, typer.Option(help="period for inputs without a period column, e.g. 2026-10")] = None,
    reasons: Annotated[bool, typer.Option("--reasons", help="add each indicator's reason "
                                          "(json: a reasons object; csv, xlsx: reason:<id> "
                                          "columns; table: a reasons column)")] = False,
    lang: Annotated[Lang, typer.Option(help="language of the reasons")] = Lang.zh,
    item_table: Annotated[list[str] | None, typer.Option(
        "--table", help="an item table of the scheme: NAME=FILE.csv (rows per employee and "
                        "period, e.g. late_payments=deals.csv); repeat for several")] = None,
) -> None:
    """Score an input table with a scheme (rulebook §5)."""
    from kaohe.engine.score import score_file
    from kaohe.reports import output as out

    if format is Format.xlsx and output is None:
        fail("--format xlsx needs --output FILE.xlsx")
    try:
        sch = _scheme(preset, scheme)
        big = sum(p.stat().st_size for p in input if p.exists()) > 20_000_000
        with err.status(f"scoring {input[0].name} …") if big else nullcontext():
            scored = score_file(sch, input if len(input) > 1 else input[0], period=period,
                                tables=_item_tables(item_table))
            res = out.collect(scored, reasons=reasons, lang=lang.value)
    except KaoheError as exc:
        fail(str(exc))
        return
    if format in (Format.json, Format.csv):
        views = out.aggregate_views(res) if format is Format.csv else []
        try:
            with out.destination(output) as fh:
                (out.write_json if format is Format.json else out.write_csv)(res, fh)
                if views and output is None:
                    fh.write(b"\n")  # the aggregates: a second table after a blank line
                    out.write_aggregates_csv(res, fh, views)
                elif views and output is not None:
                    # beside the results, FILE-aggregates.csv; inside the results' own write,
                    # so a failure leaves neither
                    sibling = out.aggregates_path(output)
                    with out.destination(sibling) as agg_fh:
                        out.write_aggregates_csv(res, agg_fh, views)
                    err.print(f"wrote {sibling}", markup=False)
        except OSError as exc:
            if output is not None:
                fail(f"cannot write {output}: {exc.strerror or exc}")
            # Polars reports a closed pipe as a plain OSError naming the OS error
            if exc.errno != errno.EPIPE and f"os error {errno.EPIPE})" not in str(exc):
                raise
            # the reader went away (`kaohe score … | head`): stop quietly, as cat does
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(1) from None
    elif format is Format.xlsx:
        assert output is not None
        try:
            out.write_xlsx(res, output)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        err.print(f"wrote {output}")
    else:
        tables = [out.results_table(res)] + ([out.reasons_table(res)] if reasons else [])
        tables += out.aggregate_tables(res)  # quarters and years, a table each
        if output is None:
            console = Console()
            for shown in tables:
                console.print(shown)
            _print_warnings(Console(stderr=True), scored.outcome.warnings)
        else:
            buf = Console(file=io.StringIO(), width=240, record=True)
            for shown in tables:
                buf.print(shown)
            _emit_text(buf.export_text(), output)


def _item_tables(given: list[str] | None) -> dict[str, Path]:
    """``--table NAME=FILE`` options as name → path (a name given twice is an error)."""
    out: dict[str, Path] = {}
    for text in given or []:
        name, sep, path = text.partition("=")
        if not sep or not name.strip() or not path.strip():
            fail(f"--table {text!r}: expected NAME=FILE.csv, e.g. late_payments=deals.csv")
        if name.strip() in out:
            fail(f"--table {name.strip()!r} is given twice")
        out[name.strip()] = Path(path.strip())
    return out


def _print_warnings(console: Console, warnings: list[str], limit: int = 20) -> None:
    for w in warnings[:limit]:
        console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    if len(warnings) > limit:
        console.print(f"… and {len(warnings) - limit} more warnings")


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

    from kaohe.presets import PRESET_IDS, preset_summary

    table = Table(title="kaohe presets 预置考核方案")
    table.add_column("id")
    table.add_column("名称 name")
    table.add_column("说明 description")
    for pid in PRESET_IDS:
        s = preset_summary(pid)
        table.add_row(pid, f"{s.name}\n{s.name_en}", f"{s.description}\n{s.description_en}")
    Console().print(table)


@app.command()
def check(scheme: Annotated[Path, typer.Argument(help="scheme YAML file")]) -> None:
    """Validate a scheme file; print a summary, or every error with its line."""
    from kaohe.engine.load import load_scheme

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


@app.command()
def explain(
    input: Annotated[Path, typer.Option("--input", "-i")],
    employee: Annotated[str, typer.Option("--employee", "-e")],
    preset: Annotated[str | None, typer.Option()] = None,
    scheme: Annotated[Path | None, typer.Option()] = None,
    period: Annotated[str | None, typer.Option(help="the period to explain: a month "
                                               "2026-10, a quarter 2026-Q4 or a year 2026")] = None,
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
    item_table: Annotated[list[str] | None, typer.Option(
        "--table", help="an item table of the scheme: NAME=FILE.csv, as for score")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="write the form as xlsx instead (a month's 考核表, a quarter's "
                               "or year's 年度绩效考核表)")] = None,
) -> None:
    """Why each point: the reason behind every number of one appraisal, or of a quarter or
    year, line by line."""
    from rich.table import Table

    from kaohe.engine.explain import explain_lines, find_row, is_aggregate_period
    from kaohe.engine.score import score_file
    from kaohe.formatting import plain, two

    if lang not in ("zh", "en"):
        fail(f"unknown language {lang!r}; use zh or en")
        return
    tables = _item_tables(item_table)
    if is_aggregate_period(period):
        assert period is not None
        _explain_aggregate(input, employee, preset, scheme, period, lang, tables, output)
        return
    try:
        sch = _scheme(preset, scheme)
        scored = score_file(sch, input, tables=tables)
        frame = scored.outcome.frame
        index = find_row(frame, employee, period)
        lines = explain_lines(scored.outcome.plan, frame, index, lang)
    except KaoheError as exc:
        fail(str(exc))
        return
    row_period = frame["period"][index] or ""
    if output is not None:
        _month_form(scored, employee, row_period, lang, output)
        return
    name = (sch.name_en or sch.name) if lang == "en" else sch.name
    table = Table(title=f"{name} — {employee} {row_period}".strip())
    table.add_column("item" if lang == "en" else "项目")
    table.add_column("points" if lang == "en" else "得分", justify="right")
    table.add_column("reason" if lang == "en" else "理由")
    for ln in lines:
        shown = "" if ln.points is None else plain(ln.points) if ln.id == "rank" else two(ln.points)
        table.add_row(ln.label, shown, ln.reason)
    Console(width=160).print(table)


def _month_form(scored: Any, employee: str, period: str, lang: str, output: Path) -> None:
    """A month's 考核表 of one employee, as xlsx."""
    from kaohe.engine.results import to_document
    from kaohe.reports.forms import write_agent_form

    doc = to_document(scored.outcome, scored.table)
    record = next(r for r in doc["results"] if r["employee"] == employee
                  and (r["period"] or "") == period)
    try:
        write_agent_form(scored, record, output, lang=lang)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    err.print(f"wrote {output}", markup=False)


def _explain_aggregate(input: Path, employee: str, preset: str | None, scheme: Path | None,
                       period: str, lang: str, tables: dict[str, Path],
                       output: Path | None = None) -> None:
    """A quarter or a year explained as the seed's 年度绩效考核表: a line per term of the
    score (指标类型 | 平均得分 | 所占权重 | 折合分数), then grade, rank, awards, flags and
    values."""
    from rich.table import Table

    from kaohe.engine.explain import explain_aggregate
    from kaohe.engine.score import score_file
    from kaohe.i18n import translations
    from kaohe.text import N_

    try:
        sch = _scheme(preset, scheme)
        scored = score_file(sch, input, tables=tables)
        lines = explain_aggregate(scored.outcome, employee, period, lang)
    except KaoheError as exc:
        fail(str(exc))
        return
    if output is not None:
        from kaohe.reports.forms import write_aggregate_form

        try:
            write_aggregate_form(scored, employee, period, output, lang=lang)
        except OSError as exc:
            fail(f"cannot write {output}: {exc.strerror or exc}")
        err.print(f"wrote {output}", markup=False)
        return
    g = translations(lang).gettext
    name = (sch.name_en or sch.name) if lang == "en" else sch.name
    table = Table(title=f"{name} — {employee} {period}")
    table.add_column(g(N_("item type")))
    table.add_column(g(N_("average")), justify="right")
    table.add_column(g(N_("weight")), justify="right")
    table.add_column(g(N_("weighted points")), justify="right")
    table.add_column(g(N_("reason")))
    for ln in lines:
        table.add_row(ln.label, ln.average, ln.weight, ln.points, ln.reason)
    Console(width=200).print(table)


@app.command()
def demo(
    output: Annotated[Path, typer.Option("--output", "-o", help="folder for the data and forms")] = Path(
        "kaohe-demo"
    ),
    lang: Annotated[str, typer.Option(help="zh or en")] = "zh",
    forms: Annotated[bool, typer.Option(help="write an xlsx form per agent")] = True,
    load: Annotated[bool, typer.Option(help="load the shop into the database")] = True,
    db: Annotated[str | None, typer.Option("--db", help="SQLite file or database URL")] = None,
    serve_: Annotated[bool, typer.Option("--serve", help="then run the web app on the demo shop")] = False,
    port: Annotated[int, typer.Option(help="port of the web app (with --serve)")] = 8000,
) -> None:
    """Generate a sample shop (3 teams, ~30 agents, 6 months), score it with taobao-presales,
    print the ranking, write the xlsx forms and load the shop into the database (one login
    per role); with --serve, open it in the web app."""
    from rich.progress import Progress

    from kaohe.demo import write_inputs
    from kaohe.engine.results import to_document
    from kaohe.engine.score import score_file
    from kaohe.presets import load_preset
    from kaohe.reports import output as results_out

    out = Console()
    try:
        output.mkdir(parents=True, exist_ok=True)
        inputs = write_inputs(output / "inputs.csv")
        scheme = load_preset("taobao-presales")
        scored = score_file(scheme, inputs)
        doc = to_document(scored.outcome, scored.table)
    except KaoheError as exc:
        fail(str(exc))
        return
    res = results_out.collect(scored)
    with results_out.destination(output / "results.json") as fh:
        results_out.write_json(res, fh)
    latest = max(r["period"] for r in doc["results"])
    out.print(results_out.results_table(res, compact=True, period=latest))
    flagged = [r for r in doc["results"] if r["flags"]]
    for r in flagged:
        out.print(f"  {r['period']} {r['employee']} {r.get('name', '')}: {' '.join(r['flags'])}")
    written: list[Path] = []
    if forms:
        from kaohe.reports.forms import write_forms

        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task("writing forms 生成考核表", total=len(doc["results"]))

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            written = write_forms(scored, doc, output / "forms", lang=lang, progress=tick)
    out.print(f"\n[bold]sample shop[/bold]: {len(doc['results'])} appraisals, "
              f"{len({r['employee'] for r in doc['results']})} agents, 3 teams, 6 months")
    out.print(f"inputs:  {inputs}")
    out.print(f"results: {output / 'results.json'}")
    if written:
        out.print(f"forms:   {output / 'forms'} ({len(written)} xlsx files)")
    out.print(f"try:     kaohe explain --preset taobao-presales --input {inputs} "
              f"--employee KF001 --period {latest}")
    if load:
        _load_demo_db(db, inputs, output, out, port)
    if serve_:
        serve(host="127.0.0.1", port=port, db=db)


def _load_demo_db(db: str | None, inputs: Path, output: Path, out: Console, port: int) -> None:
    from kaohe.store.db import Database
    from kaohe.workflow.demo_load import DEMO_PASSWORD, load_demo

    try:
        database = Database.open(db)
    except KaoheError as exc:
        fail(str(exc))
        return
    try:
        with Console(stderr=True).status("loading the shop into the database 载入数据库…") as st:
            loaded = load_demo(database, inputs, output / "db-load",
                               progress=lambda m: st.update(f"loading {m} …"))
    except KaoheError as exc:
        fail(str(exc))
        return
    finally:
        database.dispose()
    where = database.engine.url.render_as_string()
    if loaded.already:
        out.print(f"database: {where} (the demo shop was loaded before)")
    else:
        out.print(f"database: {where}: {loaded.cycles} monthly cycles published, appeals "
                  "filed / accepted / resolved / rejected")
        out.print(f"open:    {loaded.open_period} is in self-review; HR uploads "
                  f"{loaded.open_sheet} in the web console")
    roles = sorted({r for _, r in loaded.users})
    out.print(f"logins (password {DEMO_PASSWORD}):")
    for role in roles:
        out.print(f"  {role:<11} {next(u for u, r in loaded.users if r == role)}")
    db_arg = f" --db {db}" if db else ""
    out.print(f"web:     kaohe serve{db_arg}   (or `kaohe demo --serve`), then open "
              f"http://127.0.0.1:{port}/")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    db: Annotated[str | None, typer.Option("--db", help="SQLite file or database URL")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
    https: Annotated[bool, typer.Option(
        help="mark cookies Secure (behind a proxy that terminates HTTPS)")] = False,
) -> None:
    """Run the web app (sessions survive a restart: the key is kept in the data directory,
    or set KAOHE_SECRET_KEY)."""
    import uvicorn

    from kaohe.settings import settings
    from kaohe.store.db import Database
    from kaohe.store.migrate import upgrade
    from kaohe.web.app import create_app

    try:
        database = Database.open(db)
        upgrade(database)
        key = settings().session_key()
    except KaoheError as exc:
        fail(str(exc))
        return
    https = https or settings().https
    Console(stderr=True).print(f"kaohe web app on http://{host}:{port}/ — database "
                               f"{database.engine.url.render_as_string()}"
                               + (f", {workers} workers" if workers > 1 else ""))
    if workers == 1:
        uvicorn.run(create_app(database, https=https), host=host, port=port,
                    log_level="warning")
        return
    # every worker builds the app from the environment: the same database, key and cookies
    database.dispose()
    os.environ["KAOHE_DATABASE_URL"] = database.engine.url.render_as_string(hide_password=False)
    os.environ["KAOHE_SECRET_KEY"] = key
    os.environ["KAOHE_HTTPS"] = "1" if https else "0"
    uvicorn.run("kaohe.web.asgi:app", host=host, port=port, workers=workers,
                log_level="warning")


def _register() -> None:
    from kaohe.cli_remind import register as register_remind
    from kaohe.cli_store import register, user_app

    register(app)
    register_remind(app, user_app)


_register()


def main() -> None:
    try:
        app()
    except KaoheError as exc:  # pragma: no cover - commands catch their own
        err.print(f"error: {exc}", markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
