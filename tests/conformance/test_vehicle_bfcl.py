"""Conformance of :class:`envtune_gym.domains.vehicle.VehicleControlAPI` with BFCL's ``VehicleControlAPI``.

Two checks, both against the reference package (skipped when it is not installed):

* every ground-truth VehicleControlAPI call of BFCL's four multi-turn categories is replayed on both
  implementations: the result strings must be identical and the states equal (values and types, brake forces,
  slope and RNG included) after every call and every turn;
* random call sequences (valid and invalid arguments, unknown doors, calls out of order, repeated calls) on a few
  scenarios: when the reference succeeds ours returns the same string, when it fails ours raises ToolError, and
  the states stay equal after every call. Where ours deliberately differs (see ``deliberate_deviation``), ours
  must refuse and change nothing, and the call is not run on the reference.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import pytest

from envtune_gym.domains.vehicle import MAX_LIST_ITEMS, MAX_TEXT_CHARS, VehicleControlAPI
from tests import bfcl_support as bfcl

pytestmark = pytest.mark.bfcl

reference_data = bfcl.reference_module("long_context")
#: Ground-truth VehicleControlAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 314, "long_context": 314, "miss_func": 314, "miss_param": 314}
#: Private attributes that shape results (displayCarStatus, startEngine) though the checker does not compare them.
PRIVATE = ("_brakePedalForce", "_parkingBrakeForce", "_slopeAngle")
#: Failing calls after which BFCL's state has changed (and ours, on purpose, the same way).
STATE_CHANGING_FAILURES = ("startEngine", "setCruiseControl")


@pytest.fixture(autouse=True)
def restore_bfcl_weather() -> Iterator[None]:
    """BFCL's long-context get_outside_temperature_from_google writes into a module-level dict: undo it."""
    saved = copy.deepcopy(reference_data.LONG_WEATHER_EXTENSION)
    yield
    reference_data.LONG_WEATHER_EXTENSION.clear()
    reference_data.LONG_WEATHER_EXTENSION.update(saved)


# ------------------------------------------------------------------------------------------------------------
# Helpers


