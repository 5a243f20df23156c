"""ANN-side modules: QCFS, ThresholdReLU, NonzeroDropout, make_activation, the reference GCN."""

import math

import pytest
import torch
from torch import nn

from gsnn.ann import ACTIVATIONS, GCN, QCFS, NonzeroDropout, ThresholdReLU, make_activation


def qcfs_reference(z: float, levels: int, bound: float) -> float:
    """lambda * clip(floor(z L / lambda + 1/2) / L, 0, 1), with Python floats."""
    return bound * min(max(math.floor(z * levels / bound + 0.5) / levels, 0.0), 1.0)


# -- QCFS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels,bound", [(1, 1.0), (4, 2.0), (8, 0.75), (16, 3.0)])
def test_qcfs_forward_equals_the_formula(levels, bound):
    generator = torch.Generator().manual_seed(levels)
    z = (torch.rand(2000, generator=generator, dtype=torch.float64) * 1.6 - 0.3) * bound
    act = QCFS(levels=levels, init_threshold=bound).double()
    out = act(z)
    expected = torch.tensor(
        [qcfs_reference(v, levels, bound) for v in z.tolist()], dtype=torch.float64
    )
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    # a staircase of L + 1 values, clipped to [0, lambda]
    assert set((out * levels / bound).round().unique().tolist()) <= set(range(levels + 1))
    assert out.min() >= 0 and out.max() <= bound


def test_qcfs_with_a_positive_bound_is_bus_formula_bit_for_bit():
    """|lambda| changes nothing while lambda > 0: same values and gradients as
    lambda * clip(floor(z L / lambda + 1/2) / L, 0, 1) written with the raw parameter."""
    z = torch.randn(500, generator=torch.Generator().manual_seed(3)) * 2
    act = QCFS(levels=4, init_threshold=1.3)
    z_act, z_ref = z.clone().requires_grad_(), z.clone().requires_grad_()
    bound = torch.tensor(1.3, requires_grad=True)
    scaled = z_ref * 4 / bound + 0.5
    reference = torch.clamp((scaled + (torch.floor(scaled) - scaled).detach()) / 4, 0, 1) * bound
    out = act(z_act)
    (out * z).sum().backward()
    (reference * z).sum().backward()
    assert torch.equal(out, reference)
    assert torch.equal(z_act.grad, z_ref.grad) and torch.equal(act.threshold.grad, bound.grad)


def test_qcfs_driven_below_zero_stays_a_staircase_of_its_magnitude():
    """An SGD step from lambda = 0.5 to -1.5; the staircase keeps the bound |lambda| = 1.5
    (with the raw parameter it would be non-positive: 0 for every z > 0)."""
    act = QCFS(levels=4, init_threshold=0.5)
    step = torch.optim.SGD(act.parameters(), lr=1.0)
    act(torch.full((2,), 10.0)).sum().backward()  # saturated: gradient 1 per value
    step.step()
    assert act.threshold.item() == -1.5
    z = torch.linspace(-1, 3, 81, dtype=torch.float64)
    expected = torch.tensor([qcfs_reference(v, 4, 1.5) for v in z.tolist()], dtype=torch.float64)
    torch.testing.assert_close(act.double()(z), expected, rtol=0, atol=1e-12)


def test_qcfs_rounds_ties_half_up():
    """z L / lambda + 1/2 integer: floor keeps the tie up (round-half-even would not)."""
    levels, bound = 4, 2.0
    act = QCFS(levels=levels, init_threshold=bound)
    step = bound / levels  # 0.5
    ties = torch.tensor([0.5, 1.5, 2.5, 3.5]) * step  # z L / lambda = 0.5, 1.5, 2.5, 3.5
    out = act(ties)
    torch.testing.assert_close(out, torch.tensor([1.0, 2.0, 3.0, 4.0]) * step)
    # torch.round is half-to-even and would give 0, 2, 2, 4 levels
    assert not torch.equal(out, torch.round(ties / step) * step)
    # just below a tie rounds down
    below = act(ties - 1e-4)
    torch.testing.assert_close(below, torch.tensor([0.0, 1.0, 2.0, 3.0]) * step)


