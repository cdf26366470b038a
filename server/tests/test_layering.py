"""The floors of the code, read from its own imports: each package imports only packages below
it (counting every `import`, in a function too), the HTTP edge (`shop.api`) only from the
domains' views, urls and serializers, and no module imports itself back when it is loaded (an
import inside a function runs later, when every module is loaded: Celery tasks and signal
receivers import their services so). A new package takes a floor here; see README's "Where does
a new feature go"."""

import ast
from collections import defaultdict
from pathlib import Path

SHOP = Path(__file__).resolve().parents[1] / "shop"

# Lowest first. Packages on one floor import none of each other.
FLOORS = [
    {"core"},  # errors and codes, the versioned cache, Memcached, ETags, the log format
    {"outbox"},  # the generic outbox: entries, claims, runs, sweeper, requeue
    {"accounts", "addresses", "catalog"},
    {"orders"},
    {"invoices", "notifications", "shipping"},  # each registers its outbox kind
    {"api"},  # the HTTP edge: contract middleware, problems, pagination, health, metrics
]
FLOOR = {package: level for level, packages in enumerate(FLOORS) for package in packages}
HTTP_EDGE = {"views", "urls", "serializers"}  # a domain's modules that may import shop.api


def modules() -> dict[str, Path]:
    found = {}
    for path in SHOP.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = ("shop", *path.relative_to(SHOP).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _nodes(tree: ast.AST, *, when_loaded: bool):
    """Every node, or only those that run when the module is loaded (not in a function's body)."""
    for node in ast.iter_child_nodes(tree):
        yield node
        if not (when_loaded and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)):
            yield from _nodes(node, when_loaded=when_loaded)


def imports(name: str, path: Path, *, when_loaded: bool = False) -> set[str]:
    """The shop modules `name` imports (a `from x import y` counts as x.y when that is a module)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in _nodes(ast.parse(path.read_text()), when_loaded=when_loaded):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {target for target in found if target == "shop" or target.startswith("shop.")}


MODULES = modules()


def graph(*, when_loaded: bool) -> dict[str, set[str]]:
    return {
        name: {t for t in imports(name, path, when_loaded=when_loaded) if t in MODULES and t != name}
        for name, path in MODULES.items()
    }


EVERY_IMPORT = graph(when_loaded=False)


def package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def upward(module: str, targets: set[str]) -> list[str]:
    """The imports of `module` that reach its own floor or above."""
    mine = package(module)
    wrong = []
    for target in targets:
        theirs = package(target)
        if not mine or not theirs or theirs == mine:
            continue
        if theirs == "api" and module.rsplit(".", 1)[-1] in HTTP_EDGE:
            continue
        if FLOOR[theirs] >= FLOOR[mine]:
            wrong.append(target)
    return sorted(wrong)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], defaultdict(int)  # 0 unseen, 1 on the path, 2 done

    def visit(module, path):
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state[target] == 1:
                found.append([*path[path.index(target) :], target])
            elif state[target] == 0:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if state[module] == 0:
            visit(module, [module])
    return found


def test_every_package_has_a_floor():
    assert {package(module) for module in MODULES} - {""} == set(FLOOR)


def test_every_module_imports_only_from_below():
    wrong = {module: upward(module, targets) for module, targets in EVERY_IMPORT.items()}
    assert {module: targets for module, targets in wrong.items() if targets} == {}


def test_no_module_imports_itself_back_when_loaded():
    assert cycles(graph(when_loaded=True)) == []


def test_the_checks_fail_a_wrong_import():
    assert upward("shop.core.cache", {"shop.orders.models"}) == ["shop.orders.models"]
    assert upward("shop.invoices.services", {"shop.shipping.models"}) == ["shop.shipping.models"]
    assert upward("shop.orders.services", {"shop.api.throttling"}) == ["shop.api.throttling"]
    assert upward("shop.orders.views", {"shop.api.throttling", "shop.core.errors"}) == []
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert "shop.outbox.sweeper" in EVERY_IMPORT["shop.outbox.tasks"]  # an import in a function counts
    assert "shop.outbox.sweeper" not in graph(when_loaded=True)["shop.outbox.tasks"]  # not when loaded
