"""The KV-reusing rollout engine: the same episodes as the re-prefilling reference, within a memory budget."""

from __future__ import annotations

import dataclasses
import inspect

import gymnasium as gym
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import envtune_gym  # noqa: E402, F401
from envtune_gym.agents.engine import RolloutEngine, RolloutStats, reprefill_rollouts  # noqa: E402
from envtune_gym.agents.memory import LiveTensorBytes, MemoryPlan, ModelShape  # noqa: E402
from envtune_gym.agents.rollout import ChatFormat, EpisodeRunner  # noqa: E402
from envtune_gym.agents.sampling import cache_argument, sample  # noqa: E402
from envtune_gym.agents.tiny import build_tiny_policy  # noqa: E402

TASKS = ["filesystem_base_0", "filesystem_base_1", "filesystem_base_2", "filesystem_base_3"]
NEW_TOKENS = 24


@pytest.fixture(scope="module")
def model_and_chat():
    """A float64 tiny model whose end-of-turn token is likely enough that episodes run several turns."""
    model, tokenizer = build_tiny_policy(vocab_size=1024, seed=1)
    model = model.double().eval()
    chat = ChatFormat(tokenizer, tool_docs="compact")
    stop = chat.stop_ids[0]

    def favour_stopping(module, inputs, logits):
        logits[..., stop] += 4.0
        return logits

    model.lm_head.register_forward_hook(favour_stopping)
    return model, chat


def _runners(chat, count=8, group=2):
    runners = []
    for index in range(count):
        env = gym.make("EnvTune/FileSystem-v0", max_steps_per_turn=2)
        runner = EpisodeRunner(env, chat, max_episode_tokens=3000)
        runner.start(TASKS[index // group], group=index // group)
        runners.append(runner)
    return runners


def _rngs(count=8):
    return [np.random.default_rng([0, index]) for index in range(count)]


def _plan(model, budget=2**30, prefill_tokens=8192):
    return MemoryPlan(ModelShape.of(model), budget, prefill_tokens=prefill_tokens)


def _engine(model, chat, plan):
    return RolloutEngine(model, chat, plan, max_new_tokens=NEW_TOKENS)


@pytest.fixture(scope="module")
def reference(model_and_chat):
    model, chat = model_and_chat
    runners = _runners(chat)
    stats = reprefill_rollouts(model, chat, runners, _rngs(), max_new_tokens=NEW_TOKENS)
    return [runner.trajectory for runner in runners], stats


class _KVOnlyPlan(MemoryPlan):
    """Counts only the padded KV, so a budget of two rows of 640 positions forces evictions as contexts grow."""

    def round_bytes(self, rows, prefill_rows, cache_width, input_width, new_tokens):
        return rows * (cache_width + input_width + new_tokens) * self.shape.kv_bytes_per_token


@pytest.mark.parametrize(
    "plan_kind", ["roomy", "chunked_prefill", "tight_budget", "evicting"],
)  # fmt: skip
def test_engine_samples_exactly_what_the_reprefill_path_samples(model_and_chat, reference, plan_kind):
    model, chat = model_and_chat
    shape = ModelShape.of(model)
    plan = {
        "roomy": _plan(model),
        "chunked_prefill": _plan(model, prefill_tokens=100),
        "tight_budget": _plan(model, budget=12 * 2**20, prefill_tokens=256),
        "evicting": _KVOnlyPlan(shape, 2 * 640 * shape.kv_bytes_per_token),
    }[plan_kind]
    runners = _runners(chat)
    stats = _engine(model, chat, plan).run(runners, _rngs())
    expected, reference_stats = reference
    # Several turns, several lengths, some episodes cut early: the cases the cache bookkeeping must survive.
    assert max(item.turns_checked for item in expected) >= 3
    assert len({len(item.input_ids) for item in expected}) >= 4
    assert {item.finish for item in expected} >= {"terminated", "length"}
    for got, want in zip((runner.trajectory for runner in runners), expected, strict=True):
        assert got.response_ids == want.response_ids
        assert got.response_mask == want.response_mask
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-9)
        assert (got.finish, got.reward, got.turns_passed) == (want.finish, want.reward, want.turns_passed)
    assert stats.computed_tokens < reference_stats.computed_tokens / 2
    if plan_kind == "tight_budget":
        assert 1 < stats.most_resident < len(runners)
    if plan_kind == "evicting":
        assert stats.evictions > 0


def test_a_group_prompt_is_prefilled_once_and_finished_rows_stop_decoding(model_and_chat):
    model, chat = model_and_chat
    runners = _runners(chat, count=8, group=4)  # two groups of four
    stats = _engine(model, chat, _plan(model)).run(runners, _rngs())
    assert stats.prefill_rows_shared == 6
    # Every decode position feeds a sampled token whose message goes on: no row decodes after its message ends.
    messages = [runner.trajectory for runner in runners]
    fed = sum(len(tokens) - 1 for item in messages for tokens in _model_messages(item))
    assert stats.decode_tokens == fed


def _model_messages(trajectory):
    messages, current = [], []
    for token, is_model in zip(trajectory.response_ids, trajectory.response_mask, strict=True):
        if is_model:
            current.append(token)
        elif current:
            messages.append(current)
            current = []
    return [*messages, current] if current else messages


def test_one_episode_over_the_budget_is_a_clear_error(model_and_chat):
    model, chat = model_and_chat
    runners = _runners(chat, count=2)
    with pytest.raises(ValueError, match=r"one episode alone needs about .* MiB .* raise rollout_memory_gb"):
        _engine(model, chat, _plan(model, budget=2**20)).run(runners, _rngs(2))


def test_an_episode_that_outgrows_the_budget_alone_is_a_clear_error(model_and_chat):
    model, chat = model_and_chat
    shape = ModelShape.of(model)
    runners = _runners(chat, count=1)
    first_round = len(runners[0].trajectory.input_ids) + NEW_TOKENS
    plan = _KVOnlyPlan(shape, (first_round + 5) * shape.kv_bytes_per_token)  # room for its first message only
    with pytest.raises(ValueError, match=r"one episode alone needs about .* over the rollout budget"):
        _engine(model, chat, plan).run(runners, _rngs(1))
    assert runners[0].trajectory.messages >= 1  # it did play while it fitted


def test_the_plan_bounds_the_measured_peak(model_and_chat):
    model, chat = model_and_chat
    runners = _runners(chat)
    engine = _engine(model, chat, _plan(model, budget=16 * 2**20, prefill_tokens=512))
    with LiveTensorBytes() as live:
        stats = engine.run(runners, _rngs())
    # The estimate is an upper bound that is not wildly loose (measured here: 1.3-1.5x the live peak).
    assert live.peak <= stats.peak_estimate_bytes <= 2.5 * live.peak
    assert stats.peak_estimate_bytes <= 16 * 2**20


def test_decode_steps_see_their_context(model_and_chat):
    """The cache reaches the model under the keyword it reads (a dropped keyword would decode without context)."""
    model, chat = model_and_chat
    # ``cache`` from transformers 5.2x on, ``past_key_values`` before: always a parameter the forward names.
    assert cache_argument(model) in inspect.signature(type(model).forward).parameters
    context = _runners(chat, count=1)[0].trajectory.input_ids[:40]
    out = sample(model, [context], max_new_tokens=6, stop_ids=[-1], pad_id=chat.pad_id, temperature=0)[0]
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([context + out.tokens])).logits[0].double()
    full = torch.log_softmax(logits, dim=-1)[len(context) - 1 : -1]
    expected = full.gather(-1, torch.tensor(out.tokens)[:, None])[:, 0]
    assert out.logprobs == pytest.approx(expected.tolist(), abs=1e-9)
    assert out.tokens == full.argmax(-1).tolist()


