"""Shared helpers for conformance tests against BFCL's reference simulators (``bfcl-eval``, tests only).

Import this only after ``pytest.importorskip("bfcl_eval", ...)``: it reads the reference package's data and
classes. Nothing here evaluates text: ground-truth calls are parsed with ``ast`` literals.
"""

from __future__ import annotations

import ast
import copy
import importlib
import json
from pathlib import Path
from typing import Any

import bfcl_eval

from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.tools import serialize_result

DATA = Path(bfcl_eval.__file__).parent / "data"
CATEGORIES = ("base", "long_context", "miss_func", "miss_param")
_REFERENCE_MODULES = {
    "GorillaFileSystem": "gorilla_file_system",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "MathAPI": "math_api",
    "VehicleControlAPI": "vehicle_control",
}


def reference_class(class_name: str) -> type:
    """BFCL's simulator class for a class name, e.g. ``reference_class("TradingBot")``."""
    module = importlib.import_module(
        f"bfcl_eval.eval_checker.multi_turn_eval.func_source_code.{_REFERENCE_MODULES[class_name]}"
    )
    return getattr(module, class_name)


def parse_call(text: str) -> tuple[str, list[Any], dict[str, Any]]:
    """``name(args, kw=...)`` with literal arguments only, as the GT call strings are."""
    node = ast.parse(text, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name), text
    args = [ast.literal_eval(arg) for arg in node.args]
    kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg is not None}
    return node.func.id, args, kwargs


def bfcl_string(value: Any) -> str:
    """BFCL's serialisation rule (bfcl-multiturn.md §0.2), written out independently of ours."""
    if type(value) is str:
        return value
    if type(value) is dict:
        try:
            return json.dumps(value)
        except (TypeError, ValueError):
            return str(value)
    return str(value)


def run_reference(instance: Any, name: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """The reference result string and whether the call failed (raised, or returned an error dict)."""
    try:
        value = getattr(instance, name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except Exception as exc:  # BFCL's executor turns any exception into this string
        return f"Error during execution: {exc}", True
    return bfcl_string(value), isinstance(value, dict) and "error" in value


def run_ours(domain: Domain, name: str, args: list, kwargs: dict) -> tuple[str, bool]:
    """Our result string (as the env serialises it) and whether the call failed (raised ToolError)."""
    try:
        value = getattr(domain, name)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
    except ToolError as exc:
        return json.dumps({"error": str(exc)}), True
    return serialize_result(value), False


def load_category(category: str, class_name: str) -> list[tuple[dict, list[list[str]]]]:
    """(entry, ground-truth turns) of every task of a category that involves ``class_name``."""
    name = f"BFCL_v4_multi_turn_{category}.json"
    with open(DATA / "possible_answer" / name, encoding="utf-8") as handle:
        answers = {row["id"]: row["ground_truth"] for row in map(json.loads, handle)}
    with open(DATA / name, encoding="utf-8") as handle:
        entries = [row for row in map(json.loads, handle) if class_name in row["involved_classes"]]
    return [(entry, answers[entry["id"]]) for entry in entries]


def public_state(instance: Any) -> dict[str, Any]:
    """The attributes BFCL's state checker compares: every instance attribute without a leading ``_``."""
    return {key: value for key, value in vars(instance).items() if not key.startswith("_")}
