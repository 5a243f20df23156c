"""Spiking Conv2d and pooling: per-step equality with torch, O15, O16, O21 fan-out."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gsnn.nn import SpikingAvgPool2d, SpikingConv2d, SpikingMaxPool2d
from gsnn.nn.time_constant import is_time_constant


def dyadic(*shape, scale=8):
    """Integers times 2^-3: sums are exact in float64."""
    return torch.randint(-scale, scale + 1, shape).double() / 8


@pytest.mark.parametrize(
    "options",
    [
        dict(kernel_size=3, padding=1),
        dict(kernel_size=3, stride=2, padding=1, bias=False),
        dict(kernel_size=(3, 1), padding=(1, 0), dilation=2),
        dict(kernel_size=3, groups=2),
    ],
)
def test_conv_equals_torch_at_every_step(options):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 6, **options).double()
    with torch.no_grad():
        conv.weight.copy_(dyadic(*conv.weight.shape))
    spiking = SpikingConv2d.from_ann(conv)
    x = torch.randint(0, 2, (5, 3, 4, 9, 9)).double()
    expected = torch.stack([conv(x[t]) for t in range(5)])
    assert torch.equal(spiking(x), expected)


def test_time_constant_input_is_convolved_once_and_stays_a_view():
    conv = SpikingConv2d(2, 3, 3, padding=1).double()
    image = torch.rand(2, 2, 6, 6, dtype=torch.float64)
    out = conv(image.unsqueeze(0).expand(7, *image.shape))
    assert is_time_constant(out)
    torch.testing.assert_close(out[3], F.conv2d(image, conv.weight, conv.bias, padding=1))


def test_batch_norm_folding_is_exact_o15():
    torch.manual_seed(1)
    conv, bn = nn.Conv2d(3, 5, 3, padding=1).double(), nn.BatchNorm2d(5).double()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    bn.eval()
    spiking = SpikingConv2d.from_ann(conv)
    std = torch.sqrt(bn.running_var + bn.eps)
    spiking.fold_output_affine_(bn.weight / std, bn.bias - bn.running_mean * bn.weight / std)
    x = torch.rand(1, 4, 3, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(spiking(x)[0], bn(conv(x[0])))


def test_input_gain_scales_each_input_channel():
    conv = SpikingConv2d(3, 2, 1, bias=False).double()
    before = conv.weight.detach().clone()
    conv.scale_inputs_(torch.tensor([1.0, 2.0, 4.0]))
    assert torch.equal(conv.weight[:, 1], 2 * before[:, 1])
    assert torch.equal(conv.weight[:, 2], 4 * before[:, 2])


@pytest.mark.parametrize("stride,padding", [(1, 1), (2, 1), (1, 0)])
def test_fanout_counts_every_synapse_leaving_an_input_o21(stride, padding):
    conv = SpikingConv2d(2, 3, 3, stride=stride, padding=padding).double()
    with torch.no_grad():
        conv.weight[0, 1, 0, 0] = 0.0  # a missing synapse is not an operation
    x = torch.zeros(1, 1, 2, 5, 5, dtype=torch.float64)
    fanout = conv.synaptic_fanout(x)
    # brute force: put one event at each input position and count the outputs it reaches
    mask = (conv.weight != 0).double()
    for c in range(2):
        for i in range(5):
            for j in range(5):
                probe = torch.zeros(1, 2, 5, 5, dtype=torch.float64)
                probe[0, c, i, j] = 1
                reached = F.conv2d(probe, mask, stride=stride, padding=padding).sum()
                assert fanout[c, i, j] == reached


def test_dense_macs_of_a_strided_convolution():
    conv = SpikingConv2d(4, 8, 3, stride=2, padding=1)
    x = torch.zeros(3, 5, 4, 16, 16)
    assert conv.dense_macs(x) == 5 * 8 * 8 * 8 * 4 * 9


def test_avg_pool_equals_torch_per_step_and_commutes_with_time_averaging_o16c():
    pool = SpikingAvgPool2d(nn.AvgPool2d(2))
    spikes = torch.randint(0, 2, (6, 2, 3, 8, 8)).double()
    out = pool(spikes)
    assert torch.equal(out[4], F.avg_pool2d(spikes[4], 2))
    torch.testing.assert_close(out.mean(0), F.avg_pool2d(spikes.mean(0), 2))


@pytest.mark.parametrize(
    "module,shape,expected",
    [
        (nn.AvgPool2d(2), (3, 8, 8), 4.0),
        (nn.AvgPool2d(3, stride=1, padding=1), (3, 8, 8), 9.0),
        (nn.AvgPool2d(2, divisor_override=2), (3, 8, 8), 2.0),
        (nn.AvgPool2d(3, padding=1, count_include_pad=False), (3, 8, 8), None),
        (nn.AdaptiveAvgPool2d(1), (3, 8, 8), 64.0),
        (nn.AdaptiveAvgPool2d((2, 4)), (3, 8, 8), 8.0),
        (nn.AdaptiveAvgPool2d(3), (3, 8, 8), None),
    ],
)
def test_events_per_pooled_unit(module, shape, expected):
    assert SpikingAvgPool2d(module).events_per_unit(shape) == expected


def test_max_pool_by_running_counts_is_exact_at_every_prefix_o16b():
    torch.manual_seed(2)
    pool = SpikingMaxPool2d(nn.MaxPool2d(2))
    spikes = (torch.rand(10, 2, 3, 6, 6) < 0.4).double()
    out = pool(spikes)
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    for t in range(1, 11):
        expected = F.max_pool2d(spikes[:t].sum(0), 2)
        assert torch.equal(out[:t].sum(0), expected)


def test_per_step_or_pooling_over_counts_where_the_count_pooling_does_not_o16a():
    # two inputs with one spike each at different steps: OR gives 2, the max count is 1
    spikes = torch.zeros(2, 1, 1, 1, 2, dtype=torch.float64)
    spikes[0, 0, 0, 0, 0] = 1
    spikes[1, 0, 0, 0, 1] = 1
    per_step_or = torch.stack([F.max_pool2d(s, (1, 2)) for s in spikes]).sum()
    counted = SpikingMaxPool2d(nn.MaxPool2d((1, 2)))(spikes).sum()
    assert per_step_or == 2 and counted == 1


def test_single_spike_trains_keep_the_earliest_spike():
    # one-spike codes: each input spikes at most once; the pooled output spikes once, earliest
    spikes = torch.zeros(5, 1, 1, 2, 2, dtype=torch.float64)
    spikes[3, 0, 0, 0, 0] = 1
    spikes[1, 0, 0, 1, 1] = 1
    out = SpikingMaxPool2d(nn.MaxPool2d(2))(spikes)
    assert out.sum() == 1 and out[1].sum() == 1


def test_pooling_layers_check_their_input_shape():
    with pytest.raises(ValueError, match=r"\[T, B, C, H, W\]"):
        SpikingMaxPool2d(nn.MaxPool2d(2))(torch.zeros(4, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\[T, B, C, H, W\]"):
        SpikingAvgPool2d(nn.AvgPool2d(2))(torch.zeros(4, 3, 8, 8))
    with pytest.raises(ValueError, match="padding_mode"):
        SpikingConv2d.from_ann(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"))
