"""The data and checks of the vehicle domain (:mod:`envtune_gym.domains.vehicle`): BFCL's limits, doors, zipcodes
and distances, the config and status field maps, the shape of its long-context padding, and the argument checks.

Example:
    >>> ZIPCODES["Rivermist"], DISTANCES[frozenset(("83214", "74532"))], choices(HEADLIGHT_MODES)
    ('83214', 750.0, "'on', 'off', 'auto'")
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

from envtune_gym.domains.base import ToolError

#: BFCL's default RNG seed (a config may set ``random_seed``).
DEFAULT_SEED = 141053
#: Tank capacity in gallons, and the lowest level the tank may hold.
MAX_FUEL_LEVEL = 50
MIN_FUEL_LEVEL = 0.0
MILES_PER_GALLON = 20.0
LITERS_PER_GALLON = 3.78541
GALLONS_PER_LITER = 0.264172
#: Force of a fully pressed brake pedal, and of an engaged parking brake, in Newtons.
MAX_BRAKE_FORCE = 1000
PARKING_BRAKE_FORCE = 500.0
#: BFCL quirk: engaging or releasing the parking brake always sets the slope angle to 10 degrees.
PARKING_SLOPE_ANGLE = 10.0
#: Cruise-control speeds: from 0 to 120, in steps of 5.
MAX_CRUISE_SPEED = 120
CRUISE_SPEED_STEP = 5
#: Longest string a tool stores or echoes (a destination, a log message, a climate mode).
MAX_TEXT_CHARS = 10_000
#: Most items a list argument may hold (doors, log messages).
MAX_LIST_ITEMS = 1_000
#: Most characters of text in one display_log call.
MAX_LOG_CHARS = 100_000

DOORS = ("driver", "passenger", "rear_left", "rear_right")
HEADLIGHT_MODES = ("on", "off", "auto")
ZIPCODES = {
    "Rivermist": "83214", "Stonebrook": "74532", "Maplecrest": "56108", "Silverpine": "62947",
    "Shadowridge": "71354", "Sunset Valley": "83462", "Oakendale": "47329", "Willowbend": "52013",
    "Crescent Hollow": "69238", "Autumnville": "51479", "San Francisco": "94016",
}  # fmt: skip
UNKNOWN_ZIPCODE = "00000"
#: Distances in km between two zipcodes, either way round.
DISTANCES = {
    frozenset(pair): km
    for pair, km in [
        (("83214", "74532"), 750.0), (("56108", "62947"), 320.0), (("71354", "83462"), 450.0),
        (("47329", "52013"), 290.0), (("69238", "51479"), 630.0), (("94016", "83214"), 980.0),
        (("94016", "94704"), 600.0), (("94704", "08540"), 2550.0), (("94016", "08540"), 1950.0),
        (("62947", "47329"), 1053.0), (("94016", "62947"), 780.0), (("74532", "94016"), 880.0),
    ]
}  # fmt: skip
TIRE_SHOP = "456 Oakwood Avenue, Rivermist, 83214"
#: Mean tire pressure (psi) counted as healthy, bounds included.
HEALTHY_TIRE_PRESSURE = (30, 35)

#: Config key -> (attribute, default). BFCL quirks: the engine state is read from ``engineState``, the brake
#: forces and the slope from keys without the attribute's underscore; ``remainingUnlockedDoors`` is not read
#: (it is recomputed from the doors). The door defaults are built per instance, see ``load_scenario``.
CONFIG_FIELDS: dict[str, tuple[str, Any]] = {
    "fuelLevel": ("fuelLevel", 0.0), "batteryVoltage": ("batteryVoltage", 12.6),
    "engineState": ("engine_state", "stopped"), "acTemperature": ("acTemperature", 25.0),
    "fanSpeed": ("fanSpeed", 50), "acMode": ("acMode", "auto"), "humidityLevel": ("humidityLevel", 50.0),
    "headLightStatus": ("headLightStatus", "off"), "parkingBrakeStatus": ("parkingBrakeStatus", "released"),
    "parkingBrakeForce": ("_parkingBrakeForce", 0.0), "slopeAngle": ("_slopeAngle", 0.0),
    "brakePedalStatus": ("brakePedalStatus", "released"), "brakePedalForce": ("_brakePedalForce", 0.0),
    "distanceToNextVehicle": ("distanceToNextVehicle", 50.0), "cruiseStatus": ("cruiseStatus", "inactive"),
    "destination": ("destination", "None"),  # BFCL quirk: the string "None"
    "frontLeftTirePressure": ("frontLeftTirePressure", 32.0),
    "frontRightTirePressure": ("frontRightTirePressure", 32.0),
    "rearLeftTirePressure": ("rearLeftTirePressure", 30.0),
    "rearRightTirePressure": ("rearRightTirePressure", 30.0),
}  # fmt: skip
#: displayCarStatus option -> (result key, attribute) pairs, in BFCL's key order.
STATUS_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "fuel": (("fuelLevel", "fuelLevel"),),
    "battery": (("batteryVoltage", "batteryVoltage"),),
    "doors": (("doorStatus", "doorStatus"),),
    "climate": (("currentACTemperature", "acTemperature"), ("fanSpeed", "fanSpeed"), ("climateMode", "acMode"),
                ("humidityLevel", "humidityLevel")),
    "headlights": (("headlightStatus", "headLightStatus"),),
    "parkingBrake": (("parkingBrakeStatus", "parkingBrakeStatus"), ("parkingBrakeForce", "_parkingBrakeForce"),
                     ("slopeAngle", "_slopeAngle")),
    "brakePedal": (("brakePedalStatus", "brakePedalStatus"), ("brakePedalForce", "_brakePedalForce")),
    "engine": (("engineState", "engine_state"),),
}  # fmt: skip
STATUS_OPTIONS = tuple(STATUS_FIELDS)


class LongContext(NamedTuple):
    """BFCL's long-context texts of vehicle results (``long_context_vehicle.json``)."""

    car_metadata: str  # put first in displayCarStatus results, and as check_tire_pressure's car_info
    cities: tuple[str, ...]  # added to every estimate_distance result
    weather: dict[str, Any]  # 15 days of weather, returned with the outside temperature; never handed out
    parking_instruction: str  # put first in activateParkingBrake results

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LongContext:
        """The padding from the data file's JSON (BFCL's constants, by their names)."""
        return cls(
            data["CAR_STATUS_METADATA_EXTENSION"],
            tuple(data["INTERMEDIARY_CITIES"]),
            data["LONG_WEATHER_EXTENSION"],
            data["PARKING_BRAKE_INSTRUCTION"],
        )


