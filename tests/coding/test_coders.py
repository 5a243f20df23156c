"""Input coders: analog (a stride-0 view), deterministic rate (O18, exact) and
Bernoulli rate (O18, statistical)."""

import pytest
import torch

from gsnn.coding import CODERS, AnalogCoder, BernoulliRateCoder, DeterministicRateCoder

F64 = torch.float64


def dyadic_unit(generator, shape, bits=6):
    """Random multiples of 2^-bits in [0, 1], both ends included."""
    return torch.randint(0, 2**bits + 1, shape, generator=generator).to(F64) / 2**bits


def test_registry():
    assert CODERS == {
        "analog": AnalogCoder,
        "bernoulli": BernoulliRateCoder,
        "deterministic": DeterministicRateCoder,
    }


# ----------------------------------------------------------------------- analog
@pytest.mark.parametrize("shape", [(5,), (7, 3), (2, 3, 4)])
def test_analog_is_a_stride0_view_equal_to_x(shape):
    x = torch.randn(shape, dtype=F64, generator=torch.Generator().manual_seed(0))
    T = 6
    out = AnalogCoder()(x, T)
    assert out.shape == (T, *shape)
    assert out.stride(0) == 0
    assert out.data_ptr() == x.data_ptr()  # a view, no copy
    for t in range(T):
        assert torch.equal(out[t], x)


def test_analog_accepts_any_real_values_and_T1():
    x = torch.tensor([-3.0, 0.0, 7.5])
    out = AnalogCoder()(x, 1)
    assert out.shape == (1, 3) and torch.equal(out[0], x)


# -------------------------------------------------------------- deterministic rate
@pytest.mark.parametrize("phase", [0.0, 0.25, 0.5, 0.75])
def test_deterministic_count_is_floor_tx_plus_phase_at_every_prefix(phase):
    generator = torch.Generator().manual_seed(1)
    x = dyadic_unit(generator, (40, 25))
    x[0, :3] = torch.tensor([0.0, 1.0, 0.5], dtype=F64)
    T = 33
    spikes = DeterministicRateCoder(phase)(x, T)
    assert spikes.shape == (T, 40, 25) and spikes.dtype == F64
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    t = torch.arange(1, T + 1, dtype=F64).view(-1, 1, 1)
    assert torch.equal(torch.cumsum(spikes, 0), torch.floor(t * x + phase))


def test_deterministic_extremes():
    spikes = DeterministicRateCoder()(torch.tensor([0.0, 1.0], dtype=F64), 9)
    assert spikes[:, 0].sum() == 0 and spikes[:, 1].sum() == 9


def test_deterministic_is_stateless_between_calls():
    coder = DeterministicRateCoder(0.5)
    x = torch.tensor([0.3125, 0.875], dtype=F64)
    assert torch.equal(coder(x, 16), coder(x, 16))


@pytest.mark.parametrize("phase", [-0.1, 1.0, 1.5])
def test_deterministic_bad_phase(phase):
    with pytest.raises(ValueError, match="phase"):
        DeterministicRateCoder(phase)


# ---------------------------------------------------------------- Bernoulli rate
def test_bernoulli_statistical_bound():
    T = 2000
    p = torch.tensor([0.0, 0.01, 0.1, 0.25, 0.5, 0.7, 0.9, 0.99, 1.0], dtype=F64)
    x = p.repeat(30)  # 30 independent neurons per probability
    spikes = BernoulliRateCoder(seed=1234)(x, T)
    assert spikes.shape == (T, x.numel()) and spikes.dtype == F64
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}
    rate = spikes.sum(0) / T
    bound = 5 * torch.sqrt(x * (1 - x) / T)
    assert bool(((rate - x).abs() <= bound).all())
    assert bool((rate[x == 0] == 0).all()) and bool((rate[x == 1] == 1).all())


def test_bernoulli_seed_reproducible():
    x = torch.rand(50, 8, generator=torch.Generator().manual_seed(3))
    a = BernoulliRateCoder(seed=7)(x, 20)
    b = BernoulliRateCoder(seed=7)(x, 20)
    assert torch.equal(a, b)
    coder = BernoulliRateCoder(seed=7)
    assert torch.equal(coder(x, 20), coder(x, 20))  # the seed restarts every call
    assert not torch.equal(a, BernoulliRateCoder(seed=8)(x, 20))
    assert a.dtype == x.dtype