def test_qcfs_clips_both_ends():
    act = QCFS(levels=8, init_threshold=1.0)
    out = act(torch.tensor([-5.0, -0.01, 1.2, 100.0]))
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, 1.0, 1.0]))


def test_qcfs_gradient_is_straight_through():
    act = QCFS(levels=4, init_threshold=2.0)
    inside = torch.tensor([0.3, 0.9, 1.1, 1.7], requires_grad=True)  # quantised value in (0, 2)
    act(inside).sum().backward()
    torch.testing.assert_close(inside.grad, torch.ones(4))  # floor passes the gradient
    assert act.threshold.grad is not None and torch.isfinite(act.threshold.grad)

    act.threshold.grad = None
    outside = torch.tensor([-3.0, -1.0, 5.0, 9.0], requires_grad=True)  # clipped at 0 or lambda
    act(outside).sum().backward()
    torch.testing.assert_close(outside.grad, torch.zeros(4))
    # h = lambda for the two saturated inputs, 0 for the others
    assert act.threshold.grad.item() == pytest.approx(2.0)


def test_qcfs_bound_gradient_inside_the_band():
    """Inside the band the straight-through QCFS is h = lambda (s + c) / L with
    s = z L / lambda + 1/2 and c = floor(s) - s held constant, i.e.
    h = z + lambda (1/2 + c) / L, so dh/dlambda = (1/2 + floor(s) - s) / L."""
    levels, bound = 4, 2.0
    z = torch.tensor([0.3, 0.6, 1.1, 1.35])
    act = QCFS(levels=levels, init_threshold=bound)
    act(z).sum().backward()
    s = z * levels / bound + 0.5
    expected = ((0.5 + torch.floor(s) - s) / levels).sum()
    assert act.threshold.grad.item() == pytest.approx(expected.item(), abs=1e-6)
    assert abs(expected.item()) > 0.05


def test_qcfs_initialises_lambda_from_the_first_batch():
    act = QCFS(levels=8)  # init_threshold=None
    assert not bool(act.initialised)
    first = torch.tensor([[0.2, 3.5], [-1.0, 1.25]])
    out = act(first)
    assert act.threshold.item() == 3.5 and bool(act.initialised)
    torch.testing.assert_close(out, QCFS(levels=8, init_threshold=3.5)(first))
    act(torch.tensor([10.0, 20.0]))  # later batches leave lambda alone
    assert act.threshold.item() == 3.5
    # the flag is saved with the model, so a reloaded model does not re-initialise
    state = act.state_dict()
    assert bool(state["initialised"]) and state["threshold"].item() == 3.5
    fresh = QCFS(levels=8)
    fresh.load_state_dict(state)
    fresh(torch.tensor([100.0]))
    assert fresh.threshold.item() == 3.5


def test_qcfs_initialises_from_a_non_positive_batch_with_one():
    act = QCFS(levels=4)
    act(torch.tensor([-2.0, -0.5, 0.0]))
    assert act.threshold.item() == 1.0


@pytest.mark.parametrize(
    "kwargs", [{"levels": 0}, {"levels": 2.5}, {"init_threshold": 0.0}, {"init_threshold": -1.0}]
)
def test_qcfs_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="QCFS"):
        QCFS(**kwargs)


def test_qcfs_lambda_is_a_trainable_parameter():
    act = QCFS(levels=4, init_threshold=1.0)
    assert [name for name, _ in act.named_parameters()] == ["threshold"]


# -- ThresholdReLU --------------------------------------------------------------------------------


def test_threshold_relu_clamps():
    act = ThresholdReLU(0.75)
    z = torch.tensor([-2.0, 0.0, 0.3, 0.75, 0.9, 10.0], requires_grad=True)
    out = act(z)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, 0.3, 0.75, 0.75, 0.75]))
    out.sum().backward()
    assert z.grad[2] == 1.0 and z.grad[0] == 0.0 and z.grad[-1] == 0.0


