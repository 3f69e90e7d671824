"""Load a scheme: read and validate its YAML, then compile it once.

:mod:`kaohe.scheme.loader` checks what the scheme says on its own (the models, ids, grades,
sums of points); compiling it here checks every formula's names and types, band tables,
levels and dependencies. Every error names the file, line and field.
"""

from __future__ import annotations

from pathlib import Path

from kaohe.engine.plan import compile_scheme
from kaohe.engine.run import aggregate_plan
from kaohe.errors import SchemeError
from kaohe.scheme.loader import locate_errors, read_scheme_file, read_scheme_text
from kaohe.scheme.models import Scheme

__all__ = ["load_scheme", "load_scheme_text"]


def load_scheme_text(text: str, source: str = "<scheme>") -> Scheme:
    scheme, lines = read_scheme_text(text, source)
    try:
        plan = compile_scheme(scheme)
        for i, spec in enumerate(scheme.aggregates):
            aggregate_plan(plan, spec, f"aggregates[{i}]")
    except SchemeError as exc:
        raise SchemeError(locate_errors(str(exc), source, lines)) from None
    return scheme


def load_scheme(path: str | Path) -> Scheme:
    text, source = read_scheme_file(path)
    return load_scheme_text(text, source)
