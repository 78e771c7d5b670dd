"""Conformance of :class:`envtune_gym.domains.math_api.MathAPI` with BFCL's ``MathAPI``.

Two checks, both against the reference package (skipped when it is not installed):

* every ground-truth MathAPI call of BFCL's four multi-turn categories is replayed on both implementations: the
  result strings must be identical (``mpf`` reprs included) and neither has public state;
* random calls of every tool with schema-valid arguments (zero, negative, tiny, huge and special floats, integers
  beyond float range, empty lists, unknown units, odd precisions): when the reference succeeds ours returns the
  same string, when it fails (error dict, exception, or a result too long to print) ours raises ToolError.

BFCL's ``logarithm`` and ``square_root`` change mpmath's and decimal's process-wide precision; every reference call
here runs inside :func:`contained`, which puts both back, so no other test sees the change.
"""

from __future__ import annotations

import decimal
import functools
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from envtune_gym.domains import math_api as mathmod
from envtune_gym.domains.math_api import MathAPI
from tests import bfcl_support as bfcl

mpmath = pytest.importorskip("mpmath", reason="BFCL's MathAPI needs mpmath")
pytestmark = pytest.mark.bfcl

#: Ground-truth MathAPI calls per category in bfcl-eval 2026.3.23 (9 mean, 4 logarithm, 1 standard_deviation).
EXPECTED_CALLS = {"base": 14, "long_context": 14, "miss_func": 14, "miss_param": 14}


@contextmanager
def contained() -> Iterator[None]:
    """Undo the reference's global precision changes (mpmath.mp.dps, the decimal context) on exit."""
    prec = mpmath.mp.prec
    try:
        with decimal.localcontext():
            yield
    finally:
        mpmath.mp.prec = prec


def reference_call(instance: Any, name: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """run_reference, contained; a result that cannot be printed fails, as in BFCL's executor."""
    with contained():
        try:
            return bfcl.run_reference(instance, name, args, kwargs)
        except ValueError as exc:  # str() of an integer of more than 4,300 digits
            return f"Error during execution: {exc}", True


def assert_stateless(reference: Any, ours: MathAPI, where: str) -> None:
    assert bfcl.public_state(reference) == ours.state() == {}, where


# BFCL never loads a MathAPI scenario (its class has no _load_scenario); ours loads and ignores the config.
DOMAIN = bfcl.Conformance("MathAPI", MathAPI, compare=assert_stateless, run_ref=reference_call)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    dps = mpmath.mp.dps
    compared = bfcl.replay_ground_truth(DOMAIN, category)
    assert mpmath.mp.dps == dps  # the reference's global change was undone
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=10)


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random calls

INF, NAN = float("inf"), float("nan")
NUMBERS = [
    0, 1, -1, 2, 3, -7, 10, 1000, 0.0, -0.0, 0.1, 0.5, -2.5, 1 / 3, 36.0, 1e-300, 1e308, -1e308, math.pi,
    INF, -INF, NAN, 10**20, -(10**20), 10**400, -(10**400), 10**2500,
]  # fmt: skip
EXPONENTS = [0, 1, 2, 3, -1, -2, 10, 0.5, 1 / 3, -0.5, 2.5, 100, 1000, 5000, 10**20, 1e308, INF, NAN]
# Integral floats are schema-valid integers and reach the tools as given, as in BFCL.
PRECISIONS = [-5, -1, 0, 1, 2, 4, 10, 15, 28, 50, 200, 0.0, 4.0, -3.0, -(10**30), mathmod.MAX_PRECISION + 1]
PLACES = [0, 1, 2, 3, -1, -2, -3, 5, 15, 20, 400, -400, 330, -330, 2.0, -1.0,
          mathmod.MAX_DECIMAL_PLACES + 1, -(10**9)]  # fmt: skip
SI_UNITS = ["km", "m", "cm", "mm", "um", "nm", "miles", "M", ""]
IMPERIAL_UNITS = ["cm", "in", "m", "ft", "yd", "km", "miles", "kg", "lb", "celsius", "fahrenheit", "K", "foo"]


