"""The bundled task sets (one per registered domain that has one) and the helpers their tests share.

Each :class:`TaskSet` names one task file with what its checks need: the BFCL class and its tools (from the
registry), the exact scenario keys, per-set thresholds and a hook saying when a call on BFCL's reference class has
failed (:data:`PARTICULAR`).
``test_bundled_data.py`` runs every common check over all of :data:`SETS`; the ``test_bundled_<set>_data.py``
modules hold only what is particular to one set. Nothing here is collected as a test.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from functools import cached_property, partial
from types import ModuleType
from typing import Any, NamedTuple

import pytest

from envtune_gym.domains import DomainSpec, registered_domains
from envtune_gym.tasks.bundled import task_file
from envtune_gym.tasks.model import Task
from envtune_gym.tools import tool_specs

BFCL_SKIP_REASON = (
    "bfcl_eval is not installed (pip install --no-deps bfcl-eval==2026.3.23) to replay on BFCL's reference"
)

#: ``check_call(instance, name, run)``: ``run()`` makes the call on the reference and returns (result string,
#: failed); the hook returns the same pair, with ``failed`` widened to the set's own failure signals.
CallCheck = Callable[[Any, str, Callable[[], tuple[str, bool]]], tuple[str, bool]]


def plain_call(instance: Any, name: str, run: Callable[[], tuple[str, bool]]) -> tuple[str, bool]:
    """A call fails when it raises or returns an error dict (``run_reference``'s own rule)."""
    return run()


@dataclass(frozen=True)
class TaskSet:
    """One bundled data file and the per-set parameters of the shared checks."""

    name: str
    domain: str
    tools: frozenset[str]
    #: The exact keys of every task's ``initial_config[domain]``; ``None``: the same keys in every task.
    config_keys: frozenset[str] | None = None
    #: (at least this many tasks of 1-2 calls, at least this many of 8+ calls); None: no spread required.
    difficulty: tuple[int, int] | None = None
    check_call: CallCheck = plain_call
    min_per_category: int = 12
    max_calls_per_turn: int = 5
    min_turns: int = 2
    max_turns: int = 6

    @cached_property
    def payload(self) -> dict[str, Any]:
        return json.loads(task_file(self.name).read_text(encoding="utf-8"))

    @cached_property
    def tasks(self) -> list[Task]:
        return [Task.model_validate(item) for item in self.payload["tasks"]]

    @property
    def task_ids(self) -> list[str]:
        return [task.id for task in self.tasks]

    def where(self, *categories: str) -> list[Task]:
        """The tasks of the given categories."""
        return [task for task in self.tasks if task.category in categories]


# ----------------------------------------------------------------------------------------------------------------
# ground-truth calls


def split_call(call: str) -> tuple[str, dict[str, Any]]:
    """Split one ground-truth call string into its tool name and literal keyword arguments."""
    node = ast.parse(call, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a plain call: {call!r}")
    if node.args:
        raise ValueError(f"positional arguments in {call!r}; the bundled data uses keyword arguments only")
    kwargs: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            raise ValueError(f"**kwargs in {call!r}")
        kwargs[keyword.arg] = ast.literal_eval(keyword.value)  # raises ValueError on non-literals
    return node.func.id, kwargs


def tools_in(calls: Iterable[str]) -> set[str]:
    return {split_call(call)[0] for call in calls}


def total_calls(task: Task) -> int:
    return sum(len(calls) for calls in task.ground_truth)


# ----------------------------------------------------------------------------------------------------------------
# per-set failure hooks


def _trading_error_shaped(text: str) -> bool:
    """Whether a TradingBot result string reports a failure that is not an error dict."""
    return (
        text.startswith("Error during execution")  # an exception
        or text.startswith("[{'error'")  # get_order_history / get_transaction_history when logged out
        or text.startswith("['Error")  # get_watchlist when logged out
        or text == "Stock not found"
        or '"Stock not found"' in text  # get_symbol_by_name with an unknown name
    )


def trading_call(bot: Any, name: str, run: Callable[[], tuple[str, bool]]) -> tuple[str, bool]:
    watched_before = list(bot.watch_list)
    text, failed = run()
    if name == "add_to_watchlist" and not failed:
        # the reference silently ignores a symbol that is already listed or unknown
        failed = bot.watch_list == watched_before
    return text, failed or _trading_error_shaped(text)


def travel_call(system: Any, name: str, run: Callable[[], tuple[str, bool]]) -> tuple[str, bool]:
    text, failed = run()
    # verify_traveler_information reports a refused traveller with a status flag, not an error dict
    return text, failed or '"verification_status": false' in text


def messaging_call(instance: Any, name: str, run: Callable[[], tuple[str, bool]]) -> tuple[str, bool]:
    text, failed = run()
    # an unknown id is refused with a status flag instead of an error dict
    return text, failed or (name == "message_login" and not json.loads(text)["login_status"])


# ----------------------------------------------------------------------------------------------------------------
# the sets: one per registered domain with a task set; what is particular to a set is kept here


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Per-set parameters beyond the defaults, by task-set name.
PARTICULAR: dict[str, dict[str, Any]] = {
    "filesystem": {"config_keys": _names("root")},
    "trading": {
        # every state key set explicitly; no random_seed, so BFCL's default seed applies
        "config_keys": _names(
            """orders account_info authenticated market_status order_counter stocks watch_list
            transaction_history"""
        ),
        "difficulty": (4, 4),
        "check_call": trading_call,
    },
    "travel": {
        # the nine keys every BFCL TravelAPI scenario sets; no random_seed, so the default seed 141053 applies
        "config_keys": _names(
            """credit_card_list booking_record access_token token_type token_expires_in token_scope
            user_first_name user_last_name budget_limit"""
        ),
        "difficulty": (8, 4),
        "check_call": travel_call,
    },
    "messaging": {
        # the whole state except generated_ids (a set, not JSON) and random_seed (BFCL's default 200191, as in
        # all of BFCL's data), so no task depends on the class's default workspace
        "config_keys": _names("user_count user_map inbox message_count current_user"),
        "difficulty": (4, 4),
        "check_call": messaging_call,
    },
}


def task_set_of(spec: DomainSpec) -> TaskSet:
    """The checks' view of a registered domain's task set: its tools from the registry, plus :data:`PARTICULAR`."""
    assert spec.task_set is not None
    tools = frozenset(tool.name for tool in tool_specs(spec.cls))
    return TaskSet(name=spec.task_set, domain=spec.name, tools=tools, **PARTICULAR.get(spec.task_set, {}))


SETS: dict[str, TaskSet] = {
    spec.task_set: task_set_of(spec) for spec in registered_domains() if spec.task_set is not None
}


def set_params(keep: Callable[[TaskSet], bool] = lambda task_set: True) -> list[Any]:
    """``pytest.param(task_set, id=<set name>)`` for each set that ``keep`` accepts."""
    return [pytest.param(task_set, id=task_set.name) for task_set in SETS.values() if keep(task_set)]


def task_params(*categories: str) -> list[Any]:
    """``pytest.param(task_set, task, id=<task id>)`` for every task of every set (of ``categories``, if given)."""
    return [
        pytest.param(task_set, task, id=task.id)
        for task_set in SETS.values()
        for task in task_set.tasks
        if not categories or task.category in categories
    ]


# ----------------------------------------------------------------------------------------------------------------
# replay on BFCL's reference simulator


class Step(NamedTuple):
    turn: int
    call: str
    text: str  # the reference's result string
    failed: bool  # by the set's ``check_call``


def bfcl_support() -> ModuleType:
    """``tests.bfcl_support``, or skip the test when ``bfcl_eval`` cannot be imported."""
    pytest.importorskip("bfcl_eval", reason=BFCL_SKIP_REASON)
    from tests import bfcl_support as support

    return support


def replay(task_set: TaskSet, task: Task) -> tuple[list[Step], dict[str, Any]]:
    """Run a task's ground truth on a fresh reference instance: one :class:`Step` per call, and the end state."""
    support = bfcl_support()
    instance = support.reference_class(task_set.domain)()
    instance._load_scenario(
        deepcopy(task.initial_config[task_set.domain]), long_context=task.uses_long_context
    )
    steps = []
    for turn, calls in enumerate(task.ground_truth):
        for call in calls:
            name, args, kwargs = support.parse_call(call)
            run = partial(support.run_reference, instance, name, args, kwargs)
            text, failed = task_set.check_call(instance, name, run)
            steps.append(Step(turn, call, text, failed))
    return steps, deepcopy(support.public_state(instance))
