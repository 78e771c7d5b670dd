"""The GRPO loop: a step end to end, exact resume, the KL reference, precision, masking, config and CLI."""

from __future__ import annotations

import copy
import json
import socket

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from envtune_gym.agents.batches import sequence_logprobs  # noqa: E402
from envtune_gym.agents.checkpoint import latest_checkpoint  # noqa: E402
from envtune_gym.agents.config import GRPOConfig, load_config_file, parse_flag_value  # noqa: E402
from envtune_gym.agents.grpo import policy_update, train  # noqa: E402
from envtune_gym.agents.metrics import read_metrics  # noqa: E402
from envtune_gym.cli import main  # noqa: E402
from envtune_gym.wrappers.curriculum import Stage  # noqa: E402

#: Keys whose values depend on wall-clock time.
TIMING = {"rollout_seconds", "train_seconds", "rollout_tokens_per_s", "train_tokens_per_s"}

SMALL = dict(
    tiny_vocab_size=1024, tasks_per_step=1, group_size=4, max_new_tokens=24, sft_steps=4, progress=False,
    tensorboard=False, learning_rate=1e-3, checkpoint_every=2,
)  # fmt: skip


#: A small LoRA on two projections.
LORA = dict(lora=True, lora_rank=4, lora_alpha=8, lora_target_modules=["q_proj", "v_proj"])


def _config(**overrides) -> GRPOConfig:
    return GRPOConfig.from_preset("tiny", **{**SMALL, **overrides})


def _without_timing(rows):
    return [{key: value for key, value in row.items() if key not in TIMING} for row in rows]


