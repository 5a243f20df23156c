"""Two-phase conversion equals the QCFS ANN at any depth (O22a) and reports (D+1)T latency (O20)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn.ann import GCN, QCFS


def initialised(model, *inputs):
    """Run one training-mode pass so QCFS bounds initialise from data, then eval."""
    model.train()
    with torch.no_grad():
        model(*inputs)
    return model.eval()


@pytest.mark.parametrize("layers", [2, 3, 4])
@pytest.mark.parametrize("T", [2, 4, 8])
def test_graph_network_equals_its_quantised_ann(layers, T):
    torch.manual_seed(layers * 10 + T)
    x, edge_index = torch.rand(50, 6), erdos_renyi_graph(50, 0.1)
    model = initialised(
        GCN(6, 12, 3, num_layers=layers, activation="qcfs", qcfs_levels=T, residual=True),
        x,
        edge_index,
    )
    snn = gsnn.convert(model, (x, edge_index), method="two-phase", T=T)
    ann_out = model(x, edge_index)
    torch.testing.assert_close(snn(x, edge_index), ann_out, rtol=1e-4, atol=1e-5)
    assert torch.equal(snn(x, edge_index).argmax(-1), ann_out.argmax(-1))
    assert snn.depth == layers - 1
    assert snn.latency_steps == layers * T  # (D + 1) * T with D = layers - 1 spiking layers


class RandomMLP(nn.Module):
    def __init__(self, widths, levels):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.acts = nn.ModuleList(QCFS(levels=levels) for _ in widths[2:])

    def forward(self, x):
        for linear, act in zip(self.linears[:-1], self.acts):
            x = act(linear(x))
        return F.log_softmax(self.linears[-1](x), dim=-1)


@pytest.mark.parametrize("seed", range(20))
def test_random_networks_equal_their_quantised_ann(seed):
    torch.manual_seed(seed)
    depth = 2 + seed % 4
    model = initialised(RandomMLP([5] + [16] * depth + [4], levels=4), torch.randn(64, 5))
    x = torch.randn(200, 5)
    snn = gsnn.convert(model, x, method="two-phase", T=4)
    torch.testing.assert_close(snn(x), model(x), rtol=1e-4, atol=1e-5)
    assert snn.latency_steps == (depth + 1) * 4


def test_each_neuron_fires_at_most_T_spikes():
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 16, 16, 3], levels=4), torch.randn(64, 5))
    snn = gsnn.convert(model, torch.randn(30, 5), method="two-phase", T=4)
    snn(torch.randn(30, 5) * 10)
    for _, neuron in snn.neurons():
        assert isinstance(neuron, gsnn.neurons.TwoPhaseNeuron)
    assert snn.last_stats.spikes <= snn.last_stats.neurons * 4


def test_stepwise_simulation_is_refused_with_a_reason():
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 8, 3], levels=4), torch.randn(8, 5))
    snn = gsnn.convert(model, torch.randn(8, 5), method="two-phase", T=4)
    with pytest.raises(ValueError, match="windowed"):
        snn.forward_stepwise(torch.randn(8, 5))


# -- signed variant: one online window with corrective -1 spikes (methods.md §2, O9) -------------


class BoundedQCFSNet(nn.Module):
    """QCFS layers with bound 1 and dyadic weights so small that every spiking layer's input
    per step stays within its threshold, ``sum_j |W_ij| + |b_i| <= 1`` (the O9 condition)."""

    def __init__(self, levels, pool):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.pool = nn.MaxPool2d(2) if pool else nn.AvgPool2d(2)
        self.hidden = nn.ModuleList([nn.Linear(8, 4), nn.Linear(4, 4), nn.Linear(4, 4)])
        self.out = nn.Linear(4, 3)
        self.acts = nn.ModuleList(QCFS(levels=levels, init_threshold=1.0) for _ in range(4))

    def forward(self, x):
        x = self.pool(self.acts[0](self.conv(x))).flatten(1)
        for linear, act in zip(self.hidden, self.acts[1:]):
            x = act(linear(x))
        return self.out(x)


def bounded_dyadic_(model, generator):
    """Dyadic weights; each hidden neuron reads two inputs with weights of at most 3/8 and a
    bias of at most 1/4, so its input per step is at most 1 = its threshold (O9)."""
    with torch.no_grad():
        for module in [model.conv, model.out]:
            for parameter in module.parameters():
                values = torch.randint(-4, 5, parameter.shape, generator=generator)
                parameter.copy_(values.to(parameter.dtype) / 8)
        for linear in model.hidden:
            weight = torch.randint(-3, 4, linear.weight.shape, generator=generator) / 8
            two_inputs = torch.rand(linear.weight.shape, generator=generator).argsort(1) < 2
            linear.weight.copy_(weight.to(linear.weight.dtype) * two_inputs)
            bias = torch.randint(0, 3, linear.bias.shape, generator=generator)
            linear.bias.copy_(bias.to(linear.bias.dtype) / 8)
            assert float((linear.weight.abs().sum(1) + linear.bias.abs()).max()) <= 1.0


@pytest.mark.parametrize("pool", [True, False], ids=["max-pool", "avg-pool"])
@pytest.mark.parametrize("T", [4, 8])
def test_signed_variant_equals_its_quantised_ann_when_steps_are_bounded(pool, T):
    generator = torch.Generator().manual_seed(3)  # a draw whose nets emit -1 spikes at each T
    model = BoundedQCFSNet(T, pool).double().eval()
    bounded_dyadic_(model, generator)
    x = torch.randint(0, 9, (200, 1, 4, 4), generator=generator).double() / 8
    snn = gsnn.convert(model, x, method="two-phase", T=T, signed=True, check=False)
    outputs = {}
    hooks = [
        neuron.register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o))
        for name, neuron in snn.neurons()
    ]
    with torch.no_grad():
        snn_out, ann_out = snn(x), model(x)
    for hook in hooks:
        hook.remove()
    assert torch.equal(snn_out, ann_out)
    spikes = torch.cat([o.flatten() for o in outputs.values()])
    assert bool((spikes == -1).any())  # the corrective spikes are exercised
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert snn.latency_steps == T  # one window, no (D + 1) T pipeline
    assert all(isinstance(n, gsnn.neurons.IFNeuron) and n.signed for _, n in snn.neurons())


class EarlyThenLate(nn.Module):
    """Two QCFS neurons with equal counts, one firing early and one late, read by a third
    neuron with weights +3/4 and -3/4: its input sums to 0, so its ANN value is 0."""

    def __init__(self):
        super().__init__()
        self.first = nn.Linear(1, 2)
        self.second = nn.Linear(2, 1, bias=False)
        self.readout = nn.Linear(1, 1, bias=False)
        self.acts = nn.ModuleList(QCFS(levels=4, init_threshold=1.0) for _ in range(2))
        with torch.no_grad():
            self.first.weight.copy_(torch.tensor([[0.5], [0.375]]))  # spikes at t = 1, 3 / 2, 4
            self.first.bias.zero_()
            self.second.weight.copy_(torch.tensor([[0.75, -0.75]]))
            self.readout.weight.fill_(1.0)

    def forward(self, x):
        return self.readout(self.acts[1](self.second(self.acts[0](self.first(x)))))


def test_signed_variant_takes_back_the_spike_that_online_qcfs_keeps():
    model = EarlyThenLate().double().eval()
    x = torch.ones(1, 1, dtype=torch.float64)
    with torch.no_grad():
        assert model(x).item() == 0.0
        signed = gsnn.convert(model, x, method="two-phase", T=4, signed=True, check=False)
        online = gsnn.convert(model, x, method="qcfs", T=4, check=False)
        assert signed(x).item() == 0.0  # +1 at t = 1, -1 at t = 2, +1 at t = 3, -1 at t = 4
        assert online(x).item() == 0.25  # fires at t = 1 and cannot take it back


def test_signed_variant_counts_negative_spikes_as_events():
    generator = torch.Generator().manual_seed(3)
    model = BoundedQCFSNet(4, pool=False).double().eval()
    bounded_dyadic_(model, generator)
    x = torch.randint(0, 9, (50, 1, 4, 4), generator=generator).double() / 8
    snn = gsnn.convert(model, x, method="two-phase", T=4, signed=True, check=False)
    events = {}
    hooks = [
        neuron.register_forward_hook(
            lambda m, i, o, name=name: events.__setitem__(name, float(o.abs().sum()))
        )
        for name, neuron in snn.neurons()
    ]
    with torch.no_grad():
        snn(x)
    for hook in hooks:
        hook.remove()
    assert snn.last_stats.spikes == sum(events.values())


def test_signed_variant_streams_step_by_step():
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 16, 16, 3], levels=4), torch.randn(64, 5))
    x = torch.randn(30, 5)
    snn = gsnn.convert(model, x, method="two-phase", T=4, signed=True)
    torch.testing.assert_close(snn.forward_stepwise(x), snn(x), rtol=0, atol=1e-6)


def test_signed_option_is_validated():
    with pytest.raises(ValueError, match="signed must be True or False"):
        gsnn.methods.get_method("two-phase", signed="yes")


@pytest.mark.parametrize("method", ["two-phase", "qcfs"])
def test_a_qcfs_parameter_driven_below_zero_converts_with_its_magnitude(method):
    """An SGD step carries a QCFS parameter from 0.5 to -0.5 (an input above the bound, so
    d loss / d lambda = 1). Read as the raw parameter, the staircase would be
    non-positive and no IF neuron could reproduce it; QCFS uses |lambda|, so the network
    still converts and equals its ANN (exact for qcfs too, with one spiking layer)."""
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 8, 3], levels=4), torch.randn(32, 5))  # one QCFS layer
    act = model.acts[0]
    with torch.no_grad():
        act.threshold.fill_(0.5)
    step = torch.optim.SGD([act.threshold], lr=1.0)
    act(torch.full((1,), 10.0)).sum().backward()  # saturated: gradient 1
    step.step()
    assert act.threshold.item() == -0.5
    x = torch.randn(32, 5)
    snn = gsnn.convert(model, x, method=method, T=4)
    torch.testing.assert_close(snn(x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", ["two-phase", "qcfs"])
def test_a_zero_qcfs_bound_is_refused_naming_the_site(method):
    # lambda = 0 divides by zero: the calibration names the site whose activations are NaN
    torch.manual_seed(0)
    model = initialised(RandomMLP([5, 8, 8, 3], levels=4), torch.randn(32, 5))
    with torch.no_grad():
        model.acts[1].threshold.fill_(0.0)
    with pytest.raises(ValueError, match="site 'acts_1' hold NaN"):
        gsnn.convert(model, torch.randn(32, 5), method=method, T=4)
