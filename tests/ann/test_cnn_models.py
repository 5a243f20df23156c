"""Reference CNNs: shapes, one module per activation site, fx tracing, documented cost."""

import re

import pytest
import torch
from torch import fx, nn

from gsnn.ann import QCFS, LeNet5, ResNet20, ThresholdReLU, VGGSmall
from gsnn.ann.resnet20 import BasicBlock
from gsnn.convert.input_binding import ModelCall, trace_call

MODELS = [(LeNet5, (1, 28, 28), 4), (VGGSmall, (3, 32, 32), 7), (ResNet20, (3, 32, 32), 19)]
ACTIVATION_TYPES = {"relu": nn.ReLU, "threshold_relu": ThresholdReLU, "qcfs": QCFS}


def activation_modules(model):
    return [m for m in model.modules() if isinstance(m, tuple(ACTIVATION_TYPES.values()))]


@pytest.mark.parametrize("cls, shape, sites", MODELS)
@pytest.mark.parametrize("activation", sorted(ACTIVATION_TYPES))
def test_logits_shape_and_one_module_per_activation_site(cls, shape, sites, activation):
    model = cls(activation=activation).eval()
    assert model(torch.rand(3, *shape)).shape == (3, 10)
    acts = activation_modules(model)
    assert len(acts) == sites
    assert len({id(act) for act in acts}) == sites
    assert all(type(act) is ACTIVATION_TYPES[activation] for act in acts)


@pytest.mark.parametrize("cls, shape, sites", MODELS)
def test_fx_traces_every_relu_once_and_matches_the_model(cls, shape, sites):
    torch.manual_seed(0)
    model = cls().eval()
    traced = fx.symbolic_trace(model)
    x = torch.rand(2, *shape)
    torch.testing.assert_close(traced(x), model(x))
    called = [
        node.target
        for node in traced.graph.nodes
        if node.op == "call_module" and isinstance(traced.get_submodule(node.target), nn.ReLU)
    ]
    assert len(called) == len(set(called)) == sites


@pytest.mark.parametrize("cls, shape, sites", MODELS)
def test_the_converter_tracer_keeps_each_qcfs_site_as_one_leaf(cls, shape, sites):
    model = cls(activation="qcfs", qcfs_init=2.0).eval()
    x = torch.rand(2, *shape)
    traced, _ = trace_call(model, ModelCall(args=(x,)))
    torch.testing.assert_close(traced(x), model(x))
    called = [
        node.target
        for node in traced.graph.nodes
        if node.op == "call_module" and isinstance(traced.get_submodule(node.target), QCFS)
    ]
    assert len(called) == len(set(called)) == sites


def test_activation_options_reach_every_site():
    model = VGGSmall(activation="qcfs", qcfs_levels=4, qcfs_init=3.0)
    assert {(act.levels, act.threshold.item()) for act in activation_modules(model)} == {(4, 3.0)}
    model = LeNet5(activation="threshold_relu", threshold=2.5)
    assert {act.threshold for act in activation_modules(model)} == {2.5}


@pytest.mark.parametrize("cls", [LeNet5, VGGSmall])
def test_average_pooling_by_default_max_on_request(cls):
    def pools(model, kind):
        return sum(isinstance(m, kind) for m in model.modules())

    assert pools(cls(), nn.AvgPool2d) > 0 and pools(cls(), nn.MaxPool2d) == 0
    assert pools(cls(pool="max"), nn.MaxPool2d) > 0 and pools(cls(pool="max"), nn.AvgPool2d) == 0
    with pytest.raises(ValueError, match="pooling"):
        cls(pool="median")


def test_unknown_activation_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="Unknown activation"):
        ResNet20(activation="sigmoid")
    with pytest.raises(ValueError, match="three stage widths"):
        VGGSmall(widths=(8, 16))
    with pytest.raises(ValueError, match="divisible by 8"):
        VGGSmall(image_size=28)


def test_resnet_shortcuts_and_residual_add_before_the_second_activation():
    model = ResNet20()
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 9
    projected = [not isinstance(block.shortcut, nn.Identity) for block in blocks]
    assert projected == [False] * 3 + [True, False, False] * 2
    assert isinstance(blocks[3].shortcut[1], nn.BatchNorm2d)
    traced = fx.symbolic_trace(blocks[3])
    (act2,) = [n for n in traced.graph.nodes if n.op == "call_module" and n.target == "act2"]
    assert act2.args[0].op == "call_function" and "add" in str(act2.args[0].target)


@pytest.mark.parametrize("cls, shape, sites", MODELS)
def test_docstring_states_the_measured_mac_count_and_parameters(cls, shape, sites):
    counts = []

    def count(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kernel = module.kernel_size[0] * module.kernel_size[1] * module.in_channels
            counts.append(output[0].numel() * kernel // module.groups)
        else:
            counts.append(module.in_features * module.out_features)

    model = cls().eval()
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            module.register_forward_hook(count)
    model(torch.zeros(1, *shape))
    doc = " ".join(cls.__doc__.split())
    documented = re.search(r"([\d,]+) multiply-accumulates per", doc).group(1)
    parameters = re.search(r"([\d,]+) parameters", doc).group(1)
    assert int(documented.replace(",", "")) == sum(counts)
    assert int(parameters.replace(",", "")) == sum(p.numel() for p in model.parameters())


def test_lenet_mac_count_by_hand():
    # conv1 6·28·28·25, conv2 16·10·10·150, fc 400·120 + 120·84 + 84·10
    assert "416,520" in LeNet5.__doc__
    assert 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10 == 416520
