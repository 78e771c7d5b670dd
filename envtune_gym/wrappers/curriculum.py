"""``CurriculumGate``: the staged curriculum of the Environment Tuning method, with automatic promotion.

The method trains in four stages (arXiv 2510.10197, §3.2): the call syntax on easy tasks, then base tasks with
hints and the progress reward, then every category with hints, then every category without hints. A stage here is
data (:class:`Stage`): which tasks it draws, which reward it pays, whether hints are on. A
:class:`CurriculumController` holds the current stage and promotes when the rolling mean of episode success (or
return) over a window reaches a threshold, optionally demoting below another; it is plain data with
``state_dict()`` / ``load_state_dict()`` for checkpoints.

A stage may also start episodes at a later turn (``Stage.start_turn="random_checked"``): a checked turn drawn with
the gate's seeded generator, from the ground-truth state after the turns before it (the env's ``start_turn``
reset option), so that training sees late turns as often as early ones.

Hints are a wrapper of their own that the user stacks under the gate, ``CurriculumGate(HintAugmentation(env))``;
at each reset the gate tells it whether the stage has hints (``options["hints"]``).

There is one controller however many envs: the draw (:meth:`CurriculumController.draw`) and the recording
(:meth:`CurriculumGate.record`) each exist once. With one env the gate records each episode itself. Several gates
in one process (the GRPO loop's runners) share one controller (``controller=``): the loop draws a step's tasks
with :meth:`CurriculumGate.draw`, records the episodes it keeps with :meth:`CurriculumGate.record`
(``auto_record=False``), and every gate sees a promotion at its next reset. A vector env in subprocesses has a
copy per process, so there the loop owns the controller and pushes its stage, ``envs.call("set_stage", k)``.
"""

from __future__ import annotations

import json
import math
import numbers
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from envtune_gym.tasks import Category, Task
from envtune_gym.wrappers.hints import HintAugmentation
from envtune_gym.wrappers.rewards import FormatScorer, ProgressScorer


@dataclass(frozen=True)
class Stage:
    """One curriculum stage: its task filter, its reward and whether hints are on.

    Example:
        >>> Stage("syntax", categories=("base",), max_calls=4, reward="format").reward
        'format'
    """

    name: str
    #: Keep tasks of these categories (all if ``None``).
    categories: tuple[Category, ...] | None = None
    #: Keep tasks whose domains are all among these BFCL class names (all if ``None``).
    domains: tuple[str, ...] | None = None
    #: Keep tasks with at most this many ground-truth calls / user turns (difficulty).
    max_calls: int | None = None
    max_turns: int | None = None
    reward: Literal["format", "progress"] = "progress"
    hints: bool = True
    #: Keep tasks whose recorded difficulty (``Task.difficulty``, set on synthesized tasks: ``depth``,
    #: ``state_size``, ``distractors``, ...) is at most these values; a task that records no value for a key
    #: (hand-written and BFCL tasks record none) is kept.
    max_difficulty: Mapping[str, int] | None = None
    #: Where episodes start: at the ``"first"`` turn, or at a ``"random_checked"`` one (a turn with ground truth,
    #: drawn with the gate's seeded generator) from the ground-truth state after the turns before it, which the
    #: policy sees as ``info["history"]``.
    start_turn: Literal["first", "random_checked"] = "first"

    def __post_init__(self) -> None:
        if self.start_turn not in START_TURNS:
            raise ValueError(
                f"stage {self.name!r}: start_turn must be one of {START_TURNS}, got {self.start_turn!r}"
            )
        bounds = self.max_difficulty
        if bounds is not None and not (
            isinstance(bounds, Mapping)
            and all(isinstance(key, str) and type(value) is int for key, value in bounds.items())
        ):
            raise ValueError(
                f"stage {self.name!r}: max_difficulty maps knob names to integers, got {bounds!r}"
            )

    def matches(self, task: Task) -> bool:
        """Whether ``task`` belongs to this stage.

        Example:
            >>> from envtune_gym.synth import synthesize
            >>> task = synthesize("filesystem", 1, seed=0)[0]
            >>> Stage("easy", max_difficulty={"depth": task.difficulty["depth"] - 1}).matches(task)
            False
        """
        calls = sum(len(turn) for turn in task.ground_truth)
        return (
            (self.categories is None or task.category in self.categories)
            and (self.domains is None or set(task.domains) <= set(self.domains))
            and (self.max_calls is None or calls <= self.max_calls)
            and (self.max_turns is None or task.num_turns <= self.max_turns)
            and (self.max_difficulty is None or _within(task.difficulty, self.max_difficulty))
        )


