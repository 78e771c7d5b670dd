"""BFCL's multi-turn accuracy, pass@k and pass^k, by category, by domain and overall.

Definitions (``n`` samples of a task, ``c`` of them successful):

* **accuracy** of a category: the mean success over all its episodes (every sample). With one sample this is
  BFCL's multi-turn accuracy; with ``n`` it is the mean of ``c / n`` over tasks, i.e. pass@1.
* **overall** accuracy: the unweighted mean of the categories present, as BFCL averages its four multi-turn
  categories (with BFCL's 200 tasks per category it is also the mean over tasks).
* **pass@k** (Chen et al. 2021, unbiased): the chance that at least one of ``k`` samples drawn without
  replacement from the ``n`` succeeds, ``1 - C(n-c, k) / C(n, k)``, averaged over tasks.
* **pass^k** (tau-bench): the chance that all ``k`` drawn samples succeed, ``C(c, k) / C(n, k)``, averaged
  over tasks. pass@1 = pass^1 = accuracy; pass@k grows with ``k`` and pass^k shrinks.
* Per category and per domain set the averages are over that group's tasks; ``overall`` pass@k and pass^k are,
  like accuracy, unweighted means of the categories'.
* A task's **domain** key is its domains sorted and joined with ``+`` (``GorillaFileSystem+TwitterAPI``):
  BFCL's tasks involve one or two domains and the pairs behave differently from their parts.
* **per-turn accuracy** (``--per-turn``): each checked turn of each task is played alone from its ground-truth
  start (the turns before it replayed from their ground truth), ``n`` times; a category's per-turn accuracy is the
  share of those turn episodes that passed, ``overall`` the unweighted mean of the categories', as for accuracy.
  By turn index, the share that passed among all the turn episodes of that index, every category pooled. Unlike
  BFCL's accuracy, a failed turn does not fail the turns after it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import comb
from typing import Any

from envtune_gym.eval.records import EpisodeRecord
from envtune_gym.tasks import CATEGORIES

OVERALL = "overall"


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one task: ``1 - C(n-c, k) / C(n, k)``.

    Example:
        >>> pass_at_k(4, 1, 2)
        0.5
        >>> pass_at_k(5, 0, 3), pass_at_k(5, 3, 3)
        (0.0, 1.0)
    """
    _check(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """tau-bench's pass^k of one task: ``C(c, k) / C(n, k)``, the chance that ``k`` draws all succeed.

    Example:
        >>> pass_hat_k(4, 2, 2)
        0.16666666666666666
        >>> pass_hat_k(4, 4, 3)
        1.0
    """
    _check(n, c, k)
    return comb(c, k) / comb(n, k)


def _check(n: int, c: int, k: int) -> None:
    if not (n >= 1 and 0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need n >= 1, 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")


@dataclass
class GroupScores:
    """The scores of one group of tasks (a category, a domain set, or overall)."""

    tasks: int
    episodes: int
    accuracy: float
    #: ``{k: pass@k}`` for k = 1..samples.
    pass_at_k: dict[int, float]
    #: ``{k: pass^k}`` for k = 1..samples.
    pass_hat_k: dict[int, float]


@dataclass
class TurnScores:
    """Per-turn accuracy of one group of checked turns, each played alone from its ground-truth start."""

    #: Distinct (task, turn) pairs, and the episodes played of them (``turns`` x samples).
    turns: int
    episodes: int
    #: The share of those episodes whose turn passed.
    accuracy: float


@dataclass
class PerTurnScores:
    """Per-turn accuracy (see the module docstring): by category (then ``"overall"``), by turn index, and both.

    Example:
        >>> episodes = [EpisodeRecord("a", "base", ["X"], 0, True, start_turn=0, end_turn=0),
        ...             EpisodeRecord("a", "base", ["X"], 0, False, start_turn=2, end_turn=2)]
        >>> scores = score_turns(episodes)
        >>> scores.by_category["base"].accuracy, scores.by_turn[2].accuracy, scores.by_category_turn["base"][0].turns
        (0.5, 0.0, 1)
    """

    by_category: dict[str, TurnScores]
    by_turn: dict[int, TurnScores]
    by_category_turn: dict[str, dict[int, TurnScores]]

    @property
    def overall(self) -> TurnScores:
        return self.by_category[OVERALL]


@dataclass
class Scores:
    """Every score of an evaluation (see the module docstring for the definitions).

    ``by_category`` is keyed by the categories present, in BFCL's order (base, miss_func, miss_param,
    long_context), then ``"overall"``; ``by_domain`` by domain key, sorted.
    """

    samples: int
    by_category: dict[str, GroupScores]
    by_domain: dict[str, GroupScores]
    #: ``episodes`` that ended in a policy error, ``examples`` of their messages, ``truncated`` episodes, and
    #: counts of ``calls`` by error category and of rejected ``actions`` by category.
    errors: dict[str, Any] = field(default_factory=dict)
    #: Per-turn accuracy, when the evaluation played each checked turn alone (``per_turn=True``), else ``None``.
    per_turn: PerTurnScores | None = None

    @property
    def overall(self) -> GroupScores:
        return self.by_category[OVERALL]


def score_episodes(
    episodes: Sequence[EpisodeRecord], samples: int, turn_episodes: Sequence[EpisodeRecord] | None = None
) -> Scores:
    """Scores of the episodes of an evaluation where every task was played ``samples`` times.

    ``turn_episodes``, the per-turn episodes (one checked turn each, from its ground-truth start), add
    :attr:`Scores.per_turn` (:func:`score_turns`).

    Example:
        >>> episodes = [EpisodeRecord("a", "base", ["X"], 0, True),
        ...             EpisodeRecord("a", "base", ["X"], 1, False),
        ...             EpisodeRecord("b", "miss_func", ["X", "Y"], 0, False),
        ...             EpisodeRecord("b", "miss_func", ["X", "Y"], 1, False)]
        >>> scores = score_episodes(episodes, samples=2)
        >>> scores.by_category["base"].pass_at_k, scores.overall.accuracy, list(scores.by_domain)
        ({1: 0.5, 2: 1.0}, 0.25, ['X', 'X+Y'])
    """
    if not episodes:
        raise ValueError("no episodes to score")
    tasks = _successes_by_task(episodes, samples)
    by_category: dict[str, GroupScores] = {}
    for category in _ordered_categories(episodes):
        by_category[category] = _group(
            [outcome for outcome in tasks.values() if outcome[0] == category], samples
        )
    by_category[OVERALL] = _mean_of_groups(list(by_category.values()), samples)
    domains = sorted({outcome[1] for outcome in tasks.values()})
    by_domain = {
        key: _group([outcome for outcome in tasks.values() if outcome[1] == key], samples) for key in domains
    }
    per_turn = score_turns(turn_episodes) if turn_episodes else None
    return Scores(samples, by_category, by_domain, _errors(episodes), per_turn)


def score_turns(turn_episodes: Sequence[EpisodeRecord]) -> PerTurnScores:
    """Per-turn accuracy of episodes that each played one turn (``start_turn``) from its ground-truth start."""
    if not turn_episodes:
        raise ValueError("no per-turn episodes to score")
    by_category = {
        category: _turn_group([e for e in turn_episodes if e.category == category])
        for category in _ordered_categories(turn_episodes)
    }
    groups = list(by_category.values())
    by_category[OVERALL] = TurnScores(
        sum(group.turns for group in groups),
        sum(group.episodes for group in groups),
        _mean([group.accuracy for group in groups]),
    )
    indices = sorted({episode.start_turn for episode in turn_episodes})
    by_turn = {turn: _turn_group([e for e in turn_episodes if e.start_turn == turn]) for turn in indices}
    by_category_turn = {
        category: {
            turn: _turn_group(chosen)
            for turn in indices
            if (chosen := [e for e in turn_episodes if e.category == category and e.start_turn == turn])
        }
        for category in _ordered_categories(turn_episodes)
    }
    return PerTurnScores(by_category, by_turn, by_category_turn)


def _turn_group(episodes: Sequence[EpisodeRecord]) -> TurnScores:
    turns = len({(episode.task_id, episode.start_turn) for episode in episodes})
    return TurnScores(turns, len(episodes), _mean([float(episode.success) for episode in episodes]))


def _successes_by_task(episodes: Sequence[EpisodeRecord], samples: int) -> dict[str, tuple[str, str, int]]:
    """``task_id -> (category, domain key, successes)``, checking that each task has ``samples`` episodes."""
    counts: Counter[str] = Counter()
    outcome: dict[str, tuple[str, str, int]] = {}
    for episode in episodes:
        counts[episode.task_id] += 1
        category, key, successes = outcome.get(episode.task_id, (episode.category, episode.domain_key, 0))
        outcome[episode.task_id] = (category, key, successes + bool(episode.success))
    uneven = sorted(task for task, count in counts.items() if count != samples)
    if uneven:
        raise ValueError(f"every task needs {samples} episodes; {uneven[:5]} have a different number")
    return outcome


def _ordered_categories(episodes: Sequence[EpisodeRecord]) -> list[str]:
    present = {episode.category for episode in episodes}
    return [name for name in CATEGORIES if name in present] + sorted(present - set(CATEGORIES))


def _group(outcomes: list[tuple[str, str, int]], samples: int) -> GroupScores:
    successes = [count for _, _, count in outcomes]
    ks = range(1, samples + 1)
    return GroupScores(
        tasks=len(successes),
        episodes=len(successes) * samples,
        accuracy=_mean([count / samples for count in successes]),
        pass_at_k={k: _mean([pass_at_k(samples, count, k) for count in successes]) for k in ks},
        pass_hat_k={k: _mean([pass_hat_k(samples, count, k) for count in successes]) for k in ks},
    )


def _mean_of_groups(groups: list[GroupScores], samples: int) -> GroupScores:
    ks = range(1, samples + 1)
    return GroupScores(
        tasks=sum(group.tasks for group in groups),
        episodes=sum(group.episodes for group in groups),
        accuracy=_mean([group.accuracy for group in groups]),
        pass_at_k={k: _mean([group.pass_at_k[k] for group in groups]) for k in ks},
        pass_hat_k={k: _mean([group.pass_hat_k[k] for group in groups]) for k in ks},
    )


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _errors(episodes: Sequence[EpisodeRecord]) -> dict[str, Any]:
    failed = [episode for episode in episodes if episode.error is not None]
    calls: Counter[str] = Counter()
    actions: Counter[str] = Counter()
    for episode in episodes:
        for step in episode.steps:
            calls.update(call["error"] for call in step.get("calls", []) if call.get("error"))
            if step.get("action_error"):
                actions[step["action_error"]["category"]] += 1
    examples: defaultdict[str, list[str]] = defaultdict(list)
    for episode in failed:
        examples[str(episode.error)].append(f"{episode.task_id}#{episode.sample}")
    return {
        "episodes": len(failed),
        "examples": [
            {"error": error, "episodes": ids[:5], "count": len(ids)}
            for error, ids in list(examples.items())[:5]
        ],
        "truncated": sum(episode.finish == "truncated" for episode in episodes),
        "calls": dict(sorted(calls.items())),
        "actions": dict(sorted(actions.items())),
    }


@dataclass
class EvalResult:
    """The outcome of :func:`~envtune_gym.eval.runner.evaluate`: every episode and the scores.

    ``episodes`` are in task order, then sample order. See :class:`~envtune_gym.eval.scores.Scores` for the
    definitions of the scores.
    """

    env_id: str
    policy: str
    samples: int
    episodes: list[EpisodeRecord]
    scores: Scores
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: With ``per_turn``: one episode per (task, checked turn, sample), in task, turn and sample order.
    turn_episodes: list[EpisodeRecord] = field(default_factory=list)

    @property
    def tasks(self) -> int:
        """How many distinct tasks were played."""
        return len({episode.task_id for episode in self.episodes})
