"""ANN side: activations to train with before conversion, reference models, training."""

from gsnn.ann.activation import ACTIVATIONS, make_activation
from gsnn.ann.gcn import GCN
from gsnn.ann.node_training import node_accuracy, train_node_classifier
from gsnn.ann.nonzero_dropout import NonzeroDropout
from gsnn.ann.qcfs import QCFS
from gsnn.ann.qcfs_from_relu import qcfs_from_relu
from gsnn.ann.threshold_relu import ThresholdReLU

__all__ = [
    "ACTIVATIONS",
    "GCN",
    "NonzeroDropout",
    "QCFS",
    "ThresholdReLU",
    "make_activation",
    "node_accuracy",
    "qcfs_from_relu",
    "train_node_classifier",
]
