"""Train the reference CNNs (ReLU, and QCFS fine-tuned from it) and save their weights.

Reproduce the committed weights (GSNN_DATA_MIRROR=../shared/datasets for the offline copies;
on 2 shared CPU cores about 7 minutes for MNIST, 40 minutes per CIFAR-10 model):

    python experiments/train_image_models.py --dataset mnist --model lenet5 \
        --seeds 0 1 2 3 4 --epochs 6 --lr 0.05 --qcfs-levels 4 --qcfs-epochs 2
    python experiments/train_image_models.py --dataset cifar10 --model vggsmall \
        --seeds 0 --epochs 8 --qcfs-levels 8 --qcfs-epochs 2 --augment
    python experiments/train_image_models.py --dataset cifar10 --model resnet20 \
        --seeds 0 --epochs 8 --qcfs-levels 8 --qcfs-epochs 2 --augment
    # QCFS L = 4 and threshold-ReLU files from the same ReLU models (existing files are kept)
    python experiments/train_image_models.py --dataset mnist --model lenet5 \
        --seeds 0 1 2 3 4 --epochs 6 --lr 0.05 --qcfs-levels 4 --qcfs-epochs 2 \
        --threshold-relu-epochs 2
    python experiments/train_image_models.py --dataset cifar10 --model vggsmall \
        --seeds 0 --epochs 8 --qcfs-levels 4 --qcfs-epochs 4 --threshold-relu-epochs 2 --augment
    python experiments/train_image_models.py --dataset cifar10 --model resnet20 \
        --seeds 0 --epochs 8 --qcfs-levels 4 --qcfs-epochs 4 --threshold-relu-epochs 2 --augment

(the exact command of every file is in ``experiments/results/image_training.md``).

For every seed it trains the plain-ReLU model (``<dataset>-<model>-relu-seed<k>.pt``), then
turns it into a QCFS model with ``gsnn.ann.qcfs_from_relu`` (bounds at a percentile of the
positive activations on ``--calibration`` training images, a fixed random subset: the CIFAR-10
JPEG copy is sorted by class) and fine-tunes that for
``--qcfs-epochs`` epochs (``<dataset>-<model>-qcfsL<L>-seed<k>.pt``). With
``--threshold-relu-epochs`` it also fine-tunes the ReLU model with every activation clipped
at 1 (``<dataset>-<model>-threshold_relu-seed<k>.pt``, for the ``optimal`` method). Files go to
``experiments/weights/``; a file that already exists is loaded instead of retrained, so a
rerun resumes. Every finished file appends a line to
``experiments/results/image_training.jsonl``, from which ``image_training.md`` is rewritten.
Test accuracy is measured once, after training (no model selection on the test set).

``gsnn.ann.load_reference_model(path)`` rebuilds the model a weight file's name describes.
"""

import argparse
import json
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

from gsnn.ann import (
    ReferenceWeights,
    image_accuracy,
    load_reference_model,
    qcfs_from_relu,
    train_image_classifier,
)

HERE = Path(__file__).parent
WEIGHTS = HERE / "weights"
RESULTS = HERE / "results"
JOURNAL = RESULTS / "image_training.jsonl"


def load_dataset(dataset: str, split: str) -> TensorDataset:
    import gsnn.data

    if dataset == "mnist":
        return gsnn.data.mnist(split)
    if dataset == "cifar10":
        return gsnn.data.cifar10(split)
    raise ValueError(f"Unknown dataset {dataset!r}; choose 'mnist' or 'cifar10'.")


def data_copy(dataset: TensorDataset, name: str) -> str:
    """Which copy of the data a number was measured on."""
    source = getattr(dataset, "source", None)
    if source is not None:
        return str(source)
    if name == "cifar10":
        return "JPEG q75 copy from GSNN_DATA_MIRROR"
    return "IDX files (canonical MNIST)"


