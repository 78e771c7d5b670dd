"""Unit tests of the VehicleControlAPI re-implementation (no BFCL needed, except where marked)."""

from __future__ import annotations

import copy
import json
import math
import pickle
import random
from importlib import resources
from typing import Any

import pytest

from envtune_gym.domains import vehicle as vmod
from envtune_gym.domains.base import ToolError
from envtune_gym.domains.vehicle import VehicleControlAPI
from envtune_gym.tools import ToolRegistry, serialize_result, tool_specs

BFCL_SOURCE = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"
NO_BFCL = "needs the BFCL reference: pip install --no-deps bfcl-eval==2026.3.23"
DOORS = ["driver", "passenger", "rear_left", "rear_right"]
#: A config as BFCL's data gives them (every key but the brake pedal's), with two doors locked.
CONFIG = {
    "fuelLevel": 15.5, "batteryVoltage": 12.8, "engineState": "stopped",
    "doorStatus": {"driver": "locked", "passenger": "unlocked", "rear_left": "locked", "rear_right": "unlocked"},
    "acTemperature": 25.0, "fanSpeed": 50, "acMode": "auto", "humidityLevel": 50.0, "headLightStatus": "off",
    "parkingBrakeStatus": "released", "parkingBrakeForce": 0.0, "slopeAngle": 0.0, "distanceToNextVehicle": 50.0,
    "cruiseStatus": "inactive", "destination": "None", "frontLeftTirePressure": 32.0,
    "frontRightTirePressure": 32.0, "rearLeftTirePressure": 30.0, "rearRightTirePressure": 30.0,
}  # fmt: skip
DEFAULT_STATE = {
    "fuelLevel": 0.0, "batteryVoltage": 12.6, "engine_state": "stopped", "remainingUnlockedDoors": 4,
    "doorStatus": dict.fromkeys(DOORS, "unlocked"), "acTemperature": 25.0, "fanSpeed": 50, "acMode": "auto",
    "humidityLevel": 50.0, "headLightStatus": "off", "parkingBrakeStatus": "released",
    "brakePedalStatus": "released", "distanceToNextVehicle": 50.0, "cruiseStatus": "inactive",
    "destination": "None", "frontLeftTirePressure": 32.0, "frontRightTirePressure": 32.0,
    "rearLeftTirePressure": 30.0, "rearRightTirePressure": 30.0, "long_context": False,
}  # fmt: skip
#: The first draws of random.Random(141053): uniform(-10, 40) then uniform(0, 120), and the other way round.
FIRST_TEMPERATURE, THEN_SPEED = 36.63485703790535, 99.11925428879405
FIRST_SPEED = 111.92365689097284


@pytest.fixture
def car() -> VehicleControlAPI:
    vehicle = VehicleControlAPI()
    vehicle.load_scenario(copy.deepcopy(CONFIG))
    return vehicle


def loaded(config: dict[str, Any] | None = None, long_context: bool = False) -> VehicleControlAPI:
    vehicle = VehicleControlAPI()
    vehicle.load_scenario(copy.deepcopy(config if config is not None else CONFIG), long_context)
    return vehicle


def observe(vehicle: VehicleControlAPI) -> tuple:
    """Everything a failing call must leave alone: the state, brake forces, slope, RNG state."""
    private = (vehicle._brakePedalForce, vehicle._parkingBrakeForce, vehicle._slopeAngle)
    return copy.deepcopy(vehicle.state()), private, vehicle._random.getstate()


def fails(vehicle: VehicleControlAPI, tool: str, *args: Any, **kwargs: Any) -> str:
    """Call a tool that must fail: it raises ToolError and changes nothing. Returns the message."""
    before = observe(vehicle)
    with pytest.raises(ToolError) as info:
        getattr(vehicle, tool)(*args, **kwargs)
    assert observe(vehicle) == before, f"{tool} failed but changed the state"
    return str(info.value)


def ready_to_start(vehicle: VehicleControlAPI) -> None:
    vehicle.lockDoors(False, DOORS)
    vehicle.pressBrakePedal(1.0)


def long_data() -> dict[str, Any]:
    return json.loads(
        resources.files("envtune_gym.domains").joinpath("data/long_context_vehicle.json").read_text()
    )


# ------------------------------------------------------------------------------------------------------------
# Loading and state


def test_metadata() -> None:
    assert VehicleControlAPI.name == "VehicleControlAPI" and not VehicleControlAPI.stateless
    assert VehicleControlAPI.description == (
        "This tool belongs to the vehicle control system, which allows users to control various aspects of the "
        "car such as engine, doors, climate control, lights, and more."
    )