def test_a_training_step_logs_every_metric_and_updates_the_weights():
    config = _config(total_steps=2)
    result = train(config)
    assert len(result.rows) == 2 and [row["step"] for row in result.rows] == [1, 2]
    row = result.rows[-1]
    for key in ("reward_mean", "success", "stage", "loss", "kl", "entropy", "grad_norm", "clip_frac_low",
                "frac_zero_std_groups", "rollout_tokens_per_s", "train_tokens_per_s", "logprob_mismatch"):  # fmt: skip
        assert key in row, key
    assert row["episodes"] == 4 and row["model_tokens"] > 0
    assert row["logprob_mismatch"] < 1e-3  # the trainer's recomputation agrees with the sampler
    assert len(result.sft_rows) == 4 and result.sft_rows[-1]["loss"] < result.sft_rows[0]["loss"]


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_resume_continues_exactly(tmp_path, lora):
    # KL, entropy and a warm start on: the resumed run must get back the reference GRPO started from (the
    # post-SFT model), not a copy of the resumed weights.
    options = dict(kl_coef=0.5, entropy_coef=0.05, sft_steps=6, **(LORA if lora else {}))
    straight = train(_config(total_steps=4, out=str(tmp_path / "straight"), **options))
    interrupted = _config(total_steps=2, out=str(tmp_path / "resumed"), **options)
    train(interrupted)
    assert latest_checkpoint(tmp_path / "resumed").name == "step_000002"
    resumed = train(_config(total_steps=4, out=str(tmp_path / "resumed"), **options), resume=True)
    assert any(row["kl"] > 1e-6 for row in straight.rows[2:])  # the steps after the resume do test the KL
    # Same draws, same samples, same updates; float metrics may differ in the last bits (kernel threading).
    assert len(resumed.rows) == len(straight.rows) == 4
    for got, want in zip(_without_timing(resumed.rows), _without_timing(straight.rows), strict=True):
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-6), (want["step"], key)
            else:
                assert got[key] == value, (want["step"], key)
    assert [row["step"] for row in read_metrics(tmp_path / "resumed" / "metrics.jsonl")] == [1, 2, 3, 4]
    for (name, a), (_, b) in zip(
        straight.policy.model.state_dict().items(), resumed.policy.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert (tmp_path / "resumed" / "curves.png").stat().st_size > 10_000


def test_resume_that_needs_a_missing_reference_is_a_clear_error(tmp_path):
    train(_config(total_steps=2, sft_steps=0, out=str(tmp_path)))  # kl_coef=0: no reference saved
    with pytest.raises(ValueError, match="needs the KL reference"):
        train(_config(total_steps=3, sft_steps=0, kl_coef=0.1, out=str(tmp_path)), resume=True)


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_the_kl_reference_is_the_policy_after_the_warm_start(tmp_path, monkeypatch, lora):
    from envtune_gym.agents import grpo, sft

    models: dict[str, torch.nn.Module] = {}
    real_warm_start = sft.warm_start

    def warm_start(policy, *args):
        models["before"] = copy.deepcopy(policy.model)
        rows = real_warm_start(policy, *args)
        models["after"] = copy.deepcopy(policy.model)
        return rows

    seen = []
    real_reference_logprobs = grpo._reference_logprobs

    def reference_logprobs(policy, reference, batch, config):
        seen.append((batch, real_reference_logprobs(policy, reference, batch, config)))
        return seen[-1][1]

    monkeypatch.setattr(sft, "warm_start", warm_start)
    monkeypatch.setattr(grpo, "_reference_logprobs", reference_logprobs)
    config = _config(total_steps=1, sft_steps=6, kl_coef=0.5, out=str(tmp_path), **(LORA if lora else {}))
    result = train(config)
    assert result.rows[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # GRPO starts at its reference
    batch, reference = seen[0]
    mask = batch.loss_mask.bool()
    with torch.no_grad():
        after, _ = sequence_logprobs(models["after"].eval(), batch, config)
        before, _ = sequence_logprobs(models["before"].eval(), batch, config)
    assert torch.allclose(reference[mask], after[mask], atol=1e-4)
    assert (reference[mask] - before[mask]).abs().max() > 1e-2  # and not the model before the warm start
    if lora:  # the merged base is what LoRA checkpoints point at, so that a resume rebuilds it
        pointer = latest_checkpoint(tmp_path) / "policy" / "BASE"
        assert pointer.read_text() == str((tmp_path / "base").resolve())


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint"):
        train(_config(total_steps=1, out=str(tmp_path)), resume=True)
    with pytest.raises(ValueError, match="needs --out"):
        train(_config(total_steps=1), resume=True)


def test_lora_trains_only_adapters_and_uses_the_base_as_reference(tmp_path):
    pytest.importorskip("peft")
    config = _config(total_steps=2, sft_steps=0, kl_coef=0.1, out=str(tmp_path), **LORA)
    result = train(config)
    trainable = [name for name, p in result.policy.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in name for name in trainable)
    assert result.rows[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # adapters start at zero: policy == reference
    assert result.rows[1]["kl"] >= 0.0
    resumed = train(config.with_overrides({"total_steps": 3}), resume=True)
    assert [row["step"] for row in resumed.rows] == [1, 2, 3]


def test_kl_without_lora_uses_a_frozen_copy():
    result = train(_config(total_steps=2, sft_steps=0, kl_coef=0.5, entropy_coef=0.05))
    assert result.rows[0]["kl"] == pytest.approx(0.0, abs=1e-6)
    assert result.rows[1]["kl"] > 0.0  # the policy moved away from the reference


def _demonstrations_with_own_logprobs(policy, config):
    """Three oracle episodes and a copy, with the policy's log-probs as their sampling log-probs (ratio 1)."""
    from envtune_gym.agents.batches import collate
    from envtune_gym.agents.rollout import ChatFormat
    from envtune_gym.agents.sft import oracle_demonstrations

    demos = oracle_demonstrations(ChatFormat(policy.tokenizer), config)
    trajectories = [*demos[:3], copy.deepcopy(demos[0])]
    for item in trajectories:
        with torch.no_grad():
            logp, _ = sequence_logprobs(policy.model, collate([item], torch.zeros(1), policy.device), config)
        item.logprobs = [
            float(value) * bit for value, bit in zip(logp[0].tolist(), item.response_mask, strict=True)
        ]
    return trajectories


def _update(policy, reference, trajectories, advantages, config):
    """The metrics and gradients of one ``policy_update`` of a copy of ``policy``."""
    from envtune_gym.agents.grpo import _optimizer

    policy = copy.deepcopy(policy)
    metrics = policy_update(
        policy, reference, _optimizer(policy, config)[0], trajectories, advantages, config
    )
    return metrics, [parameter.grad.clone() for parameter in policy.trainable_parameters()]


def test_mask_truncated_leaves_cut_episodes_out_of_the_loss():
    from envtune_gym.agents.policy import load_policy

    # No gradient clipping, so that the gradients compared are the loss's own.
    config = _config(sft_steps=0, kl_coef=0.5, entropy_coef=0.05, mask_truncated=True, max_grad_norm=1e9)
    policy = load_policy(config)
    reference = copy.deepcopy(policy.model).eval()
    with torch.no_grad():
        for parameter in reference.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))  # a reference the policy differs from: KL > 0
    trajectories = _demonstrations_with_own_logprobs(policy, config)
    trajectories[1].finish = "length"
    advantages = torch.tensor([1.0, 2.0, -0.5, -0.5])
    masked, masked_grads = _update(policy, reference, trajectories, advantages, config)
    kept = [0, 2, 3]
    alone, alone_grads = _update(policy, reference, [trajectories[i] for i in kept], advantages[kept], config)
    # The cut episode counts nowhere: per-token metrics (token-mean denominator) and gradients (policy
    # gradient, KL and entropy) are those of the other episodes alone.
    assert masked["kl"] > 0 and masked["entropy"] > 0
    for key in ("loss", "pg_loss", "kl", "entropy", "logprob_mismatch"):
        assert masked[key] == pytest.approx(alone[key], rel=1e-5, abs=1e-7), key
    for got, want in zip(masked_grads, alone_grads, strict=True):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-8)
    unmasked, unmasked_grads = _update(
        policy, reference, trajectories, advantages, config.with_overrides({"mask_truncated": False})
    )
    assert unmasked["kl"] != pytest.approx(alone["kl"], rel=1e-3)  # the cut episode would have counted
    assert any(not torch.allclose(a, b, rtol=1e-3) for a, b in zip(unmasked_grads, alone_grads, strict=True))


