"""No generic module names a line kind: kind-specific knowledge lives in the kind's own
package (``controller/lines/<kind>/``) and its simulated plant (``simulator/<kind>/``).

A module "names" a kind when a string in its code (not a docstring or comment) is, or
contains as a word, a registered kind's name, or when it imports a kind's package. Prose in
docstrings may mention the processes; code may not branch on them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from paths import REPO_ROOT

from controller.lines import kind_names

KIND_PACKAGES = ("controller/lines/{kind}/", "simulator/{kind}/")
GENERIC_ROOTS = ("controller", "drivers", "simulator", "bench")


def _kind_specific(path: str, kinds: tuple[str, ...]) -> bool:
    return any(path.startswith(pattern.format(kind=kind)) for pattern in KIND_PACKAGES for kind in kinds)


def _docstring_nodes(tree: ast.AST) -> set[int]:
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                ids.add(id(first.value))
    return ids


def kind_mentions(source: str, kinds: tuple[str, ...]) -> list[str]:
    """Where ``source`` names a kind in code: string constants and imports."""
    tree = ast.parse(source)
    docstrings = _docstring_nodes(tree)
    word = re.compile(r"\b(" + "|".join(map(re.escape, kinds)) + r")\b")
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            if word.search(node.value):
                found.append(f"line {node.lineno}: string {node.value[:60]!r}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for name in names:
                parts = name.split(".")
                if any(kind in parts for kind in kinds):
                    found.append(f"line {node.lineno}: import {name}")
    return found


def generic_modules() -> list[Path]:
    kinds = kind_names()
    modules = []
    for root in GENERIC_ROOTS:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT).as_posix()
            if "/migrations/" not in relative and not _kind_specific(relative, kinds):
                modules.append(path)
    return modules


def test_no_generic_module_names_a_line_kind() -> None:
    kinds = kind_names()
    offenders = {}
    for path in generic_modules():
        mentions = kind_mentions(path.read_text(encoding="utf-8"), kinds)
        if mentions:
            offenders[path.relative_to(REPO_ROOT).as_posix()] = mentions
    assert offenders == {}, "\n".join(f"{p}: {'; '.join(m)}" for p, m in offenders.items())


def test_the_check_finds_a_kind_named_in_code_but_not_in_prose() -> None:
    source = '"""Prose may say casting."""\nimport controller.lines.casting\nif kind == "foaming":\n    pass\n'
    mentions = kind_mentions(source, ("casting", "foaming"))
    assert mentions == ["line 2: import controller.lines.casting", "line 3: string 'foaming'"]
