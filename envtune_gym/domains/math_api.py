"""Arithmetic, statistics and unit conversions: a re-implementation of BFCL's ``MathAPI``.

The domain is stateless (BFCL never loads a scenario for it and compares nothing). Its successful calls return
the same result strings as BFCL's (after :func:`envtune_gym.tools.serialize_result`), down to the last digit: the
same Python operations in the same order, ``mpmath`` for ``logarithm`` (its ``mpf`` result is not JSON-able, so
the string is the dict's Python repr, e.g. ``{'result': mpf('2.0')}``) and ``decimal`` for ``square_root``
(``{'result': Decimal('1.414')}``). BFCL's quirks are kept on purpose and marked ``BFCL quirk``.

Deliberate differences: BFCL sets the process-wide ``mpmath.mp.dps`` and ``decimal`` precision; we compute in a
private context, so nothing global changes. Failures raise :class:`ToolError` with our own message, including
BFCL's crashes (overflow, precision below 1, ...). Work is bounded: precision, decimal places, list length and
the size of integer results (see the constants below). Arguments must be numbers where BFCL's schema says so
(BFCL would, for instance, add two strings).

``mpmath`` is imported on first use of ``logarithm`` only, so the rest of the package does not need it.

Example:
    >>> math_api = MathAPI()
    >>> math_api.mean([1, 2, 4]), math_api.round_number(2.5), math_api.logarithm(36.0, 6.0, 4)
    ({'result': 2.3333333333333335}, {'result': 2.0}, {'result': mpf('2.0')})
"""

from __future__ import annotations

import decimal
import functools
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.domains.registry import register_domain
from envtune_gym.tools import tool

#: Most digits of precision logarithm and square_root compute with.
MAX_PRECISION = 2_000
#: Most decimal places (either sign) round_number takes; 10**places is computed for integers.
MAX_DECIMAL_PLACES = 10_000
#: Most numbers a list argument may hold.
MAX_LIST_LENGTH = 100_000
#: Most bits of an integer result (about 4,200 digits). Python refuses to print integers of more than 4,300
#: digits by default, so BFCL fails on results of that size too; power refuses before computing them.
MAX_INT_BITS = 14_000