def number(tool: str, name: str, value: Any) -> int | float:
    """``value`` itself if it is a real number BFCL's arithmetic can use; else a ToolError.

    Booleans pass, as in BFCL (``True`` is 1). NaN and integers beyond float range are refused: NaN would make the
    state unequal to itself, and huge integers overflow or cannot be printed.
    """
    if not isinstance(value, int | float):
        raise ToolError(f"{tool}: {name} must be a number, got {show(value)}.")
    if isinstance(value, float) and math.isnan(value):
        raise ToolError(f"{tool}: {name} must be a number, not NaN.")
    if isinstance(value, int):
        try:
            float(value)
        except OverflowError:
            raise ToolError(f"{tool}: {name} is too large; use a number between -1e308 and 1e308.") from None
    return value


def to_float(tool: str, name: str, value: Any) -> float:
    """``float(value)`` as BFCL converts cruise-control arguments (numeric strings too), or a ToolError."""
    if isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise ToolError(f"{tool}: {name} must be a number, got a {len(value)}-character string.")
        try:
            return number(tool, name, float(value))
        except ValueError:
            raise ToolError(f"{tool}: {name} must be a number, got {show(value)}.") from None
    return float(number(tool, name, value))


def text_arg(tool: str, name: str, value: Any, limit: int = MAX_TEXT_CHARS) -> str:
    """``value`` if it is a string of at most ``limit`` characters; else a ToolError."""
    if not isinstance(value, str):
        raise ToolError(f"{tool}: {name} must be a string, got {show(value)}.")
    if len(value) > limit:
        raise ToolError(f"{tool}: {name} is {len(value)} characters long; use at most {limit}.")
    return value


def show(value: Any, limit: int = 60) -> str:
    """A value for a message: its type and a short repr."""
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= limit else text[: limit - 3] + '...'}"


def choices(values: tuple[str, ...]) -> str:
    """Allowed values for a message, e.g. ``'on', 'off', 'auto'``."""
    return ", ".join(repr(v) for v in values)
