"""The package's import graph: no circle between modules, and eval does not lean on the training agent's oracle.

Every module of ``envtune_gym`` is parsed with ``ast`` (nothing is imported), and each ``import`` of an
``envtune_gym`` module becomes an edge, wherever it stands:

- module level and inside functions alike: a lazy import that is there only to break a circle still ties the two
  modules together both ways, so it is a circle of the design even though Python does not trip on it at import time;
- ``if TYPE_CHECKING:`` imports count too: a module that must name another's type for its signatures depends on
  it, and a type-only import is the other usual way to hide a circle.

``from package import name`` is an edge to ``package.name`` when that is a module, else to the package. The
parent packages Python imports before any submodule are not edges: counting them would make every package whose
``__init__`` re-exports its submodules a circle, by construction. Imports by a name in a string
(``importlib.import_module``, as the domain registry does) are not seen.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping
from pathlib import Path

import envtune_gym

PACKAGE = "envtune_gym"
ROOT = Path(envtune_gym.__file__).parent

Graph = dict[str, set[str]]


def module_name(path: Path) -> str:
    """``envtune_gym/eval/runner.py`` -> ``envtune_gym.eval.runner``; a package's ``__init__`` -> the package."""
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name."""
    return {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _targets(
    node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: Collection[str]
) -> set[str]:
    """The package modules one import statement imports (relative imports resolved against ``module``).

    ``from package import name`` is an edge to ``package.name`` when that is a module, and to ``package`` when a
    name is not a module (a function or class its ``__init__`` defines or re-exports).
    """
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    base = node.module or ""
    if node.level:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    submodules = {f"{base}.{alias.name}" for alias in node.names} & set(known)
    from_base = base in known and len(submodules) < len(node.names)
    return submodules | ({base} if from_base else set())


def module_imports(tree: ast.Module, module: str, is_package: bool, known: Collection[str]) -> set[str]:
    """The package modules a parsed module imports, wherever the import statement stands (``ast.walk`` enters
    functions and ``if TYPE_CHECKING:`` blocks alike)."""
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            targets |= _targets(node, module, is_package, known)
    return targets - {module}


def import_graph(modules: Mapping[str, Path]) -> Graph:
    """Edges from each module to the package modules it imports."""
    return {
        module: module_imports(
            ast.parse(path.read_text(encoding="utf-8"), filename=str(path)),
            module,
            path.name == "__init__.py",
            modules,
        )
        for module, path in modules.items()
    }


def find_cycles(graph: Graph) -> list[list[str]]:
    """The circle each back edge of a depth-first search closes, as a path from a module back to itself.

    A graph has a circle exactly when such a search meets a back edge, so an empty list means no circle at all;
    a tangle of several circles shows as one line per back edge.
    """
    on_path: list[str] = []
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        on_path.append(module)
        for target in sorted(graph[module]):
            if target in on_path:
                cycles.append([*on_path[on_path.index(target) :], target])
            elif target not in done:
                visit(target)
        on_path.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    return cycles


def describe_cycles(graph: Graph) -> list[str]:
    """One line per circle: ``a -> b -> a`` (the module names without the package prefix)."""
    return [" -> ".join(name.removeprefix(f"{PACKAGE}.") for name in cycle) for cycle in find_cycles(graph)]


GRAPH = import_graph(package_modules())


def test_the_graph_sees_lazy_type_only_and_relative_imports():
    modules = package_modules()
    assert "envtune_gym.eval.runner" in modules and "envtune_gym.envs" in modules
    assert "envtune_gym.envs.factory" in GRAPH["envtune_gym.eval.runner"]
    # A package's __init__ depends on the submodules it re-exports.
    assert {"envtune_gym.envs.registration", "envtune_gym.envs.tool_env"} <= GRAPH["envtune_gym.envs"]
    known = {"envtune_gym.eval", "envtune_gym.eval.runner", "envtune_gym.eval.scores", "envtune_gym.tasks"}
    statements = ast.parse(
        "from . import runner\nfrom ..tasks import Task\nfrom .scores import EvalResult, x"
    )
    targets = [_targets(node, "envtune_gym.eval.report", False, known) for node in statements.body]
    assert targets == [{"envtune_gym.eval.runner"}, {"envtune_gym.tasks"}, {"envtune_gym.eval.scores"}]
    # An import under ``if TYPE_CHECKING:`` and one inside a function are edges too.
    hidden = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from envtune_gym.tasks import Task\n"
        "def f():\n    import envtune_gym.eval.runner\n"
    )
    assert module_imports(hidden, "envtune_gym.eval.scores", False, known) == {
        "envtune_gym.tasks",
        "envtune_gym.eval.runner",
    }
    mixed = ast.parse("from envtune_gym.eval import runner, evaluate").body[0]
    assert _targets(mixed, "envtune_gym.cli", False, known) == {"envtune_gym.eval", "envtune_gym.eval.runner"}


def test_cycle_finder_reports_the_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
    assert find_cycles(graph) == [["a", "b", "c", "a"], ["e", "e2", "e"]]
    assert describe_cycles({"x": {"y"}, "y": set(), "z": {"y"}}) == []  # two paths to y: no circle
    # One back edge in the real graph (the task model importing the package root) is reported with its path.
    graph = {module: set(targets) for module, targets in GRAPH.items()}
    graph["envtune_gym.tasks.model"].add(PACKAGE)
    [line] = describe_cycles(graph)
    assert line.startswith("envtune_gym -> ") and line.endswith(" -> tasks.model -> envtune_gym")


def test_no_import_cycle_between_modules():
    cycles = describe_cycles(GRAPH)
    assert not cycles, "import cycles (lazy and TYPE_CHECKING imports count):\n" + "\n".join(cycles)


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def test_eval_does_not_import_the_training_agents_oracle():
    """Scoring a policy must not need the training agent: the oracle's ground-truth replay lives below both, in
    ``envtune_gym.tasks.oracle`` (``agents.oracle`` re-exports it for the agent's users)."""
    importers = sorted(
        module
        for module, targets in GRAPH.items()
        if _in(module, f"{PACKAGE}.eval")
        and any(_in(target, f"{PACKAGE}.agents.oracle") for target in targets)
    )
    assert not importers, f"these eval modules import envtune_gym.agents.oracle: {importers}"
