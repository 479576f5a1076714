"""The package's layering holds: no import cycle, no import against the rules.

A plain AST walk over ``src/dbenv`` (no import of the package, no new dependency).
What counts as an import of module A by module B:

- every ``import`` / ``from ... import`` statement in B, at module top *and* inside
  functions or classes (a lazy import is still a dependency, and a lazy import is
  how a cycle hides);
- except those under ``if TYPE_CHECKING:``: they never run, so they cannot make
  a cycle at run time; they are how a type annotation names a class from a module
  that must not be imported for real;
- ``from dbenv.a import b`` is an import of ``dbenv.a.b`` when that is a module,
  else of ``dbenv.a`` (its ``__init__``); the parent packages' ``__init__`` that
  Python runs on the way are not counted (they re-export their own children);
- the pre-0.2 names kept by ``dbenv._moved`` are not allowed in ``src/dbenv``
  at all (new code uses the new names; the aliases are for the apps).

The rules (the package tree is drawn in docs/architecture.md):

1. no import cycle between modules;
2. ``config/`` imports only ``config/`` and ``errors`` (the only reader of files
   and ``os.environ`` stands on nothing);
3. ``backends/`` (the driver adapters) import nothing of dbenv above them:
   only ``backends/``, ``config/``, ``errors`` and ``testpoint`` (the test-only
   pause points sit inside the adapters' long calls);
4. ``diff/`` (the schema engine) imports nothing of ``sources/``, ``lifecycle/``,
   ``safety/``, ``sync/``, ``doctor/``, ``status/``, ``stack/``, ``commands/``,
   ``cli/`` (``sources/`` builds the two sides of a diff from schema sources and
   imports ``diff/``, not the other way);
5. ``sources/`` imports neither ``lifecycle/`` nor ``commands/`` / ``cli/``
   (``lifecycle/`` and ``diff/`` users build on schema sources, not under them);
6. ``safety/`` imports no operation package (``lifecycle/``, ``sync/``,
   ``diff/``, ``doctor/``, ``status/``, ``stack/``, ``sources/``): the guard is the
   door every operation goes through, so it knows none of them;
7. no module outside ``cli/`` imports ``rich`` or ``typer`` (only the CLI renders);
8. only ``commands/``, ``cli/`` and ``pytest_plugin/`` import ``commands/`` (the
   plugin runs the same verbs a developer would);
9. nothing imports ``cli/`` except ``cli/`` and ``dbenv.__main__``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = SRC / "dbenv"

OPERATIONS = ("lifecycle", "sync", "diff", "doctor", "status", "stack", "sources")


@dataclass(frozen=True)
class Import:
    """One import statement's target, as found in one module."""

    source: str  # importing module, e.g. dbenv.safety.guard
    target: str  # imported module (dbenv.*) or top-level external package
    line: int
    internal: bool

    def where(self) -> str:
        path = self.source.replace(".", "/")
        return f"{path}.py:{self.line} imports {self.target}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _walk(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import under ``node``, skipping ``if TYPE_CHECKING:`` bodies."""
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append(child)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                found.extend(_walk_one(other))
        else:
            found.extend(_walk(child))
    return found


