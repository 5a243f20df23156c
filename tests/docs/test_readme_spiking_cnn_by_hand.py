"""The README's hand-built spiking CNN (no converter) runs as written and behaves as stated."""

import re
from pathlib import Path

import torch
import torch.nn.functional as F

README = Path(__file__).resolve().parents[2] / "README.md"


def test_hand_built_spiking_cnn_runs_and_equals_its_rate_decoded_ann():
    source = re.search(
        r"## Building a spiking CNN by hand.*?```python\n(.*?)```", README.read_text(), re.S
    ).group(1)
    namespace = {}
    torch.manual_seed(0)
    exec(compile(source, "README spiking CNN by hand", "exec"), namespace)
    logits, spikes = namespace["logits"], namespace["spikes"]
    assert logits.shape == (4, 10)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    # by linearity (O17), the readout equals the ANN layers applied to the spike rates
    conv, fc, images = namespace["conv"], namespace["fc"], namespace["images"]
    rates = spikes.mean(0)
    expected = F.linear(F.avg_pool2d(rates, 2).flatten(1), fc.weight, fc.bias)
    torch.testing.assert_close(logits, expected)
    # the first spiking layer rounds the constant current (O1 with v0 = threshold / 2)
    current = F.conv2d(images, conv.weight, conv.bias, padding=2)
    T = namespace["T"]
    torch.testing.assert_close(spikes.sum(0), torch.clamp(torch.floor(current * T + 0.5), 0, T))
