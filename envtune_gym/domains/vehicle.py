"""A simulated car: a re-implementation of BFCL's ``VehicleControlAPI``.

Given the same initial config and the same calls, it ends in the same state as BFCL's class and its successful
calls return the same result strings (after :func:`envtune_gym.tools.serialize_result`), random draws included:
the outside temperature and the current speed come from a private ``random.Random`` seeded as in BFCL (141053),
with the same draws in the same order. BFCL's quirks that show in results or state are kept on purpose, and
marked ``BFCL quirk`` where they are. Failures raise :class:`ToolError` with a message that says what to do next.

Failures leave the state as it was, with two exceptions kept from BFCL because the state checker sees them:
``startEngine("STOP")`` always fails but stops the engine, and ``setCruiseControl`` with an invalid speed fails
after storing the distance to the next vehicle. Both messages say what changed.

Deliberate differences: BFCL's error dicts and its crashes become our own ToolError messages; ``lockDoors`` with
an unknown door changes nothing (BFCL changes the doors listed before it, then raises); numbers must be real
numbers within float range and not NaN (BFCL stores NaN or a huge integer in some places, or a string as the AC
temperature); ``set_navigation``, ``display_log`` and ``adjustClimateControl``'s unit and mode take strings,
bounded in length (see :mod:`~envtune_gym.domains.vehicle_data`); results never share objects with the state
or the bundled data (BFCL hands out its live door dict and writes the long-context weather into a module-level
dict).

Example:
    >>> car = VehicleControlAPI()
    >>> car.load_scenario({"fuelLevel": 10.0})
    >>> car.fillFuelTank(5), car.lockDoors(False, ["driver", "passenger"])
    ({'fuelLevel': 15.0}, {'lockStatus': 'locked', 'remainingUnlockedDoors': 2})
    >>> car.get_current_speed()  # the first draw of random.Random(141053).uniform(0.0, 120.0)
    {'currentSpeed': 111.92365689097284}
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from typing import Any, Literal

from envtune_gym.domains.base import Domain, ToolError, fresh
from envtune_gym.domains.registry import register_domain
from envtune_gym.domains.vehicle_data import (
    CONFIG_FIELDS,
    CRUISE_SPEED_STEP,
    DEFAULT_SEED,
    DISTANCES,
    DOORS,
    GALLONS_PER_LITER,
    HEADLIGHT_MODES,
    HEALTHY_TIRE_PRESSURE,
    LITERS_PER_GALLON,
    MAX_BRAKE_FORCE,
    MAX_CRUISE_SPEED,
    MAX_FUEL_LEVEL,
    MAX_LIST_ITEMS,
    MAX_LOG_CHARS,
    MAX_TEXT_CHARS,
    MILES_PER_GALLON,
    MIN_FUEL_LEVEL,
    PARKING_BRAKE_FORCE,
    PARKING_SLOPE_ANGLE,
    STATUS_FIELDS,
    STATUS_OPTIONS,
    TIRE_SHOP,
    UNKNOWN_ZIPCODE,
    ZIPCODES,
    LongContext,
    choices,
    number,
    show,
    text_arg,
    to_float,
)
from envtune_gym.results import encode_with
from envtune_gym.tools import tool

# The limits and tables live with the data; they are part of this module's interface too.
__all__ = [
    "DEFAULT_SEED",
    "DISTANCES",
    "DOORS",
    "MAX_LIST_ITEMS",
    "MAX_TEXT_CHARS",
    "STATUS_OPTIONS",
    "VehicleControlAPI",
    "ZIPCODES",
]


@functools.cache
def _constants_json(key: str) -> dict[str, str]:
    """``{key: json.dumps(padding)}`` for a long-context result key whose value is constant, encoded once."""
    padding = VehicleControlAPI.long_context_padding()
    value = {
        "metadata": padding.car_metadata,
        "car_info": padding.car_metadata,
        "parkingBrakeInstruction": padding.parking_instruction,
        "intermediaryCities": list(padding.cities),
    }[key]
    return {key: json.dumps(value)}


class VehicleControlAPI(Domain):
    """BFCL's VehicleControlAPI. Compared state: the public attributes; brake forces, slope and RNG are private."""

    name = "VehicleControlAPI"
    description = (
        "This tool belongs to the vehicle control system, which allows users to control various aspects of the "
        "car such as engine, doors, climate control, lights, and more."
    )

    init_loads_empty_scenario = True
    long_context_file = "long_context_vehicle.json"

    @classmethod
    def shape_long_context(cls, data: dict[str, Any]) -> LongContext:
        """BFCL's long-context texts (see :class:`~envtune_gym.domains.vehicle_data.LongContext`)."""
        return LongContext.from_json(data)

    def __init__(self) -> None:
        self.load_scenario({})

    # --------------------------------------------------------------------------------------------------------
    # Scenario

    def load_scenario(self, config: Mapping[str, Any], long_context: bool = False) -> None:
        """Set the car from a config; every key is optional (see ``CONFIG_FIELDS`` for the keys and defaults).

        BFCL quirks: ``remainingUnlockedDoors`` is always 4 minus the number of locked doors, whatever the config
        says and however many doors it lists; ``random_seed`` seeds the RNG (141053 by default).
        """
        self._seed_random(config.get("random_seed", DEFAULT_SEED))
        doors = config.get("doorStatus", dict.fromkeys(DOORS, "unlocked"))
        if not isinstance(doors, dict):
            raise ValueError(
                f"VehicleControlAPI config: doorStatus must map door names to statuses: {doors!r}"
            )
        for key, (attribute, default) in CONFIG_FIELDS.items():
            setattr(self, attribute, config.get(key, default))
        self.doorStatus: dict[str, Any] = doors
        self.remainingUnlockedDoors = len(DOORS) - sum(status == "locked" for status in doors.values())
        self.long_context = long_context

    # --------------------------------------------------------------------------------------------------------
    # Engine and fuel

    @tool
    def startEngine(self, ignitionMode: Literal["START", "STOP"]) -> dict[str, Any]:
        """Start the engine of the vehicle.

        Args:
            ignitionMode: The ignition mode of the vehicle: 'START' or 'STOP'.

        Returns:
            engineState: The state of the engine, 'running' or 'stopped'.
            fuelLevel: The fuel level in gallons.
            batteryVoltage: The battery voltage in volts.
        """
        if ignitionMode == "STOP":
            # BFCL quirk: 'STOP' stops the engine, yet the call always fails (no check lets it through).
            self.engine_state = "stopped"
            raise ToolError(
                "startEngine: the engine is now stopped ('STOP' stops it, and is reported as a failure). To "
                "start it, call startEngine('START') with all doors locked and the brake pedal fully pressed."
            )
        if ignitionMode != "START":
            raise ToolError(f"startEngine: invalid ignitionMode {show(ignitionMode)}; use 'START' or 'STOP'.")
        if self.remainingUnlockedDoors > 0:
            raise self._doors_unlocked()
        if self.brakePedalStatus != "pressed" or self._brakePedalForce != 1000.0:
            state = "is not pressed" if self.brakePedalStatus != "pressed" else "is not fully pressed"
            raise ToolError(
                f"startEngine: the brake pedal {state}; press it fully with pressBrakePedal(1.0), then start."
            )
        if self.fuelLevel < MIN_FUEL_LEVEL:
            raise ToolError("startEngine: the fuel tank is empty; add fuel with fillFuelTank first.")
        self.engine_state = "running"
        return {
            "engineState": self.engine_state,
            "fuelLevel": self.fuelLevel,
            "batteryVoltage": self.batteryVoltage,
        }

    def _doors_unlocked(self) -> ToolError:
        open_doors = [door for door, status in self.doorStatus.items() if status != "locked"]
        if not open_doors:  # BFCL quirk: a car listing fewer than 4 doors never counts 0 unlocked doors
            return ToolError(
                f"startEngine: the car counts {self.remainingUnlockedDoors} unlocked door(s) although every door "
                f"it has ({', '.join(self.doorStatus)}) is locked, so the engine cannot be started."
            )
        return ToolError(
            f"startEngine: all doors must be locked before starting the engine; not locked: "
            f"{', '.join(open_doors)}. Call lockDoors(unlock=False, door={open_doors!r}) first."
        )

    @tool
    def fillFuelTank(self, fuelAmount: float) -> dict[str, Any]:
        """Fill the fuel tank of the vehicle. The fuel tank can hold up to 50 gallons.

        Args:
            fuelAmount: The amount of fuel to add, in gallons: the additional fuel, not the target level.
        """
        fuelAmount = number("fillFuelTank", "fuelAmount", fuelAmount)
        if fuelAmount < 0:
            raise ToolError("fillFuelTank: fuelAmount cannot be negative; give the gallons to add.")
        level = self.fuelLevel + fuelAmount
        if level > MAX_FUEL_LEVEL:
            room = MAX_FUEL_LEVEL - self.fuelLevel
            raise ToolError(
                f"fillFuelTank: that would overfill the tank: it holds {MAX_FUEL_LEVEL} gallons and has "
                f"{self.fuelLevel} now, so add at most {room} gallons."
            )
        if level < MIN_FUEL_LEVEL:  # only when the config gave a negative level
            raise ToolError(
                f"fillFuelTank: the tank would still be below empty ({level} gallons); add at least "
                f"{MIN_FUEL_LEVEL - self.fuelLevel} gallons."
            )
        self.fuelLevel = level
        return {"fuelLevel": self.fuelLevel}

    # --------------------------------------------------------------------------------------------------------
    # Doors, climate, lights

    @tool
    def lockDoors(self, unlock: bool, door: list[str]) -> dict[str, Any]:
        """Lock or unlock doors of the vehicle.

        Args:
            unlock: True to unlock the doors, False to lock them.
            door: The doors to lock or unlock, any of 'driver', 'passenger', 'rear_left', 'rear_right'.

        Returns:
            lockStatus: 'locked' or 'unlocked', as asked.
            remainingUnlockedDoors: The number of doors still unlocked.
        """
        if not isinstance(door, list | tuple):
            raise ToolError(
                f"lockDoors: door must be a list of door names such as ['driver'], got {show(door)}."
            )
        if len(door) > MAX_LIST_ITEMS:
            raise ToolError(f"lockDoors: door lists {len(door)} names; list each door once.")
        unknown = [name for name in door if not isinstance(name, str) or name not in self.doorStatus]
        if unknown:
            raise ToolError(
                f"lockDoors: unknown door {show(unknown[0])}; nothing was changed. The doors are "
                f"{choices(tuple(self.doorStatus))}."
            )
        status = "unlocked" if unlock else "locked"
        for name in door:
            if self.doorStatus[name] != status:  # the count only moves when the status does
                self.doorStatus[name] = status
                self.remainingUnlockedDoors += 1 if unlock else -1
        return {"lockStatus": status, "remainingUnlockedDoors": self.remainingUnlockedDoors}

    @tool
    def adjustClimateControl(
        self, temperature: float, unit: str = "celsius", fanSpeed: int = 50, mode: str = "auto"
    ) -> dict[str, Any]:
        """Adjust the climate control of the vehicle.

        Args:
            temperature: The temperature to set, in degrees of the given unit (Celsius by default).
            unit: The unit of the temperature: 'celsius' or 'fahrenheit'. Defaults to 'celsius'.
            fanSpeed: The fan speed to set, from 0 to 100. Defaults to 50.
            mode: The climate mode to set: 'auto', 'cool', 'heat' or 'defrost'. Defaults to 'auto'.

        Returns:
            currentACTemperature: The temperature as given (not converted).
            climateMode: The climate mode set.
            humidityLevel: The humidity level in percent.
        """
        temperature = number("adjustClimateControl", "temperature", temperature)
        unit = text_arg("adjustClimateControl", "unit", unit)
        fanSpeed = number("adjustClimateControl", "fanSpeed", fanSpeed)
        mode = text_arg("adjustClimateControl", "mode", mode)
        if not 0 <= fanSpeed <= 100:
            raise ToolError(f"adjustClimateControl: fanSpeed must be between 0 and 100, got {fanSpeed}.")
        # BFCL quirk: the state keeps Celsius, but the result echoes the temperature as given.
        self.acTemperature = (temperature - 32) * 5 / 9 if unit == "fahrenheit" else temperature
        self.fanSpeed = fanSpeed
        self.acMode = mode
        return {"currentACTemperature": temperature, "climateMode": mode, "humidityLevel": self.humidityLevel}

    @tool
    def get_outside_temperature_from_google(self) -> dict[str, Any]:
        """Get the outside temperature, in degrees Celsius."""
        temperature = self._random.uniform(-10.0, 40.0)
        if self.long_context:  # BFCL quirk: 15 days of weather come first (a fresh copy here, never shared)
            return {**fresh(self.long_context_padding().weather), "outsideTemperature": temperature}
        return {"outsideTemperature": temperature}

    @tool
    def get_outside_temperature_from_weather_com(self) -> dict[str, Any]:
        """Get the outside temperature, in degrees Celsius."""
        # BFCL quirk: this service always fails (it returns error 404).
        raise ToolError(
            "get_outside_temperature_from_weather_com: the service is unavailable (404); use "
            "get_outside_temperature_from_google() instead."
        )

    @tool
    def setHeadlights(self, mode: Literal["on", "off", "auto"]) -> dict[str, str]:
        """Set the headlights of the vehicle.

        Args:
            mode: The headlight mode: 'on', 'off' or 'auto' ('auto' turns them off).
        """
        if mode not in HEADLIGHT_MODES:
            raise ToolError(f"setHeadlights: invalid mode {show(mode)}; use {choices(HEADLIGHT_MODES)}.")
        self.headLightStatus = "on" if mode == "on" else "off"
        return {"headlightStatus": self.headLightStatus}

    @tool
    def displayCarStatus(
        self,
        option: Literal[
            "fuel", "battery", "doors", "climate", "headlights", "parkingBrake", "brakePedal", "engine"
        ],
    ) -> dict[str, Any]:
        """Display the status of the vehicle for the given option.

        Args:
            option: What to display: 'fuel', 'battery', 'doors', 'climate', 'headlights', 'parkingBrake',
                'brakePedal' or 'engine'.

        Returns:
            status: The fields of that option, e.g. fuelLevel for 'fuel' or doorStatus for 'doors'.
        """
        if not isinstance(option, str) or option not in STATUS_FIELDS:
            raise ToolError(
                f"displayCarStatus: invalid option {show(option)}; use one of {choices(STATUS_OPTIONS)}."
            )
        # copy.copy: the door dict is handed out as a copy, never the live one
        fields = {key: copy.copy(getattr(self, attribute)) for key, attribute in STATUS_FIELDS[option]}
        # BFCL quirk: in long context the car's metadata text comes first.
        if not self.long_context:
            return fields
        return encode_with(
            {"metadata": self.long_context_padding().car_metadata, **fields}, _constants_json("metadata")
        )

    # --------------------------------------------------------------------------------------------------------
    # Brakes and cruise control

    @tool
    def activateParkingBrake(self, mode: Literal["engage", "release"]) -> dict[str, Any]:
        """Engage or release the parking brake of the vehicle.

        Args:
            mode: 'engage' to engage the parking brake, 'release' to release it.

        Returns:
            parkingBrakeStatus: The status of the parking brake, 'engaged' or 'released'.
            _parkingBrakeForce: The force applied to the brake in Newtons.
            _slopeAngle: The slope angle in degrees.
        """
        if mode not in ("engage", "release"):
            raise ToolError(f"activateParkingBrake: invalid mode {show(mode)}; use 'engage' or 'release'.")
        engage = mode == "engage"
        self.parkingBrakeStatus = "engaged" if engage else "released"
        self._parkingBrakeForce = PARKING_BRAKE_FORCE if engage else 0.0
        self._slopeAngle = PARKING_SLOPE_ANGLE
        result = {
            "parkingBrakeStatus": self.parkingBrakeStatus,
            "_parkingBrakeForce": self._parkingBrakeForce,
            "_slopeAngle": self._slopeAngle,
        }
        # BFCL quirk: in long context a long instruction text comes first.
        if not self.long_context:
            return result
        return encode_with(
            {"parkingBrakeInstruction": self.long_context_padding().parking_instruction, **result},
            _constants_json("parkingBrakeInstruction"),
        )

    @tool
    def pressBrakePedal(self, pedalPosition: float) -> dict[str, Any]:
        """Press the brake pedal to a position. The brake pedal stays pressed until released.

        Args:
            pedalPosition: The position of the brake pedal, from 0 (not pressed) to 1 (fully pressed).

        Returns:
            brakePedalStatus: 'pressed', or 'released' for position 0.
            brakePedalForce: The force on the brake pedal in Newtons (1000 when fully pressed).
        """
        pedalPosition = number("pressBrakePedal", "pedalPosition", pedalPosition)
        if not 0 <= pedalPosition <= 1:
            raise ToolError(
                f"pressBrakePedal: pedalPosition must be between 0 and 1 (1.0 presses it fully), got {pedalPosition}."
            )
        if pedalPosition == 0:
            return self.releaseBrakePedal()
        self.brakePedalStatus = "pressed"
        # BFCL quirk: the force is kept as computed (an int for 1 or True), the result shows it as a float
        self._brakePedalForce = pedalPosition * MAX_BRAKE_FORCE
        return {"brakePedalStatus": "pressed", "brakePedalForce": float(self._brakePedalForce)}

    @tool
    def releaseBrakePedal(self) -> dict[str, Any]:
        """Release the brake pedal of the vehicle."""
        self.brakePedalStatus = "released"
        self._brakePedalForce = 0.0
        return {"brakePedalStatus": "released", "brakePedalForce": 0.0}

    @tool
    def setCruiseControl(self, speed: float, activate: bool, distanceToNextVehicle: float) -> dict[str, Any]:
        """Set the cruise control of the vehicle.

        Args:
            speed: The speed to set in m/h: between 0 and 120, and a multiple of 5.
            activate: True to activate the cruise control, False to deactivate it.
            distanceToNextVehicle: The distance to keep to the next vehicle, in meters.

        Returns:
            cruiseStatus: 'active' or 'inactive'.
            currentSpeed: The speed given.
            distanceToNextVehicle: The distance to the next vehicle in meters.
        """
        distance = to_float("setCruiseControl", "distanceToNextVehicle", distanceToNextVehicle)
        speed = to_float("setCruiseControl", "speed", speed)
        if self.engine_state == "stopped":  # BFCL quirk: deactivating needs a running engine too
            raise ToolError(
                "setCruiseControl: the engine is stopped; start it with startEngine('START') first (lock all "
                "doors with lockDoors and press the brake pedal fully with pressBrakePedal(1.0) before that)."
            )
        self.distanceToNextVehicle = distance  # BFCL quirk: stored before the speed is checked
        if activate and not (0 <= speed <= MAX_CRUISE_SPEED and speed % CRUISE_SPEED_STEP == 0):
            raise ToolError(
                f"setCruiseControl: invalid speed {speed}; use a multiple of {CRUISE_SPEED_STEP} from 0 to "
                f"{MAX_CRUISE_SPEED}. The cruise control was not changed, but distanceToNextVehicle is now {distance}."
            )
        self.cruiseStatus = "active" if activate else "inactive"
        return {"cruiseStatus": self.cruiseStatus, "currentSpeed": speed, "distanceToNextVehicle": distance}

    @tool
    def get_current_speed(self) -> dict[str, float]:
        """Get the current speed of the vehicle, in km/h."""
        return {"currentSpeed": self._random.uniform(0.0, 120.0)}

    # --------------------------------------------------------------------------------------------------------
    # Information

    @tool
    def display_log(self, messages: list[str]) -> dict[str, list[str]]:
        """Display log messages.

        Args:
            messages: The messages to display.
        """
        if not isinstance(messages, list | tuple):
            raise ToolError(f"display_log: messages must be a list of strings, got {show(messages)}.")
        if len(messages) > MAX_LIST_ITEMS:
            raise ToolError(
                f"display_log: {len(messages)} messages; display at most {MAX_LIST_ITEMS} at once."
            )
        log = [text_arg("display_log", "each message", message) for message in messages]
        if sum(map(len, log)) > MAX_LOG_CHARS:
            raise ToolError(
                f"display_log: the messages are too long; display at most {MAX_LOG_CHARS} characters."
            )
        return {"log": log}

    @tool
    def estimate_drive_feasibility_by_mileage(self, distance: float) -> dict[str, bool]:
        """Estimate whether the vehicle can drive a given distance on the fuel it has.

        Args:
            distance: The distance to drive, in miles.
        """
        distance = number("estimate_drive_feasibility_by_mileage", "distance", distance)
        return {"canDrive": not (self.fuelLevel * MILES_PER_GALLON < distance)}

    @tool
    def liter_to_gallon(self, liter: float) -> dict[str, float]:
        """Convert liters to gallons.

        Args:
            liter: The amount in liters.
        """
        return {"gallon": number("liter_to_gallon", "liter", liter) * GALLONS_PER_LITER}

    @tool
    def gallon_to_liter(self, gallon: float) -> dict[str, float]:
        """Convert gallons to liters.

        Args:
            gallon: The amount in gallons.
        """
        return {"liter": number("gallon_to_liter", "gallon", gallon) * LITERS_PER_GALLON}

    @tool
    def estimate_distance(self, cityA: str, cityB: str) -> dict[str, Any]:
        """Estimate the distance between two cities, given by zipcode, in km.

        Args:
            cityA: The zipcode of the first city.
            cityB: The zipcode of the second city.
        """
        both = (cityA, cityB)
        km = DISTANCES.get(frozenset(both)) if all(isinstance(city, str) for city in both) else None
        if km is None:
            known = sorted({zipcode for pair in DISTANCES for zipcode in pair})
            raise ToolError(
                f"estimate_distance: no distance known between {show(cityA)} and {show(cityB)}. Pass two "
                f"different 5-digit zipcodes (get_zipcode_based_on_city gives a city's zipcode); distances are "
                f"known between some of: {', '.join(known)}."
            )
        # BFCL quirk: in long context a list of 826 intermediary cities comes after the distance.
        if not self.long_context:
            return {"distance": km}
        return encode_with(
            {"distance": km, "intermediaryCities": list(self.long_context_padding().cities)},
            _constants_json("intermediaryCities"),
        )

    @tool
    def get_zipcode_based_on_city(self, city: str) -> dict[str, str]:
        """Get the zipcode of a city.

        Args:
            city: The name of the city.
        """
        return {"zipcode": ZIPCODES.get(city, UNKNOWN_ZIPCODE) if isinstance(city, str) else UNKNOWN_ZIPCODE}

    @tool
    def set_navigation(self, destination: str) -> dict[str, str]:
        """Navigate to a destination.

        Args:
            destination: The destination, in the format 'street, city, state'.
        """
        self.destination = text_arg("set_navigation", "destination", destination)
        return {"status": "Navigating to " + destination}

    @tool
    def check_tire_pressure(self) -> dict[str, Any]:
        """Check the tire pressure of the vehicle.

        Returns:
            tirePressure: The pressure of each tire in psi, whether the mean pressure is healthy (30 to 35 psi),
                and car_info, the car's metadata.
        """
        pressures = {
            "frontLeftTirePressure": self.frontLeftTirePressure,
            "frontRightTirePressure": self.frontRightTirePressure,
            "rearLeftTirePressure": self.rearLeftTirePressure,
            "rearRightTirePressure": self.rearRightTirePressure,
        }
        mean = sum(pressures.values()) / 4  # summed in BFCL's order, so the float rounding is the same
        low, high = HEALTHY_TIRE_PRESSURE
        # BFCL quirk: car_info is an empty dict, or in long context the car's metadata text.
        if not self.long_context:
            return {**pressures, "healthy_tire_pressure": low <= mean <= high, "car_info": {}}
        return encode_with(
            {
                **pressures,
                "healthy_tire_pressure": low <= mean <= high,
                "car_info": self.long_context_padding().car_metadata,
            },
            _constants_json("car_info"),
        )

    @tool
    def find_nearest_tire_shop(self) -> dict[str, str]:
        """Find the nearest tire shop."""
        return {"shopLocation": TIRE_SHOP}


register_domain(VehicleControlAPI, order=60)
