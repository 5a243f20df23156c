"""Sparse adjacency used by every spiking graph layer, and time-stacked propagation."""

import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_edge_index

from gsnn.nn.time_constant import map_steps

# rows of the adjacency aggregated per block by GraphAdjacency.propagate (None: all at once)
_rows_per_block: ContextVar[Optional[int]] = ContextVar("rows_per_block", default=None)


@contextmanager
def node_blocks(rows: Optional[int]) -> Iterator[None]:
    """Within the block, :meth:`GraphAdjacency.propagate` aggregates ``rows`` target
    nodes at a time and one step at a time (``None``: every row and step in one matmul).

    Per context (thread), so concurrent calls with different settings do not mix.
    """
    token = _rows_per_block.set(rows)
    try:
        yield
    finally:
        _rows_per_block.reset(token)


def check_edge_index(edge_index: Tensor, num_nodes: int) -> None:
    """Raise ``ValueError`` unless ``edge_index`` is a valid ``[2, E]`` index into ``num_nodes``."""
    if not isinstance(edge_index, Tensor) or edge_index.dim() != 2 or edge_index.shape[0] != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index)
        raise ValueError(f"edge_index must be a tensor of shape [2, num_edges], got {shape}.")
    if edge_index.dtype != torch.long:
        raise ValueError(f"edge_index must hold torch.long indices, got {edge_index.dtype}.")
    if edge_index.numel() and (edge_index.min() < 0 or edge_index.max() >= num_nodes):
        raise ValueError(
            f"edge_index refers to node {int(edge_index.max())} (or {int(edge_index.min())}) "
            f"but the features describe {num_nodes} nodes: indices must lie in "
            f"[0, {num_nodes - 1}]. Check that x and edge_index belong to the same graph."
        )


def edges_of_adjacency(adj_t: Tensor, num_nodes: int) -> Tuple[Tensor, Tensor]:
    r"""The ``(edge_index, edge_weight)`` of a transposed sparse adjacency ``adj_t``.

    ``adj_t[i, j]`` is the weight of the edge :math:`j \to i`, as PyG's
    ``T.ToSparseTensor()`` stores it, so ``edge_index = (j, i)``.

    Args:
        adj_t (Tensor): a torch sparse (COO or CSR) matrix :math:`(N, N)`.
        num_nodes (int): :math:`N`, the number of rows of the features.

    Returns:
        (Tensor, Tensor): edge indices :math:`(2, |\mathcal{E}|)` and weights
        :math:`(|\mathcal{E}|)`.
    """
    if adj_t.dim() != 2 or tuple(adj_t.shape) != (num_nodes, num_nodes):
        raise ValueError(
            f"adj_t must be a sparse [num_nodes, num_nodes] = [{num_nodes}, {num_nodes}] "
            f"matrix, got {tuple(adj_t.shape)}."
        )
    index, weight = to_edge_index(adj_t)
    return torch.stack([index[1], index[0]]), weight


def is_sparse_adjacency(edge_index) -> bool:
    """``edge_index`` is a torch sparse adjacency matrix (``adj_t``), not ``[2, E]`` indices."""
    return isinstance(edge_index, Tensor) and edge_index.layout != torch.strided


def check_edge_weight(
    edge_weight: Optional[Tensor], edge_index: Tensor, allow_negative: bool = True
) -> None:
    r"""Raise ``ValueError`` unless ``edge_weight`` is ``None`` or ``E`` finite weights.

    Args:
        edge_weight (Tensor, optional): one weight per edge, :math:`(|\mathcal{E}|)`.
        edge_index (Tensor): the edges they weigh, :math:`(2, |\mathcal{E}|)`.
        allow_negative (bool): ``False`` for layers that normalise by the square root of
            weighted degrees (``gcn_norm``), where a negative weight makes it NaN.
    """
    if edge_weight is None:
        return
    num_edges = edge_index.shape[1]
    if not isinstance(edge_weight, Tensor) or edge_weight.shape != (num_edges,):
        shape = tuple(edge_weight.shape) if isinstance(edge_weight, Tensor) else edge_weight
        raise ValueError(
            f"edge_weight must be a tensor of shape [num_edges] = [{num_edges}], one weight "
            f"per column of edge_index, got {shape!r}."
        )
    if not torch.is_floating_point(edge_weight):
        raise ValueError(f"edge_weight must be floating point, got {edge_weight.dtype}.")
    if not torch.isfinite(edge_weight).all():
        bad = int((~torch.isfinite(edge_weight)).sum())
        raise ValueError(
            f"edge_weight holds {bad} NaN or infinite value(s); clean or impute them first "
            "(or drop those edges)."
        )
    if not allow_negative and num_edges and edge_weight.min() < 0:
        raise ValueError(
            f"edge_weight holds negative values (down to {float(edge_weight.min()):g}); this "
            "layer normalises by the inverse square root of weighted degrees (gcn_norm), which "
            "a negative weight can make NaN. Use non-negative weights, or normalize=False."
        )


