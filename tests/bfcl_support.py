"""Shared helpers for conformance tests against BFCL's reference simulators (``bfcl-eval``, tests only).

Importing this module skips the importing test module (with :data:`SKIP_REASON`) when ``bfcl_eval`` is not
installed, so a test module needs no guard of its own. Nothing here evaluates text: ground-truth calls are
parsed with ``ast`` literals.

The pieces, smallest first:

* the reference: :func:`reference_class`, :func:`reference_module`, :func:`build_pair`, :func:`run_reference`
  (BFCL's result string and whether it failed) next to :func:`run_ours` (ours, as the env serialises it),
  :func:`public_state`;
* BFCL's data: :func:`load_category`, :func:`ground_truth_tasks` / :func:`ground_truth_calls` (the calls of
  one class, task by task, with the long-context flag), :func:`assert_call_count` (against pinned counts),
  :func:`scenarios` (named tasks' configs as pytest params);
* one domain's comparison rules, :class:`Conformance` (how its states are compared, what a failing call may
  change, how its reference is run), used by the three drivers:

  - :func:`replay_ground_truth`: every ground-truth call of a category on both; returns how many it compared;
  - :func:`run_script`: a scripted sequence of call strings on both, compared call by call;
  - :func:`differential_run`: random call sequences (from a :class:`RandomCalls` subclass) on both, seeded by
    scenario label and sequence number, with the domain's deliberate deviations checked on ours alone.
"""

from __future__ import annotations

import ast
import copy
import importlib
import importlib.metadata
import itertools
import json
import random
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, NamedTuple

import pytest

from envtune_gym.domains.base import Domain, ToolError
from envtune_gym.tools import ToolSpec, serialize_result, tool_specs

#: The bfcl-eval release the pinned counts in the conformance tests were taken from.
PINNED_VERSION = "2026.3.23"
SKIP_REASON = f"needs the BFCL reference: pip install --no-deps bfcl-eval=={PINNED_VERSION}"
bfcl_eval = pytest.importorskip("bfcl_eval", reason=SKIP_REASON)

#: Whether the installed reference is the pinned release (exact call counts are checked only then).
PINNED = importlib.metadata.version("bfcl-eval") == PINNED_VERSION
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

#: A call as the drivers pass it around: tool name, positional arguments, keyword arguments.
Call = tuple[str, list, dict]

# ------------------------------------------------------------------------------------------------------------
# The reference and the two ways of running a call


def reference_module(module: str) -> ModuleType:
    """One of BFCL's simulator modules by its file name, e.g. ``reference_module("long_context")``."""
    return importlib.import_module(f"bfcl_eval.eval_checker.multi_turn_eval.func_source_code.{module}")


def reference_class(class_name: str) -> type:
    """BFCL's simulator class for a class name, e.g. ``reference_class("TradingBot")``."""
    return getattr(reference_module(_REFERENCE_MODULES[class_name]), class_name)


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


def public_state(instance: Any) -> dict[str, Any]:
    """The attributes BFCL's state checker compares: every instance attribute without a leading ``_``."""
    return {key: value for key, value in vars(instance).items() if not key.startswith("_")}


def build_pair(
    class_name: str, our_class: type[Domain], config: dict, long_context: bool
) -> tuple[Any, Domain]:
    """A fresh (reference, ours) pair, each loaded from its own copy of ``config``.

    The reference is loaded as BFCL's executor loads it: only when it has ``_load_scenario`` (the stateless
    MathAPI has none, and BFCL never loads one).
    """
    reference = reference_class(class_name)()
    if hasattr(reference, "_load_scenario"):
        reference._load_scenario(copy.deepcopy(config), long_context=long_context)
    ours = our_class()
    ours.load_scenario(copy.deepcopy(config), long_context=long_context)
    return reference, ours


# ------------------------------------------------------------------------------------------------------------
# BFCL's data: tasks, their ground truth, and scenarios for random runs


def load_category(category: str, class_name: str) -> list[tuple[dict, list[list[str]]]]:
    """(entry, ground-truth turns) of every task of a category that involves ``class_name``."""
    name = f"BFCL_v4_multi_turn_{category}.json"
    with open(DATA / "possible_answer" / name, encoding="utf-8") as handle:
        answers = {row["id"]: row["ground_truth"] for row in map(json.loads, handle)}
    with open(DATA / name, encoding="utf-8") as handle:
        entries = [row for row in map(json.loads, handle) if class_name in row["involved_classes"]]
    return [(entry, answers[entry["id"]]) for entry in entries]


