"""site_errors: every neuron's decoded output against the ANN activation it replaced."""

import math

import pytest
import torch
from basic_block import BasicBlockCNN
from torch import nn
from torch_geometric.nn import GINConv, global_add_pool
from torch_geometric.utils import erdos_renyi_graph

import gsnn
from gsnn import site_error_table, site_errors
from gsnn.ann import GCN, QCFS


class MLP(nn.Module):
    """Linear layers with one activation module each (fresh per layer), in float64."""

    def __init__(self, widths, activation):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths, widths[1:]))
        self.acts = nn.ModuleList(activation() for _ in widths[2:])

    def forward(self, x):
        for linear, act in zip(self.linears[:-1], self.acts):
            x = act(linear(x))
        return self.linears[-1](x)


def qcfs_mlp(depth: int, levels: int, seed: int) -> MLP:
    """A float64 QCFS MLP whose bounds were initialised from data (one training pass)."""
    torch.manual_seed(seed)
    model = MLP([5] + [16] * depth + [3], lambda: QCFS(levels=levels)).double()
    model.train()
    with torch.no_grad():
        model(torch.randn(64, 5, dtype=torch.float64))
    return model.eval()


def test_two_phase_is_exact_at_every_site():
    """Two-phase equals its QCFS ANN with L = T at any depth (O22a): every site exact."""
    model = qcfs_mlp(depth=4, levels=4, seed=0)
    x = torch.randn(100, 5, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="two-phase", T=4, check=False)
    errors = site_errors(snn, model, x)
    assert [e.site for e in errors] == [name[len("neuron_") :] for name in snn.thresholds]
    assert len(errors) == 4
    for error in errors:
        assert error.mean_abs_error < 1e-12
        assert error.within_half_step == 1.0
        assert error.ann_mean > 0  # the sites are not trivially silent
        assert error.values == 16


def test_two_phase_residual_cnn_is_exact_at_every_site():
    """Images, channels and a residual add: two-phase still equals the QCFS ANN (O22a)."""
    torch.manual_seed(7)
    model = BasicBlockCNN(lambda: QCFS(levels=4)).double()
    images = torch.rand(12, 3, 8, 8, dtype=torch.float64)
    model.train()
    with torch.no_grad():
        model(images)  # QCFS bounds from data
    model.eval()
    snn = gsnn.convert(model, images, method="two-phase", T=4, check=False)
    errors = site_errors(snn, model, images)
    assert [e.site for e in errors] == ["act0", "act1", "act2"]
    for error in errors:
        assert error.values == 6 * 8 * 8
        assert error.mean_abs_error < 1e-12 and error.within_half_step == 1.0


def test_rate_site_matches_the_floor_oracle():
    """Rate (v0 = 0, soft reset) on a constant current z fires clip(floor(T z / theta), 0, T)
    spikes (O1 with phi = 0); the site's errors follow from that count and relu(z)."""
    torch.manual_seed(3)
    model = MLP([5, 12, 3], nn.ReLU).double().eval()
    x = torch.randn(60, 5, dtype=torch.float64)
    T = 8
    snn = gsnn.convert(model, x, method="rate", T=T, check=False)
    (error,) = site_errors(snn, model, x)
    (neuron_name,) = snn.thresholds
    theta = float(getattr(snn.body, neuron_name).threshold)
    with torch.no_grad():
        z = model.linears[0](x)
    decoded = theta * torch.clamp(torch.floor(T * z / theta), 0, T) / T
    gap = (decoded - torch.relu(z)).abs()
    assert error.threshold == pytest.approx(theta)
    assert error.ann_mean == pytest.approx(float(torch.relu(z).mean()))
    assert error.snn_mean == pytest.approx(float(decoded.mean()))
    assert error.mean_abs_error == pytest.approx(float(gap.mean()))
    assert error.step_error == pytest.approx(float(gap.mean()) * T / theta)
    assert error.within_half_step == pytest.approx(float((gap <= theta / (2 * T)).double().mean()))
    assert error.relative_error == pytest.approx(float(gap.mean() / torch.relu(z).mean()))
    assert 0 < error.within_half_step < 1  # flooring misses the nearest count on some values