def epoch_logger(label: str):
    def log(stats: dict) -> None:
        print(
            f"{time.strftime('%H:%M:%S')} {label} epoch {stats['epoch']}: loss {stats['loss']:.4f}"
            f" train acc {100 * stats['train_accuracy']:.2f} lr {stats['lr']:.4g}"
            f" {stats['seconds']:.0f} s",
            flush=True,
        )

    return log


def record(entry: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    with JOURNAL.open("a") as journal:
        journal.write(json.dumps(entry) + "\n")
    write_markdown()


def write_markdown() -> None:
    entries = [json.loads(line) for line in JOURNAL.read_text().splitlines() if line.strip()]
    latest = {entry["file"]: entry for entry in entries}  # a retrained file replaces its row
    lines = [
        "# Reference image classifiers: trained weights",
        "",
        "Written by `experiments/train_image_models.py` from `image_training.jsonl`. Test "
        "accuracy on the full test split, measured once after training. QCFS rows start "
        "from the ReLU file of the same seed (`qcfs_from_relu` calibration, then the "
        "fine-tune epochs listed); their train time is the fine-tune only. "
        "Threads: torch threads used (the machine has 2 cores, shared with other jobs, so "
        "seconds per epoch vary with their load). Data copy: `dataset.source` of the loader; "
        "`jpeg-folder` is the lossy JPEG q75 CIFAR-10 copy from GSNN_DATA_MIRROR (not the "
        "official batches), `idx-files` the canonical MNIST files.",
        "",
        "| file | seed | epochs | lr | threads | train time (s) | s / epoch "
        "| calibration | calibrated, before fine-tune (%) | test accuracy (%) | data copy "
        "| command |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in sorted(latest.values(), key=lambda e: e["file"]):
        before = entry.get("accuracy_before_finetune")
        lines.append(
            f"| `{entry['file']}` | {entry['seed']} | {entry['epochs']} | {entry['lr']:g} | "
            f"{entry['threads']} | {entry['train_seconds']:.0f} | "
            f"{entry['train_seconds'] / entry['epochs']:.0f} | "
            f"{entry.get('calibration', '')} | "
            f"{'' if before is None else f'{100 * before:.2f}'} | "
            f"{100 * entry['test_accuracy']:.2f} | {entry['data_copy']} | "
            f"`{entry['command']}` |"
        )
    (RESULTS / "image_training.md").write_text("\n".join(lines) + "\n")


@dataclass
class Run:
    """What every weight file of one seed shares: settings, data, provenance."""

    args: argparse.Namespace
    seed: int
    train_set: TensorDataset
    test_set: TensorDataset
    command: str
    data_copy: str


def train_and_save(
    model, name: ReferenceWeights, epochs: int, lr: float, schedule: str, run: Run, **extra
) -> None:
    """Train ``model``, save its state dict under ``name``, measure it and journal it."""
    args = run.args
    began = time.perf_counter()
    train_image_classifier(
        model, run.train_set, epochs=epochs, lr=lr, batch_size=args.batch_size,
        weight_decay=args.weight_decay, augment=args.augment, seed=run.seed,
        schedule=schedule, log=epoch_logger(name.file_name),
    )  # fmt: skip
    seconds = time.perf_counter() - began
    path = WEIGHTS / name.file_name
    torch.save(model.state_dict(), path)
    accuracy = image_accuracy(model, run.test_set)
    print(f"saved {path}: test accuracy {100 * accuracy:.2f}", flush=True)
    record(
        dict(
            file=name.file_name, seed=run.seed, epochs=epochs, lr=lr, threads=args.threads,
            train_seconds=seconds, test_accuracy=accuracy, data_copy=run.data_copy,
            command=run.command, **extra,
        )
    )  # fmt: skip


def finetune(
    name: ReferenceWeights, state: dict, epochs: int, lr: float, run: Run, calibration: str
) -> None:
    """Build ``name``'s model from ``state`` (a model with the same module names), measure it,
    then fine-tune it with a cosine schedule and save it."""
    model = name.build()
    model.load_state_dict(state)
    before = image_accuracy(model, run.test_set)
    print(f"{name.file_name}: test accuracy before fine-tuning {100 * before:.2f}", flush=True)
    train_and_save(
        model, name, epochs, lr, "cosine", run,
        accuracy_before_finetune=before, calibration=calibration,
    )  # fmt: skip


def already_saved(name: ReferenceWeights) -> bool:
    """Whether ``name``'s file exists (it is then kept, not retrained)."""
    path = WEIGHTS / name.file_name
    if path.exists():
        print(f"exists {path}", flush=True)
    return path.exists()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("mnist", "cifar10"), required=True)
    parser.add_argument("--model", choices=("lenet5", "vggsmall", "resnet20"), required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=4, help="ReLU training epochs")
    parser.add_argument("--lr", type=float, default=0.1, help="peak one-cycle learning rate")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--augment", action="store_true", help="random crop (pad 4) and flip")
    parser.add_argument("--qcfs-levels", type=int, default=8)
    parser.add_argument("--qcfs-epochs", type=int, default=2, help="0: no QCFS model")
    parser.add_argument("--qcfs-lr", type=float, default=0.01, help="cosine from this value")
    parser.add_argument("--calibration", type=int, default=512, help="images for the bounds")
    parser.add_argument("--percentile", type=float, default=99.9)
    parser.add_argument(
        "--threshold-relu-epochs", type=int, default=0, help="0: no threshold-ReLU model"
    )
    parser.add_argument("--threshold-relu-lr", type=float, default=0.01, help="cosine from this")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    command = " ".join(
        ["python", "experiments/train_image_models.py", *map(shlex.quote, sys.argv[1:])]
    )
    mirror = os.environ.get("GSNN_DATA_MIRROR")
    if mirror:
        command = f"GSNN_DATA_MIRROR={mirror} {command}"
    train_set = load_dataset(args.dataset, "train")
    test_set = load_dataset(args.dataset, "test")
    copy = data_copy(train_set, args.dataset)
    WEIGHTS.mkdir(exist_ok=True)
    for seed in args.seeds:
        run = Run(args, seed, train_set, test_set, command, copy)
        relu_name = ReferenceWeights(args.dataset, args.model, "relu", seed)
        relu_path = WEIGHTS / relu_name.file_name
        if relu_path.exists():
            relu_model = load_reference_model(str(relu_path))
            print(f"loaded {relu_path}", flush=True)
        else:
            relu_model = relu_name.build()
            train_and_save(relu_model, relu_name, args.epochs, args.lr, "onecycle", run)
        # every ReLU clipped at 1 (ThresholdReLU, the ANN of Deng & Gu's optimal conversion)
        clipped_name = ReferenceWeights(args.dataset, args.model, "threshold_relu", seed)
        if args.threshold_relu_epochs > 0 and not already_saved(clipped_name):
            finetune(
                clipped_name, relu_model.state_dict(), args.threshold_relu_epochs,
                args.threshold_relu_lr, run, calibration="none (clip at 1)",
            )  # fmt: skip
        qcfs_name = ReferenceWeights(args.dataset, args.model, "qcfs", seed, args.qcfs_levels)
        if args.qcfs_epochs < 1 or already_saved(qcfs_name):
            continue
        subset = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))
        calibration = train_set.tensors[0][subset[: args.calibration]]
        calibrated = qcfs_from_relu(
            relu_model, (calibration,), levels=args.qcfs_levels, percentile=args.percentile
        )
        finetune(
            qcfs_name, calibrated.state_dict(), args.qcfs_epochs, args.qcfs_lr, run,
            calibration=f"{len(calibration)} random training images (seed 0)",
        )  # fmt: skip


if __name__ == "__main__":
    main()
