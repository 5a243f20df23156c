"""NoisyQC and TClamp (dual-phase stage 1): formulas, the O5 oracle with ties, the swap helper."""

import math

import pytest
import torch
from torch import nn

from gsnn.ann import NoisyQC, TClamp, make_activation, noisy_qc_from_clip
from gsnn.neurons import IFNeuron


def quantise_clip(z: float, steps: int, bound: float) -> float:
    """|lambda| * clip(floor(z T / |lambda| + 1/2) / T, 0, 1), with Python floats."""
    return bound * min(max(math.floor(z * steps / bound + 0.5) / steps, 0.0), 1.0)


def dyadic_grid(bound: float, steps: int) -> torch.Tensor:
    """Inputs k / 64 * bound / T over [-0.5, 1.5] * bound: they include every rounding tie."""
    ks = torch.arange(-32 * steps, 96 * steps + 1, dtype=torch.float64)
    return ks / 64 * bound / steps


@pytest.mark.parametrize("steps,bound", [(1, 1.0), (2, 0.5), (4, 2.0), (8, 0.25)])
def test_eval_output_equals_the_formula(steps, bound):
    z = dyadic_grid(bound, steps)
    act = NoisyQC(steps, init_threshold=bound).double().eval()
    expected = torch.tensor(
        [quantise_clip(v, steps, bound) for v in z.tolist()], dtype=torch.float64
    )
    assert torch.equal(act(z), expected)


@pytest.mark.parametrize("steps,bound", [(1, 1.0), (2, 0.5), (4, 2.0), (8, 0.25), (16, 4.0)])
def test_if_neuron_at_T_reproduces_noisy_qc_exactly_o5(steps, bound):
    """O5: constant input z for T steps, theta = lambda, v0 = lambda/2, soft reset."""
    z = dyadic_grid(bound, steps)
    act = NoisyQC(steps, init_threshold=bound).double().eval()
    neuron = IFNeuron(bound, v0=bound / 2, reset="soft")
    spikes = neuron(z.expand(steps, -1).clone())
    assert torch.equal(bound * spikes.sum(0) / steps, act(z))


def test_ties_round_half_up_like_the_neuron():
    steps, bound = 4, 1.0
    ties = torch.tensor([0.5, 1.5, 2.5, 3.5], dtype=torch.float64) / steps  # z T / lambda = k + 1/2
    act = NoisyQC(steps, init_threshold=bound).double().eval()
    torch.testing.assert_close(
        act(ties), torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64) / 4
    )
    # torch.round (half to even) would give levels 0, 2, 2, 4
    assert not torch.equal(act(ties), torch.round(ties * steps) / steps)
    neuron = IFNeuron(bound, v0=bound / 2)
    assert torch.equal(
        neuron(ties.expand(steps, -1).clone()).sum(0),
        torch.tensor([1.0, 2, 3, 4], dtype=torch.float64),
    )


def test_training_noise_extremes():
    z = torch.linspace(-0.5, 1.5, 101, dtype=torch.float64)
    quantised = NoisyQC(2, noise_prob=0.0, init_threshold=1.0).double().train()
    assert torch.equal(quantised(z), NoisyQC(2, init_threshold=1.0).double().eval()(z))
    unquantised = NoisyQC(2, noise_prob=1.0, init_threshold=1.0).double().train()
    assert torch.equal(unquantised(z), z.clamp(0, 1))
    half = NoisyQC(2, noise_prob=0.5, init_threshold=1.0).double().train()
    torch.manual_seed(0)
    out = half(z)
    inside = (z > 0) & (z < 1)
    off_grid = (out * 2 != torch.floor(out * 2)) & inside
    assert 0 < int(off_grid.sum()) < int(inside.sum())  # some elements left unquantised


def test_gradient_is_straight_through_and_reaches_the_bound():
    act = NoisyQC(4, noise_prob=0.0, init_threshold=2.0).train()
    z = torch.tensor([0.3, 0.9, 1.1, 1.7, -1.0, 5.0], requires_grad=True)
    act(z).sum().backward()
    torch.testing.assert_close(z.grad, torch.tensor([1.0, 1, 1, 1, 0, 0]))
    assert act.threshold.grad is not None and act.threshold.grad.item() != 0


def test_bound_is_used_as_its_absolute_value_and_initialises_from_data():
    act = NoisyQC(2)
    act(torch.tensor([0.5, 3.0]))
    assert act.threshold.item() == 3.0
    negative = NoisyQC(2, init_threshold=1.0).eval()
    with torch.no_grad():
        negative.threshold.fill_(-1.0)
    torch.testing.assert_close(negative(torch.tensor([0.3, 0.8])), torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"steps": 0},
        {"steps": 1.5},
        {"noise_prob": -0.1},
        {"noise_prob": 1.5},
        {"init_threshold": 0.0},
    ],
)
def test_noisy_qc_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="NoisyQC"):
        NoisyQC(**kwargs)


def test_tclamp_clips_and_trains_its_bound():
    act = TClamp(init_threshold=0.75)
    z = torch.tensor([-1.0, 0.25, 0.5, 2.0], requires_grad=True)
    out = act(z)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.25, 0.5, 0.75]))
    out.sum().backward()
    torch.testing.assert_close(z.grad, torch.tensor([0.0, 1.0, 1.0, 0.0]))
    assert act.threshold.grad.item() == pytest.approx(1.0)  # one saturated element
    with pytest.raises(ValueError, match="TClamp"):
        TClamp(init_threshold=-1.0)


def test_noisy_qc_from_clip_swaps_every_clip_and_keeps_its_bound():
    model = nn.Sequential(nn.Linear(3, 4), TClamp(0.5), nn.Sequential(nn.Linear(4, 4), TClamp(2.0)))
    quantised = noisy_qc_from_clip(model, steps=2, noise_prob=0.2)
    swapped = [m for m in quantised.modules() if isinstance(m, NoisyQC)]
    assert [m.threshold.item() for m in swapped] == [0.5, 2.0]
    assert all(m.steps == 2 and m.noise_prob == 0.2 for m in swapped)
    assert not any(isinstance(m, TClamp) for m in quantised.modules())
    assert sum(isinstance(m, TClamp) for m in model.modules()) == 2  # the original is untouched
    with pytest.raises(ValueError, match="TClamp"):
        noisy_qc_from_clip(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), steps=2)


def test_make_activation_builds_clip_and_noisy_qc():
    assert isinstance(make_activation("clip"), TClamp)
    noisy = make_activation("noisy_qc", noisy_qc_steps=3, noise_prob=0.0, clip_init=1.5)
    assert isinstance(noisy, NoisyQC)
    assert (noisy.steps, noisy.noise_prob, noisy.threshold.item()) == (3, 0.0, 1.5)
