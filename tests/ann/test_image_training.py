"""Image training loop, accuracy, and reference weight files."""

import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from gsnn.ann import (
    QCFS,
    LeNet5,
    ReferenceWeights,
    image_accuracy,
    load_reference_model,
    qcfs_from_relu,
    train_image_classifier,
)


def squares(count: int, seed: int = 0) -> TensorDataset:
    """28×28 noise with a bright 8×8 square in one of three places that gives the class."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (count,), generator=generator)
    images = 0.3 * torch.rand(count, 1, 28, 28, generator=generator)
    for label, (row, col) in enumerate([(2, 2), (2, 18), (18, 10)]):
        images[labels == label, :, row : row + 8, col : col + 8] += 1.0
    return TensorDataset(images, labels)


def test_lenet_learns_a_separable_task():
    train_set, test_set = squares(192, seed=0), squares(96, seed=1)
    torch.manual_seed(0)
    model = LeNet5(num_classes=3)
    train_image_classifier(model, train_set, epochs=10, lr=0.05, batch_size=16, seed=0)
    assert not model.training
    assert image_accuracy(model, test_set, batch_size=40) >= 0.95


def test_image_accuracy_counts_correct_predictions():
    class ReadsPixel(nn.Module):  # predicts the column of the brightest pixel in row 0
        def forward(self, x):
            return x[:, 0, 0, :4]

    labels = torch.tensor([0, 1, 2, 3, 0])
    images = torch.zeros(5, 1, 2, 4)
    images[torch.arange(5), 0, 0, torch.tensor([0, 1, 2, 0, 3])] = 1.0
    dataset = TensorDataset(images, labels)
    assert image_accuracy(ReadsPixel(), dataset, batch_size=2) == pytest.approx(3 / 5)


def test_no_weight_decay_on_activation_bounds():
    class Bounded(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)
            self.threshold = nn.Parameter(torch.tensor(2.0))
            self.scale = nn.Parameter(torch.tensor(2.0))

        def forward(self, x):  # both extra parameters get zero gradient, only decay moves them
            return self.fc(x.flatten(1)) + 0 * (self.threshold + self.scale)

    model = Bounded()
    dataset = TensorDataset(torch.rand(16, 1, 2, 2), torch.randint(0, 2, (16,)))
    train_image_classifier(model, dataset, epochs=2, lr=0.1, batch_size=8, weight_decay=0.1)
    assert model.threshold.item() == 2.0
    assert model.scale.item() < 1.99


def test_seed_fixes_the_result_and_leaves_the_global_random_state_alone():
    dataset = squares(64)
    first, second = LeNet5(num_classes=3), LeNet5(num_classes=3)
    second.load_state_dict(first.state_dict())
    state = torch.random.get_rng_state()
    for model in (first, second):
        train_image_classifier(model, dataset, epochs=1, lr=0.05, batch_size=16, seed=3)
    torch.testing.assert_close(first.state_dict(), second.state_dict(), rtol=0, atol=0)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_augmentation_callable_sees_every_batch():
    batches = []

    def augment(images, generator):
        batches.append(len(images))
        return images.flip(-1)

    dataset = TensorDataset(torch.rand(21, 1, 28, 28), torch.randint(0, 10, (21,)))
    train_image_classifier(LeNet5(), dataset, epochs=1, batch_size=10, augment=augment)
    assert batches == [10, 10]  # the single trailing example is skipped (BatchNorm)


def test_bad_arguments_raise_value_errors():
    dataset = squares(8)
    with pytest.raises(ValueError, match="TensorDataset"):
        train_image_classifier(LeNet5(), [(torch.rand(1, 28, 28), 0)])
    with pytest.raises(ValueError, match="images"):
        image_accuracy(LeNet5(), TensorDataset(torch.rand(4, 28, 28), torch.zeros(4)))
    with pytest.raises(ValueError, match="schedule"):
        train_image_classifier(LeNet5(), dataset, schedule="step")
    with pytest.raises(ValueError, match="augment"):
        train_image_classifier(LeNet5(), dataset, augment="crop")


def test_weight_file_names_round_trip_and_rebuild_the_model(tmp_path):
    name = ReferenceWeights("mnist", "lenet5", "qcfs", 3, levels=4)
    assert name.file_name == "mnist-lenet5-qcfsL4-seed3.pt"
    assert ReferenceWeights.parse(f"/some/where/{name.file_name}") == name
    assert ReferenceWeights.parse("cifar10-resnet20-relu-seed0.pt").levels is None
    with pytest.raises(ValueError, match="reference weight name"):
        ReferenceWeights.parse("lenet5.pt")
    with pytest.raises(ValueError, match="Unknown reference model"):
        ReferenceWeights("mnist", "alexnet", "relu", 0).build()

    images = squares(32).tensors[0]
    relu = LeNet5().eval()
    quantised = qcfs_from_relu(relu, (images,), levels=4)
    torch.save(quantised.state_dict(), tmp_path / name.file_name)
    loaded = load_reference_model(str(tmp_path / name.file_name))
    assert isinstance(loaded, LeNet5) and not loaded.training
    assert [act.levels for act in loaded.modules() if isinstance(act, QCFS)] == [4] * 4
    torch.testing.assert_close(loaded(images), quantised(images))