def test_peft_models_take_the_cache_keyword_of_their_base(model_and_chat):
    peft = pytest.importorskip("peft")
    model, tokenizer = build_tiny_policy(vocab_size=600, seed=2)
    wrapped = peft.get_peft_model(
        model, peft.LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM")
    )
    assert cache_argument(wrapped) == cache_argument(model)
    assert cache_argument(wrapped) in inspect.signature(type(model).forward).parameters


def test_memory_table_for_qwen3_4b():
    from envtune_gym.agents.memory import qwen3_4b_table

    table = qwen3_4b_table()
    assert "| 16k | 144 GiB |" in table  # 64 episodes x 16,384 tokens x 144 KiB
    rows = [line.split("|") for line in table.splitlines()[2:]]
    resident = [int(row[3]) for row in rows]
    assert resident[0] > resident[1] > resident[2] >= 1
    assert all(float(row[4].split()[0]) <= 60 for row in rows)


def test_stats_add_up():
    stats = RolloutStats(prefill_tokens=10, decode_tokens=5)
    assert stats.computed_tokens == 15
    assert dataclasses.asdict(stats)["evictions"] == 0


def test_docs_show_the_planner_table():
    from pathlib import Path

    from envtune_gym.agents.memory import qwen3_4b_table

    docs = Path(__file__).resolve().parents[2] / "docs" / "agent.md"
    assert qwen3_4b_table() in docs.read_text(encoding="utf-8"), "regenerate docs/agent.md's table"
