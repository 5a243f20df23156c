"""Image classification on MNIST and CIFAR-10 with the reference CNNs of :mod:`gsnn.ann`."""

from typing import Any, Dict, Optional, Tuple, Type

import torch
from torch import nn
from torch.utils.data import TensorDataset

from gsnn.ann import LeNet5, ResNet20, VGGSmall, image_accuracy, train_image_classifier
from gsnn.cli.snn_evaluation import evaluate_batches
from gsnn.cli.task import Task, TaskData, TrainingDefaults
from gsnn.convert import SpikingNetwork
from gsnn.methods import ConversionMethod

# the reference CNN of each data set (LeNet-5 reads 1 channel, the others 3)
MODELS_OF = {"MNIST": ("lenet5",), "CIFAR10": ("vggsmall", "resnet20")}
# SGD peak learning rate, and whether batches are augmented (random crop and flip), as
# experiments/train_image_models.py trains the committed weights
TRAINING = {"MNIST": (0.05, False), "CIFAR10": (0.1, True)}
CALIBRATION_IMAGES, CALIBRATION_BATCH, EVALUATION_BATCH = 512, 128, 500


def fixed_subset(dataset: TensorDataset, count: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """``count`` images and labels drawn with seed 0 (in their original order): the same
    ones every run; random because the CIFAR-10 JPEG copy is sorted by class."""
    images, labels = dataset.tensors
    if count >= len(images):
        return images, labels
    chosen = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))[:count]
    chosen = chosen.sort().values
    return images[chosen], labels[chosen]


class ImageData(TaskData):
    """The training and test images of one data set; scored on the test images (or a fixed
    random ``test_limit`` of them). Conversion calibrates on 512 training images drawn with
    seed 0, in batches of 128."""

    unit = "images"
    splits = ("test",)

    def __init__(
        self, name: str, train: TensorDataset, test: TensorDataset, test_limit: Optional[int]
    ) -> None:
        self.name = name
        self.train_set = train
        self.test_images, self.test_labels = fixed_subset(test, test_limit or len(test))
        self.num_features = train.tensors[0].shape[1]
        self.num_classes = 10

    def train(self, model: nn.Module, epochs: int, seed: int, progress: bool) -> None:
        lr, augment = TRAINING[self.name]
        train_image_classifier(
            model, self.train_set, epochs=epochs, lr=lr, augment=augment, seed=seed,
            progress=progress,
        )  # fmt: skip

    def accuracy(self, model: nn.Module, split: str = "test") -> float:
        return image_accuracy(model, TensorDataset(self.test_images, self.test_labels))

    def size(self, split: str = "test") -> int:
        return len(self.test_labels)

    def calibration(self, recipe: ConversionMethod) -> Dict[str, Any]:
        images, _ = fixed_subset(self.train_set, CALIBRATION_IMAGES)
        return {"data": list(images.split(CALIBRATION_BATCH))}

    def evaluate_snn(self, snn: SpikingNetwork, progress: bool = False) -> Dict[str, Any]:
        batches = (
            ((images,), labels)
            for images, labels in zip(
                self.test_images.split(EVALUATION_BATCH), self.test_labels.split(EVALUATION_BATCH)
            )
        )
        result = evaluate_batches(snn, batches, progress)
        result["accuracy_by_split"] = {"test": result["accuracy"]}
        return result

    def input_range(self) -> Tuple[float, float]:
        images = self.train_set.tensors[0]
        return float(images.min()), float(images.max())


class ImageTask(Task):
    """The reference CNNs (LeNet-5 on MNIST, VGG-small or ResNet-20 on CIFAR-10), trained
    with momentum SGD and a one-cycle schedule as ``experiments/train_image_models.py``
    does; their architectures are fixed."""

    name = "image"
    title = "image classification"
    models = {"lenet5": LeNet5, "vggsmall": VGGSmall, "resnet20": ResNet20}
    defaults = TrainingDefaults(hidden=None, layers=None, epochs=5)

    def default_model(self, dataset: str) -> str:
        return MODELS_OF[dataset][0]

    def refusal(self, dataset: str, model: str, method: Type[ConversionMethod]) -> str:
        if model in MODELS_OF[dataset]:
            return super().refusal(dataset, model, method)
        return (
            f"--model {model} is not a model for {dataset}; choose "
            f"{' or '.join(MODELS_OF[dataset])}."
        )

    def coding_refusal(self, dataset: str, coding: str) -> str:
        if coding == "analog":
            return ""
        return (
            f"--coding {coding} takes inputs in [0, 1], but {dataset}'s pixels are standardised "
            "(mean 0, standard deviation 1) as the reference CNNs are trained; use --coding "
            "analog."
        )

    def model_options(
        self, model: str, data: TaskData, hidden: int, layers: int, residual: bool
    ) -> Dict[str, Any]:
        return {"num_classes": data.num_classes}

    def prepare(self, loaded: Tuple[str, TensorDataset, TensorDataset], seed: int,
                test_limit: Optional[int]) -> ImageData:  # fmt: skip
        return ImageData(*loaded, test_limit)


IMAGE = ImageTask()
