"""Exact oracles for the integrate-and-fire neuron (methods.md section 14: O1-O4, O6, O7, O9).

All inputs are dyadic rationals (integers times 2^-k) and all thresholds powers of
two, in float64, so every membrane sum is exact and floor boundaries are hit
deterministically: the assertions use exact equality.
"""

import math

import pytest
import torch

from gsnn.neurons import IFNeuron

F64 = torch.float64
THRESHOLDS = (0.25, 1.0, 4.0)


def dyadic(generator, shape, low, high, bits=5):
    """Uniform random multiples of 2^-bits in [low, high] (float64)."""
    scale = 2**bits
    ints = torch.randint(int(low * scale), int(high * scale) + 1, shape, generator=generator)
    return ints.to(F64) / scale


def cumulative_counts(spikes):
    return torch.cumsum(spikes, dim=0)


def prefix_index(T):
    """t = 1..T as a column for broadcasting against [T, M]."""
    return torch.arange(1, T + 1, dtype=F64).unsqueeze(1)


def charge_balance(spikes, currents, theta, v0, shift=0.0):
    """Return (theta * N(T) + v(T), v(0) + sum_t I(t)) without v(T)."""
    return theta * spikes.sum(0), v0 + (currents + shift).sum(0)


# --------------------------------------------------------------------------- O1
@pytest.mark.parametrize("theta", THRESHOLDS)
@pytest.mark.parametrize("phi", [0.0, 0.25, 0.5, 0.75, 0.875])
def test_o1_soft_reset_constant_input_every_prefix(theta, phi):
    generator = torch.Generator().manual_seed(1)
    T, M = 40, 600
    # z/theta in [-3, 5]: negative, sub-threshold, and far above threshold.
    z = dyadic(generator, (M,), -3.0, 5.0) * theta
    z[:6] = torch.tensor([0.0, theta, theta / 2, -theta, 10 * theta, 1e3 * theta], dtype=F64)
    neuron = IFNeuron(threshold=theta, v0=phi * theta)
    spikes = neuron(z.expand(T, M))
    assert spikes.dtype == F64
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    t = prefix_index(T)
    expected = torch.clamp(torch.floor(t * z / theta + phi), min=torch.zeros_like(t), max=t)
    assert torch.equal(cumulative_counts(spikes), expected)


def test_o1_special_cases_rate_and_rounding():
    theta, T = 1.0, 8
    z = torch.tensor([0.3125, 0.5625, 0.0625, 0.9375], dtype=F64)  # dyadic
    plain = IFNeuron(theta)(z.expand(T, -1)).sum(0)
    assert torch.equal(plain, torch.floor(T * z))
    rounding = IFNeuron(theta, v0=theta / 2)(z.expand(T, -1)).sum(0)
    assert torch.equal(rounding, torch.floor(T * z + 0.5))
    # decoded rate is the QCFS activation with lambda = theta, L = T
    decoded = theta * rounding / T
    qcfs = theta * torch.clamp(torch.floor(z * T / theta + 0.5), 0, T) / T
    assert torch.equal(decoded, qcfs)


def test_o1_works_for_float32_and_extra_dims():
    z = torch.tensor([[0.25, 0.75], [1.5, -0.5]], dtype=torch.float32)
    spikes = IFNeuron(1.0, v0=0.5)(z.expand(16, 2, 2))
    assert spikes.dtype == torch.float32 and spikes.shape == (16, 2, 2)
    expected = torch.clamp(torch.floor(16 * z.double() + 0.5), 0, 16).float()
    assert torch.equal(spikes.sum(0), expected)


def test_single_neuron_one_dimensional_input():
    spikes = IFNeuron(1.0, v0=0.5)(torch.full((8,), 0.375, dtype=F64))
    assert spikes.shape == (8,) and spikes.sum().item() == 3.0  # floor(8 * 0.375 + 0.5)


