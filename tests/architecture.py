"""The house rules of DESIGN.md as checks over source text: feature boundaries, pure modules, cycles, writes.

Every check takes a mapping of module name to source (the real tree, or a doctored copy in the
tests that show each rule failing) and returns the breaches it finds as readable lines.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

PACKAGE = "posops"
SRC = Path(__file__).resolve().parents[1] / "src"
PLATFORM = frozenset({"posops", "posops.__main__", "posops.app", "posops.cli", "posops.demo", "posops.tables",
                      "posops.worker", "posops.migrations.env"})
"""Modules that assemble the features (the app, the command line, the worker, the demo): they may import anything."""
NOT_FEATURES = frozenset({"core", "kb", "migrations"})
ROLES = frozenset({"models", "schemas", "service", "api", "views", "cli", "jobs"})
"""File names with a fixed role in every feature (DESIGN.md); any other module is pure or an adapter."""
CROSS_FEATURE = frozenset({"service", "models", "schemas"})
"""What a feature may import from another besides its pure modules (models only for read-only queries)."""
ADAPTERS: Mapping[str, frozenset[str]] = {
    "iso8583": frozenset({"acquirer_sim", "terminal_sim", "framing", "pcap", "sources", "uploads"}),
    "telemetry": frozenset({"mqtt", "simulator", "ingest"}),
    "upgrades": frozenset({"mqtt"}),
}
"""Modules that adapt the outside (network, files, a broker, uploads): used only inside their own feature."""
IO_LIBRARIES = frozenset({"sqlalchemy", "fastapi", "starlette", "typer", "paho", "socket", "asyncio", "httpx",
                          "psycopg", "uvicorn", "urllib.request", "requests", "aiomqtt", "alembic"})
"""What a pure module may not import: storage, the web, the command line, the network."""
WRITE_CALLS = frozenset({"insert", "update", "delete", "insert_for"})


@lru_cache(maxsize=512)
def parsed(source: str) -> ast.Module:
    """The syntax tree of a module's source (sources repeat across the doctored trees of the tests)."""
    return ast.parse(source)


@dataclass(frozen=True)
class Import:
    """One import statement's target as a module name, where it stands, and whether it is inside a function."""

    module: str
    line: int
    nested: bool


