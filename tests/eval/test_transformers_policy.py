"""The ``hf`` policy end to end on the tiny local model (it fails tasks; the record must still be complete)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from envtune_gym.eval import ContextLengthError, TransformersPolicy, evaluate  # noqa: E402


@pytest.fixture(scope="module")
def tiny() -> TransformersPolicy:
    return TransformersPolicy("tiny", device="cpu", max_new_tokens=12)


def test_tiny_model_plays_one_episode_end_to_end(tiny, tmp_path):
    result = evaluate(
        "EnvTune/FileSystem-v0", tiny.clone, task_ids=["filesystem_base_0"], workers=1,
        max_steps_per_turn=2, progress=False, out_dir=tmp_path,
    )  # fmt: skip
    (episode,) = result.episodes
    assert result.policy == "hf:tiny" and 0.0 <= result.scores.overall.accuracy <= 1.0
    assert episode.steps and episode.finish in ("terminated", "truncated") and episode.error is None
    assert all(isinstance(step["action"], str) for step in episode.steps)
    assert episode.messages[0]["role"] == "user" and episode.messages[1]["role"] == "assistant"
    record = json.loads((tmp_path / "trajectories.jsonl").read_text().splitlines()[0])
    assert record["steps"][0]["action"] == episode.steps[0]["action"]


def test_clones_share_the_model_and_greedy_decoding_is_deterministic(tiny):
    twin = tiny.clone()
    assert twin.model is tiny.model and twin.tokenizer is not tiny.tokenizer
    runs = [
        evaluate(
            "EnvTune/FileSystem-v0",
            policy.clone,
            task_ids=["filesystem_base_1"],
            max_steps_per_turn=1,
            progress=False,
        )
        .episodes[0]
        .steps  # fmt: skip
        for policy in (tiny, twin)
    ]
    assert [step["action"] for step in runs[0]] == [step["action"] for step in runs[1]]


def test_a_saved_policy_directory_loads(tiny, tmp_path):
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    loaded = TransformersPolicy(tmp_path, device="cpu", max_new_tokens=4)
    assert loaded.name == f"hf:{tmp_path}"
    assert torch.equal(loaded.model.get_input_embeddings().weight, tiny.model.get_input_embeddings().weight)


def test_an_episode_outgrowing_the_context_fails_with_a_clear_error(tiny):
    small = tiny.clone()
    small.max_context_tokens = 8
    result = evaluate("EnvTune/FileSystem-v0", lambda: small, task_ids=["filesystem_base_0"], progress=False)
    (episode,) = result.episodes
    assert episode.finish == "error" and episode.error.startswith("ContextLengthError: the conversation is")
    assert isinstance(ContextLengthError("x"), RuntimeError)


def test_bad_settings_raise():
    with pytest.raises(ValueError, match="temperature >= 0"):
        TransformersPolicy("tiny", temperature=-1.0)
    with pytest.raises(ValueError, match="unknown dtype"):
        TransformersPolicy("tiny", dtype="int3")


def test_batched_greedy_eval_plays_the_same_episodes_as_one_at_a_time():
    """Messages of several episodes generated together equal the ones generated alone (float64: no ties)."""
    alone = TransformersPolicy("tiny", device="cpu", max_new_tokens=10)
    alone.model.double()
    batched = TransformersPolicy("tiny", device="cpu", max_new_tokens=10, batch_size=4)
    batched.model = alone.model
    tasks = [f"filesystem_base_{index}" for index in range(6)]
    runs = {}
    for name, policy, workers in (("alone", alone, 1), ("batched", batched, 4)):
        result = evaluate("EnvTune/FileSystem-v0", policy.clone, task_ids=tasks, workers=workers,
                          max_steps_per_turn=2, progress=False)  # fmt: skip
        runs[name] = {
            episode.task_id: [step["action"] for step in episode.steps] for episode in result.episodes
        }
    assert runs["batched"] == runs["alone"]
    assert (
        batched.batcher is not None and batched.batcher.batches < batched.batcher.rows
    )  # batches held >1 row


def test_batching_needs_greedy_decoding():
    with pytest.raises(ValueError, match="batch_size > 1 needs greedy"):
        TransformersPolicy("tiny", temperature=0.7, batch_size=4)


def test_an_episode_from_a_later_turn_renders_the_history_before_its_message(tiny):
    import gymnasium as gym

    from envtune_gym.eval import run_episode

    env = gym.make("EnvTune/FileSystem-v0")
    observation, info = env.reset(options={"task_id": "filesystem_base_2", "start_turn": 1})
    policy = tiny.clone()
    policy.start({"observation": observation, "info": info, "task": env.unwrapped.task, "sample": 0})
    prompt = policy.tokenizer.decode(policy._context)
    # As the model sees turns it plays: its calls as Hermes blocks, their results as the env's observation.
    earlier = [info["history"][0]["content"], '<tool_call>\n{"name": "cd"', "<tool_response>\n", "Done."]
    positions = [prompt.index(text) for text in [*earlier, observation]]
    assert positions == sorted(positions) and prompt.rstrip().endswith("assistant")
    record = run_episode(env, policy, "filesystem_base_2", start_turn=1, end_turn=1)
    assert record.error is None and record.start_turn == record.end_turn == 1 and record.steps