class GroundTruthTask(NamedTuple):
    """One task of a category, seen from one class."""

    task_id: str
    #: The class's initial config (``{}`` where the task gives none).
    config: dict
    #: Whether the scenario loads with BFCL's long-context extensions (the ``long_context`` category).
    long_context: bool
    #: Every ground-truth turn, holding only the calls of the class's tools (the others are other classes').
    turns: list[list[str]]


class GroundTruthCall(NamedTuple):
    """One ground-truth call of a class: which task and turn it is in, its text, and the long-context flag."""

    task_id: str
    turn: int
    call: str
    long_context: bool


def ground_truth_tasks(category: str, class_name: str, tools: Collection[str]) -> list[GroundTruthTask]:
    """Every task of ``category`` that involves ``class_name``, its turns cut to the calls of ``tools``."""
    return [
        GroundTruthTask(
            entry["id"],
            entry["initial_config"].get(class_name, {}),
            category == "long_context",
            [[call for call in turn if parse_call(call)[0] in tools] for turn in turns],
        )
        for entry, turns in load_category(category, class_name)
    ]


def ground_truth_calls(category: str, class_name: str, tools: Collection[str]) -> Iterator[GroundTruthCall]:
    """The calls of ``tools`` in the ground truth of the tasks of ``category`` that involve ``class_name``."""
    for task in ground_truth_tasks(category, class_name, tools):
        for number, turn in enumerate(task.turns):
            for call in turn:
                yield GroundTruthCall(task.task_id, number, call, task.long_context)


def assert_call_count(count: int, pinned: int, *, at_least: int) -> None:
    """A count of ground-truth calls: exactly ``pinned`` on the pinned bfcl-eval, ``>= at_least`` on any."""
    if PINNED:
        assert count == pinned, f"compared {count} ground-truth calls, pinned {pinned}"
    assert count >= at_least, f"compared only {count} ground-truth calls"


class Scenario(NamedTuple):
    """A config to start random sequences from; ``label`` names the test and seeds its sequences."""

    label: str
    config: dict
    long_context: bool = False


def scenarios(
    class_name: str, wanted: Mapping[str, Collection[str]], extra: Sequence[tuple] = ()
) -> list[Any]:
    """pytest params (id: the label): the ``extra`` scenarios, then the named tasks by category in data order.

    Each task gives its config for ``class_name`` (``{}`` where it has none) and the category's long-context
    flag; every named task must exist.
    """
    found = [Scenario(*scenario) for scenario in extra]
    for category, ids in wanted.items():
        picked = [
            Scenario(entry["id"], entry["initial_config"].get(class_name, {}), category == "long_context")
            for entry, _ in load_category(category, class_name)
            if entry["id"] in ids
        ]
        assert sorted(scenario.label for scenario in picked) == sorted(ids), f"{category}: {sorted(ids)}"
        found += picked
    return [pytest.param(scenario, id=scenario.label) for scenario in found]


# ------------------------------------------------------------------------------------------------------------
# One domain's comparison rules


def state_copy(ours: Domain) -> dict[str, Any]:
    """A deep copy of a domain's compared state: the default :attr:`Conformance.snapshot`."""
    return copy.deepcopy(ours.state())


def unchanged_on_failure(tool: str, before: Any, after: Any, where: str) -> str:
    """The default :attr:`Conformance.failure_rule`: a failing call leaves ours as it was."""
    assert after == before, f"{where}: a failing call changed the state"
    return "agree_error"