def test_defaults_without_config() -> None:
    for vehicle in (VehicleControlAPI(), loaded({})):
        assert vehicle.state() == DEFAULT_STATE
        assert {k: type(v) for k, v in vehicle.state().items()} == {
            k: type(v) for k, v in DEFAULT_STATE.items()
        }
        assert (vehicle._brakePedalForce, vehicle._parkingBrakeForce, vehicle._slopeAngle) == (0.0, 0.0, 0.0)


def test_config_keys_and_quirks() -> None:
    vehicle = loaded(
        {
            **CONFIG,
            "engineState": "running",  # BFCL's key for engine_state
            "engine_state": "ignored",
            "remainingUnlockedDoors": 0,  # ignored: recomputed from the doors
            "brakePedalStatus": "pressed",
            "brakePedalForce": 1000.0,
            "parkingBrakeForce": 250.0,
            "slopeAngle": 4.0,
            "unknownKey": 1,
        }
    )
    assert vehicle.engine_state == "running" and vehicle.remainingUnlockedDoors == 2
    assert vehicle.brakePedalStatus == "pressed" and vehicle._brakePedalForce == 1000.0
    assert (vehicle._parkingBrakeForce, vehicle._slopeAngle) == (250.0, 4.0)
    assert vehicle.fuelLevel == 15.5 and vehicle.batteryVoltage == 12.8
    assert set(vehicle.state()) == set(DEFAULT_STATE)  # private values and unknown keys stay out of the state


def test_remaining_doors_count_four_whatever_the_door_list() -> None:
    vehicle = loaded({"doorStatus": {"driver": "locked", "trunk": "open"}})
    assert vehicle.remainingUnlockedDoors == 3  # BFCL quirk: 4 - locked, however many doors there are
    assert "lockDoors(unlock=False, door=['trunk'])" in fails(vehicle, "startEngine", "START")
    assert vehicle.lockDoors(False, ["trunk"]) == {"lockStatus": "locked", "remainingUnlockedDoors": 2}
    assert "cannot be started" in fails(vehicle, "startEngine", "START")  # never 0 with two doors
    with pytest.raises(ValueError, match="doorStatus"):
        loaded({"doorStatus": ["driver"]})


def test_long_context_flag_is_state() -> None:
    assert loaded(long_context=True).state()["long_context"] is True
    assert loaded(long_context=True).state() != loaded().state()


def test_reload_resets_everything(car: VehicleControlAPI) -> None:
    car.activateParkingBrake("engage")
    car.get_current_speed()
    car.load_scenario(copy.deepcopy(CONFIG))
    assert observe(car) == observe(loaded())


# ------------------------------------------------------------------------------------------------------------
# Randomness


def test_rng_draws_match_python_random_with_bfcl_seed(car: VehicleControlAPI) -> None:
    assert car.get_outside_temperature_from_google() == {"outsideTemperature": FIRST_TEMPERATURE}
    assert car.get_current_speed() == {"currentSpeed": THEN_SPEED}
    assert loaded().get_current_speed() == {"currentSpeed": FIRST_SPEED}
    expected = random.Random(141053)
    other = loaded()
    for _ in range(5):
        assert other.get_current_speed()["currentSpeed"] == expected.uniform(0.0, 120.0)
        assert other.get_outside_temperature_from_google()["outsideTemperature"] == expected.uniform(
            -10.0, 40.0
        )


def test_only_two_tools_draw(car: VehicleControlAPI) -> None:
    start = car._random.getstate()
    ready_to_start(car)
    car.startEngine("START")
    car.setCruiseControl(60, True, 100)
    car.displayCarStatus("climate")
    car.check_tire_pressure()
    fails(car, "get_outside_temperature_from_weather_com")
    assert car._random.getstate() == start


def test_random_seed_from_config() -> None:
    vehicle = loaded({"random_seed": 7})
    assert vehicle.get_outside_temperature_from_google() == {
        "outsideTemperature": random.Random(7).uniform(-10.0, 40.0)
    }


# ------------------------------------------------------------------------------------------------------------
# Engine and fuel


