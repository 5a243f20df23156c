"""CNN conversion: conv, BN2d, pooling, flatten, residual blocks, loaders, max-pool rules."""

import pytest
import torch
import torch.nn.functional as F
from basic_block import BasicBlockCNN
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import gsnn
from gsnn.ann import QCFS


def randomise_batch_norms(model):
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
    return model.eval()


class SmallResNet(nn.Module):
    """conv-BN-act, pool, a residual block with a 1x1 shortcut, pool, flatten, linear."""

    def __init__(self, pool="avg", act=nn.ReLU):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.shortcut = nn.Conv2d(8, 8, 1)
        self.act1, self.act2 = act(), act()
        self.pool = nn.AvgPool2d(2) if pool == "avg" else nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 2 * 2, 5)

    def forward(self, x):
        a = self.pool(self.act1(self.bn1(self.conv1(x))))
        b = self.act2(self.bn2(self.conv2(a)) + self.shortcut(a))
        return self.fc(self.pool(b).flatten(1))


class IdentityBlockNet(nn.Module):
    """A residual block whose shortcut is the identity (spikes go to the add)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.conv = nn.Conv2d(6, 6, 3, padding=1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))

    def forward(self, x):
        h = F.relu(self.stem(x))
        h = F.relu(self.conv(h) + h)
        return self.head(h)


def qcfs_model(pool, levels):
    torch.manual_seed(3)
    model = SmallResNet(pool, act=lambda: QCFS(levels=levels))
    randomise_batch_norms(model).train()
    with torch.no_grad():
        model(torch.randn(32, 3, 8, 8))  # QCFS bounds initialise from data
    return model.eval()


@pytest.mark.parametrize("pool", ["avg", "max"])
@pytest.mark.parametrize("T", [2, 4])
def test_two_phase_cnn_equals_its_quantised_ann_o22a(pool, T):
    model = qcfs_model(pool, levels=T).double()
    images = torch.randn(20, 3, 8, 8, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="two-phase", T=T)
    torch.testing.assert_close(snn(images), model(images))
    assert snn.latency_steps == (2 + 1) * T


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_qcfs_first_layer_is_exact_and_the_network_close(pool):
    model = qcfs_model(pool, levels=4).double()
    images = torch.randn(40, 3, 8, 8, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="qcfs", T=4)
    assert snn.conversion_check["agreement"] >= 0.7  # deeper online layers match only closely


@pytest.mark.parametrize("method,T", [("rate", 512), ("burst", 128), ("optimal", 512)])
def test_plain_cnn_agrees_with_its_ann_at_large_T(method, T):
    torch.manual_seed(4)
    model = randomise_batch_norms(SmallResNet("max"))
    if method == "optimal":
        model.act1, model.act2 = gsnn.ann.ThresholdReLU(2.0), gsnn.ann.ThresholdReLU(2.0)
    images = torch.randn(64, 3, 8, 8)
    snn = gsnn.convert(model, images, method=method, T=T)
    assert snn.conversion_check["agreement"] >= 0.95


def test_one_spike_cnn_with_max_pooling_sends_at_most_one_spike_per_neuron():
    torch.manual_seed(5)
    model = randomise_batch_norms(SmallResNet("max"))
    images = torch.randn(16, 3, 8, 8)
    snn = gsnn.convert(model, images, method="one-spike", T=16)
    snn(images * 3)
    assert snn.last_stats.spikes <= snn.last_stats.neurons
    assert snn.conversion_check["agreement"] >= 0.6


def test_identity_shortcut_and_adaptive_pooling_convert():
    torch.manual_seed(6)
    model = IdentityBlockNet().eval()
    images = torch.randn(32, 3, 8, 8)
    snn = gsnn.convert(model, images, method="rate", T=512)
    assert snn.conversion_check["agreement"] >= 0.95
    assert snn(images).shape == (32, 4)


def test_loader_forms_give_the_same_thresholds():
    torch.manual_seed(7)
    model = randomise_batch_norms(SmallResNet("avg"))
    images, labels = torch.randn(48, 3, 8, 8), torch.randint(0, 5, (48,))
    whole = gsnn.convert(model, images, method="rate", T=8, check=False)
    pairs = DataLoader(TensorDataset(images, labels), batch_size=16)
    bare = [images[i : i + 16] for i in range(0, 48, 16)]
    for data in (pairs, bare):
        snn = gsnn.convert(model, data, method="rate", T=8)
        for name, threshold in whole.thresholds.items():
            torch.testing.assert_close(snn.thresholds[name], threshold)
        assert snn.conversion_check["rows"] == 16  # checked on the first batch
    assert gsnn.convert(model, pairs, method="rate", T=8)(images).shape == (48, 5)


def test_pooled_spikes_are_counted_per_spike_o21():
    torch.manual_seed(8)
    model = randomise_batch_norms(SmallResNet("avg")).double()
    images = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="rate", T=6)
    spikes = {}
    handle = snn.body.neuron_act1.register_forward_hook(
        lambda module, inputs, output: spikes.setdefault("act1", output)
    )
    snn(images)
    handle.remove()
    # O21 on the composite avg-pool -> conv: sum-pool (unit weights) then unit-weight conv
    s = spikes["act1"].abs().flatten(0, 1)
    pooled = F.avg_pool2d(s, 2, divisor_override=1)
    expected = 0.0
    for conv in (model.conv2, model.shortcut):
        mask = (conv.weight != 0).double()
        expected += float(F.conv2d(pooled, mask, padding=conv.padding).sum())
    stats = {layer.name: layer for layer in snn.last_stats.layers}
    counted = stats["conv2"].synaptic_ops + stats["shortcut"].synaptic_ops
    assert counted == pytest.approx(expected, rel=1e-12)
    assert stats["conv1"].macs == stats["conv1"].ann_macs  # analog input: once


def test_functional_pooling_and_flatten_forms_convert():
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.Linear(4 * 2 * 2, 3)

        def forward(self, x):
            h = F.max_pool2d(F.relu(self.conv(x)), 2)
            h = F.avg_pool2d(h, kernel_size=2)
            return self.fc(torch.flatten(h, start_dim=1))

    torch.manual_seed(9)
    images = torch.randn(32, 1, 8, 8)
    snn = gsnn.convert(Functional().eval(), images, method="rate", T=512)
    assert snn.conversion_check["agreement"] >= 0.95


def test_max_pool_of_currents_is_refused():
    class PoolFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            h = F.relu(self.conv1(x))
            return self.pool(self.conv2(h)).relu().flatten(1).sum(-1, keepdim=True)

    with pytest.raises(gsnn.ConversionError) as error:
        gsnn.convert(PoolFirst().eval(), torch.randn(4, 1, 12, 12), method="rate")
    assert "Tensor.sum" in str(error.value)  # every unsupported op is named at once

    class PoolBeforeAct(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)
            self.pool, self.fc = nn.MaxPool2d(2), nn.Linear(2 * 4 * 4, 2)

        def forward(self, x):
            h = F.relu(self.conv1(x))
            return self.fc(F.relu(self.pool(self.conv2(h))).flatten(1))

    with pytest.raises(gsnn.ConversionError, match="max pooling of currents"):
        gsnn.convert(PoolBeforeAct().eval(), torch.randn(4, 1, 12, 12), method="rate")


@pytest.mark.parametrize("method", ["css", "phase"])
def test_weighted_codes_refuse_max_pooling(method):
    model = randomise_batch_norms(SmallResNet("max"))
    with pytest.raises(gsnn.ConversionError, match="AvgPool2d"):
        gsnn.convert(model, torch.randn(4, 3, 8, 8), method=method, T=8)


def test_view_flatten_is_refused_with_the_supported_forms():
    class ViewNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 2, 3), nn.Linear(2 * 6 * 6, 2)

        def forward(self, x):
            h = F.relu(self.conv(x))
            return self.fc(h.view(h.size(0), -1))

    with pytest.raises(gsnn.ConversionError, match="torch.flatten"):
        gsnn.convert(ViewNet().eval(), torch.randn(4, 1, 8, 8))


def test_bad_image_inputs_get_clear_errors():
    model = randomise_batch_norms(SmallResNet("avg"))
    images = torch.randn(8, 3, 8, 8)
    snn = gsnn.convert(model, images, method="rate", T=4)
    with pytest.raises(ValueError, match=r"\[batch, 3, 8, 8\]"):
        snn(torch.randn(8, 3, 16, 16))
    with pytest.raises(ValueError, match="mask"):
        gsnn.convert(model, [images, images], method="rate", mask=torch.ones(8, dtype=torch.bool))
    with pytest.raises(ValueError, match="no batches"):
        gsnn.convert(model, iter([]), method="rate")


@pytest.mark.parametrize("pool", ["avg", "max"])
def test_stepwise_streaming_gives_the_same_cnn_output(pool):
    """Max pooling carries its running counts from step to step; the ANN module is called at
    two sites, and each site gets its own state."""
    torch.manual_seed(10)
    model = randomise_batch_norms(SmallResNet(pool)).double()
    images = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    snn = gsnn.convert(model, images, method="rate", T=6)
    torch.testing.assert_close(snn.forward_stepwise(images), snn(images), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(gsnn.methods.METHODS))
def test_every_registered_method_converts_a_residual_cnn(name):
    """Issue 4: every method works on CNNs through the same modules."""
    method = gsnn.methods.METHODS[name]
    kind = method.accepted_activations[0]
    torch.manual_seed(11)
    model = SmallResNet("avg", act=lambda: gsnn.ann.make_activation(kind, threshold=2.0))
    randomise_batch_norms(model).train()
    images = torch.randn(48, 3, 8, 8)
    with torch.no_grad():
        model(images)  # trainable activation bounds initialise from data
    model.eval()
    snn = gsnn.convert(model, images, method=name, T=16)
    assert snn(images).shape == (48, 5)
    assert snn.last_stats.spikes > 0 and snn.last_stats.synaptic_ops > 0
    assert snn.conversion_check["agreement"] >= 0.5  # five classes: far above chance


@pytest.mark.parametrize("name", sorted(gsnn.methods.METHODS))
def test_every_registered_method_converts_a_basic_block_shortcut(name):
    """Branches of unequal spiking depth meet at the add (CSS needed a delay there)."""
    method = gsnn.methods.METHODS[name]
    kind = method.accepted_activations[0]
    torch.manual_seed(1)
    model = BasicBlockCNN(lambda: gsnn.ann.make_activation(kind, threshold=2.0)).train()
    images = torch.randn(64, 3, 8, 8)
    with torch.no_grad():
        model(images)  # trainable activation bounds initialise from data
    model.eval()
    T = {"rate": 256, "optimal": 256, "burst": 64}.get(name, 16)
    snn = gsnn.convert(model, images, method=name, T=T)
    assert snn.conversion_check["agreement"] >= 0.9