#: Metres per unit, and units per metre, computed as BFCL does (``1 / factor``: the float digits matter).
TO_METERS: Mapping[str, float] = MappingProxyType(
    {"km": 1000, "m": 1, "cm": 0.01, "mm": 0.001, "um": 1e-6, "nm": 1e-9}
)
FROM_METERS: Mapping[str, float] = MappingProxyType({unit: 1 / factor for unit, factor in TO_METERS.items()})
#: Imperial <-> SI factors (multiply), and the two temperature conversions (handled apart).
IMPERIAL_FACTORS: Mapping[tuple[str, str], float] = MappingProxyType(
    {
        ("cm", "in"): 0.393701,
        ("in", "cm"): 2.54,
        ("m", "ft"): 3.28084,
        ("ft", "m"): 0.3048,
        ("m", "yd"): 1.09361,
        ("yd", "m"): 0.9144,
        ("km", "miles"): 0.621371,
        ("miles", "km"): 1.60934,
        ("kg", "lb"): 2.20462,
        ("lb", "kg"): 0.453592,
        ("celsius", "fahrenheit"): 1.8,
        ("fahrenheit", "celsius"): 5 / 9,
    }
)
#: Python's default decimal context, written out: BFCL works in a fresh thread's context with ``prec`` changed.
_DECIMAL_DEFAULTS = {
    "rounding": decimal.ROUND_HALF_EVEN,
    "Emin": -999_999,
    "Emax": 999_999,
    "capitals": 1,
    "clamp": 0,
    "traps": [decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
}


def _show(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _number(tool: str, name: str, value: Any) -> None:
    """Refuse a non-number (bool counts as a number, as in Python)."""
    if not isinstance(value, (int, float)):
        raise ToolError(f"{tool}: {name} must be a number, got {_show(value)} ({type(value).__name__}).")


def _numbers(tool: str, numbers: Any, empty: str) -> list[Any]:
    """Check a list argument: a non-empty list of at most MAX_LIST_LENGTH numbers."""
    if not isinstance(numbers, list):
        raise ToolError(f"{tool}: numbers must be a list of numbers, e.g. [1, 2.5, 3], got {_show(numbers)}.")
    if not numbers:
        raise ToolError(f"{tool}: the list is empty, so there is no {empty}. Pass at least one number.")
    if len(numbers) > MAX_LIST_LENGTH:
        raise ToolError(f"{tool}: the list has {len(numbers)} numbers; pass at most {MAX_LIST_LENGTH}.")
    for index, value in enumerate(numbers):
        if not isinstance(value, (int, float)):
            raise ToolError(
                f"{tool}: every element must be a number, but element {index} is {_show(value)} "
                f"({type(value).__name__})."
            )
    return numbers


def _result(tool: str, value: Any) -> dict[str, Any]:
    """``{"result": value}``, refusing integers too long to print (BFCL fails on those when serialising)."""
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        digits = int(value.bit_length() * math.log10(2)) + 1
        raise ToolError(
            f"{tool}: the result has about {digits} digits, more than the {MAX_INT_BITS * 3 // 10} this tool "
            f"returns. Use smaller numbers, or floats (e.g. 2.0 instead of 2) for an approximate result."
        )
    return {"result": value}


@contextmanager
def _arithmetic(tool: str) -> Iterator[None]:
    """Turn Python's arithmetic failures (which BFCL lets escape as crashes) into ToolErrors."""
    try:
        yield
    except OverflowError:
        raise ToolError(
            f"{tool}: the numbers are too large: the result (or an integer argument) does not fit in a "
            f"floating-point number. Use smaller numbers."
        ) from None
    except ZeroDivisionError as exc:
        raise ToolError(f"{tool}: division by zero ({exc}). Check the arguments.") from None


@functools.lru_cache(maxsize=64)
def _mp_context(precision: float) -> Any:
    """A private mpmath context at ``precision`` digits (BFCL sets the global ``mpmath.mp.dps`` instead).

    Results keep a link to their context, whose precision decides how they print, so a context's precision never
    changes: one per precision, made once (making one costs ~1 ms).
    """
    import mpmath  # lazily: only logarithm needs it

    context = type(mpmath.mp)()
    context.dps = precision  # BFCL quirk: mpmath clamps 0 and below to 1 digit (and a few bits), no error
    return context


class MathAPI(Domain):
    """BFCL's MathAPI: stateless, so no scenario and no compared state."""

    name = "MathAPI"
    description = "This tool belongs to the Math API, which provides various mathematical operations."
    stateless = True

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Nothing to load: BFCL never loads a MathAPI scenario and ignores its config (13 tasks give one)."""

    # --------------------------------------------------------------------------------------------------------
    # Tools, in BFCL's order

    @tool
    def logarithm(self, value: float, base: float, precision: int) -> dict[str, Any]:
        """Compute the logarithm of a number in a given base, with adjustable precision (using mpmath).

        Args:
            value: The number to take the logarithm of.
            base: The base of the logarithm.
            precision: The precision of the result, in significant decimal digits.

        Returns:
            result: The logarithm of the number in the given base.
        """
        _number("logarithm", "value", value)
        _number("logarithm", "base", base)
        # BFCL quirk: mpmath takes any real precision (2.0 works; 0 and below mean 1 digit).
        _number("logarithm", "precision", precision)
        if precision > MAX_PRECISION:
            raise ToolError(f"logarithm: precision must be an integer of at most {MAX_PRECISION} digits.")
        try:
            context = _mp_context(precision)
            # BFCL quirk: a negative value or base gives a complex mpc result, 0 gives -inf; not errors.
            return {"result": context.log(value) / context.log(base)}
        except ZeroDivisionError:
            raise ToolError(
                f"logarithm: base {_show(base)} has a logarithm of 0 (division by zero); use a positive base "
                f"other than 1."
            ) from None
        except Exception as exc:  # BFCL reports every mpmath failure as an error
            raise ToolError(f"logarithm: cannot compute it ({type(exc).__name__}: {exc}).") from None

    @tool
    def mean(self, numbers: list[float]) -> dict[str, Any]:
        """Calculate the mean (average) of a list of numbers.

        Args:
            numbers: The numbers to average.

        Returns:
            result: The mean of the numbers.
        """
        values = _numbers("mean", numbers, "mean")
        with _arithmetic("mean"):
            return _result("mean", sum(values) / len(values))

    @tool
    def standard_deviation(self, numbers: list[float]) -> dict[str, Any]:
        """Calculate the standard deviation of a list of numbers (the population one: dividing by n).

        Args:
            numbers: The numbers to calculate the standard deviation of.

        Returns:
            result: The standard deviation of the numbers.
        """
        values = _numbers("standard_deviation", numbers, "standard deviation")
        with _arithmetic("standard_deviation"):
            mean = sum(values) / len(values)
            variance = sum((x - mean) ** 2 for x in values) / len(values)
            return _result("standard_deviation", math.sqrt(variance))

    @tool
    def si_unit_conversion(self, value: float, unit_in: str, unit_out: str) -> dict[str, Any]:
        """Convert a length from one SI unit to another.

        Args:
            value: The value to convert.
            unit_in: The unit of the value: one of 'km', 'm', 'cm', 'mm', 'um', 'nm'.
            unit_out: The unit to convert to: one of 'km', 'm', 'cm', 'mm', 'um', 'nm'.

        Returns:
            result: The value in the new unit.
        """
        _number("si_unit_conversion", "value", value)
        if unit_in not in TO_METERS or unit_out not in FROM_METERS:
            raise ToolError(
                f"si_unit_conversion: cannot convert from {_show(unit_in, 30)} to {_show(unit_out, 30)}; both "
                f"units must be one of {', '.join(TO_METERS)}. For imperial units use imperial_si_conversion."
            )
        with _arithmetic("si_unit_conversion"):
            return _result("si_unit_conversion", value * TO_METERS[unit_in] * FROM_METERS[unit_out])

    @tool
    def imperial_si_conversion(self, value: float, unit_in: str, unit_out: str) -> dict[str, Any]:
        """Convert a value between imperial and SI units (length, mass, temperature).

        Args:
            value: The value to convert.
            unit_in: The unit of the value, e.g. 'cm', 'in', 'm', 'ft', 'yd', 'km', 'miles', 'kg', 'lb',
                'celsius', 'fahrenheit'.
            unit_out: The unit to convert to.

        Returns:
            result: The value in the new unit.
        """
        _number("imperial_si_conversion", "value", value)
        if unit_in == unit_out:
            return _result("imperial_si_conversion", value)  # BFCL quirk: any unit, even an unknown one
        factor = IMPERIAL_FACTORS.get((unit_in, unit_out))
        if factor is None:
            pairs = ", ".join(f"{a}->{b}" for a, b in IMPERIAL_FACTORS)
            raise ToolError(
                f"imperial_si_conversion: cannot convert from {_show(unit_in, 30)} to {_show(unit_out, 30)}. "
                f"Supported conversions: {pairs}."
            )
        with _arithmetic("imperial_si_conversion"):
            if (unit_in, unit_out) == ("celsius", "fahrenheit"):
                return _result("imperial_si_conversion", value * factor + 32)
            if (unit_in, unit_out) == ("fahrenheit", "celsius"):
                return _result("imperial_si_conversion", (value - 32) * factor)
            return _result("imperial_si_conversion", value * factor)

    @tool
    def add(self, a: float, b: float) -> dict[str, Any]:
        """Add two numbers.

        Args:
            a: The first number.
            b: The second number.

        Returns:
            result: The sum of the two numbers.
        """
        self._operands("add", a, b)
        with _arithmetic("add"):
            return _result("add", a + b)

    @tool
    def subtract(self, a: float, b: float) -> dict[str, Any]:
        """Subtract one number from another.

        Args:
            a: The number to subtract from.
            b: The number to subtract.

        Returns:
            result: The difference a - b.
        """
        self._operands("subtract", a, b)
        with _arithmetic("subtract"):
            return _result("subtract", a - b)

    @tool
    def multiply(self, a: float, b: float) -> dict[str, Any]:
        """Multiply two numbers.

        Args:
            a: The first number.
            b: The second number.

        Returns:
            result: The product of the two numbers.
        """
        self._operands("multiply", a, b)
        with _arithmetic("multiply"):
            return _result("multiply", a * b)

    @tool
    def divide(self, a: float, b: float) -> dict[str, Any]:
        """Divide one number by another.

        Args:
            a: The numerator.
            b: The denominator; it must not be zero.

        Returns:
            result: The quotient a / b (always a float).
        """
        self._operands("divide", a, b)
        if b == 0:
            raise ToolError("divide: cannot divide by zero; pass a non-zero denominator b.")
        with _arithmetic("divide"):
            return _result("divide", a / b)

    @tool
    def power(self, base: float, exponent: float) -> dict[str, Any]:
        """Raise a number to a power.

        Args:
            base: The base number.
            exponent: The exponent.

        Returns:
            result: base raised to the power of exponent.
        """
        self._operands("power", base, exponent, names=("base", "exponent"))
        if isinstance(base, int) and isinstance(exponent, int) and exponent > 0:
            # An exact integer power has at least exponent * (bits - 1) + 1 bits: refuse before computing it.
            if exponent * (abs(base).bit_length() - 1) >= MAX_INT_BITS:
                raise ToolError(
                    f"power: {_show(base, 30)} ** {_show(exponent, 30)} is an integer of more than "
                    f"{MAX_INT_BITS * 3 // 10} digits, too large to return. Use a float base (e.g. 2.0) for an "
                    f"approximate value, or a smaller exponent."
                )
        with _arithmetic("power"):
            return _result("power", base**exponent)  # BFCL quirk: a negative base ** a fraction is complex

    @tool
    def square_root(self, number: float, precision: int) -> dict[str, Any]:
        """Calculate the square root of a number, with adjustable precision (using the decimal module).

        Args:
            number: The number to take the square root of; it must not be negative.
            precision: The precision of the result, in significant decimal digits: a whole number, at least 1.

        Returns:
            result: The square root of the number.
        """
        _number("square_root", "number", number)
        if number < 0:
            raise ToolError(
                f"square_root: {_show(number)} is negative and has no real square root; pass a number >= 0."
            )
        if not isinstance(precision, int) or not 1 <= precision <= MAX_PRECISION:  # BFCL fails on 5.0 too
            raise ToolError(
                f"square_root: precision must be a whole number from 1 to {MAX_PRECISION} written without a "
                f"decimal point (e.g. 5, not 5.0), got {_show(precision)}."
            )
        context = decimal.Context(prec=precision, **_DECIMAL_DEFAULTS)
        try:
            # Decimal(float) is the float's exact binary value, as in BFCL; the result prints as Decimal('...').
            return {"result": context.sqrt(decimal.Decimal(number))}
        except decimal.InvalidOperation:
            raise ToolError(f"square_root: cannot take the square root of {_show(number)}.") from None

    @tool
    def absolute_value(self, number: float) -> dict[str, Any]:
        """Calculate the absolute value of a number.

        Args:
            number: The number to take the absolute value of.

        Returns:
            result: The absolute value of the number.
        """
        _number("absolute_value", "number", number)
        return _result("absolute_value", abs(number))

    @tool
    def round_number(self, number: float, decimal_places: int = 0) -> dict[str, Any]:
        """Round a number to a given number of decimal places.

        Args:
            number: The number to round.
            decimal_places: The number of decimal places to round to (negative rounds to tens, hundreds, ...).
                Defaults to 0.

        Returns:
            result: The rounded number (Python's round: halves go to the even digit; a float stays a float).
        """
        _number("round_number", "number", number)
        if (
            not isinstance(decimal_places, int) or abs(decimal_places) > MAX_DECIMAL_PLACES
        ):  # BFCL fails on 2.0
            raise ToolError(
                f"round_number: decimal_places must be a whole number from -{MAX_DECIMAL_PLACES} to "
                f"{MAX_DECIMAL_PLACES} written without a decimal point (e.g. 2, not 2.0), got "
                f"{_show(decimal_places)}."
            )
        with _arithmetic("round_number"):
            return _result("round_number", round(number, decimal_places))

    @tool
    def percentage(self, part: float, whole: float) -> dict[str, Any]:
        """Calculate what percentage a part is of a whole.

        Args:
            part: The part.
            whole: The whole; it must not be zero.

        Returns:
            result: The part as a percentage of the whole, computed as part / whole * 100.
        """
        self._operands("percentage", part, whole, names=("part", "whole"))
        if whole == 0:
            raise ToolError("percentage: the whole cannot be zero; pass a non-zero whole.")
        with _arithmetic("percentage"):
            return _result("percentage", (part / whole) * 100)  # this order: the float digits matter

    @tool
    def min_value(self, numbers: list[float]) -> dict[str, Any]:
        """Find the smallest value in a list of numbers.

        Args:
            numbers: The numbers to find the minimum of.

        Returns:
            result: The smallest number, as given (an integer stays an integer).
        """
        return _result("min_value", min(_numbers("min_value", numbers, "minimum")))

    @tool
    def max_value(self, numbers: list[float]) -> dict[str, Any]:
        """Find the largest value in a list of numbers.

        Args:
            numbers: The numbers to find the maximum of.

        Returns:
            result: The largest number, as given (an integer stays an integer).
        """
        return _result("max_value", max(_numbers("max_value", numbers, "maximum")))

    @tool
    def sum_values(self, numbers: list[float]) -> dict[str, Any]:
        """Calculate the sum of a list of numbers.

        Args:
            numbers: The numbers to add up.

        Returns:
            result: The sum of the numbers.
        """
        values = _numbers("sum_values", numbers, "sum")
        with _arithmetic("sum_values"):
            return _result("sum_values", sum(values))

    @staticmethod
    def _operands(tool: str, first: Any, second: Any, names: tuple[str, str] = ("a", "b")) -> None:
        _number(tool, names[0], first)
        _number(tool, names[1], second)


register_domain(MathAPI, order=80)
