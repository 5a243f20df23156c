"""Node classification on one graph with train, validation and test masks (Cora, ...)."""

from typing import Any, Dict, Optional, Tuple

from torch import nn
from torch_geometric.data import Data

from gsnn.ann import GCN, GraphSAGE, node_accuracy, train_node_classifier
from gsnn.cli.snn_evaluation import SPLITS, evaluate_snn
from gsnn.cli.task import Task, TaskData, TrainingDefaults
from gsnn.convert import SpikingNetwork
from gsnn.methods import ConversionMethod


class NodeData(TaskData):
    """A graph whose nodes are classified; ``graph`` has ``x``, ``edge_index``, ``y`` and the
    three masks. Conversion calibrates on the whole graph (dual-phase, which fits the SNN
    to the ANN, on the training and validation nodes only)."""

    unit = "nodes"
    splits = SPLITS

    def __init__(self, graph: Data) -> None:
        self.graph = graph
        self.num_features = graph.num_features
        self.num_classes = int(graph.y.max()) + 1

    def train(self, model: nn.Module, epochs: int, seed: int, progress: bool) -> None:
        train_node_classifier(model, self.graph, epochs=epochs, progress=progress)

    def accuracy(self, model: nn.Module, split: str = "test") -> float:
        return node_accuracy(model, self.graph, self.graph[f"{split}_mask"])

    def size(self, split: str = "test") -> int:
        return int(self.graph[f"{split}_mask"].sum())

    def calibration(self, recipe: ConversionMethod) -> Dict[str, Any]:
        graph = self.graph
        mask = graph.train_mask | graph.val_mask if recipe.calibrates_network else None
        return {"data": graph, "mask": mask}

    def evaluate_snn(self, snn: SpikingNetwork, progress: bool = False) -> Dict[str, Any]:
        return evaluate_snn(snn, self.graph, self.graph.test_mask)

    def input_range(self) -> Tuple[float, float]:
        return float(self.graph.x.min()), float(self.graph.x.max())

    def site_error_inputs(self) -> Optional[Tuple[tuple, Dict[str, Any]]]:
        return (self.graph.x, self.graph.edge_index), {"mask": self.graph.test_mask}


class NodeTask(Task):
    """GCN or GraphSAGE node classifiers, trained with Adam (lr 0.01) on the training nodes."""

    name = "node"
    title = "node classification"
    models = {"gcn": GCN, "sage": GraphSAGE}
    defaults = TrainingDefaults(hidden=16, layers=2, epochs=200, residual=True)
    trains_dual_phase = True

    def model_options(
        self, model: str, data: TaskData, hidden: int, layers: int, residual: bool
    ) -> Dict[str, Any]:
        options = super().model_options(model, data, hidden, layers, residual)
        return {**options, "residual": residual}

    def prepare(self, loaded: Data, seed: int, test_limit: Optional[int]) -> NodeData:
        return NodeData(loaded)


NODE = NodeTask()