def _walk_one(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return [node]
    return _walk(node)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _imports(module: str, path: Path, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                package = _package_of(module, path).split(".")
                package = package[: len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            names = []
            for alias in node.names:
                child = f"{base}.{alias.name}"
                names.append(child if child in known else base)
        for name in names:
            internal = name == "dbenv" or name.startswith("dbenv.")
            target = name if internal else name.split(".")[0]
            found.append(Import(module, target, node.lineno, internal))
    return found


def _all_imports() -> list[Import]:
    modules = _modules()
    known = set(modules) | set(_moved())
    found: list[Import] = []
    for module, path in modules.items():
        found.extend(_imports(module, path, known))
    return found


def _area(module: str) -> str:
    """The package right under dbenv (``safety``), or the top module (``errors``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _cycles(imports: list[Import]) -> list[list[Import]]:
    """One cycle (as its imports, in order) per strongly connected component."""
    moved = _moved()
    graph: dict[str, dict[str, Import]] = {}
    for imp in imports:
        target = moved.get(imp.target, imp.target)
        if imp.internal and target != imp.source:
            graph.setdefault(imp.source, {}).setdefault(target, imp)
    components = _strongly_connected(graph)
    return [_one_cycle(graph, component) for component in components if len(component) > 1]


def _strongly_connected(graph: dict[str, dict[str, Import]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, {})))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _one_cycle(graph: dict[str, dict[str, Import]], component: set[str]) -> list[Import]:
    """A shortest way round from the component's first module back to itself."""
    start = min(component)
    previous: dict[str, Import] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child, imp in sorted(graph.get(node, {}).items()):
                if child not in component or child in previous:
                    continue
                previous[child] = imp
                following.append(child)
        if start in previous:
            break
        frontier = following
    path = [previous[start]]
    while path[-1].source != start:
        path.append(previous[path[-1].source])
    return list(reversed(path))


FORBIDDEN_EXTERNAL = {"rich", "typer"}


def _violation(imp: Import) -> str | None:
    """Why ``imp`` breaks a rule, or None."""
    source, target = _area(imp.source), _area(imp.target) if imp.internal else ""
    if not imp.internal:
        if imp.target in FORBIDDEN_EXTERNAL and source != "cli":
            return "only cli/ renders (rich, typer)"
        return None
    rules: list[tuple[bool, str]] = [
        (
            source == "config" and target not in {"config", "errors"},
            "config/ imports only config/ and errors",
        ),
        (
            source == "backends" and target not in {"backends", "config", "errors", "testpoint"},
            "backends/ import only backends/, config/, errors and testpoint",
        ),
        (
            source == "diff" and target in {*OPERATIONS, "safety", "commands", "cli"} - {"diff"},
            "diff/ (the schema engine) imports no operation, commands/ or cli/",
        ),
        (
            source == "sources" and target in {"lifecycle", "commands", "cli"},
            "sources/ imports neither lifecycle/ nor commands/ or cli/",
        ),
        (source == "safety" and target in OPERATIONS, "safety/ imports no operation package"),
        (
            target == "commands" and source not in {"commands", "cli", "pytest_plugin"},
            "only commands/, cli/ and pytest_plugin/ import commands/",
        ),
        (
            target == "cli" and source != "cli" and imp.source != "dbenv.__main__",
            "only cli/ and dbenv.__main__ import cli/",
        ),
    ]
    return next((reason for broken, reason in rules if broken), None)


def _moved() -> dict[str, str]:
    """dbenv._moved's table of old module names to new ones, read as data."""
    tree = ast.parse((PACKAGE / "_moved.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MOVED":
            table = ast.literal_eval(node.value) if node.value else None
            assert isinstance(table, dict)
            return table
    raise AssertionError("dbenv/_moved.py has no MOVED table")


def test_the_walk_sees_the_package() -> None:
    """Guards the guard: the walk finds modules, lazy imports and relative imports."""
    imports = _all_imports()
    assert len(_modules()) > 100
    sources = {imp.source for imp in imports}
    assert "dbenv.cli.app" in sources
    assert any(
        imp.source == "dbenv.backends.postgres" and imp.target == "psycopg" for imp in imports
    )
    assert any(imp.target == "dbenv.errors" for imp in imports)


def test_no_import_cycle() -> None:
    cycles = _cycles(_all_imports())
    message = "\n".join(
        "import cycle: " + " -> ".join(imp.where() for imp in cycle) for cycle in cycles
    )
    assert not cycles, message + "\n(move what both need to a module below them both)"


def test_no_import_against_the_layering() -> None:
    broken = sorted(
        {
            f"{imp.where()}: {reason}"
            for imp in _all_imports()
            if (reason := _violation(imp)) is not None
        }
    )
    assert not broken, "\n".join(broken)


def test_no_old_module_name_in_the_package() -> None:
    old = _moved()
    used = [
        f"{imp.where()}: an old name, use {old[imp.target]} (dbenv/_moved.py)"
        for imp in _all_imports()
        if imp.target in old
    ]
    assert not used, "\n".join(used)


def test_the_rules_bite() -> None:
    """Made-up imports against each rule are caught, and a made-up circle is found."""

    def imp(source: str, target: str) -> Import:
        return Import(source, target, 1, target.startswith("dbenv"))

    against = [
        imp("dbenv.config.model", "dbenv.safety.guard"),
        imp("dbenv.backends.postgres", "dbenv.lifecycle.reset"),
        imp("dbenv.diff.plan", "dbenv.sources.schema"),
        imp("dbenv.sources.sides", "dbenv.lifecycle.swap"),
        imp("dbenv.safety.guard", "dbenv.sync.dump"),
        imp("dbenv.commands.diff", "rich"),
        imp("dbenv.status.report", "dbenv.commands.lifecycle"),
        imp("dbenv.commands.diff", "dbenv.cli.app"),
    ]
    assert [_violation(i) is not None for i in against] == [True] * len(against)
    allowed = [
        imp("dbenv.config.model", "dbenv.errors"),
        imp("dbenv.backends.postgres", "dbenv.config.masking"),
        imp("dbenv.lifecycle.reset", "dbenv.sources.schema"),
        imp("dbenv.cli.app", "typer"),
        imp("dbenv.pytest_plugin.session", "dbenv.commands.lifecycle"),
        imp("dbenv.__main__", "dbenv.cli.app"),
    ]
    assert [_violation(i) for i in allowed] == [None] * len(allowed)
    circle = [imp("dbenv.a", "dbenv.b"), imp("dbenv.b", "dbenv.c"), imp("dbenv.c", "dbenv.a")]
    found = _cycles([*circle, imp("dbenv.c", "dbenv.d")])
    assert [[i.source for i in cycle] for cycle in found] == [["dbenv.a", "dbenv.b", "dbenv.c"]]


def test_no_module_is_over_500_lines() -> None:
    """The house's size rule (STYLE.md: split past ~500): a module that grows past it
    says which seam to cut before a reader has to scroll through two jobs."""
    big = {
        str(path.relative_to(SRC)): count
        for path in sorted(PACKAGE.rglob("*.py"))
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert not big, f"modules over 500 lines: {big}"
