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
import importlib.metadata
import math
import random
from collections.abc import Iterator
from typing import Any

import pytest

bfcl_eval = pytest.importorskip(
    "bfcl_eval", reason="needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
)
from bfcl_eval.eval_checker.multi_turn_eval.func_source_code import long_context as reference_data  # noqa: E402

from envtune_gym.domains.base import ToolError  # noqa: E402
from envtune_gym.domains.vehicle import MAX_LIST_ITEMS, MAX_TEXT_CHARS, VehicleControlAPI  # noqa: E402
from envtune_gym.tools import tool_specs  # noqa: E402
from tests.bfcl_support import (  # noqa: E402
    CATEGORIES,
    load_category,
    parse_call,
    public_state,
    reference_class,
    run_ours,
    run_reference,
)

pytestmark = pytest.mark.bfcl

Reference = reference_class("VehicleControlAPI")
SPECS = {spec.name: spec for spec in tool_specs(VehicleControlAPI)}
#: Ground-truth VehicleControlAPI calls per category in bfcl-eval 2026.3.23 (checked exactly on that version).
EXPECTED_CALLS = {"base": 314, "long_context": 314, "miss_func": 314, "miss_param": 314}
PINNED = importlib.metadata.version("bfcl-eval") == "2026.3.23"
#: Private attributes that shape results (displayCarStatus, startEngine) though the checker does not compare them.
PRIVATE = ("_brakePedalForce", "_parkingBrakeForce", "_slopeAngle")


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
    state = {key: typed(value) for key, value in public_state(car).items()}
    state.update({key: typed(getattr(car, key)) for key in PRIVATE})
    state["_random"] = car._random.getstate()
    return state


def assert_same_state(ours: VehicleControlAPI, reference: Any, where: str) -> None:
    assert ours.state() == public_state(reference), where  # the checker's rule: == on every public attribute
    assert snapshot(ours) == snapshot(reference), where


def build_pair(config: dict, long_context: bool) -> tuple[Any, VehicleControlAPI]:
    reference = Reference()
    reference._load_scenario(copy.deepcopy(config), long_context=long_context)
    ours = VehicleControlAPI()
    ours.load_scenario(copy.deepcopy(config), long_context=long_context)
    return reference, ours


def vehicle_tasks(category: str) -> list[tuple[dict, list[list[str]]]]:
    return load_category(category, "VehicleControlAPI")


# ------------------------------------------------------------------------------------------------------------
# Ground-truth replay


@pytest.mark.parametrize("category", CATEGORIES)
def test_ground_truth_replay_matches_bfcl(category: str) -> None:
    compared = 0
    for entry, turns in vehicle_tasks(category):
        config = entry["initial_config"].get("VehicleControlAPI", {})
        reference, ours = build_pair(config, long_context=category == "long_context")
        assert_same_state(ours, reference, f"{entry['id']} initially")
        for number, turn in enumerate(turns):
            for call in turn:
                name, args, kwargs = parse_call(call)
                if name not in SPECS:
                    continue  # another class's call
                expected, failed = run_reference(reference, name, args, kwargs)
                assert not failed, f"{entry['id']}: the ground truth itself failed: {call} -> {expected}"
                got, _ = run_ours(ours, name, args, kwargs)
                assert got == expected, f"{entry['id']} turn {number}: {call}"
                assert_same_state(ours, reference, f"{entry['id']} turn {number}: {call}")
                compared += 1
            assert_same_state(ours, reference, f"{entry['id']} after turn {number}")
    if PINNED:
        assert compared == EXPECTED_CALLS[category], f"compared {compared} GT calls in {category}"
    assert compared > 200, f"compared only {compared} GT calls in {category}"


