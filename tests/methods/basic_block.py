"""A ResNet basic block small enough for exact tests."""

import torch
from torch import nn


class BasicBlockCNN(nn.Module):
    """stem, then ``relu(conv2(relu(conv1(h))) + h)``: the identity shortcut skips one
    spiking layer, as in every ResNet basic block; then global pooling and a linear head."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 6, 3, padding=1)
        self.conv1, self.conv2 = nn.Conv2d(6, 6, 3, padding=1), nn.Conv2d(6, 6, 3, padding=1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 4))

    def forward(self, x):
        return self.quantised_forward(x, (torch.relu,) * 3)

    def quantised_forward(self, x, activations):
        """The same network with its three activations replaced (a reference model)."""
        h = activations[0](self.stem(x))
        return self.head(activations[2](self.conv2(activations[1](self.conv1(h))) + h))
