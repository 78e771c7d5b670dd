"""The ground-truth side of the turn check: a shadow copy of the domains that replays the task's ground truth.

BFCL runs the ground truth on separate instances after the model's calls of each turn, then compares. The shadow
does the same, lazily: while the agent has made exactly the ground-truth calls, in order and without errors, its
domains are in the very state the shadow would reach (the domains are deterministic: same start, same calls, same
state, RNG included), and its results are the ground truth's. So the shadow is only built, and caught up, once the
agent's calls diverge from the ground truth; a trajectory that follows the ground truth costs one execution, not
two. Either way the verdict is the same as running both sides (tests/conformance/test_bfcl_env.py checks this
against BFCL's own checker).

The ground truth it replays is the task's :class:`~envtune_gym.tasks.ground_truth.GroundTruthPlan` (parsed, bound
and validated once per task, re-exported here), the same calls the oracle renders.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from typing import Any

from envtune_gym.domains import Domain, domain_class
from envtune_gym.tasks import Task
from envtune_gym.tasks.ground_truth import GroundTruthPlan
from envtune_gym.tools import ToolRegistry, isolated

__all__ = ["GroundTruthPlan", "Shadow", "build_domains", "same_value"]


def same_value(left: Any, right: Any) -> bool:
    """Equal and of the same types all the way down (``1``, ``1.0`` and ``True`` differ, as their results may)."""
    return left == right and _same_types(left, right)


def _same_types(left: Any, right: Any) -> bool:
    kind = type(left)
    if kind is not type(right):
        return False
    if kind is dict:  # a loop, not all(generator): this runs for every call the agent makes
        for key, value in left.items():
            other = right[key]
            if type(value) is not type(other) or (
                type(value) in _CONTAINERS and not _same_types(value, other)
            ):
                return False
        return True
    if kind is list:
        return all(map(_same_types, left, right))
    return True


_CONTAINERS = (dict, list)


class Shadow:
    """Replays the ground truth for the checker; built on first need (see the module docstring).

    Args:
        task: the episode's task.
        plan: its ground truth, :func:`~envtune_gym.tasks.ground_truth.ground_truth_plan` of ``task``.
        configs: the task's pickled ``initial_config`` (each build loads a private copy).
    """

    def __init__(self, task: Task, plan: GroundTruthPlan, configs: bytes) -> None:
        self.task = task
        self.plan = plan
        self._configs = configs
        self.domains: dict[str, Domain] | None = None
        self._tools: ToolRegistry | None = None
        self._applied = 0  # ground-truth calls the shadow domains have run (flat index)
        self._matched = 0  # ground-truth calls the agent has made, in order, while in sync
        self.in_sync = True

    def observe(self, name: str, arguments: dict[str, Any], failed: bool) -> None:
        """Record one agent call; any call other than the next ground-truth call, or a failed one, ends the sync."""
        if not self.in_sync:
            return
        flat = self.plan.flat
        if not failed and self._matched < len(flat) and flat[self._matched][0] == name:
            if same_value(flat[self._matched][1], arguments):
                self._matched += 1
                return
        self.in_sync = False

    def expected_results(self, turn: int, agent_results: Sequence[Any]) -> tuple[list[Any], bool]:
        """The turn's ground-truth results, and whether the agent's state is known to equal the shadow's.

        In sync at the turn's end, the agent made exactly the calls of turns ``0..turn``: its results for this turn
        are the ground truth's and its state is the shadow's. Otherwise the shadow catches up and runs the turn.
        """
        start, end = self.plan.bounds[turn]
        if self.in_sync and self._matched == end:
            return agent_results[start:end], True  # (a slice is a new list)
        self.in_sync = False
        flat = self.plan.flat
        tools = self._ensure_built()
        for name, arguments in flat[self._applied : start]:  # turns the agent matched: run them now
            tools.run(name, isolated(arguments))
        expected = [tools.run(name, isolated(arguments)).result for name, arguments in flat[start:end]]
        self._applied = end
        return expected, False

    def _ensure_built(self) -> ToolRegistry:
        if self._tools is None:
            self.domains = build_domains(self.task, self._configs)
            self._tools = ToolRegistry(self.domains.values())
        return self._tools


def build_domains(task: Task, configs: bytes) -> dict[str, Domain]:
    """Fresh domains for ``task``, loaded from a private copy of its pickled initial config (BFCL deep-copies too)."""
    private = pickle.loads(configs)  # a deep copy of plain data, several times faster than copy.deepcopy
    long_context = task.uses_long_context
    return {
        name: domain_class(name).from_scenario(private.get(name, {}), long_context, copy=False)
        for name in task.domains
    }