@dataclass(frozen=True)
class Conformance:
    """How one of our domains is held against its BFCL reference class (one instance per test module).

    ``snapshot(instance)`` is the domain's normaliser: a copy of the compared state (with whatever more the
    domain holds to: types, an RNG, a working directory). After every checked step both sides' snapshots must
    be equal, and BFCL's own rule must hold (``==`` on every public attribute), unless ``compare(reference,
    ours, where)`` is given to assert sameness its own way (where the two sides' objects differ in class).
    A failing or refused call is checked on ours alone, by its snapshots before and after:
    ``failure_rule(tool, before, after, where)`` asserts what it may change and names the count it adds to
    (default :func:`unchanged_on_failure`). ``run_ref`` runs a call on the reference (default
    :func:`run_reference`; a domain may count more results as failures), and ``make_pair(config,
    long_context)`` builds a fresh pair (default :func:`build_pair`).
    """

    class_name: str
    our_class: type[Domain]
    snapshot: Callable[[Any], Any] = state_copy
    compare: Callable[[Any, Any, str], None] | None = None
    run_ref: Callable[[Any, str, list, dict], tuple[str, bool]] = run_reference
    failure_rule: Callable[[str, Any, Any, str], str] = unchanged_on_failure
    make_pair: Callable[[dict, bool], tuple[Any, Any]] | None = None
    #: Our tools by name.
    specs: dict[str, ToolSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "specs", {spec.name: spec for spec in tool_specs(self.our_class)})

    def assert_same_state(self, reference: Any, ours: Any, where: str) -> None:
        """The two states compare equal: ``compare``, or BFCL's rule and equal snapshots."""
        if self.compare is not None:
            self.compare(reference, ours, where)
            return
        assert public_state(ours) == public_state(reference), where  # BFCL's rule: == on every attribute
        assert self.snapshot(ours) == self.snapshot(reference), where

    def pair(self, config: dict, long_context: bool = False) -> tuple[Any, Any]:
        """A fresh (reference, ours) pair loaded from ``config``."""
        if self.make_pair is not None:
            return self.make_pair(config, long_context)
        return build_pair(self.class_name, self.our_class, config, long_context)

    def bind(self, tool: str, args: list, kwargs: dict) -> dict[str, Any]:
        """Every argument of a call by parameter name."""
        return dict(zip(self.specs[tool].param_order, args, strict=False), **kwargs)


def check_call(
    domain: Conformance, reference: Any, ours: Any, tool: str, args: list, kwargs: dict, where: str
) -> str:
    """Run one call on both and compare; returns the count it adds to ("agree_ok", or the failure rule's).

    Both must fail or both succeed; on success the result strings are identical, on failure the domain's
    failure rule holds for ours; either way the states are equal afterwards.
    """
    before = domain.snapshot(ours)
    expected, failed = domain.run_ref(reference, tool, args, kwargs)
    got, our_failed = run_ours(ours, tool, args, kwargs)
    assert our_failed == failed, f"{where}: reference {expected!r}, ours {got!r}"
    if failed:
        outcome = domain.failure_rule(tool, before, domain.snapshot(ours), where)
    else:
        assert got == expected, where
        outcome = "agree_ok"
    domain.assert_same_state(reference, ours, where)
    return outcome


# ------------------------------------------------------------------------------------------------------------
# The three drivers


def replay_ground_truth(
    domain: Conformance,
    category: str,
    *,
    run_ref: Callable[[Any, str, list, dict], tuple[str, bool]] | None = None,
    after_each_call: bool = False,
) -> int:
    """Replay every ground-truth call of the domain's class in ``category`` on a fresh pair per task.

    No ground-truth call may fail on the reference, and ours must give the identical string; the states must
    be equal after loading and after every turn (and after every call with ``after_each_call``). ``run_ref``
    replaces the domain's way of running the reference. Returns the number of calls compared.
    """
    run = run_ref or domain.run_ref
    compared = 0
    for task in ground_truth_tasks(category, domain.class_name, domain.specs):
        reference, ours = domain.pair(task.config, task.long_context)
        domain.assert_same_state(reference, ours, f"{task.task_id} initially")
        for number, turn in enumerate(task.turns):
            for call in turn:
                where = f"{task.task_id} turn {number}: {call}"
                name, args, kwargs = parse_call(call)
                expected, failed = run(reference, name, args, kwargs)
                assert not failed, f"{where}: the ground truth itself failed: {expected}"
                got, _ = run_ours(ours, name, args, kwargs)
                assert got == expected, where
                if after_each_call:
                    domain.assert_same_state(reference, ours, where)
                compared += 1
            domain.assert_same_state(reference, ours, f"{task.task_id} after turn {number}")
    return compared


def ground_truth_call_count(domain: Conformance) -> int:
    """How many ground-truth calls of the domain's tools BFCL's four categories hold."""
    return sum(
        1 for category in CATEGORIES for _ in ground_truth_calls(category, domain.class_name, domain.specs)
    )


