"""What calibration keeps of the activations at one site: maxima and non-zero values."""

from dataclasses import dataclass
from typing import Sequence, Tuple

import torch
from torch import Tensor

# Non-zero activations kept per site for percentiles: exact up to this many values,
# a uniform random subsample (fixed seed) beyond, e.g. for many images of a wide CNN layer.
MAX_KEPT_VALUES = 1 << 22


@dataclass
class SiteStatistics:
    """What calibration saw at one activation site.

    Attributes:
        max (float): largest activation (exact).
        channel_max (Tensor): largest activation per channel (axis 1 of
            :math:`(N, F)` node features or :math:`(B, C, H, W)` feature maps), :math:`(C,)`.
        nonzero (Tensor): the non-zero activations, sorted ascending, :math:`(M,)`;
            all of them up to :data:`MAX_KEPT_VALUES`, else a uniform random subsample
            of that size (fixed seed).
        nonzero_channel (Tensor): the channel of each value in ``nonzero``, :math:`(M,)`.
        count (int): number of activations seen (zeros included).
    """

    max: float
    channel_max: Tensor
    nonzero: Tensor
    nonzero_channel: Tensor
    count: int

    @classmethod
    def from_activations(cls, activations: Tensor) -> "SiteStatistics":
        """Summarise activations of shape :math:`(N, C, *)`."""
        return cls.from_batches([activations])

    @classmethod
    def from_batches(cls, batches: Sequence[Tensor]) -> "SiteStatistics":
        """Summarise the activations of several batches, each of shape :math:`(N_i, C, *)`."""
        return cls.from_parts([summary_parts(activations) for activations in batches])

    @classmethod
    def from_parts(cls, parts: Sequence[Tuple[Tensor, Tensor, Tensor, int]]) -> "SiteStatistics":
        """Merge per-batch :func:`summary_parts` (so full activations need not be kept)."""
        if not parts:
            raise ValueError("Calibration needs at least one batch of activations.")
        channel_max = torch.stack([part[0] for part in parts]).max(dim=0).values
        channel_max = channel_max.nan_to_num(neginf=0.0)  # channels never seen
        count = sum(part[3] for part in parts)
        values = torch.cat([part[1] for part in parts])
        channels = torch.cat([part[2] for part in parts])
        if values.numel() > MAX_KEPT_VALUES:
            generator = torch.Generator().manual_seed(0)
            keep = torch.randperm(values.numel(), generator=generator)[:MAX_KEPT_VALUES]
            keep = torch.cat([keep, values.argmax().view(1)])  # the exact maximum stays
            values, channels = values[keep], channels[keep]
        values, order = values.sort()
        return cls(
            max=float(channel_max.max()) if count else 0.0,
            channel_max=channel_max,
            nonzero=values,
            nonzero_channel=channels[order],
            count=count,
        )

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0-100) of the non-zero activations, linear interpolation.

        Computed on the sorted values (no per-batch estimate). Returns 0
        when the site never activated.
        """
        if not 0 < p <= 100:
            raise ValueError(f"percentile must lie in (0, 100], got {p!r}.")
        values = self.nonzero
        if values.numel() == 0:
            return 0.0
        position = (values.numel() - 1) * p / 100.0
        low = int(position)
        high = min(low + 1, values.numel() - 1)
        fraction = position - low
        return float(values[low] * (1 - fraction) + values[high] * fraction)

    def channel_percentile(self, p: float) -> Tensor:
        """The ``p``-th percentile of every channel's non-zero activations, :math:`(C,)`.

        The same linear interpolation as :meth:`percentile`, over the kept values
        of each channel; 0 for a channel that never activated.
        """
        if not 0 < p <= 100:
            raise ValueError(f"percentile must lie in (0, 100], got {p!r}.")
        channels = self.channel_max.numel()
        counts = torch.bincount(self.nonzero_channel, minlength=channels)
        if self.nonzero.numel() == 0:
            return torch.zeros(channels, dtype=self.nonzero.dtype)
        # a stable sort by channel keeps each channel's values ascending
        grouped = self.nonzero[torch.sort(self.nonzero_channel, stable=True).indices]
        starts = counts.cumsum(0) - counts
        position = (counts - 1).clamp(min=0).double() * p / 100.0
        low = position.long()
        high = torch.minimum(low + 1, (counts - 1).clamp(min=0))
        fraction = (position - low).to(grouped.dtype)
        last = grouped.numel() - 1
        below = grouped[(starts + low).clamp(max=last)]
        above = grouped[(starts + high).clamp(max=last)]
        value = below * (1 - fraction) + above * fraction
        return torch.where(counts > 0, value, torch.zeros_like(value))


def summary_parts(activations: Tensor) -> Tuple[Tensor, Tensor, Tensor, int]:
    """Per-channel maxima :math:`(C,)` (``-inf`` without rows), the non-zero values and
    their channels, and the number of values."""
    per_channel = activations.detach().transpose(0, 1).reshape(activations.shape[1], -1)
    if per_channel.shape[1]:
        channel_max = per_channel.max(dim=1).values
    else:
        channel_max = per_channel.new_full((per_channel.shape[0],), float("-inf"))
    active = per_channel != 0
    channel, _ = active.nonzero(as_tuple=True)
    return channel_max, per_channel[active], channel, per_channel.numel()