def test_start_engine_checks_in_order(car: VehicleControlAPI) -> None:
    message = fails(car, "startEngine", "START")
    assert (
        "passenger, rear_right" in message
        and "lockDoors(unlock=False, door=['passenger', 'rear_right'])" in message
    )
    car.lockDoors(False, DOORS)
    assert "not pressed" in fails(car, "startEngine", "START")
    car.pressBrakePedal(0.5)
    assert "not fully pressed" in fails(car, "startEngine", "START")
    assert "'START' or 'STOP'" in fails(car, "startEngine", "start")
    car.pressBrakePedal(1)  # BFCL quirk: the force is the int 1000, still equal to 1000.0
    assert car.startEngine("START") == {"engineState": "running", "fuelLevel": 15.5, "batteryVoltage": 12.8}
    assert car.engine_state == "running"


def test_start_engine_with_negative_fuel() -> None:
    vehicle = loaded({**CONFIG, "fuelLevel": -1.0})
    ready_to_start(vehicle)
    assert "fillFuelTank" in fails(vehicle, "startEngine", "START")


def test_stop_stops_the_engine_but_fails(car: VehicleControlAPI) -> None:
    ready_to_start(car)
    car.startEngine("START")
    with pytest.raises(ToolError, match="engine is now stopped"):
        car.startEngine("STOP")  # BFCL quirk: always an error, yet the engine stops
    assert car.engine_state == "stopped"
    with pytest.raises(ToolError, match="engine is now stopped"):
        car.startEngine("STOP")


def test_fill_fuel_tank(car: VehicleControlAPI) -> None:
    assert car.fillFuelTank(10) == {"fuelLevel": 25.5}
    assert car.fillFuelTank(24.5) == {"fuelLevel": 50.0}
    assert car.fillFuelTank(0) == {"fuelLevel": 50.0}
    assert "negative" in fails(car, "fillFuelTank", -1)
    assert "add at most 0.0 gallons" in fails(car, "fillFuelTank", 0.1)
    assert "must be a number" in fails(car, "fillFuelTank", "5")
    assert "must be a number" in fails(car, "fillFuelTank", None)
    assert fails(car, "fillFuelTank", math.inf)


def test_fill_fuel_tank_keeps_types_and_negative_levels() -> None:
    vehicle = loaded({"fuelLevel": 10})
    assert serialize_result(vehicle.fillFuelTank(5)) == '{"fuelLevel": 15}'  # int stays int, as in BFCL
    assert vehicle.fillFuelTank(True) == {"fuelLevel": 16}
    below = loaded({"fuelLevel": -10.0})
    assert "below empty" in fails(below, "fillFuelTank", 4)  # BFCL's third check
    assert below.fillFuelTank(10) == {"fuelLevel": 0.0}


def test_estimate_drive_feasibility(car: VehicleControlAPI) -> None:
    assert car.estimate_drive_feasibility_by_mileage(310) == {"canDrive": True}  # 15.5 * 20 = 310, inclusive
    assert car.estimate_drive_feasibility_by_mileage(310.5) == {"canDrive": False}
    assert car.estimate_drive_feasibility_by_mileage(math.inf) == {"canDrive": False}
    assert "must be a number" in fails(car, "estimate_drive_feasibility_by_mileage", "10")


def test_unit_conversions(car: VehicleControlAPI) -> None:
    assert car.liter_to_gallon(50) == {"gallon": 50 * 0.264172}
    assert car.gallon_to_liter(10) == {"liter": 10 * 3.78541}
    assert serialize_result(car.gallon_to_liter(30)) == '{"liter": 113.56230000000001}'
    assert serialize_result(car.gallon_to_liter(1e308)) == '{"liter": Infinity}'  # as BFCL's json.dumps
    assert "must be a number" in fails(car, "liter_to_gallon", [2])


# ------------------------------------------------------------------------------------------------------------
# Doors, climate, lights


def test_lock_doors(car: VehicleControlAPI) -> None:
    assert car.lockDoors(False, ["passenger"]) == {"lockStatus": "locked", "remainingUnlockedDoors": 1}
    assert car.lockDoors(False, ["passenger", "passenger", "driver"]) == {
        "lockStatus": "locked",
        "remainingUnlockedDoors": 1,
    }  # already locked doors do not count twice
    assert car.lockDoors(True, []) == {"lockStatus": "unlocked", "remainingUnlockedDoors": 1}
    assert car.lockDoors(True, DOORS) == {"lockStatus": "unlocked", "remainingUnlockedDoors": 4}
    assert car.doorStatus == dict.fromkeys(DOORS, "unlocked")
    assert car.lockDoors(0, ("driver",)) == {"lockStatus": "locked", "remainingUnlockedDoors": 3}


