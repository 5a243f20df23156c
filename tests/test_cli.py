"""The ``gsnn`` command line driven as a user drives it: processes, exit codes, stderr, files.

Every subprocess costs seconds of imports, so only two run the console script:
one session step that succeeds (train, writing the file the other tests share)
and one mistake (exit code 2, the message on stderr). Everything else calls
:func:`gsnn.cli.main`, which is what the console script calls, in-process;
mistakes run with data loading and training replaced by a tripwire: they must
fail before either.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.nn.models import GraphSAGE as PyGGraphSAGE
from torch_geometric.transforms import NormalizeFeatures
from torch_geometric.utils import to_undirected

import gsnn
import gsnn.cli.distributed_check
import gsnn.cli.preflight
from gsnn import __version__
from gsnn.ann import GCN
from gsnn.cli import main
from gsnn.cli.distributed_check import run_distributed
from gsnn.cli.graph_task import GraphData
from gsnn.cli.image_task import ImageData
from gsnn.cli.node_task import NodeData
from gsnn.cli.options import parse_method_options
from gsnn.data import webkb
from gsnn.distributed import NodePartition
from gsnn.methods import METHODS

REPOSITORY = Path(__file__).resolve().parents[1]
NODES, FEATURES, CLASSES = 60, 12, 3
TINY = ["--epochs", "3", "--hidden", "8"]


def tiny_graph() -> Data:
    """A random graph with a Planetoid-style split, saved the way a user saves their own."""
    generator = torch.Generator().manual_seed(0)
    y = torch.randint(0, CLASSES, (NODES,), generator=generator)
    x = torch.rand(NODES, FEATURES, generator=generator) + torch.nn.functional.one_hot(y, FEATURES)
    edge_index = to_undirected(torch.randint(0, NODES, (2, 4 * NODES), generator=generator))
    order = torch.arange(NODES)
    return Data(
        x=x,
        edge_index=edge_index,
        y=y,
        train_mask=order < 20,
        val_mask=(order >= 20) & (order < 40),
        test_mask=order >= 40,
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A working folder holding ``graph.pt``, a user's own graph."""
    path = tmp_path_factory.mktemp("cli")
    torch.save(tiny_graph(), path / "graph.pt")
    return path


