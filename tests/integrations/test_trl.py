"""The TRL integration: task rows, tool methods for ``environment_factory``, and GRPO steps through TRL on a CPU.

The training tests run TRL's own ``GRPOTrainer`` (``use_cpu=True``) on the tiny Qwen3 policy, once with the
``rollout_func`` (whole two-turn episodes) and once with the ``environment_factory`` class (first turns, TRL's
tool loop). The policy gets a few supervised steps on the oracle's demonstration of ``filesystem_base_0`` first,
rendered both ways, so that sampling solves the task some of the time: rewards then differ within a GRPO group
and the update has a gradient to follow.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
import time

import gymnasium as gym
import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from transformers.utils import get_json_schema  # noqa: E402
from trl import GRPOConfig, GRPOTrainer  # noqa: E402

import envtune_gym  # noqa: E402, F401
from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner, demonstration  # noqa: E402
from envtune_gym.agents.tiny import build_tiny_policy, demonstration_corpus, render_chat  # noqa: E402
from envtune_gym.integrations.trl import (  # noqa: E402
    add_hermes_response_parser,
    env_reward,
    make_environment_class,
    make_rollout_func,
    oracle_messages,
    prompt_task_id,
    task_dataset,
    tool_methods,
)
from envtune_gym.tasks.oracle import oracle_actions  # noqa: E402
from envtune_gym.wrappers import ProgressReward  # noqa: E402

ENV_ID = "EnvTune/FileSystem-v0"
TASK_ID = "filesystem_base_0"  # "tell me the full path": pwd(), then a second turn
FileSystemEnvironment = make_environment_class(ENV_ID, first_turn_only=True)

pytestmark = [
    pytest.mark.filterwarnings("ignore:You are using '(rollout_func|environment_factory)':UserWarning"),
    # TRL 1.16 asks transformers 5.2x for the old name of activation checkpointing.
    pytest.mark.filterwarnings("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning"),
]
#: transformers 5.2x renamed gradient_checkpointing (the old name warns); older versions know only that one.
CHECKPOINTING = next(
    name for name in ("activation_checkpointing", "gradient_checkpointing")
    if name in {field.name for field in dataclasses.fields(GRPOConfig)}
)  # fmt: skip


def _task(task_id: str = TASK_ID):
    return next(task for task in gym.make(ENV_ID).unwrapped.tasks if task.id == task_id)


def _factory_conversation(task_id: str) -> tuple[list[dict], list]:
    """The oracle's first turn of a task as TRL's tool loop writes it, and the tools TRL renders."""
    environment = FileSystemEnvironment()
    return oracle_messages(environment, task_id), tool_methods(environment)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # On a busy 2-core machine two OpenMP threads contend with everything else: a step of the tiny model then
    # takes 20-30x longer than on one thread (measured 1.3-2.1 s against 0.065 s).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def warm_policy():
    """The tiny policy, its tokenizer trained on both renderings, after a short supervised warm start."""
    conversations = [_factory_conversation(task.id) for task in gym.make(ENV_ID).unwrapped.tasks
                     if task.ground_truth[0]]  # fmt: skip
    corpus = demonstration_corpus() + [
        render_chat(messages, tools=[get_json_schema(method) for method in methods])
        for messages, methods in conversations
    ]
    model, tokenizer = build_tiny_policy(corpus, vocab_size=4096, seed=0)
    add_hermes_response_parser(tokenizer)
    chat = ChatFormat(tokenizer)
    runner = EpisodeRunner(ProgressReward(gym.make(ENV_ID)), chat)
    episode = demonstration(runner, TASK_ID, list(oracle_actions(_task(), style="hermes")))
    messages, methods = _factory_conversation(TASK_ID)
    prompt = tokenizer.apply_chat_template(messages[:1], tools=methods, add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"]  # fmt: skip
    full = tokenizer.apply_chat_template(messages, tools=methods, tokenize=True, return_dict=True)[
        "input_ids"
    ]
    sequences = [
        (episode.input_ids, [0] * len(episode.prompt_ids) + episode.response_mask),
        (full, [0] * len(prompt) + [1] * (len(full) - len(prompt))),
    ]
    _supervised(model, sequences, steps=40, learning_rate=3e-3)
    return model, tokenizer


def _supervised(model, sequences, *, steps: int, learning_rate: float) -> None:
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    for _ in range(steps):
        for ids, mask in sequences:
            labels = [token if keep else -100 for token, keep in zip(ids, mask, strict=True)]
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
            loss.backward()
        optimizer.step()
        optimizer.zero_grad()


def _config(tmp_path, **overrides) -> GRPOConfig:
    settings = dict(
        output_dir=str(tmp_path), use_cpu=True, bf16=False, seed=0,
        per_device_train_batch_size=4, num_generations=4, max_steps=2, learning_rate=1e-3,
        logging_steps=1, report_to="none", save_strategy="no", dataloader_num_workers=0,
    )  # fmt: skip
    settings[CHECKPOINTING] = False  # nothing to save on a tiny model, and it is slower
    settings.update(overrides)
    return GRPOConfig(**settings)


def _parameters(model) -> dict[str, torch.Tensor]:
    return {name: parameter.detach().clone() for name, parameter in model.named_parameters()}


def _changed(before: dict[str, torch.Tensor], model) -> int:
    return sum(not torch.equal(before[name], parameter) for name, parameter in model.named_parameters())


def _spans(mask: list[int]) -> list[tuple[int, int, int]]:
    spans, start = [], 0
    for index in range(1, len(mask) + 1):
        if index == len(mask) or mask[index] != mask[start]:
            spans.append((mask[start], start, index))
            start = index
    return spans


# ----------------------------------------------------------------------------------------------------------------
# Rows and tool methods (no model)


def test_task_dataset_rows_name_their_task():
    rows = task_dataset(
        ENV_ID, task_ids=[TASK_ID, "filesystem_base_1"], system_prompt="Be brief.", environment="fs"
    )
    assert rows.column_names == ["prompt", "task_id", "environment"]
    assert rows[0]["task_id"] == TASK_ID and rows[0]["environment"] == "fs"
    assert [message["role"] for message in rows[0]["prompt"]] == ["system", "user"]
    assert rows[0]["prompt"][-1]["content"] == _task().turns[0]
    assert [prompt_task_id(row["prompt"]) for row in rows] == [TASK_ID, "filesystem_base_1"]
    every = gym.make(ENV_ID).unwrapped.tasks
    assert len(task_dataset(ENV_ID, first_turn_only=True)) == sum(
        bool(task.ground_truth[0]) for task in every
    )
    with pytest.raises(ValueError, match="no task"):
        task_dataset(ENV_ID, max_turns=1)  # every bundled task has several user turns
    with pytest.raises(ValueError, match="unknown task id"):
        task_dataset(ENV_ID, task_ids=["nope"])
    with pytest.raises(ValueError, match="names no task"):
        prompt_task_id([{"role": "user", "content": "hi"}])


def test_tool_methods_give_back_the_env_schemas():
    environment = FileSystemEnvironment()
    _, info = environment.env.reset(options={"task_id": TASK_ID})
    schemas = {schema["function"]["name"]: schema["function"] for schema in info["tools"]}
    methods = tool_methods(environment)
    assert sorted(schemas) == [method.__name__ for method in methods]
    for method in methods:  # bound, as TRL passes them
        produced = get_json_schema(method)["function"]
        expected = schemas[method.__name__]
        assert produced["description"] == " ".join(expected["description"].split())
        parameters = expected["parameters"]
        assert sorted(produced["parameters"].get("required", [])) == sorted(parameters["required"])
        for name, spec in parameters["properties"].items():
            got = produced["parameters"]["properties"][name]
            assert got["description"] == " ".join(spec["description"].split())
            kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
            assert got["type"] == next(kind for kind in kinds if kind != "null")
            assert got.get("nullable", False) == ("null" in kinds)
            assert got.get("enum") == spec.get("enum")


def test_environment_class_plays_a_first_turn():
    environment = FileSystemEnvironment()
    prompt = task_dataset(ENV_ID, task_ids=[TASK_ID])[0]["prompt"]
    assert environment.reset(task_id=TASK_ID, prompt=prompt) is None  # the prompt already holds the message
    assert environment.ls(a=True).startswith('{"current_directory_content"')
    assert environment.get_reward() == 0.0  # ls is not what the turn needed
    environment.reset(task_id=TASK_ID, prompt=prompt)
    assert "error" in environment.cd(folder="no_such_folder").lower()
    environment.pwd()
    assert environment.get_reward() == 1.0 and environment.done
    assert environment.pwd().startswith("Error: the episode is over")
    whole = make_environment_class(ENV_ID)()
    with pytest.raises(ValueError, match="2 user turns"):
        whole.reset(task_id=TASK_ID)
    with pytest.raises(ValueError, match="task_id"):
        whole.reset(prompt=prompt)


# ----------------------------------------------------------------------------------------------------------------
# GRPO through TRL


def test_grpo_with_rollout_func_trains_on_whole_episodes(warm_policy, tmp_path):
    started = time.perf_counter()
    model, tokenizer = copy.deepcopy(warm_policy[0]), warm_policy[1]
    rollout = make_rollout_func(ENV_ID, max_new_tokens=40, max_episode_tokens=512)
    batches, seen = [], []

    def spy_rollout(prompts, trainer):
        output = rollout(prompts, trainer)
        batches.append((list(prompts), output, list(rollout.last_trajectories)))
        return output

    def spy_reward(completions, **kwargs):
        seen.append(list(kwargs["env_reward"]))
        return env_reward(completions, **kwargs)

    trainer = GRPOTrainer(
        model=model, reward_funcs=[spy_reward], processing_class=tokenizer, rollout_func=spy_rollout,
        train_dataset=task_dataset(ENV_ID, task_ids=[TASK_ID] * 4), args=_config(tmp_path / "rollout"),
    )  # fmt: skip
    before = _parameters(trainer.model)
    trainer.train()
    elapsed = time.perf_counter() - started

    assert trainer.state.global_step == 2 and len(batches) == 2
    for prompts, output, episodes in batches:
        # One completion per prompt: TRL already repeats each row num_generations times.
        assert len(prompts) == len(output["completion_ids"]) == 4
        assert output["logprobs"] is None  # no vLLM: TRL recomputes what it needs
        for ids, mask, episode in zip(output["completion_ids"], output["env_mask"], episodes, strict=True):
            assert len(ids) == len(mask) and episode.task_id == TASK_ID
            # Every env span (mask 0) is a template delta: a user message then the assistant header.
            env_spans = [(start, end) for flag, start, end in _spans(mask) if flag == 0]
            assert env_spans, "each episode has at least one env message"
            for start, end in env_spans:
                text = tokenizer.decode(ids[start:end])
                assert "<|im_start|>user\n" in text and text.endswith("<|im_start|>assistant\n"), text
            # Each model message is capped by max_new_tokens (40), not by TRL's max_completion_length (256).
            assert all(end - start <= 40 for flag, start, end in _spans(mask) if flag == 1)
    rewards = [reward for _, output, _ in batches for reward in output["env_reward"]]
    assert seen == [
        output["env_reward"] for _, output, _ in batches
    ]  # the column reached the reward function
    logged = [
        row["rewards/spy_reward/mean"]
        for row in trainer.state.log_history
        if "rewards/spy_reward/mean" in row
    ]
    assert logged == pytest.approx([sum(o["env_reward"]) / 4 for _, o, _ in batches])
    assert "env/success" in trainer.state.log_history[0]
    assert len(set(rewards)) > 1, f"no reward variance to learn from: {rewards}"
    assert _changed(before, trainer.model) > 0
    print(f"rollout_func: 2 GRPO steps in {elapsed:.1f} s, rewards {rewards}")


def test_grpo_with_environment_factory_trains_on_first_turns(warm_policy, tmp_path):
    started = time.perf_counter()
    model, tokenizer = copy.deepcopy(warm_policy[0]), warm_policy[1]
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, environment_factory=FileSystemEnvironment,
        train_dataset=task_dataset(ENV_ID, task_ids=[TASK_ID] * 4, first_turn_only=True),
        args=_config(tmp_path / "factory", max_completion_length=96, max_tool_calling_iterations=2),
    )  # fmt: skip
    masks = []
    tool_call_loop = trainer._tool_call_loop

    def spy_loop(*args, **kwargs):
        result = tool_call_loop(*args, **kwargs)
        masks.append(result[0])
        return result

    trainer._tool_call_loop = spy_loop
    before = _parameters(trainer.model)
    trainer.train()
    elapsed = time.perf_counter() - started

    history = [row for row in trainer.state.log_history if "rewards/FileSystemEnvironment/mean" in row]
    assert trainer.state.global_step == 2 and len(history) == 2
    rewards = [row["rewards/FileSystemEnvironment/mean"] for row in history]
    calls = [row["tools/call_frequency"] for row in history]
    assert sum(calls) > 0, "the warm policy calls tools"
    assert any(0 in mask for batch in masks for mask in batch), "tool results are masked out"
    assert _changed(before, trainer.model) > 0
    print(
        f"environment_factory: 2 GRPO steps in {elapsed:.1f} s, mean rewards {rewards}, calls/rollout {calls}"
    )


# ----------------------------------------------------------------------------------------------------------------
# Several processes


class _FakeAccelerator:
    """Two ranks in threads: ``gather`` exchanges each rank's count, as accelerate's all-gather would."""

    num_processes = 2
    device = "cpu"

    def __init__(self, rank: int, slots: list[int], barrier: threading.Barrier) -> None:
        self.rank, self.slots, self.barrier = rank, slots, barrier

    def gather(self, tensor):
        self.slots[self.rank] = int(tensor.item())
        self.barrier.wait()
        gathered = torch.tensor(list(self.slots))
        self.barrier.wait()  # nobody overwrites a slot before every rank has read them
        return gathered


class _FakeTrainer:
    """What the rollout function reads of a GRPOTrainer; every message is the reply "Done." (it ends a turn)."""

    use_vllm = False
    tools: list = []
    args = None

    def __init__(self, tokenizer, accelerator: _FakeAccelerator) -> None:
        self._tokenizer = self.processing_class = tokenizer
        self.accelerator = accelerator
        self.eos_token_ids = [tokenizer.eos_token_id]
        self.batch_sizes: list[int] = []

    def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations):
        self.batch_sizes.append(len(prompt_ids))
        reply = self._tokenizer.encode("Done.", add_special_tokens=False) + [self._tokenizer.eos_token_id]
        return [list(reply) for _ in prompt_ids], None


def test_ranks_generate_in_lockstep_until_every_rank_is_done(warm_policy):
    # Rank 0 plays one 2-turn episode, rank 1 two 4-turn ones: rank 0 must keep joining rank 1's generation
    # calls (with dummies) as backends with collectives need, and both stop together.
    slots, barrier = [0, 0], threading.Barrier(2, timeout=30)
    trainers = [_FakeTrainer(warm_policy[1], _FakeAccelerator(rank, slots, barrier)) for rank in (0, 1)]
    prompts = [task_dataset(ENV_ID, task_ids=ids)["prompt"] for ids in ([TASK_ID], ["filesystem_base_2"] * 2)]
    outputs: list = [None, None]

    def play(rank: int) -> None:
        outputs[rank] = make_rollout_func(ENV_ID, max_episode_tokens=4096)(prompts[rank], trainers[rank])

    threads = [threading.Thread(target=play, args=(rank,)) for rank in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert trainers[0].batch_sizes == trainers[1].batch_sizes == [2, 2, 2, 2]
    assert [len(output["completion_ids"]) for output in outputs] == [1, 2]
    assert [output["env_finish"] for output in outputs] == [["terminated"], ["terminated"] * 2]