#: The values of :attr:`Stage.start_turn`.
START_TURNS: tuple[str, ...] = ("first", "random_checked")


def _within(difficulty: Mapping[str, int], bounds: Mapping[str, int]) -> bool:
    return all(difficulty.get(knob, bound) <= bound for knob, bound in bounds.items())


#: The paper's plan: syntax on easy tasks, base with hints and progress reward, all with hints, all without.
DEFAULT_STAGES: tuple[Stage, ...] = (
    Stage("syntax", categories=("base",), max_calls=4, reward="format", hints=True),
    Stage("base", categories=("base",), reward="progress", hints=True),
    Stage("all_with_hints", reward="progress", hints=True),
    Stage("all_without_hints", reward="progress", hints=False),
)


class CurriculumController:
    """The current stage, and promotion (or demotion) from a rolling window of episode outcomes.

    Args:
        stages: the stages, easiest first.
        window: episodes in the rolling window.
        threshold: promote when the window is full and its mean is at least this.
        demotion_threshold: demote when the window is full and its mean is below this (never if ``None``).

    Example:
        >>> controller = CurriculumController(window=2, threshold=0.5)
        >>> [controller.record(value) for value in (1.0, 1.0)], controller.stage
        ([False, True], 1)
    """

    def __init__(
        self,
        stages: Sequence[Stage] = DEFAULT_STAGES,
        *,
        window: int = 32,
        threshold: float = 0.7,
        demotion_threshold: float | None = None,
    ) -> None:
        if not stages:
            raise ValueError("a curriculum needs at least one stage")
        if not all(isinstance(stage, Stage) for stage in stages):
            raise ValueError("stages must be Stage values")
        _check_settings(window, threshold, demotion_threshold)
        self.stages = tuple(stages)
        self.window = int(window)
        self.threshold = float(threshold)
        self.demotion_threshold = None if demotion_threshold is None else float(demotion_threshold)
        self.stage = 0
        self.transitions: list[dict[str, Any]] = []
        self._outcomes: deque[float] = deque(maxlen=self.window)
        self._episodes = 0

    @property
    def current(self) -> Stage:
        """The current :class:`Stage`."""
        return self.stages[self.stage]

    @property
    def window_mean(self) -> float | None:
        """The mean outcome in the window (``None`` while it is empty)."""
        return sum(self._outcomes) / len(self._outcomes) if self._outcomes else None

    def record(self, outcome: float) -> bool:
        """Record one episode's outcome (success 0/1 or a bool, or its return); True if the stage changed.

        A non-finite outcome is a ``ValueError``: one NaN would make the window mean NaN until it left the window,
        and NaN compares false with both thresholds, so the stage could not move.
        """
        _check_finite(outcome, "outcome")  # before anything changes
        self._episodes += 1
        self._outcomes.append(float(outcome))
        if len(self._outcomes) < self.window:
            return False
        mean = self.window_mean
        if mean >= self.threshold and self.stage < len(self.stages) - 1:
            return self._move(+1, mean)
        if self.demotion_threshold is not None and mean < self.demotion_threshold and self.stage > 0:
            return self._move(-1, mean)
        return False

    def draw(self, tasks: Sequence[Task], count: int, rng: np.random.Generator) -> list[Task]:
        """``count`` of ``tasks`` that match the current stage: distinct, repeating only when too few match.

        Example:
            >>> from envtune_gym.tasks.bundled import load_bundled
            >>> tasks = load_bundled("filesystem")
            >>> drawn = CurriculumController().draw(tasks, 3, np.random.default_rng(0))
            >>> len({task.id for task in drawn}), all(task.category == "base" for task in drawn)
            (3, True)
        """
        candidates = [task for task in tasks if self.current.matches(task)]
        if not candidates:
            raise ValueError(f"stage {self.stage} ({self.current.name}) matches none of {len(tasks)} tasks")
        chosen = rng.choice(len(candidates), size=count, replace=len(candidates) < count)
        return [candidates[int(index)] for index in chosen]

    def set_stage(self, stage: int) -> None:
        """Jump to a stage (e.g. pushed from a training loop's controller); the window starts afresh.

        ``stage`` is an integer index (a NumPy integer too, stored as ``int``); ``True`` or ``1.5`` is a
        ``ValueError``.
        """
        stage = self._stage_index(stage)
        if stage != self.stage:
            self.stage = stage
            self._outcomes.clear()

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: stage, window, transitions, settings."""
        return {
            "stage": self.stage,
            "outcomes": list(self._outcomes),
            "episodes": self._episodes,
            "transitions": [dict(t) for t in self.transitions],
            "window": self.window,
            "threshold": self.threshold,
            "demotion_threshold": self.demotion_threshold,
            "stages": [asdict(stage) for stage in self.stages],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the stages must be the same.

        The whole checkpoint is checked before anything changes: a missing key, a stage out of range, bad settings
        or a non-finite outcome is a ``ValueError`` and leaves the controller as it was.
        """
        missing = sorted(set(_STATE_KEYS) - set(state)) if isinstance(state, dict) else list(_STATE_KEYS)
        if missing:
            raise ValueError(f"not a CurriculumController checkpoint: missing {missing}")
        if _plain([asdict(stage) for stage in self.stages]) != _plain(_with_defaults(state["stages"])):
            raise ValueError("the checkpoint was saved with different stages")
        _check_settings(state["window"], state["threshold"], state["demotion_threshold"])
        stage = self._stage_index(state["stage"])
        outcomes, episodes, transitions = state["outcomes"], state["episodes"], state["transitions"]
        if not isinstance(outcomes, list):
            raise ValueError(f"checkpoint 'outcomes' must be a list, got {type(outcomes).__name__}")
        for value in outcomes:
            _check_finite(value, "a checkpoint outcome")
        if not _is_integer(episodes) or episodes < 0:
            raise ValueError(f"checkpoint 'episodes' must be a non-negative integer, got {episodes!r}")
        if not isinstance(transitions, list) or not all(isinstance(t, dict) for t in transitions):
            raise ValueError("checkpoint 'transitions' must be a list of dicts")
        self.window, self.threshold = int(state["window"]), float(state["threshold"])
        demotion = state["demotion_threshold"]
        self.demotion_threshold = None if demotion is None else float(demotion)
        self.stage = stage
        self._outcomes = deque((float(value) for value in outcomes), maxlen=self.window)
        self._episodes = int(episodes)
        self.transitions = [dict(t) for t in transitions]

    def _stage_index(self, stage: Any) -> int:
        """``stage`` as a valid index into the stages, else a ``ValueError`` that says what is allowed."""
        last = len(self.stages) - 1
        if not _is_integer(stage) or not 0 <= stage <= last:
            raise ValueError(f"stage must be an integer in 0..{last}, got {stage!r}")
        return int(stage)

    def _move(self, direction: int, mean: float) -> bool:
        before = self.stage
        self.stage += direction
        self._outcomes.clear()
        self.transitions.append(
            {"episode": self._episodes, "from": before, "to": self.stage, "window_mean": mean}
        )
        return True