def test_bernoulli_without_seed_uses_global_generator():
    x = torch.full((100,), 0.5)
    torch.manual_seed(5)
    a = BernoulliRateCoder()(x, 10)
    torch.manual_seed(5)
    b = BernoulliRateCoder()(x, 10)
    assert torch.equal(a, b)
    assert "seed=None" in repr(BernoulliRateCoder())


def test_bernoulli_steps_are_independent():
    spikes = BernoulliRateCoder(seed=0)(torch.full((500,), 0.5, dtype=F64), 8)
    assert not all(torch.equal(spikes[0], spikes[t]) for t in range(1, 8))


# ------------------------------------------------------------------------ errors
@pytest.mark.parametrize("coder", [BernoulliRateCoder(seed=0), DeterministicRateCoder()])
@pytest.mark.parametrize("bad", [[-0.01, 0.5], [0.5, 1.01], [2.0]])
def test_rate_coders_reject_values_outside_unit_interval(coder, bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        coder(torch.tensor(bad), 4)


@pytest.mark.parametrize(
    "coder", [AnalogCoder(), BernoulliRateCoder(seed=0), DeterministicRateCoder()]
)
@pytest.mark.parametrize("T", [0, -3, 2.0, True, None])
def test_coders_reject_bad_time_steps(coder, T):
    with pytest.raises(ValueError, match="time steps T"):
        coder(torch.tensor([0.5]), T)


@pytest.mark.parametrize(
    "coder", [AnalogCoder(), BernoulliRateCoder(seed=0), DeterministicRateCoder()]
)
def test_coders_accept_empty_input(coder):
    out = coder(torch.empty(0, 3), 4)
    assert out.shape == (4, 0, 3)


def test_bernoulli_error_message_names_range():
    with pytest.raises(ValueError) as info:
        BernoulliRateCoder()(torch.tensor([0.0, 3.5]), 2)
    assert "3.5" in str(info.value)


# ------------------------------------------------------------------- chunks of steps
def unit_inputs(seed=3, shape=(30, 7)):
    return dyadic_unit(torch.Generator().manual_seed(seed), shape)


CHUNKED_CODERS = [
    AnalogCoder,
    lambda: BernoulliRateCoder(seed=5),
    lambda: DeterministicRateCoder(0.5),
]


@pytest.mark.parametrize("make_coder", CHUNKED_CODERS)
@pytest.mark.parametrize("steps_per_chunk", [1, 3, 7, 11, 40])
def test_chunks_concatenate_to_the_whole_code(make_coder, steps_per_chunk):
    x, T = unit_inputs(), 11
    coder = make_coder()
    chunks = list(coder.chunks(x, T, steps_per_chunk))
    lengths = [len(chunk) for chunk in chunks]
    assert lengths == [min(steps_per_chunk, T - start) for start in range(0, T, steps_per_chunk)]
    assert torch.equal(torch.cat(chunks), coder(x, T))


def test_seeded_bernoulli_chunks_are_reproducible_and_independent_of_the_chunk_size():
    x, T = unit_inputs(), 12
    coder = BernoulliRateCoder(seed=9)
    whole = coder(x, T)
    assert torch.equal(coder(x, T), whole)  # a new generator per call
    for steps_per_chunk in (1, 5, 12):
        assert torch.equal(torch.cat(list(coder.chunks(x, T, steps_per_chunk))), whole)


def test_deterministic_chunks_carry_the_membrane():
    x, T = unit_inputs(), 13
    spikes = torch.cat(list(DeterministicRateCoder(0.25).chunks(x, T, 4)))
    t = torch.arange(1, T + 1, dtype=F64).view(-1, 1, 1)
    assert torch.equal(torch.cumsum(spikes, 0), torch.floor(t * x + 0.25))


@pytest.mark.parametrize("steps_per_chunk", [0, -2, 1.5, True])
def test_a_bad_chunk_size_is_refused(steps_per_chunk):
    with pytest.raises(ValueError, match="steps_per_chunk"):
        next(AnalogCoder().chunks(torch.rand(3), 4, steps_per_chunk))
