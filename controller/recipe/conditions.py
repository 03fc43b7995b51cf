"""The safe condition grammar of recipes, transitions and alarms.

A condition is a boolean expression written in Python's expression syntax, e.g.::

    quench_bath.temperature_c > cast_temperature - 0.5 and dope_vessel_1.absorbance >= 0.6

It is parsed with ``ast.parse(source, mode="eval")`` and compiled, node by node, into a
tree of closures; nothing is ever evaluated as Python code. Allowed:

- ``and``, ``or``, ``not``; comparisons ``< <= > >= == !=`` (chains such as ``0 < x < 5``);
- ``+ - * /`` and unary ``-``; ``abs``, ``min``, ``max``; numbers; ``true``/``false``;
- ``device.tag`` addresses of the line's tags (looked up in the flat process image);
- bare names: recipe parameters, replaced by their value when the condition is compiled.

Everything else (strings, subscripts, other calls, ``**``, lambdas, attribute chains,
names starting with ``_``) is refused with the column where it starts. Division by zero
gives NaN, so the comparison it is part of is false rather than the scan failing.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Literal

from controller.recipe.limits import MAX_CONDITION_CHARS, MAX_CONDITION_DEPTH
from controller.recipe.model import Condition

ProblemKind = Literal["syntax", "forbidden", "unknown_tag", "unknown_parameter", "type"]

Image = Mapping[str, float]
NumFn = Callable[[Image], float]
BoolFn = Callable[[Image], bool]


@dataclass(frozen=True, slots=True)
class ConditionProblem:
    kind: ProblemKind
    column: int  # 1-based column in the source
    message: str


class ConditionError(ValueError):
    """A condition that does not compile; ``problems`` lists every problem found."""

    def __init__(self, source: str, problems: list[ConditionProblem]) -> None:
        self.source = source
        self.problems = problems
        text = "; ".join(f"column {p.column}: {p.message}" for p in problems)
        super().__init__(f"condition {source!r}: {text}")

    @property
    def kind(self) -> ProblemKind:
        return self.problems[0].kind


_BOOL_LITERALS = {"true": True, "false": False}
_FUNCTIONS: dict[str, Callable[..., float]] = {"abs": abs, "min": min, "max": max}
_COMPARE: dict[type[ast.cmpop], Callable[[float, float], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_NAN = float("nan")


def _divide(a: float, b: float) -> float:
    return a / b if b != 0 else _NAN


_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: _divide,
}
_NODE_NAMES: dict[type[ast.AST], str] = {
    ast.Subscript: "subscripts ([...])", ast.Lambda: "lambda", ast.Pow: "'**'",
    ast.Mod: "'%'", ast.FloorDiv: "'//'", ast.IfExp: "'... if ... else ...'",
    ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.List: "lists",
    ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets", ast.Starred: "'*'",
    ast.NamedExpr: "':='", ast.JoinedStr: "strings", ast.Await: "await",
    ast.In: "'in'", ast.NotIn: "'not in'", ast.Is: "'is'", ast.IsNot: "'is not'",
    ast.BitAnd: "'&' (write 'and')", ast.BitOr: "'|' (write 'or')", ast.Invert: "'~' (write 'not')",
    ast.MatMult: "'@'", ast.LShift: "'<<'", ast.RShift: "'>>'", ast.BitXor: "'^'", ast.UAdd: "unary '+'",
}


@dataclass(frozen=True, slots=True)
class _Node:
    """A compiled sub-expression: numeric or boolean, constant (folded) or not."""

    is_bool: bool
    fn: Callable[[Image], float | bool]
    constant: float | bool | None = None  # set when the sub-expression has no tag in it


def _const(value: float | bool, is_bool: bool) -> _Node:
    def constant(_image: Image) -> float | bool:
        return value

    return _Node(is_bool, constant, value)


class _Compiler:
    def __init__(self, source: str, known: Collection[str], parameters: Mapping[str, float]) -> None:
        self.source = source
        self.known = known
        self.parameters = parameters
        self.problems: list[ConditionProblem] = []
        self.addresses: set[str] = set()

    def problem(self, kind: ProblemKind, node: ast.AST, message: str) -> _Node:
        self.problems.append(ConditionProblem(kind, getattr(node, "col_offset", 0) + 1, message))
        return _const(0.0, False)

    def compile(self, node: ast.AST) -> _Node:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            what = _NODE_NAMES.get(type(node), type(node).__name__)
            return self.problem("forbidden", node, f"{what} not allowed in a condition")
        compiled: _Node = method(node)
        return compiled

    # --- leaves -------------------------------------------------------------------
    def _Constant(self, node: ast.Constant) -> _Node:
        value = node.value
        if isinstance(value, bool):
            return _const(value, True)
        if isinstance(value, (int, float)):
            return _const(float(value), False)
        if isinstance(value, str):
            return self.problem("forbidden", node, "strings not allowed in a condition")
        return self.problem("forbidden", node, f"constant {value!r} not allowed in a condition")

    def _Name(self, node: ast.Name) -> _Node:
        name = node.id
        if name in _BOOL_LITERALS:
            return _const(_BOOL_LITERALS[name], True)
        if name.startswith("_"):
            return self.problem("forbidden", node, f"name {name!r} not allowed (leading underscore)")
        if name in _FUNCTIONS:
            return self.problem("forbidden", node, f"{name} must be called, e.g. {name}(a, b)")
        if name not in self.parameters:
            return self.problem("unknown_parameter", node, f"unknown parameter {name!r}; a tag is written device.tag")
        return _const(float(self.parameters[name]), False)

    def _Attribute(self, node: ast.Attribute) -> _Node:
        if not isinstance(node.value, ast.Name):
            return self.problem("forbidden", node, "only device.tag addresses are allowed (no longer attribute chains)")
        device, tag = node.value.id, node.attr
        if device.startswith("_") or tag.startswith("_"):
            return self.problem("forbidden", node, f"'{device}.{tag}' not allowed (leading underscore)")
        address = f"{device}.{tag}"
        if address not in self.known:
            return self.problem("unknown_tag", node, f"unknown tag {address!r}")
        self.addresses.add(address)

        def read(image: Image) -> float:
            return image[address]

        return _Node(False, read)

    # --- operators ----------------------------------------------------------------
    def _numeric(self, node: ast.AST) -> _Node:
        compiled = self.compile(node)
        if compiled.is_bool:
            self.problem("type", node, "a comparison or and/or/not cannot be used as a number")
        return compiled

    def _boolean(self, node: ast.AST) -> _Node:
        compiled = self.compile(node)
        if not compiled.is_bool:
            self.problem("type", node, "expected a comparison here, e.g. 'x > 0.5'")
        return compiled

    def _BinOp(self, node: ast.BinOp) -> _Node:
        op = _BINARY.get(type(node.op))
        if op is None:
            what = _NODE_NAMES.get(type(node.op), type(node.op).__name__)
            return self.problem("forbidden", node, f"operator {what} not allowed in a condition")
        left, right = self._numeric(node.left), self._numeric(node.right)
        if left.constant is not None and right.constant is not None:
            return _const(op(float(left.constant), float(right.constant)), False)
        lf, rf = left.fn, right.fn
        return _Node(False, lambda image: op(lf(image), rf(image)))

    def _UnaryOp(self, node: ast.UnaryOp) -> _Node:
        if isinstance(node.op, ast.Not):
            inner = self._boolean(node.operand)
            if inner.constant is not None:
                return _const(not inner.constant, True)
            f = inner.fn
            return _Node(True, lambda image: not f(image))
        if isinstance(node.op, ast.USub):
            inner = self._numeric(node.operand)
            if inner.constant is not None:
                return _const(-float(inner.constant), False)
            f = inner.fn
            return _Node(False, lambda image: -f(image))
        what = _NODE_NAMES.get(type(node.op), type(node.op).__name__)
        return self.problem("forbidden", node, f"operator {what} not allowed in a condition")

    def _BoolOp(self, node: ast.BoolOp) -> _Node:
        parts = [self._boolean(v) for v in node.values]
        fns = tuple(p.fn for p in parts)
        if all(p.constant is not None for p in parts):
            values = [bool(p.constant) for p in parts]
            return _const(all(values) if isinstance(node.op, ast.And) else any(values), True)
        if isinstance(node.op, ast.And):
            return _Node(True, lambda image: all(f(image) for f in fns))
        return _Node(True, lambda image: any(f(image) for f in fns))

    def _Compare(self, node: ast.Compare) -> _Node:
        ops: list[Callable[[float, float], bool]] = []
        for op_node in node.ops:
            op = _COMPARE.get(type(op_node))
            if op is None:
                what = _NODE_NAMES.get(type(op_node), type(op_node).__name__)
                return self.problem("forbidden", node, f"comparison {what} not allowed in a condition")
            ops.append(op)
        operands = [self._numeric(node.left)] + [self._numeric(c) for c in node.comparators]
        fns = tuple(o.fn for o in operands)
        pairs = tuple(zip(ops, range(len(ops)), strict=True))
        if len(ops) == 1:
            op, lf, rf = ops[0], fns[0], fns[1]
            return _Node(True, lambda image: op(lf(image), rf(image)))

        def chain(image: Image) -> bool:
            left = fns[0](image)
            for op, i in pairs:
                right = fns[i + 1](image)
                if not op(left, right):
                    return False
                left = right
            return True

        return _Node(True, chain)

    def _Call(self, node: ast.Call) -> _Node:
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            shown = ast.get_source_segment(self.source, node.func) or "this"
            return self.problem("forbidden", node, f"calling {shown} not allowed; only abs, min and max")
        if node.keywords:
            return self.problem("forbidden", node, f"{node.func.id}() takes no keyword arguments")
        name = node.func.id
        if name == "abs" and len(node.args) != 1:
            return self.problem("forbidden", node, "abs() takes exactly one argument")
        if name in ("min", "max") and len(node.args) < 2:
            return self.problem("forbidden", node, f"{name}() takes two or more arguments")
        args = [self._numeric(a) for a in node.args]
        func = _FUNCTIONS[name]
        constants = [a.constant for a in args if a.constant is not None]
        if len(constants) == len(args):
            return _const(float(func(*(float(c) for c in constants))), False)
        fns = tuple(a.fn for a in args)
        if name == "abs":
            f = fns[0]
            return _Node(False, lambda image: abs(f(image)))
        return _Node(False, lambda image: func(*(f(image) for f in fns)))


_TOO_DEEP = f"nested more than {MAX_CONDITION_DEPTH} levels deep: simplify it"


def _depth(root: ast.AST) -> int:
    """Levels of the syntax tree under ``root`` (iterative: a deep tree is what it guards against)."""
    deepest, todo = 0, [(root, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def compile_condition(
    source: str, *, known_addresses: Collection[str], parameters: Mapping[str, float]
) -> Condition:
    """Compile ``source`` into a ``Condition`` or raise ``ConditionError`` listing every problem."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError(str(source), [ConditionProblem("syntax", 1, "empty condition; write 'true' to wait for time only")])
    if len(source) > MAX_CONDITION_CHARS:
        raise ConditionError(source[:60] + "...", [ConditionProblem(
            "syntax", MAX_CONDITION_CHARS + 1, f"longer than {MAX_CONDITION_CHARS} characters: shorten it")])
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        column = exc.offset or 1
        raise ConditionError(source, [ConditionProblem("syntax", column, f"syntax error: {exc.msg}")]) from None
    except (RecursionError, MemoryError):  # the parser's own nesting limit
        raise ConditionError(source, [ConditionProblem("syntax", 1, _TOO_DEEP)]) from None
    if _depth(tree.body) > MAX_CONDITION_DEPTH:  # compiling and evaluating recurse once per level
        raise ConditionError(source, [ConditionProblem("syntax", 1, _TOO_DEEP)])
    compiler = _Compiler(source.strip(), known_addresses, parameters)
    root = compiler.compile(tree.body)
    if not compiler.problems and not root.is_bool:
        compiler.problem("type", tree.body, "a condition must be true or false, e.g. 'x > 0.5' (got a number)")
    if compiler.problems:
        raise ConditionError(source, compiler.problems)
    fn = root.fn

    def evaluate(image: Mapping[str, float]) -> bool:
        return bool(fn(image))

    return Condition(source=source, addresses=frozenset(compiler.addresses), evaluate=evaluate)