#: The keys of a :meth:`CurriculumController.state_dict`.
_STATE_KEYS = (
    "stage",
    "outcomes",
    "episodes",
    "transitions",
    "window",
    "threshold",
    "demotion_threshold",
    "stages",
)


def _is_integer(value: Any) -> bool:
    """An integer (a NumPy one too), but not a bool: ``True`` is no stage, window or count."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_finite(value: Any) -> bool:
    """A finite real number, bools excluded (NaN compares false with every threshold)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _check_finite(outcome: Any, what: str) -> None:
    """Raise ``ValueError`` unless ``outcome`` is a finite number; a bool counts as 0/1 (success)."""
    if not (isinstance(outcome, bool) or _is_finite(outcome)):
        raise ValueError(f"{what} must be a finite number, got {outcome!r}")


def _check_settings(window: Any, threshold: Any, demotion_threshold: Any) -> None:
    """Raise ``ValueError`` unless the window is a positive integer and the thresholds finite, demotion below."""
    if not _is_integer(window) or window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")
    if not _is_finite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}")
    if demotion_threshold is not None and not _is_finite(demotion_threshold):
        raise ValueError(f"demotion_threshold must be a finite number or None, got {demotion_threshold!r}")
    if demotion_threshold is not None and demotion_threshold >= threshold:
        raise ValueError("demotion_threshold must be below threshold, or the stage would oscillate")


def _with_defaults(stages: Any) -> Any:
    """Saved stages with the defaults of fields added since they were saved (``start_turn``, say)."""
    if not isinstance(stages, list):
        return stages
    defaults = {item.name: item.default for item in fields(Stage) if item.default is not MISSING}
    return [{**defaults, **stage} if isinstance(stage, dict) else stage for stage in stages]


def _plain(value: Any) -> Any:
    """The value as JSON would carry it (tuples become lists), so saved and live stages compare equal."""
    return json.loads(json.dumps(value))


