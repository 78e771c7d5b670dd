"""The file-system task generator: chains, withheld values, distractors and references, categories, knobs."""

from __future__ import annotations

import ast
import json
import random
from collections import Counter

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.domains.filesystem import FileSystem
from envtune_gym.domains.filesystem_synth import FileSystemGenerator
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth import Knobs, Synthesizer, generator_names, get_generator
from envtune_gym.synth.draft import Draft
from envtune_gym.tasks import CATEGORIES
from envtune_gym.wrappers import ProgressReward

DOMAIN = "GorillaFileSystem"


def _drafts(count: int, knobs: Knobs | None = None, turns: int = 4) -> list[Draft]:
    knobs = knobs or Knobs()
    return [FileSystemGenerator().draft(random.Random(f"t/{i}"), knobs, turns) for i in range(count)]


def _entries(config: dict) -> list[str]:
    """Every name in a scenario's tree."""
    (top,) = config["root"].values()
    names, stack = [], [top["contents"]]
    while stack:
        for name, spec in stack.pop().items():
            names.append(name)
            if spec["type"] == "directory":
                stack.append(spec["contents"])
    return names


def _results(config: dict, calls: list) -> list[str]:
    """Run calls on a fresh file system; their results as the env would show them (errors fail the test)."""
    fs = FileSystem()
    fs.load_scenario(config)
    return [json.dumps(getattr(fs, call.name)(**call.arguments)) for call in calls]


def test_it_is_registered_and_deterministic():
    assert "filesystem" in generator_names()
    assert isinstance(get_generator("filesystem"), FileSystemGenerator)
    alone = Synthesizer("filesystem", seed=3).task(6)
    assert alone == list(Synthesizer("filesystem", seed=3).tasks(7))[6]
    assert alone != Synthesizer("filesystem", seed=4).task(6)


def test_every_category_is_made_and_the_oracle_scores_one():
    synth = Synthesizer("filesystem", seed=11)
    tasks = list(synth.tasks(24))
    assert [task.category for task in tasks] == list(CATEGORIES) * 6
    for task in tasks:
        env = ProgressReward(ToolUseEnv(tasks=[task]))
        env.reset(options={"task_id": task.id})
        assert sum(float(env.step(action)[1]) for action in oracle_actions(task)) == pytest.approx(1.0), (
            task.id
        )
    assert any(task.uses_long_context for task in tasks)


def test_drafts_pass_the_gates_without_redraws_for_a_wrong_call():
    synth = Synthesizer("filesystem", seed=2)
    list(synth.tasks(200))
    # executable, necessary and grounded hold by construction; a rare miss_param draft may lack a vague turn.
    assert synth.stats.redraws["executable"] == synth.stats.redraws["necessary"] == 0
    assert synth.stats.redraws["grounded"] + synth.stats.redraws["unambiguous"] <= 2
    assert synth.stats.redraw_rate < 0.05


def test_a_chain_uses_names_read_from_an_earlier_result():
    knobs = Knobs(max_calls_per_turn=5, max_depth=2)
    drafts = _drafts(60, knobs)
    chains = 0
    for draft in drafts:
        config = draft.initial_config[DOMAIN]
        earlier: list = []
        for turn in draft.turns:
            found_by = [ref for ref in turn.references if ref.kind == "entry"]
            if turn.calls[0].name == "find" and found_by:
                found = _results(config, earlier + turn.calls)[len(earlier)]
                # The file (and every folder the chain enters) shows in find's result, not in the request.
                chosen = found_by[0].chosen
                assert chosen in found and chosen not in turn.request
                using = next(i for i, c in enumerate(turn.calls) if c.arguments.get("file_name") == chosen)
                assert all(c.arguments["folder"] in found for c in turn.calls[:using] if c.name == "cd")
                chains += 1
            earlier += turn.calls
    assert chains >= 3
    assert max(draft.depth for draft in drafts) == 2


