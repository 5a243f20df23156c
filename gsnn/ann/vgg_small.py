"""A small VGG-style CNN for 32×32 colour images (CIFAR-10), with a choice of activation."""

from typing import Sequence

import torch
from torch import Tensor, nn

from gsnn.ann.activation import make_activation
from gsnn.ann.pooling import make_pool


class VGGSmall(nn.Module):
    r"""Three VGG stages of two 3×3 convolutions each, then a two-layer classifier.

    Stage :math:`s` is ``(conv 3×3 – BatchNorm2d – act) × 2 – pool 2`` with width
    ``widths[s]``; the classifier is ``flatten – dropout – fc hidden – act – dropout –
    fc classes``. Convolutions have no bias (BatchNorm follows each, and folds into it at
    conversion). Average pooling by default, because a spiking network computes it exactly.
    Every activation site is its own module.

    Cost with the default widths ``(32, 64, 128)`` and ``hidden=256``: 39,160,320
    multiply-accumulates per 3×32×32 image in convolutions and linear layers, 814,570
    parameters.

    Args:
        num_classes (int): number of classes. (default: ``10``)
        activation (str): any name :func:`gsnn.ann.make_activation` knows. (default: ``"relu"``)
        widths (Sequence[int]): channels of the three stages. (default: ``(32, 64, 128)``)
        hidden (int): width of the hidden classifier layer. (default: ``256``)
        dropout (float): dropout before both classifier layers. (default: ``0.2``)
        pool (str): ``"avg"`` or ``"max"``. (default: ``"avg"``)
        in_channels (int): image channels. (default: ``3``)
        image_size (int): image height and width, divisible by 8. (default: ``32``)
        **activation_options: passed to :func:`gsnn.ann.make_activation`.

    Shapes:
        - **input:** images :math:`(N, 3, 32, 32)`
        - **output:** logits :math:`(N, C)`
    """

    def __init__(
        self,
        num_classes: int = 10,
        activation: str = "relu",
        widths: Sequence[int] = (32, 64, 128),
        hidden: int = 256,
        dropout: float = 0.2,
        pool: str = "avg",
        in_channels: int = 3,
        image_size: int = 32,
        **activation_options,
    ) -> None:
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"VGGSmall needs three stage widths, got {tuple(widths)!r}.")
        if image_size % 8:
            raise ValueError(f"VGGSmall needs an image size divisible by 8, got {image_size}.")
        layers = []
        channels = in_channels
        for width in widths:
            for _ in range(2):
                layers += [
                    nn.Conv2d(channels, width, kernel_size=3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    make_activation(activation, **activation_options),
                ]
                channels = width
            layers.append(make_pool(pool))
        self.features = nn.Sequential(*layers)
        self.dropout1 = nn.Dropout(dropout)
        self.fc1 = nn.Linear(channels * (image_size // 8) ** 2, hidden)
        self.act_fc = make_activation(activation, **activation_options)
        self.dropout2 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = torch.flatten(self.features(x), 1)
        x = self.act_fc(self.fc1(self.dropout1(x)))
        return self.fc2(self.dropout2(x))