def test_ground_truth_uses_the_rng_and_long_context_results() -> None:
    """The replay covers RNG draws and the long-context result texts, not only plain calls."""
    used = {category: set() for category in CATEGORIES}
    for category in CATEGORIES:
        for _, turns in vehicle_tasks(category):
            used[category].update(parse_call(call)[0] for turn in turns for call in turn)
    assert "get_outside_temperature_from_google" in used["long_context"]
    assert {"displayCarStatus", "activateParkingBrake", "estimate_distance", "check_tire_pressure"} <= used[
        "long_context"
    ]


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


class CallMaker:
    """Random calls over every tool: well-formed ones, wrong values, wrong types, and edge numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

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

    def call(self) -> tuple[str, list, dict]:
        tools = list(SPECS)
        weights = [
            4 if t in ("lockDoors", "pressBrakePedal", "startEngine", "setCruiseControl") else 1
            for t in tools
        ]
        tool = self.rng.choices(tools, weights)[0]
        kwargs = self.arguments(tool)
        order = [p for p in SPECS[tool].param_order if p in kwargs]
        cut = self.rng.randint(0, len(order))  # some arguments by position, in the tool's order
        if order[:cut] != list(SPECS[tool].param_order[:cut]):
            cut = 0  # a skipped optional parameter: the rest must go by keyword
        return tool, [kwargs.pop(p) for p in order[:cut]], kwargs


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


def deliberate_deviation(tool: str, bound: dict[str, Any], doors: dict[str, Any]) -> bool:
    """Calls ours refuses (changing nothing) while BFCL computes something or changes part of the state."""
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


def _scenarios() -> list[tuple[str, dict, bool]]:
    found: list[tuple[str, dict, bool]] = [
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
    ]
    wanted = {
        "base": ["multi_turn_base_57", "multi_turn_base_94"],
        "long_context": ["multi_turn_long_context_78"],
    }
    for category, ids in wanted.items():
        for entry, _ in vehicle_tasks(category):
            if entry["id"] in ids:
                found.append(
                    (entry["id"], entry["initial_config"]["VehicleControlAPI"], category == "long_context")
                )
    assert len(found) == 5, [label for label, _, _ in found]
    return found


SEQUENCES, CALLS_PER_SEQUENCE = 150, 40
#: Failing calls after which BFCL's state has changed (and ours, on purpose, the same way).
STATE_CHANGING_FAILURES = ("startEngine", "setCruiseControl")


@pytest.mark.parametrize("scenario", _scenarios(), ids=lambda s: s[0])
def test_random_call_sequences_agree_with_bfcl(scenario: tuple[str, dict, bool]) -> None:
    label, config, long_context = scenario
    counts = {"agree_ok": 0, "agree_error": 0, "deviation": 0}
    for seed in range(SEQUENCES):
        maker = CallMaker(random.Random(f"{label}-{seed}"))
        reference, ours = build_pair(config, long_context)
        for _ in range(CALLS_PER_SEQUENCE):
            tool, args, kwargs = maker.call()
            where = f"{label} seed {seed}: {tool}(*{args!r}, **{kwargs!r})"
            before = snapshot(ours)
            bound = dict(zip(SPECS[tool].param_order, args, strict=False), **kwargs)
            if deliberate_deviation(tool, bound, ours.doorStatus):
                with pytest.raises(ToolError):
                    getattr(ours, tool)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                assert snapshot(ours) == before, f"{where}: a refused call changed the state"
                counts["deviation"] += 1
                continue
            expected, failed = run_reference(reference, tool, args, kwargs)
            got, our_failed = run_ours(ours, tool, args, kwargs)
            assert our_failed == failed, f"{where}: reference {expected!r}, ours {got!r}"
            if failed:
                if tool not in STATE_CHANGING_FAILURES:
                    assert snapshot(ours) == before, f"{where}: a failing call changed the state"
                counts["agree_error"] += 1
            else:
                assert got == expected, where
                counts["agree_ok"] += 1
            assert_same_state(ours, reference, where)
    assert counts["agree_ok"] > 2000 and counts["agree_error"] > 1000 and counts["deviation"] > 200, counts
