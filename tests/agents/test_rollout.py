"""Token-level rollouts through real envs: masks, template deltas, log-probs, sampling."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import envtune_gym  # noqa: E402, F401
from envtune_gym.agents.batches import collate, sequence_logprobs  # noqa: E402
from envtune_gym.agents.config import GRPOConfig  # noqa: E402
from envtune_gym.agents.grpo import collect_rollouts, make_runners  # noqa: E402
from envtune_gym.agents.oracle import oracle_actions  # noqa: E402
from envtune_gym.agents.policy import Policy  # noqa: E402
from envtune_gym.agents.rollout import (  # noqa: E402
    ChatFormat,
    EpisodeRunner,
    compact_tools,
    demonstration,
    run_episodes,
)
from envtune_gym.agents.sampling import sample  # noqa: E402
from envtune_gym.agents.tiny import build_tiny_policy  # noqa: E402
from envtune_gym.tasks.bundled import load_bundled  # noqa: E402
from envtune_gym.wrappers.curriculum import CurriculumController  # noqa: E402


@pytest.fixture(scope="module")
def policy():
    return build_tiny_policy(vocab_size=1024, seed=3)


@pytest.fixture(scope="module")
def chat(policy):
    return ChatFormat(policy[1])


def _spans(mask: list[int]) -> list[tuple[int, int, int]]:
    spans, start = [], 0
    for index in range(1, len(mask) + 1):
        if index == len(mask) or mask[index] != mask[start]:
            spans.append((mask[start], start, index))
            start = index
    return spans


def test_oracle_episode_as_tokens(chat):
    task = load_bundled("filesystem")[0]
    runner = EpisodeRunner(gym.make("EnvTune/FileSystem-v0"), chat)
    actions = list(oracle_actions(task, style="hermes"))
    trajectory = demonstration(runner, task.id, actions)
    assert trajectory.success and trajectory.reward == 1.0 and trajectory.finish == "terminated"
    tokenizer = chat.tokenizer
    model_spans = [(s, e) for flag, s, e in _spans(trajectory.response_mask) if flag == 1]
    env_spans = [(s, e) for flag, s, e in _spans(trajectory.response_mask) if flag == 0]
    # Each model message is exactly the action's tokens then the stop token, never re-tokenized.
    assert len(model_spans) == len(actions)
    for (start, end), action in zip(model_spans, actions, strict=True):
        assert trajectory.response_ids[start:end] == chat.encode_action(action)
    # Each env span is the template's delta: the rest of the end marker, a user message, the next header.
    first_env = tokenizer.decode(trajectory.response_ids[slice(*env_spans[0])], skip_special_tokens=False)
    assert first_env.startswith("\n<|im_start|>user\n<tool_response>")
    assert first_env.endswith("<|im_end|>\n<|im_start|>assistant\n")
    assert all(
        value == 0.0
        for value, flag in zip(trajectory.logprobs, trajectory.response_mask, strict=True)
        if not flag
    )
    # The whole sequence reads as the chat template renders the conversation.
    text = tokenizer.decode(trajectory.input_ids, skip_special_tokens=False)
    assert text.count("<|im_start|>assistant\n") == len(actions)
    assert text.endswith("<|im_end|>")


def test_prompt_holds_the_tools_and_first_user_message(chat):
    env = gym.make("EnvTune/FileSystem-v0")
    observation, info = env.reset(options={"task_id": "filesystem_base_0"})
    text = chat.tokenizer.decode(chat.prompt_ids(observation, info["tools"]), skip_special_tokens=False)
    assert text.startswith("<|im_start|>system\n# Tools")
    assert all(f'"name": "{tool["function"]["name"]}"' in text for tool in info["tools"])
    assert observation in text and text.endswith("<|im_start|>assistant\n")


def test_compact_tools_keep_names_types_and_required():
    env = gym.make("EnvTune/FileSystem-v0")
    _, info = env.reset(options={"task_id": "filesystem_base_0"})
    compact = compact_tools(info["tools"])
    cd = next(tool["function"] for tool in compact if tool["function"]["name"] == "cd")
    assert cd["description"] == "Change the current working directory to the specified folder"
    assert cd["parameters"]["required"] == ["folder"]
    assert cd["parameters"]["properties"]["folder"] == {"type": "string"}
    assert len(str(compact)) < len(str(info["tools"])) / 2


def test_non_prefix_preserving_template_is_refused(policy):
    tokenizer = policy[1]
    original = tokenizer.chat_template
    try:
        # Renders only the last message: appending one rewrites what came before.
        tokenizer.chat_template = (
            "{{ '<|im_start|>' + messages[-1]['role'] + '\\n' + messages[-1]['content'] + '<|im_end|>\\n' }}"
            "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
        )
        with pytest.raises(ValueError, match="prefix-preserving|assistant reply"):
            ChatFormat(tokenizer)
    finally:
        tokenizer.chat_template = original


def test_malformed_model_text_is_an_error_observation_and_the_episode_goes_on(chat):
    runner = EpisodeRunner(gym.make("EnvTune/FileSystem-v0"), chat)
    runner.start("filesystem_base_0")
    runner.feed(chat.encode_action('<tool_call>{"name": "pwd", "arguments": </tool_call>'))
    assert not runner.done and runner.trajectory.format_errors == 1
    assert "action_error" in runner.last_info


def test_length_cut_ends_the_episode_without_stepping(chat):
    runner = EpisodeRunner(gym.make("EnvTune/FileSystem-v0"), chat)
    runner.start("filesystem_base_0")
    runner.feed([5, 6, 7], [-1.0, -1.0, -1.0], stopped=False)
    assert runner.done and runner.trajectory.finish == "length" and runner.trajectory.messages == 1
    with pytest.raises(RuntimeError, match="over"):
        runner.feed([5])


def test_episode_budget_ends_the_episode(chat):
    runner = EpisodeRunner(gym.make("EnvTune/FileSystem-v0"), chat, max_episode_tokens=10**9)
    runner.start("filesystem_base_0")
    runner.max_episode_tokens = len(runner.trajectory.input_ids) + 3
    runner.feed(chat.encode_action('<tool_call>\n{"name": "pwd", "arguments": {}}\n</tool_call>'))
    assert runner.done and runner.trajectory.finish == "budget"


def test_sampling_is_seeded_and_respects_stops_and_limits(policy, chat):
    model, _ = policy
    contexts = [[1, 10, 11, 12], [1, 13]]

    def draw(rows):
        return sample(model, rows, max_new_tokens=[5, 2][: len(rows)], stop_ids=chat.stop_ids, pad_id=chat.pad_id,
                      rngs=[np.random.default_rng(7 + index) for index in range(len(rows))])  # fmt: skip

    first, again = draw(contexts), draw(contexts)
    assert [row.tokens for row in first] == [row.tokens for row in again]
    # Each row draws from its own generator: its tokens do not depend on the rows beside it.
    assert draw(contexts[:1])[0].tokens == first[0].tokens
    assert len(first[0].tokens) <= 5 and len(first[1].tokens) <= 2
    for row in first:
        assert row.stopped == (row.tokens[-1] in chat.stop_ids)
        assert not any(token in chat.stop_ids for token in row.tokens[:-1])
    greedy = sample(
        model, contexts, max_new_tokens=3, stop_ids=chat.stop_ids, pad_id=chat.pad_id, temperature=0
    )
    assert greedy[0].tokens == sample(model, [contexts[0]], max_new_tokens=3, stop_ids=chat.stop_ids,
                                      pad_id=chat.pad_id, temperature=0)[0].tokens  # fmt: skip


def test_left_padding_does_not_change_the_sampled_distribution(policy, chat):
    model, _ = policy
    short, long = [1, 20, 21], [1, 22, 23, 24, 25, 26, 27]
    alone = sample(model, [short], max_new_tokens=4, stop_ids=[-1], pad_id=chat.pad_id, temperature=0)[0]
    padded = sample(model, [short, long], max_new_tokens=4, stop_ids=[-1], pad_id=chat.pad_id, temperature=0)[
        0
    ]
    assert alone.tokens == padded.tokens
    assert alone.logprobs == pytest.approx(padded.logprobs, abs=1e-4)


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_recomputed_logprobs_match_the_sampling_logprobs(temperature):
    config = GRPOConfig.from_preset(
        "tiny",
        tiny_vocab_size=1024,
        tasks_per_step=2,
        group_size=2,
        max_new_tokens=12,
        temperature=temperature,
    )
    model, tokenizer = build_tiny_policy(vocab_size=1024, seed=1)
    chat = ChatFormat(tokenizer)

    policy = Policy(model, tokenizer, torch.device("cpu"))
    runners = make_runners(config, chat, CurriculumController(config.stages))
    trajectories = collect_rollouts(0, policy, chat, runners, config).trajectories
    assert sum(item.model_tokens for item in trajectories) > 0
    batch = collate(trajectories, torch.zeros(4), torch.device("cpu"))
    with torch.no_grad():
        logp, _ = sequence_logprobs(model, batch, config)
    mask = batch.loss_mask.bool()
    assert torch.allclose(logp[mask], batch.old_logprobs[mask], atol=1e-4)
    # Env positions carry no sampling log-prob and no loss weight.
    assert (batch.old_logprobs[~mask] == 0).all()


def test_run_episodes_batches_active_episodes(chat):
    task = load_bundled("filesystem")[0]
    actions = list(oracle_actions(task, style="hermes"))
    runners = [EpisodeRunner(gym.make("EnvTune/FileSystem-v0"), chat) for _ in range(3)]
    for runner in runners:
        runner.start(task.id)
    batch_sizes = []

    def scripted(contexts, rooms):
        batch_sizes.append(len(contexts))
        decoded = [chat.tokenizer.decode(context, skip_special_tokens=False) for context in contexts]
        indices = [text.count("<|im_start|>assistant\n") - 1 for text in decoded]
        return [(chat.encode_action(actions[index]), None, True) for index in indices]

    run_episodes(runners, scripted, batch_size=2)
    assert all(runner.trajectory.success for runner in runners)
    assert batch_sizes[:2] == [2, 1]


def test_a_later_turn_stage_starts_each_group_s_episodes_at_one_drawn_turn():
    from envtune_gym.wrappers.curriculum import Stage

    config = GRPOConfig.from_preset(
        "tiny", tiny_vocab_size=1024, tasks_per_step=3, group_size=3, max_new_tokens=4, max_steps_per_turn=1,
        stages=[Stage("late", categories=("base",), start_turn="random_checked", hints=False)],
    )  # fmt: skip
    model, tokenizer = build_tiny_policy(vocab_size=1024, seed=1)
    chat = ChatFormat(tokenizer)
    runners = make_runners(config, chat, CurriculumController(config.stages))
    starts: list[int] = []
    for runner in runners:  # record where each episode really started (the gate reports it)
        reset = runner.env.reset

        def recording_reset(*args, reset=reset, **kwargs):
            observation, info = reset(*args, **kwargs)
            starts.append(info["curriculum"]["start_turn"])
            return observation, info

        runner.env.reset = recording_reset
    policy = Policy(model, tokenizer, torch.device("cpu"))
    for step in range(4):
        collect_rollouts(step, policy, chat, runners, config)
    groups = [starts[index : index + 3] for index in range(0, len(starts), 3)]
    assert all(len(set(group)) == 1 for group in groups), groups
    assert any(group[0] > 0 for group in groups), groups
