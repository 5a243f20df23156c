"""ANN vs converted SNN on MNIST and CIFAR-10, for every method and T.

Reproduce the committed results (weights from ``experiments/train_image_models.py``, offline
data copies through ``GSNN_DATA_MIRROR``):

    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset mnist --models lenet5 --seeds 0 1 2 3 4 --test-images 10000
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 0 --test-images 1000 \
        --qcfs-levels 8
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 0 --test-images 1000 \
        --qcfs-levels 4 --variants qcfs two-phase "dual-phase v0"
    # the targets on the full test set
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 0 --test-images 10000 \
        --qcfs-levels 4 --variants qcfs --max-T 8
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall --seeds 0 --test-images 10000 --variants rate

    # dual-phase with stage 2b: ResNet-20 only (also run with --test-images 10000)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 0 --test-images 1000 \
        --qcfs-levels 4 --variants dual-phase

    # seed 1 (weights from train_image_models.py --seeds 1): the target rows
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 1 --test-images 10000 \
        --qcfs-levels 4 --variants qcfs --max-T 8
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 1 --test-images 10000 \
        --qcfs-levels 4 --variants dual-phase
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 1 --test-images 1000 --variants rate

    # seed 2 (weights from train_image_models.py --seeds 2): the target rows
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 2 --test-images 10000 \
        --qcfs-levels 4 --variants qcfs "two-phase signed" --max-T 8
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 2 --test-images 1000 \
        --variants rate "rate initial_potential=0.5"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 2 --test-images 10000 \
        --qcfs-levels 4 --variants dual-phase

    # seeds 3 and 4 (weights from train_image_models.py --seeds 3, --seeds 4): the same rows
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 3 4 --test-images 10000 \
        --qcfs-levels 4 --variants qcfs "two-phase signed" --max-T 8
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 3 4 --test-images 1000 \
        --variants rate "rate initial_potential=0.5"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 3 4 --test-images 10000 \
        --qcfs-levels 4 --variants dual-phase

    # the other methods side by side on seed 1 (1,000 images)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 1 --test-images 1000 \
        --qcfs-levels 4 --variants "burst G=2" "one-spike B=1.5" css "phase K=8" two-phase

    # optimal on seeds 2-4 (threshold-ReLU weights from train_image_models.py --seeds 2 3 4
    # ... --threshold-relu-epochs 2)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall resnet20 --seeds 2 3 4 --test-images 1000 \
        --variants optimal "optimal shift=initial"

    # half-threshold initial potential: rate (option initial_potential=0.5) and optimal
    # (option shift="initial")
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset mnist --models lenet5 --seeds 0 1 2 3 4 --test-images 10000 \
        --variants "rate initial_potential=0.5" "optimal shift=initial"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 0 1 --test-images 1000 \
        --variants "rate initial_potential=0.5"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 0 --test-images 1000 \
        --variants "optimal shift=initial"
    # seed 1 threshold-ReLU weights (train_image_models.py --seeds 1 ... --threshold-relu-epochs 2)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 1 --test-images 1000 \
        --variants "optimal shift=initial"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 1 --test-images 1000 \
        --variants optimal --max-T 8
    # (then the larger T, one model per process)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 1 --test-images 1000 --variants optimal
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall --seeds 1 --test-images 1000 --variants optimal

    # signed two-phase (one online window with -1 spikes)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset mnist --models lenet5 --seeds 0 1 2 3 4 --test-images 10000 \
        --variants "two-phase signed"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 0 --test-images 1000 \
        --qcfs-levels 4 --variants "two-phase signed"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 0 1 --test-images 10000 \
        --qcfs-levels 4 --variants "two-phase signed" --max-T 8

    # qcfs with signed bursts (up to T spikes of either sign per step, net count in [0, T]):
    # exact at T = L at any depth (docs/methods.md O22c); 1 torch thread, nice -n 10
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 0 1 2 3 4 --test-images 10000 \
        --qcfs-levels 4 --variants "qcfs signed bursts" --max-T 4

    # channel-wise thresholds (Kim et al.), alone and with v0 = θ/2
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 0 --test-images 1000 \
        --variants "rate channel-wise"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 2 0 1 3 4 --test-images 1000 \
        --variants "rate channel-wise initial_potential=0.5"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall --seeds 0 1 2 3 4 --test-images 1000 \
        --variants "rate channel-wise" "rate channel-wise initial_potential=0.5"
    # the plain recipe with another percentile
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 vggsmall --seeds 0 --test-images 1000 \
        --variants "rate p=99" "rate p=99.99"
    # the other methods on seeds 2-4 (phase K=8 on VGG-small seed 2 only; ResNet-20: burst,
    # one-spike and CSS only)
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall --seeds 2 --test-images 1000 \
        --qcfs-levels 4 --variants "burst G=2" "one-spike B=1.5" css two-phase "phase K=8"
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models vggsmall --seeds 3 4 --test-images 1000 \
        --qcfs-levels 4 --variants "burst G=2" "one-spike B=1.5" css two-phase
    GSNN_DATA_MIRROR=../shared/datasets python experiments/image_classification.py \
        --dataset cifar10 --models resnet20 --seeds 2 3 4 --test-images 1000 \
        --variants css "one-spike B=1.5" "burst G=2"

Every (dataset, model, seed, variant) appends its rows to
``experiments/results/image_classification.jsonl``; a rerun runs only the T not yet there.
The markdown ``image_classification.md`` and the plots are rewritten from the whole journal.

Protocol:
- ANNs: the committed reference weights ``<dataset>-<model>-<variant>-seed<k>.pt``; ``relu``
  for rate, burst, one-spike, CSS and phase coding, ``threshold_relu`` for optimal,
  ``qcfsL<L>`` (``--qcfs-levels``) for qcfs, two-phase and dual-phase. For dual-phase the
  QCFS fine-tune stands in for stage 1 (the method accepts QCFS sites); stage 2 calibrates
  on the calibration images only: ``dual-phase v0`` runs stage 2a (initial potentials),
  ``dual-phase`` stages 2a and 2b (weights, 20 epochs at most, patience 5, early stopping on
  a held-out quarter of the calibration images).
- Calibration: ``--calibration-images`` training images (a fixed random subset, seed 0),
  given to ``gsnn.convert`` as a list of batches (labels unused). Never test images.
- Test: the first ``--test-images`` of a fixed random permutation (seed 0) of the test set;
  the ANN is evaluated on the same images. With fewer than 10,000 images this is stated in
  every table.
- Online codes whose neurons do not depend on ``T`` (rate, qcfs, burst, optimal with
  ``shift="initial"``) run once at the
  largest ``T`` of their grid; accuracy and statistics at every smaller ``T`` are read from
  the same run (``snn.last_step_logits``, ``SpikeStats.truncated``), which equals a separate
  run at that ``T`` (tests/metrics/test_truncated_stats.py). Windowed codes, and optimal with
  its per-step shift θ/2T, run once per ``T``. ``--max-T`` drops the larger ``T`` of every grid.
- Input coding: analog (the normalised image is the first layer's input current).
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

import gsnn
import gsnn.data
from gsnn.ann import ReferenceWeights, load_reference_model

HERE = Path(__file__).parent
RESULTS = HERE / "results"
WEIGHTS = HERE / "weights"
JOURNAL = RESULTS / "image_classification.jsonl"
MODEL_NAMES = {"lenet5": "LeNet-5", "vggsmall": "VGG-small", "resnet20": "ResNet-20"}
# (row label, method, method options, ANN weight variant, T grid, one run read at every T)
VARIANTS = [
    ("rate", "rate", {}, "relu", [1, 2, 4, 8, 16, 32, 64], True),
    ("rate p=99", "rate", {"percentile": 99.0}, "relu", [1, 2, 4, 8, 16, 32, 64], True),
    ("rate p=99.99", "rate", {"percentile": 99.99}, "relu", [1, 2, 4, 8, 16, 32, 64], True),
    (
        "rate initial_potential=0.5",
        "rate",
        {"initial_potential": 0.5},
        "relu",
        [1, 2, 4, 8, 16, 32, 64],
        True,
    ),
    ("rate channel-wise", "rate", {"channel_wise": True}, "relu", [1, 2, 4, 8, 16, 32, 64], True),
    (
        "rate channel-wise initial_potential=0.5",
        "rate",
        {"channel_wise": True, "initial_potential": 0.5},
        "relu",
        [1, 2, 4, 8, 16, 32, 64],
        True,
    ),
    ("optimal", "optimal", {}, "threshold_relu", [2, 4, 8, 16, 32, 64], False),
    (
        "optimal shift=initial",
        "optimal",
        {"shift": "initial"},
        "threshold_relu",
        [1, 2, 4, 8, 16, 32, 64],
        True,
    ),
    ("qcfs", "qcfs", {}, "qcfs", [1, 2, 4, 8, 16, 32], True),
    # Γ = T and a net-count cap of T: a run at one T is not a truncation of a longer one
    ("qcfs signed bursts", "qcfs", {"signed": True, "burst": None}, "qcfs", [4, 8], False),
    ("burst G=2", "burst", {"burst": 2}, "relu", [1, 2, 4, 8, 16, 32], True),
    ("two-phase", "two-phase", {}, "qcfs", [2, 4, 8, 16], False),
    ("two-phase signed", "two-phase", {"signed": True}, "qcfs", [1, 2, 4, 8, 16, 32], True),
    ("dual-phase v0", "dual-phase", {"calibrate_weights": False}, "qcfs", [2, 4, 8, 16], False),
    ("dual-phase", "dual-phase", {"epochs": 20, "patience": 5}, "qcfs", [8], False),
    ("one-spike B=1.5", "one-spike", {"base": 1.5}, "relu", [4, 8, 16], False),
    ("css", "css", {}, "relu", [4, 8, 16], False),
    ("phase K=8", "phase", {"period": 8}, "relu", [8, 16, 32, 64], False),
]
VARIANT_LABELS = [variant[0] for variant in VARIANTS]


def weight_file(dataset, model, variant, seed, qcfs_levels=None):
    """The committed weight file of a variant; ``qcfs`` is ``qcfsL<qcfs_levels>``, or the
    only QCFS file of that model and seed when ``qcfs_levels`` is ``None``."""
    if variant != "qcfs":
        return WEIGHTS / f"{dataset}-{model}-{variant}-seed{seed}.pt"
    if qcfs_levels is not None:
        return WEIGHTS / f"{dataset}-{model}-qcfsL{qcfs_levels}-seed{seed}.pt"
    matches = sorted(WEIGHTS.glob(f"{dataset}-{model}-qcfsL*-seed{seed}.pt"))
    if len(matches) != 1:
        found = ", ".join(path.name for path in matches) or "none"
        raise FileNotFoundError(
            f"expected one QCFS weight file for {dataset} {model} seed {seed} (found: {found}); "
            "choose one with --qcfs-levels"
        )
    return matches[0]


def ann_variant(row):
    """Which ANN a row converted: the variant part of its weight file (``relu``, ``qcfsL8``)."""
    return ReferenceWeights.parse(row["weights"]).variant


def fixed_subset(dataset, count, seed=0):
    """The first ``count`` items of a fixed random permutation: (images, labels)."""
    images, labels = dataset.tensors
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:count]
    return images[order], labels[order]


def batches_of(tensor, size):
    return [tensor[i : i + size] for i in range(0, len(tensor), size)]


@torch.no_grad()
def ann_accuracy(model, images, labels, batch_size):
    correct = sum(
        int((model(batch).argmax(-1) == target).sum())
        for batch, target in zip(batches_of(images, batch_size), batches_of(labels, batch_size))
    )
    return correct / len(labels)


@torch.no_grad()
def evaluate(snn, images, labels, steps_to_report, batch_size):
    """Accuracy and cost after each of ``steps_to_report`` steps, summed over the test batches.

    A step count below ``snn.T`` reads the prefix of the run (online codes only).
    """
    totals = {
        t: dict(correct=0, spikes=0.0, neuron_samples=0, sops=0.0, snn_pj=0.0, ann_pj=0.0)
        for t in steps_to_report
    }
    for batch, target in zip(batches_of(images, batch_size), batches_of(labels, batch_size)):
        snn(batch)
        for t in steps_to_report:
            prefix = t < snn.T
            stats = snn.last_stats.truncated(t) if prefix else snn.last_stats
            logits = snn.last_step_logits[t - 1 if prefix else -1]
            total = totals[t]
            total["correct"] += int((logits.argmax(-1) == target).sum())
            total["spikes"] += stats.spikes
            total["neuron_samples"] += stats.neurons
            total["sops"] += stats.synaptic_ops
            total["snn_pj"] += stats.energy_pj
            total["ann_pj"] += stats.ann_energy_pj
    return {
        t: {
            "snn_accuracy": total["correct"] / len(labels),
            "spikes_per_neuron": total["spikes"] / total["neuron_samples"],
            "synaptic_ops_per_image": total["sops"] / len(labels),
            "energy_ratio": total["snn_pj"] / total["ann_pj"],
        }
        for t, total in totals.items()
    }


def run(args):
    train_set = load_split(args.dataset, "train")
    test_set = load_split(args.dataset, "test")
    calibration_images, _ = fixed_subset(train_set, args.calibration_images)
    calibration = batches_of(calibration_images, args.batch_size)
    images, labels = fixed_subset(test_set, args.test_images)
    source = getattr(test_set, "source", "unknown")
    for model_name in args.models:
        for seed in args.seeds:
            done = {
                (row["model"], row["seed"], row["variant"], row["weights"], row["T"])
                for row in read_journal(args.journal)
                if row["dataset"] == args.dataset and row["test_images"] == len(labels)
            }
            for label, method, options, variant, grid, one_run in VARIANTS:
                if label not in args.variants:
                    continue
                path = weight_file(args.dataset, model_name, variant, seed, args.qcfs_levels)
                grid = [
                    T
                    for T in grid
                    if T <= args.max_T and (model_name, seed, label, path.name, T) not in done
                ]
                if not grid:
                    continue
                model = load_reference_model(str(path))
                ann = ann_accuracy(model, images, labels, args.batch_size)
                runs = [(max(grid), grid)] if one_run else [(T, [T]) for T in grid]
                rows = []
                for T, reported in runs:
                    if T % options.get("period", 1):
                        continue
                    started = time.time()
                    snn = gsnn.convert(model, calibration, method=method, T=T, **options)
                    results = evaluate(snn, images, labels, reported, args.batch_size)
                    seconds = time.time() - started
                    for t, result in results.items():
                        rows.append(
                            {
                                "dataset": args.dataset,
                                "data_source": source,
                                "model": model_name,
                                "seed": seed,
                                "variant": label,
                                "method": method,
                                "method_options": options,
                                "weights": path.name,
                                "T": t,
                                "latency_steps": snn.method.latency(snn.depth, t),
                                "coding": "analog",
                                "test_images": len(labels),
                                "calibration_images": len(calibration_images),
                                "ann_accuracy": ann,
                                "seconds": seconds,
                                **result,
                            }
                        )
                    print(
                        f"{args.dataset} {model_name} seed={seed} {label} T={T}: ANN {ann:.4f} "
                        f"SNN {results[T]['snn_accuracy']:.4f} ({seconds:.0f}s)",
                        flush=True,
                    )
                with open(args.journal, "a") as handle:
                    handle.writelines(json.dumps(row) + "\n" for row in rows)


def load_split(dataset, split):
    if dataset == "mnist":
        return gsnn.data.mnist(split)
    if dataset == "cifar10":
        return gsnn.data.cifar10(split)
    raise ValueError(f"Unknown dataset {dataset!r}; choose 'mnist' or 'cifar10'.")


def read_journal(journal):
    """All rows written so far; a unit run twice counts once."""
    if not journal.exists():
        return []
    rows = {}
    for line in journal.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            key = (row["dataset"], row["model"], row["seed"], row["variant"], row["weights"])
            key += (row["test_images"], row["T"])
            rows.setdefault(key, row)
    return list(rows.values())


def mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def summarise(rows):
    groups = {}
    for row in rows:
        key = (row["dataset"], row["model"], row["variant"], ann_variant(row))
        key += (row["test_images"], row["T"])
        groups.setdefault(key, []).append(row)
    summary = []
    for (dataset, model, variant, ann, images, T), group in groups.items():
        entry = {"dataset": dataset, "model": model, "variant": variant, "ann": ann, "T": T}
        entry["seeds"] = len(group)
        entry["test_images"] = images
        entry["data_source"] = group[0]["data_source"]
        entry["latency_steps"] = group[0]["latency_steps"]
        for field in (
            "ann_accuracy",
            "snn_accuracy",
            "spikes_per_neuron",
            "synaptic_ops_per_image",
            "energy_ratio",
        ):
            entry[field] = mean_std([row[field] for row in group])
        entry["loss_points"] = mean_std(
            [100 * (row["ann_accuracy"] - row["snn_accuracy"]) for row in group]
        )
        summary.append(entry)
    datasets = {"mnist": 0, "cifar10": 1}
    models = {name: index for index, name in enumerate(MODEL_NAMES)}
    order = {label: index for index, label in enumerate(VARIANT_LABELS)}
    summary.sort(
        key=lambda e: (
            datasets[e["dataset"]],
            models[e["model"]],
            order[e["variant"]],
            e["ann"],
            e["test_images"],
            e["T"],
        )
    )
    return summary


# (target, dataset, model, variant, T, bound on the loss in points)
TARGETS = [
    ("qcfs within 0.1 pts of its ANN at T=4", "mnist", "lenet5", "qcfs", 4, 0.1),
    ("qcfs within 0.5 pts of its ANN at T=8", "cifar10", "resnet20", "qcfs", 8, 0.5),
    ("qcfs within 0.5 pts of its ANN at T=8", "cifar10", "vggsmall", "qcfs", 8, 0.5),
    ("rate within 1 pt of its ANN at T=64", "cifar10", "resnet20", "rate", 64, 1.0),
    ("rate within 1 pt of its ANN at T=64", "cifar10", "vggsmall", "rate", 64, 1.0),
    (
        "not the issue's recipe: rate with v0 = θ/2 (option) within 1 pt at T=64",
        "cifar10",
        "resnet20",
        "rate initial_potential=0.5",
        64,
        1.0,
    ),
    (
        "not the issue's recipe: rate with v0 = θ/2 (option) within 1 pt at T=64",
        "cifar10",
        "vggsmall",
        "rate initial_potential=0.5",
        64,
        1.0,
    ),
    (
        "rate with channel-wise normalisation (option) within 1 pt at T=64",
        "cifar10",
        "resnet20",
        "rate channel-wise",
        64,
        1.0,
    ),
    (
        "rate with channel-wise normalisation (option) within 1 pt at T=64",
        "cifar10",
        "vggsmall",
        "rate channel-wise",
        64,
        1.0,
    ),
    (
        "not the issue's recipe: rate channel-wise, v0 = θ/2 (options) within 1 pt at T=64",
        "cifar10",
        "resnet20",
        "rate channel-wise initial_potential=0.5",
        64,
        1.0,
    ),
    (
        "not the issue's recipe: rate channel-wise, v0 = θ/2 (options) within 1 pt at T=64",
        "cifar10",
        "vggsmall",
        "rate channel-wise initial_potential=0.5",
        64,
        1.0,
    ),
]


def percent(pair):
    return f"{100 * pair[0]:.2f} ± {100 * pair[1]:.2f}"


def write_markdown(summary, path):
    lines = [
        "# Image classification: ANN vs converted SNN",
        "",
        "Produced by `experiments/image_classification.py` (commands in its docstring). Test",
        "accuracy on a fixed random subset of the test set (size in the *images* column; seed 0",
        "permutation), ANN and SNN on the same images; mean ± std over the seeds listed.",
        "Calibration: training images only. Analog input coding. *loss* = ANN − SNN in points.",
        "*energy* = SNN/ANN energy estimate (4.6 pJ/MAC, 0.9 pJ/AC, ANN MACs counted dense).",
        "*latency* = steps until the output is complete under the method's schedule.",
        "The ANN weights, their training commands and test accuracies on the full test sets are",
        "in `image_training.md`.",
        "",
    ]
    sources = sorted({f"{e['dataset']}: {e['data_source']}" for e in summary})
    lines += ["Data copies used: " + "; ".join(sources) + ".", ""]
    lines += [
        "## Targets",
        "",
        "One line per ANN the target was measured on (*ANN weights*: the weight file's variant).",
        "",
        "| target | ANN weights | measured loss | bound | met |",
        "|---|---|---|---|---|",
    ]
    for name, dataset, model, variant, T, bound in TARGETS:
        entries = [
            e
            for e in summary
            if (e["dataset"], e["model"], e["variant"], e["T"]) == (dataset, model, variant, T)
        ]
        if not entries:
            lines.append(
                f"| {name} ({dataset} {MODEL_NAMES[model]}) | – | not run | ≤ {bound} | – |"
            )
        for entry in entries:
            loss = entry["loss_points"][0]
            lines.append(
                f"| {name} ({dataset} {MODEL_NAMES[model]}, {entry['seeds']} "
                f"seed{'s' if entry['seeds'] != 1 else ''}, "
                f"{entry['test_images']} images) | {entry['ann']} | {loss:+.2f} pts | ≤ {bound} "
                f"| {'yes' if loss <= bound else 'NO'} |"
            )
    lines += [
        "",
        "## Every method at T = 8 (CIFAR-10), best first",
        "",
        "| model | method | ANN weights | images | SNN | its ANN | loss (pts) | latency "
        "| spikes/neuron | energy |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    at_eight = [e for e in summary if e["dataset"] == "cifar10" and e["T"] == 8]
    for e in sorted(at_eight, key=lambda e: (e["model"], e["loss_points"][0])):
        lines.append(
            f"| {MODEL_NAMES[e['model']]} | {e['variant']} | {e['ann']} | {e['test_images']} "
            f"| {percent(e['snn_accuracy'])} "
            f"| {percent(e['ann_accuracy'])} | {e['loss_points'][0]:+.2f} "
            f"| {e['latency_steps']} | {e['spikes_per_neuron'][0]:.3f} "
            f"| {e['energy_ratio'][0]:.3f} |"
        )
    lines += [
        "",
        "## All rows",
        "",
        "| dataset | model | method | ANN weights | T | latency | seeds | images | ANN | SNN "
        "| loss (pts) | spikes/neuron | SOPs/image | energy |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in summary:
        lines.append(
            f"| {e['dataset']} | {MODEL_NAMES[e['model']]} | {e['variant']} | {e['ann']} "
            f"| {e['T']} "
            f"| {e['latency_steps']} | {e['seeds']} | {e['test_images']} "
            f"| {percent(e['ann_accuracy'])} | {percent(e['snn_accuracy'])} "
            f"| {e['loss_points'][0]:+.2f} ± {e['loss_points'][1]:.2f} "
            f"| {e['spikes_per_neuron'][0]:.3f} | {e['synaptic_ops_per_image'][0]:.3g} "
            f"| {e['energy_ratio'][0]:.3f} |"
        )
    path.write_text("\n".join(lines) + "\n")


def write_plots(summary, output):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = list(dict.fromkeys((e["dataset"], e["model"]) for e in summary))
    if not panels:
        return
    colours = plt.get_cmap("tab10")
    for kind, x_field, x_label, name in (
        ("T", "T", "time steps T", "_accuracy_vs_T.png"),
        (
            "energy",
            "energy_ratio",
            "SNN/ANN energy estimate",
            "_accuracy_vs_energy.png",
        ),
    ):
        figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 4), squeeze=False)
        for axis, (dataset, model) in zip(axes[0], panels):
            curves = dict.fromkeys(
                (e["variant"], e["ann"])
                for e in summary
                if (e["dataset"], e["model"]) == (dataset, model)
            )
            for index, (label, ann_name) in enumerate(curves):
                points = [
                    e
                    for e in summary
                    if (e["dataset"], e["model"], e["variant"], e["ann"])
                    == (dataset, model, label, ann_name)
                ]
                largest = max(e["test_images"] for e in points)  # the most test images only
                points = [e for e in points if e["test_images"] == largest]
                xs = [e[x_field] if kind == "T" else e[x_field][0] for e in points]
                ys = [100 * e["snn_accuracy"][0] for e in points]
                axis.plot(
                    xs, ys, marker="o", color=colours(index % 10), label=f"{label} [{ann_name}]"
                )
                ann = 100 * points[0]["ann_accuracy"][0]
                axis.axhline(ann, color=colours(index), linestyle=":", linewidth=0.8)
            axis.set_xscale("log", base=2 if kind == "T" else 10)
            axis.set_title(f"{dataset} {MODEL_NAMES[model]} (dotted: ANNs)")
            axis.set_xlabel(x_label)
            axis.set_ylabel("test accuracy (%)")
            axis.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(f"{output}{name}", dpi=110)
        plt.close(figure)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist", "cifar10"], default="mnist")
    parser.add_argument("--models", nargs="+", default=["lenet5"], choices=list(MODEL_NAMES))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--variants", nargs="+", default=VARIANT_LABELS, choices=VARIANT_LABELS)
    parser.add_argument("--test-images", type=int, default=10000)
    parser.add_argument("--calibration-images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-T", type=int, default=64, help="leave out larger T")
    parser.add_argument(
        "--qcfs-levels", type=int, help="QCFS weights qcfsL<L> (default: the only QCFS file)"
    )
    parser.add_argument("--journal", type=Path, default=JOURNAL)
    parser.add_argument("--report-only", action="store_true", help="rewrite md and plots only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(exist_ok=True)
    if not args.report_only:
        run(args)
    summary = summarise(read_journal(args.journal))
    output = args.journal.with_suffix("")
    write_markdown(summary, output.with_suffix(".md"))
    write_plots(summary, output)


if __name__ == "__main__":
    main()
