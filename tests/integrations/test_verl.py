"""The verl integration: task rows and agent-loop config (no verl needed), then the agent loop itself.

The agent-loop tests need verl (``pip install "envtune-gym[verl]"``; CI runs them in a separate venv, see
``.ci/run``) and are skipped with that reason elsewhere. They drive :class:`EnvTuneAgentLoop` with a scripted
generation server standing in for verl's vLLM/SGLang server manager: directly, and through verl's own
``AgentLoopWorker`` reading the exported parquet with verl's ``RLHFDataset``, as a training step does.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from envtune_gym.integrations.verl import (
    AGENT_NAME,
    EpisodeRequest,
    agent_loop_config,
    export_parquet,
    resolve_wrappers,
    task_rows,
    write_agent_loop_config,
)

TASK = "filesystem_base_0"

# ----------------------------------------------------------------------------------------------------------------
# Rows and config (core install + pyarrow)


def test_task_rows_route_to_the_agent_loop_and_name_the_task() -> None:
    rows = task_rows("EnvTune/FileSystem-v0", env_kwargs={"max_steps_per_turn": 5}, system_prompt="Be brief.")
    assert len(rows) == 53
    row = rows[3]
    assert row["agent_name"] == AGENT_NAME == "envtune_env"
    assert row["data_source"] == "envtune/FileSystem-v0"
    assert row["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert row["prompt"][1]["role"] == "user" and row["prompt"][1]["content"]
    extra = row["extra_info"]
    assert extra["index"] == 3 and extra["env_id"] == "EnvTune/FileSystem-v0"
    assert json.loads(extra["env_kwargs"]) == {"max_steps_per_turn": 5}
    request = EpisodeRequest.from_row(row, default_env_kwargs={"max_steps_per_turn": 20, "category": "base"})
    assert (request.task_id, request.system_prompt) == (extra["task_id"], "Be brief.")
    assert request.env_kwargs == {"max_steps_per_turn": 5, "category": "base"}  # the row's kwargs win


def test_task_rows_filters_and_errors() -> None:
    rows = task_rows("EnvTune/FileSystem-v0", task_ids=[TASK, TASK, "filesystem_base_1"])
    assert [row["extra_info"]["task_id"] for row in rows] == [TASK, TASK, "filesystem_base_1"]
    with pytest.raises(ValueError, match="unknown task id"):
        task_rows("EnvTune/FileSystem-v0", task_ids=["nope"])
    with pytest.raises(ValueError, match="JSON-serialisable"):
        task_rows("EnvTune/FileSystem-v0", env_kwargs={"category": {"base"}})
    with pytest.raises(ValueError, match="no task"):
        task_rows("EnvTune/FileSystem-v0", max_turns=1)


def test_episode_request_rejects_rows_without_envtune_fields() -> None:
    with pytest.raises(ValueError, match="no extra_info"):
        EpisodeRequest.from_row({"prompt": []})
    with pytest.raises(ValueError, match=r"lacks \['task_id'\]"):
        EpisodeRequest.from_row({"extra_info": {"env_id": "EnvTune/FileSystem-v0"}})
    with pytest.raises(ValueError, match="JSON object"):
        EpisodeRequest.from_row({"extra_info": {"env_id": "E", "task_id": "t", "env_kwargs": "[1, 2]"}})


def test_parquet_round_trip(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet", reason="export_parquet writes with pyarrow")
    path = export_parquet(
        tmp_path / "deep" / "train.parquet", "EnvTune/Trading-v0", env_kwargs={"split": None}
    )
    table = pq.read_table(path).to_pylist()
    assert table == task_rows("EnvTune/Trading-v0", env_kwargs={"split": None})
    assert {"data_source", "agent_name", "prompt", "extra_info"} <= set(table[0])


def test_agent_loop_config_and_wrapper_specs(tmp_path: Path) -> None:
    config = agent_loop_config(wrappers=["ProgressReward", {"name": "HintAugmentation", "kwargs": {"level": "full"}}],
                               env_kwargs={"max_steps_per_turn": 5}, max_new_tokens=256)  # fmt: skip
    entry = config[0]
    assert entry["name"] == AGENT_NAME
    assert entry["_target_"] == "envtune_gym.integrations.verl.agent_loop.EnvTuneAgentLoop"
    assert (entry["max_new_tokens"], entry["env_kwargs"]) == (256, {"max_steps_per_turn": 5})
    written = write_agent_loop_config(tmp_path / "agent_loop.yaml", **{k: v for k, v in entry.items()
                                                                       if k not in ("name", "_target_")})  # fmt: skip
    assert json.loads(written.read_text()) == config
    factories = resolve_wrappers(entry["wrappers"])
    assert factories[1].keywords == {"level": "full"}
    for bad, message in [(["Nope"], "unknown wrapper"), (["os.nope"], "unknown wrapper"),
                         ([{"kwargs": {}}], "has 'name'"), ("ProgressReward", "a list of specs"), ([3], "a name or")]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            resolve_wrappers(bad)


def test_verl_data_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("pyarrow", reason="export_parquet writes with pyarrow")
    from envtune_gym.cli import main

    out = tmp_path / "data"
    assert main(["verl-data", "EnvTune/FileSystem-v0", "--out", str(out), "--env-kwargs", '{"category": "base"}',
                 "--val-env-kwargs", '{"category": "miss_param"}', "--max-new-tokens", "128"]) == 0  # fmt: skip
    assert capsys.readouterr().out.split() == [str(out / name) for name in
                                               ("train.parquet", "val.parquet", "agent_loop.yaml")]  # fmt: skip
    import pyarrow.parquet as pq

    assert pq.read_table(out / "train.parquet").num_rows == 14
    val_ids = [row["task_id"] for row in pq.read_table(out / "val.parquet").column("extra_info").to_pylist()]
    assert val_ids and all("miss_param" in task_id for task_id in val_ids)
    assert json.loads((out / "agent_loop.yaml").read_text())[0]["max_new_tokens"] == 128
    bad = tmp_path / "bad"
    assert main(["verl-data", "EnvTune/FileSystem-v0", "--out", str(bad), "--wrapper", "Nope"]) == 2
    assert "unknown wrapper 'Nope'" in capsys.readouterr().err and not bad.exists()
    assert main(["verl-data", "EnvTune/FileSystem-v0", "--out", str(bad), "--env-kwargs", "{oops"]) == 2
    assert "--env-kwargs must be a JSON object" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# The agent loop (needs verl)


@pytest.fixture(scope="module")
def verl_env() -> dict[str, Any]:
    """verl's trainer config (composed from verl's own defaults), a tiny Qwen3 policy and its tokenizer."""
    verl = pytest.importorskip(
        "verl", reason='needs verl: pip install "envtune-gym[verl]" (CI runs it in its own venv)'
    )
    from hydra import compose, initialize_config_dir

    from envtune_gym.agents.tiny import build_tiny_policy

    model, tokenizer = build_tiny_policy(seed=0)
    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose(config_name="ppo_trainer", overrides=[
            "actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.rollout.prompt_length=2048",
            "actor_rollout_ref.rollout.response_length=1024"])  # fmt: skip
    return {"config": config, "model": model, "tokenizer": tokenizer}


class ScriptedServer:
    """Stands in for verl's server manager: token in, token out, with a scripted message per call.

    ``script(prompt_text, call_index, request_id)`` returns the message text; the server appends the stop token (unless the
    script's message is marked unfinished with a trailing ``"…"``) and reports log-prob -0.5 per token.
    """

    def __init__(
        self, tokenizer: Any, script: Any, *, logprobs: bool = True, ignore_max_tokens: bool = False
    ) -> None:
        self.tokenizer = tokenizer
        self.script = script
        self.logprobs = logprobs
        self.ignore_max_tokens = ignore_max_tokens
        self.calls: list[dict[str, Any]] = []
        self.stop_id = tokenizer.convert_tokens_to_ids("<|im_end|>")

    async def generate(self, request_id: str, *, prompt_ids: list[int], sampling_params: dict[str, Any],
                       **kwargs: Any) -> Any:  # fmt: skip
        from verl.workers.rollout.replica import TokenOutput

        text = self.tokenizer.decode(prompt_ids, skip_special_tokens=False)
        index = sum(call["request_id"] == request_id for call in self.calls)
        message = self.script(text, index, request_id)
        unfinished = message.endswith("…")
        ids = self.tokenizer.encode(message.rstrip("…"), add_special_tokens=False) + (
            [] if unfinished else [self.stop_id]
        )
        if not self.ignore_max_tokens:
            ids = ids[: sampling_params["max_tokens"]]
        self.calls.append({"request_id": request_id, "prompt_ids": list(prompt_ids), "params": dict(sampling_params),
                           "tokens": ids})  # fmt: skip
        return TokenOutput(token_ids=ids, log_probs=[-0.5] * len(ids) if self.logprobs else None,
                           stop_reason="completed")  # fmt: skip


def _oracle_script(env_id: str = "EnvTune/FileSystem-v0") -> Any:
    """Plays the oracle's hermes actions for whichever task's first user message is in the prompt."""
    import gymnasium as gym

    from envtune_gym.tasks.oracle import oracle_actions

    env = gym.make(env_id)
    tasks = env.unwrapped.tasks

    def script(prompt_text: str, index: int, request_id: str = "") -> str:
        task = next(task for task in tasks if task.turns[0] in prompt_text)
        actions = list(oracle_actions(task, style="hermes"))
        return actions[index] if index < len(actions) else "Done."

    return script


def _loop(verl_env: dict[str, Any], server: ScriptedServer, **options: Any) -> Any:
    from verl.experimental.agent_loop.agent_loop import DictConfigWrap

    from envtune_gym.integrations.verl.agent_loop import EnvTuneAgentLoop

    config = verl_env["config"]
    return EnvTuneAgentLoop(trainer_config=DictConfigWrap(config), server_manager=server,
                            tokenizer=verl_env["tokenizer"], processor=None, dataset_cls=None,
                            data_config=DictConfigWrap(config.data), hf_model_type="qwen3", **options)  # fmt: skip


def _with_lengths(verl_env: dict[str, Any], **lengths: int) -> dict[str, Any]:
    """``verl_env`` with ``actor_rollout_ref.rollout`` lengths overridden (e.g. ``response_length=128``)."""
    from omegaconf import OmegaConf

    config = OmegaConf.merge(verl_env["config"], {"actor_rollout_ref": {"rollout": lengths}})
    return {**verl_env, "config": config}


def _run(loop: Any, row: dict[str, Any], **sampling: Any) -> Any:
    return asyncio.run(
        loop.run({"temperature": 1.0, "logprobs": True, **sampling}, **row, raw_prompt=row["prompt"])
    )


def _row(task_id: str = TASK, **options: Any) -> dict[str, Any]:
    return task_rows("EnvTune/FileSystem-v0", task_ids=[task_id], **options)[0]


def test_agent_loop_is_registered_under_its_name(verl_env: dict[str, Any]) -> None:
    from verl.experimental.agent_loop.agent_loop import _agent_loop_registry

    import envtune_gym.integrations.verl.agent_loop  # noqa: F401 - registers on import

    assert _agent_loop_registry[AGENT_NAME] == {
        "_target_": "envtune_gym.integrations.verl.agent_loop.EnvTuneAgentLoop"
    }


def test_oracle_episode_tokens_mask_logprobs_and_reward(verl_env: dict[str, Any]) -> None:
    tokenizer = verl_env["tokenizer"]
    server = ScriptedServer(tokenizer, _oracle_script())
    output = _run(_loop(verl_env, server), _row())

    assert output.reward_score == pytest.approx(1.0)  # ProgressReward: every checked turn passed
    info = output.extra_fields["reward_extra_info"]
    assert info["env_success"] == 1.0 and info["env_turns_passed"] == info["env_turns_checked"] == 2.0
    assert output.extra_fields["env_finish"] == "terminated"
    sequence = output.prompt_ids + output.response_ids
    # Token in, token out: each call's context is the episode so far, and the model's tokens are kept as sent.
    for call in server.calls:
        assert sequence[: len(call["prompt_ids"])] == call["prompt_ids"]
        assert (
            sequence[len(call["prompt_ids"]) : len(call["prompt_ids"]) + len(call["tokens"])]
            == call["tokens"]
        )
    assert (
        len({call["request_id"] for call in server.calls}) == 1
    )  # sticky: one server keeps the prefix cache
    model_tokens = [t for t, m in zip(output.response_ids, output.response_mask, strict=True) if m]
    assert model_tokens == [token for call in server.calls for token in call["tokens"]]
    assert all(
        lp == (-0.5 if m else 0.0)
        for lp, m in zip(output.response_logprobs, output.response_mask, strict=True)
    )
    env_text = tokenizer.decode(
        [t for t, m in zip(output.response_ids, output.response_mask, strict=True) if not m]
    )
    assert "<|im_start|>user" in env_text and "<|im_start|>assistant" in env_text
    assert output.num_turns == 1 + 2 * len(server.calls) - 1
    params = server.calls[0]["params"]
    assert tokenizer.convert_tokens_to_ids("<|im_end|>") in params["stop_token_ids"]
    assert params["max_tokens"] == 1024  # the whole response budget: no per-message cap configured
    assert output.metrics.generate_sequences >= 0 and output.metrics.tool_calls > 0


def test_malformed_action_is_an_error_observation_and_the_episode_goes_on(verl_env: dict[str, Any]) -> None:
    oracle = _oracle_script()

    def script(prompt_text: str, index: int, request_id: str) -> str:
        return (
            '<tool_call>\n{"name": "pwd", "arguments": {oops}\n</tool_call>'
            if index == 0
            else oracle(prompt_text, index - 1)
        )

    server = ScriptedServer(verl_env["tokenizer"], script)
    output = _run(_loop(verl_env, server), _row())
    first_reply = server.calls[1]["prompt_ids"][
        len(server.calls[0]["prompt_ids"]) + len(server.calls[0]["tokens"]) :
    ]
    assert "error" in verl_env["tokenizer"].decode(first_reply).lower()
    assert (
        output.extra_fields["reward_extra_info"]["env_success"] == 1.0
    )  # the rest of the oracle still passes


def test_message_cap_and_response_budget(verl_env: dict[str, Any]) -> None:
    tokenizer = verl_env["tokenizer"]
    server = ScriptedServer(
        tokenizer, lambda text, index, request: "ls\n" * 200 + "…", ignore_max_tokens=True
    )
    output = _run(_loop(verl_env, server, max_new_tokens=40), _row())
    assert server.calls[0]["params"]["max_tokens"] == 40
    assert (
        len(output.response_ids) == sum(output.response_mask) == 40
    )  # cut to the cap: one message, then "length"
    assert output.extra_fields["env_finish"] == "length"
    assert output.extra_fields["reward_extra_info"]["env_cut_by_length"] == 1.0

    # A server that obeys max_tokens, with short messages: the episode fills the response budget, then stops.
    call = '<tool_call>\n{"name": "ls", "arguments": {}}\n</tool_call>'
    server = ScriptedServer(tokenizer, lambda text, index, request: call)
    output = _run(_loop(_with_lengths(verl_env, response_length=128), server), _row())
    assert 120 <= len(output.response_ids) <= 128 and len(output.response_mask) == len(output.response_ids)
    assert output.extra_fields["env_finish"] in ("budget", "length")
    assert server.calls[-1]["params"]["max_tokens"] < server.calls[0]["params"]["max_tokens"] <= 128


def test_logprobs_none_when_the_server_gives_none(verl_env: dict[str, Any]) -> None:
    server = ScriptedServer(verl_env["tokenizer"], _oracle_script(), logprobs=False)
    output = _run(_loop(verl_env, server), _row(), logprobs=False)
    assert output.response_logprobs is None and output.reward_score == pytest.approx(1.0)


def test_prompt_longer_than_prompt_length_is_a_clear_error(verl_env: dict[str, Any]) -> None:
    server = ScriptedServer(verl_env["tokenizer"], _oracle_script())
    with pytest.raises(ValueError, match="prompt_length=16.*tool_docs='compact'"):
        _run(_loop(_with_lengths(verl_env, prompt_length=16), server), _row())
    assert server.calls == []


def test_loop_options_are_validated(verl_env: dict[str, Any]) -> None:
    server = ScriptedServer(verl_env["tokenizer"], _oracle_script())
    with pytest.raises(ValueError, match="tool_docs"):
        _loop(verl_env, server, tool_docs="short")
    with pytest.raises(ValueError, match="max_new_tokens"):
        _loop(verl_env, server, max_new_tokens=0)
    with pytest.raises(ValueError, match="unknown wrapper"):
        _loop(verl_env, server, wrappers=["Nope"])
    with pytest.raises(ValueError, match="no extra_info"):
        _run(_loop(verl_env, server), {"prompt": []})


def test_worker_runs_exported_rows_through_verls_dataset_and_batching(
    verl_env: dict[str, Any], tmp_path: Path
) -> None:
    """verl's AgentLoopWorker, as a training step drives it: parquet -> RLHFDataset -> groups of n -> DataProto."""
    import verl
    from hydra import compose, initialize_config_dir
    from verl.experimental.agent_loop.agent_loop import AgentLoopWorker
    from verl.protocol import DataProto
    from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn

    from envtune_gym.agents.tiny import save_tiny_policy

    tokenizer = verl_env["tokenizer"]
    save_tiny_policy(verl_env["model"], tokenizer, tmp_path / "model")
    tasks = [TASK, "filesystem_base_1"]
    export_parquet(tmp_path / "train.parquet", "EnvTune/FileSystem-v0", task_ids=tasks)
    write_agent_loop_config(tmp_path / "agent_loop.yaml", max_new_tokens=200, env_kwargs={"max_steps_per_turn": 3},
                            wrappers=["ProgressReward", {"name": "HintAugmentation", "kwargs": {"level": "full"}}])  # fmt: skip
    config_dir = str(Path(verl.__file__).parent / "trainer" / "config")
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        config = compose(config_name="ppo_trainer", overrides=[
            f"actor_rollout_ref.model.path={tmp_path / 'model'}", f"data.train_files={tmp_path / 'train.parquet'}",
            "actor_rollout_ref.rollout.name=vllm", "actor_rollout_ref.rollout.prompt_length=2048",
            "actor_rollout_ref.rollout.response_length=1024", "actor_rollout_ref.rollout.n=2",
            f"actor_rollout_ref.rollout.agent.agent_loop_config_path={tmp_path / 'agent_loop.yaml'}"])  # fmt: skip
    oracle = _oracle_script()
    # Episodes start in batch order [t0, t0, t1, t1]: the first of each group plays the oracle, the second only
    # says "Done." (no calls), so each group has one success and one failure.
    episodes: dict[str, int] = {}

    def script(prompt_text: str, index: int, request_id: str) -> str:
        number = episodes.setdefault(request_id, len(episodes))
        return oracle(prompt_text, index) if number % 2 == 0 else "Done."

    server = ScriptedServer(tokenizer, script)
    worker = AgentLoopWorker(config, server)
    dataset = RLHFDataset(str(tmp_path / "train.parquet"), tokenizer, config.data)
    batch = DataProto.from_single_dict(collate_fn([dataset[i] for i in range(len(dataset))]))
    batch = batch.repeat(repeat_times=2, interleave=True)
    output = asyncio.run(worker.generate_sequences(batch))

    assert output.batch["responses"].shape == (4, 1024) and output.batch["prompts"].shape == (4, 2048)
    scores = output.batch["rm_scores"]
    lengths = output.batch["attention_mask"][:, 2048:].sum(-1)
    # The reward sits on each response's last token and nowhere else.
    assert all(scores[row, lengths[row] - 1] == scores[row].sum() for row in range(4))
    success = output.non_tensor_batch["env_success"].tolist()
    assert success == [1.0, 0.0, 1.0, 0.0]
    assert scores.sum(-1).tolist() == pytest.approx([1.0, 0.0, 1.0, 0.0])  # the progress reward, per episode
    assert output.meta_info["reward_extra_keys"] == ["env_success", "env_turns_passed", "env_turns_checked",
                                                     "env_tool_calls", "env_call_errors", "env_cut_by_length"]  # fmt: skip
    mask = output.batch["response_mask"]
    assert (
        0 < int(mask.sum()) < int(output.batch["attention_mask"][:, 2048:].sum())
    )  # env tokens are masked out
    assert "rollout_log_probs" in output.batch.keys()
    assert all(call["params"]["max_tokens"] <= 200 for call in server.calls)  # the config's message cap
    assert list(output.non_tensor_batch["agent_name"]) == [AGENT_NAME] * 4


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "verl"


def _leaf_keys(node: Any, prefix: str = "") -> list[str]:
    if isinstance(node, dict):
        return [key for name, value in node.items() for key in _leaf_keys(value, f"{prefix}{name}.")]
    return [prefix.rstrip(".")]


def test_example_multi_gpu_config_is_valid_for_verl(verl_env: dict[str, Any]) -> None:
    """The example's keys all exist in verl's ppo_trainer config, and verl's own validation accepts the result."""
    import re

    import yaml
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import omega_conf_to_dataclass, validate_config

    example = yaml.safe_load((EXAMPLES / "envtune_bfcl_grpo.yaml").read_text())
    example_keys = _leaf_keys({k: v for k, v in example.items() if k not in ("hydra", "defaults")})
    script = (EXAMPLES / "run_bfcl_grpo.sh").read_text().split("verl.trainer.main_ppo", 1)[1]
    script_keys = re.findall(r"\b([a-z_]+(?:\.[a-z_]+)+)=", script)
    assert "actor_rollout_ref.rollout.name" in script_keys and "trainer.nnodes" in script_keys
    base = OmegaConf.to_container(verl_env["config"])
    for key in example_keys + script_keys:
        node = base
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, f"{key} is not a verl 0.9 config key"
            node = node[part]

    with initialize_config_dir(config_dir=str(EXAMPLES), version_base=None):
        config = compose(config_name="envtune_bfcl_grpo")
    assert config.actor_rollout_ref.rollout.agent.default_agent_loop == AGENT_NAME
    assert config.actor_rollout_ref.rollout.n == 16 and config.actor_rollout_ref.actor.kl_loss_coef == 0.1
    assert (
        config.actor_rollout_ref.rollout.prompt_length == 8192
    )  # verl derives it from data.max_prompt_length
    validate_config(
        config, use_reference_policy=need_reference_policy(config), use_critic=need_critic(config)
    )
    rollout = omega_conf_to_dataclass(config.actor_rollout_ref.rollout)
    assert (rollout.name, rollout.mode, rollout.response_length) == ("sglang", "async", 10000)
    for rollout_name in ("vllm", "sglang"):  # the script's ROLLOUT choices
        with initialize_config_dir(config_dir=str(EXAMPLES), version_base=None):
            other = compose(
                config_name="envtune_bfcl_grpo", overrides=[f"actor_rollout_ref.rollout.name={rollout_name}"]
            )
        assert omega_conf_to_dataclass(other.actor_rollout_ref.rollout).name == rollout_name
