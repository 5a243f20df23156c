"""SingleSpikeCoder: at most one spike per value, O11 error bound, clear errors."""

import pytest
import torch

from gsnn.coding import SingleSpikeCoder


def decode(coder, spikes):
    gains = coder.step_gains(spikes.shape[0]).to(spikes.dtype)
    return coder.amplitude * (spikes * gains.view(-1, *([1] * (spikes.dim() - 1)))).sum(0)


@pytest.mark.parametrize("base", [1.5, 2.0])
def test_one_spike_per_value_within_the_ladder_error(base):
    K, theta = 16, 0.5
    x = torch.linspace(theta * base ** -(K - 1), theta, 2000, dtype=torch.float64)
    coder = SingleSpikeCoder(theta, base=base)
    spikes = coder(x, K)
    assert spikes.sum(0).max() == 1
    relative = (x - decode(coder, spikes)).abs() / x
    assert relative.max() <= (base - 1) / (base + 1) + 1e-12


def test_zeros_send_nothing_and_negatives_are_refused():
    coder = SingleSpikeCoder(1.0)
    assert coder(torch.zeros(5, dtype=torch.float64), 8).sum() == 0
    with pytest.raises(ValueError, match="non-negative"):
        coder(torch.tensor([-0.1, 0.2]), 8)
