"""The synthesis machinery on a small test generator: determinism, categories, each gate, bounds."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from envtune_gym.agents.oracle import oracle_actions
from envtune_gym.envs.tool_env import ToolUseEnv
from envtune_gym.synth import Knobs, Synthesizer
from envtune_gym.synth.categories import apply_category
from envtune_gym.synth.draft import Call, Draft, Reference, Turn, Withheld
from envtune_gym.synth.gates import GateFailure, check_task
from envtune_gym.synth.generator import register_generator, unregister_generator
from envtune_gym.tasks import CATEGORIES, Task
from envtune_gym.wrappers import ProgressReward
from tests.synth.toy import ToyFiles


@pytest.fixture(autouse=True)
def toy() -> Iterator[None]:
    register_generator(ToyFiles)
    yield
    unregister_generator(ToyFiles.name)


def _files(**files: str) -> dict:
    contents = {name: {"type": "file", "content": text} for name, text in files.items()}
    return {"GorillaFileSystem": {"root": {"home": {"type": "directory", "contents": contents}}}}


def _check(turns: list[Turn], category: str = "base", **files: str) -> Task:
    """Build a task from hand-made turns and run the gates on it (raises GateFailure)."""
    draft = Draft(["GorillaFileSystem"], _files(**files), turns)
    shaped = apply_category(draft, category, random.Random(0))
    assert shaped is not None
    task = Task(
        id="t", category=category, domains=draft.domains, initial_config=draft.initial_config,
        turns=shaped.turns, ground_truth=shaped.ground_truth, held_out=shaped.held_out,
        long_context=shaped.long_context,
    )  # fmt: skip
    check_task(task, draft, shaped, ToyFiles(), ToolUseEnv(tasks=[task]))
    return task


def test_a_task_depends_only_on_seed_and_index():
    alone = Synthesizer("toy_files", seed=3).task(7)
    in_sequence = list(Synthesizer("toy_files", seed=3).tasks(8))[7]
    assert alone == in_sequence
    assert Synthesizer("toy_files", seed=4).task(7) != alone
    assert [task.category for task in Synthesizer("toy_files").tasks(8)] == list(CATEGORIES) * 2


def test_every_synthesized_task_scores_one_for_the_oracle_in_every_category():
    for task in Synthesizer("toy_files", seed=1).tasks(24):
        env = ProgressReward(ToolUseEnv(tasks=[task]))
        env.reset(options={"task_id": task.id})
        total = sum(float(env.step(action)[1]) for action in oracle_actions(task))
        assert total == pytest.approx(1.0), task.id
        assert task.difficulty["turns"] == task.num_turns and task.difficulty["state_size"] == 8


def test_the_categories_have_bfcl_s_shape():
    synth = Synthesizer("toy_files", seed=2)
    miss_func = synth.task(1)
    ((reveal, tools),) = miss_func.held_out.items()
    assert miss_func.turns[reveal] == "" and miss_func.ground_truth[reveal - 1] == []
    assert any(call.startswith(f"{tools[0]}(") for call in miss_func.ground_truth[reveal])
    assert not any(
        call.startswith(f"{tools[0]}(") for turn in miss_func.ground_truth[:reveal] for call in turn
    )
    miss_param = synth.task(2)
    assert [] in miss_param.ground_truth and miss_param.checked_turns
    assert synth.task(3).uses_long_context and not synth.task(0).uses_long_context


def test_the_gates_pass_a_sound_task():
    turn = Turn("Show me 'a.txt'.", [Call("cat", {"file_name": "a.txt"})])
    assert _check([turn], **{"a.txt": "hello"}).checked_turns == [0]


def test_executable_gate_rejects_a_call_that_fails():
    turn = Turn("Write 'hi' into 'b.txt'.", [Call("echo", {"content": "hi", "file_name": "b.txt"})])
    with pytest.raises(GateFailure, match="echo failed") as failure:
        _check([turn], **{"a.txt": "x"})
    assert failure.value.gate == "executable"


def test_necessary_gate_rejects_a_call_the_turn_passes_without():
    # Turn 1's cat repeats a result turn 0 produced: BFCL's results check counts earlier turns, so it is idle.
    first = Turn("Show me 'a.txt'.", [Call("cat", {"file_name": "a.txt"})])
    again = Turn(
        "Show it again and create 'b.txt'.",
        [Call("cat", {"file_name": "a.txt"}), Call("touch", {"file_name": "b.txt"})],
    )
    with pytest.raises(GateFailure, match="passes without cat") as failure:
        _check([first, again], **{"a.txt": "x"})
    assert failure.value.gate == "necessary"
    # Twice in one turn is needed twice: the results check counts occurrences.
    twice = [Call("cat", {"file_name": "a.txt"}), Call("cat", {"file_name": "a.txt"})]
    _check([Turn("Show me 'a.txt' twice.", twice)], **{"a.txt": "x"})


def test_grounded_gate_rejects_a_value_nothing_shows():
    # The content to write is in no turn, no listing and no earlier result.
    calls = [Call("touch", {"file_name": "b.txt"}), Call("echo", {"content": "secret", "file_name": "b.txt"})]
    with pytest.raises(GateFailure, match="secret") as failure:
        _check([Turn("Make 'b.txt' and fill it in.", calls)], **{"a.txt": "x"})
    assert failure.value.gate == "grounded"


def test_grounded_gate_accepts_a_value_from_an_earlier_result():
    calls = [
        Call("cat", {"file_name": "a.txt"}),
        Call("touch", {"file_name": "b.txt"}),
        Call("echo", {"content": "from a", "file_name": "b.txt"}),
    ]
    _check([Turn("Copy what 'a.txt' says into 'b.txt'.", calls)], **{"a.txt": "from a"})


def test_grounded_gate_rejects_a_miss_param_turn_that_gives_the_value_away():
    withheld = Withheld(vague="Create 'b.txt' for me, please.", supply="Yes, 'b.txt'.")
    turn = Turn("Create 'b.txt'.", [Call("touch", {"file_name": "b.txt"})], withheld=withheld)
    with pytest.raises(GateFailure, match="withholds nothing"):
        _check([turn], "miss_param", **{"a.txt": "x"})
    honest = Turn("Create 'b.txt'.", [Call("touch", {"file_name": "b.txt"})],
                  withheld=Withheld("Create a new file.", "Call it 'b.txt'."))  # fmt: skip
    assert _check([honest], "miss_param", **{"a.txt": "x"}).ground_truth == [[], ["touch(file_name='b.txt')"]]


def test_unambiguous_gate_rejects_a_description_two_entities_match():
    reference = Reference("file", "the report", "report.txt", lambda name: "report" in name)
    turn = Turn("Open the report.", [Call("cat", {"file_name": "report.txt"})], references=[reference])
    _check([turn], **{"report.txt": "q3", "notes.txt": "n"})
    with pytest.raises(GateFailure) as failure:
        _check([turn], **{"report.txt": "q3", "report_draft.txt": "n"})
    assert failure.value.gate == "unambiguous"


def test_a_generator_that_never_passes_is_stopped_with_a_clear_error(monkeypatch):
    monkeypatch.setattr("envtune_gym.synth.generate.MAX_ATTEMPTS", 5)
    broken = Turn("Write into 'nope.txt'.", [Call("echo", {"content": "x", "file_name": "nope.txt"})])
    monkeypatch.setattr(ToyFiles, "draft", lambda self, rng, knobs, turns: Draft(
        ["GorillaFileSystem"], _files(**{"a.txt": "x"}), [broken]))  # fmt: skip
    synth = Synthesizer("toy_files")
    with pytest.raises(RuntimeError, match="in 5 tries"):
        synth.task(0)
    assert synth.stats.redraws["executable"] == 5 and synth.stats.generated == 0


def test_knobs_and_arguments_are_checked():
    with pytest.raises(ValueError, match="max_turns"):
        Synthesizer("toy_files", knobs=Knobs(max_turns=7))
    with pytest.raises(ValueError, match="min_turns"):
        Knobs.from_dict({"min_turns": 3, "max_turns": 2})
    with pytest.raises(ValueError, match="unknown knob"):
        Knobs.from_dict({"turns": 3})
    with pytest.raises(ValueError, match="no task generator 'nope'"):
        Synthesizer("nope")
    with pytest.raises(ValueError, match="seed"):
        Synthesizer("toy_files", seed=-1)
