"""Load a scheme from YAML, with errors that name the file, line and field.

PyYAML's composer keeps the position of every node; we build plain Python data and a map
from each field path to its line, then validate with the Pydantic models (formulas are
parsed here, once) and run the checks that need the whole scheme (ids, grades, sums of
points). Compiling the scheme is the engine's part (:mod:`kaohe.engine.load`). Any failure
becomes a :class:`SchemeError` whose message starts ``FILE:LINE: field: ...``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kaohe.errors import SchemeError
from kaohe.scheme.expr import Call, Name, Node, children, render
from kaohe.scheme.intervals import order_and_check
from kaohe.scheme.models import FormulaText, Scheme, grade_intervals, table_depth, table_rows

Path_ = tuple[str | int, ...]


#: a scheme nests a few levels (indicators → bands → a band); far more is an attack
MAX_DEPTH = 40
#: digits of a number in a scheme; money to the fen needs far fewer
MAX_DIGITS = 30
#: the exponent of a number (``1e30``); larger ones only overflow later
MAX_EXPONENT = 30
#: values a scheme may hold once its aliases are expanded: the largest preset holds about
#: 1 500; a few lines of nested aliases (an "alias bomb") would expand to billions
MAX_NODES = 50_000


class _Refused(yaml.YAMLError):
    """A scheme uses something schemes may not (aliases, deep nesting)."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps numbers as written (``0.1`` stays exact) and refuses nesting
    deeper than :data:`MAX_DEPTH` (which would exhaust the composer's recursion). Anchors,
    aliases and merge keys (``<<: *base``) are composed as shared nodes; :func:`_build`
    expands them within :data:`MAX_NODES` values, so an alias bomb is refused."""

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep",
                               self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _compose(text: str, source: str) -> tuple[Any, dict[Path_, int]]:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SchemeError(f"{source}{line}: not valid YAML: {problem}") from None
    if node is None:
        raise SchemeError(f"{source}: the scheme file is empty")
    lines: dict[Path_, int] = {}
    return _build(node, (), lines, source, [MAX_NODES]), lines


_MERGE = "tag:yaml.org,2002:merge"


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str,
           budget: list[int]) -> Any:
    budget[0] -= 1
    if budget[0] < 0:
        raise SchemeError(
            f"{source}:{node.start_mark.line + 1}: {_dotted(path)}: aliases expand the scheme "
            f"to more than {MAX_NODES} values; write the values out or use fewer aliases")
    if len(path) > MAX_DEPTH:
        raise SchemeError(f"{source}:{node.start_mark.line + 1}: {_dotted(path)}: nested more "
                          f"than {MAX_DEPTH} levels deep (through aliases)")
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        merged: dict[str, Any] = {}
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merged.update(_merge(value_node, path, lines, source, budget))
                continue
            key = key_node.value
            if key in out:
                raise SchemeError(
                    f"{source}:{key_node.start_mark.line + 1}: {_dotted(path + (key,))}: "
                    "this key appears twice"
                )
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(value_node, path + (key,), lines, source, budget)
            lines[path + (key,)] = key_node.start_mark.line + 1
        if merged:  # keys written out win over merged ones (YAML merge keys)
            out = {**{k: v for k, v in merged.items() if k not in out}, **out}
        lines[path] = node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        out_list = [_build(v, path + (i,), lines, source, budget)
                    for i, v in enumerate(node.value)]
        lines[path] = node.start_mark.line + 1
        return out_list
    lines[path] = node.start_mark.line + 1
    assert isinstance(node, yaml.ScalarNode)
    tag = node.tag
    value = node.value
    if tag.endswith((":int", ":float")):
        return _number(value, tag, path, node, source)
    if tag.endswith(":bool"):
        return value.lower() in ("true", "yes", "on")
    if tag.endswith(":null"):
        return None
    _not_a_huge_number(value, path, node, source)
    return value


def _merge(node: yaml.Node, path: Path_, lines: dict[Path_, int], source: str,
           budget: list[int]) -> dict[str, Any]:
    """The keys a merge key (``<<: *base`` or ``<<: [*a, *b]``) brings in; earlier mappings
    of a list win, as YAML says."""
    parts = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, yaml.MappingNode):
            raise SchemeError(f"{source}:{part.start_mark.line + 1}: {_dotted(path)}: `<<` "
                              "merges a mapping (`<<: *name` where `&name` marks a mapping)")
        built = _build(part, path, lines, source, budget)
        for k, v in built.items():
            out.setdefault(k, v)
    return out


def _not_a_huge_number(value: str, path: Path_, node: yaml.Node, source: str) -> None:
    """Text that a number field would read (``1.0e999999999``, which YAML leaves a string)
    obeys the limits of numbers too."""
    text = value.strip().replace("_", "")
    if not _NUMBERLIKE.fullmatch(text):
        return
    number = Decimal(text)
    if abs(number.adjusted()) > MAX_EXPONENT or len(number.as_tuple().digits) > MAX_DIGITS:
        shown = text if len(text) <= 40 else f"{text[:20]}… ({len(text)} characters)"
        raise SchemeError(f"{source}:{node.start_mark.line + 1}: {_dotted(path)}: {shown!r} "
                          "is too large, too small or too long for a number in a scheme")


_NUMBERLIKE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _number(value: str, tag: str, path: Path_, node: yaml.Node, source: str) -> Any:
    """A YAML number as an exact int or Decimal; one too long or too large for any scheme
    (a 4300-digit integer, ``1.0e999999999``) or in a form we do not read (``0x1F``,
    ``1:30``) is refused with its line."""
    where = f"{source}:{node.start_mark.line + 1}: {_dotted(path)}"
    text = value.replace("_", "")
    digits = sum(c.isdigit() for c in text)
    if digits > MAX_DIGITS:
        raise SchemeError(f"{where}: a number of {digits} digits; at most {MAX_DIGITS} are "
                          "allowed")
    try:
        number = Decimal(text)
    except ArithmeticError:
        if tag.endswith(":float"):
            return value  # .inf, .nan: the model says what is expected there
        raise SchemeError(f"{where}: {value!r} is not a number kaohe reads; write it in "
                          "decimal digits, e.g. 30 or 0.5") from None
    if not number.is_finite() or abs(number.adjusted()) > MAX_EXPONENT:
        raise SchemeError(f"{where}: {value!r} is too large or too small for a scheme")
    if tag.endswith(":int"):
        return int(number)
    return number


def _yaml_path(loc: tuple[str | int, ...]) -> Path_:
    """A validation error's location as the YAML writes it: an indicator's ``rule`` node is
    written under its kind's own key (``levels:``, ``deduction:``, ``rated:``), or, for
    bands and formulas, as keys of the indicator itself (``value:``, ``bands:``)."""
    out: list[str | int] = []
    parts = [x for x in loc if not (isinstance(x, str) and x.startswith("function-"))]
    i = 0
    while i < len(parts):
        x = parts[i]
        if x == "rule" and i + 1 < len(parts):
            tag = parts[i + 1]
            i += 2 if tag in ("bands", "formula") and i + 2 < len(parts) else 1
            continue
        out.append(x)
        i += 1
    return tuple(out)


def _dotted(path: Path_) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(top)"


def _line_for(path: Path_, lines: dict[Path_, int]) -> int | None:
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return lines.get(())


def _resolve(where: str, lines: dict[Path_, int]) -> Path_:
    """Turn ``indicators[0].bands`` back into a path."""
    path: list[str | int] = []
    for part in where.replace("]", "").replace("[", ".").split("."):
        if not part:
            continue
        path.append(int(part) if part.isdigit() else part)
    return tuple(path)


def read_scheme_text(text: str, source: str = "<scheme>") -> tuple[Scheme, dict[Path_, int]]:
    """Parse and validate a scheme's YAML (the models and the checks that need the whole
    scheme, not the engine); also return each field path's line, for later errors."""
    data, lines = _compose(text, source)
    if not isinstance(data, dict):
        raise SchemeError(f"{source}:1: a scheme must be a mapping, got {type(data).__name__}")
    try:
        scheme = Scheme.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            loc = _yaml_path(err["loc"])
            line = _line_for(loc, lines)
            value = err.get("input")
            shown = f" (got {value!r})" if not isinstance(value, dict | list) and value is not None \
                and err["type"] != "missing" else ""
            msg = err["msg"].removeprefix("Value error, ")
            msgs.append(f"{source}:{line}: {_dotted(loc)}: {msg}{shown}")
        raise SchemeError("\n".join(msgs)) from None
    try:
        _static_checks(scheme)
    except SchemeError as exc:
        raise SchemeError(locate_errors(str(exc), source, lines)) from None
    return scheme, lines