def test_lock_doors_refuses_unknown_doors_atomically(car: VehicleControlAPI) -> None:
    message = fails(car, "lockDoors", False, ["passenger", "trunk"])  # BFCL locks 'passenger', then raises
    assert "'trunk'" in message and "nothing was changed" in message and "'rear_right'" in message
    assert "must be a list" in fails(car, "lockDoors", False, "driver")
    assert "unknown door" in fails(car, "lockDoors", False, [["driver"]])
    assert "list each door once" in fails(car, "lockDoors", False, ["driver"] * (vmod.MAX_LIST_ITEMS + 1))


def test_odd_door_statuses_follow_bfcl_counting() -> None:
    vehicle = loaded({"doorStatus": {"driver": "open", "passenger": "locked"}})
    assert vehicle.remainingUnlockedDoors == 3
    assert vehicle.lockDoors(False, ["driver"]) == {"lockStatus": "locked", "remainingUnlockedDoors": 2}
    assert vehicle.lockDoors(True, ["passenger"]) == {"lockStatus": "unlocked", "remainingUnlockedDoors": 3}


def test_adjust_climate_control(car: VehicleControlAPI) -> None:
    assert car.adjustClimateControl(70, "fahrenheit", 80, "cool") == {
        "currentACTemperature": 70,  # BFCL quirk: as given, not converted
        "climateMode": "cool",
        "humidityLevel": 50.0,
    }
    assert car.acTemperature == (70 - 32) * 5 / 9 and (car.fanSpeed, car.acMode) == (80, "cool")
    car.adjustClimateControl(22.5)  # left-out parameters go back to the defaults
    assert (car.acTemperature, car.fanSpeed, car.acMode) == (22.5, 50, "auto")
    car.adjustClimateControl(
        20, unit="kelvin", mode="turbo"
    )  # any other unit is Celsius; modes are free text
    assert (car.acTemperature, car.acMode) == (20, "turbo")
    assert car.displayCarStatus("climate") == {
        "currentACTemperature": 20,
        "fanSpeed": 50,
        "climateMode": "turbo",
        "humidityLevel": 50.0,
    }
    assert "between 0 and 100" in fails(car, "adjustClimateControl", 20, fanSpeed=101)
    assert "between 0 and 100" in fails(car, "adjustClimateControl", 20, fanSpeed=-1)
    assert "must be a number" in fails(car, "adjustClimateControl", "hot")  # BFCL would store the string
    assert "must be a string" in fails(car, "adjustClimateControl", 20, mode=None)
    assert "at most" in fails(car, "adjustClimateControl", 20, mode="m" * (vmod.MAX_TEXT_CHARS + 1))


def test_outside_temperature(car: VehicleControlAPI) -> None:
    message = fails(car, "get_outside_temperature_from_weather_com")  # BFCL quirk: always error 404
    assert "404" in message and "get_outside_temperature_from_google" in message
    assert set(car.get_outside_temperature_from_google()) == {"outsideTemperature"}


def test_headlights(car: VehicleControlAPI) -> None:
    assert car.setHeadlights("on") == {"headlightStatus": "on"} and car.headLightStatus == "on"
    assert car.setHeadlights("auto") == {"headlightStatus": "off"} and car.headLightStatus == "off"
    car.setHeadlights("on")
    assert car.setHeadlights("off") == {"headlightStatus": "off"}
    assert "'on', 'off', 'auto'" in fails(car, "setHeadlights", "ON")


def test_display_car_status(car: VehicleControlAPI) -> None:
    car.activateParkingBrake("engage")
    car.pressBrakePedal(1)
    expected = {
        "fuel": {"fuelLevel": 15.5},
        "battery": {"batteryVoltage": 12.8},
        "doors": {"doorStatus": CONFIG["doorStatus"]},
        "climate": {
            "currentACTemperature": 25.0,
            "fanSpeed": 50,
            "climateMode": "auto",
            "humidityLevel": 50.0,
        },
        "headlights": {"headlightStatus": "off"},
        "parkingBrake": {"parkingBrakeStatus": "engaged", "parkingBrakeForce": 500.0, "slopeAngle": 10.0},
        "brakePedal": {"brakePedalStatus": "pressed", "brakePedalForce": 1000},
        "engine": {"engineState": "stopped"},
    }
    for option, fields in expected.items():
        assert car.displayCarStatus(option) == fields, option
    # BFCL quirk: the stored force is shown as computed, so pressBrakePedal(1) shows the int 1000
    assert (
        serialize_result(car.displayCarStatus("brakePedal"))
        == '{"brakePedalStatus": "pressed", "brakePedalForce": 1000}'
    )
    message = fails(car, "displayCarStatus", "tires")
    assert "'fuel'" in message and "'engine'" in message
    assert "invalid option" in fails(car, "displayCarStatus", None)