def test_qcfs_graph_network_first_site_is_exact_at_T_equal_L():
    """The first spiking layer of a QCFS GCN sees a constant current: exact at T = L (O5)."""
    torch.manual_seed(1)
    x, edge_index = torch.rand(40, 6), erdos_renyi_graph(40, 0.15)
    model = GCN(6, 12, 3, num_layers=2, activation="qcfs", qcfs_levels=4, qcfs_init=0.75).eval()
    snn = gsnn.convert(model, (x, edge_index), method="qcfs", T=4, check=False)
    (error,) = site_errors(snn, model, x, edge_index)
    assert error.mean_abs_error < 1e-6
    assert error.within_half_step == 1.0


class PooledGIN(nn.Module):
    """PyG's GINConv with a QCFS MLP inside, ``global_add_pool`` and a linear head."""

    def __init__(self):
        super().__init__()
        mlp = nn.Sequential(nn.Linear(6, 8), QCFS(levels=4), nn.Linear(8, 8))
        self.conv, self.act, self.lin = GINConv(mlp), QCFS(levels=4), nn.Linear(8, 2)

    def forward(self, x, edge_index, batch):
        return self.lin(global_add_pool(self.act(self.conv(x, edge_index)), batch))


def test_gin_sites_inside_the_conv_are_compared():
    """The activation inside a GINConv's MLP is a site of its own (the converter splits
    GINConv into aggregation and MLP); two-phase is exact there and after it (O22a)."""
    torch.manual_seed(3)
    model = PooledGIN().double()
    x, edge_index = torch.rand(30, 6, dtype=torch.float64), erdos_renyi_graph(30, 0.2)
    batch = torch.arange(30) // 10
    model.train()
    with torch.no_grad():
        model(x, edge_index, batch)
    model.eval()
    snn = gsnn.convert(model, (x, edge_index, batch), method="two-phase", T=4, check=False)
    errors = site_errors(snn, model, x, edge_index, batch)
    assert [e.site for e in errors] == ["conv_nn_1", "act"]
    for error in errors:
        assert error.ann_mean > 0
        assert error.mean_abs_error < 1e-12


def test_chunked_runs_report_the_same_errors():
    model = qcfs_mlp(depth=3, levels=4, seed=2)
    x = torch.randn(50, 5, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="qcfs", T=8, check=False)
    whole = site_errors(snn, model, x)
    snn.steps_per_chunk = 3
    assert site_errors(snn, model, x) == whole
    assert any(e.mean_abs_error > 0 for e in whole)  # deeper sites see uneven input


@pytest.mark.parametrize("as_indices", [False, True])
def test_mask_selects_rows(as_indices):
    """Rows of an MLP are independent: a mask gives the errors of the selected rows alone."""
    model = qcfs_mlp(depth=3, levels=4, seed=4)
    x = torch.randn(50, 5, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="qcfs", T=6, check=False)
    mask = torch.arange(50) % 3 == 0
    selected = site_errors(snn, model, x[mask])
    masked = site_errors(snn, model, x, mask=mask.nonzero().flatten() if as_indices else mask)
    for a, b in zip(masked, selected):
        for field in ("ann_mean", "snn_mean", "mean_abs_error", "step_error", "within_half_step"):
            assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-12, abs=1e-15)


def test_silent_site_has_nan_relative_error():
    model = MLP([5, 4, 3], nn.ReLU).double().eval()
    with torch.no_grad():
        model.linears[0].weight.zero_()
        model.linears[0].bias.fill_(-1.0)
    x = torch.randn(10, 5, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="rate", T=4, check=False)
    (error,) = site_errors(snn, model, x)
    assert error.ann_mean == 0 and error.mean_abs_error == 0
    assert math.isnan(error.relative_error)


def relu_mlp_first_layer(seed: int):
    """A float64 ReLU MLP with one hidden layer, inputs, and the hidden layer's currents."""
    torch.manual_seed(seed)
    model = MLP([5, 12, 3], nn.ReLU).double().eval()
    x = torch.randn(60, 5, dtype=torch.float64)
    with torch.no_grad():
        z = model.linears[0](x)
    return model, x, z


