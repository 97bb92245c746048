"""The shape of the code: imports run one way, with no circles between modules or packages.

The graph is read from the source (every ``import``, including those inside functions), so a
circle hidden behind a late import is found too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import penpress

SOURCE = Path(penpress.__file__).parent
ROOT = "penpress"

# The core: what every feature may use; it imports no feature and no front door.
CORE = {
    "backups",
    "caching",
    "config",
    "counters",
    "database",
    "emails",
    "errors",
    "extensions",
    "forms",
    "http",
    "jobs",
    "logs",
    "outbox",
    "page_cache",
    "permissions",
    "ratelimits",
    "templating",
    "timezones",
    "unit_of_work",
}
# Features, each importing only those before it (and the core).
FEATURES = ["settings", "accounts", "media", "blog", "newsletter"]
# Front doors and composition: they may import any feature; features never import them.
FRONT_DOORS = {"main", "admin", "api", "ops", "cli", "demo", "seeding", "models", "celery_app"}


def modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = [ROOT, *path.relative_to(SOURCE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The Penpress modules ``name`` imports, anywhere in its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import name`` imports the module pkg.name if there is one, else pkg.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            if not target.startswith(ROOT):
                continue
            while target not in known:
                target = target.rpartition(".")[0]
            if target != name:
                yield target


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports_of(name, path, known)) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def top_package(module: str) -> str:
    """``penpress.blog.services.posts`` → ``blog``; the root itself → ``""``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_no_module_imports_itself_back() -> None:
    assert cycles(graph()) == []


def test_no_package_imports_itself_back() -> None:
    packages: dict[str, set[str]] = {}
    for module, targets in graph().items():
        for target in targets:
            source, imported = top_package(module), top_package(target)
            if source and imported and source != imported:
                packages.setdefault(source, set()).add(imported)
    assert cycles(packages) == []


def test_imports_run_from_front_doors_to_features_to_the_core() -> None:
    wrong = []
    for module, targets in graph().items():
        source = top_package(module)
        for target in targets:
            imported = top_package(target)
            if source in CORE and imported and imported not in CORE:
                wrong.append(f"core {module} imports {target}")
            if source in FEATURES and imported in FEATURES[FEATURES.index(source) + 1 :]:
                wrong.append(f"feature {module} imports the later feature {target}")
            if source in FEATURES and imported in FRONT_DOORS:
                wrong.append(f"feature {module} imports the front door {target}")
            if target == ROOT and module not in ("penpress.celery_app",):
                wrong.append(f"{module} imports the composition root")
    assert wrong == []


def test_every_package_is_placed_in_a_layer() -> None:
    placed = CORE | set(FEATURES) | FRONT_DOORS
    assert {top_package(module) for module in modules()} - {""} <= placed