def run_script(domain: Conformance, config: dict, calls: Sequence[str], long_context: bool = False) -> None:
    """Run call strings one by one on a fresh pair, checking each with :func:`check_call`."""
    reference, ours = domain.pair(config, long_context)
    for call in calls:
        name, args, kwargs = parse_call(call)
        check_call(domain, reference, ours, name, args, kwargs, call)


class RandomCalls:
    """Random calls of one domain's tools for :func:`differential_run`.

    Subclasses set ``specs`` (our tools by name) and write ``arguments(tool)`` (keyword arguments); ``call()``
    picks a tool (by ``weights``, ``default_weight`` for the rest), makes its arguments, and passes some by
    position (:func:`split_arguments` with the class's ``gap`` rule). ``reference`` is the live reference
    instance, to draw names and ids from what it holds now.
    """

    specs: ClassVar[dict[str, ToolSpec]]
    weights: ClassVar[Mapping[str, int]] = {}
    default_weight: ClassVar[int] = 1
    gap: ClassVar[str] = "stop"

    def __init__(self, rng: random.Random, reference: Any) -> None:
        self.rng = rng
        self.reference = reference

    def arguments(self, tool: str) -> dict[str, Any]:
        raise NotImplementedError

    def pick_tool(self) -> str:
        tools = list(self.specs)
        return self.rng.choices(tools, [self.weights.get(tool, self.default_weight) for tool in tools])[0]

    def call(self) -> Call:
        tool = self.pick_tool()
        args, kwargs = split_arguments(self.rng, self.specs[tool].param_order, self.arguments(tool), self.gap)
        return tool, args, kwargs


def split_arguments(
    rng: random.Random, order: Sequence[str], kwargs: dict[str, Any], gap: str = "stop"
) -> tuple[list, dict]:
    """Pass a random number of the signature's leading parameters by position, the rest by keyword.

    The number is drawn from 0 to the number of parameters given. A parameter left out among those leading
    ones ends the positional arguments there (``gap="stop"``) or sends them all by keyword (``"keywords"``).
    """
    cut = rng.randint(0, len([param for param in order if param in kwargs]))
    leading = list(itertools.takewhile(kwargs.__contains__, order[:cut]))
    if len(leading) < cut and gap == "keywords":
        leading = []
    return [kwargs.pop(param) for param in leading], kwargs


def differential_run(
    domain: Conformance,
    scenario: Scenario,
    calls: Callable[[random.Random, Any], RandomCalls],
    sequences: int | Sequence[str],
    calls_per_sequence: int,
    deviation: Callable[[Any, Any, str, dict[str, Any]], bool] | None = None,
) -> Counter[str]:
    """Random call sequences on fresh pairs from ``scenario``; returns how many calls ended which way.

    Sequence ``n`` draws from ``random.Random(f"{label}-{n}")`` (or from each seed string, when ``sequences``
    lists them) through ``calls(rng, reference)``. A call ``deviation(reference, ours, tool, bound)`` marks
    is one ours refuses on purpose: it must raise ToolError on ours and change nothing, and is not run on the
    reference ("deviation"). Every other call goes through :func:`check_call` ("agree_ok", "agree_error" or
    the domain's failure-rule counts).
    """
    label, config, long_context = scenario
    seeds = [f"{label}-{n}" for n in range(sequences)] if isinstance(sequences, int) else sequences
    counts: Counter[str] = Counter()
    for seed in seeds:
        reference, ours = domain.pair(config, long_context)
        maker = calls(random.Random(seed), reference)
        for _ in range(calls_per_sequence):
            tool, args, kwargs = maker.call()
            where = f"{label} seed {seed}: {tool}(*{args!r}, **{kwargs!r})"
            if deviation is not None and deviation(reference, ours, tool, domain.bind(tool, args, kwargs)):
                before = domain.snapshot(ours)
                with pytest.raises(ToolError):
                    getattr(ours, tool)(*copy.deepcopy(args), **copy.deepcopy(kwargs))
                assert domain.snapshot(ours) == before, f"{where}: a refused call changed the state"
                counts["deviation"] += 1
                continue
            counts[check_call(domain, reference, ours, tool, args, kwargs, where)] += 1
    return counts
