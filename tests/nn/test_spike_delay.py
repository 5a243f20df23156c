"""SpikeDelay: a time shift with zeros in front, and a clear refusal to drop events."""

import pytest
import torch

from gsnn.nn import SpikeDelay


def test_shifts_events_later_by_the_delay():
    x = torch.zeros(6, 2, 3)
    x[0, 0, 1], x[2, 1, 2] = 1.0, -1.0
    y = SpikeDelay(2)(x)
    expected = torch.zeros(6, 2, 3)
    expected[2, 0, 1], expected[4, 1, 2] = 1.0, -1.0
    assert torch.equal(y, expected)


def test_refuses_to_push_events_past_the_last_step():
    x = torch.zeros(4, 3)
    x[3, 0] = 1.0
    with pytest.raises(ValueError, match="past the last"):
        SpikeDelay(1)(x)


@pytest.mark.parametrize("steps", [0, -1, 1.5])
def test_bad_delay_is_refused(steps):
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        SpikeDelay(steps)