def tree_sources(root: Path = SRC) -> dict[str, str]:
    """Every module of the package under ``root`` (migration scripts excepted), by dotted name."""
    sources = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[1:3] == ["migrations", "versions"]:
            continue
        if parts[-1] == "__init__":
            parts.pop()
        sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def feature_of(module: str) -> str | None:
    """The feature folder a module belongs to (None for core, platform and data modules)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[1] in NOT_FEATURES:
        return None
    return parts[1]


def role_of(module: str) -> str:
    """``models``, ``service`` … for the fixed file names, ``adapter`` for adapters, else ``pure``."""
    name = module.rsplit(".", 1)[-1]
    feature = feature_of(module)
    if name in ROLES:
        return name
    if feature is not None and name in ADAPTERS.get(feature, frozenset()):
        return "adapter"
    return "pure"


def imports_of(module: str, source: str, known: Mapping[str, str]) -> list[Import]:
    """Every import in a module, resolved to the modules it loads (``from a import b`` is ``a.b`` if a module)."""
    found: list[Import] = []

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                found.extend(Import(alias.name, child.lineno, nested) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _absolute(module, child)
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append(Import(target if target in known else base, child.lineno, nested))
            visit(child, inner)

    visit(parsed(source), False)
    return found


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")[: -node.level]
    return ".".join([*package, node.module] if node.module else package)


def _is_io(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in IO_LIBRARIES)


def boundary_breaches(sources: Mapping[str, str]) -> list[str]:
    """Breaches of: core imports no feature; features meet only through service, models, schemas and pure
    modules; a feature's pure modules do no I/O and import only pure modules; adapters stay inside their
    feature; no import inside a function."""
    return sorted(set(_boundary_breaches(sources)))


def _boundary_breaches(sources: Mapping[str, str]) -> Iterator[str]:
    for module, source in sources.items():
        mine = feature_of(module)
        pure = mine is not None and role_of(module) == "pure"
        for imp in imports_of(module, source, sources):
            where = f"{module}:{imp.line}"
            internal = imp.module == PACKAGE or imp.module.startswith(PACKAGE + ".")
            if imp.nested and internal:
                yield f"{where} imports {imp.module} inside a function (import at the top; a cycle is not hidden)"
            if module in PLATFORM:
                continue
            if pure and _is_io(imp.module):
                yield f"{where} is a pure module but imports {imp.module}"
            if not internal or imp.module not in sources:
                continue
            theirs = feature_of(imp.module)
            if module.startswith("posops.core") and (theirs is not None or imp.module in PLATFORM - {PACKAGE}):
                yield f"{where}: core imports {imp.module} (core imports no feature)"
            if imp.module in PLATFORM and imp.module != PACKAGE:
                yield f"{where} imports the assembling module {imp.module}"
            if pure and role_of(imp.module) not in ("pure", "schemas") and imp.module != PACKAGE:
                yield f"{where} is a pure module but imports {imp.module} ({role_of(imp.module)})"
            if theirs is not None and mine is not None and theirs != mine:
                role = role_of(imp.module)
                if role not in CROSS_FEATURE and role != "pure":
                    yield (f"{where}: feature {mine} imports {imp.module} ({role}); another feature is used "
                           "through its service, models (read-only), schemas or pure modules")
            if role_of(imp.module) == "adapter" and (theirs != mine or pure):
                yield f"{where} imports the adapter {imp.module} (adapters serve their feature's service, cli, jobs)"


def import_cycles(sources: Mapping[str, str]) -> list[list[str]]:
    """Groups of modules that import each other, directly or through others (Tarjan's algorithm)."""
    graph = {m: sorted({i.module for i in imports_of(m, s, sources) if i.module in sources and i.module != m})
             for m, s in sources.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for node in graph:
        if node not in index:
            connect(node)
    return cycles


def _foreign_models(module: str, tree: ast.Module, sources: Mapping[str, str]) -> set[str]:
    """Names bound in ``module`` to another feature's tables (``from posops.x.models import Terminal``)."""
    mine = feature_of(module)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith(".models") and not node.level:
            theirs = feature_of(node.module)
            if theirs is not None and theirs != mine and node.module in sources:
                names.update(alias.asname or alias.name for alias in node.names)
    return names


def _row_givers(module: str, tree: ast.Module, sources: Mapping[str, str]) -> set[str]:
    """Calls (``f`` or ``alias.f``) into another feature's service that return rows of that feature's tables."""
    givers: set[str] = set()
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and not node.level):
            continue
        for alias in node.names:
            service = node.module if node.module.endswith(".service") else f"{node.module}.{alias.name}"
            theirs = feature_of(service)
            if theirs is None or theirs == feature_of(module) or service not in sources \
                    or not service.endswith(".service"):
                continue
            service_tree = parsed(sources[service])
            models = _own_models(service, service_tree)
            returning = {f.name for f in service_tree.body
                         if isinstance(f, ast.FunctionDef) and _mentions(f.returns, models)}
            if node.module.endswith(".service"):
                if alias.name in returning:
                    givers.add(alias.asname or alias.name)
            else:
                givers.update(f"{alias.asname or alias.name}.{name}" for name in returning)
    return givers


def _own_models(module: str, tree: ast.Module) -> set[str]:
    feature = feature_of(module)
    return {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
            and node.module == f"posops.{feature}.models" for alias in node.names}


def _binds_rows(value: ast.AST | None, foreign: set[str], rows: set[str], givers: set[str]) -> bool:
    """Whether an expression yields another feature's rows: it names the table, a row already bound, or calls
    that feature's service for rows."""
    if value is None:
        return False
    if _mentions(value, foreign) or _is_rows(value, rows):
        return True
    return any(isinstance(n, ast.Call) and ast.unparse(n.func) in givers for n in ast.walk(value))


def _is_rows(value: ast.AST, rows: set[str]) -> bool:
    """A bound row or collection of rows itself: ``t``, ``by_tid[k]``, ``by_tid.get(k)``, ``by_tid.values()``."""
    if isinstance(value, ast.Name):
        return value.id in rows
    if isinstance(value, ast.Subscript):
        return _is_rows(value.value, rows)
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        return value.func.attr in ("get", "values", "pop") and _is_rows(value.func.value, rows)
    return False


def _mentions(node: ast.AST | None, names: set[str]) -> bool:
    return node is not None and any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def write_breaches(sources: Mapping[str, str]) -> list[str]:
    """A feature that creates, updates, deletes or locks rows of another feature's tables (it must ask that
    feature's service). Rows are followed from where they are bound: a parameter annotated with the table, a
    variable assigned from, or a loop over, an expression naming it."""
    return sorted(set(_write_breaches(sources)))


def _write_breaches(sources: Mapping[str, str]) -> Iterator[str]:
    for module, source in sources.items():
        if feature_of(module) is None:
            continue
        tree = parsed(source)
        foreign = _foreign_models(module, tree, sources)
        if not foreign:
            continue
        givers = _row_givers(module, tree, sources)
        for func in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
            rows = {a.arg for a in [*func.args.args, *func.args.kwonlyargs] if _mentions(a.annotation, foreign)}
            size = -1
            while size != len(rows):  # follow rows through assignments and loops until nothing new is bound
                size = len(rows)
                for node in ast.walk(func):
                    if isinstance(node, ast.Assign | ast.AnnAssign) and _binds_rows(node.value, foreign, rows, givers):
                        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                        rows.update(t.id for t in targets if isinstance(t, ast.Name))
                    elif isinstance(node, ast.For) and _binds_rows(node.iter, foreign, rows, givers):
                        rows.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
            for node in ast.walk(func):
                where = f"{module}:{getattr(node, 'lineno', func.lineno)}"
                if isinstance(node, ast.Call):
                    callee = node.func
                    name = callee.id if isinstance(callee, ast.Name) else getattr(callee, "attr", "")
                    if isinstance(callee, ast.Name) and callee.id in foreign:
                        yield f"{where} creates a {callee.id} row of another feature"
                    elif isinstance(callee, ast.Name) and name in WRITE_CALLS and any(
                            _mentions(arg, foreign) for arg in node.args):
                        yield f"{where} writes another feature's table with {name}()"
                    elif name == "with_for_update" and _mentions(callee, foreign):
                        yield f"{where} locks rows of another feature's table"
                    elif name in ("add", "delete", "merge") and not _on_a_collection(callee) and any(
                            isinstance(arg, ast.Name) and arg.id in rows for arg in node.args):
                        yield f"{where} {name}s another feature's row through the session"
                targets = (node.targets if isinstance(node, ast.Assign)
                           else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id in rows:
                        yield f"{where} sets {target.value.id}.{target.attr} on another feature's row"


def _on_a_collection(callee: ast.expr) -> bool:
    """``seen[key].add(x)``: a set filled with values read from rows, not a session adding a row."""
    return isinstance(callee, ast.Attribute) and isinstance(callee.value, ast.Subscript)


def layout_breaches(root: Path = SRC) -> Iterator[str]:
    """File names that break the anatomy: ``*_service.py``, ``*_api.py``, ``*_views.py``."""
    for path in sorted((root / PACKAGE).rglob("*.py")):
        if path.stem.endswith(("_service", "_api", "_views")):
            yield f"{path.relative_to(root)}: one service.py, api.py and views.py per feature"
