"""The GRPO math: advantages, the clipped surrogate, k3 KL, chunked log-probs, and masking."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")

from envtune_gym.agents.losses import (  # noqa: E402
    clipped_surrogate,
    group_advantages,
    k3_kl,
    masked_sum,
    token_logprobs,
)


def test_advantages_use_the_unbiased_group_std():
    result = group_advantages(torch.tensor([1.0, 0.0, 1.0, 0.0]), group_size=4)
    assert torch.allclose(result.advantages, torch.tensor([1, -1, 1, -1]) * 0.5 / math.sqrt(1 / 3), atol=1e-5)
    assert result.zero_std_groups == 0


def test_dr_grpo_only_centres():
    result = group_advantages(torch.tensor([3.0, 1.0, 0.0, 0.0]), group_size=2, scale="none")
    assert result.advantages.tolist() == [1.0, -1.0, 0.0, 0.0]
    assert result.zero_std_groups == 1


def test_equal_rewards_give_zero_advantages_and_are_counted():
    result = group_advantages(torch.tensor([0.5, 0.5, 0.5, 1.0, 0.0, 0.5]), group_size=3)
    assert result.advantages[:3].abs().max() == 0
    assert result.zero_std_groups == 1
    assert result.advantages[3] > 0 > result.advantages[4]


def test_advantages_reject_bad_shapes_and_modes():
    with pytest.raises(ValueError, match="groups of 4"):
        group_advantages(torch.zeros(6), group_size=4)
    with pytest.raises(ValueError, match="scale"):
        group_advantages(torch.zeros(4), group_size=2, scale="batch")


def test_left_out_episodes_are_out_of_the_group_statistics():
    rewards = torch.tensor([1.0, 0.0, 1.0, 9.0, 0.2, 0.4, 0.6, 0.8])
    keep = torch.tensor([True, True, True, False, True, True, True, True])
    result = group_advantages(rewards, group_size=4, keep=keep)
    # The first group's baseline is over its three kept episodes alone; the left-out one gets 0.
    alone = group_advantages(torch.tensor([1.0, 0.0, 1.0]), group_size=3)
    assert torch.allclose(result.advantages[:3], alone.advantages)
    assert result.advantages[3] == 0
    assert torch.allclose(result.advantages[4:], group_advantages(rewards[4:], group_size=4).advantages)
    assert result.zero_std_groups == 0
    everything = torch.ones(8, dtype=torch.bool)
    assert torch.allclose(group_advantages(rewards, 4, keep=everything).advantages,
                          group_advantages(rewards, 4).advantages)  # fmt: skip


def test_a_group_with_fewer_than_two_kept_episodes_has_no_signal():
    rewards = torch.tensor([1.0, 0.0, 0.5, 0.0, 1.0, 0.0])
    keep = torch.tensor([True, False, False, False, True, True])
    for scale in ("group", "none"):
        result = group_advantages(rewards, group_size=3, scale=scale, keep=keep)
        assert result.advantages[:3].tolist() == [0.0, 0.0, 0.0]
        assert result.advantages[4] > 0 > result.advantages[5] and result.advantages[3] == 0
        assert result.zero_std_groups == 1
    nothing = group_advantages(rewards, group_size=3, keep=torch.zeros(6, dtype=torch.bool))
    assert nothing.advantages.abs().max() == 0 and nothing.zero_std_groups == 2
    with pytest.raises(ValueError, match="keep has shape"):
        group_advantages(rewards, group_size=3, keep=torch.ones(5, dtype=torch.bool))


def _surrogate_grad(log_ratio: float, advantage: float) -> tuple[float, float]:
    logp = torch.tensor([log_ratio], requires_grad=True)
    terms = clipped_surrogate(logp, torch.zeros(1), torch.tensor([advantage]), 0.2, 0.28)
    terms.surrogate.sum().backward()
    return float(terms.surrogate.detach()), float(logp.grad)


def test_clip_higher_bounds_positive_advantages_at_1_28():
    loss, grad = _surrogate_grad(math.log(1.5), advantage=1.0)
    assert loss == pytest.approx(-1.28) and grad == 0.0  # clipped: no push past 1 + 0.28
    loss, grad = _surrogate_grad(math.log(1.2), advantage=1.0)
    assert loss == pytest.approx(-1.2) and grad == pytest.approx(-1.2)  # inside: -A * ratio


def test_clip_lower_bounds_negative_advantages_at_0_8():
    loss, grad = _surrogate_grad(math.log(0.5), advantage=-1.0)
    assert loss == pytest.approx(0.8) and grad == 0.0
    # A ratio above the range with a negative advantage is not clipped (pessimistic bound).
    loss, grad = _surrogate_grad(math.log(2.0), advantage=-1.0)
    assert loss == pytest.approx(2.0) and grad == pytest.approx(2.0)


def test_clip_fractions_flag_the_clipped_tokens():
    logp = torch.log(torch.tensor([0.5, 1.5, 1.0, 1.5]))
    terms = clipped_surrogate(logp, torch.zeros(4), torch.tensor([-1.0, 1.0, 1.0, -1.0]))
    assert terms.clipped_low.tolist() == [True, False, False, False]
    assert terms.clipped_high.tolist() == [False, True, False, False]


def test_k3_kl_is_zero_at_equality_and_positive_otherwise():
    logp = torch.tensor([-1.0, -2.0, -0.5])
    assert torch.allclose(k3_kl(logp, logp), torch.zeros(3))
    kl = k3_kl(logp, logp + torch.tensor([0.3, -0.7, 1.0]))
    assert (kl > 0).all()
    assert float(k3_kl(torch.tensor([0.0]), torch.tensor([50.0]))) == 10.0  # clamped


@pytest.mark.parametrize("chunk_size", [1, 3, 64])
@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_chunked_logprobs_equal_a_full_log_softmax(chunk_size, temperature):
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 50, bias=False)
    hidden = torch.randn(2, 7, 8)
    targets = torch.randint(0, 50, (2, 7))
    logp, entropy = token_logprobs(
        hidden, head, targets, temperature=temperature, chunk_size=chunk_size, with_entropy=True
    )
    full = torch.log_softmax(head(hidden) / temperature, dim=-1)
    assert torch.allclose(logp, full.gather(-1, targets[..., None]).squeeze(-1), atol=1e-6)
    assert torch.allclose(entropy, -(full.exp() * full).sum(-1), atol=1e-5)


def test_masked_positions_get_zero_gradient():
    torch.manual_seed(0)
    head = torch.nn.Linear(8, 30, bias=False)
    hidden = torch.randn(1, 6, 8, requires_grad=True)
    targets = torch.randint(0, 30, (1, 6))
    mask = torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0, 1.0]])  # model tokens at 1, 2 and 5; env tokens elsewhere
    logp, _ = token_logprobs(hidden, head, targets, chunk_size=4)
    terms = clipped_surrogate(logp, logp.detach(), torch.tensor([[0.7]]))
    (masked_sum(terms.surrogate, mask) / mask.sum()).backward()
    per_position = hidden.grad.abs().sum(-1)[0]
    assert per_position[mask[0] == 0].abs().max() == 0
    assert (per_position[mask[0] == 1] > 0).all()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0
