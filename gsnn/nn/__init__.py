"""Time-batched synaptic layers and pooling. Inputs and outputs are time-major ``[T, ...]``.

Every synaptic layer fulfils :class:`SynapticLayer` (``receives_spikes``, set by the
converter; ``synaptic_fanout(...)``, accumulates per unit input event, for SOP counts;
``dense_macs(...)``, MACs of the equivalent ANN layer for one step). Layers converted
from ANN layers fulfil :class:`WeightedLayer`, weightless ops :class:`StructuralOp`;
both register their ANN types with :func:`gsnn.nn.registry.converts`.
"""

from gsnn.nn.graph_adjacency import GraphAdjacency
from gsnn.nn.one_to_one_synapse import OneToOneSynapse
from gsnn.nn.readout import MeanReadout, SumReadout, WeightedSumReadout
from gsnn.nn.running_max_aggregation import RunningMaxAggregation
from gsnn.nn.spike_delay import SpikeDelay
from gsnn.nn.spiking_appnp import SpikingAPPNP
from gsnn.nn.spiking_avg_pool2d import SpikingAvgPool2d
from gsnn.nn.spiking_batch_norm import SpikingBatchNorm
from gsnn.nn.spiking_cheb_conv import SpikingChebConv
from gsnn.nn.spiking_cluster_gcn_conv import SpikingClusterGCNConv
from gsnn.nn.spiking_conv2d import SpikingConv2d
from gsnn.nn.spiking_flatten import SpikingFlatten
from gsnn.nn.spiking_gcn2_conv import SpikingGCN2Conv
from gsnn.nn.spiking_gcn_conv import SpikingGCNConv
from gsnn.nn.spiking_gin_aggregation import SpikingGINAggregation
from gsnn.nn.spiking_global_max_pool import SpikingGlobalMaxPool
from gsnn.nn.spiking_global_pool import SpikingGlobalPool
from gsnn.nn.spiking_graph_conv import SpikingGraphConv
from gsnn.nn.spiking_graph_layer import SpikingGraphLayer
from gsnn.nn.spiking_jumping_knowledge import SpikingJumpingKnowledge
from gsnn.nn.spiking_le_conv import SpikingLEConv
from gsnn.nn.spiking_linear import SpikingLinear
from gsnn.nn.spiking_max_pool2d import SpikingMaxPool2d
from gsnn.nn.spiking_mixhop_conv import SpikingMixHopConv
from gsnn.nn.spiking_sage_conv import SpikingSAGEConv
from gsnn.nn.spiking_sg_conv import SpikingSGConv
from gsnn.nn.spiking_ssg_conv import SpikingSSGConv
from gsnn.nn.spiking_tag_conv import SpikingTAGConv
from gsnn.nn.structural_op import StructuralOp
from gsnn.nn.synaptic_layer import SynapticLayer, WeightedLayer

__all__ = [
    "GraphAdjacency",
    "MeanReadout",
    "OneToOneSynapse",
    "RunningMaxAggregation",
    "SpikeDelay",
    "SpikingAPPNP",
    "SpikingAvgPool2d",
    "SpikingBatchNorm",
    "SpikingChebConv",
    "SpikingClusterGCNConv",
    "SpikingConv2d",
    "SpikingFlatten",
    "SpikingGCN2Conv",
    "SpikingGCNConv",
    "SpikingGINAggregation",
    "SpikingGlobalMaxPool",
    "SpikingGlobalPool",
    "SpikingGraphConv",
    "SpikingGraphLayer",
    "SpikingJumpingKnowledge",
    "SpikingLEConv",
    "SpikingLinear",
    "SpikingMaxPool2d",
    "SpikingMixHopConv",
    "SpikingSAGEConv",
    "SpikingSGConv",
    "SpikingSSGConv",
    "SpikingTAGConv",
    "StructuralOp",
    "SumReadout",
    "SynapticLayer",
    "WeightedLayer",
    "WeightedSumReadout",
]
