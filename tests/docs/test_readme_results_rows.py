"""The result rows of the README and docs/results/ are copies of the committed results tables.

The experiment scripts write ``experiments/results/*.md`` from their journals. The pages of
``docs/results/`` quote whole rows of them; the README's summary table quotes some of their
cells. A quoted row that is not found there is stale (the results were rerun or
re-aggregated) or was never produced by a script; ``experiments/refresh_readme_rows.py``
copies such rows again.
"""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "refresh_readme_rows", ROOT / "experiments" / "refresh_readme_rows.py"
)
refresh_readme_rows = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refresh_readme_rows)

FIX = "copy them again with `python experiments/refresh_readme_rows.py`"


def quoted_rows(path):
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if refresh_readme_rows.ROW.match(line)
    ]


def readme_summary_rows():
    return [
        row
        for row in quoted_rows(refresh_readme_rows.README)
        if refresh_readme_rows.is_summary_row(row)
    ]


def result_docs():
    return sorted(refresh_readme_rows.RESULT_DOCS.glob("*.md"))


def test_the_readme_summary_covers_every_task_and_pubmed():
    datasets = {refresh_readme_rows.cells(row)[0] for row in readme_summary_rows()}
    assert {"Cora", "CiteSeer", "PubMed"} <= datasets and {"mnist", "cifar10"} <= datasets
    assert {"MUTAG", "PROTEINS"} <= datasets  # graph classification
    # the README quotes no other result rows: the full tables live in docs/results/
    assert len(readme_summary_rows()) == len(quoted_rows(refresh_readme_rows.README))


def test_the_result_pages_quote_node_and_image_rows():
    names = {path.name for path in result_docs()}
    assert {"node_classification.md", "image_classification.md"} <= names
    for name in ("node_classification.md", "image_classification.md"):
        assert quoted_rows(refresh_readme_rows.RESULT_DOCS / name), name


def test_every_result_page_row_stands_verbatim_in_a_results_table():
    published = set(refresh_readme_rows.results_rows())
    stale = [
        f"{path.name}: {row}"
        for path in result_docs()
        for row in quoted_rows(path)
        if row not in published
    ]
    assert not stale, f"rows not found verbatim in experiments/results/ ({FIX}):\n" + "\n".join(
        stale
    )


def test_every_readme_summary_row_copies_the_cells_of_one_results_row():
    copies = {refresh_readme_rows.summary_cells(row) for row in refresh_readme_rows.results_rows()}
    stale = [
        row for row in readme_summary_rows() if tuple(refresh_readme_rows.cells(row)) not in copies
    ]
    assert not stale, f"README summary rows no results row has ({FIX}):\n" + "\n".join(stale)


def test_refreshing_changes_nothing():
    rows = refresh_readme_rows.results_rows()
    for path in refresh_readme_rows.quoting_files():
        text = path.read_text()
        refreshed, missing = refresh_readme_rows.refresh(text, rows)
        assert not missing, f"{path.name}: rows no results row describes:\n" + "\n".join(missing)
        expected = text if text.endswith("\n") else text + "\n"
        assert refreshed == expected, f"{path.name}: stale rows; {FIX}"


def test_no_row_is_listed_twice_in_one_file():
    for path in refresh_readme_rows.quoting_files():
        rows = quoted_rows(path)
        repeated = sorted({row for row in rows if rows.count(row) > 1})
        assert not repeated, f"{path.name}: rows listed twice:\n" + "\n".join(repeated)
