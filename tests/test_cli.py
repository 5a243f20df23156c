"""The ``gsnn convert`` command: every registered method, method options, clear errors."""

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

import gsnn.cli
from gsnn.cli import main, parse_method_options
from gsnn.methods import METHODS

NODES, FEATURES, CLASSES = 60, 12, 3


def tiny_citation_graph(*args, transform=None, **kwargs) -> Data:
    """A random graph with a Planetoid-style split, standing in for the download."""
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, CLASSES, (NODES,), generator=generator)
    x = torch.rand(NODES, FEATURES, generator=generator) + torch.nn.functional.one_hot(y, FEATURES)
    edge_index = to_undirected(torch.randint(0, NODES, (2, 4 * NODES), generator=generator))
    order = torch.arange(NODES)
    data = Data(
        x=x,
        edge_index=edge_index,
        y=y,
        train_mask=order < 20,
        val_mask=(order >= 20) & (order < 40),
        test_mask=order >= 40,
    )
    return transform(data) if transform is not None else data


@pytest.fixture
def offline_graph(monkeypatch):
    monkeypatch.setattr(gsnn.cli, "planetoid", tiny_citation_graph)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_convert_runs_every_registered_method(offline_graph, capsys, method):
    status = main(["convert", "--method", method, "--T", "8", "--epochs", "3", "--hidden", "8"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert f"method {METHODS[method].__name__}(" in printed
    for row in ("ANN test accuracy", "SNN test accuracy", "latency", "energy estimate"):
        assert row in printed


def test_convert_passes_method_options_to_the_method(offline_graph, capsys):
    status = main(
        ["convert", "--method", "one-spike", "--T", "4", "--epochs", "3", "--option", "base=1.5"]
    )
    printed = capsys.readouterr().out
    assert status == 0, printed
    assert "base=1.5" in printed


def test_convert_reports_a_bad_method_option(offline_graph, capsys):
    status = main(["convert", "--method", "rate", "--epochs", "3", "--option", "bogus=1"])
    printed = capsys.readouterr().out
    assert status == 2
    assert "Bad options for method 'rate'" in printed


def test_bad_options_fail_before_training(offline_graph, capsys, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("training started before the options were checked")

    monkeypatch.setattr(gsnn.cli, "train_node_classifier", no_training)
    assert main(["convert", "--method", "css", "--option", "bogus=2"]) == 2
    assert "Bad options for method 'css'" in capsys.readouterr().out


def test_qcfs_levels_for_a_method_without_a_qcfs_ann_is_refused(offline_graph, capsys):
    assert main(["convert", "--method", "rate", "--qcfs-levels", "4", "--epochs", "3"]) == 2
    assert "--qcfs-levels sets the levels of a QCFS ANN" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["qcfs", "phase", "one-spike", "css"])
def test_site_errors_prints_a_row_per_neuron_site(offline_graph, capsys, method):
    """Count codes and the weighted codes (phase, one-spike, CSS) alike."""
    argv = ["convert", "--method", method, "--T", "8", "--epochs", "3", "--layers", "3"]
    status = main(argv + ["--site-errors"])
    printed = capsys.readouterr().out
    assert status == 0, printed
    table = printed.split("Per neuron site against its ANN activation (test nodes):")[1]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 2  # header and one row per hidden activation of a 3-layer GCN


def test_dual_phase_trains_its_two_stage_ann(offline_graph, capsys):
    main(["convert", "--method", "dual-phase", "--T", "2", "--epochs", "3"])
    assert "fine-tuned with NoisyQC at T=2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "pairs, expected",
    [
        (["base=1.5"], {"base": 1.5}),
        (["burst=2", "percentile=99.99"], {"burst": 2, "percentile": 99.99}),
        (["calibrate_weights=False"], {"calibrate_weights": False}),
        (["loss=kl"], {"loss": "kl"}),
    ],
)
def test_parse_method_options(pairs, expected):
    assert parse_method_options(pairs) == expected


@pytest.mark.parametrize("pair", ["base", "=1.5"])
def test_parse_method_options_rejects_pairs_without_a_name_and_value(pair):
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_method_options([pair])
