"""TernarySelfAmplifyingNeuron against oracle O10 (methods.md §14), exact in float64."""

import pytest
import torch

from gsnn.neurons import TernarySelfAmplifyingNeuron


def single_injection(x, steps):
    current = torch.zeros(steps, *x.shape, dtype=torch.float64)
    current[0] = x
    return current


@pytest.mark.parametrize("base", [1.5, 2.0, 3.0])
@pytest.mark.parametrize("K", [1, 4, 8, 12])
def test_o10_digit_error_bound(base, K):
    theta = 1.0
    x = torch.linspace(-1.5, 1.5, 3001, dtype=torch.float64) * theta
    neuron = TernarySelfAmplifyingNeuron(
        theta, base=base, silent_steps=0, fire_start=0, digits=K, relu_guard=False
    )
    spikes = neuron(single_injection(x, K))
    weights = base ** -torch.arange(K, dtype=torch.float64)
    decoded = theta * (spikes * weights.unsqueeze(1)).sum(0)
    assert (x - decoded).abs().max() <= theta / 2 * base ** (-(K - 1)) + 1e-12
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}


def test_o10_dyadic_digits_are_exact():
    # beta = 2, theta = 1, x = 0.6875 = 0.1011b: the remainder after K digits is U_K * 2^-(K-1)
    x = torch.tensor([0.6875], dtype=torch.float64)
    neuron = TernarySelfAmplifyingNeuron(
        1.0, silent_steps=0, fire_start=0, digits=6, relu_guard=False
    )
    spikes = neuron(single_injection(x, 6))[:, 0]
    decoded = sum(s * 2.0**-k for k, s in enumerate(spikes.tolist()))
    assert decoded == 0.6875


def test_silent_period_delays_firing_and_compensates_the_scale():
    x = torch.tensor([0.75], dtype=torch.float64)
    neuron = TernarySelfAmplifyingNeuron(1.0, silent_steps=2, fire_start=2, digits=6)
    spikes = neuron(single_injection(x, 8))[:, 0]
    assert spikes[:2].tolist() == [0.0, 0.0]
    decoded = sum(s * 2.0**-k for k, s in enumerate(spikes[2:].tolist()))
    assert abs(decoded - 0.75) <= 0.5 * 2.0**-5


def test_relu_guard_never_decodes_negative():
    x = torch.linspace(-1.5, 1.5, 601, dtype=torch.float64)
    neuron = TernarySelfAmplifyingNeuron(1.0, silent_steps=0, fire_start=0, digits=8)
    spikes = neuron(single_injection(x, 8))
    weights = 2.0 ** -torch.arange(8, dtype=torch.float64)
    partial = torch.cumsum(spikes * weights.unsqueeze(1), dim=0)
    assert partial.min() >= 0
    assert torch.all(partial[-1][x <= 0] == 0)
    assert (partial[-1] - x.clamp(min=0)).abs().max() <= 0.5 * 2.0**-7 + 1e-12


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="threshold"):
        TernarySelfAmplifyingNeuron(0.0)
    with pytest.raises(ValueError, match="base"):
        TernarySelfAmplifyingNeuron(1.0, base=1.0)
    with pytest.raises(ValueError, match="digits"):
        TernarySelfAmplifyingNeuron(1.0, digits=0)