class CallMaker(bfcl.RandomCalls):
    """Random, schema-valid arguments for one tool."""

    specs = DOMAIN.specs

    def __init__(self, rng: random.Random, reference: Any, tool: str) -> None:
        super().__init__(rng, reference)
        self.tool = tool

    def pick_tool(self) -> str:
        return self.tool

    def number(self) -> Any:
        rng = self.rng
        return (
            rng.choice(NUMBERS)
            if rng.random() < 0.6
            else rng.choice([rng.randint(-50, 50), rng.uniform(-1e3, 1e3)])
        )

    def numbers(self) -> list[Any]:
        return [self.number() for _ in range(self.rng.choice([0, 1, 1, 2, 3, 5, 8]))]

    def arguments(self, tool: str) -> dict[str, Any]:
        rng = self.rng
        if tool in ("mean", "standard_deviation", "min_value", "max_value", "sum_values"):
            return {"numbers": self.numbers()}
        if tool == "logarithm":
            return {"value": self.number(), "base": self.number(), "precision": rng.choice(PRECISIONS)}
        if tool == "square_root":
            return {"number": self.number(), "precision": rng.choice(PRECISIONS)}
        if tool == "si_unit_conversion":
            return {"value": self.number(), "unit_in": rng.choice(SI_UNITS), "unit_out": rng.choice(SI_UNITS)}
        if tool == "imperial_si_conversion":
            unit_in, unit_out = rng.choice(IMPERIAL_UNITS), rng.choice(IMPERIAL_UNITS)
            if rng.random() < 0.5:  # a supported pair, or the same unit twice
                unit_in, unit_out = rng.choice([*mathmod.IMPERIAL_FACTORS, (unit_in, unit_in)])
            return {"value": self.number(), "unit_in": unit_in, "unit_out": unit_out}
        if tool == "power":
            return {"base": self.number(), "exponent": rng.choice(EXPONENTS + [self.number()])}
        if tool == "round_number":
            return {
                "number": self.number(),
                **({"decimal_places": rng.choice(PLACES)} if rng.random() < 0.8 else {}),
            }
        if tool in ("absolute_value",):
            return {"number": self.number()}
        if tool == "percentage":
            return {"part": self.number(), "whole": self.number()}
        return {"a": self.number(), "b": self.number()}  # add, subtract, multiply, divide


def deliberate_deviation(reference: Any, ours: MathAPI, tool: str, bound: dict[str, Any]) -> bool:
    """Bounded work: ours refuses these up front, where BFCL may compute for ages (or succeed)."""
    if tool == "power":
        base, exponent = bound["base"], bound["exponent"]
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
            return exponent * (abs(base).bit_length() - 1) >= mathmod.MAX_INT_BITS
    if tool in ("logarithm", "square_root"):
        return bound["precision"] > mathmod.MAX_PRECISION
    if tool == "round_number":
        return abs(bound.get("decimal_places", 0)) > mathmod.MAX_DECIMAL_PLACES
    return False


CALLS_PER_TOOL = 400


@pytest.mark.parametrize("tool", list(DOMAIN.specs))
def test_random_calls_agree_with_bfcl(tool: str) -> None:
    counts = bfcl.differential_run(
        DOMAIN,
        bfcl.Scenario(tool, {}),
        functools.partial(CallMaker, tool=tool),
        [f"math-{tool}"],
        CALLS_PER_TOOL,
        deliberate_deviation,
    )
    assert counts["agree_ok"] >= CALLS_PER_TOOL // 4, counts
    if tool not in ("absolute_value", "add", "subtract", "min_value", "max_value", "round_number"):
        assert counts["agree_error"] > 0, counts  # every tool with a failure mode hit it


def test_reference_leaks_are_contained() -> None:
    reference = bfcl.reference_class("MathAPI")()
    dps, prec = mpmath.mp.dps, decimal.getcontext().prec
    reference_call(reference, "logarithm", [10, 3, 40], {})
    reference_call(reference, "square_root", [2, 7], {})
    assert (mpmath.mp.dps, decimal.getcontext().prec) == (dps, prec)
