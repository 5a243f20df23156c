"""ResNet-20 for 32×32 colour images (CIFAR-10), with a choice of ANN-side activation."""

import torch
from torch import Tensor, nn

from gsnn.ann.activation import make_activation


class BasicBlock(nn.Module):
    r"""Two 3×3 convolutions with BatchNorm and a shortcut added before the second activation.

    ``out = act2(bn2(conv2(act1(bn1(conv1(x))))) + shortcut(x))``. The shortcut is the
    identity, or, when the block changes width or stride, a 1×1 convolution with BatchNorm
    (He et al.'s option B). The two activations are separate modules.

    Args:
        in_channels (int): input channels.
        out_channels (int): output channels.
        stride (int): stride of the first convolution and of the shortcut. (default: ``1``)
        activation (str): any name :func:`gsnn.ann.make_activation` knows. (default: ``"relu"``)
        **activation_options: passed to :func:`gsnn.ann.make_activation`.

    Shapes:
        - **input:** :math:`(N, C_{in}, H, W)`
        - **output:** :math:`(N, C_{out}, H / s, W / s)`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        activation: str = "relu",
        **activation_options,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.act1 = make_activation(activation, **activation_options)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act2 = make_activation(activation, **activation_options)
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        out = self.act1(self.bn1(self.conv1(x)))
        return self.act2(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet20(nn.Module):
    r"""He et al.'s (2016) CIFAR ResNet-20: a stem, 3 stages × 3 basic blocks, global pooling.

    ``conv 3×3 (16) – BN – act – 3 blocks (16) – 3 blocks (32, stride 2) – 3 blocks (64,
    stride 2) – global average pooling – fc``. Down-sampling blocks use a 1×1 convolution
    with BatchNorm as shortcut (option B). Every activation site is its own module
    (19 sites: the stem's and two per block).

    Cost: 40,813,184 multiply-accumulates per 3×32×32 image in convolutions and the linear
    layer, 272,474 parameters.

    Args:
        num_classes (int): number of classes. (default: ``10``)
        activation (str): any name :func:`gsnn.ann.make_activation` knows. (default: ``"relu"``)
        widths (tuple): channels of the three stages. (default: ``(16, 32, 64)``)
        blocks_per_stage (int): basic blocks per stage (3 gives ResNet-20). (default: ``3``)
        in_channels (int): image channels. (default: ``3``)
        **activation_options: passed to :func:`gsnn.ann.make_activation`.

    Shapes:
        - **input:** images :math:`(N, 3, H, W)`, typically :math:`32 \times 32`
        - **output:** logits :math:`(N, C)`
    """

    def __init__(
        self,
        num_classes: int = 10,
        activation: str = "relu",
        widths: tuple = (16, 32, 64),
        blocks_per_stage: int = 3,
        in_channels: int = 3,
        **activation_options,
    ) -> None:
        super().__init__()
        if len(widths) != 3:
            raise ValueError(f"ResNet20 needs three stage widths, got {tuple(widths)!r}.")
        if blocks_per_stage < 1:
            raise ValueError(f"ResNet20 needs blocks_per_stage >= 1, got {blocks_per_stage}.")
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.act1 = make_activation(activation, **activation_options)
        stages = []
        channels = widths[0]
        for index, width in enumerate(widths):
            blocks = []
            for block in range(blocks_per_stage):
                stride = 2 if index > 0 and block == 0 else 1
                blocks.append(BasicBlock(channels, width, stride, activation, **activation_options))
                channels = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.pool(x), 1))
