"""Random crop and flip: identity without either, exact flips, crops that are sub-windows."""

import pytest
import torch
import torch.nn.functional as F

from gsnn.data import random_crop_flip


def distinct_images(batch: int, channels: int = 3, height: int = 6, width: int = 5):
    """Images whose pixels are all different and non-zero, so zero padding stands out."""
    return torch.arange(1, batch * channels * height * width + 1, dtype=torch.float32).view(
        batch, channels, height, width
    )


def window_of(padded: torch.Tensor, output: torch.Tensor) -> tuple[int, int, bool]:
    """The (top, left, flipped) at which ``output`` is a window of ``padded``."""
    height, width = output.shape[-2:]
    matches = [
        (top, left, flipped)
        for top in range(padded.shape[-2] - height + 1)
        for left in range(padded.shape[-1] - width + 1)
        for flipped in (False, True)
        if torch.equal(
            output.flip(-1) if flipped else output,
            padded[:, top : top + height, left : left + width],
        )
    ]
    assert len(matches) == 1, f"expected exactly one matching window, found {matches}"
    return matches[0]


def test_without_padding_and_flip_the_output_equals_the_input():
    images = distinct_images(4)
    output = random_crop_flip(images, padding=0, flip=False)
    assert torch.equal(output, images)
    assert output.data_ptr() != images.data_ptr()


def test_flip_exactly_reverses_the_last_axis_of_about_half_the_images():
    images = distinct_images(200, height=3, width=4)
    generator = torch.Generator().manual_seed(0)

    output = random_crop_flip(images, padding=0, generator=generator)

    flipped = [torch.equal(out, image.flip(-1)) for out, image in zip(output, images)]
    kept = [torch.equal(out, image) for out, image in zip(output, images)]
    assert all(is_flipped != is_kept for is_flipped, is_kept in zip(flipped, kept))
    assert 70 <= sum(flipped) <= 130


def test_crops_are_windows_of_the_padded_image_at_every_offset():
    padding = 2
    images = distinct_images(300, channels=2, height=4, width=5)
    generator = torch.Generator().manual_seed(1)

    output = random_crop_flip(images, padding=padding, generator=generator)

    padded = F.pad(images, (padding,) * 4)
    windows = [window_of(padded[index], output[index]) for index in range(len(images))]
    offsets = {(top, left) for top, left, _ in windows}
    assert offsets == {(top, left) for top in range(5) for left in range(5)}
    assert {flipped for _, _, flipped in windows} == {False, True}


def test_same_generator_seed_gives_the_same_batch_and_keeps_the_dtype():
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)

    first = random_crop_flip(images, generator=torch.Generator().manual_seed(5))
    second = random_crop_flip(images, generator=torch.Generator().manual_seed(5))
    other = random_crop_flip(images, generator=torch.Generator().manual_seed(6))

    assert first.dtype == torch.uint8 and first.shape == images.shape
    assert torch.equal(first, second)
    assert not torch.equal(first, other)


@pytest.mark.parametrize(
    ("images", "padding", "complaint"),
    [
        (torch.zeros(3, 8, 8), 4, r"batch \(B, C, H, W\)"),
        (torch.zeros(2, 3, 8, 8), -1, "padding must be >= 0"),
    ],
)
def test_bad_arguments_are_refused(images, padding, complaint):
    with pytest.raises(ValueError, match=complaint):
        random_crop_flip(images, padding=padding)
