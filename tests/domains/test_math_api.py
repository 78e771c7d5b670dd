"""Unit tests of the MathAPI re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import decimal
import inspect
import json
import math
import subprocess
import sys
from typing import Any

import pytest

from envtune_gym.domains import math_api as mathmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.math_api import MathAPI
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

mpmath = pytest.importorskip("mpmath", reason="MathAPI.logarithm needs mpmath")

BFCL_ORDER = [
    "logarithm", "mean", "standard_deviation", "si_unit_conversion", "imperial_si_conversion", "add", "subtract",
    "multiply", "divide", "power", "square_root", "absolute_value", "round_number", "percentage", "min_value",
    "max_value", "sum_values",
]  # fmt: skip
MATH = MathAPI()


def out(tool: str, *args: Any, **kwargs: Any) -> str:
    """The result string of a successful call, as the env feeds it back."""
    return serialize_result(getattr(MATH, tool)(*args, **kwargs))


def fails(tool: str, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ToolError) as info:
        getattr(MATH, tool)(*args, **kwargs)
    return str(info.value)


# ------------------------------------------------------------------------------------------------------------
# The domain


def test_metadata_and_no_state() -> None:
    assert MathAPI.name == "MathAPI" and MathAPI.stateless
    assert (
        MathAPI.description
        == "This tool belongs to the Math API, which provides various mathematical operations."
    )
    api = MathAPI()
    api.load_scenario({"numbers": [1, 2]}, long_context=True)  # ignored, as BFCL never loads it
    api.mean([1, 2])
    assert api.state() == {} and vars(api) == {}


def test_package_never_imports_bfcl_and_imports_mpmath_lazily() -> None:
    source = inspect.getsource(mathmod)
    assert "import bfcl_eval" not in source and "from bfcl_eval" not in source
    code = (
        "import sys, envtune_gym.domains.math_api as m; a = m.MathAPI(); a.mean([1]); a.square_root(2, 3); "
        "assert 'mpmath' not in sys.modules; a.logarithm(8, 2, 3); assert 'mpmath' in sys.modules; "
        "assert not [k for k in sys.modules if k.startswith('bfcl_eval')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_global_precision_changes() -> None:
    dps, prec = mpmath.mp.dps, decimal.getcontext().prec
    MATH.logarithm(10, 3, 50)
    MATH.square_root(2, 60)
    assert (mpmath.mp.dps, decimal.getcontext().prec) == (dps, prec)


def test_results_do_not_depend_on_global_settings() -> None:
    with decimal.localcontext() as context, mpmath.workdps(3):
        context.prec = 2
        assert out("logarithm", 980.0, 20, 10) == "{'result': mpf('2.299121531134')}"
        assert out("square_root", 2, 6) == "{'result': Decimal('1.41421')}"


# ------------------------------------------------------------------------------------------------------------
# logarithm and square_root


def test_logarithm_prints_mpf_with_its_precision() -> None:
    assert out("logarithm", 36.0, 6.0, 4) == "{'result': mpf('2.0')}"  # not JSON: str(dict)
    assert out("logarithm", 20, 10, 2) == "{'result': mpf('1.3027')}"
    assert out("logarithm", value=630.0, base=10, precision=5) == "{'result': mpf('2.7993393')}"
    assert out("logarithm", 980.0, 20, 10) == "{'result': mpf('2.299121531134')}"


def test_logarithm_quirks() -> None:
    # mpmath clamps a precision of 0 or below to 1 digit, but with different working bits: no error
    assert out("logarithm", 8, 2, 0) == "{'result': mpf('2.5')}"
    assert out("logarithm", 8, 2, -5) == "{'result': mpf('4.0')}"
    assert out("logarithm", -8, 2, 5).startswith("{'result': mpc(real='3.0', imag=")  # complex, not an error
    assert out("logarithm", 0, 10, 5) == "{'result': mpf('-inf')}"
    assert out("logarithm", 10, 0, 5) == "{'result': mpf('0.0')}"


def test_logarithm_failures() -> None:
    assert "use a positive base other than 1" in fails("logarithm", 10, 1, 5)
    assert f"at most {mathmod.MAX_PRECISION}" in fails("logarithm", 10, 2, mathmod.MAX_PRECISION + 1)
    assert "precision must be a number" in fails("logarithm", 10, 2, "5")
    assert "cannot compute it (OverflowError" in fails("logarithm", 10, 2, -(10**400))
    assert out("logarithm", 8, 2, 2.0) == out("logarithm", 8, 2, 2) == "{'result': mpf('2.9961')}"  # 10 bits
    assert out("logarithm", 8, 3, 2.5) == out("logarithm", 8, 3, 2)  # mpmath truncates to whole digits
    assert "value must be a number" in fails("logarithm", "10", 2, 5)


def test_square_root() -> None:
    assert out("square_root", 2, 5) == "{'result': Decimal('1.4142')}"
    assert out("square_root", 2.0, 20) == "{'result': Decimal('1.4142135623730950488')}"
    assert out("square_root", 16, 3) == "{'result': Decimal('4')}"
    # the float's exact binary value is used, as in BFCL
    assert out("square_root", 0.1, 30) == "{'result': Decimal('0.316227766016837941976973025885')}"
    assert out("square_root", 0, 3) == "{'result': Decimal('0')}"


def test_square_root_failures() -> None:
    assert "is negative" in fails("square_root", -4, 3)
    assert "from 1 to" in fails("square_root", 4, 0)  # BFCL crashes on a precision below 1
    assert "from 1 to" in fails("square_root", 4, mathmod.MAX_PRECISION + 1)
    assert "e.g. 5, not 5.0" in fails("square_root", 4, 2.0)  # BFCL fails on a float precision too


# ------------------------------------------------------------------------------------------------------------
# Statistics


def test_mean_and_standard_deviation() -> None:
    assert out("mean", [3, 16, 60]) == '{"result": 26.333333333333332}'
    assert out("mean", [37]) == '{"result": 37.0}'  # true division: always a float
    assert out("mean", [0.1, 0.2, 0.3]) == '{"result": 0.20000000000000004}'  # sum / len, in this order
    numbers = [100, 95, 85, 90, 88, 92]
    assert out("standard_deviation", numbers) == '{"result": 4.85340659285368}'  # population: divides by n
    assert MATH.standard_deviation([2, 4])["result"] == 1.0


def test_min_max_sum() -> None:
    assert out("min_value", [3, 1.5, 2]) == '{"result": 1.5}'
    assert out("max_value", [1, 2, 2.0]) == '{"result": 2}'  # the first of equal maxima, as given
    assert out("sum_values", [0.1, 0.2]) == '{"result": 0.30000000000000004}'
    assert out("sum_values", [1, 2]) == '{"result": 3}'


@pytest.mark.parametrize(
    ("tool", "what"),
    [("mean", "mean"), ("standard_deviation", "standard deviation"), ("min_value", "minimum"),
     ("max_value", "maximum"), ("sum_values", "sum")],
)  # fmt: skip
def test_list_failures(tool: str, what: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert f"the list is empty, so there is no {what}" in fails(tool, [])
    assert "element 1 is 'x' (str)" in fails(tool, [1, "x"])
    assert "must be a list" in fails(tool, (1, 2))
    monkeypatch.setattr(mathmod, "MAX_LIST_LENGTH", 3)
    assert "pass at most 3" in fails(tool, [1, 2, 3, 4])


def test_statistics_overflow() -> None:
    huge = 10**400  # an int beyond float range
    assert "too large" in fails("mean", [huge, 1])
    assert "too large" in fails("standard_deviation", [1e308, -1e308])


# ------------------------------------------------------------------------------------------------------------
# Unit conversions


def test_si_unit_conversion() -> None:
    assert out("si_unit_conversion", 5, "km", "m") == '{"result": 5000.0}'
    assert out("si_unit_conversion", 1, "um", "nm") == '{"result": 999.9999999999999}'  # 1e-6 * (1 / 1e-9)
    assert out("si_unit_conversion", 2500, "m", "km") == '{"result": 2.5}'
    message = fails("si_unit_conversion", 1, "km", "miles")
    assert "km, m, cm, mm, um, nm" in message and "imperial_si_conversion" in message
    assert "value must be a number" in fails("si_unit_conversion", "1", "m", "km")
    assert "too large" in fails("si_unit_conversion", 10**400, "km", "mm")


def test_imperial_si_conversion() -> None:
    assert out("imperial_si_conversion", 10, "in", "cm") == '{"result": 25.4}'
    assert out("imperial_si_conversion", 100, "celsius", "fahrenheit") == '{"result": 212.0}'
    assert out("imperial_si_conversion", 212, "fahrenheit", "celsius") == '{"result": 100.0}'
    assert out("imperial_si_conversion", 50, "fahrenheit", "celsius") == '{"result": 10.0}'
    assert out("imperial_si_conversion", 3, "foo", "foo") == '{"result": 3}'  # same unit: returned as is
    message = fails("imperial_si_conversion", 1, "in", "ft")
    assert "cannot convert from 'in' to 'ft'" in message and "miles->km" in message
    assert "value must be a number" in fails("imperial_si_conversion", None, "m", "m")


def test_conversion_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        mathmod.TO_METERS["km"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        mathmod.IMPERIAL_FACTORS["m", "ft"] = 1  # type: ignore[index]


# ------------------------------------------------------------------------------------------------------------
# Arithmetic


def test_basic_arithmetic() -> None:
    assert out("add", 0.1, 0.2) == '{"result": 0.30000000000000004}'
    assert out("add", 2, 3) == '{"result": 5}'
    assert out("subtract", 0.3, 0.1) == '{"result": 0.19999999999999998}'
    assert out("multiply", 0.1, 3) == '{"result": 0.30000000000000004}'
    assert out("divide", 4, 2) == '{"result": 2.0}'
    assert out("absolute_value", -3) == '{"result": 3}'
    assert out("absolute_value", -2.5) == '{"result": 2.5}'
    assert "cannot divide by zero" in fails("divide", 1, 0.0)
    assert "b must be a number" in fails("multiply", 2, "3")
    assert "a must be a number" in fails("add", "a", "b")  # BFCL would concatenate the strings
    assert "number must be a number" in fails("absolute_value", [1])


def test_power() -> None:
    assert out("power", 2, 10) == '{"result": 1024}'
    assert out("power", 2, -2) == '{"result": 0.25}'
    assert out("power", 2.0, 0.5) == '{"result": 1.4142135623730951}'
    # a negative base to a fractional power is complex, which JSON cannot encode: str(dict)
    assert out("power", -8, 1 / 3) == "{'result': (1.0000000000000002+1.7320508075688772j)}"
    assert out("power", 1, 10**100) == '{"result": 1}' and out("power", 0, 10**100) == '{"result": 0}'
    assert "division by zero" in fails("power", 0, -1)
    assert "too large" in fails("power", 10.0, 400)
    assert "exponent must be a number" in fails("power", 2, None)


def test_power_refuses_huge_integers_before_computing() -> None:
    assert "too large to return" in fails("power", 2, 10**12)  # would take ages and all memory
    assert "too large to return" in fails("power", -3, mathmod.MAX_INT_BITS)
    assert len(out("power", 2, mathmod.MAX_INT_BITS - 1)) > 4000
    assert "the result has about" in fails("power", 3, mathmod.MAX_INT_BITS - 1)  # computed, then refused


def test_huge_integer_results_are_refused() -> None:
    big = 10**2500
    assert "the result has about 5001 digits" in fails("multiply", big, big)
    assert "the result has about" in fails("sum_values", [big**2, 1])
    assert out("add", big, -big) == '{"result": 0}'


def test_round_number() -> None:
    assert out("round_number", 2.5) == '{"result": 2.0}'  # banker's rounding, and a float stays a float
    assert out("round_number", 3.5) == '{"result": 4.0}'
    assert out("round_number", 7) == '{"result": 7}'  # an int stays an int
    assert out("round_number", 2.675, 2) == '{"result": 2.67}'  # binary floats
    assert out("round_number", 1250, -2) == '{"result": 1200}'
    assert out("round_number", number=math.pi, decimal_places=3) == '{"result": 3.142}'
    assert "e.g. 2, not 2.0" in fails("round_number", 1.5, 1.0)  # Python's round refuses it, as in BFCL
    assert "decimal_places must be a whole number" in fails(
        "round_number", 5, -(10**9)
    )  # 10**(10**9) otherwise


def test_percentage() -> None:
    assert out("percentage", 1, 3) == '{"result": 33.33333333333333}'  # (1 / 3) * 100, not 100 / 3
    assert out("percentage", 50, 200) == '{"result": 25.0}'
    assert "the whole cannot be zero" in fails("percentage", 5, 0)


def test_special_floats_pass_through() -> None:
    inf = float("inf")
    assert out("add", inf, 1) == '{"result": Infinity}'  # json.dumps' defaults
    assert out("mean", [inf, -inf]) == '{"result": NaN}'
    assert out("square_root", inf, 5) == "{'result': Decimal('Infinity')}"


# ------------------------------------------------------------------------------------------------------------
# Schemas and the registry


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(MathAPI)}
    assert list(specs) == BFCL_ORDER
    for name, spec in specs.items():
        params = spec.parameters
        defaults = {k: v["default"] for k, v in params["properties"].items() if "default" in v}
        assert defaults == ({"decimal_places": 0} if name == "round_number" else {}), name
        assert spec.param_order == (*params["required"], *defaults), name
        assert spec.description.startswith(MathAPI.description + " Tool description: ")
        assert all(prop["description"] for prop in params["properties"].values()), name
    props = specs["logarithm"].parameters["properties"]
    assert (props["value"]["type"], props["precision"]["type"]) == ("number", "integer")
    assert specs["mean"].parameters["properties"]["numbers"] | {"description": ""} == {
        "type": "array", "items": {"type": "number"}, "description": "",
    }  # fmt: skip
    assert specs["round_number"].parameters["required"] == ["number"]


def test_registry_dispatch() -> None:
    tools = ToolRegistry([MathAPI()])
    assert tools.execute("logarithm", tools.bind("logarithm", (36.0, 6.0, 4), {})).result == (
        "{'result': mpf('2.0')}"
    )
    assert tools.execute("mean", {"numbers": [1, 2]}).result == '{"result": 1.5}'
    # an integral float for an integer parameter is refused before the tool runs (docs/envs.md, "Names and
    # arguments"); the domain's own handling of one, as in BFCL, is checked directly in tests/conformance
    for name, arguments in (
        ("logarithm", {"value": 8, "base": 2, "precision": 4.0}),
        ("round_number", {"number": 2.5, "decimal_places": 1.0}),
        ("square_root", {"number": 2, "precision": 5.0}),
    ):
        assert tools.execute(name, arguments).error == "invalid_arguments"
    outcome = tools.execute("divide", {"a": 1, "b": 0})
    assert outcome.error == "tool_error" and json.loads(outcome.result)["error"].startswith("divide: cannot")
    assert tools.execute("mean", {"numbers": ["1"]}).error == "invalid_arguments"
