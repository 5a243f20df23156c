"""Copy the README's result rows again from the results files the experiments wrote.

The README quotes rows of ``experiments/results/node_classification.md`` and
``image_classification.md``. After a rerun adds seeds to a group, the quoted row goes stale
(``tests/docs/test_readme_results_rows.py`` fails). This script replaces every quoted row by
the row of the results file that describes the same configuration: the same leading cells
(dataset, model, method, ANN, T, latency) and the same number of test images, whatever its
seed count and numbers now are.

    python experiments/refresh_readme_rows.py  # rewrites README.md in place
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
ROW = re.compile(r"^\| (Cora|CiteSeer|PubMed|mnist|cifar10) \|")
# which cells name a configuration (the rest are seeds and measurements)
NODE_KEY = (0, 1, 2, 3, 4)  # dataset, model, method, T, latency
IMAGE_KEY = (0, 1, 2, 3, 4, 5, 7)  # dataset, model, method, ANN, T, latency, images


def cells(row: str):
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def key_of(row: str):
    columns = cells(row)
    indices = IMAGE_KEY if columns[0] in ("mnist", "cifar10") else NODE_KEY
    return tuple(columns[i] for i in indices)


def published_rows():
    """Every result row of the results files by its configuration key (the first one
    listed when a file repeats a row in several sections)."""
    rows = {}
    for name in ("node_classification.md", "image_classification.md"):
        for line in (RESULTS / name).read_text().splitlines():
            if ROW.match(line):
                rows.setdefault(key_of(line), line.strip())
    return rows


def refresh(readme: str, rows):
    """``readme`` with its result rows replaced, and the rows no results file describes."""
    lines, missing = [], []
    for line in readme.splitlines():
        if ROW.match(line):
            current = rows.get(key_of(line))
            if current is None:
                missing.append(line.strip())
            else:
                line = current
        lines.append(line)
    return "\n".join(lines) + "\n", missing


def main():
    path = ROOT / "README.md"
    old = path.read_text()
    new, missing = refresh(old, published_rows())
    stale = [a for a, b in zip(old.splitlines(), new.splitlines()) if a != b]
    for row in stale:
        print(f"stale: {row}")
    for row in missing:
        print(f"no results row describes: {row}", file=sys.stderr)
    if stale:
        path.write_text(new)
        print(f"README.md: {len(stale)} rows refreshed")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
