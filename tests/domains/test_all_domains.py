"""What every domain owes: BFCL's method signatures, no import of BFCL, a derivable schema for every tool."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import envtune_gym
from envtune_gym.domains import DOMAINS, domain_class
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