def test_bf16_keeps_fp32_master_weights_so_small_updates_are_not_lost():
    from envtune_gym.agents.policy import Policy, load_policy
    from envtune_gym.agents.rollout import ChatFormat
    from envtune_gym.agents.sft import oracle_demonstrations, supervised_steps

    # lr 1e-6: each AdamW step moves a weight by ~1e-6, below half a bf16 ulp of any weight above ~2.6e-4.
    config = _config(dtype="bfloat16", device="cpu", sft_steps=12, sft_learning_rate=1e-6, sft_batch_size=4)
    mixed = load_policy(config)
    assert mixed.compute_dtype == torch.bfloat16
    assert all(parameter.dtype == torch.float32 for parameter in mixed.trainable_parameters())
    full = load_policy(config.with_overrides({"dtype": "float32"}))
    assert full.compute_dtype == torch.float32
    full.model.load_state_dict(mixed.model.state_dict())  # the same (bf16-rounded) starting point
    # What bf16 training did before: bf16 parameters, updated in place by AdamW, no fp32 copy.
    pure = Policy(copy.deepcopy(full.model).to(torch.bfloat16), full.tokenizer, full.device)
    demos = oracle_demonstrations(ChatFormat(full.tokenizer), config)

    def movement(policy):
        before = torch.cat([p.detach().float().flatten() for p in policy.trainable_parameters()])
        supervised_steps(policy, demos, config)
        return torch.cat([p.detach().float().flatten() for p in policy.trainable_parameters()]) - before

    mixed_moved, full_moved, pure_moved = movement(mixed), movement(full), movement(pure)
    assert (full_moved != 0).float().mean() > 0.99
    # fp32 master weights move as the fp32 run does, up to the bf16 rounding of the forward pass.
    assert (mixed_moved != 0).float().mean() > 0.99
    assert torch.nn.functional.cosine_similarity(mixed_moved, full_moved, dim=0) > 0.95
    assert (mixed_moved - full_moved).norm() < 0.25 * full_moved.norm()
    # Pure bf16 parameters drop nearly every update.
    assert (pure_moved != 0).float().mean() < 0.1
    assert pure_moved.abs().mean() < 0.1 * full_moved.abs().mean()


def test_autocast_is_a_no_op_in_fp32():
    from envtune_gym.agents.policy import load_policy

    policy = load_policy(_config(device="cpu"))
    with policy.autocast():
        assert not torch.is_autocast_enabled("cpu")
    policy.compute_dtype = torch.bfloat16
    with policy.autocast():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_curriculum_promotion_is_logged_and_checkpointed(tmp_path, monkeypatch):
    from envtune_gym.agents import grpo

    real_make_runners, built = grpo.make_runners, []

    def make_runners(*args):
        built.extend(real_make_runners(*args))
        return built

    monkeypatch.setattr(grpo, "make_runners", make_runners)
    second = Stage("second", categories=("miss_param",), max_calls=2, hints=False)
    stages = [Stage("first", categories=("base",), max_calls=2), second]
    config = _config(total_steps=2, stages=stages, curriculum_window=4, curriculum_threshold=0.0,
                     curriculum_metric="reward", out=str(tmp_path), sft_steps=0)  # fmt: skip
    result = train(config)
    assert result.rows[0]["stage_changed"] and result.rows[0]["next_stage"] == 1
    assert result.rows[1]["stage"] == 1 and result.rows[1]["stage_name"] == "second"
    state = json.loads((latest_checkpoint(tmp_path) / "state.json").read_text())
    assert state["curriculum"]["stage"] == 1 and state["step"] == 2
    # One controller: the loop's promotion is what every runner's env drew from and set its hints by.
    assert len(built) == 4 and all(runner.env.controller is result.controller for runner in built)
    tasks = {task.id: task for task in built[0].env.unwrapped.tasks}
    assert all(second.matches(tasks[runner.trajectory.task_id]) for runner in built)
    assert all(runner.last_info["curriculum"]["name"] == "second" for runner in built)
    assert all(runner.env.env.episode_level == "off" for runner in built)  # the second stage has no hints