# ------------------------------------------------------------------------------------------------------------
# Brakes and cruise control


def test_parking_brake(car: VehicleControlAPI) -> None:
    assert car.activateParkingBrake("engage") == {
        "parkingBrakeStatus": "engaged",
        "_parkingBrakeForce": 500.0,
        "_slopeAngle": 10.0,
    }
    assert car.activateParkingBrake("release") == {
        "parkingBrakeStatus": "released",
        "_parkingBrakeForce": 0.0,
        "_slopeAngle": 10.0,  # BFCL quirk: the slope is 10 after a release too
    }
    assert (car.parkingBrakeStatus, car._parkingBrakeForce, car._slopeAngle) == ("released", 0.0, 10.0)
    assert "'engage' or 'release'" in fails(car, "activateParkingBrake", "hold")


def test_brake_pedal(car: VehicleControlAPI) -> None:
    assert car.pressBrakePedal(0.5) == {"brakePedalStatus": "pressed", "brakePedalForce": 500.0}
    assert (
        serialize_result(car.pressBrakePedal(1))
        == '{"brakePedalStatus": "pressed", "brakePedalForce": 1000.0}'
    )
    assert car._brakePedalForce == 1000 and type(car._brakePedalForce) is int
    assert car.pressBrakePedal(0) == {"brakePedalStatus": "released", "brakePedalForce": 0.0}
    assert car.brakePedalStatus == "released" and car._brakePedalForce == 0.0
    car.pressBrakePedal(True)
    assert car.releaseBrakePedal() == {"brakePedalStatus": "released", "brakePedalForce": 0.0}
    for bad in (1.5, -0.1, math.inf):
        assert "between 0 and 1" in fails(car, "pressBrakePedal", bad)
    assert "must be a number" in fails(car, "pressBrakePedal", "1")


def test_cruise_control_needs_a_running_engine(car: VehicleControlAPI) -> None:
    assert "startEngine" in fails(car, "setCruiseControl", 60, True, 100)
    assert "startEngine" in fails(car, "setCruiseControl", 60, False, 100)  # deactivating too


def test_cruise_control(car: VehicleControlAPI) -> None:
    ready_to_start(car)
    car.startEngine("START")
    assert car.setCruiseControl(65, True, 100) == {
        "cruiseStatus": "active",
        "currentSpeed": 65.0,
        "distanceToNextVehicle": 100.0,
    }
    assert serialize_result(car.setCruiseControl("60", 1, " 80 ")).endswith('"distanceToNextVehicle": 80.0}')
    assert car.setCruiseControl(62.5, False, 30) == {  # deactivating checks no speed
        "cruiseStatus": "inactive",
        "currentSpeed": 62.5,
        "distanceToNextVehicle": 30.0,
    }
    assert car.setCruiseControl(0, True, 30)["cruiseStatus"] == "active"
    assert car.setCruiseControl(120, True, 30)["currentSpeed"] == 120.0
    assert "must be a number" in fails(car, "setCruiseControl", "fast", True, 30)
    assert "must be a number" in fails(car, "setCruiseControl", 60, True, None)
    assert "NaN" in fails(car, "setCruiseControl", 60, False, "nan")


def test_invalid_cruise_speed_still_stores_the_distance(car: VehicleControlAPI) -> None:
    ready_to_start(car)
    car.startEngine("START")
    for speed in (62.5, 125, -5, math.inf):
        with pytest.raises(ToolError, match="distanceToNextVehicle is now 70.0"):
            car.setCruiseControl(speed, True, 70)  # BFCL quirk: the distance is stored before the speed check
        assert car.distanceToNextVehicle == 70.0 and car.cruiseStatus == "inactive"


def test_current_speed_and_log(car: VehicleControlAPI) -> None:
    assert 0 <= car.get_current_speed()["currentSpeed"] <= 120
    messages = ["engine started", "doors locked"]
    result = car.display_log(messages)
    assert result == {"log": messages} and result["log"] is not messages
    assert car.display_log([]) == {"log": []}
    assert "list of strings" in fails(car, "display_log", "engine started")
    assert "must be a string" in fails(car, "display_log", ["ok", 3])
    assert "at most" in fails(car, "display_log", ["x"] * (vmod.MAX_LIST_ITEMS + 1))
    assert "too long" in fails(car, "display_log", ["x" * vmod.MAX_TEXT_CHARS] * 11)


# ------------------------------------------------------------------------------------------------------------
# Places and tires