@pytest.mark.parametrize("threshold", [0.0, -1.0])
def test_threshold_relu_bad_threshold(threshold):
    with pytest.raises(ValueError, match="threshold must be > 0"):
        ThresholdReLU(threshold)


# -- NonzeroDropout -------------------------------------------------------------------------------


def test_nonzero_dropout_is_identity_in_eval_mode():
    x = torch.rand(50, 20)
    dropout = NonzeroDropout(0.5).eval()
    assert torch.equal(dropout(x), x)
    assert torch.equal(NonzeroDropout(0.0).train()(x), x)


@pytest.mark.parametrize("p", [0.2, 0.5])
def test_nonzero_dropout_has_the_statistics_of_dropout(p):
    torch.manual_seed(0)
    x = torch.rand(200, 300) + 0.5  # every entry non-zero
    x[::4] = 0.0  # and some exact zeros, which must stay zero
    nonzero = x != 0
    ours = NonzeroDropout(p).train()(x)
    reference = nn.Dropout(p).train()(x)

    assert torch.equal(ours[~nonzero], torch.zeros_like(ours[~nonzero]))
    kept = (ours != 0) & nonzero
    # kept entries are scaled by 1 / (1 - p), like nn.Dropout
    torch.testing.assert_close(ours[kept], x[kept] / (1 - p))
    n = int(nonzero.sum())
    drop_rate = 1 - kept.sum().item() / n
    assert abs(drop_rate - p) < 5 * math.sqrt(p * (1 - p) / n)
    reference_rate = 1 - ((reference != 0) & nonzero).sum().item() / n
    assert abs(drop_rate - reference_rate) < 10 * math.sqrt(p * (1 - p) / n)
    # the mean is preserved (inverted dropout)
    # each entry has mean x and variance x^2 p / (1 - p)
    sigma = math.sqrt((x**2).sum().item() * p / (1 - p)) / x.numel()
    assert abs(ours.mean().item() - x.mean().item()) < 5 * sigma
    assert abs(ours.mean().item() - reference.mean().item()) < 10 * sigma


def test_nonzero_dropout_gradient_matches_its_mask():
    torch.manual_seed(1)
    x = (torch.rand(30, 10) + 0.1).requires_grad_()
    out = NonzeroDropout(0.5).train()(x)
    out.sum().backward()
    kept = out != 0
    torch.testing.assert_close(x.grad[kept], torch.full_like(x.grad[kept], 2.0))
    assert torch.equal(x.grad[~kept], torch.zeros_like(x.grad[~kept]))


def test_nonzero_dropout_is_a_dropout_for_the_converter():
    assert isinstance(NonzeroDropout(0.5), nn.Dropout)


# -- make_activation and the reference GCN --------------------------------------------------------


def test_make_activation_builds_each_kind():
    assert ACTIVATIONS == ("relu", "threshold_relu", "qcfs", "clip", "noisy_qc")
    assert isinstance(make_activation("relu"), nn.ReLU)
    thr = make_activation("threshold_relu", threshold=0.3)
    assert isinstance(thr, ThresholdReLU) and thr.threshold == 0.3
    q = make_activation("qcfs", qcfs_levels=6, qcfs_init=2.0)
    assert isinstance(q, QCFS) and q.levels == 6 and q.threshold.item() == 2.0
    with pytest.raises(ValueError, match="Unknown activation 'gelu'"):
        make_activation("gelu")


def test_reference_gcn_has_one_activation_per_layer():
    model = GCN(5, 7, 3, num_layers=4, activation="qcfs", residual=True)
    assert len(model.convs) == 4 and len(model.acts) == 3
    assert len({id(a) for a in model.acts}) == 3
    with pytest.raises(ValueError, match="num_layers >= 2"):
        GCN(5, 7, 3, num_layers=1)
