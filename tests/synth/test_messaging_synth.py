"""The messaging task generator: dependency chains, withheld values, distractors, knobs, determinism."""

from __future__ import annotations

import ast
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.domains.messaging_synth import MessagingGenerator
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth import Knobs, Synthesizer, get_generator
from envtune_gym.tasks import CATEGORIES, Task
from envtune_gym.wrappers import ProgressReward


def _calls(source: str) -> tuple[str, dict]:
    """A ground-truth call's name and keyword arguments (literals only)."""
    call = ast.parse(source, mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    return call.func.id, {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}


def _tasks(count: int, seed: int = 0, **knobs: int) -> list[Task]:
    return list(Synthesizer("messaging", seed, knobs=Knobs(**knobs)).tasks(count))


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    return _tasks(240)


def _steps(task: Task) -> Iterator[tuple[int, str, dict]]:
    for turn, calls in enumerate(task.ground_truth):
        for source in calls:
            yield (turn, *_calls(source))


def test_registered_under_its_name_and_deterministic_per_index():
    assert isinstance(get_generator("messaging"), MessagingGenerator)
    alone = Synthesizer("messaging", seed=5).task(9)
    assert alone == list(Synthesizer("messaging", seed=5).tasks(10))[9]
    assert alone != Synthesizer("messaging", seed=6).task(9)


def test_tasks_do_not_depend_on_the_hash_seed():
    # Sets of strings iterate in an order that changes with PYTHONHASHSEED; a task must not.
    script = (
        "import json; from envtune_gym.synth import Synthesizer; "
        "print(json.dumps([t.model_dump(mode='json') for t in Synthesizer('messaging', 3).tasks(12)]))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert len(outputs) == 1


def test_every_category_appears_and_the_oracle_scores_one(tasks):
    assert {task.category for task in tasks} == set(CATEGORIES)
    for task in tasks[:24]:
        env = ProgressReward(ToolUseEnv(tasks=[task]))
        env.reset(options={"task_id": task.id})
        total = sum(float(env.step(action)[1]) for action in oracle_actions(task))
        assert total == pytest.approx(1.0), task.id


def test_a_message_goes_to_an_id_read_from_an_earlier_result(tasks):
    chained = 0
    for task in tasks:
        users = task.initial_config["MessageAPI"]["user_map"]
        looked_up: dict[str, int] = {}  # id -> the turn whose get_user_id showed it
        for turn, name, args in _steps(task):
            if name == "get_user_id":
                looked_up[users[args["user"]]] = turn
            elif name == "send_message" and looked_up.get(args["receiver_id"]) == turn:
                # Read the id, then use it: the request names the person, not the id.
                chained += args["receiver_id"] not in task.turns[turn]
    assert chained > 50
    assert max(task.difficulty["depth"] for task in tasks) == 2


def test_later_turns_refer_to_what_earlier_turns_did(tasks):
    """A turn acts on an id only an earlier turn's result showed ("message the contact you just added")."""
    across = 0
    for task in tasks:
        shown: dict[str, int] = {}
        next_id = task.initial_config["MessageAPI"]["user_count"] + 1
        for turn, name, args in _steps(task):
            receiver = args.get("receiver_id")
            if receiver is not None and shown.get(receiver, turn) < turn:
                across += receiver not in " ".join(task.turns[: turn + 1])
            if name == "get_user_id":
                shown.setdefault(task.initial_config["MessageAPI"]["user_map"][args["user"]], turn)
            elif name == "add_contact":
                shown.setdefault(f"USR{next_id:03d}", turn)
                next_id += 1
    assert across > 10


def test_miss_param_turns_really_withhold_a_value(tasks):
    checked = 0
    for task in (task for task in tasks if task.category == "miss_param"):
        vague = task.ground_truth.index([])
        supplied = [value for source in task.ground_truth[vague + 1] for value in _calls(source)[1].values()]
        said = " ".join(task.turns[: vague + 1])
        assert any(str(value) not in said for value in supplied), task.id
        checked += 1
    assert checked == 60


def test_distractors_are_near_misses_and_references_stay_unambiguous():
    synth = Synthesizer("messaging", seed=2, knobs=Knobs(state_size=16, distractors=6))
    tasks = list(synth.tasks(60))
    assert synth.stats.redraws["unambiguous"] == 0
    for task in tasks:
        state = task.initial_config["MessageAPI"]
        lasts = [name.split(" ", 1)[1] for name in state["user_map"]]
        receivers = [next(iter(entry)) for entry in state["inbox"]]
        assert task.difficulty["distractors"] == 6
        assert len(set(lasts)) < len(lasts)  # a near-miss user shares a focus user's last name
        assert len(set(receivers)) < len(receivers)  # a near-miss message went to the same person
        assert len(state["user_map"]) + len(state["inbox"]) == task.difficulty["state_size"] == 16


def test_first_name_references_pick_exactly_one_user():
    generator = MessagingGenerator()
    seen = 0
    for index in range(300):
        draft = generator.draft(random.Random(index), Knobs(distractors=4), 3)
        api_users = list(draft.initial_config["MessageAPI"]["user_map"])
        for turn in draft.turns[:1]:  # the first turn starts from the drawn state
            for reference in turn.references:
                if reference.kind == "user":
                    assert [name for name in api_users if reference.matches(name)] == [reference.chosen]
                    seen += 1
    assert seen > 5


@pytest.mark.parametrize(
    "knobs",
    [
        {"max_calls_per_turn": 1, "min_turns": 5, "max_turns": 5, "state_size": 14, "max_depth": 0},
        {"max_calls_per_turn": 2, "min_turns": 1, "max_turns": 2, "state_size": 30, "distractors": 0},
    ],
)
def test_knobs_are_honoured(knobs):
    for task in _tasks(40, seed=4, **knobs):
        assert max(len(calls) for calls in task.ground_truth) <= knobs["max_calls_per_turn"]
        assert knobs["min_turns"] <= task.num_turns <= knobs["max_turns"]
        assert task.difficulty["depth"] <= knobs.get("max_depth", 2)
        state = task.initial_config["MessageAPI"]
        assert len(state["user_map"]) + len(state["inbox"]) == knobs["state_size"]
        assert task.difficulty["state_size"] == knobs["state_size"]
        if knobs["min_turns"] == 5:
            assert task.num_turns == 5


def test_long_context_tasks_set_the_flag_on_an_unpadded_workspace(tasks):
    long = [task for task in tasks if task.category == "long_context"]
    assert long and all(task.uses_long_context for task in long)


def test_no_user_turn_is_one_of_bfcl_s(tasks):
    pytest.importorskip("bfcl_eval")
    from tests.bfcl_support import load_category

    bfcl = set()
    for category in ("base", "long_context", "miss_func", "miss_param"):
        for class_name in ("MessageAPI", "TwitterAPI", "GorillaFileSystem"):
            for entry, _ in load_category(category, class_name):
                bfcl.update(message["content"] for turn in entry["question"] for message in turn)
    assert bfcl
    assert not bfcl & {turn for task in tasks for turn in task.turns if turn}


def test_the_vocabulary_keywords_pick_their_own_message_only():
    from envtune_gym.domains.messaging_synth_vocab import INBOX_THEMES, MESSAGE_BODIES

    texts = [text for theme in INBOX_THEMES for _, text in theme]
    for theme in INBOX_THEMES:
        for keyword, text in theme:
            assert [t for t in texts if keyword in t.lower()] == [text]
            assert not any(keyword in body.lower() for body in MESSAGE_BODIES)
    assert json.dumps(texts).isascii()
