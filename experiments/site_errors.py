"""Where a converted CNN loses accuracy: every neuron site against the ANN activation it replaces.

Reproduce the committed results (reference weights from ``experiments/train_image_models.py``,
offline data copies through ``GSNN_DATA_MIRROR``):

    GSNN_DATA_MIRROR=../shared/datasets python experiments/site_errors.py \
        --dataset cifar10 --model resnet20 --seed 0 --variants qcfs "two-phase signed" \
        --T 8 32 --qcfs-levels 4
    GSNN_DATA_MIRROR=../shared/datasets python experiments/site_errors.py \
        --dataset cifar10 --model vggsmall --seed 0 --variants qcfs --T 8 --qcfs-levels 4
    GSNN_DATA_MIRROR=../shared/datasets python experiments/site_errors.py \
        --dataset cifar10 --model vggsmall --seed 0 --variants rate "rate initial_potential=0.5" \
        --T 64
    for seed in 2 0; do GSNN_DATA_MIRROR=../shared/datasets python experiments/site_errors.py \
        --dataset cifar10 --model resnet20 --seed $seed --variants "rate initial_potential=0.5" \
        --T 16; done
    GSNN_DATA_MIRROR=../shared/datasets python experiments/site_errors.py \
        --dataset cifar10 --model resnet20 --seed 2 \
        --variants "rate channel-wise initial_potential=0.5" --T 16
    GSNN_DATA_MIRROR=../shared/datasets python experiments/site_errors.py \
        --dataset cifar10 --model resnet20 --seed 0 --variants "one-spike B=1.5" css --T 8 16

Each run converts the committed ANN of a variant of ``image_classification.py`` (same
calibration images, same fixed test permutation), runs it on the first ``--test-images``
test images and records ``gsnn.site_errors`` per neuron site in graph order, plus the ANN's
and SNN's accuracy on those images. Rows are appended to
``experiments/results/site_errors.jsonl``; ``site_errors.md`` is rewritten from the journal.
"""

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import torch
from image_classification import (
    MODEL_NAMES,
    VARIANTS,
    batches_of,
    fixed_subset,
    load_split,
    weight_file,
)

import gsnn
from gsnn import SiteError
from gsnn.ann import load_reference_model

RESULTS = Path(__file__).parent / "results"
JOURNAL = RESULTS / "site_errors.jsonl"
RUN_KEYS = ("dataset", "model", "seed", "variant", "weights", "T", "test_images")


def run(args):
    train_set, test_set = load_split(args.dataset, "train"), load_split(args.dataset, "test")
    calibration_images, _ = fixed_subset(train_set, args.calibration_images)
    calibration = batches_of(calibration_images, args.batch_size)
    images, labels = fixed_subset(test_set, args.test_images)
    by_label = {variant[0]: variant for variant in VARIANTS}
    for label in args.variants:
        _, method, options, variant, _, _ = by_label[label]
        path = weight_file(args.dataset, args.model, variant, args.seed, args.qcfs_levels)
        model = load_reference_model(str(path))
        with torch.no_grad():
            ann_accuracy = float((model(images).argmax(-1) == labels).double().mean())
        for T in args.T:
            snn = gsnn.convert(model, calibration, method=method, T=T, **options)
            errors = gsnn.site_errors(snn, model, images)
            snn_accuracy = float((snn.last_step_logits[-1].argmax(-1) == labels).double().mean())
            run_row = {
                "dataset": args.dataset,
                "data_source": getattr(test_set, "source", "unknown"),
                "model": args.model,
                "seed": args.seed,
                "variant": label,
                "weights": path.name,
                "T": T,
                "test_images": len(labels),
                "calibration_images": len(calibration_images),
                "ann_accuracy": ann_accuracy,
                "snn_accuracy": snn_accuracy,
            }
            with open(args.journal, "a") as handle:
                for depth, error in enumerate(errors):
                    handle.write(json.dumps({**run_row, "depth": depth, **asdict(error)}) + "\n")
            worst = max(errors, key=lambda e: e.step_error)
            print(
                f"{args.model} seed={args.seed} {label} T={T}: ANN {ann_accuracy:.4f} "
                f"SNN {snn_accuracy:.4f}; largest error {worst.step_error:.3f} steps at "
                f"{worst.site}",
                flush=True,
            )


def read_runs(journal):
    """Rows grouped by run (the latest run of a key wins), sites in graph order."""
    runs = {}
    if not journal.exists():
        return runs
    for line in journal.read_text().splitlines():
        row = json.loads(line)
        key = tuple(row[k] for k in RUN_KEYS)
        if row["depth"] == 0:
            runs[key] = []
        runs[key].append(row)
    return runs


def write_markdown(journal, path):
    lines = [
        "# Per-site conversion error of the reference CNNs",
        "",
        "Written by `experiments/site_errors.py` (commands in its docstring) with "
        "`gsnn.site_errors`: for every neuron site, in graph order, the decoded output "
        "r = θ·Σ_t w(t)s(t) against the ANN activation a it replaces (w = 1/T for the count "
        "codes; phase weights, CSS digits β^-k, one-spike's ladder B^-k for the weighted "
        "codes). *error (steps)* is the mean |r − a| in units of the smallest spike's worth, "
        "θ/T for count codes (rounding to the nearest count costs at most 0.5), the last "
        "digit or rung for the weighted codes; *within half a step* is the fraction of values "
        "within half of that; "
        "*bias* is (SNN mean − ANN mean) / ANN mean, systematic over- (+) or under-firing (−). "
        "With an ANN quantised to L levels and T ≠ L, the SNN resolves θ/T while the ANN "
        "holds multiples of θ/L, so even the first site (constant input) is off by up to "
        "θ/2L + θ/2T per value; compare sites and variants rather than reading 0.5 steps as "
        "a bound there. "
        "Calibration: the same training images as `image_classification.py`; test: the "
        "first images of its fixed test permutation (seed 0). Input coding: analog.",
        "",
    ]
    for rows in read_runs(journal).values():
        first = rows[0]
        lines += [
            f"## {first['dataset']} {MODEL_NAMES[first['model']]}, {first['variant']}, "
            f"T={first['T']}, seed {first['seed']} ({first['weights']})",
            "",
            f"{first['test_images']} test images ({first['data_source']} copy): ANN "
            f"{100 * first['ann_accuracy']:.2f} %, SNN {100 * first['snn_accuracy']:.2f} %.",
            "",
        ]
        fields = SiteError.__dataclass_fields__
        errors = [SiteError(**{k: v for k, v in row.items() if k in fields}) for row in rows]
        lines.append(gsnn.site_error_table(errors))
        lines.append("")
    path.write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["mnist", "cifar10"], required=True)
    parser.add_argument("--model", choices=sorted(MODEL_NAMES), required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--variants", nargs="+", default=["qcfs"], choices=[variant[0] for variant in VARIANTS]
    )
    parser.add_argument("--T", type=int, nargs="+", default=[8])
    parser.add_argument("--qcfs-levels", type=int, default=None)
    parser.add_argument("--test-images", type=int, default=256)
    parser.add_argument("--calibration-images", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--journal", type=Path, default=JOURNAL)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    run(args)
    write_markdown(args.journal, args.journal.with_suffix(".md"))


if __name__ == "__main__":
    main()