class CurriculumGate(gym.Wrapper[str, str, str, str], gym.utils.RecordConstructorArgs):
    """Draw tasks, pay rewards and switch hints by the current curriculum stage.

    Stack it over a :class:`~envtune_gym.wrappers.HintAugmentation`: ``CurriculumGate(HintAugmentation(env))``.
    Each reset draws the episode's task among the env's tasks that match the stage (:meth:`draw`; a caller's
    ``options["task_id"]`` or ``options["task"]`` wins) and passes the stage's ``hints`` down as
    ``options["hints"]``, so the hint wrapper runs at its own level or ``"off"`` for that episode; a stage with
    ``start_turn="random_checked"`` also passes ``options["start_turn"]``, a checked turn of the task drawn with
    the gate's generator (:meth:`draw_start_turn`; a caller's own ``start_turn`` wins). Each step pays
    the stage's reward (format or progress) instead of the env's. ``info["curriculum"]`` reports ``stage``,
    ``name``, ``reward``, ``hints``, ``window_mean``, ``start_turn`` (the episode's first turn) and, on an
    episode's last step, ``changed`` (whether this
    episode moved the stage).

    A stage with hints on needs a ``HintAugmentation`` under the gate: without one the gate is a ``ValueError``
    when made, rather than a hinted stage that silently runs without hints. Stages all with ``hints=False`` need
    none.

    Args:
        env: an EnvTune env (or a wrapper of one), with a ``HintAugmentation`` in its stack if a stage has hints.
        stages, window, threshold, demotion_threshold: for the controller the gate makes when none is given.
        controller: a :class:`CurriculumController` to use (one shared by several gates in one process, say).
        metric: what an episode's outcome is: ``"success"`` (BFCL's verdict) or ``"reward"`` (its return).
        auto_record: record each finished episode in the controller (turn off when a training loop records).

    Example:
        >>> import gymnasium as gym, envtune_gym
        >>> from envtune_gym.wrappers import HintAugmentation
        >>> env = CurriculumGate(HintAugmentation(gym.make("EnvTune/FileSystem-v0")), window=4, threshold=0.5)
        >>> observation, info = env.reset(seed=0)
        >>> info["curriculum"]["name"], info["task_id"].startswith("filesystem_base")
        ('syntax', True)
        >>> env.set_stage(3)  # all tasks, no hints
        >>> _ = env.reset(seed=0)
        >>> env.step("[lss()]")[4]["hint"]
        ''
    """

    def __init__(
        self,
        env: gym.Env[str, str],
        *,
        stages: Sequence[Stage] = DEFAULT_STAGES,
        window: int = 32,
        threshold: float = 0.7,
        demotion_threshold: float | None = None,
        controller: CurriculumController | None = None,
        metric: Literal["success", "reward"] = "success",
        auto_record: bool = True,
    ) -> None:
        if metric not in ("success", "reward"):
            raise ValueError(f"metric must be 'success' or 'reward', got {metric!r}")
        if controller is None:
            controller = CurriculumController(
                stages, window=window, threshold=threshold, demotion_threshold=demotion_threshold
            )
        gym.utils.RecordConstructorArgs.__init__(
            self, stages=controller.stages, window=window, threshold=threshold,
            demotion_threshold=demotion_threshold, metric=metric, auto_record=auto_record,
        )  # fmt: skip
        gym.Wrapper.__init__(self, env)
        self.controller = controller
        self.metric = metric
        self.auto_record = auto_record
        self._tasks: tuple[Task, ...] = tuple(env.unwrapped.tasks)
        self._task_index = {task.id: task for task in self._tasks}
        self._start_turn = 0
        _check_stages(controller.stages, self._tasks, hinted=_has_hints(env))
        self._rng = np.random.default_rng()
        self._scorer: ProgressScorer | FormatScorer = ProgressScorer()
        self._episode_return = 0.0

    @property
    def stage(self) -> int:
        """The current stage index; assigning it (also as ``envs.set_attr("stage", k)``) moves the curriculum."""
        return self.controller.stage

    @stage.setter
    def stage(self, stage: int) -> None:
        self.controller.set_stage(stage)

    def set_stage(self, stage: int) -> None:
        """Move to a stage (takes effect at the next reset); reachable as ``envs.call("set_stage", k)``."""
        self.controller.set_stage(stage)

    def draw(self, count: int = 1, rng: np.random.Generator | None = None) -> list[str]:
        """The ids of ``count`` of this env's tasks of the current stage (:meth:`CurriculumController.draw`).

        ``rng`` defaults to the gate's own generator, the one ``reset(seed=...)`` seeds; a training loop that
        draws a step's tasks passes its own.

        Example:
            >>> import gymnasium as gym, envtune_gym
            >>> from envtune_gym.wrappers import HintAugmentation
            >>> gate = CurriculumGate(HintAugmentation(gym.make("EnvTune/FileSystem-v0")))
            >>> [task_id.startswith("filesystem_base") for task_id in gate.draw(2, np.random.default_rng(0))]
            [True, True]
        """
        drawn = self.controller.draw(self._tasks, count, self._rng if rng is None else rng)
        return [task.id for task in drawn]

    def draw_start_turn(self, task: str | Task, rng: np.random.Generator | None = None) -> int:
        """The turn an episode of ``task`` (a task or its id) starts at in the current stage.

        0 for a ``"first"`` stage or a task without checked turns; for a ``"random_checked"`` stage, one of the
        task's checked turns drawn with ``rng`` (default: the gate's generator). A training loop that plays a group
        of episodes from one start draws it once here and passes it as ``options["start_turn"]``.

        Example:
            >>> import gymnasium as gym, envtune_gym
            >>> stages = [Stage("late", start_turn="random_checked", hints=False)]
            >>> gate = CurriculumGate(gym.make("EnvTune/FileSystem-v0"), stages=stages)
            >>> task = gate.unwrapped.tasks[0]
            >>> gate.draw_start_turn(task, np.random.default_rng(0)) in task.checked_turns
            True
        """
        if self.controller.current.start_turn == "first":
            return 0
        if not isinstance(task, Task):
            task = self._task_index[task]
        checked = task.checked_turns
        if not checked:
            return 0
        generator = self._rng if rng is None else rng
        return checked[int(generator.integers(len(checked)))]

    def record(self, success: bool, episode_return: float) -> bool:
        """Record one finished episode in the controller, by the gate's ``metric``; True if the stage changed.

        The gate calls it itself at each episode's end unless ``auto_record=False``; a training loop that keeps
        episodes the env never finished (cut by a length limit) records them here.

        Example:
            >>> import gymnasium as gym, envtune_gym
            >>> from envtune_gym.wrappers import HintAugmentation
            >>> gate = CurriculumGate(HintAugmentation(gym.make("EnvTune/FileSystem-v0")), window=1, threshold=0.5)
            >>> gate.record(success=True, episode_return=0.2), gate.stage
            (True, 1)
        """
        return self.controller.record(float(success) if self.metric == "success" else episode_return)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        stage = self.controller.current
        options = dict(options or {})
        if "task" not in options and "task_id" not in options:
            options["task_id"] = self.draw()[0]
        options.setdefault("hints", stage.hints)
        if "start_turn" not in options and stage.start_turn != "first":
            task = options.get("task") or self._task_index.get(options["task_id"])
            if task is not None:  # (an unknown id: the env says so)
                options["start_turn"] = self.draw_start_turn(Task.model_validate(task))
        self._scorer = FormatScorer() if stage.reward == "format" else ProgressScorer()
        self._episode_return = 0.0
        observation, info = self.env.reset(seed=seed, options=options)
        self._start_turn = int(info["turn"])
        info["curriculum"] = self._report()
        return observation, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        observation, _, terminated, truncated, info = self.env.step(action)
        reward, components = self._scorer.score(info, terminated, truncated)
        if components is not None:
            info["reward_components"] = components
        self._episode_return += reward
        report = self._report()
        if terminated or truncated:
            success = bool(info.get("success", False))
            report["changed"] = self.record(success, self._episode_return) if self.auto_record else False
        info["curriculum"] = report
        return observation, reward, terminated, truncated, info

    def _report(self) -> dict[str, Any]:
        stage = self.controller.current
        mean = self.controller.window_mean
        return {
            "stage": self.controller.stage,
            "name": stage.name,
            "reward": stage.reward,
            "hints": stage.hints,
            "window_mean": -1.0 if mean is None else mean,
            "start_turn": self._start_turn,
        }


def _has_hints(env: gym.Env) -> bool:
    """Whether a :class:`HintAugmentation` is in ``env``'s wrapper stack (where ``options["hints"]`` reaches)."""
    while isinstance(env, gym.Wrapper):
        if isinstance(env, HintAugmentation):
            return True
        env = env.env
    return False


def _check_stages(stages: Sequence[Stage], tasks: Sequence[Task], *, hinted: bool) -> None:
    """Raise ``ValueError`` for a stage that draws no task, or that has hints with no hint wrapper to show them."""
    for index, stage in enumerate(stages):
        if not any(stage.matches(task) for task in tasks):
            raise ValueError(f"stage {index} ({stage.name}) matches none of this env's {len(tasks)} tasks")
        if stage.hints and not hinted:
            raise ValueError(
                f"stage {index} ({stage.name}) has hints on, but no HintAugmentation is under the gate: stack "
                "it as CurriculumGate(HintAugmentation(env)), or give stages with hints=False"
            )
