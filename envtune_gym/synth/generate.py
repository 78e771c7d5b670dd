"""Synthesizing tasks: draw, shape to a category, build the Task, run the gates, redraw on failure.

Task ``index`` of ``seed`` depends only on (generator, seed, index): its draws come from
``random.Random(f"{name}/{seed}/{index}/{attempt}")``, attempt 0 first and one more per redraw. So any index can
be made alone, sets shard by index ranges, and a set is the same on every machine.

Example:
    >>> synth = Synthesizer("filesystem", seed=7)
    >>> task = synth.task(3)
    >>> task.id, task == Synthesizer("filesystem", seed=7).task(3)
    ('synth_filesystem_long_context_7_3', True)
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth.categories import Shaped, apply_category
from envtune_gym.synth.draft import Draft
from envtune_gym.synth.gates import GATES, GateFailure, check_task
from envtune_gym.synth.generator import Knobs, get_generator
from envtune_gym.tasks.model import CATEGORIES, Category, Task

#: Draws per index before giving up: a generator whose drafts fail this often is a bug or impossible knobs.
MAX_ATTEMPTS = 100


@dataclass
class SynthStats:
    """How generation went: tasks made, and redraws by cause (a gate, or ``category`` for a draft that could not
    take its category)."""

    generated: int = 0
    redraws: Counter[str] = field(default_factory=Counter)

    @property
    def redraw_rate(self) -> float:
        """Redraws per draw, in [0, 1)."""
        draws = self.generated + sum(self.redraws.values())
        return sum(self.redraws.values()) / draws if draws else 0.0

    def summary(self) -> str:
        """One line, e.g. ``200 tasks, 31 redraws (13.4%): necessary 20, grounded 11``."""
        causes = ", ".join(f"{cause} {count}" for cause, count in self.redraws.most_common())
        total = sum(self.redraws.values())
        return f"{self.generated} tasks, {total} redraws ({self.redraw_rate:.1%})" + (
            f": {causes}" if causes else ""
        )


class Synthesizer:
    """Makes the tasks of one generator and seed, gated.

    Args:
        name: a registered generator (``filesystem``, ``trading``, ``travel``, ``messaging``, or a multi-domain
            one; see :func:`~envtune_gym.synth.generator.generator_names`).
        seed: the set's seed.
        category: a category, or several taken in turn (task ``i`` is ``categories[i % len(categories)]``); by
            default BFCL's four in turn.
        knobs: difficulty knobs (defaults: :class:`~envtune_gym.synth.generator.Knobs`).
    """

    def __init__(
        self,
        name: str,
        seed: int = 0,
        *,
        category: Category | Sequence[Category] | None = None,
        knobs: Knobs | None = None,
    ) -> None:
        if type(seed) is not int or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        categories = (
            CATEGORIES if category is None else (category,) if isinstance(category, str) else category
        )
        unknown = [item for item in categories if item not in CATEGORIES]
        if unknown or not categories:
            raise ValueError(f"unknown category {unknown or category!r}; choose from {', '.join(CATEGORIES)}")
        self.name = name
        self.seed = seed
        self.categories: tuple[Category, ...] = tuple(categories)
        self.knobs = knobs or Knobs()
        self.knobs.validate()
        self.generator = get_generator(name)
        self.stats = SynthStats()
        self._env: ToolUseEnv | None = None

    def task(self, index: int) -> Task:
        """Task ``index`` of this set (the first draw that passes every gate).

        Raises:
            RuntimeError: no draw passed in :data:`MAX_ATTEMPTS` (knobs asking for more than the domain offers).
        """
        if type(index) is not int or index < 0:
            raise ValueError(f"index must be a non-negative integer, got {index!r}")
        category = self.categories[index % len(self.categories)]
        for attempt in range(MAX_ATTEMPTS):
            rng = random.Random(f"{self.name}/{self.seed}/{index}/{attempt}")
            draft = self.generator.draft(rng, self.knobs, _base_turns(rng, self.knobs, category))
            shaped = apply_category(draft, category, rng)
            if shaped is None:
                self.stats.redraws["category"] += 1
                continue
            task = self._build(index, category, draft, shaped)
            try:
                check_task(task, draft, shaped, self.generator, self._env_for(task))
            except GateFailure as failure:
                self.stats.redraws[failure.gate] += 1
                continue
            self.stats.generated += 1
            return task
        raise RuntimeError(
            f"{self.name}: no draw for task {index} ({category}) passed the gates in {MAX_ATTEMPTS} tries; "
            f"the knobs may ask for more than the domain offers: {self.knobs}"
        )

    def tasks(self, count: int, start: int = 0) -> Iterator[Task]:
        """Tasks ``start`` .. ``start + count - 1``."""
        for index in range(start, start + count):
            yield self.task(index)

    def _build(self, index: int, category: Category, draft: Draft, shaped: Shaped) -> Task:
        calls = [len(calls) for calls in shaped.ground_truth]
        return Task(
            id=f"synth_{self.name}_{category}_{self.seed}_{index}",
            category=category,
            domains=list(draft.domains),
            initial_config=draft.initial_config,
            turns=shaped.turns,
            ground_truth=shaped.ground_truth,
            held_out=shaped.held_out,
            long_context=shaped.long_context,
            description=f"envtune synth {self.name} --seed {self.seed}: task {index}",
            difficulty={
                "turns": len(shaped.turns),
                "calls_per_turn": max(calls),
                "depth": draft.depth,
                "state_size": draft.state_size,
                "distractors": draft.distractors,
            },
        )

    def _env_for(self, task: Task) -> ToolUseEnv:
        if self._env is None:
            self._env = ToolUseEnv(tasks=[task])
        return self._env


def synthesize(
    name: str,
    count: int,
    seed: int = 0,
    *,
    category: Category | None = None,
    knobs: Knobs | None = None,
    start: int = 0,
) -> list[Task]:
    """``count`` gated tasks of generator ``name``: indices ``start`` .. ``start + count - 1`` of ``seed``.

    Example:
        >>> [task.category for task in synthesize("trading", 4, seed=1)]
        ['base', 'miss_func', 'miss_param', 'long_context']
    """
    return list(Synthesizer(name, seed, category=category, knobs=knobs).tasks(count, start))


def _base_turns(rng: random.Random, knobs: Knobs, category: Category) -> int:
    """Turns of the draft: a miss_* category adds one, so its draft has one fewer (at least one)."""
    turns = rng.randint(knobs.min_turns, knobs.max_turns)
    return max(1, turns - 1) if category in ("miss_param", "miss_func") else turns


__all__ = ["GATES", "MAX_ATTEMPTS", "SynthStats", "Synthesizer", "synthesize"]
