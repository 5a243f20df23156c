"""OneSpikeNeuron against oracles O11 and O16b (methods.md §14)."""

import math

import pytest
import torch

from gsnn.neurons import OneSpikeNeuron


def decode(spikes, theta, base):
    ladder = base ** -torch.arange(spikes.shape[0], dtype=spikes.dtype)
    return theta * (spikes * ladder.view(-1, *([1] * (spikes.dim() - 1)))).sum(0)


def ladder_range(theta, base, K, count, dtype=torch.float64):
    """Values spread log-uniformly over the representable range [theta B^-(K-1), theta]."""
    low = math.log(theta) - (K - 1) * math.log(base)
    return torch.exp(torch.linspace(low, math.log(theta), count, dtype=dtype))


@pytest.mark.parametrize("base", [2.0, 1.5, math.sqrt(2)])
@pytest.mark.parametrize("K", [4, 8, 16])
def test_o11_midpoint_shift_bounds_the_relative_error(base, K):
    theta = 2.0
    x = ladder_range(theta, base, K, 4000)
    spikes = OneSpikeNeuron(theta, base=base)(x.unsqueeze(0).expand(K, -1) / K)
    relative = (x - decode(spikes, theta, base)).abs() / x
    assert relative.max() <= (base - 1) / (base + 1) + 1e-12


@pytest.mark.parametrize("base", [2.0, 1.5])
def test_o11_without_shift_truncates(base):
    theta, K = 1.0, 8
    x = ladder_range(theta, base, K, 4000)
    spikes = OneSpikeNeuron(theta, base=base, shift=1.0)(x.unsqueeze(0) * torch.ones(K, 1) / K)
    error = (x - decode(spikes, theta, base)) / x
    assert error.min() >= -1e-12 and error.max() < (base - 1) / base


def test_at_most_one_spike_and_monotone_quantiser():
    K = 8
    x = torch.linspace(-3, 3, 2001, dtype=torch.float64)
    spikes = OneSpikeNeuron(1.0, base=1.5)(torch.stack([x] + [torch.zeros_like(x)] * (K - 1)))
    assert spikes.sum(0).max() <= 1
    values = decode(spikes, 1.0, 1.5)
    assert torch.all(values[1:] >= values[:-1])  # Q is monotone non-decreasing
    assert torch.all(values[x < 0] == 0)  # ReLU is implicit
    assert values.max() == 1.0  # values above theta clip to the top of the ladder


def test_o16b_max_of_quantised_equals_quantised_max():
    generator = torch.Generator().manual_seed(16)
    v = torch.rand(500, 4, generator=generator, dtype=torch.float64) * 1.2
    neuron = OneSpikeNeuron(1.0, base=1.5)
    K = 10

    def quantise(values):
        window = torch.stack([values] + [torch.zeros_like(values)] * (K - 1))
        return decode(neuron(window), 1.0, 1.5)

    assert torch.equal(quantise(v).max(dim=1).values, quantise(v.max(dim=1).values))


def test_input_order_within_the_window_does_not_matter():
    generator = torch.Generator().manual_seed(3)
    current = torch.randn(6, 300, generator=generator, dtype=torch.float64)
    neuron = OneSpikeNeuron(1.0)
    reference = neuron(current)
    assert torch.equal(neuron(current[torch.randperm(6, generator=generator)]), reference)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="base"):
        OneSpikeNeuron(1.0, base=1.0)
    with pytest.raises(ValueError, match="shift"):
        OneSpikeNeuron(1.0, shift=1.5)
    with pytest.raises(ValueError, match="threshold"):
        OneSpikeNeuron(-1.0)
    with pytest.raises(ValueError, match="time axis"):
        OneSpikeNeuron(1.0)(torch.tensor(0.5))


def first_crossing_by_counting(current, neuron):
    """The previous implementation: the first phase whose running count of crossings is 1."""
    potential = current.sum(dim=0)
    ladder = neuron.base ** -torch.arange(current.shape[0], dtype=current.dtype)
    ladder = ladder.view(-1, *([1] * potential.dim()))
    crossed = potential >= neuron.shift * neuron.threshold.to(current.dtype) * ladder
    return (crossed & (crossed.cumsum(dim=0) == 1)).to(current.dtype)


@pytest.mark.parametrize("base", [2.0, 1.5, 3.0])
def test_spikes_equal_the_running_count_formulation(base):
    torch.manual_seed(0)
    threshold = torch.rand(5, dtype=torch.float64) + 0.5
    neuron = OneSpikeNeuron(threshold, base=base)
    current = torch.randn(12, 40, 5, dtype=torch.float64) * 0.3
    # potentials exactly on a ladder value fire there
    ladder_value = neuron.shift * threshold * (base ** -torch.arange(12, dtype=torch.float64))[3]
    current[:, 0] = 0.0
    current[0, 0] = ladder_value
    expected = first_crossing_by_counting(current, neuron)
    assert torch.equal(neuron(current), expected)
    assert torch.equal(neuron(current)[3, 0], torch.ones(5, dtype=torch.float64))
