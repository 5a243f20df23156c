"""PhaseNeuron: binary phase coding (oracle O12) and weighted-input decoding."""

import pytest
import torch

from gsnn.neurons import PhaseNeuron
from gsnn.neurons.phase_neuron import phase_weights


@pytest.mark.parametrize("K", [1, 4, 8, 12])
def test_o12_single_injection_gives_the_binary_fraction(K):
    x = torch.rand(5000, generator=torch.Generator().manual_seed(K), dtype=torch.float64)
    current = torch.zeros(K, x.numel(), dtype=torch.float64)
    current[0] = x
    spikes = PhaseNeuron(1.0, period=K)(current)
    decoded = (spikes * phase_weights(K, K).unsqueeze(1)).sum(0)
    assert torch.equal(decoded, torch.floor(2**K * x) / 2**K)
    assert torch.all((x - decoded >= 0) & (x - decoded < 2.0**-K))


@pytest.mark.parametrize("periods", [1, 2, 4, 8, 16])
def test_input_spread_over_the_period_converges_with_periods(periods):
    # The neuron decides each phase on partial input (temporal coupling), so one period can
    # lose the top bit; the residual stays in the membrane and later periods repay it.
    K, theta = 8, 2.0
    x = torch.linspace(0, theta * (1 - 2.0**-K), 1001, dtype=torch.float64)
    weights = phase_weights(K * periods, K)
    current = weights.unsqueeze(1) * x / (1 - 2.0**-K)  # every period delivers x
    spikes = PhaseNeuron(theta, period=K)(current)
    decoded = theta * (spikes * weights.unsqueeze(1)).sum(0) / periods
    assert (x - decoded).min() >= 0
    assert (x - decoded).max() <= theta / (2 * periods)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="period"):
        PhaseNeuron(1.0, period=0)
    with pytest.raises(ValueError, match="threshold"):
        PhaseNeuron(0.0)
