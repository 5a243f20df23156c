"""A ResNet basic block small enough for exact tests (shared by several test modules)."""

from typing import Callable

import torch
from torch import nn


class BasicBlockCNN(nn.Module):
    """stem, then ``act2(conv2(act1(conv1(h))) + h)``: the identity shortcut skips one
    spiking layer, as in every ResNet basic block; then global pooling and a linear head.

    Args:
        activation: builds each activation module. (default: ``nn.ReLU``)
    """

    def __init__(self, activation: Callable[[], nn.Module] = nn.ReLU):
        super().__init__()
        self.stem, self.act0 = nn.Conv2d(3, 6, 3, padding=1), activation()
        self.conv1, self.act1 = nn.Conv2d(6, 6, 3, padding=1), activation()
        self.conv2, self.act2 = nn.Conv2d(6, 6, 3, padding=1), activation()
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.quantised_forward(x, (self.act0, self.act1, self.act2))

    def quantised_forward(self, x: torch.Tensor, activations) -> torch.Tensor:
        """The same network with its three activations replaced (a reference model)."""
        h = activations[0](self.stem(x))
        return self.head(activations[2](self.conv2(activations[1](self.conv1(h))) + h))