def test_zipcodes(car: VehicleControlAPI) -> None:
    for city, zipcode in vmod.ZIPCODES.items():
        assert car.get_zipcode_based_on_city(city) == {"zipcode": zipcode}
    assert len(vmod.ZIPCODES) == 11 and car.get_zipcode_based_on_city("Rivermist") == {"zipcode": "83214"}
    assert car.get_zipcode_based_on_city("Berkeley") == {"zipcode": "00000"}  # unknown cities succeed
    assert car.get_zipcode_based_on_city("rivermist") == {"zipcode": "00000"}


def test_estimate_distance(car: VehicleControlAPI) -> None:
    assert car.estimate_distance("83214", "74532") == {"distance": 750.0}
    assert car.estimate_distance("74532", "83214") == {"distance": 750.0}
    assert car.estimate_distance(cityA="08540", cityB="94704") == {"distance": 2550.0}
    assert len(vmod.DISTANCES) == 12
    for pair, km in vmod.DISTANCES.items():
        first, second = sorted(pair)
        assert (
            car.estimate_distance(first, second) == car.estimate_distance(second, first) == {"distance": km}
        )
    message = fails(car, "estimate_distance", "83214", "83214")
    assert "get_zipcode_based_on_city" in message and "94016" in message
    fails(car, "estimate_distance", "Rivermist", "Stonebrook")
    fails(car, "estimate_distance", 83214, 74532)


def test_navigation(car: VehicleControlAPI) -> None:
    assert car.set_navigation("456 Oakwood Avenue, Rivermist, 83214") == {
        "status": "Navigating to 456 Oakwood Avenue, Rivermist, 83214"
    }
    assert car.destination == "456 Oakwood Avenue, Rivermist, 83214"
    assert "must be a string" in fails(car, "set_navigation", None)  # BFCL stores it, then raises
    assert "at most" in fails(car, "set_navigation", "x" * (vmod.MAX_TEXT_CHARS + 1))


def test_tire_pressure_and_shop(car: VehicleControlAPI) -> None:
    assert car.check_tire_pressure() == {
        "frontLeftTirePressure": 32.0,
        "frontRightTirePressure": 32.0,
        "rearLeftTirePressure": 30.0,
        "rearRightTirePressure": 30.0,
        "healthy_tire_pressure": True,
        "car_info": {},
    }
    for pressures, healthy in (((30, 30, 30, 30), True), ((35, 35, 35, 35), True), ((28, 28, 30, 30), False),
                               ((36, 35, 35, 35), False), ((29.9, 30, 30, 30), False)):  # fmt: skip
        keys = [
            "frontLeftTirePressure",
            "frontRightTirePressure",
            "rearLeftTirePressure",
            "rearRightTirePressure",
        ]
        vehicle = loaded(dict(zip(keys, pressures, strict=True)))
        assert vehicle.check_tire_pressure()["healthy_tire_pressure"] is healthy, pressures
    assert car.find_nearest_tire_shop() == {"shopLocation": "456 Oakwood Avenue, Rivermist, 83214"}


# ------------------------------------------------------------------------------------------------------------
# Long context


def test_long_context_results() -> None:
    data = long_data()
    vehicle = loaded(long_context=True)
    status = vehicle.displayCarStatus("fuel")
    assert (
        list(status) == ["metadata", "fuelLevel"]
        and status["metadata"] == data["CAR_STATUS_METADATA_EXTENSION"]
    )
    brake = vehicle.activateParkingBrake("engage")
    assert list(brake)[0] == "parkingBrakeInstruction" and len(brake["parkingBrakeInstruction"]) == 9710
    assert vehicle.estimate_distance("83214", "74532") == {
        "distance": 750.0,
        "intermediaryCities": data["INTERMEDIARY_CITIES"],
    }
    assert vehicle.check_tire_pressure()["car_info"] == data["CAR_STATUS_METADATA_EXTENSION"]
    assert len(data["CAR_STATUS_METADATA_EXTENSION"]) == 6503 and len(data["INTERMEDIARY_CITIES"]) == 826
    assert "BFCL" in data["_source"] and "Apache-2.0" in data["_source"]
    # results that carry no long-context text are unchanged
    assert vehicle.get_zipcode_based_on_city("Rivermist") == {"zipcode": "83214"}
    assert "'fuel'" in fails(vehicle, "displayCarStatus", "tires")
    fails(vehicle, "estimate_distance", "1", "2")


