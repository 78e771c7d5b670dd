"""The trading generator: chains that use earlier results, honest miss_param turns, distractors, knobs."""

from __future__ import annotations

import ast
import json
import random
from collections import Counter
from functools import cache
from importlib import util
from pathlib import Path

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.domains.trading import TradingBot
from envtune_gym.domains.trading_synth import OPERATIONS, TradingGenerator
from envtune_gym.domains.trading_synth_vocab import numbers_in
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth import Knobs, Synthesizer
from envtune_gym.synth.generator import generator_names
from envtune_gym.tasks import CATEGORIES, Task
from envtune_gym.wrappers import ProgressReward


@cache
def _tasks(seed: int = 0, count: int = 120) -> tuple[Task, ...]:
    return tuple(Synthesizer("trading", seed).tasks(count))


def _calls(source: str) -> tuple[str, dict]:
    """A ground-truth call's name and keyword arguments (parsed as literals, never evaluated)."""
    node = ast.parse(source, mode="eval").body
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args
    return node.func.id, {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}


def _initial(task: Task) -> dict:
    return task.initial_config["TradingBot"]


def test_it_is_a_built_in_generator_and_a_task_depends_only_on_seed_and_index():
    assert "trading" in generator_names()
    assert Synthesizer("trading", 4).task(9) == list(Synthesizer("trading", 4).tasks(10))[9]
    assert Synthesizer("trading", 5).task(9) != Synthesizer("trading", 4).task(9)


def test_every_category_appears_and_the_oracle_scores_one():
    tasks = _tasks()
    assert {task.category for task in tasks} == set(CATEGORIES)
    for task in tasks[:16]:
        env = ProgressReward(ToolUseEnv(tasks=[task]))
        env.reset(options={"task_id": task.id})
        assert sum(float(env.step(action)[1]) for action in oracle_actions(task)) == pytest.approx(1.0)


def test_a_cancel_or_lookup_uses_the_id_an_earlier_place_order_returned():
    chained = 0
    for task in _tasks():
        initial = {int(key) for key in _initial(task)["orders"]}
        counter = _initial(task)["order_counter"]
        placed = 0
        for turn in task.ground_truth:
            for name, arguments in map(_calls, turn):
                if name in ("cancel_order", "get_order_details") and arguments["order_id"] not in initial:
                    # Not in the initial state and never said by the user: the id place_order returned.
                    assert counter <= arguments["order_id"] < counter + placed
                    chained += 1
                placed += name == "place_order"
    assert chained >= 2


def test_a_price_comes_from_the_quote_of_the_symbol_the_lookup_returned():
    chains = 0
    for task in _tasks():
        stocks = _initial(task)["stocks"]
        for turn in task.ground_truth:
            calls = list(map(_calls, turn))
            for first, second, third in zip(calls, calls[1:], calls[2:], strict=False):
                if (first[0], second[0], third[0]) != ("get_symbol_by_name", "get_stock_info", "place_order"):
                    continue
                symbol = TradingBot().get_symbol_by_name(first[1]["name"])["symbol"]
                if second[1]["symbol"] == symbol and third[1]["symbol"] == symbol:
                    assert third[1]["price"] == stocks[symbol]["price"]  # the price the quote showed
                    chains += 1
    assert chains >= 3
    assert max(task.difficulty["depth"] for task in _tasks()) == 2


def _shows(value: object, text: str) -> bool:
    """Whether a call's value is written in ``text`` (numbers as the grounded gate reads them)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return True
    return float(value) in numbers_in(text) if isinstance(value, int | float) else value in text


def test_miss_param_turns_really_withhold_a_value_and_the_next_turn_gives_it():
    checked = 0
    for task in (task for task in _tasks() if task.category == "miss_param"):
        vague = next(index for index, calls in enumerate(task.ground_truth) if not calls)
        before, supply = " ".join(task.turns[: vague + 1]), task.turns[vague + 1]
        values = [value for call in task.ground_truth[vague + 1] for value in _calls(call)[1].values()]
        assert any(not _shows(value, before) and _shows(value, supply) for value in values), task.turns
        checked += 1
    assert checked >= 20


def test_distractors_are_near_misses_and_descriptions_pick_one_order():
    generator = TradingGenerator()
    knobs = Knobs(distractors=3, state_size=12)
    draft = generator.draft(random.Random(3), knobs, 4)
    orders = list(draft.initial_config["TradingBot"]["orders"].values())
    assert draft.distractors == 3 and draft.state_size == 12
    pairs = Counter((order["symbol"], order["order_type"]) for order in orders)
    pairs.update((order["symbol"], order["status"]) for order in orders)
    assert sum(count - 1 for count in pairs.values()) >= 3  # each near miss shares two of three fields
    described = 0
    for seed in range(60):
        draft = generator.draft(random.Random(seed), knobs, 4)
        bot = TradingBot.from_scenario(draft.initial_config["TradingBot"])
        for turn in draft.turns:
            for reference in turn.references:
                matching = [
                    name
                    for name in generator.entities("order", {"TradingBot": bot})
                    if reference.matches(name)
                ]
                assert matching == [reference.chosen]
                described += 1
            for call in turn.calls:
                getattr(bot, call.name)(**call.arguments)
    assert described >= 10


@pytest.mark.parametrize(
    ("knobs", "check"),
    [
        (Knobs(max_calls_per_turn=1), lambda task: max(map(len, task.ground_truth)) <= 1),
        (
            Knobs(min_turns=3, max_turns=3),
            lambda task: task.num_turns == 3,  # a miss_* task counts its extra turn
        ),
        (Knobs(max_depth=0), lambda task: task.difficulty["depth"] == 0),
        (
            Knobs(state_size=20, distractors=0),
            lambda task: _size(task) == 20 and task.difficulty["distractors"] == 0,
        ),
    ],
)
def test_knobs_are_honoured(knobs, check):
    for task in Synthesizer("trading", 2, knobs=knobs).tasks(24):
        assert check(task), (knobs, task.ground_truth)


def _size(task: Task) -> int:
    state = _initial(task)
    return len(state["orders"]) + len(state["watch_list"]) + len(state["transaction_history"])


def test_the_operations_are_varied():
    used = Counter(_calls(call)[0] for task in _tasks() for turn in task.ground_truth for call in turn)
    assert len(OPERATIONS) >= 10 and len(used) >= 18, used


@pytest.mark.skipif(util.find_spec("bfcl_eval") is None, reason="needs bfcl-eval for BFCL's user turns")
def test_no_user_turn_is_one_of_bfcl_s():
    import bfcl_eval

    data = Path(bfcl_eval.__file__).parent / "data"
    theirs = set()
    for category in ("base", "long_context", "miss_func", "miss_param"):
        with open(data / f"BFCL_v4_multi_turn_{category}.json", encoding="utf-8") as handle:
            for row in map(json.loads, handle):
                theirs.update(m["content"] for turn in row["question"] for m in turn if m["role"] == "user")
    ours = {turn for task in _tasks() for turn in task.turns if turn}
    assert theirs and not ours & theirs