def typed(value: Any) -> Any:
    """A value with its type spelled out, recursively, so 1000 and 1000.0 (or True and 1) differ."""
    if isinstance(value, dict):
        return {key: typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [typed(item) for item in value]
    return (type(value).__name__, repr(value))


def snapshot(car: Any) -> dict[str, Any]:
    """Compared state (public attributes) plus the private values that shape results, and the RNG state."""
    state = {key: typed(value) for key, value in bfcl.public_state(car).items()}
    state.update({key: typed(getattr(car, key)) for key in PRIVATE})
    state["_random"] = car._random.getstate()
    return state


def failure_rule(tool: str, before: dict[str, Any], after: dict[str, Any], where: str) -> str:
    """A failing call changes nothing, but for the few that change BFCL's state too (checked equal after)."""
    if tool in STATE_CHANGING_FAILURES:
        return "agree_error"
    return bfcl.unchanged_on_failure(tool, before, after, where)


DOMAIN = bfcl.Conformance(
    "VehicleControlAPI", VehicleControlAPI, snapshot=snapshot, failure_rule=failure_rule
)


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", bfcl.CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = bfcl.replay_ground_truth(DOMAIN, category, after_each_call=True)
    bfcl.assert_call_count(compared, EXPECTED_CALLS[category], at_least=201)


def test_ground_truth_uses_the_rng_and_long_context_results() -> None:
    """The replay covers RNG draws and the long-context result texts, not only plain calls."""
    used = {
        bfcl.parse_call(gt.call)[0]
        for gt in bfcl.ground_truth_calls("long_context", DOMAIN.class_name, DOMAIN.specs)
    }
    assert "get_outside_temperature_from_google" in used
    assert {"displayCarStatus", "activateParkingBrake", "estimate_distance", "check_tire_pressure"} <= used


# ------------------------------------------------------------------------------------------------------------
# Differential testing on random call sequences

UNKNOWN_DOORS = ["trunk", "Driver", "", "rear-left"]
ZIPS = ["83214", "74532", "56108", "62947", "71354", "83462", "47329", "52013", "69238", "51479", "94016",
        "94704", "08540", "00000", "12345", 83214]  # fmt: skip
CITIES = ["Rivermist", "Stonebrook", "Maplecrest", "Silverpine", "Shadowridge", "Sunset Valley", "Oakendale",
          "Willowbend", "Crescent Hollow", "Autumnville", "San Francisco", "Berkeley", "rivermist", "", None]  # fmt: skip
NUMBERS = [0, 0.0, -0.0, 1, 1.0, 0.5, 0.9999999, 2, 5, 10, 13.2, 36.8, 40, 49.9, 50, 60, 62.5, 65, 100, 101, 120,
           125, -1, -5, -0.1, 1.5, 1e308, -1e308, math.inf, -math.inf, True, False, 10**300, 10**400, math.nan,
           "60", " 65 ", "1e1", "abc", "", None, [5]]  # fmt: skip


class CallMaker(bfcl.RandomCalls):
    """Random calls over every tool: well-formed ones, wrong values, wrong types, and edge numbers."""

    specs = DOMAIN.specs
    weights = dict.fromkeys(("lockDoors", "pressBrakePedal", "startEngine", "setCruiseControl"), 4)
    gap = "keywords"  # a skipped optional parameter: the rest must go by keyword

    def number(self) -> Any:
        return self.rng.choice(NUMBERS) if self.rng.random() < 0.6 else round(self.rng.uniform(-20, 130), 1)

    def doors(self) -> Any:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05:
            return rng.choice(["driver", ("driver", "passenger"), {"driver"}, None, [["driver"]]])
        names = rng.sample(["driver", "passenger", "rear_left", "rear_right"], rng.randint(0, 4))
        names += rng.choices(names, k=rng.randint(0, 1)) if names else []  # a repeated door
        if roll < 0.2:
            names.insert(rng.randint(0, len(names)), rng.choice(UNKNOWN_DOORS + [1]))
        return names

    def arguments(self, tool: str) -> dict[str, Any]:
        rng = self.rng
        text = lambda *extra: rng.choice(["", "x", "123 Pine St, San Francisco, CA 94016", *extra])  # noqa: E731
        makers = {
            "startEngine": lambda: {
                "ignitionMode": rng.choice(["START"] * 4 + ["STOP", "start", "", "RUN", None])
            },
            "fillFuelTank": lambda: {"fuelAmount": self.number()},
            "lockDoors": lambda: {
                "unlock": rng.choice([True, False, False, 0, 1, "yes"]),
                "door": self.doors(),
            },
            "adjustClimateControl": lambda: {
                "temperature": self.number(),
                **(
                    {"unit": rng.choice(["celsius", "fahrenheit", "kelvin", "Fahrenheit", 1])}
                    if rng.random() < 0.7
                    else {}
                ),
                **(
                    {"fanSpeed": rng.choice([0, 30, 50, 100, 101, -1, 30.5, True, "50", math.nan])}
                    if rng.random() < 0.6
                    else {}
                ),
                **(
                    {"mode": rng.choice(["auto", "cool", "heat", "defrost", "turbo", None])}
                    if rng.random() < 0.6
                    else {}
                ),
            },  # fmt: skip
            "get_outside_temperature_from_google": dict,
            "get_outside_temperature_from_weather_com": dict,
            "setHeadlights": lambda: {"mode": rng.choice(["on", "off", "auto", "ON", "blink", None])},
            "displayCarStatus": lambda: {"option": rng.choice([*SPECS_OPTIONS, "tires", "Fuel", "", None])},
            "activateParkingBrake": lambda: {"mode": rng.choice(["engage", "release", "hold", None])},
            "pressBrakePedal": lambda: {"pedalPosition": rng.choice([1.0, 1.0, 1, 0, 0.5, *NUMBERS])},
            "releaseBrakePedal": dict,
            "setCruiseControl": lambda: {
                "speed": self.number(),
                "activate": rng.choice([True, True, False, 0, 1]),
                "distanceToNextVehicle": self.number(),
            },
            "get_current_speed": dict,
            "display_log": lambda: {
                "messages": rng.choice(
                    [[], ["a"], ["start", "stop"], "text", [1, "a"], ("a",), ["x" * 20] * 3]
                )
            },
            "estimate_drive_feasibility_by_mileage": lambda: {"distance": self.number()},
            "liter_to_gallon": lambda: {"liter": self.number()},
            "gallon_to_liter": lambda: {"gallon": self.number()},
            "estimate_distance": lambda: {"cityA": rng.choice(ZIPS), "cityB": rng.choice(ZIPS)},
            "get_zipcode_based_on_city": lambda: {"city": rng.choice(CITIES)},
            "set_navigation": lambda: {"destination": text("Rivermist", None, 5, "y" * (MAX_TEXT_CHARS + 1))},
            "check_tire_pressure": dict,
            "find_nearest_tire_shop": dict,
        }
        return makers[tool]()


SPECS_OPTIONS = ["fuel", "battery", "doors", "climate", "headlights", "parkingBrake", "brakePedal", "engine"]


def _bad_number(value: Any) -> bool:
    """A number ours refuses where BFCL may compute with it: NaN, or an integer beyond float range."""
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            return True
    if isinstance(value, str):  # cruise control converts numeric strings with float()
        try:
            return math.isnan(float(value))
        except ValueError:
            return False
    return False


def deliberate_deviation(reference: Any, ours: VehicleControlAPI, tool: str, bound: dict[str, Any]) -> bool:
    """Calls ours refuses (changing nothing) while BFCL computes something or changes part of the state."""
    doors = ours.doorStatus
    if any(_bad_number(value) for value in bound.values()):
        return True
    if tool == "lockDoors":
        door = bound["door"]
        if not isinstance(door, list | tuple):
            return True  # BFCL iterates anything (a set, a string's characters)
        # BFCL changes the doors before an unknown one, then raises
        return any(not isinstance(name, str) or name not in doors for name in door)
    if tool == "adjustClimateControl":
        temperature = bound["temperature"]
        strings = all(isinstance(bound.get(key, ""), str) for key in ("unit", "mode"))
        return not strings or not isinstance(temperature, int | float)  # BFCL stores any temperature
    if tool == "set_navigation":
        return not isinstance(bound["destination"], str) or len(bound["destination"]) > MAX_TEXT_CHARS
    if tool == "display_log":
        messages = bound["messages"]
        listed = isinstance(messages, list | tuple) and len(messages) <= MAX_LIST_ITEMS
        return not listed or not all(isinstance(message, str) for message in messages)
    return False


SEQUENCES, CALLS_PER_SEQUENCE = 150, 40
SCENARIOS = bfcl.scenarios(
    "VehicleControlAPI",
    {"base": ["multi_turn_base_57", "multi_turn_base_94"], "long_context": ["multi_turn_long_context_78"]},
    extra=[
        ("defaults", {}, False),
        (
            "odd config",  # fewer doors, odd statuses, int values, a running engine, a pressed pedal
            {
                "doorStatus": {"driver": "locked", "passenger": "open", "trunk": "unlocked"},
                "remainingUnlockedDoors": 0,
                "engineState": "running",
                "fuelLevel": 10,
                "brakePedalStatus": "pressed",
                "brakePedalForce": 1000.0,
                "parkingBrakeForce": 250,
                "slopeAngle": 3.5,
                "frontLeftTirePressure": 35,
                "random_seed": 7,
            },
            True,
        ),
    ],
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_random_call_sequences_agree_with_bfcl(scenario: bfcl.Scenario) -> None:
    counts = bfcl.differential_run(
        DOMAIN, scenario, CallMaker, SEQUENCES, CALLS_PER_SEQUENCE, deliberate_deviation
    )
    assert counts["agree_ok"] > 2000 and counts["agree_error"] > 1000 and counts["deviation"] > 200, counts