def test_long_context_weather_is_fresh_each_call() -> None:
    vehicle = loaded(long_context=True)
    first = vehicle.get_outside_temperature_from_google()
    days = list(long_data()["LONG_WEATHER_EXTENSION"])
    assert list(first) == [*days, "outsideTemperature"] and len(days) == 15
    assert first["outsideTemperature"] == FIRST_TEMPERATURE
    first["-1_day"]["windSpeed"] = -1.0  # mutating a result must not reach the data or later results
    first["extra"] = 1
    second = vehicle.get_outside_temperature_from_google()
    assert second["-1_day"]["windSpeed"] == 15.0 and "extra" not in second
    draws = random.Random(141053)
    assert [first["outsideTemperature"], second["outsideTemperature"]] == [
        draws.uniform(-10.0, 40.0) for _ in "ab"
    ]
    assert VehicleControlAPI.long_context_padding().weather["-1_day"]["windSpeed"] == 15.0


def test_long_context_data_is_loaded_once() -> None:
    assert VehicleControlAPI.long_context_padding() is VehicleControlAPI.long_context_padding()


def test_long_context_data_matches_bfcl() -> None:
    reference = pytest.importorskip(f"{BFCL_SOURCE}.long_context", reason=NO_BFCL)
    data = long_data()
    assert data["CAR_STATUS_METADATA_EXTENSION"] == reference.CAR_STATUS_METADATA_EXTENSION
    assert data["INTERMEDIARY_CITIES"] == list(reference.INTERMEDIARY_CITIES)
    assert data["PARKING_BRAKE_INSTRUCTION"] == reference.PARKING_BRAKE_INSTRUCTION
    # BFCL's own get_outside_temperature_from_google writes this key into its module dict: leave it out
    weather = {day: v for day, v in reference.LONG_WEATHER_EXTENSION.items() if day != "outsideTemperature"}
    assert data["LONG_WEATHER_EXTENSION"] == weather
    assert json.dumps(data["LONG_WEATHER_EXTENSION"]) == json.dumps(weather)  # ints stay ints (uvIndex)


# ------------------------------------------------------------------------------------------------------------
# Isolation and copies


def test_instances_share_nothing_with_each_other_or_the_module() -> None:
    config = copy.deepcopy(CONFIG)
    first = VehicleControlAPI.from_scenario(config)
    second = VehicleControlAPI.from_scenario(config)  # the very same config object
    first.lockDoors(False, DOORS)
    assert second.doorStatus == CONFIG["doorStatus"] and config == CONFIG
    defaults = [VehicleControlAPI(), VehicleControlAPI()]
    defaults[0].lockDoors(False, ["driver"])
    assert (
        defaults[1].doorStatus["driver"] == "unlocked"
        and VehicleControlAPI().doorStatus["driver"] == "unlocked"
    )
    assert vmod.DOORS == ("driver", "passenger", "rear_left", "rear_right")


def test_results_are_copies(car: VehicleControlAPI) -> None:
    shown = car.displayCarStatus("doors")["doorStatus"]
    shown["driver"] = "broken"
    assert car.doorStatus["driver"] == "locked"
    vehicle = loaded(long_context=True)
    cities = vehicle.estimate_distance("83214", "74532")["intermediaryCities"]
    cities.clear()
    assert len(vehicle.estimate_distance("83214", "74532")["intermediaryCities"]) == 826


def test_clone_and_pickle_keep_the_rng(car: VehicleControlAPI) -> None:
    car.get_current_speed()
    for clone in (car.clone(), pickle.loads(pickle.dumps(car))):
        assert clone.state() == car.state() and clone.doorStatus is not car.doorStatus
        assert clone.get_current_speed() == car.clone().get_current_speed()
    assert car.get_outside_temperature_from_google()["outsideTemperature"] != FIRST_TEMPERATURE


# ------------------------------------------------------------------------------------------------------------
# Bounded work


def test_numbers_are_bounded(car: VehicleControlAPI) -> None:
    for tool in ("fillFuelTank", "liter_to_gallon", "gallon_to_liter", "estimate_drive_feasibility_by_mileage",
                 "pressBrakePedal", "adjustClimateControl"):  # fmt: skip
        assert "NaN" in fails(car, tool, math.nan)
        assert "too large" in fails(car, tool, 10**400)
    assert "too large" in fails(car, "adjustClimateControl", 20, "celsius", 10**400)
    assert "character string" in fails(car, "setCruiseControl", "1" * (vmod.MAX_TEXT_CHARS + 1), True, 10)
    assert car.liter_to_gallon(10**300) == {"gallon": 10**300 * 0.264172}  # large but within float range


# ------------------------------------------------------------------------------------------------------------
# Schemas and the registry

