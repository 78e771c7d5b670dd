"""pass@k, pass^k and the score aggregation, on hand-computed cases."""

from __future__ import annotations

import pytest

from envtune_gym.eval.records import EpisodeRecord
from envtune_gym.eval.scores import pass_at_k, pass_hat_k, score_episodes


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (1, 0, 1, 0.0),
        (1, 1, 1, 1.0),
        (4, 1, 1, 0.25),
        (4, 1, 2, 0.5),  # 1 - C(3,2)/C(4,2) = 1 - 3/6
        (4, 2, 2, 5 / 6),  # 1 - C(2,2)/C(4,2) = 1 - 1/6
        (5, 2, 3, 0.9),  # 1 - C(3,3)/C(5,3) = 1 - 1/10
        (5, 3, 3, 1.0),  # fewer than k failures: some draw always succeeds
        (10, 0, 5, 0.0),
    ],
)
def test_pass_at_k(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (4, 1, 1, 0.25),
        (4, 2, 2, 1 / 6),  # C(2,2)/C(4,2)
        (4, 3, 2, 0.5),  # C(3,2)/C(4,2) = 3/6
        (5, 4, 3, 0.4),  # C(4,3)/C(5,3) = 4/10
        (5, 2, 3, 0.0),
        (3, 3, 3, 1.0),
    ],
)
def test_pass_hat_k(n, c, k, expected):
    assert pass_hat_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("args", [(0, 0, 1), (2, 3, 1), (2, 1, 3), (2, 1, 0), (2, -1, 1)])
def test_bad_counts_raise(args):
    with pytest.raises(ValueError, match="need n >= 1"):
        pass_at_k(*args)
    with pytest.raises(ValueError, match="need n >= 1"):
        pass_hat_k(*args)


def _episodes(outcomes: dict[tuple[str, str, tuple[str, ...]], list[bool]]) -> list[EpisodeRecord]:
    return [
        EpisodeRecord(task_id, category, list(domains), sample, success)
        for (task_id, category, domains), successes in outcomes.items()
        for sample, success in enumerate(successes)
    ]


def test_scores_by_category_domain_and_overall():
    episodes = _episodes(
        {
            ("b0", "base", ("A",)): [True, True, False],  # c = 2
            ("b1", "base", ("B", "A")): [False, False, False],  # c = 0
            ("f0", "miss_func", ("A", "B")): [True, True, True],  # c = 3
        }
    )
    scores = score_episodes(episodes, samples=3)
    base, miss_func, overall = (scores.by_category[name] for name in ("base", "miss_func", "overall"))
    assert list(scores.by_category) == ["base", "miss_func", "overall"]
    assert base.accuracy == pytest.approx(1 / 3)  # (2/3 + 0) / 2
    assert base.pass_at_k == pytest.approx({1: 1 / 3, 2: 0.5, 3: 0.5})  # b0: 1, 2/3->1 at k=2
    assert base.pass_hat_k == pytest.approx({1: 1 / 3, 2: 1 / 6, 3: 0.0})  # b0: C(2,2)/C(3,2) = 1/3
    assert miss_func.accuracy == 1.0 and miss_func.pass_hat_k[3] == 1.0
    # Overall: the unweighted mean of the categories, not of the three tasks.
    assert overall.accuracy == pytest.approx((1 / 3 + 1) / 2)
    assert overall.pass_at_k[2] == pytest.approx((0.5 + 1) / 2)
    assert (overall.tasks, overall.episodes) == (3, 9)
    # Domain keys are sorted: B+A and A+B are the same pair.
    assert list(scores.by_domain) == ["A", "A+B"]
    assert scores.by_domain["A+B"].tasks == 2
    assert scores.by_domain["A+B"].accuracy == pytest.approx(0.5)
    assert scores.by_domain["A"].pass_at_k[3] == 1.0


def test_accuracy_with_one_sample_is_the_success_rate():
    episodes = _episodes({(f"t{i}", "base", ("A",)): [i % 4 == 0] for i in range(8)})
    scores = score_episodes(episodes, samples=1)
    assert scores.overall.accuracy == 0.25 and scores.overall.pass_at_k == {1: 0.25}


def test_errors_are_counted():
    episodes = _episodes({("t0", "base", ("A",)): [False, True]})
    episodes[0].error, episodes[0].finish = "EndpointError: HTTP 400", "error"
    episodes[1].steps = [
        {"calls": [{"error": "unknown_tool"}, {"error": None}], "action_error": {"category": "format"}}
    ]
    errors = score_episodes(episodes, samples=2).errors
    assert errors["episodes"] == 1 and errors["examples"][0]["episodes"] == ["t0#0"]
    assert errors["calls"] == {"unknown_tool": 1} and errors["actions"] == {"format": 1}


def test_uneven_samples_and_no_episodes_raise():
    with pytest.raises(ValueError, match="every task needs 2 episodes"):
        score_episodes(_episodes({("t0", "base", ("A",)): [True]}), samples=2)
    with pytest.raises(ValueError, match="no episodes"):
        score_episodes([], samples=1)
