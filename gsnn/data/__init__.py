"""Data set loaders that use the ecosystem's formats, with offline-copy support."""

from gsnn.data.actor import actor
from gsnn.data.cifar10 import cifar10
from gsnn.data.image_augmentation import random_crop_flip
from gsnn.data.mirror import DatasetUnavailableError
from gsnn.data.mnist import mnist
from gsnn.data.per_class_split import per_class_random_split
from gsnn.data.planetoid import planetoid
from gsnn.data.shchur import amazon, coauthor
from gsnn.data.tu_dataset import tu_dataset, without_edge_features
from gsnn.data.webkb import webkb

__all__ = [
    "DatasetUnavailableError",
    "actor",
    "amazon",
    "cifar10",
    "coauthor",
    "mnist",
    "per_class_random_split",
    "planetoid",
    "random_crop_flip",
    "tu_dataset",
    "without_edge_features",
    "webkb",
]
