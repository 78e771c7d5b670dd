"""What every domain owes: BFCL's method signatures, no import of BFCL, a derivable schema for every tool."""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.util
import inspect
import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest

import envtune_gym
from envtune_gym.domains import DOMAINS, domain_class, registered_domains
from envtune_gym.tools import tool_specs

NAMES = sorted(DOMAINS)


@pytest.mark.parametrize("name", NAMES)
def test_signatures_match_bfcl(name: str) -> None:
    pytest.importorskip(
        "bfcl_eval", reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
    )
    from tests.bfcl_support import reference_class

    reference, ours = reference_class(name), domain_class(name)
    public = sorted(n for n, _ in inspect.getmembers(reference, inspect.isfunction) if not n.startswith("_"))
    assert public == sorted(spec.name for spec in tool_specs(ours))
    for method in public:
        theirs = list(inspect.signature(getattr(reference, method)).parameters.values())
        mine = list(inspect.signature(getattr(ours, method)).parameters.values())
        assert [(p.name, p.default) for p in theirs] == [(p.name, p.default) for p in mine], (
            f"{name}.{method}"
        )


def test_the_package_never_imports_bfcl() -> None:
    package = Path(envtune_gym.__file__).parent
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                assert not any(alias.name.startswith("bfcl_eval") for alias in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("bfcl_eval"), path
    modules = sorted({target.partition(":")[0] for target in DOMAINS.values()})
    code = (
        "import importlib, sys, envtune_gym\n"
        f"for module in {modules!r}:\n    importlib.import_module(module)\n"
        "assert not [k for k in sys.modules if k.startswith('bfcl_eval')], 'bfcl_eval was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("name", NAMES)
def test_every_domain_loads_its_defaults_and_derives_its_schemas(name: str) -> None:
    cls = domain_class(name)
    assert cls.name == name and cls.description
    domain = cls()
    if not cls.stateless:
        domain.load_scenario({}, long_context=False)
    specs = tool_specs(cls)
    assert specs and all(spec.description.startswith(cls.description) for spec in specs)
    assert importlib.import_module(DOMAINS[name].partition(":")[0]).__doc__


def _containers(value: object, found: dict[int, object]) -> dict[int, object]:
    """Every dict, list, set and object reachable from ``value``, by id (kept alive in ``found``)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if id(item) in found or isinstance(item, (str, int, float, bool, type(None), random.Random)):
            continue
        if isinstance(item, (dict, list, set)):
            found[id(item)] = item
            pending.extend(item.values() if isinstance(item, dict) else item)
        elif hasattr(item, "__dict__"):
            found[id(item)] = item
            pending.extend(vars(item).values())
    return found


def _configs(name: str) -> list[dict]:
    """The domain's configs in the bundled tasks and, where bfcl-eval is installed, in BFCL's tasks."""
    from envtune_gym.tasks.bfcl import load_bfcl_tasks
    from envtune_gym.tasks.sources import resolve_tasks

    tasks = [task for spec in registered_domains() if spec.task_set for task in resolve_tasks(spec.task_set)]
    if importlib.util.find_spec("bfcl_eval") is not None:
        tasks += load_bfcl_tasks()
    return [task.initial_config[name] for task in tasks if name in task.initial_config]


@pytest.mark.parametrize("name", NAMES)
def test_from_scenario_keeps_nothing_of_the_callers_config(name: str) -> None:
    cls = domain_class(name)
    configs = _configs(name)
    if cls.stateless:
        assert cls.from_scenario({}).state() == {}
        return
    if not configs:
        pytest.skip(f"no bundled task loads {name}; BFCL's do: pip install --no-deps bfcl-eval==2026.3.23")
    for config in configs:
        domain = cls.from_scenario(config)
        assert not set(_containers(domain, {})) & set(_containers(config, {}))
        # copy=False: the config is the domain's own (the env passes a private copy); same state either way
        owned = cls.from_scenario(copy.deepcopy(config), copy=False)
        assert owned.state() == domain.state()


@pytest.mark.parametrize("name", ["MessageAPI", "TradingBot", "TravelAPI", "VehicleControlAPI"])
def test_the_rng_is_seeded_on_first_use_and_draws_as_seeded(name: str) -> None:
    cls = domain_class(name)
    domain = cls.from_scenario({"random_seed": 7})
    assert domain._random_state is None  # nothing drawn yet: no generator made
    twin = domain.clone()
    assert domain._random.random() == twin._random.random() == random.Random(7).random()
    assert domain._random_state is not None
    pickled = pickle.loads(pickle.dumps(domain))
    assert pickled._random.random() == domain._random.random()
    assert cls.from_scenario({"random_seed": "abc"})._random.random() == random.Random("abc").random()
    with pytest.raises(TypeError):
        cls.from_scenario({"random_seed": [1, 2]})  # an unusable seed fails at load, as BFCL's does
