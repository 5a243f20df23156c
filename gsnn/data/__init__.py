"""Data set loaders that use the ecosystem's formats, with offline-copy support."""

from gsnn.data.cifar10 import cifar10
from gsnn.data.image_augmentation import random_crop_flip
from gsnn.data.mirror import DatasetUnavailableError
from gsnn.data.mnist import mnist
from gsnn.data.planetoid import planetoid

__all__ = ["DatasetUnavailableError", "cifar10", "mnist", "planetoid", "random_crop_flip"]