def test_runners_must_share_one_controller():
    from envtune_gym.agents.grpo import curriculum_gate, make_runners
    from envtune_gym.agents.rollout import ChatFormat
    from envtune_gym.agents.tiny import build_tiny_policy
    from envtune_gym.wrappers.curriculum import CurriculumController

    config = _config(group_size=2)
    chat = ChatFormat(build_tiny_policy(vocab_size=1024)[1])
    runners = make_runners(config, chat, CurriculumController(config.stages))
    assert curriculum_gate(runners) is runners[0].env
    stray = make_runners(config, chat, CurriculumController(config.stages))
    with pytest.raises(ValueError, match="share one CurriculumController"):
        curriculum_gate(runners + stray)


def test_config_validation_and_overrides():
    config = GRPOConfig.from_preset("qwen3-4b")
    assert config.lora and config.kl_coef == 0.1 and len(config.stages) == 4
    assert config.with_overrides({"group_size": 4}).group_size == 4
    with pytest.raises(ValueError, match="unknown config field"):
        config.with_overrides({"grup_size": 4})
    with pytest.raises(ValueError, match="group_size must be >= 2"):
        config.with_overrides({"group_size": 1})
    with pytest.raises(ValueError, match="unknown preset"):
        GRPOConfig.from_preset("huge")
    rebuilt = GRPOConfig(**config.to_dict())
    assert rebuilt == config


def test_config_files_and_flag_values(tmp_path):
    (tmp_path / "c.json").write_text(
        json.dumps({"group_size": 6, "stages": [{"name": "a", "categories": ["base"]}]})
    )
    data = load_config_file(tmp_path / "c.json")
    config = GRPOConfig.from_preset("tiny").with_overrides(data)
    assert config.group_size == 6 and config.stages[0] == Stage("a", categories=("base",))
    (tmp_path / "c.toml").write_text("learning_rate = 0.001\nlora = true\n")
    assert load_config_file(tmp_path / "c.toml") == {"learning_rate": 0.001, "lora": True}
    assert parse_flag_value("lora", "true") is True and parse_flag_value("group_size", "3") == 3
    assert parse_flag_value("env_kwargs", '{"split": "train"}') == {"split": "train"}
    with pytest.raises(ValueError, match="expects true or false"):
        parse_flag_value("lora", "maybe")
    with pytest.raises(ValueError, match="unknown stage field"):
        GRPOConfig(stages=[{"name": "x", "difficulty": 3}])
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_config_file(tmp_path / "bad.json")