def run_gsnn(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the console script (``python -m gsnn`` where it is not installed) in ``cwd``."""
    command = [shutil.which("gsnn")] if shutil.which("gsnn") else [sys.executable, "-m", "gsnn"]
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY), OMP_NUM_THREADS="1")
    if os.environ.get("GSNN_DATA_MIRROR"):  # the tests' relative mirror, from any folder
        environment["GSNN_DATA_MIRROR"] = str(Path(os.environ["GSNN_DATA_MIRROR"]).resolve())
    return subprocess.run(
        command + list(argv), cwd=cwd, env=environment, capture_output=True, text=True
    )


def mirror() -> Path:
    """The offline data copies (a folder that does not exist if none are configured)."""
    return Path(os.environ.get("GSNN_DATA_MIRROR") or "/nonexistent").resolve()


@pytest.fixture(scope="module")
def trained(folder) -> dict:
    """``gsnn train`` on the user's graph: a QCFS GCN saved to ``ann.pt``; its JSON result."""
    done = run_gsnn("train", "--dataset", "graph.pt", "--T", "4", *TINY, "--save", "ann.pt",
                "--json", cwd=folder)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "gsnn: 1 torch thread" not in done.stdout and "torch thread" in done.stderr
    return json.loads(done.stdout)


def test_train_saves_an_ann_that_loads_without_code(folder, trained):
    saved = torch.load(folder / "ann.pt", weights_only=True)
    options = json.loads(saved["options"])
    assert options["activation"] == "qcfs" and options["qcfs_levels"] == 4  # L = T
    model = GCN(**options)
    model.load_state_dict(saved["state_dict"])
    data = tiny_graph()
    with torch.no_grad():
        prediction = model.eval()(data.x, data.edge_index).argmax(dim=-1)
    accuracy = float((prediction[data.test_mask] == data.y[data.test_mask]).float().mean())
    assert accuracy == trained["test_accuracy"]
    assert trained["saved"] == "ann.pt" and trained["ann_activation"] == "qcfs, L=4"


@pytest.fixture(scope="module")
def converted(folder, trained) -> dict:
    """``gsnn convert`` of ``ann.pt`` at T = L, saved to ``snn.pt``; its JSON result."""
    argv = ["convert", "--load", "ann.pt", "--method", "qcfs", "--T", "4", "--json", "--quiet"]
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert main(argv + ["--output", "convert.json", "--save", "snn.pt"]) == 0
    return json.loads((folder / "convert.json").read_text())


def test_convert_and_eval_a_saved_ann(folder, trained, converted):
    result = converted
    assert result["dataset"] == "graph.pt"  # the data set the ANN was trained on
    assert result["ann_accuracy"] == trained["test_accuracy"]
    # oracle: one spiking layer of qcfs at T = L reproduces its QCFS ANN exactly
    assert result["snn"]["accuracy"] == result["ann_accuracy"]
    assert len(result["snn"]["accuracy_per_step"]) == 4
    assert result["snn"]["accuracy_per_step"][-1] == pytest.approx(result["snn"]["accuracy"])


def halo_sizes(edge_index, partition) -> int:
    """Nodes of other ranks with an edge into a rank's nodes, summed over the ranks."""
    owner = partition.owners(torch.arange(partition.num_nodes))
    pairs = {(int(owner[t]), s) for s, t in edge_index.t().tolist() if owner[s] != owner[t]}
    return len(pairs)


def test_convert_distributed_gives_the_single_process_logits_and_the_halo(
    folder, trained, monkeypatch, capsys
):
    monkeypatch.chdir(folder)
    argv = ["convert", "--load", "ann.pt", "--T", "4", "--distributed", "2", "--quiet"]
    assert main(argv + ["--output", "distributed.json"]) == 0
    printed = capsys.readouterr().out
    assert "the gathered logits equal the single-process SNN's bit for bit" in printed
    assert "halo nodes" in printed and "convs.1" in printed
    report = json.loads((folder / "distributed.json").read_text())["distributed"]
    assert report["logits_equal"] is True and report["max_abs_difference"] == 0.0
    assert (report["ranks"], report["launch"], report["backend"]) == (2, "fork", "gloo")
    assert sum(report["nodes_per_rank"]) == NODES
    graph = tiny_graph()
    partition = NodePartition.balanced(graph.edge_index, NODES, 2)
    assert list(report["layers"]) == ["convs.0", "convs.1"]
    for layer in report["layers"].values():  # GCN layers aggregate along every edge
        assert layer["halo_nodes"] == halo_sizes(graph.edge_index, partition)
        assert layer["bytes"] > 0
    spikes = report["layers"]["convs.1"]
    assert spikes["binary"] and spikes["rows"] == spikes["halo_nodes"]
    assert spikes["bytes"] == spikes["rows"] * 8 * 4 // 8  # QCFS spikes, hidden 8 x T 4 bits


def test_convert_distributed_reports_unequal_logits_and_exits_with_1(
    folder, trained, monkeypatch, capsys
):
    one_rank = gsnn.cli.distributed_check.one_rank

    def off_by_one(*args):
        out = one_rank(*args)
        return {**out, "logits": out["logits"] + 1}

    monkeypatch.setattr(gsnn.cli.distributed_check, "one_rank", off_by_one)  # forked ranks too
    monkeypatch.chdir(folder)
    argv = ["convert", "--load", "ann.pt", "--T", "4", "--distributed", "2", "--quiet"]
    assert main(argv + ["--json"]) == 1
    report = json.loads(capsys.readouterr().out)["distributed"]
    assert report["logits_equal"] is False and report["max_abs_difference"] == 1.0


def test_convert_distributed_refuses_a_network_a_partition_cannot_run():
    graph = tiny_graph()
    torch.manual_seed(0)
    model = PyGGraphSAGE(FEATURES, 8, 2, out_channels=CLASSES, aggr="max").eval()
    snn = gsnn.convert(model, graph, method="rate", T=4)
    args = argparse.Namespace(distributed=2)
    with pytest.raises(ValueError, match=r"aggr='max': a running max carries state"):
        run_distributed(args, snn, graph)  # refused before any rank is forked


def test_a_mistake_exits_with_2_and_names_the_fix_on_stderr(folder):
    done = run_gsnn("convert", "--dataset", "graph.pt", "--T", "0", cwd=folder)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines()[-1] == "gsnn: error: --T must be at least 1, got 0."


def test_eval_saved_files_and_refuse_to_overwrite_them(
    folder, trained, converted, monkeypatch, capsys
):
    monkeypatch.chdir(folder)
    assert main(["eval", "--load", "ann.pt", "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"]["test"] == trained["test_accuracy"]

    snn = converted["snn"]
    assert main(["eval", "--load", "snn.pt", "--json", "--quiet"]) == 0  # its recorded data
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["kind"] == "snn" and evaluated["T"] == 4 and evaluated["dataset"] == "graph.pt"
    assert evaluated["converted"]["method"] == "qcfs" and evaluated["converted"]["ann"] == "ann.pt"
    assert evaluated["accuracy"]["test"] == snn["accuracy"]  # the saved SNN, exactly
    assert evaluated["test"]["accuracy_per_step"] == snn["accuracy_per_step"]
    assert evaluated["test"]["spikes_per_neuron"] == snn["spikes_per_neuron"]
    argv = ["eval", "--load", "snn.pt", "--dataset", str(folder / "graph.pt"), "--T", "8"]
    assert main(argv + ["--quiet"]) == 0  # the same file, spelt differently
    assert "T=8, converted at T=4" in capsys.readouterr().out.splitlines()[0]
    assert main(["eval", "--load", "ann.pt", "--T", "8", "--quiet"]) == 2
    assert "--T simulates a saved SNN, but ann.pt is an ANN" in capsys.readouterr().err
    assert main(["eval", "--load", "ann.pt", "--seed", "3", "--quiet"]) == 2
    assert "--seed picks the split for a saved SNN, but ann.pt is an ANN" in (
        capsys.readouterr().err
    )
    assert main(["convert", "--load", "snn.pt", "--quiet"]) == 2
    assert "--load snn.pt holds a converted SNN" in capsys.readouterr().err
    assert main(["eval", "--load", "snn.pt", "--dataset", "Cora", "--quiet"]) == 2
    assert "--load snn.pt was converted on graph.pt, not on --dataset Cora" in (
        capsys.readouterr().err
    )
    assert main(["eval", "--load", "snn.pt", "--seed", "3", "--quiet"]) == 2
    assert "was converted on the split of seed 0" in capsys.readouterr().err
    gsnn.save(gsnn.load(folder / "snn.pt"), folder / "bare.snn")  # no record, as from Python
    assert main(["eval", "--load", "bare.snn", "--quiet"]) == 2
    assert "--load bare.snn records no data set" in capsys.readouterr().err
    assert main(["eval", "--load", "bare.snn", "--dataset", "graph.pt", "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(
        "bare.snn: SNN, method QCFSMethod(signed=False, burst=1), T=4\n"
    )

    # saving again to the same paths refuses before training and leaves the files alone
    before = (folder / "ann.pt").read_bytes()
    assert main(["train", "--dataset", "graph.pt", *TINY, "--save", "ann.pt", "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "gsnn: error: --save ann.pt exists; remove it or pick another path.\n"
    assert (folder / "ann.pt").read_bytes() == before and captured.out == ""
    assert main(["convert", "--load", "ann.pt", "--save", "snn.pt", "--quiet"]) == 2
    assert "--save snn.pt exists" in capsys.readouterr().err


def test_sweep_writes_markdown_json_and_plot(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    argv = ["sweep", "--dataset", "graph.pt", "--methods", "qcfs", "rate", "phase", "--T", "2"]
    assert main(argv + ["8", "--seeds", "0", "1", *TINY, "--output", "runs/sweep"]) == 0
    printed = capsys.readouterr().out
    result = json.loads((folder / "runs/sweep.json").read_text())
    cells = {(entry["method"], entry["T"]): entry for entry in result["summary"]}
    assert set(cells) == {("qcfs", 2), ("qcfs", 8), ("rate", 2), ("rate", 8), ("phase", 8)}
    assert result["not_run"][0]["method"] == "phase" and result["not_run"][0]["T"] == 2
    assert "multiple of the period" in result["not_run"][0]["reason"]
    for T in (2, 8):  # qcfs at T = L equals its ANN, seed by seed
        assert cells["qcfs", T]["snn_accuracy"] == cells["qcfs", T]["ann_accuracy"]
    assert len(result["rows"]) == 2 * 5 and all(entry["seeds"] == 2 for entry in cells.values())
    markdown = (folder / "runs/sweep.md").read_text()
    assert "| qcfs | 8 | qcfs, L=8 |" in markdown and "seeds 0, 1" in markdown
    assert "| spikes/neuron | spikes/node | energy |" in markdown
    assert (folder / "runs/sweep.png").read_bytes().startswith(b"\x89PNG")
    assert printed == markdown.rstrip("\n") + "\n"


def test_sweep_passes_options_to_the_methods_that_have_them(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    argv = ["sweep", "--dataset", "graph.pt", "--methods", "qcfs", "one-spike", "--T", "8"]
    argv += ["--seeds", "0", *TINY, "--option", "base=1.5", "--output", "sweep", "--json"]
    assert main(argv + ["--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method_options"] == {"base": 1.5}
    assert "--option base=1.5" in (folder / "sweep.md").read_text()
    methods = {row["method"]: row for row in result["rows"]}
    assert set(methods) == {"qcfs", "one-spike"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--methods", "qcfs", "rate", "--option", "base=1.5"], "none of the methods qcfs, rate"),
        (["--methods", "css", "--option", "base=x"], "base must be a number, got 'x'"),
        (["--methods", "css", "--option", "base"], "--option takes NAME=VALUE"),
    ],
)
def test_sweep_option_mistakes_fail_before_training(
    folder, monkeypatch, capsys, no_training, argv, message
):
    monkeypatch.chdir(folder)
    assert main(["sweep", "--dataset", "graph.pt", "--quiet", *argv]) == 2
    assert message in capsys.readouterr().err


def test_readme_command_prints_the_comparison(tmp_path, monkeypatch, capsys):
    """The README's main job, on the Planetoid copy (fewer epochs, to stay fast)."""
    if not (mirror() / "planetoid" / "Cora").is_dir():
        pytest.skip("needs GSNN_DATA_MIRROR with planetoid/Cora")
    monkeypatch.setenv("GSNN_DATA_MIRROR", str(mirror()))
    argv = ["convert", "--dataset", "Cora", "--model", "gcn", "--method", "qcfs", "--T", "8"]
    assert main(argv + ["--epochs", "5", "--root", str(tmp_path), "--quiet"]) == 0
    printed = capsys.readouterr().out
    expected = "Cora, 2-layer GCN (hidden 16), ANN activation qcfs, L=8, method QCFSMethod("
    assert expected + "signed=False, burst=1)" in printed
    for row in ("ANN test accuracy", "SNN test accuracy", "conversion loss", "energy estimate"):
        assert row in printed


def test_bench_speed_reports_ratios(folder, monkeypatch, capsys):
    if not (mirror() / "mnist").is_dir():
        pytest.skip("needs GSNN_DATA_MIRROR with mnist")
    monkeypatch.setenv("GSNN_DATA_MIRROR", str(mirror()))
    monkeypatch.chdir(folder)
    argv = ["bench", "speed", "--workload", "mnist-lenet5", "--images", "8", "--T", "2"]
    assert main(argv + ["--repeats", "1", "--threads", "1", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["threads"] == 1
    assert result["time_over_ann_forward"]["ANN forward"] == 1.0
    assert (
        result["snn_over_ann"]
        == result["time_over_ann_forward"]["SNN time-stacked (no statistics)"]
    )


def test_bench_distributed_gives_the_single_process_logits_and_the_halo(
    folder, monkeypatch, capsys
):
    monkeypatch.chdir(folder)
    argv = ["bench", "distributed", "--hidden", "--random-nodes", "600", "--T", "2"]
    assert main(argv + ["--repeats", "1", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["world_size"] == 2 and not result["torchrun"]
    assert [row["order"] for row in result["rows"]] == ["rcm", "given"]
    for row in result["rows"]:
        assert row["equal"] is True  # compared bit for bit by the benchmark
        assert list(row["traffic"]) == ["convs.0", "convs.1"]
        for layer in row["traffic"].values():
            assert 0 < layer["halo_nodes"] < 600 and layer["bytes"] > 0
        assert row["traffic"]["convs.1"]["binary"]  # QCFS spikes are sent packed


# -- in-process: help, methods, and every mistake caught before training -------------------


@pytest.fixture
def no_training(monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("data loaded or training started before the command line was checked")

    monkeypatch.setattr(gsnn.cli.preflight.Setup, "load_data", tripwire)
    for data in (NodeData, GraphData, ImageData):
        monkeypatch.setattr(data, "train", tripwire)


def subcommand_parsers():
    from gsnn.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        if name == "bench":
            yield from sub._subparsers._group_actions[0].choices.items()
        else:
            yield name, sub


def test_every_option_has_help_and_shows_its_default():
    for name, parser in subcommand_parsers():
        text = parser.format_help()
        assert "``" not in text and ":math:" not in text, name
        for action in parser._actions:
            assert action.help, (name, action.dest)
            if action.default not in (None, False, [], argparse_suppress()):
                assert f"(default: {action.default}" in " ".join(text.split()), (
                    name,
                    action.dest,
                )


def argparse_suppress():
    return argparse.SUPPRESS


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith(f"gsnn {__version__} (torch ")


def test_methods_lists_every_option_with_its_default(capsys):
    assert main(["methods", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert set(listing) == set(METHODS)
    assert listing["css"]["options"]["base"]["default"] == 2.0
    assert listing["css"]["spike_coded_input"] is False
    assert listing["dual-phase"]["options"]["loss"] == {
        "type": "str",
        "default": "mse",
        "optional": False,
        "description": '"mse" or "kl".',
    }
    assert listing["qcfs"]["options"]["signed"]["default"] is False
    assert listing["qcfs"]["options"]["burst"]["type"] == "int"
    assert main(["methods"]) == 0
    text = capsys.readouterr().out
    assert "--option initial_potential=0.0 (float)" in text and "``" not in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--T", "0"], "--T must be at least 1, got 0."),
        (["--qcfs-levels", "0"], "--qcfs-levels must be at least 1, got 0."),
        (["--hidden", "0"], "--hidden must be at least 1, got 0."),
        (["--layers", "1"], "--layers must be at least 2, got 1."),
        (["--method", "css", "--coding", "bernoulli"], "needs --coding analog"),
        (["--method", "rate", "--qcfs-levels", "4"], "--qcfs-levels sets the levels of a QCFS"),
        (["--method", "phase", "--T", "4"], "T = 4 must be a multiple of the period K = 8"),
        (["--option", "nosuch=1"], "Bad options for method 'qcfs': it has no option 'nosuch'"),
        (["--method", "css", "--option", "base=x"], "base must be a number, got 'x'"),
        (["--method", "css", "--option", "nosuch=1"], "base=2.0 (float), silent_steps=1 (int)"),
        (["--option", "base"], "--option takes NAME=VALUE"),
        (["--dataset", "Corra"], "choose one of Cora, CiteSeer, PubMed"),
        (["--load", "missing.pt"], "--load missing.pt: no such file."),
        (["--load", "graph.pt"], "--load graph.pt: not a file written by gsnn train or"),
        (["--dataset", "Cora", "--root", "/proc/version/x"], "cannot write in /proc/version"),
        (["--output", "/proc/x/y.json"], "--output /proc/x: cannot write in /proc"),
        (["--threads", "-1"], "--threads must be at least 0"),
        (["--model", "gin"], "--model gin is not a model for node classification"),
        (["--dataset", "MUTAG", "--method", "dual-phase"], "for node classification only"),
        (["--dataset", "MUTAG", "--model", "sage"], "choose one of gin, gcn"),
        (["--dataset", "MUTAG", "--residual"], "(gin, gcn) have no --residual; drop it"),
        (["--dataset", "MNIST", "--hidden", "8"], "MNIST is image classification, whose models"),
        (["--dataset", "cifar-10", "--model", "lenet5"], "choose vggsmall or resnet20"),
        (
            ["--dataset", "MNIST", "--method", "rate", "--coding", "bernoulli"],
            "use --coding analog",
        ),
        (["--test-images", "10"], "--test-images limits the test images of MNIST and CIFAR10"),
        (["--dataset", "MNIST", "--site-errors"], "MNIST is image classification; drop it"),
        (["--dataset", "MUTAG", "--distributed", "2"], "partitions the nodes of one graph"),
        (["--distributed", "1"], "--distributed needs at least 2 ranks"),
        (
            ["--method", "rate", "--coding", "bernoulli", "--distributed", "2"],
            "each rank would draw its own",
        ),
    ],
)
def test_convert_mistakes_fail_before_training(
    folder, monkeypatch, capsys, no_training, argv, message
):
    monkeypatch.chdir(folder)
    assert main(["convert", "--dataset", "graph.pt", "--quiet", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("gsnn: error: ") and message in captured.err


def test_features_outside_0_1_are_refused_for_spike_coding_before_training(
    folder, monkeypatch, capsys
):
    def tripwire(*args, **kwargs):
        raise AssertionError("training started before the features were checked")

    monkeypatch.setattr(NodeData, "train", tripwire)
    monkeypatch.chdir(folder)
    argv = ["convert", "--dataset", "graph.pt", "--method", "rate", "--coding", "bernoulli"]
    assert main(argv + ["--quiet"]) == 2
    low, high = float(tiny_graph().x.min()), float(tiny_graph().x.max())
    assert f"the features of graph.pt lie in [{low:.4g}, {high:.4g}]; rescale them" in (
        capsys.readouterr().err
    )


def test_training_options_next_to_load_are_refused(folder, trained, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    assert main(["convert", "--load", "ann.pt", "--hidden", "32", "--quiet"]) == 2
    assert "--hidden set how a model is trained, but --load ann.pt" in capsys.readouterr().err
    assert main(["convert", "--load", "ann.pt", "--method", "rate", "--quiet"]) == 2
    assert (
        "ann.pt is a qcfs ANN; use one of burst, css, dual-phase, one-spike, phase, qcfs, two-phase"
        in (capsys.readouterr().err)
    )


def test_a_graph_without_masks_is_refused_with_the_fix(tmp_path, monkeypatch, capsys):
    data = tiny_graph()
    del data.val_mask, data.test_mask
    torch.save(data, tmp_path / "bare.pt")
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "--load", "bare.pt", "--dataset", "bare.pt", "--quiet"]) == 2
    assert "not a file written by gsnn train" in capsys.readouterr().err
    assert main(["convert", "--dataset", "bare.pt", "--quiet"] + TINY) == 2
    assert "the Data has no val_mask, test_mask; add them" in capsys.readouterr().err


@pytest.mark.parametrize("method", sorted(METHODS))
def test_convert_runs_every_registered_method(folder, monkeypatch, capsys, method):
    monkeypatch.chdir(folder)
    argv = ["convert", "--dataset", "graph.pt", "--method", method, "--T", "8", "--quiet"]
    assert main(argv + TINY) == 0
    printed = capsys.readouterr().out
    assert f"method {METHODS[method].__name__}(" in printed
    for row in ("ANN test accuracy", "SNN test accuracy", "latency", "energy estimate"):
        assert row in printed


def test_convert_passes_method_options_and_prints_site_errors(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    argv = ["convert", "--dataset", "graph.pt", "--method", "one-spike", "--T", "8", "--quiet"]
    assert main(argv + ["--option", "base=1.5", "--layers", "3", "--site-errors"] + TINY) == 0
    printed = capsys.readouterr().out
    assert "base=1.5" in printed
    table = printed.split("Per neuron site against its ANN activation (test nodes):")[1]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 2  # header and one row per hidden activation of a 3-layer GCN


def test_dual_phase_trains_its_two_stage_ann(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    argv = ["convert", "--dataset", "graph.pt", "--method", "dual-phase", "--T", "2", "--quiet"]
    assert main(argv + TINY) == 0
    assert "fine-tuned with NoisyQC at T=2" in capsys.readouterr().out


def test_bench_takes_the_benchmark_scripts_options():
    from gsnn.cli import build_parser

    args = build_parser().parse_args(["bench", "memory", "--nodes", "100", "--chunks", "2", "1"])
    assert (args.nodes, args.chunks, args.T) == (100, [2, 1], 32)
    assert args.script.__file__ == str(REPOSITORY / "experiments" / "benchmark_memory.py")


def test_an_error_closes_the_progress_bars_first(capsys):
    from tqdm import tqdm

    from gsnn.cli.console import report_error

    bar = tqdm(total=3, desc="train", file=sys.stderr, leave=False)
    bar.update()
    report_error("--T must be at least 1, got 0.")
    assert bar not in getattr(tqdm, "_instances", ())
    before, error = capsys.readouterr().err.split("gsnn: error: ")
    assert error == "--T must be at least 1, got 0.\n"
    assert before.endswith("\r") and before.split("\r")[-2].strip() == ""  # bar line cleared


def test_graphsage_is_trained_converted_and_saved_by_name(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder)
    argv = ["train", "--dataset", "graph.pt", "--model", "sage", "--method", "rate", *TINY]
    assert main(argv + ["--save", "sage.pt", "--quiet"]) == 0
    assert "2-layer GraphSAGE (hidden 8), ANN activation relu" in capsys.readouterr().out
    assert torch.load(folder / "sage.pt", weights_only=True)["model"] == "sage"
    assert main(["convert", "--load", "sage.pt", "--method", "rate", "--json", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["architecture"] == "2-layer GraphSAGE (hidden 8)"


def test_a_graph_without_a_public_split_is_split_per_class(tmp_path, monkeypatch, capsys):
    """Amazon Photo: 20 training and 30 validation nodes per class, the rest test nodes."""
    if not (mirror() / "amazon" / "Photo").is_dir():
        pytest.skip("needs GSNN_DATA_MIRROR with amazon/Photo")
    monkeypatch.setenv("GSNN_DATA_MIRROR", str(mirror()))
    argv = ["convert", "--dataset", "photo", "--root", str(tmp_path), "--epochs", "1"]
    assert main(argv + ["--hidden", "4", "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "Photo"
    assert result["test_size"] == 7650 - 8 * (20 + 30)  # PyG's Amazon Photo: 7,650 nodes


def real_data(tmp_path, monkeypatch, *folders: str) -> list:
    """``--root`` in ``tmp_path`` with the mirror set; skips unless the mirror holds ``folders``."""
    for name in folders:
        if not (mirror() / name).is_dir():
            pytest.skip(f"needs GSNN_DATA_MIRROR with {name}")
    monkeypatch.setenv("GSNN_DATA_MIRROR", str(mirror()))
    monkeypatch.chdir(tmp_path)
    return ["--root", str(tmp_path / "data"), "--quiet"]


def test_a_tu_data_set_trains_converts_and_evaluates_per_graph(tmp_path, monkeypatch, capsys):
    """MUTAG: a GIN + global_add_pool, a seeded stratified 80/10/10 split of its 188 graphs."""
    common = real_data(tmp_path, monkeypatch, "tu/MUTAG")
    argv = ["train", "--dataset", "mutag", "--method", "qcfs", "--T", "4", "--epochs", "2"]
    assert main(argv + ["--hidden", "8", "--save", "gin.pt", "--json", *common]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["dataset"] == "MUTAG" and trained["task"] == "graph"
    assert trained["options"]["conv"] == "gin" and trained["options"]["num_layers"] == 3

    assert (
        main(["convert", "--load", "gin.pt", "--T", "4", "--save", "gin.snn", "--json"] + common)
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["unit"] == "graphs" and result["test_size"] == 20  # 10 % of each class
    assert result["ann_accuracy"] == trained["test_accuracy"]
    assert len(result["snn"]["accuracy_per_step"]) == 4
    assert result["snn"]["spikes_per_sample"] > 0  # spikes per graph

    argv = ["convert", "--load", "gin.pt", "--T", "4", "--site-errors", "--json"]
    assert main(argv + common) == 0
    sites = [error["site"] for error in json.loads(capsys.readouterr().out)["site_errors"]]
    assert sites[0] == "convs_0_nn_1"  # inside the first GINConv's MLP (issue: it was refused)
    assert len(sites) == 7  # three GINConv MLPs and their outputs, the head

    assert main(["eval", "--load", "gin.snn", "--json"] + common) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert (
        evaluated["dataset"] == "MUTAG"
        and evaluated["accuracy"]["test"] == result["snn"]["accuracy"]
    )
    assert set(evaluated["accuracy"]) == {"train", "val", "test"}


def test_a_reference_cnn_file_converts_on_a_subset_of_test_images(tmp_path, monkeypatch, capsys):
    common = real_data(tmp_path, monkeypatch, "mnist")
    weights = REPOSITORY / "experiments" / "weights" / "mnist-lenet5-qcfsL4-seed0.pt"
    argv = ["convert", "--load", str(weights), "--T", "4", "--test-images", "300", "--json"]
    assert main(argv + common) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "MNIST" and result["model"] == "lenet5"
    assert result["ann_activation"] == "qcfs, L=4" and result["test_size"] == 300
    assert result["snn"]["accuracy"] > 0.9  # a trained LeNet-5, not a random one


def test_a_webkb_graph_uses_the_split_numbered_by_the_seed(tmp_path, monkeypatch, capsys):
    common = real_data(tmp_path, monkeypatch, "webkb/texas")
    argv = ["train", "--dataset", "Texas", "--method", "rate", "--epochs", "5", "--seed", "7"]
    assert main(argv + ["--save", "texas.pt", "--json"] + common) == 0
    trained = json.loads(capsys.readouterr().out)
    saved = torch.load(tmp_path / "texas.pt", weights_only=True)
    model = GCN(**json.loads(saved["options"]))
    model.load_state_dict(saved["state_dict"])
    graph = webkb("texas", 7, root=tmp_path / "data", transform=NormalizeFeatures())
    with torch.no_grad():
        prediction = model.eval()(graph.x, graph.edge_index).argmax(dim=-1)
    for split, accuracy in trained["accuracy"].items():
        mask = graph[f"{split}_mask"]
        assert float((prediction[mask] == graph.y[mask]).float().mean()) == accuracy


def test_method_options_read_shell_words_for_booleans_and_none():
    """``--option signed=true`` is how a shell user writes it; Python literals work too."""
    pairs = ["signed=true", "burst=None", "channel_wise=FALSE", "base=1.5", "T=4", "loss=kl"]
    assert parse_method_options(pairs) == {
        "signed": True,
        "burst": None,
        "channel_wise": False,
        "base": 1.5,
        "T": 4,
        "loss": "kl",
    }
    assert parse_method_options(["signed=True"]) == {"signed": True}
