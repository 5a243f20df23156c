"""ANN side: activations to train with before conversion, reference models, training."""

from gsnn.ann.activation import ACTIVATIONS, make_activation
from gsnn.ann.dual_phase_finetune import dual_phase_finetune, noisy_qc_from_clip
from gsnn.ann.gcn import GCN
from gsnn.ann.graph_sage import GraphSAGE
from gsnn.ann.graph_training import graph_accuracy, train_graph_classifier
from gsnn.ann.image_training import image_accuracy, train_image_classifier
from gsnn.ann.lenet5 import LeNet5
from gsnn.ann.node_training import node_accuracy, train_node_classifier, transposed_csr_adjacency
from gsnn.ann.noisy_qc import NoisyQC
from gsnn.ann.nonzero_dropout import NonzeroDropout
from gsnn.ann.qcfs import QCFS
from gsnn.ann.qcfs_from_relu import qcfs_from_relu
from gsnn.ann.reference_weights import REFERENCE_MODELS, ReferenceWeights, load_reference_model
from gsnn.ann.resnet20 import ResNet20
from gsnn.ann.tclamp import TClamp
from gsnn.ann.threshold_relu import ThresholdReLU
from gsnn.ann.vgg_small import VGGSmall

__all__ = [
    "graph_accuracy",
    "ACTIVATIONS",
    "GCN",
    "GraphSAGE",
    "LeNet5",
    "NoisyQC",
    "NonzeroDropout",
    "QCFS",
    "REFERENCE_MODELS",
    "ReferenceWeights",
    "ResNet20",
    "TClamp",
    "ThresholdReLU",
    "VGGSmall",
    "dual_phase_finetune",
    "image_accuracy",
    "load_reference_model",
    "make_activation",
    "node_accuracy",
    "noisy_qc_from_clip",
    "qcfs_from_relu",
    "train_image_classifier",
    "train_graph_classifier",
    "train_node_classifier",
    "transposed_csr_adjacency",
]