def graph_fingerprint(edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int) -> Tuple:
    """A cheap summary of a graph that changes whenever the graph does, in practice.

    The node and edge counts, dtypes and position-weighted checksums of ``edge_index`` and
    ``edge_weight``: an edge moved, reordered or re-weighted changes it. One pass over the
    edges, so a cached adjacency can be checked against every call's graph.
    """
    num_edges = edge_index.shape[1]
    position = 2 * torch.arange(num_edges, device=edge_index.device) + 1  # odd weights
    # int64 arithmetic wraps around, which keeps the checksum a checksum
    pairs = edge_index[0] * (num_nodes + 1) + edge_index[1]
    index_sum = int((pairs * position).sum()) if num_edges else 0
    weight_sums = None
    if edge_weight is not None:
        weights = edge_weight.detach().double()
        weight_sums = (float(weights.sum()), float((weights * position).sum()), edge_weight.dtype)
    return (num_nodes, num_edges, index_sum, weight_sums)


@dataclass
class GraphAdjacency:
    """A weighted adjacency ``A[target, source]`` in CSR form.

    Attributes:
        matrix (Tensor): sparse CSR tensor :math:`(N, N)`; row ``i`` holds the
            weights of the messages node ``i`` receives.
        source_fanout (Tensor): :math:`(N,)`, the number of targets each source
            node reaches (its out-degree in this operator, self loops included).
    """

    matrix: Tensor
    source_fanout: Tensor

    @classmethod
    def from_edges(
        cls, edge_index: Tensor, edge_weight: Optional[Tensor], num_nodes: int, dtype: torch.dtype
    ) -> "GraphAdjacency":
        """Build from PyG's ``edge_index`` (row 0: source, row 1: target); duplicates add up.

        The entries are sorted by the key ``target * N + source`` with :func:`torch.sort`
        and duplicates summed one after the other in that order, which is what torch's
        ``sparse_coo_tensor(...).coalesce().to_sparse_csr()`` does, so the matrix equals
        that one bit for bit (tested), without coalesce's loop over every entry: on a
        random graph of 500,000 nodes and 5.5M entries the build takes about half the time
        (``experiments/results/profile_first_call.md``).
        """
        if edge_weight is None:
            edge_weight = torch.ones(edge_index.shape[1], dtype=dtype, device=edge_index.device)
        # indices are checked by check_edge_index before any layer builds its adjacency
        source, target = edge_index.long()
        # torch.sort's default (not stable=True) is the order coalesce sums duplicates in:
        # a stable sort orders them otherwise and changes the sums' last bits (tested)
        key, order = torch.sort(target * num_nodes + source)
        values = edge_weight.to(dtype)[order]
        fresh = torch.ones_like(key, dtype=torch.bool)
        fresh[1:] = key[1:] != key[:-1]
        if not bool(fresh.all()):  # duplicates: each sums its terms in the sorted order
            starts = fresh.nonzero().squeeze(1)
            counts = torch.diff(starts, append=starts.new_tensor([key.numel()]))
            key, summed = key[starts], values[starts]
            term, pending = 1, (counts > 1).nonzero().squeeze(1)
            while pending.numel():
                summed[pending] += values[starts[pending] + term]
                term += 1
                pending = pending[counts[pending] > term]
            values = summed
        rows = torch.div(key, num_nodes, rounding_mode="floor")
        columns = key - rows * num_nodes
        crow = torch.zeros(num_nodes + 1, dtype=torch.long, device=key.device)
        torch.cumsum(torch.bincount(rows, minlength=num_nodes), 0, out=crow[1:])
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            matrix = torch.sparse_csr_tensor(
                crow, columns, values, (num_nodes, num_nodes), check_invariants=False
            )
        return cls(matrix, torch.bincount(columns, minlength=num_nodes))

    @classmethod
    def gcn_normalised(
        cls,
        edge_index: Tensor,
        edge_weight: Optional[Tensor],
        num_nodes: int,
        dtype: torch.dtype,
        add_self_loops: bool = True,
    ) -> "GraphAdjacency":
        r"""The symmetric normalisation :math:`\hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2}` of PyG's ``gcn_norm`` (SGC, SSGC, MixHop; TAGCN without
        self loops)."""
        edge_index, edge_weight = gcn_norm(
            edge_index, edge_weight, num_nodes, False, add_self_loops, dtype=dtype
        )
        return cls.from_edges(edge_index, edge_weight, num_nodes, dtype)

    def __deepcopy__(self, memo) -> "GraphAdjacency":
        # torch cannot deep-copy sparse CSR storage; rebuild it from cloned parts
        matrix = torch.sparse_csr_tensor(
            self.matrix.crow_indices().clone(),
            self.matrix.col_indices().clone(),
            self.matrix.values().clone(),
            self.matrix.shape,
        )
        return GraphAdjacency(matrix, self.source_fanout.clone())

    @property
    def num_entries(self) -> int:
        """Number of stored (target, source) pairs."""
        return int(self.matrix.values().numel())

    def unit_pattern(self) -> Tensor:
        """The same sparsity with every stored entry set to one (for counting synapses)."""
        return torch.sparse_csr_tensor(
            self.matrix.crow_indices(),
            self.matrix.col_indices(),
            torch.ones_like(self.matrix.values()),
            self.matrix.shape,
            check_invariants=False,  # the indices are this matrix's own
        )

    def walk_counts(self, hops: int) -> Tensor:
        r"""Walks of each length along the stored entries, counted from their source.

        Row ``k`` holds, for every node ``j``, the number of walks of length
        ``k`` that leave ``j`` (row 0 is all ones): the synapses one event at
        ``j`` passes through in ``k`` hops of propagation.

        Shapes:
            - **output:** :math:`(\text{hops} + 1, N)`
        """
        pattern = self.unit_pattern()
        walks = [torch.ones(1, self.matrix.shape[1], dtype=self.matrix.values().dtype)]
        for _ in range(hops):
            walks.append(walks[-1] @ pattern)  # column sums: walks leaving each source node
        return torch.cat(walks)

    def propagate(self, x: Tensor) -> Tensor:
        r"""Aggregate :math:`\mathbf{A}\mathbf{X}(t)` for all steps in one sparse matmul.

        The steps are stacked into the columns of one dense operand
        :math:`(N, T \cdot F)`, so the adjacency is read once per call.

        Shapes:
            - **input:** :math:`(T, N, F)`
            - **output:** :math:`(T, N, F)`
        """

        def aggregate(block: Tensor) -> Tensor:
            steps, nodes, features = block.shape
            stacked = block.permute(1, 0, 2).reshape(nodes, steps * features)
            out = torch.sparse.mm(self.matrix, stacked)
            return out.reshape(nodes, steps, features).permute(1, 0, 2)

        rows = _rows_per_block.get()
        if rows is not None and rows < x.shape[1]:
            return map_steps(lambda block: self._propagate_in_blocks(block, rows), x)
        return map_steps(aggregate, x)

    def _propagate_in_blocks(self, x: Tensor, rows: int) -> Tensor:
        r""":meth:`propagate` over blocks of ``rows`` target nodes, one step at a time.

        Each block is a CSR view of the adjacency's rows; besides input and output, the
        only temporary is one block's result :math:`(\text{rows}, F)`, where the single
        matmul needs two :math:`(N, T \cdot F)` copies. Every output row sums the same
        entries in the same order, so the result equals :meth:`propagate`'s bit for bit
        (tested).
        """
        steps, nodes, features = x.shape
        out = x.new_empty(steps, nodes, features)
        crow, col, values = (
            self.matrix.crow_indices(),
            self.matrix.col_indices(),
            self.matrix.values(),
        )
        for start in range(0, nodes, rows):
            stop = min(start + rows, nodes)
            first, last = int(crow[start]), int(crow[stop])
            block = torch.sparse_csr_tensor(
                crow[start : stop + 1] - first,
                col[first:last],
                values[first:last],
                (stop - start, nodes),
                check_invariants=False,  # a slice of this matrix's own indices
            )
            for step in range(steps):
                out[step, start:stop] = torch.sparse.mm(block, x[step])
        return out