# --------------------------------------------------------------------------- O2
@pytest.mark.parametrize("burst", [1, 3])
@pytest.mark.parametrize("theta", THRESHOLDS)
def test_o2_charge_conservation_soft_reset(burst, theta):
    generator = torch.Generator().manual_seed(2 + burst)
    T, M = 30, 500
    currents = dyadic(generator, (T, M), -2.0, 4.0) * theta
    v0 = dyadic(generator, (M,), -1.0, 1.0) * theta
    neuron = IFNeuron(theta, v0=v0, max_spikes_per_step=burst)
    spikes = neuron(currents)
    assert spikes.min() >= 0 and spikes.max() <= burst
    assert torch.equal(spikes, torch.floor(spikes))
    lhs = theta * spikes.sum(0) + neuron.membrane
    assert torch.equal(lhs, v0 + currents.sum(0))


def test_o2_charge_conservation_with_shift_and_signed():
    generator = torch.Generator().manual_seed(3)
    theta, T, M = 2.0, 25, 400
    currents = dyadic(generator, (T, M), -3.0, 3.0)
    v0 = dyadic(generator, (M,), 0.0, 1.9)
    for kwargs in ({"shift": 0.125}, {"signed": True}, {"signed": True, "shift": -0.0625}):
        neuron = IFNeuron(theta, v0=v0, **kwargs)
        spikes = neuron(currents)
        shift = kwargs.get("shift", 0.0)
        lhs = theta * spikes.sum(0) + neuron.membrane
        assert torch.equal(lhs, v0 + (currents + shift).sum(0)), kwargs


def test_o2_hard_reset_violates_conservation():
    theta = 1.0
    currents = torch.tensor([[0.75], [0.75], [0.75], [0.75]], dtype=F64)
    neuron = IFNeuron(theta, reset="hard")
    spikes = neuron(currents)
    # m = 0.75, 1.5 (fire, reset to 0), 0.75, 1.5 (fire, reset to 0)
    assert spikes.squeeze(1).tolist() == [0.0, 1.0, 0.0, 1.0]
    lhs = theta * spikes.sum(0) + neuron.membrane
    assert lhs.item() == 2.0 and currents.sum().item() == 3.0
    # the soft neuron on the same input conserves charge
    soft = IFNeuron(theta, reset="soft")
    soft_spikes = soft(currents)
    assert (theta * soft_spikes.sum(0) + soft.membrane).item() == 3.0
    assert soft_spikes.sum().item() == 3.0


# --------------------------------------------------------------------------- O3
@pytest.mark.parametrize("theta", THRESHOLDS)
def test_o3_order_independence_nonnegative_bounded(theta):
    generator = torch.Generator().manual_seed(4)
    T, M, permutations = 24, 300, 6
    currents = dyadic(generator, (T, M), 0.0, 1.0) * theta  # 0 <= I <= theta
    v0 = dyadic(generator, (M,), 0.0, 0.96875) * theta  # 0 <= v0 < theta
    expected = torch.floor((v0 + currents.sum(0)) / theta)
    neuron = IFNeuron(theta, v0=v0)
    for _ in range(permutations):
        order = torch.argsort(torch.rand(T, M, generator=generator), dim=0)
        permuted = torch.gather(currents, 0, order)
        assert torch.equal(neuron(permuted).sum(0), expected)


def test_o3_negative_inputs_make_the_count_order_dependent():
    theta = 1.0
    early = torch.tensor([[1.0], [-1.0]], dtype=F64)  # fires, then goes negative
    late = torch.tensor([[-1.0], [1.0]], dtype=F64)  # never reaches threshold
    assert IFNeuron(theta)(early).sum().item() == 1.0
    assert IFNeuron(theta)(late).sum().item() == 0.0


