"""The in-place IF scan gives the bits of the textbook out-of-place recurrence."""

import pytest
import torch

from gsnn.neurons import IFNeuron


def textbook_if(current, theta, v0, shift, reset, burst, signed, max_count=None):
    """m = v + I + shift; n = fire(m); v = m - theta n (soft) or 0 if n > 0 (hard), one new
    tensor per operation, as the neuron was first written."""
    membrane = torch.as_tensor(v0, dtype=current.dtype).expand(current.shape[1:]).clone()
    theta = torch.as_tensor(theta, dtype=current.dtype)
    net = torch.zeros(current.shape[1:], dtype=current.dtype)
    steps = []
    for t in range(current.shape[0]):
        membrane = membrane + current[t] + shift if shift else membrane + current[t]
        if burst > 1 or max_count is not None:
            cap = float("inf") if max_count is None else max_count
            upper = torch.clamp(cap - net, max=burst)
            lower = -torch.clamp(net, max=burst) if signed else torch.zeros_like(net)
            spikes = torch.minimum(torch.maximum(torch.floor(membrane / theta), lower), upper)
        else:
            positive = (membrane >= theta).to(current.dtype)
            negative = ((membrane < 0) & (net > 0)).to(current.dtype) * (1 - positive)
            spikes = positive - negative if signed else positive
        net = net + spikes
        if reset == "soft":
            membrane = membrane - theta * spikes
        else:
            membrane = torch.where(spikes > 0, torch.zeros_like(membrane), membrane)
        steps.append(spikes)
    return torch.stack(steps), membrane


CASES = [
    dict(reset="soft", burst=1, signed=False, shift=0.0),
    dict(reset="soft", burst=1, signed=False, shift=0.03),
    dict(reset="hard", burst=1, signed=False, shift=0.0),
    dict(reset="soft", burst=3, signed=False, shift=0.0),
    dict(reset="soft", burst=1, signed=True, shift=0.0),
    dict(reset="soft", burst=3, signed=True, shift=0.0),
    dict(reset="soft", burst=9, signed=True, shift=0.0, max_count=9),
    dict(reset="soft", burst=2, signed=False, shift=0.0, max_count=5),
    dict(reset="soft", burst=1, signed=True, shift=0.0, max_count=3),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("per_channel", [False, True])
def test_scan_equals_textbook_recurrence_bitwise(case, per_channel):
    g = torch.Generator().manual_seed(7)
    current = torch.randn(9, 40, 6, generator=g) * 0.7  # float32, not dyadic: rounding shows
    theta = torch.rand(6, generator=g) + 0.3 if per_channel else torch.tensor(0.77)
    neuron = IFNeuron(
        theta,
        v0=theta / 2,
        shift=case["shift"],
        reset=case["reset"],
        max_spikes_per_step=case["burst"],
        signed=case["signed"],
        max_count=case.get("max_count"),
    )
    expected, membrane = textbook_if(
        current,
        theta.float(),
        (theta / 2).float(),
        case["shift"],
        case["reset"],
        case["burst"],
        case["signed"],
        case.get("max_count"),
    )
    spikes = neuron(current)
    assert torch.equal(spikes, expected)
    assert torch.equal(neuron.membrane, membrane)


def test_scan_keeps_the_layout_of_a_node_major_current_and_its_values():
    g = torch.Generator().manual_seed(8)
    node_major = torch.randn(50, 8, 5, generator=g).permute(1, 0, 2)  # [T, N, F], time inside
    neuron = IFNeuron(0.6, v0=0.3)
    spikes = neuron(node_major)
    assert spikes.stride() == node_major.stride()
    assert torch.equal(spikes, IFNeuron(0.6, v0=0.3)(node_major.contiguous()))


def test_chunks_carry_state_without_changing_the_membrane_handed_out():
    g = torch.Generator().manual_seed(9)
    current = torch.randn(8, 30, 4, generator=g)
    whole = IFNeuron(0.5, v0=0.25, signed=True)(current)
    neuron = IFNeuron(0.5, v0=0.25, signed=True)
    neuron.keep_state = True
    first = neuron(current[:3])
    after_first = neuron.membrane
    kept = after_first.clone()
    rest = neuron(current[3:])
    assert torch.equal(torch.cat([first, rest]), whole)
    assert torch.equal(after_first, kept)  # the later chunk updated its own copy


def test_scan_gives_gradient_free_spikes_for_inputs_that_require_grad():
    current = torch.randn(4, 10, 3, requires_grad=True)
    spikes = IFNeuron(0.5, max_spikes_per_step=2)(current)
    assert not spikes.requires_grad
    assert torch.equal(spikes, IFNeuron(0.5, max_spikes_per_step=2)(current.detach()))