def test_miss_param_turns_really_withhold_the_value():
    synth = Synthesizer("filesystem", seed=5, category="miss_param")
    for task in synth.tasks(40):
        vague = task.ground_truth.index([])
        supplied = task.ground_truth[vague + 1]
        values = [v for call in supplied for v in _string_arguments(call) if v not in ("..", ".")]
        hidden = [v for v in values if v not in task.turns[vague]]
        known = " ".join(task.turns[: vague + 2] + _names(task))  # what the user said, and the state's names
        assert hidden and all(v in known for v in hidden), task.turns
        assert any(v in task.turns[vague + 1] for v in hidden)


def _string_arguments(source: str) -> list[str]:
    """A ground-truth call's argument values as text (parsed as literals, never evaluated)."""
    call = ast.parse(source, mode="eval").body
    assert isinstance(call, ast.Call)
    return [str(ast.literal_eval(keyword.value)) for keyword in call.keywords]


def _names(task) -> list[str]:
    return _entries(task.initial_config[DOMAIN])


def test_distractors_are_near_misses_and_references_stay_unambiguous():
    knobs = Knobs(state_size=16, distractors=4)
    drafts = _drafts(40, knobs)
    assert all(draft.state_size == 16 for draft in drafts)
    assert sum(draft.distractors for draft in drafts) >= 3 * len(drafts)
    for draft in drafts[:10]:
        names = _entries(draft.initial_config[DOMAIN])
        stems = Counter(name.split(".")[0].split("_")[0] for name in names if not name.startswith("."))
        assert max(stems.values()) >= 2  # a near miss shares its target's topic
    references = [ref for draft in drafts for turn in draft.turns for ref in turn.references]
    assert len(references) >= 20
    assert {ref.kind.split(":")[0] for ref in references} >= {"file", "entry"}
    # With long-context padding (30 images in every leaf folder) the references still pick one entity each.
    synth = Synthesizer("filesystem", seed=7, category="long_context", knobs=knobs)
    list(synth.tasks(40))
    assert synth.stats.redraws["unambiguous"] <= 1


def test_the_knobs_are_honoured():
    knobs = Knobs(min_turns=3, max_turns=3, max_calls_per_turn=1, max_depth=0, state_size=25, distractors=0)
    synth = Synthesizer("filesystem", seed=9, knobs=knobs)
    for task in synth.tasks(24):
        assert task.num_turns == 3  # miss_* tasks count their extra turn
        assert all(len(calls) <= 1 for calls in task.ground_truth)
        assert task.difficulty["depth"] == 0 and task.difficulty["distractors"] == 0
        assert task.difficulty["state_size"] == 25 == len(_names(task))
    wide = Synthesizer("filesystem", seed=9, knobs=Knobs(max_calls_per_turn=6, state_size=3, max_turns=6))
    tasks = list(wide.tasks(24))
    assert max(len(calls) for task in tasks for calls in task.ground_truth) > 3
    assert all(len(_names(task)) == 3 for task in tasks)


def test_observable_shows_names_but_not_contents():
    task = Synthesizer("filesystem", seed=1, category="base").task(0)
    env = ToolUseEnv(tasks=[task])
    env.reset(options={"task": task})
    seen = "\n".join(FileSystemGenerator().observable(env.domains))
    assert all(name in seen for name in _names(task))
    contents = [c for c in _contents(task.initial_config[DOMAIN]) if c]
    assert contents and not any(content in seen for content in contents)


def _contents(config: dict) -> list[str]:
    (top,) = config["root"].values()
    found, stack = [], [top["contents"]]
    while stack:
        for spec in stack.pop().values():
            if spec["type"] == "directory":
                stack.append(spec["contents"])
            else:
                found.append(spec["content"])
    return found


def test_no_user_turn_is_one_of_bfcl_s():
    support = pytest.importorskip("tests.bfcl_support")
    theirs = {
        turn[0]["content"]
        for category in support.CATEGORIES
        for entry, _ in support.load_category(category, DOMAIN)
        for turn in entry["question"]
        if turn
    }
    ours = {turn for task in Synthesizer("filesystem", seed=0).tasks(300) for turn in task.turns if turn}
    assert len(ours) > 500 and not ours & theirs