EXPECTED_SPECS = {
    "startEngine": (["ignitionMode"], {}), "fillFuelTank": (["fuelAmount"], {}),
    "lockDoors": (["unlock", "door"], {}),
    "adjustClimateControl": (["temperature"], {"unit": "celsius", "fanSpeed": 50, "mode": "auto"}),
    "get_outside_temperature_from_google": ([], {}), "get_outside_temperature_from_weather_com": ([], {}),
    "setHeadlights": (["mode"], {}), "displayCarStatus": (["option"], {}), "activateParkingBrake": (["mode"], {}),
    "pressBrakePedal": (["pedalPosition"], {}), "releaseBrakePedal": ([], {}),
    "setCruiseControl": (["speed", "activate", "distanceToNextVehicle"], {}), "get_current_speed": ([], {}),
    "display_log": (["messages"], {}), "estimate_drive_feasibility_by_mileage": (["distance"], {}),
    "liter_to_gallon": (["liter"], {}), "gallon_to_liter": (["gallon"], {}),
    "estimate_distance": (["cityA", "cityB"], {}), "get_zipcode_based_on_city": (["city"], {}),
    "set_navigation": (["destination"], {}), "check_tire_pressure": ([], {}), "find_nearest_tire_shop": ([], {}),
}  # fmt: skip


def test_tool_specs() -> None:
    specs = {spec.name: spec for spec in tool_specs(VehicleControlAPI)}
    assert sorted(specs) == sorted(EXPECTED_SPECS) and len(specs) == 22
    for name, (required, defaults) in EXPECTED_SPECS.items():
        params = specs[name].parameters
        assert params["required"] == required, name
        assert {k: v["default"] for k, v in params["properties"].items() if "default" in v} == defaults, name
        assert specs[name].param_order == tuple(required) + tuple(defaults), name
        assert specs[name].description.startswith(VehicleControlAPI.description + " Tool description: ")
        assert all(prop["description"] for prop in params["properties"].values()), name
    props = {name: spec.parameters["properties"] for name, spec in specs.items()}
    assert props["startEngine"]["ignitionMode"]["enum"] == ["START", "STOP"]
    assert props["setHeadlights"]["mode"]["enum"] == ["on", "off", "auto"]
    assert props["activateParkingBrake"]["mode"]["enum"] == ["engage", "release"]
    assert props["displayCarStatus"]["option"]["enum"] == list(vmod.STATUS_OPTIONS)
    assert props["lockDoors"]["door"] == {
        **props["lockDoors"]["door"],
        "type": "array",
        "items": {"type": "string"},
    }
    assert props["lockDoors"]["unlock"]["type"] == "boolean"
    assert props["adjustClimateControl"]["fanSpeed"]["type"] == "integer"
    assert props["adjustClimateControl"]["unit"]["type"] == "string"  # free text in BFCL: no enum
    assert props["fillFuelTank"]["fuelAmount"]["type"] == "number"


def test_descriptions_follow_bfcl_docs() -> None:
    bfcl_eval = pytest.importorskip("bfcl_eval", reason=NO_BFCL)
    path = resources.files(bfcl_eval).joinpath("data/multi_turn_func_doc/vehicle_control.json")
    docs = {row["name"]: row for row in map(json.loads, path.read_text().splitlines())}
    specs = {spec.name: spec for spec in tool_specs(VehicleControlAPI)}
    for name, doc in docs.items():
        blurb = doc["description"].split(" Tool description:")[0]
        assert blurb == VehicleControlAPI.description, name
        assert list(doc["parameters"]["properties"]) == list(specs[name].param_order), name
        assert doc["parameters"]["required"] == specs[name].parameters["required"], name


def test_registry_dispatch(car: VehicleControlAPI) -> None:
    tools = ToolRegistry([car])
    assert tools.execute("lockDoors", tools.bind("lockDoors", (False, ["passenger"]), {})).result == (
        '{"lockStatus": "locked", "remainingUnlockedDoors": 1}'
    )
    outcome = tools.execute("startEngine", {"ignitionMode": "START"})
    assert outcome.error == "tool_error" and "rear_right" in json.loads(outcome.result)["error"]
    assert tools.execute("startEngine", {"ignitionMode": "GO"}).error == "invalid_arguments"
    assert tools.execute("setHeadlights", {"mode": "auto"}).result == '{"headlightStatus": "off"}'
    assert tools.execute("get_outside_temperature_from_google", {}).result == (
        f'{{"outsideTemperature": {FIRST_TEMPERATURE}}}'
    )
