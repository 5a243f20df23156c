"""The standard CIFAR training augmentation, for a whole batch in a few tensor ops."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor


def random_crop_flip(
    images: Tensor,
    padding: int = 4,
    generator: Optional[torch.Generator] = None,
    *,
    flip: bool = True,
) -> Tensor:
    """Zero-pad each image, crop it back to its size at a random place, and flip it at random.

    Every image gets its own crop offsets, drawn uniformly from ``0..2 * padding`` in
    each direction, and (with ``flip``) is mirrored left to right with probability 1/2.
    All images are gathered in one indexing operation, without a Python loop.

    Args:
        images (Tensor): a batch of images, any dtype and device.
        padding (int): zeros added on every side before cropping; 0 means no
            translation. (default: ``4``)
        generator (torch.Generator, optional): source of the random offsets and flips,
            on the images' device. (default: ``None``, the global generator)
        flip (bool): flip images horizontally at random; ``False`` for data without
            left-right symmetry, e.g. digits. (default: ``True``)

    Returns:
        Tensor: the augmented batch, a new tensor.

    Shapes:
        - **images:** :math:`(B, C, H, W)`
        - **output:** :math:`(B, C, H, W)`

    Raises:
        ValueError: if ``images`` is not 4-dimensional or ``padding`` is negative.
    """
    if images.dim() != 4:
        raise ValueError(
            f"random_crop_flip expects a batch (B, C, H, W), got shape {tuple(images.shape)}."
        )
    if padding < 0:
        raise ValueError(f"padding must be >= 0, got {padding}.")
    batch, _, height, width = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    top = torch.randint(0, 2 * padding + 1, (batch, 1), generator=generator, device=device)
    left = torch.randint(0, 2 * padding + 1, (batch, 1), generator=generator, device=device)
    rows = top + torch.arange(height, device=device)  # (B, H)
    columns = left + torch.arange(width, device=device)  # (B, W)
    if flip:
        flipped = torch.rand((batch, 1), generator=generator, device=device) < 0.5
        columns = torch.where(flipped, columns.flip(-1), columns)
    batch_index = torch.arange(batch, device=device).view(batch, 1, 1)
    # Advanced indices on dims 0, 2 and 3 around the channel slice put the channels last.
    cropped = padded[batch_index, :, rows.unsqueeze(2), columns.unsqueeze(1)]  # (B, H, W, C)
    return cropped.permute(0, 3, 1, 2).contiguous()