def locate_errors(text: str, source: str, lines: dict[Path_, int]) -> str:
    """Prefix each error of a (multi-error) message with its file and line."""
    return "\n".join(_locate(msg, source, lines) for msg in _split(text))


def _split(text: str) -> list[str]:
    """Split a multi-error message into its errors (a continuation line is indented)."""
    out: list[str] = []
    for line in text.split("\n"):
        if out and (line.startswith(" ") or not line.strip() or "^" in line.strip()[:1]):
            out[-1] += "\n" + line
        else:
            out.append(line)
    return out


def _locate(msg: str, source: str, lines: dict[Path_, int]) -> str:
    where, sep, rest = msg.partition(": ")
    if sep and where[:1].isalpha() and " " not in where:
        line = _line_for(_resolve(where, lines), lines)
        return f"{source}:{line}: {where}: {rest}"
    return f"{source}: {msg}"


def read_scheme_file(path: str | Path) -> tuple[str, str]:
    """The text of a scheme file and the name to show in errors."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise SchemeError(f"{p}: cannot read the scheme file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SchemeError(f"{p}: the scheme file is not UTF-8 text") from None
    return text, str(p)


def _static_checks(s: Scheme) -> None:
    """Checks that need the whole scheme: ids, grades, sums of weights and points."""
    seen: dict[str, str] = {}
    groups = [
        ("values", [v.id for v in s.values]),
        ("indicators", [i.id for i in s.indicators]),
        ("sections", [x.id for x in s.sections]),
        ("adjustments", [a.id for a in s.adjustments]),
        ("pools", [p.id for p in s.pools]),
        ("pay", [p.id for p in s.pay]),
    ]
    reserved = {"total", "grade", "coefficient", "rank", "pay_total"}
    for group, ids in groups:
        for i, ident in enumerate(ids):
            if ident in reserved:
                raise SchemeError(f"{group}[{i}].id: {ident!r} is a reserved name")
            if ident in seen:
                raise SchemeError(
                    f"{group}[{i}].id: {ident!r} is already used in {seen[ident]}")
            seen[ident] = group
    section_ids = {x.id for x in s.sections}
    for i, ind in enumerate(s.indicators):
        if ind.section is not None and ind.section not in section_ids:
            raise SchemeError(
                f"indicators[{i}].section: {ind.section!r} is not a section of the scheme "
                f"({', '.join(sorted(section_ids)) or 'none defined'})"
            )
    for name, spec in s.inputs.items():
        if spec.min is not None and spec.max is not None and spec.min > spec.max:
            raise SchemeError(f"inputs.{name}.min: min is above max")
    if s.grades:
        _check_grades(s.grades, "grades", needs_min=s.grade_input is None)
    for i, agg in enumerate(s.aggregates):
        if agg.grades:
            _check_grades(agg.grades, f"aggregates[{i}].grades", needs_min=True)
    _check_lookups(s)
    # each rule kind's own checks against the scheme (its inputs, levels, raters)
    for group, items in (("values", s.values), ("indicators", s.indicators)):
        for i, item in enumerate(items):
            item.rule.check(s, item, f"{group}[{i}]")
    # points must add up: each section's indicators to the section's points, all to max_total
    maxima = {ind.id: ind.max_points for ind in s.indicators}
    for j, sec in enumerate(s.sections):
        if sec.points is None:
            continue
        members = [ind for ind in s.indicators if ind.section == sec.id]
        if any(maxima[m.id] is None for m in members):
            continue
        got = sum((maxima[m.id] or Decimal(0) for m in members), Decimal(0))
        if got != sec.points:
            raise SchemeError(
                f"sections[{j}].points: the indicators of section {sec.id!r} give at most "
                f"{_num(got)} points, the section says {_num(sec.points)}"
            )
    if s.total.rescale is not None:
        unknown = [i for i, ind in enumerate(s.indicators) if maxima[ind.id] is None]
        if unknown:
            raise SchemeError(
                f"indicators[{unknown[0]}].points: `total.rescale` needs every indicator's "
                f"standard points; give {s.indicators[unknown[0]].id!r} its `points`")
    if s.max_total is not None and all(v is not None for v in maxima.values()):
        got = sum((v or Decimal(0) for v in maxima.values()), Decimal(0))
        if got != s.max_total:
            detail = ", ".join(f"{k} {_num(v or Decimal(0))}" for k, v in maxima.items())
            raise SchemeError(
                f"max_total: the indicators add up to {_num(got)} points, the scheme says "
                f"{_num(s.max_total)} ({detail})"
            )


def _formulas(obj: Any, path: str) -> list[tuple[str, FormulaText]]:
    """Every formula of a scheme with its field path (``pay[0].amount``)."""
    out: list[tuple[str, FormulaText]] = []
    if isinstance(obj, FormulaText):
        out.append((path, obj))
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            value = getattr(obj, name)
            if value is not None:
                key = path if name == "rule" else (f"{path}.{name}" if path else name)
                out += _formulas(value, key)
    elif isinstance(obj, list | tuple):
        for i, v in enumerate(obj):
            out += _formulas(v, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            out += _formulas(v, f"{path}.{k}")
    return out


def _check_lookups(s: Scheme) -> None:
    """A lookup names a table and gives one key per key of the table (and perhaps a
    default); a key that is a level input must find every level in the table, unless a
    default is given, and every key of the table must be one of its levels."""
    for where, text in _formulas(s, ""):
        stack: list[Node] = [text.tree]
        while stack:
            node = stack.pop()
            stack.extend(children(node))
            if not (isinstance(node, Call) and node.func == "lookup" and node.args):
                continue
            first = node.args[0]
            if not (isinstance(first, Name) and first.id in s.tables):
                continue
            name = first.id
            table = s.tables[name]
            depth = table_depth(table)
            given = len(node.args) - 1
            if given not in (depth, depth + 1):
                keys = ", ".join(f"key{i + 1}" for i in range(depth))
                raise SchemeError(
                    f"{where}: table {name!r} has {depth} key{'s' if depth > 1 else ''}: "
                    f"write lookup({name}, {keys}) or lookup({name}, {keys}, default); "
                    f"got {render(node)!r}")
            has_default = given == depth + 1
            rows = table_rows(table)
            for pos, arg in enumerate(node.args[1:1 + depth]):
                if not isinstance(arg, Name):
                    continue
                spec = s.inputs.get(arg.id)
                if spec is None or spec.type != "level" or not spec.levels:
                    continue
                levels = spec.levels
                seen = {ks[pos] for ks, _ in rows}
                for key in seen:
                    if key not in levels:
                        alias = next((lv for lv, al in levels.items() if key in al), None)
                        hint = (f"; {key!r} is a spelling of level {alias!r}, write the level"
                                if alias else f" (levels: {', '.join(levels)})")
                        raise SchemeError(
                            f"tables.{name}: key {key!r} is not a level of input "
                            f"{arg.id!r}{hint}")
                if has_default:
                    continue
                for ks, _ in rows:
                    prefix = ks[:pos]
                    here = {k[pos] for k, _ in rows if k[:pos] == prefix}
                    missing = [lv for lv in levels if lv not in here]
                    if missing:
                        at = " × ".join((*prefix, missing[0]))
                        raise SchemeError(
                            f"tables.{name}: no entry for {at} (level {missing[0]!r} of input "
                            f"{arg.id!r}, read by {where}); add it, or give lookup() a "
                            "default")


def _check_grades(grades: list[Any], where: str, needs_min: bool) -> None:
    ranged = [k for k, g in enumerate(grades) if g.range is not None]
    if ranged:
        plain = [k for k, g in enumerate(grades) if g.range is None]
        if plain:
            raise SchemeError(
                f"{where}[{plain[0]}].range: grade {grades[plain[0]].name!r} has no range; "
                "when one grade is written as a range, every grade is")
        ivs = grade_intervals(grades)
        assert ivs is not None
        try:
            order_and_check(ivs)
        except ValueError as exc:
            msg = str(exc)
            found = [(msg.find(repr(g.range.text)), k) for k, g in enumerate(grades)
                     if g.range is not None and repr(g.range.text) in msg]
            k = min(found)[1] if found else 0
            raise SchemeError(f"{where}[{k}].range: "
                              + msg.replace("bands ", "grades ").replace("no band", "no grade")
                              ) from None
        return
    if not needs_min:
        return
    for k, g in enumerate(grades[:-1]):
        if g.min is None:
            raise SchemeError(f"{where}[{k}].min: every grade but the lowest needs a min")
    if grades[-1].min is not None:
        raise SchemeError(
            f"{where}[{len(grades) - 1}].min: the lowest grade takes every score below the "
            "next one and has no min; a min here would leave lower scores without a grade"
        )
    for k in range(1, len(grades) - 1):
        a, b = grades[k - 1].min, grades[k].min
        if b >= a:
            raise SchemeError(
                f"{where}[{k}].min: grades are listed from the highest down; {_num(b)} is not "
                f"below {_num(a)}"
            )


def _num(x: Decimal) -> str:
    return format(x.normalize(), "f")


def _pct(x: Decimal) -> str:
    return f"{_num(x * 100)}%"


def load_scheme_text(text: str, source: str = "<scheme>") -> Scheme:
    """A scheme checked as far as the scheme layer can (the models, ids, grades and sums of
    points) without compiling it. Programs load schemes with
    :func:`kaohe.engine.load.load_scheme_text`, which compiles them too."""
    return read_scheme_text(text, source)[0]
