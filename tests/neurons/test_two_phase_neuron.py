"""TwoPhaseNeuron against oracle O8 (methods.md §14), exact in float64 with dyadic inputs."""

import pytest
import torch

from gsnn.neurons import TwoPhaseNeuron


def dyadic(generator, shape, scale=4, bits=3):
    """Integers times 2**-bits in [-scale, scale]."""
    steps = scale * 2**bits
    values = torch.randint(-steps, steps + 1, shape, generator=generator)
    return values.to(torch.float64) / 2**bits


@pytest.mark.parametrize("theta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("v0_fraction", [0.0, 0.5])
def test_o8_count_is_clipped_floor_of_total_input(theta, v0_fraction):
    generator = torch.Generator().manual_seed(8)
    T, cases = 8, 500
    current = dyadic(generator, (T, cases))
    spikes = TwoPhaseNeuron(theta, v0=v0_fraction * theta)(current)
    expected = torch.clamp(torch.floor((v0_fraction * theta + current.sum(0)) / theta), 0, T)
    assert torch.equal(spikes.sum(0), expected)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


def test_o8_invariant_under_permutations_of_the_input():
    generator = torch.Generator().manual_seed(9)
    current = dyadic(generator, (6, 300))
    neuron = TwoPhaseNeuron(1.0, v0=0.5)
    reference = neuron(current).sum(0)
    for _ in range(5):
        order = torch.randperm(6, generator=generator)
        assert torch.equal(neuron(current[order]).sum(0), reference)


def test_spikes_fill_the_start_of_the_firing_window():
    neuron = TwoPhaseNeuron(1.0)
    current = torch.tensor([[1.0], [1.0], [1.0], [0.0]], dtype=torch.float64)  # total 3
    assert neuron(current)[:, 0].tolist() == [1.0, 1.0, 1.0, 0.0]


def test_per_channel_thresholds():
    neuron = TwoPhaseNeuron(torch.tensor([1.0, 2.0], dtype=torch.float64))
    current = torch.full((4, 1, 2), 1.0, dtype=torch.float64)  # total 4 per channel
    assert neuron(current).sum(0).tolist() == [[4.0, 2.0]]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="threshold"):
        TwoPhaseNeuron(0.0)
    with pytest.raises(ValueError, match="time axis"):
        TwoPhaseNeuron(1.0)(torch.tensor(1.0))


def test_repr():
    assert repr(TwoPhaseNeuron(2.0, v0=1.0)) == "TwoPhaseNeuron(threshold=2, v0=1)"
