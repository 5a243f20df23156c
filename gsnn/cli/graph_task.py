"""Graph classification on the TU data sets (MUTAG, PROTEINS, NCI1, ENZYMES, IMDB-BINARY)."""

from typing import Any, Dict, List, Optional, Tuple

import torch
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from tqdm import tqdm

from gsnn.ann import graph_accuracy, train_graph_classifier
from gsnn.cli.graph_classifier import GraphClassifier
from gsnn.cli.snn_evaluation import SPLITS, evaluate_batches
from gsnn.cli.task import Task, TaskData, TrainingDefaults
from gsnn.convert import SpikingNetwork
from gsnn.methods import ConversionMethod

# the stratified split of the graphs, drawn with the seed: 80 % train, 10 % val, 10 % test
SPLIT_FRACTIONS = {"train": 0.8, "val": 0.1}
TRAIN_BATCH, EVALUATION_BATCH = 32, 256


def stratified_split(labels: Tensor, seed: int) -> Dict[str, Tensor]:
    """Graph indices of the train, val and test splits, with the class proportions of
    ``labels`` in each (per class: shuffled with ``seed``, the first 80 % train, the next
    10 % val, the rest test).

    Shapes:
        - **labels:** :math:`(G)`; every split :math:`(G_\\text{split})`, sorted
    """
    generator = torch.Generator().manual_seed(seed)
    parts: Dict[str, List[Tensor]] = {split: [] for split in SPLITS}
    for label in labels.unique():
        members = (labels == label).nonzero().view(-1)
        members = members[torch.randperm(members.numel(), generator=generator)]
        train = round(SPLIT_FRACTIONS["train"] * members.numel())
        val = train + round(SPLIT_FRACTIONS["val"] * members.numel())
        parts["train"].append(members[:train])
        parts["val"].append(members[train:val])
        parts["test"].append(members[val:])
    return {split: torch.cat(chunks).sort().values for split, chunks in parts.items()}


class EpochProgress:
    """A loader that advances a progress bar each time it is iterated: one tick an epoch."""

    def __init__(self, loader: DataLoader, epochs: int, progress: bool) -> None:
        self.loader = loader
        self.bar = tqdm(total=epochs, desc="train", disable=not progress, leave=False)

    def __iter__(self):
        yield from self.loader
        self.bar.update()
        if self.bar.n == self.bar.total:
            self.bar.close()


class GraphData(TaskData):
    """The graphs of a TU data set (without edge features, which the models do not read) and
    their seeded stratified split. Conversion calibrates on a DataLoader of the training
    graphs (batches of 256)."""

    unit = "graphs"
    splits = SPLITS

    def __init__(self, graphs: List[Data], num_classes: int, seed: int) -> None:
        self.graphs = graphs
        self.num_features = graphs[0].num_node_features
        self.num_classes = num_classes
        self.index = stratified_split(torch.cat([graph.y for graph in graphs]), seed)

    def loader(self, split: str, **options) -> DataLoader:
        """A DataLoader of the graphs of ``split``."""
        graphs = [self.graphs[index] for index in self.index[split].tolist()]
        return DataLoader(graphs, batch_size=options.pop("batch_size", EVALUATION_BATCH), **options)

    def train(self, model: nn.Module, epochs: int, seed: int, progress: bool) -> None:
        generator = torch.Generator().manual_seed(seed)
        loader = self.loader("train", batch_size=TRAIN_BATCH, shuffle=True, generator=generator)
        train_graph_classifier(model, EpochProgress(loader, epochs, progress), epochs=epochs)

    def accuracy(self, model: nn.Module, split: str = "test") -> float:
        return graph_accuracy(model, self.loader(split))

    def size(self, split: str = "test") -> int:
        return self.index[split].numel()

    def calibration(self, recipe: ConversionMethod) -> Dict[str, Any]:
        return {"data": self.loader("train")}

    def evaluate_snn(self, snn: SpikingNetwork, progress: bool = False) -> Dict[str, Any]:
        by_split = {split: self.accuracy(snn, split) for split in ("train", "val")}
        batches = (((b.x, b.edge_index, b.batch), b.y) for b in self.loader("test"))
        result = evaluate_batches(snn, batches, progress)
        result["accuracy_by_split"] = {**by_split, "test": result["accuracy"]}
        return result

    def input_range(self) -> Tuple[float, float]:
        features = torch.cat([graph.x for graph in self.graphs])
        return float(features.min()), float(features.max())

    def site_error_inputs(self) -> Optional[Tuple[tuple, Dict[str, Any]]]:
        """Every test graph in one batch: the sites' values over all their nodes."""
        test = next(iter(self.loader("test", batch_size=self.size("test"))))
        return (test.x, test.edge_index, test.batch), {}


class GraphTask(Task):
    """GIN + ``global_add_pool`` or GCN + ``global_mean_pool`` graph classifiers
    (:class:`~gsnn.cli.graph_classifier.GraphClassifier`), trained with Adam (lr 0.01,
    batches of 32 graphs)."""

    name = "graph"
    title = "graph classification"
    models = {"gin": GraphClassifier, "gcn": GraphClassifier}
    defaults = TrainingDefaults(hidden=32, layers=3, epochs=50)

    def model_options(
        self, model: str, data: TaskData, hidden: int, layers: int, residual: bool
    ) -> Dict[str, Any]:
        options = super().model_options(model, data, hidden, layers, residual)
        return {**options, "conv": model}

    def prepare(self, loaded: List[Data], seed: int, test_limit: Optional[int]) -> GraphData:
        return GraphData(loaded, int(torch.cat([g.y for g in loaded]).max()) + 1, seed)


GRAPH = GraphTask()
