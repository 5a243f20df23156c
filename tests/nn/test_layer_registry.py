"""The layer contract: registration checks, and a layer added by registration alone."""

from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

import gsnn
from gsnn.ann import QCFS
from gsnn.convert.supported_op_table import REGENERATE, supported_ops_markdown
from gsnn.nn import SpikingLinear, StructuralOp, WeightedLayer
from gsnn.nn.registry import RULES, converts

ROOT = Path(__file__).resolve().parents[2]


class ChannelScale(nn.Module):
    """A user's own ANN layer, linear in its input: ``y = x * weight``."""

    def __init__(self, features: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.rand(features) + 0.5)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weight


class SpikingChannelScale(WeightedLayer):
    def __init__(self, weight: Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight.detach().clone())
        self.bias = None

    @classmethod
    def from_ann(cls, module: ChannelScale) -> "SpikingChannelScale":
        return cls(module.weight)

    def forward(self, x: Tensor) -> Tensor:
        return self.finish_steps(x * self.weight, self.bias)

    @torch.no_grad()
    def scale_inputs_(self, gain: Tensor) -> None:
        self.weight.mul_(torch.as_tensor(gain, dtype=self.weight.dtype))

    @torch.no_grad()
    def fold_output_affine_(self, scale: Tensor, shift: Tensor) -> None:
        self.weight.mul_(scale)
        self.bias = nn.Parameter(shift.clone())

    def synaptic_fanout(self, x: Tensor) -> Tensor:
        return torch.ones(self.weight.shape[0])

    def dense_macs(self, x: Tensor) -> int:
        return x[0].numel()


@pytest.fixture
def registered_channel_scale():
    converts(ChannelScale)(SpikingChannelScale)
    yield
    del RULES[ChannelScale]


def test_a_registered_layer_converts_and_is_listed(registered_channel_scale):
    torch.manual_seed(0)
    levels = 4
    model = nn.Sequential(
        nn.Linear(6, 5),
        QCFS(levels, init_threshold=1.0),
        ChannelScale(5),
        QCFS(levels, init_threshold=1.0),
        nn.Linear(5, 3),
    ).eval()
    x = torch.rand(20, 6)
    snn = gsnn.convert(model, x, method="qcfs", T=levels, check=False)
    assert isinstance(snn.body.get_submodule("2"), SpikingChannelScale)
    # qcfs at T = L equals its QCFS ANN (methods.md O5), through the new layer
    torch.testing.assert_close(snn(x), model(x).detach(), rtol=1e-5, atol=1e-6)
    assert any(row["becomes"] == "SpikingChannelScale" for row in gsnn.supported_ops())
    # the second neuron's spikes reach the new layer's weights, not a one-to-one synapse
    assert snn.body.get_submodule("2").receives_spikes


def test_an_incomplete_layer_cannot_register():
    class NoCosts(WeightedLayer):
        @classmethod
        def from_ann(cls, module):
            return cls()

        def scale_inputs_(self, gain):
            pass

        def fold_output_affine_(self, scale, shift):
            pass

    with pytest.raises(TypeError, match="dense_macs, synaptic_fanout"):
        converts(ChannelScale)(NoCosts)
    assert ChannelScale not in RULES


def test_only_contract_classes_register_and_only_once():
    with pytest.raises(TypeError, match="must subclass WeightedLayer .* or StructuralOp"):
        converts(ChannelScale)(nn.Identity)
    with pytest.raises(TypeError, match="Linear is already converted by SpikingLinear"):
        converts(nn.Linear)(SpikingChannelScale)
    assert RULES[nn.Linear] is SpikingLinear


def test_a_stateful_structural_op_needs_reset():
    class Counter(StructuralOp):
        stateful = True

        @classmethod
        def from_ann(cls, module):
            return cls()

    with pytest.raises(TypeError, match="stateful but has no reset"):
        converts(ChannelScale)(Counter)


def test_the_supported_ops_page_is_generated_from_the_registry():
    page = (ROOT / "docs" / "supported_ops.md").read_text()
    assert page == supported_ops_markdown(), f"docs/supported_ops.md is stale; run {REGENERATE}"