# --------------------------------------------------------------------------- O4
@pytest.mark.parametrize("T", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("theta", THRESHOLDS)
def test_o4_deng_gu_shift_rounds_at_T(T, theta):
    generator = torch.Generator().manual_seed(5 + T)
    M = 500
    z = dyadic(generator, (M,), -2.0, 3.0, bits=6) * theta
    neuron = IFNeuron(theta, v0=0.0, shift=theta / (2 * T))
    counts = neuron(z.expand(T, M)).sum(0)
    expected = torch.clamp(torch.floor(T * z / theta + 0.5), 0, T)
    assert torch.equal(counts, expected)


def test_o4_prefixes_differ_from_o1_rounding():
    theta, T = 1.0, 16
    z = torch.arange(0, 17, dtype=F64) / 16
    shifted = cumulative_counts(IFNeuron(theta, shift=theta / (2 * T))(z.expand(T, -1)))
    rounded = cumulative_counts(IFNeuron(theta, v0=theta / 2)(z.expand(T, -1)))
    assert torch.equal(shifted[-1], rounded[-1])
    assert not torch.equal(shifted[:-1], rounded[:-1])


# --------------------------------------------------------------------------- O6
@pytest.mark.parametrize("theta_exp", [-2, 0, 2])
def test_o6_hard_reset_count(theta_exp):
    theta = 2.0**theta_exp
    bits = 6
    T = 37
    numerators = torch.arange(1, 2**bits + 1)  # z = k * theta / 2^bits in (0, theta]
    z = numerators.to(F64) * theta / 2**bits
    counts = IFNeuron(theta, reset="hard")(z.expand(T, -1)).sum(0)
    period = torch.tensor([math.ceil(2**bits / int(k)) for k in numerators])  # ceil(theta / z)
    expected = torch.div(T, period, rounding_mode="floor").to(F64)
    assert torch.equal(counts, expected)
    soft = IFNeuron(theta)(z.expand(T, -1)).sum(0)
    assert torch.equal(soft, torch.floor(T * z / theta))
    assert bool((counts <= soft).all())
    integer_ratio = (2**bits) % numerators == 0
    assert torch.equal(counts[integer_ratio], soft[integer_ratio])
    assert bool((counts[~integer_ratio] < soft[~integer_ratio]).any())


def test_o6_example_hard_5_soft_6():
    # methods.md: theta = 1, z = 0.6, T = 10 gives hard 5, soft 6. 0.6 is not dyadic
    # (ten float additions of 0.6 fall just short of 6), so the same ratio
    # z / theta = 0.6 is run exactly as theta = 5, z = 3.
    z = torch.full((10, 1), 3.0, dtype=F64)
    assert IFNeuron(5.0, reset="hard")(z).sum().item() == 5.0
    assert IFNeuron(5.0, reset="soft")(z).sum().item() == 6.0
    assert math.floor(10 / math.ceil(5 / 3)) == 5


def test_hard_reset_zeroes_membrane_after_a_spike():
    neuron = IFNeuron(1.0, reset="hard")
    spikes = neuron(torch.tensor([[0.5], [0.75], [0.25]], dtype=F64))
    assert spikes.squeeze(1).tolist() == [0.0, 1.0, 0.0]
    assert neuron.membrane.item() == 0.25


# --------------------------------------------------------------------------- O7
@pytest.mark.parametrize("gamma", [2, 3, 5])
@pytest.mark.parametrize("phi", [0.0, 0.5, 0.75])
def test_o7_burst_counts(gamma, phi):
    generator = torch.Generator().manual_seed(7 + gamma)
    theta, T, M = 0.5, 20, 500
    z = dyadic(generator, (M,), -2.0, gamma + 2.0) * theta
    spikes = IFNeuron(theta, v0=phi * theta, max_spikes_per_step=gamma)(z.expand(T, M))
    assert spikes.min() >= 0 and spikes.max() <= gamma
    t = prefix_index(T)
    expected = torch.clamp(torch.floor(t * z / theta + phi), min=torch.zeros_like(t), max=gamma * t)
    assert torch.equal(cumulative_counts(spikes), expected)
    assert spikes.max() == gamma  # large inputs saturate the burst


def test_o7_single_step_burst_value():
    spikes = IFNeuron(1.0, max_spikes_per_step=4)(torch.tensor([[2.75], [0.5], [9.0]], dtype=F64))
    # m = 2.75 -> 2 (v 0.75); m = 1.25 -> 1 (v 0.25); m = 9.25 -> 4 (clipped)
    assert spikes.squeeze(1).tolist() == [2.0, 1.0, 4.0]


# --------------------------------------------------------------------------- O9
@pytest.mark.parametrize("theta", THRESHOLDS)
def test_o9_signed_neuron_net_count(theta):
    generator = torch.Generator().manual_seed(9)
    T, M = 30, 800
    currents = dyadic(generator, (T, M), -1.0, 1.0) * theta  # |I| <= theta
    v0 = dyadic(generator, (M,), 0.0, 0.96875) * theta
    spikes = IFNeuron(theta, v0=v0, signed=True)(currents)
    assert set(spikes.unique().tolist()) <= {-1.0, 0.0, 1.0}
    assert bool((spikes == -1).any())  # the corrective spikes are exercised
    expected = torch.clamp(torch.floor((v0 + currents.sum(0)) / theta), 0, T)
    assert torch.equal(spikes.sum(0), expected)
    # the net count never goes negative
    assert bool((cumulative_counts(spikes) >= 0).all())


def test_o9_counterexample_when_bound_violated():
    currents = torch.tensor([[1.0], [1.0], [-2.5]], dtype=F64)
    spikes = IFNeuron(1.0, signed=True)(currents)
    assert spikes.squeeze(1).tolist() == [1.0, 1.0, -1.0]
    assert spikes.sum().item() == 1.0
    formula = max(0, math.floor(currents.sum().item() / 1.0))
    assert formula == 0


@pytest.mark.parametrize("theta", THRESHOLDS)
def test_o9_signed_burst_up_to_T_needs_no_per_step_bound(theta):
    """O9 without its bound: a signed neuron that may fire up to T spikes per step, with a
    net count of at most T, ends every window at clip(floor((v0 + sum I)/theta), 0, T), the
    two-phase neuron's count (O8), for any order and size of its inputs."""
    generator = torch.Generator().manual_seed(19)
    T, M = 6, 2000
    currents = dyadic(generator, (T, M), -4.0, 4.0) * theta  # |I| up to 4 theta per step
    v0 = dyadic(generator, (M,), 0.0, 0.96875) * theta
    neuron = IFNeuron(theta, v0=v0, signed=True, max_spikes_per_step=T, max_count=T)
    spikes = neuron(currents)
    expected = torch.clamp(torch.floor((v0 + currents.sum(0)) / theta), 0, T)
    assert torch.equal(spikes.sum(0), expected)
    assert bool((spikes <= -2).any()) and bool((spikes >= 2).any())  # bursts both ways
    running = cumulative_counts(spikes)
    assert bool((running >= 0).all()) and bool((running <= T).all())
    # the same inputs break the one-spike signed neuron (O9's bound is violated)
    single = IFNeuron(theta, v0=v0, signed=True)(currents).sum(0)
    assert not torch.equal(single, expected)


def test_o9_counterexample_is_exact_with_bursts():
    """The counter-example above: a burst of -2 takes both early spikes back."""
    currents = torch.tensor([[1.0], [1.0], [-2.5]], dtype=F64)
    spikes = IFNeuron(1.0, signed=True, max_spikes_per_step=3, max_count=3)(currents)
    assert spikes.squeeze(1).tolist() == [1.0, 1.0, -2.0]


def test_max_count_caps_the_net_count_of_a_burst():
    currents = torch.tensor([[2.5], [2.5], [2.5]], dtype=F64)
    spikes = IFNeuron(1.0, max_spikes_per_step=3, max_count=4)(currents)
    assert spikes.squeeze(1).tolist() == [2.0, 2.0, 0.0]  # the third step would exceed 4


def test_signed_neuron_without_positive_count_stays_silent():
    spikes = IFNeuron(1.0, signed=True)(torch.tensor([[-0.5], [-0.5]], dtype=F64))
    assert spikes.squeeze(1).tolist() == [0.0, 0.0]


# ------------------------------------------------------------ per-channel thresholds
def test_per_channel_thresholds_match_scalar_neurons():
    generator = torch.Generator().manual_seed(11)
    T, N = 20, 15
    thetas = torch.tensor([0.25, 0.5, 1.0, 2.0, 8.0], dtype=F64)
    v0 = thetas / 2
    currents = dyadic(generator, (T, N, 5), -1.0, 6.0)
    for kwargs in ({}, {"reset": "hard"}, {"max_spikes_per_step": 3}, {"signed": True}):
        spikes = IFNeuron(thetas, v0=v0, **kwargs)(currents)
        for c in range(5):
            reference = IFNeuron(thetas[c].item(), v0=v0[c].item(), **kwargs)(currents[..., c])
            assert torch.equal(spikes[..., c], reference), (kwargs, c)


def test_per_channel_threshold_o1():
    thetas = torch.tensor([0.5, 1.0, 4.0], dtype=F64)
    z = torch.tensor([0.3125, 0.3125, 0.3125], dtype=F64)
    T = 32
    counts = IFNeuron(thetas, v0=thetas / 2)(z.expand(T, 3)).sum(0)
    assert torch.equal(counts, torch.floor(T * z / thetas + 0.5))


# ------------------------------------------------------------------------ streaming
@pytest.mark.parametrize(
    "kwargs",
    [
        {"v0": 0.5},
        {"v0": 0.25, "shift": 0.0625},
        {"reset": "hard"},
        {"max_spikes_per_step": 3},
        {"signed": True, "v0": 0.5},
        {"signed": True, "v0": 0.5, "max_spikes_per_step": 4, "max_count": 41},
        {"v0": 0.5, "max_spikes_per_step": 2, "max_count": 30},
    ],
)
def test_streaming_in_chunks_equals_one_call(kwargs):
    generator = torch.Generator().manual_seed(13)
    currents = dyadic(generator, (41, 7, 3), -2.0, 3.0)
    whole = IFNeuron(1.0, **kwargs)(currents)

    neuron = IFNeuron(1.0, **kwargs)
    neuron.keep_state = True
    chunks = [neuron(chunk) for chunk in torch.split(currents, [1, 10, 3, 17, 10])]
    assert torch.equal(torch.cat(chunks), whole)

    neuron.reset()
    assert neuron.membrane is None
    assert torch.equal(neuron(currents), whole)
    # without reset() the state carries over, so a second pass differs in general
    again = neuron(currents)
    assert not torch.equal(again, whole)


def test_default_calls_start_from_v0():
    neuron = IFNeuron(1.0, v0=0.5)
    currents = torch.full((3, 1), 0.25, dtype=F64)
    first = neuron(currents)
    assert torch.equal(neuron(currents), first)
    assert neuron.membrane.item() == 0.5 + 0.75 - first.sum().item()


# ----------------------------------------------------------------------- validation
@pytest.mark.parametrize("threshold", [0.0, -1.0, torch.tensor([1.0, 0.0]), torch.tensor([-2.0])])
def test_nonpositive_threshold_raises(threshold):
    with pytest.raises(ValueError, match="threshold"):
        IFNeuron(threshold)


def test_nonfinite_parameters_raise():
    with pytest.raises(ValueError, match="threshold"):
        IFNeuron(float("inf"))
    with pytest.raises(ValueError, match="v0"):
        IFNeuron(1.0, v0=float("nan"))


@pytest.mark.parametrize("reset", ["zero", "subtract", "", None])
def test_bad_reset_raises(reset):
    with pytest.raises(ValueError, match="reset"):
        IFNeuron(1.0, reset=reset)


@pytest.mark.parametrize("gamma", [0, -1, 1.5])
def test_bad_burst_raises(gamma):
    with pytest.raises(ValueError, match="max_spikes_per_step"):
        IFNeuron(1.0, max_spikes_per_step=gamma)


def test_signed_needs_soft_reset():
    with pytest.raises(ValueError, match="signed"):
        IFNeuron(1.0, signed=True, reset="hard")


@pytest.mark.parametrize("max_count", [0, -2, 2.0])
def test_bad_max_count_raises(max_count):
    with pytest.raises(ValueError, match="max_count"):
        IFNeuron(1.0, max_count=max_count)


def test_input_without_time_axis_raises():
    with pytest.raises(ValueError, match="time axis"):
        IFNeuron(1.0)(torch.tensor(0.5))


def test_extra_repr():
    assert IFNeuron(1.0).extra_repr() == "threshold=1, v0=0, reset='soft'"
    text = repr(IFNeuron(2.0, v0=1.0, shift=0.125, reset="hard", max_spikes_per_step=3))
    assert text.startswith("IFNeuron(")
    for part in ("threshold=2", "v0=1", "shift=0.125", "reset='hard'", "max_spikes_per_step=3"):
        assert part in text
    assert "signed=True" in repr(IFNeuron(1.0, signed=True))
    assert "max_count=8" in repr(IFNeuron(1.0, max_count=8))
    assert "threshold=tensor(4,)" in repr(IFNeuron(torch.ones(4)))
