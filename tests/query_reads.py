"""The query parameters a route handler reads by hand (``request.query_params``), found in its
source: the handler, the project functions it calls, and the templates they name.

A fuzz test that took its targets only from handler signatures would miss these. A read it
cannot name (a computed key, the whole mapping handed to an unknown function) raises
``UnexplainedRead``, so a new way of reading the query fails loudly instead of going untested.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
PROJECT_PACKAGES = ("portal", "content", "tracking", "nurture")
LITERAL_READ = re.compile(r"""query_params\.(?:get|getall)\(\s*['"](\w+)['"]""")
TEMPLATE_NAME = re.compile(r"""['"]([\w/.-]+\.html)['"]""")


class UnexplainedRead(AssertionError):
    """Source reads the query in a way this module cannot name the parameters of."""


class Recorder:
    """A stand-in query multi-dict that notes every name asked for and holds nothing."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def get(self, name: str, default: Any = None) -> Any:
        self.names.add(name)
        return default

    def getall(self, name: str, default: Any = None) -> Any:
        self.names.add(name)
        return [] if default is None else default


def names_read_by(reader: Callable[[Recorder], object]) -> frozenset[str]:
    """The names ``reader`` asks of an empty query (every name is read when nothing is set)."""
    recorder = Recorder()
    reader(recorder)
    return frozenset(recorder.names)


@dataclass
class Reads:
    """What a walk found: parameter names, and every function and template it looked at."""

    names: set[str] = field(default_factory=set)
    functions: set[str] = field(default_factory=set)
    templates: set[str] = field(default_factory=set)


def qualified(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _is_project(fn: object) -> bool:
    module = getattr(fn, "__module__", "") or ""
    return inspect.isfunction(fn) and module.split(".")[0] in PROJECT_PACKAGES


def _resolve(node: ast.expr, fn: Callable[..., Any]) -> object:
    """The object a call's ``func`` names, looked up in the function's module (or class)."""
    if isinstance(node, ast.Name):
        return fn.__globals__.get(node.id, getattr(__builtins__, node.id, None))
    if isinstance(node, ast.Attribute):
        if isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"}:
            owner = fn.__globals__.get(fn.__qualname__.split(".")[0])
            return getattr(owner, node.attr, None)
        base = _resolve(node.value, fn)
        if isinstance(base, (ModuleType, type)):
            return getattr(base, node.attr, None)
    return None


def _query_params(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "query_params"


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _nodes_explained(
    node: ast.AST, fn: Callable[..., Any], whole: Mapping[str, frozenset[str]], reads: Reads
) -> Iterator[ast.AST]:
    """The ``query_params`` nodes this node reads in a way that names the parameters."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and _query_params(func.value):
            name = _literal(node.args[0]) if node.args else None
            if func.attr in {"get", "getall"} and name is not None:
                reads.names.add(name)
                yield func.value
        for argument in node.args:
            callee = _resolve(func, fn)
            if _query_params(argument) and callable(callee):
                key = qualified(callee)
                if key not in whole:
                    raise UnexplainedRead(f"{qualified(fn)} hands the whole query to {key}")
                reads.names |= whole[key]
                yield argument
    if isinstance(node, ast.Subscript) and _query_params(node.value):
        name = _literal(node.slice)
        if name is not None:
            reads.names.add(name)
            yield node.value


def walk_function(
    fn: Callable[..., Any], whole: Mapping[str, frozenset[str]], reads: Reads
) -> None:
    """Add what ``fn`` and the project functions it calls read from the query."""
    if qualified(fn) in reads.functions:
        return
    reads.functions.add(qualified(fn))
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    explained: set[int] = set()
    for node in ast.walk(tree):
        explained |= {id(found) for found in _nodes_explained(node, fn, whole, reads)}
        if isinstance(node, ast.Call):
            callee = _resolve(node.func, fn)
            if _is_project(callee):
                walk_function(callee, whole, reads)  # type: ignore[arg-type]
        text = _literal(node)
        if text is not None and text.endswith(".html"):
            walk_template(text, reads)
    for node in ast.walk(tree):
        if _query_params(node) and id(node) not in explained:
            line = fn.__code__.co_firstlineno + getattr(node, "lineno", 1) - 1
            raise UnexplainedRead(f"{qualified(fn)} reads the query at line {line}")


def walk_template(name: str, reads: Reads) -> None:
    """Add what a template and the templates it extends or includes read from the query."""
    path = TEMPLATES / name
    if name in reads.templates or not path.is_file():
        return
    reads.templates.add(name)
    source = path.read_text(encoding="utf-8")
    named = LITERAL_READ.findall(source)
    if len(named) != source.count("query_params"):
        raise UnexplainedRead(f"templates/{name} reads the query without a literal name")
    reads.names.update(named)
    for other in TEMPLATE_NAME.findall(source):
        walk_template(other, reads)


def reads_of(fn: Callable[..., Any], whole: Mapping[str, frozenset[str]]) -> Reads:
    """Everything a route handler's function reads from the query by hand."""
    reads = Reads()
    walk_function(getattr(fn, "func", fn), whole, reads)  # a sync handler is wrapped
    return reads


def every_read_place() -> Iterator[str]:
    """Each function (qualified name) and template of the project that mentions
    ``query_params``: a read the walk from the handlers must reach, or one known not to be."""
    for package in PROJECT_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            if "query_params" not in source:
                continue
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            yield from _functions_mentioning(ast.parse(source), module)
    for path in sorted(TEMPLATES.rglob("*.html")):
        if "query_params" in path.read_text(encoding="utf-8"):
            yield path.relative_to(TEMPLATES).as_posix()


def _functions_mentioning(tree: ast.AST, prefix: str) -> Iterator[str]:
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            yield from _functions_mentioning(node, f"{prefix}.{node.name}")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            _query_params(inner) for inner in ast.walk(node)
        ):
            yield f"{prefix}.{node.name}"
