"""The simulated APIs (domains). Each module is plain Python with no gymnasium import.

Adding a domain is one module, one task file and one line in :data:`DOMAINS` (BFCL class name -> class path).
"""

from __future__ import annotations

import functools
import importlib

from envtune_gym.domains.base import Domain, ToolError

#: BFCL class name -> "module:Class" of our implementation (imported on first use).
DOMAINS: dict[str, str] = {
    "GorillaFileSystem": "envtune_gym.domains.filesystem:FileSystem",
    "MessageAPI": "envtune_gym.domains.messaging:MessageAPI",
    "TwitterAPI": "envtune_gym.domains.posting:TwitterAPI",
    "TradingBot": "envtune_gym.domains.trading:TradingBot",
    "TravelAPI": "envtune_gym.domains.travel:TravelAPI",
    "VehicleControlAPI": "envtune_gym.domains.vehicle:VehicleControlAPI",
    "TicketAPI": "envtune_gym.domains.ticket:TicketAPI",
    "MathAPI": "envtune_gym.domains.math_api:MathAPI",
}


@functools.cache
def domain_class(name: str) -> type[Domain]:
    """The implementation of a BFCL class name, e.g. ``domain_class("GorillaFileSystem")``."""
    if name not in DOMAINS:
        raise ValueError(f"unknown domain {name!r}; known domains: {', '.join(sorted(DOMAINS))}")
    module_name, _, class_name = DOMAINS[name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["DOMAINS", "Domain", "ToolError", "domain_class"]
