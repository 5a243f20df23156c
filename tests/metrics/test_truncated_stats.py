"""One long run of an online code gives the statistics and logits of every shorter run."""

import pytest
import torch
from torch import nn

import gsnn


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.act1, self.act2 = nn.ReLU(), nn.ReLU()
        self.pool, self.fc = nn.AvgPool2d(2), nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        h = self.pool(self.act1(self.conv1(x)))
        return self.fc(self.pool(self.act2(self.conv2(h))).flatten(1))


@pytest.mark.parametrize(
    "method, options", [("rate", {}), ("burst", {}), ("two-phase", {"signed": True})]
)
def test_prefix_of_a_long_run_equals_a_short_run(method, options):
    torch.manual_seed(0)
    model, images = SmallCNN().eval(), torch.randn(12, 2, 8, 8)
    long_run = gsnn.convert(model, images, method=method, T=16, check=False, **options)
    long_run(images)
    for steps in (1, 5, 16):
        short = gsnn.convert(model, images, method=method, T=steps, check=False, **options)
        logits = short(images)
        torch.testing.assert_close(long_run.last_step_logits[steps - 1], logits)
        prefix, whole = long_run.last_stats.truncated(steps), short.last_stats
        assert prefix.time_steps == steps
        for a, b in zip(prefix.layers, whole.layers):
            assert (a.name, a.neurons) == (b.name, b.neurons)
            assert a.spikes == b.spikes and a.macs == b.macs
            assert a.synaptic_ops == pytest.approx(b.synaptic_ops, rel=1e-12)
        assert prefix.energy_ratio == pytest.approx(whole.energy_ratio, rel=1e-12)


def test_truncation_outside_the_run_is_refused():
    torch.manual_seed(1)
    model, images = SmallCNN().eval(), torch.randn(4, 2, 8, 8)
    snn = gsnn.convert(model, images, method="rate", T=4, check=False)
    snn(images)
    with pytest.raises(ValueError, match="steps"):
        snn.last_stats.truncated(5)
