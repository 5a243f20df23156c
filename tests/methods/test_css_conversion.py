"""CSS conversion: latency K + dD (O20), ternary spikes, ANN accuracy kept with few digits."""

import pytest
import torch
from basic_block import BasicBlockCNN
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, ResNet20
from gsnn.nn import SpikeDelay


@pytest.mark.parametrize("layers,residual", [(2, False), (4, True)])
@pytest.mark.parametrize("silent_steps", [1, 2])
def test_close_to_the_ann_with_enough_digits(layers, residual, silent_steps):
    torch.manual_seed(layers)
    x, edge_index = torch.rand(60, 6), erdos_renyi_graph(60, 0.1)
    model = GCN(6, 16, 3, num_layers=layers, residual=residual).eval()
    snn = gsnn.convert(model, (x, edge_index), method="css", T=16, silent_steps=silent_steps)
    ann = model(x, edge_index)
    out = snn(x, edge_index)
    assert (out - ann).abs().max() <= 1e-2 * ann.abs().max()
    assert snn.latency_steps == 16 + silent_steps * (layers - 1)
    assert snn.conversion_check["agreement"] >= 0.98


def test_spikes_are_ternary_and_counted_with_amplification():
    torch.manual_seed(0)
    x, edge_index = torch.rand(60, 6), erdos_renyi_graph(60, 0.1)
    snn = gsnn.convert(GCN(6, 16, 3, num_layers=3).eval(), (x, edge_index), method="css", T=8)
    snn(x, edge_index)
    stats = snn.last_stats
    assert stats.spikes <= stats.neurons * 8  # at most one (signed) spike per digit
    neuron_rows = [layer for layer in stats.layers if layer.kind == "neuron"]
    assert all(row.multiplies == row.neurons * snn.steps for row in neuron_rows)


def test_one_spike_on_module_list_models_sets_gains_on_every_layer():
    torch.manual_seed(0)
    x, edge_index = torch.rand(60, 6), erdos_renyi_graph(60, 0.1)
    model = GCN(6, 16, 3, num_layers=3).eval()  # convs live in an nn.ModuleList
    snn = gsnn.convert(model, (x, edge_index), method="one-spike", T=8)
    gains = [snn.body.get_submodule(f"convs.{i}").step_gains for i in range(3)]
    assert gains[0].tolist() == [1.0] + [0.0] * 7  # analog input enters once
    assert gains[1].tolist() == [2.0**-k for k in range(8)]
    assert snn.body.get_submodule("convs.2").bias_gains.tolist() == [1.0] + [0.0] * 7


@pytest.mark.parametrize("silent_steps", [1, 2])
def test_shortcut_skipping_a_layer_is_delayed_to_align_digits(silent_steps):
    """methods.md §4: the silent periods of both branches line up (found on ResNet-20)."""
    torch.manual_seed(1)
    model = BasicBlockCNN().double().eval()
    images = torch.randn(32, 3, 8, 8, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="css", T=24, silent_steps=silent_steps)
    delays = [m for m in snn.body.modules() if isinstance(m, SpikeDelay)]
    assert [delay.steps for delay in delays] == [silent_steps]  # one skipped spiking layer
    ann = model(images)
    # O10 per neuron, 24 digits: far below 1e-4 of the output scale unless digits misalign
    assert (snn(images) - ann).abs().max() <= 1e-4 * ann.abs().max()
    assert snn.latency_steps == 24 + silent_steps * 3


def test_resnet20_converts_close_to_its_ann():
    torch.manual_seed(2)
    model = ResNet20(num_classes=4, widths=(4, 8, 8), blocks_per_stage=1).double().eval()
    images = torch.randn(16, 3, 16, 16, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="css", T=20)
    ann = model(images)
    assert (snn(images) - ann).abs().max() <= 1e-3 * ann.abs().max()