def test_one_spike_site_matches_the_ladder_oracle():
    """One-spike's first site is O11's quantiser of the current z: theta * B^-k* at the first
    k with z >= c * theta * B^-k (values above theta fire at k = 0), silent below the ladder."""
    model, x, z = relu_mlp_first_layer(seed=8)
    T, base = 8, 1.5
    snn = gsnn.convert(model, x, method="one-spike", T=T, base=base, check=False)
    (error,) = site_errors(snn, model, x)
    (neuron_name,) = snn.thresholds
    theta = float(getattr(snn.body, neuron_name).threshold)
    shift = (1 + 1 / base) / 2
    rungs = theta * base ** -torch.arange(T, dtype=torch.float64)
    crossed = z.unsqueeze(-1) >= shift * rungs  # [rows, values, K]
    decoded = torch.where(crossed.any(-1), rungs[crossed.double().argmax(-1)], 0.0)
    gap = (decoded - torch.relu(z)).abs()
    step = theta * base ** -(T - 1)
    assert error.snn_mean == pytest.approx(float(decoded.mean()))
    assert error.mean_abs_error == pytest.approx(float(gap.mean()))
    assert error.step_error == pytest.approx(float((gap / step).mean()))
    assert error.within_half_step == pytest.approx(float((gap <= step / 2).double().mean()))
    on_ladder = (torch.relu(z) >= theta * base ** -(T - 1)) & (z <= theta)
    assert on_ladder.any()
    assert ((gap / z)[on_ladder] <= (base - 1) / (base + 1) + 1e-12).all()  # O11's bound


def test_css_first_site_is_within_half_a_digit():
    """O10: K signed digits of base beta decode |x| <= 1.5 theta to within theta/2 beta^-(K-1),
    half the last digit; the 100th-percentile threshold leaves no value above theta."""
    model, x, z = relu_mlp_first_layer(seed=9)
    T, base = 6, 1.7
    snn = gsnn.convert(model, x, method="css", T=T, base=base, check=False)
    (error,) = site_errors(snn, model, x)
    assert error.ann_mean == pytest.approx(float(torch.relu(z).mean()))
    assert error.within_half_step == 1.0
    assert 0 < error.step_error <= 0.5
    theta = error.threshold
    assert error.mean_abs_error <= theta / 2 * base ** -(T - 1)


def test_phase_first_site_is_below_the_ann_by_its_residual_charge():
    """Phase neurons subtract what they fire and never fire negative, so the decoded value
    theta * sum_t w(t) s(t) falls short of the ANN's by the charge left in the membrane,
    averaged over the T / K periods: below the ANN everywhere, the gap shrinking like K / T."""
    model, x, z = relu_mlp_first_layer(seed=10)
    K = 8
    errors = {}
    for T in (K, 8 * K):
        snn = gsnn.convert(model, x, method="phase", T=T, period=K, percentile=100.0, check=False)
        (errors[T],) = site_errors(snn, model, x)
    for error in errors.values():
        assert error.ann_mean == pytest.approx(float(torch.relu(z).mean()))
        assert error.mean_abs_error == pytest.approx(error.ann_mean - error.snn_mean)
    assert 0 < errors[8 * K].mean_abs_error < errors[K].mean_abs_error / 4
    assert errors[8 * K].relative_error < 0.03


def test_deeper_css_sites_are_decoded_with_their_own_delay():
    """A CSS neuron d layers deep fires its digits from step d * silent_steps; decoding it from
    there keeps a 3-layer network's deeper sites near the ANN (off by a few digits at most)."""
    torch.manual_seed(11)
    model = MLP([5, 16, 16, 16, 3], nn.ReLU).double().eval()
    x = torch.randn(80, 5, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="css", T=10, silent_steps=2, check=False)
    errors = site_errors(snn, model, x)
    assert len(errors) == 3
    for error in errors:
        assert error.ann_mean > 0
        assert error.relative_error < 0.05


def test_a_different_model_is_refused():
    x = torch.randn(20, 5, dtype=torch.float64)
    deep = qcfs_mlp(depth=3, levels=4, seed=5)
    snn = gsnn.convert(deep, x, method="qcfs", T=4, check=False)
    shallow = qcfs_mlp(depth=1, levels=4, seed=5)
    with pytest.raises(ValueError, match="no activation node named .*pass the model that was"):
        site_errors(snn, shallow, x)


def test_table_has_a_row_per_site():
    model = qcfs_mlp(depth=2, levels=4, seed=6)
    x = torch.randn(30, 5, dtype=torch.float64)
    snn = gsnn.convert(model, x, method="qcfs", T=4, check=False)
    errors = site_errors(snn, model, x)
    table = site_error_table(errors).splitlines()
    assert len(table) == 2 + len(errors)
    assert all(line.startswith(f"| {e.site} |") for line, e in zip(table[2:], errors))