def test_envtune_train_command_writes_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["--out", str(out), "--total-steps", "2", "--tiny-vocab-size", "1024", "--group-size", "2",
             "--tasks-per-step", "1", "--sft-steps", "2", "--progress", "false", "--max-new-tokens", "16"]  # fmt: skip
    assert main(["train", *flags]) == 0
    printed = capsys.readouterr().out
    assert "reward" in printed
    last = printed.strip().splitlines()[-1]
    assert last.startswith(f"outputs in {out}: metrics.jsonl, sft_metrics.jsonl, curves.png, checkpoints/")
    assert ("tensorboard/" in last) == (out / "tensorboard").is_dir()  # only what was written
    for name in ("metrics.jsonl", "sft_metrics.jsonl", "curves.png", "checkpoints/latest"):
        assert (out / name).exists(), name
    assert main(["train", *flags]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main(["train", *flags, "--total-steps", "3", "--resume"]) == 0
    assert [row["step"] for row in read_metrics(out)] == [1, 2, 3]
    assert main(["train", "--out", str(tmp_path / "x"), "--group-size", "1"]) == 2
    assert "group_size" in capsys.readouterr().err


def test_envtune_sft_command_saves_a_loadable_policy(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    out = tmp_path / "sft"
    assert (
        main(
            ["sft", "--out", str(out), "--sft-steps", "3", "--tiny-vocab-size", "1024", "--progress", "false"]
        )
        == 0
    )
    model = transformers.AutoModelForCausalLM.from_pretrained(out / "sft_policy")
    tokenizer = transformers.AutoTokenizer.from_pretrained(out / "sft_policy")
    assert model.config.vocab_size == len(tokenizer) and tokenizer.chat_template


def test_train_without_the_train_extra_says_how_to_install(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    assert main(["train"]) == 2
    assert "pip install 'envtune-gym[train]'" in capsys.readouterr().err


def test_a_local_model_directory_loads_like_a_hub_model(tmp_path, monkeypatch):
    from envtune_gym.agents.policy import load_policy
    from envtune_gym.agents.tiny import build_tiny_policy, save_tiny_policy

    model, tokenizer = build_tiny_policy(vocab_size=1024)
    save_tiny_policy(model, tokenizer, tmp_path / "model")
    policy = load_policy(GRPOConfig(model=str(tmp_path / "model")))
    assert policy.tokenizer.chat_template and policy.tokenizer.padding_side == "left"
    assert torch.equal(policy.model.get_input_embeddings().weight, model.get_input_embeddings().weight)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="cannot load model 'no-such-org/no-such-model'"):
        load_policy(GRPOConfig(model="no-such-org/no-such-model"))


def _without_proxies(monkeypatch) -> None:
    """Loopback requests go straight to the test's port, not through a proxy of the environment."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _closed_loopback_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more: connections are refused


def test_an_unreachable_hub_fails_at_once_with_the_clear_error(monkeypatch):
    from huggingface_hub import constants

    from envtune_gym.agents import policy as policy_module

    _without_proxies(monkeypatch)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", _closed_loopback_url())
    with pytest.raises(ValueError, match="cannot load model 'no-such-org/no-such-model'.*unreachable"):
        policy_module.load_policy(GRPOConfig(model="no-such-org/no-such-model"))
    assert "unreachable" in policy_module.hub_unreachable()


def test_a_hub_that_answers_counts_as_reachable(monkeypatch):
    import http.server
    import threading

    from huggingface_hub import constants

    from envtune_gym.agents.policy import hub_unreachable

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 - the handler's protocol names it so
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    _without_proxies(monkeypatch)
    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert hub_unreachable() is None  # an error status is still an answer
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.bfcl
def test_the_qwen3_4b_preset_runs_end_to_end_with_a_small_stand_in_model(tmp_path):
    """Everything of the GPU preset but the weights: BFCL's train split, four stages, LoRA, KL, checkpointing."""
    pytest.importorskip("peft")
    from envtune_gym.agents.tiny import build_tiny_policy, save_tiny_policy
    from envtune_gym.tasks.bfcl import find_bfcl_data_dir

    try:
        find_bfcl_data_dir()
    except Exception as exc:  # noqa: BLE001 - any reason BFCL's data is missing means skip
        pytest.skip(f"BFCL data not installed: {exc}")
    model, tokenizer = build_tiny_policy(vocab_size=1024)
    save_tiny_policy(model, tokenizer, tmp_path / "stand_in")
    config = GRPOConfig.from_preset(
        "qwen3-4b", model=str(tmp_path / "stand_in"), total_steps=1, tasks_per_step=1, group_size=2,
        max_new_tokens=8, progress=False, tensorboard=False, out=str(tmp_path / "run"), device="cpu",
    )  # fmt: skip
    result = train(config)
    row = result.rows[0]
    assert row["stage_name"] == "syntax" and row["episodes"] == 2
    assert (tmp_path / "run" / "checkpoints" / "step_000001" / "policy" / "adapter_config.json").is_file()


def test_torch_threads_fit_the_cores_this_process_may_use(monkeypatch):
    import os

    from envtune_gym.agents.grpo import fit_threads_to_cores

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(8)
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
        assert fit_threads_to_cores() == 1
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
        torch.set_num_threads(2)
        assert fit_threads_to_cores() == 2  # never more than torch's own choice
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("preset", [None, "ACTIVE"])
def test_openmp_threads_sleep_while_they_wait_unless_the_user_says_otherwise(preset):
    import os
    import subprocess
    import sys

    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
    if preset:
        env["OMP_WAIT_POLICY"] = preset
    script = "import os, envtune_gym.agents; print(os.environ['OMP_WAIT_POLICY'])"
    printed = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert printed.stdout.strip() == (preset or "PASSIVE")
