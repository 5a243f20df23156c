"""The README's result rows are copies of rows in the committed results files.

The README's tables are copied by hand from ``experiments/results/*.md``, which the
experiment scripts write from their journals; a row that is not found there verbatim is
stale (the results were rerun or re-aggregated) or was never produced by a script.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULT_FILES = (
    ROOT / "experiments/results/node_classification.md",
    ROOT / "experiments/results/image_classification.md",
)
DATASET_ROW = re.compile(r"^\| (Cora|CiteSeer|PubMed|mnist|cifar10) \|")


def readme_result_rows():
    return [
        line.strip()
        for line in (ROOT / "README.md").read_text().splitlines()
        if DATASET_ROW.match(line)
    ]


def test_the_readme_has_result_rows_of_both_tasks():
    datasets = {row.split("|")[1].strip() for row in readme_result_rows()}
    assert {"Cora", "CiteSeer"} <= datasets and {"mnist", "cifar10"} <= datasets


def test_every_readme_result_row_stands_in_a_results_file():
    published = set()
    for path in RESULT_FILES:
        published.update(line.strip() for line in path.read_text().splitlines())
    stale = [row for row in readme_result_rows() if row not in published]
    assert not stale, (
        "README rows not found verbatim in experiments/results/*.md (copy them again "
        "with `python experiments/refresh_readme_rows.py`):\n" + "\n".join(stale)
    )


def test_no_readme_result_row_is_listed_twice():
    rows = readme_result_rows()
    repeated = sorted({row for row in rows if rows.count(row) > 1})
    assert not repeated, "README rows listed twice:\n" + "\n".join(repeated)
