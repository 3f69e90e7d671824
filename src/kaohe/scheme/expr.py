"""The formula language of schemes: parsed with Lark, never ``eval``-ed.

Grammar (precedence low → high): ``or``, ``and``, ``not``, comparisons
(``= == != < <= > >=``), ``+ -``, ``* /``, unary minus, atoms. Atoms are numbers
(``0.6%``, ``6‰``, ``1280``), strings in quotes (``"基本称职"``), names of inputs and
computed values, and function calls ``f(a, b)``. Names may contain ``@`` to address a
rater's column (``performance@self``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedInput

from kaohe.errors import ExprError

GRAMMAR = r"""
?start: expr
?expr: or_expr
?or_expr: and_expr (_OR and_expr)*        -> or_
?and_expr: not_expr (_AND not_expr)*      -> and_
?not_expr: _NOT not_expr                  -> not_
         | cmp
?cmp: sum (CMPOP sum)?
?sum: product (ADDOP product)*
?product: unary (MULOP unary)*
?unary: "-" unary                         -> neg
      | atom
?atom: NUMBER                             -> number
     | STRING                             -> string
     | NAME "(" [expr ("," expr)*] ")"    -> call
     | NAME                               -> name
     | "(" expr ")"

_OR.2: /or\b/
_AND.2: /and\b/
_NOT.2: /not\b/
CMPOP: "==" | "!=" | "<=" | ">=" | "=" | "<" | ">"
ADDOP: "+" | "-"
MULOP: "*" | "/"
NUMBER: /\d+(\.\d+)?(%|‰)?/
STRING: /"[^"]*"/ | /'[^']*'/
NAME: /(?!(or|and|not)\b)[A-Za-z_][A-Za-z0-9_]*(@[A-Za-z_][A-Za-z0-9_]*)?/

%import common.WS
%ignore WS
"""


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Str:
    value: str


@dataclass(frozen=True)
class Name:
    id: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Compare:
    op: str  # = != < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Node, ...]


Node = Num | Str | Name | Neg | BinOp | Compare | BoolOp | Not | Call


def _number(text: str) -> Decimal:
    try:
        if text.endswith("%"):
            return Decimal(text[:-1]) / 100
        if text.endswith("‰"):
            return Decimal(text[:-1]) / 1000
        return Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the grammar admits only digits
        raise ExprError(f"not a number: {text!r}") from exc


@v_args(inline=True)
class _ToAst(Transformer[Token, Node]):
    def number(self, tok: Token) -> Node:
        return Num(_number(str(tok)))

    def string(self, tok: Token) -> Node:
        return Str(str(tok)[1:-1])

    def name(self, tok: Token) -> Node:
        return Name(str(tok))

    def neg(self, operand: Node) -> Node:
        if isinstance(operand, Num):
            return Num(-operand.value)
        return Neg(operand)

    def call(self, func: Token, *args: Node | None) -> Node:
        return Call(str(func), tuple(a for a in args if a is not None))

    def not_(self, operand: Node) -> Node:
        return Not(operand)

    def or_(self, *operands: Node) -> Node:
        return operands[0] if len(operands) == 1 else BoolOp("or", operands)

    def and_(self, *operands: Node) -> Node:
        return operands[0] if len(operands) == 1 else BoolOp("and", operands)

    def cmp(self, left: Node, op: Token, right: Node) -> Node:
        text = str(op)
        return Compare("=" if text == "==" else text, left, right)

    def sum(self, *items: Node | Token) -> Node:
        return _fold(items)

    def product(self, *items: Node | Token) -> Node:
        return _fold(items)


def _fold(items: tuple[Node | Token, ...]) -> Node:
    node = items[0]
    assert not isinstance(node, Token)
    for i in range(1, len(items), 2):
        op, right = items[i], items[i + 1]
        assert isinstance(op, Token) and not isinstance(right, Token)
        node = BinOp(str(op), node, right)
    return node


_PARSER = Lark(GRAMMAR, parser="lalr", maybe_placeholders=True)
#: a formula's length, nesting (parentheses, operators) and number digits are bounded:
#: scheme formulas are short, and the checks that walk them are recursive
MAX_LENGTH = 2000
MAX_PARENTHESES = 40
MAX_DEPTH = 100
MAX_DIGITS = 30


@lru_cache(maxsize=4096)
def parse(text: str) -> Node:
    """Parse one formula; raise :class:`ExprError` saying where it fails. Formulas longer
    than :data:`MAX_LENGTH`, nested deeper than :data:`MAX_PARENTHESES` parentheses or
    :data:`MAX_DEPTH` operations, with numbers of more than
    :data:`MAX_DIGITS` digits, or dividing by a literal zero are refused."""
    source = str(text).strip()
    if not source:
        raise ExprError("empty formula")
    if len(source) > MAX_LENGTH:
        raise ExprError(f"a formula of {len(source)} characters; at most {MAX_LENGTH} are "
                        "allowed")
    depth = deepest = 0
    for ch in source:
        depth += (ch == "(") - (ch == ")")
        deepest = max(deepest, depth)
    if deepest > MAX_PARENTHESES:
        raise ExprError(f"parentheses nested {deepest} deep in {source[:40]!r}…; at most "
                        f"{MAX_PARENTHESES} are allowed")
    try:
        tree = _PARSER.parse(source)
        node = _ToAst().transform(tree)
    except RecursionError:
        raise ExprError(f"formula {source[:40]!r}… is nested too deeply") from None
    except UnexpectedInput as exc:
        col = getattr(exc, "column", "?")
        context = exc.get_context(source, span=20).rstrip()
        raise ExprError(
            f"cannot parse formula {source!r} at column {col}:\n{context}"
        ) from None
    except LarkError as exc:
        if isinstance(exc.__context__, RecursionError):
            raise ExprError(f"formula {source[:40]!r}… is nested too deeply") from None
        raise ExprError(f"cannot parse formula {source!r}: {exc}") from None
    _check(node, source)
    return node


def _check(root: Node, source: str) -> None:
    """Depth, number sizes and division by a literal zero, walked without recursion."""
    stack: list[tuple[Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ExprError(f"formula {source[:40]!r}… is nested more than {MAX_DEPTH} "
                            "levels deep")
        match node:
            case Num(value=v):
                if len(v.as_tuple().digits) > MAX_DIGITS:
                    raise ExprError(f"a number of {len(v.as_tuple().digits)} digits in "
                                    f"{source[:40]!r}; at most {MAX_DIGITS} are allowed")
            case BinOp(op="/", right=Num(value=v)) if v == 0:
                raise ExprError(f"division by zero in {source!r}: the divisor is the "
                                "number 0")
        stack.extend((child, depth + 1) for child in _children(node))


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-formulas of a node."""
    return _children(node)


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Neg(operand=o) | Not(operand=o):
            return (o,)
        case BinOp(left=a, right=b) | Compare(left=a, right=b):
            return (a, b)
        case BoolOp(operands=ops):
            return ops
        case Call(args=args):
            return args
    return ()


