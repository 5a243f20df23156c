"""Mini-batch training and evaluation of image classifiers on in-memory tensors."""

import time
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import TensorDataset
from tqdm import tqdm

SCHEDULES = ("onecycle", "cosine")
Augmentation = Callable[[Tensor, torch.Generator], Tensor]


def _tensors(dataset: TensorDataset, name: str) -> tuple:
    if not isinstance(dataset, TensorDataset) or len(dataset.tensors) != 2:
        raise ValueError(
            f"{name} must be a TensorDataset of (images, labels), got {type(dataset).__name__}."
        )
    images, labels = dataset.tensors
    if images.dim() != 4 or labels.dim() != 1 or len(images) != len(labels):
        raise ValueError(
            f"{name} must hold images [N, C, H, W] and labels [N], got shapes "
            f"{tuple(images.shape)} and {tuple(labels.shape)}."
        )
    return images, labels


@torch.no_grad()
def image_accuracy(model: nn.Module, dataset: TensorDataset, batch_size: int = 1000) -> float:
    """Accuracy (in [0, 1]) of ``model`` in eval mode on a ``TensorDataset`` of images and labels.

    Shapes:
        - **dataset:** images :math:`(N, C, H, W)`, labels :math:`(N)`
    """
    images, labels = _tensors(dataset, "dataset")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    model.eval()
    correct = 0
    for start in range(0, len(images), batch_size):
        prediction = model(images[start : start + batch_size]).argmax(dim=-1)
        correct += int((prediction == labels[start : start + batch_size]).sum())
    return correct / max(len(images), 1)


def _augmentation(augment: Union[bool, Augmentation]) -> Optional[Augmentation]:
    if augment is True:
        from gsnn.data import random_crop_flip  # the loaders' module; imported only when used

        return lambda images, generator: random_crop_flip(images, padding=4, generator=generator)
    if augment is False or augment is None:
        return None
    if callable(augment):
        return augment
    raise ValueError(f"augment must be a bool or a callable, got {augment!r}.")


def _scheduler(optimizer, schedule: str, lr: float, total_steps: int):
    if schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=lr, total_steps=total_steps, cycle_momentum=False
        )
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    raise ValueError(f"Unknown schedule {schedule!r}; choose one of {SCHEDULES}.")


def train_image_classifier(
    model: nn.Module,
    train_set: TensorDataset,
    epochs: int = 10,
    lr: float = 0.1,
    batch_size: int = 128,
    weight_decay: float = 5e-4,
    augment: Union[bool, Augmentation] = False,
    seed: int = 0,
    progress: bool = False,
    schedule: str = "onecycle",
    momentum: float = 0.9,
    log: Optional[Callable[[dict], None]] = None,
) -> nn.Module:
    r"""Train with momentum SGD and cross-entropy; return the last epoch's model.

    Each epoch visits the examples in a fresh random order, in mini-batches sliced from the
    whole tensors (no data loader). The learning rate follows a one-cycle schedule peaking
    at ``lr`` or a cosine decay from ``lr``, stepped after every batch. Trainable
    activation bounds (parameters named ``threshold``, e.g. QCFS's :math:`\lambda`) get
    no weight decay. A trailing batch of a single example is skipped (BatchNorm cannot
    train on it). The order, the augmentation and the model's own randomness (dropout)
    all follow ``seed``; the global random state is left as it was.

    Args:
        model (nn.Module): classifier mapping images to logits.
        train_set (TensorDataset): ``(images float [N, C, H, W], labels int64 [N])``.
        epochs (int): passes over the training set. (default: ``10``)
        lr (float): peak (one-cycle) or initial (cosine) learning rate. (default: ``0.1``)
        batch_size (int): examples per step. (default: ``128``)
        weight_decay (float): L2 penalty on all parameters but activation bounds.
            (default: ``5e-4``)
        augment (bool or callable): ``True`` applies
            ``gsnn.data.random_crop_flip(images, padding=4)`` to every batch; a callable
            ``f(images, generator) -> images`` is applied instead. (default: ``False``)
        seed (int): seed of order, augmentation and dropout. (default: ``0``)
        progress (bool): show a progress bar over epochs. (default: ``False``)
        schedule (str): ``"onecycle"`` or ``"cosine"``. (default: ``"onecycle"``)
        momentum (float): SGD momentum. (default: ``0.9``)
        log (callable, optional): called after every epoch with a dict of ``epoch``,
            ``loss`` and ``train_accuracy`` (running means over the epoch's batches),
            ``lr`` and ``seconds``.

    Returns:
        the model, in eval mode.

    Shapes:
        - **train_set:** images :math:`(N, C, H, W)`, labels :math:`(N)`
    """
    images, labels = _tensors(train_set, "train_set")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs} and {batch_size}.")
    if lr <= 0 or weight_decay < 0:
        raise ValueError(f"lr must be > 0 and weight_decay >= 0, got {lr} and {weight_decay}.")
    transform = _augmentation(augment)
    bounds = [p for name, p in model.named_parameters() if name.endswith("threshold")]
    others = [p for name, p in model.named_parameters() if not name.endswith("threshold")]
    optimizer = torch.optim.SGD(
        [{"params": others, "weight_decay": weight_decay}, {"params": bounds, "weight_decay": 0.0}],
        lr=lr,
        momentum=momentum,
    )
    count = len(images)
    steps_per_epoch = sum(1 for start in range(0, count, batch_size) if count - start > 1)
    scheduler = _scheduler(optimizer, schedule, lr, max(epochs * steps_per_epoch, 1))
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for epoch in tqdm(range(epochs), desc="train", disable=not progress, leave=False):
            began = time.perf_counter()
            model.train()
            order = torch.randperm(count, generator=generator)
            loss_sum, correct, seen = 0.0, 0, 0
            for start in range(0, count, batch_size):
                index = order[start : start + batch_size]
                if len(index) < 2:
                    continue
                batch, target = images[index], labels[index]
                if transform is not None:
                    batch = transform(batch, generator)
                logits = model(batch)
                loss = F.cross_entropy(logits, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                loss_sum += float(loss.detach()) * len(index)
                correct += int((logits.argmax(dim=-1) == target).sum())
                seen += len(index)
            if log is not None:
                log(
                    {
                        "epoch": epoch + 1,
                        "loss": loss_sum / seen,
                        "train_accuracy": correct / seen,
                        "lr": optimizer.param_groups[0]["lr"],
                        "seconds": time.perf_counter() - began,
                    }
                )
    return model.eval()
