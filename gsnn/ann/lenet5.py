"""LeNet-5 for 28×28 grey-scale images (MNIST), with a choice of ANN-side activation."""

import torch
from torch import Tensor, nn

from gsnn.ann.activation import make_activation
from gsnn.ann.pooling import make_pool


class LeNet5(nn.Module):
    r"""LeCun's LeNet-5 in its common modern form, built to be converted.

    ``conv(1→6, 5×5, pad 2) – act – pool 2 – conv(6→16, 5×5) – act – pool 2 – flatten –
    fc 120 – act – fc 84 – act – fc 10``. Average pooling by default, because a spiking
    network computes it exactly; each of the four activation sites is its own module, so a
    trainable QCFS bound is learnt per site.

    Cost: 416,520 multiply-accumulates per image in the convolutions and linear layers
    (conv1 117,600; conv2 240,000; fc 48,000 + 10,080 + 840), 61,706 parameters.

    Args:
        num_classes (int): number of classes. (default: ``10``)
        activation (str): ``"relu"``, ``"threshold_relu"`` or ``"qcfs"`` (any name
            :func:`gsnn.ann.make_activation` knows). (default: ``"relu"``)
        pool (str): ``"avg"`` or ``"max"``. (default: ``"avg"``)
        **activation_options: passed to :func:`gsnn.ann.make_activation`
            (e.g. ``qcfs_levels=4``).

    Shapes:
        - **input:** images :math:`(N, 1, 28, 28)`
        - **output:** logits :math:`(N, C)`
    """

    def __init__(
        self,
        num_classes: int = 10,
        activation: str = "relu",
        pool: str = "avg",
        **activation_options,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.act1 = make_activation(activation, **activation_options)
        self.pool1 = make_pool(pool)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.act2 = make_activation(activation, **activation_options)
        self.pool2 = make_pool(pool)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.act3 = make_activation(activation, **activation_options)
        self.fc2 = nn.Linear(120, 84)
        self.act4 = make_activation(activation, **activation_options)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.act1(self.conv1(x)))
        x = self.pool2(self.act2(self.conv2(x)))
        x = torch.flatten(x, 1)
        x = self.act3(self.fc1(x))
        x = self.act4(self.fc2(x))
        return self.fc3(x)
