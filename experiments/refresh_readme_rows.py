"""Copy the result rows of the README and of docs/results/ again from the results files.

The experiment scripts write their tables into ``experiments/results/*.md``. Two kinds of
rows quote them:

- ``docs/results/*.md`` quote whole rows verbatim. After a rerun adds seeds to a group, a
  quoted row goes stale; it is replaced by the row that describes the same configuration
  (the row's *key* cells: dataset, model, method, T, latency; for images also the ANN
  weights and the number of test images), whatever its seed count and numbers now are.
- The README's summary table has its own columns (``SUMMARY_COLUMNS``). Each row names a
  configuration by its first four cells (dataset, model, method, T); the rest is copied from
  the results row of that configuration (where several match, the one with the largest
  *preferred* cells: for images the most test images, then the most seeds).

Which results tables exist, which data sets their rows start with and where each summary
column stands in their rows is listed once, in ``TABLES``: a new results table (say of
graph classification) joins the README by one more ``ResultsTable`` entry there.

``tests/docs/test_readme_results_rows.py`` fails while any row is stale or describes no
results row.

    python experiments/refresh_readme_rows.py  # rewrites README.md and docs/results/*.md
"""

import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results"
README = ROOT / "README.md"
RESULT_DOCS = ROOT / "docs" / "results"
# the README summary's columns; its first SUMMARY_KEY_CELLS name the configuration
SUMMARY_COLUMNS = ("dataset", "model", "method", "T", "seeds", "ANN", "SNN", "loss (pts)",
                   "spikes/neuron", "energy")  # fmt: skip
SUMMARY_KEY_CELLS = 4


@dataclass(frozen=True)
class ResultsTable:
    """One results table of ``experiments/results/`` and how its rows are quoted.

    Cell numbers count from 0 in the table's own rows.

    Args:
        file (str): the file name in ``experiments/results/``.
        datasets (tuple of str): the first cell of every row of the table (a data set is
            in one table only).
        key (tuple of int): the cells that name a row's configuration (the others are
            seeds and measurements).
        summary (tuple of int): the cell copied into each of ``SUMMARY_COLUMNS``, in order.
        preferred (tuple of int): integer cells; where several rows fit one summary row,
            the one with the largest of them (in this order) is copied.
        width (int, optional): the number of cells of a results row, where the file has
            other tables whose rows start with the same data sets (they are not quoted).
        units (tuple of str, optional): appended to the copied cells, one per
            ``SUMMARY_COLUMNS`` entry, where a cell measures something other than its
            summary column says (say spikes per graph in *spikes/neuron*).
    """

    file: str
    datasets: tuple[str, ...]
    key: tuple[int, ...]
    summary: tuple[int, ...]
    preferred: tuple[int, ...]
    width: int | None = None
    units: tuple[str, ...] = ("",) * len(SUMMARY_COLUMNS)


# node rows: dataset, model, method, T, latency, seeds, ReLU ANN, method ANN, SNN, loss, ...
NODE_COLUMNS = dict(key=(0, 1, 2, 3, 4), summary=(0, 1, 2, 3, 5, 7, 8, 9, 10, 12), preferred=(5,))
TABLES = (
    ResultsTable("node_classification.md", ("Cora", "CiteSeer", "PubMed"), **NODE_COLUMNS),
    ResultsTable(
        "node_classification_wider.md",
        ("Photo", "Computers", "CS", "Physics", "Actor"),
        **NODE_COLUMNS,
    ),
    ResultsTable(
        "image_classification.md",
        ("mnist", "cifar10"),
        key=(0, 1, 2, 3, 4, 5, 7),  # dataset, model, method, ANN weights, T, latency, images
        summary=(0, 1, 2, 4, 6, 8, 9, 10, 11, 13),
        preferred=(7, 6),  # the full test set where it was run, then the most seeds
    ),
    ResultsTable(
        "graph_classification.md",
        ("MUTAG", "PROTEINS", "NCI1", "ENZYMES", "IMDB-BINARY"),
        # the "All runs" rows: dataset, epochs, model, ANN, method, T, folds, ANN, SNN,
        # loss, agreement, spikes/graph, SOPs/graph, SNN nJ, ANN nJ, energy SNN/ANN
        key=(0, 1, 2, 3, 4, 5),
        summary=(0, 2, 4, 5, 6, 7, 8, 9, 11, 15),
        preferred=(6,),
        width=16,
        units=("", "", "", "", "", "", "", "", " /graph", ""),  # no neuron count per graph
    ),
)
TABLE_OF = {dataset: table for table in TABLES for dataset in table.datasets}
ROW = re.compile(rf"^\| ({'|'.join(map(re.escape, TABLE_OF))}) \|")


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def table_of(columns: list[str]) -> ResultsTable:
    """The results table a row (split into ``columns``) belongs to, by its data set."""
    return TABLE_OF[columns[0]]


def key_of(row: str) -> tuple[str, ...]:
    columns = cells(row)
    return tuple(columns[i] for i in table_of(columns).key)


def summary_cells(row: str) -> tuple[str, ...]:
    """The cells of a results row that a README summary row copies, in its column order."""
    columns = cells(row)
    table = table_of(columns)
    return tuple(columns[i] + unit for i, unit in zip(table.summary, table.units, strict=True))


def is_results_row(line: str) -> bool:
    """Whether ``line`` is a row of a results table (not of another table of its file)."""
    if not ROW.match(line):
        return False
    columns = cells(line)
    width = table_of(columns).width
    return width is None or len(columns) == width


def results_rows() -> list[str]:
    """Every result row of the results tables, in file and line order."""
    return [
        line.strip()
        for name in dict.fromkeys(table.file for table in TABLES)
        if (RESULTS / name).exists()
        for line in (RESULTS / name).read_text().splitlines()
        if is_results_row(line)
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
        copied = summary_cells(row)
        if copied[:SUMMARY_KEY_CELLS] == key:
            columns = cells(row)
            rank = tuple(-int(columns[i]) for i in table_of(columns).preferred)
            candidates.append((rank, copied))
    if not candidates:
        return None
    best = min(candidates, key=lambda candidate: candidate[0])[1]
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
