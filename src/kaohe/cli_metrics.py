"""`kaohe metrics compute` (raw logs → inputs) and `kaohe metrics import` (platform exports)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from kaohe.errors import KaoheError

if TYPE_CHECKING:
    from rich.progress import TaskID

metrics_app = typer.Typer(help="Metrics: from raw chat/order logs, or from platform exports.",
                          no_args_is_help=True)
out = Console()
err = Console(stderr=True, highlight=False, soft_wrap=True)


def _fail(message: str) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(2)


@metrics_app.command("compute")
def compute_cmd(
    logs: Annotated[Path, typer.Option("--logs", help="folder with messages and orders: "
                                       "a .csv or .parquet file each, or a folder of files "
                                       "each (e.g. one a day)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="inputs CSV to write")],
    period: Annotated[list[str] | None, typer.Option("--period", help="YYYY-MM (repeatable)")] = None,
    rules: Annotated[Path | None, typer.Option("--rules", help="rules file, YAML or JSON")] = None,
    backend: Annotated[str, typer.Option(help="duckdb or pyspark")] = "duckdb",
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", help="DuckDB's memory, e.g. 4GB or 25% (default 15% of RAM); "
        "beyond it, work spills to disk")] = None,
    temp_dir: Annotated[Path | None, typer.Option(
        "--temp-dir", help="where DuckDB spills (default: a fresh folder in the system's "
        "temporary directory, removed afterwards)")] = None,
) -> None:
    """Compute per-agent monthly metrics from raw logs (docs/metrics.md)."""
    import re

    from kaohe.metrics.compute import compute, write_csv
    from kaohe.metrics.rules import load_rules

    for p in period or []:
        if not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", p):
            _fail(f"--period {p!r}: expected a month written YYYY-MM")
    import time

    started = time.perf_counter()
    try:
        r = load_rules(rules)
        with _progress() as on_stage:
            result = compute(logs, r, periods=period or None, backend=backend,
                             memory_limit=memory_limit, temp_dir=temp_dir, progress=on_stage)
    except KaoheError as exc:
        _fail(str(exc))
        return
    write_csv(result, output)
    for w in result.warnings[:20]:
        err.print(f"warning: {w}", markup=False)
    if len(result.warnings) > 20:
        err.print(f"warning: … and {len(result.warnings) - 20} more", markup=False)
    st = result.stats
    out.print(f"{len(result.rows)} agent-months written to {output}: "
              f"{st.get('messages', 0):,} messages, {st.get('sessions', 0):,} sessions, "
              f"{st.get('agents', 0):,} agents in {time.perf_counter() - started:.1f} s, "
              f"peak memory {_peak_gib():.2f} GiB", markup=False)


STAGE_LABELS = {"read": "reading and checking the logs", "sessions": "sessions and rounds",
                "attribution": "attributing orders", "roll-up": "rolling up to months"}


@contextmanager
def _progress() -> Iterator[Callable[[str, str], None] | None]:
    """Stages with a spinner and their time on a terminal; nothing otherwise."""
    if not err.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(finished_text="✓"), TextColumn("{task.description}"),
                  TimeElapsedColumn(), console=err, transient=False) as bar:
        tasks: dict[str, TaskID] = {}

        def on_stage(stage: str, event: str) -> None:
            if event == "start":
                tasks[stage] = bar.add_task(STAGE_LABELS.get(stage, stage), total=1)
            else:
                bar.update(tasks[stage], completed=1)

        yield on_stage


def _peak_gib() -> float:
    """Peak resident memory of this process and its finished children (a Spark JVM)."""
    import resource

    kib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
           + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return kib / (1 << 20)


@metrics_app.command("import")
def import_cmd(
    file: Path,
    output: Annotated[Path, typer.Option("--output", "-o", help="inputs CSV to write")],
    platform: Annotated[str, typer.Option(
        help="sycm, qianniu, feige, kuaishou or generic")] = "generic",
    mapping: Annotated[Path | None, typer.Option(help="your own mapping YAML")] = None,
    period: Annotated[str | None, typer.Option(help="YYYY-MM when the export has no dates")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="refuse the export if any column would not be imported")] = False,
) -> None:
    """Turn a platform export (生意参谋, 千牛, 飞鸽, 快手, …) into kaohe inputs."""
    from kaohe.metrics.importers import import_export, load_mapping, write_inputs

    try:
        m = load_mapping(platform, mapping)
        imported = import_export(file, m, period=period, strict=strict)
    except KaoheError as exc:
        _fail(str(exc))
        return
    write_inputs(imported, output)
    for u in imported.unmapped:
        err.print(f"warning: column {u.describe()}", markup=False)
    if imported.unmapped:
        err.print(f"warning: {len(imported.unmapped)} column(s) not imported; to keep them, "
                  f"write a mapping with `kaohe metrics mapping init {file} -o mapping.yaml`, "
                  f"check it and pass --mapping mapping.yaml (--strict refuses such exports)",
                  markup=False)
    out.print(f"{len(imported.rows)} agents imported ({imported.skipped} summary rows skipped) "
              f"to {output}: {', '.join(imported.columns[2:])}")


mapping_app = typer.Typer(help="Mapping files: which export column holds which input.",
                          no_args_is_help=True)
metrics_app.add_typer(mapping_app, name="mapping")


@mapping_app.command("init")
def mapping_init_cmd(
    export: Path,
    output: Annotated[Path, typer.Option("--output", "-o", help="mapping YAML to write")],
    platform: Annotated[str | None, typer.Option(
        help="base the mapping on this platform's (default: the one whose headers match "
             "most)")] = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite OUTPUT")] = False,
) -> None:
    """Write a mapping for EXPORT with kaohe's best guesses, for you to check and edit."""
    from kaohe.metrics.importers import guess_mapping

    if output.exists() and not force:
        _fail(f"{output} exists; pass --force to overwrite it")
    try:
        text, based_on = guess_mapping(export, platform)
    except KaoheError as exc:
        _fail(str(exc))
        return
    tmp = output.with_name(output.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(output)
    guesses = text.count("GUESS:")
    out.print(f"mapping written to {output} (based on {based_on}); "
              f"{guesses} guess(es) marked GUESS to check")
