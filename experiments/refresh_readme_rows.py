"""Copy the result rows of the README and of docs/results/ again from the results files.

The experiment scripts write their tables into ``experiments/results/*.md``. Two kinds of
rows quote them:

- ``docs/results/*.md`` quote whole rows verbatim. After a rerun adds seeds to a group, a
  quoted row goes stale; it is replaced by the row that describes the same configuration:
  the same leading cells (dataset, model, method, T, latency; for images also the ANN
  weights and the number of test images), whatever its seed count and numbers now are.
- The README's summary table has its own columns (dataset, model, method, T, seeds, ANN,
  SNN, loss, spikes per neuron, energy). Each row names a configuration by its first four
  cells; the rest is copied from the results row of that configuration (for images, the
  one on the most test images, then the most seeds).

``tests/docs/test_readme_results_rows.py`` fails while any row is stale or describes no
results row.

    python experiments/refresh_readme_rows.py  # rewrites README.md and docs/results/*.md
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
# the tables the experiment scripts write (other results files have other columns)
RESULT_FILES = ("node_classification.md", "node_classification_wider.md", "image_classification.md")
README = ROOT / "README.md"
RESULT_DOCS = ROOT / "docs" / "results"
IMAGE_DATASETS = ("mnist", "cifar10")
ROW = re.compile(r"^\| (Cora|CiteSeer|PubMed|Photo|Computers|CS|Physics|Actor|mnist|cifar10) \|")
# which cells of a results row name its configuration (the rest are seeds and measurements)
NODE_KEY = (0, 1, 2, 3, 4)  # dataset, model, method, T, latency
IMAGE_KEY = (0, 1, 2, 3, 4, 5, 7)  # dataset, model, method, ANN weights, T, latency, images
# the README summary's columns, and where each stands in a node / image results row
SUMMARY_COLUMNS = ("dataset", "model", "method", "T", "seeds", "ANN", "SNN", "loss (pts)",
                   "spikes/neuron", "energy")  # fmt: skip
NODE_CELLS = (0, 1, 2, 3, 5, 7, 8, 9, 10, 12)
IMAGE_CELLS = (0, 1, 2, 4, 6, 8, 9, 10, 11, 13)
SUMMARY_KEY_CELLS = 4  # dataset, model, method, T


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def is_image_row(columns: list[str]) -> bool:
    return columns[0] in IMAGE_DATASETS


def key_of(row: str) -> tuple[str, ...]:
    columns = cells(row)
    indices = IMAGE_KEY if is_image_row(columns) else NODE_KEY
    return tuple(columns[i] for i in indices)


def results_rows() -> list[str]:
    """Every result row of the results tables, in file and line order."""
    return [
        line.strip()
        for name in RESULT_FILES
        if (RESULTS / name).exists()
        for line in (RESULTS / name).read_text().splitlines()
        if ROW.match(line)
    ]


def rows_by_configuration(rows: list[str]) -> dict[tuple[str, ...], str]:
    """Results rows by their configuration key (the first one listed when a file repeats a
    row in several sections)."""
    published = {}
    for row in rows:
        published.setdefault(key_of(row), row)
    return published


def summary_row(key: tuple[str, ...], rows: list[str]) -> str | None:
    """The README summary row of the configuration ``(dataset, model, method, T)``, or
    ``None`` when no results row describes it."""
    candidates = []
    for row in rows:
        columns = cells(row)
        positions = IMAGE_CELLS if is_image_row(columns) else NODE_CELLS
        if tuple(columns[i] for i in positions[:SUMMARY_KEY_CELLS]) == key:
            # images: the full test set where it was run, then the most seeds
            images = int(columns[7]) if is_image_row(columns) else 0
            seeds = int(columns[positions[4]])
            candidates.append((-images, -seeds, [columns[i] for i in positions]))
    if not candidates:
        return None
    best = min(candidates, key=lambda candidate: candidate[:2])[2]
    return "| " + " | ".join(best) + " |"


def is_summary_row(row: str) -> bool:
    return len(cells(row)) == len(SUMMARY_COLUMNS)


def refresh(text: str, rows: list[str]) -> tuple[str, list[str]]:
    """``text`` with its quoted rows copied again, and the rows no results row describes.

    A row with the summary's columns is rebuilt from its first four cells; any other
    row is replaced by the results row of its configuration.
    """
    published = rows_by_configuration(rows)
    lines, missing = [], []
    for line in text.splitlines():
        if ROW.match(line):
            if is_summary_row(line):
                current = summary_row(tuple(cells(line)[:SUMMARY_KEY_CELLS]), rows)
            else:
                current = published.get(key_of(line))
            if current is None:
                missing.append(line.strip())
            else:
                line = current
        lines.append(line)
    return "\n".join(lines) + "\n", missing


def quoting_files() -> list[Path]:
    """The README and every page of ``docs/results/``."""
    return [README, *sorted(RESULT_DOCS.glob("*.md"))]


def main() -> int:
    rows = results_rows()
    status = 0
    for path in quoting_files():
        old = path.read_text()
        new, missing = refresh(old, rows)
        stale = [a for a, b in zip(old.splitlines(), new.splitlines()) if a != b]
        for row in stale:
            print(f"{path.name}: stale: {row}")
        for row in missing:
            print(f"{path.name}: no results row describes: {row}", file=sys.stderr)
            status = 1
        if stale:
            path.write_text(new)
            print(f"{path.relative_to(ROOT)}: {len(stale)} rows refreshed")
    return status


if __name__ == "__main__":
    sys.exit(main())