def outermost_calls(node: Node, matches: Callable[[Call], bool]) -> list[Call]:
    """The calls in a formula that ``matches`` accepts, left to right, without looking inside
    them (``mean(x) + sum_items(t, v)``: the month calls, or the item calls, of a formula)."""
    found: list[Call] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Call) and matches(n):
            found.append(n)
            continue
        stack.extend(reversed(_children(n)))
    return found


#: functions over an item table (``sum_items(late_payments, penalty)``): their arguments
#: name the table and read its columns, row by row of the table
ITEM_FUNCTIONS = frozenset({"sum_items", "count_items", "any_items", "max_items"})


def names(node: Node) -> set[str]:
    """Every name a formula reads (not counting function names)."""
    found: set[str] = set()
    _walk(node, found, None)
    return found


def calls(node: Node) -> set[str]:
    """Every function a formula calls."""
    found: set[str] = set()
    _walk(node, None, found)
    return found


def _walk(node: Node, name_acc: set[str] | None, call_acc: set[str] | None) -> None:
    match node:
        case Name(id=ident):
            if name_acc is not None:
                name_acc.add(ident)
        case Neg(operand=o) | Not(operand=o):
            _walk(o, name_acc, call_acc)
        case BinOp(left=a, right=b) | Compare(left=a, right=b):
            _walk(a, name_acc, call_acc)
            _walk(b, name_acc, call_acc)
        case BoolOp(operands=ops):
            for o in ops:
                _walk(o, name_acc, call_acc)
        case Call(func=f, args=args):
            if call_acc is not None:
                call_acc.add(f)
            if f == "lookup" and args and isinstance(args[0], Name):
                args = args[1:]  # the first argument names a table, not a value
            if f in ITEM_FUNCTIONS:
                args = ()  # they read an item table's columns, not the row's names
            for a in args:
                _walk(a, name_acc, call_acc)
        case _:
            pass


def render(node: Node) -> str:
    """Formula text back from an AST (for reasons and error messages)."""
    match node:
        case Num(value=v):
            return format(v.normalize(), "f")
        case Str(value=s):
            return f'"{s}"'
        case Name(id=i):
            return i
        case Neg(operand=o):
            return f"-{render(o)}"
        case Not(operand=o):
            return f"not {render(o)}"
        case BinOp(op=op, left=a, right=b):
            return f"({render(a)} {op} {render(b)})"
        case Compare(op=op, left=a, right=b):
            return f"{render(a)} {op} {render(b)}"
        case BoolOp(op=op, operands=ops):
            return f" {op} ".join(render(o) for o in ops)
        case Call(func=f, args=args):
            return f"{f}({', '.join(render(a) for a in args)})"
    raise AssertionError(node)  # pragma: no cover
