"""Calibration data: what the converter accepts and how it becomes model inputs."""

import inspect
from typing import Iterable, List, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gsnn.convert.tracer import positional_parameters
from gsnn.nn.graph_adjacency import check_edge_index

CalibrationData = Union[Data, Tensor, Sequence[Tensor], Iterable]


def model_inputs(data: CalibrationData) -> Tuple:
    """The positional inputs a model is called with for ``data``.

    A PyG ``Data`` gives ``(x, edge_index)``, plus ``edge_weight`` when it has
    one; a tensor gives ``(tensor,)``; a tuple or list is used as is.
    """
    if isinstance(data, Data):
        if data.x is None or data.edge_index is None:
            raise ValueError("Calibration Data needs node features 'x' and an 'edge_index'.")
        check_edge_index(data.edge_index, data.x.shape[0])
        inputs = (data.x, data.edge_index)
        if getattr(data, "edge_weight", None) is not None:
            inputs += (data.edge_weight,)
        return inputs
    if isinstance(data, Tensor):
        return (data,)
    if isinstance(data, (tuple, list)) and data and isinstance(data[0], Tensor):
        return tuple(data)
    raise ValueError(
        "Calibration data must be a torch_geometric Data object, a tensor or a tuple of "
        f"model inputs, got {type(data).__name__}."
    )


def _positional_arity(model: nn.Module) -> Tuple[int, int]:
    """How many positional inputs ``model.forward`` needs at least and takes at most."""
    parameters = positional_parameters(model)
    required = sum(p.default is inspect.Parameter.empty for p in parameters)
    return required, len(parameters)


def calibration_batches(data: CalibrationData, model: nn.Module) -> List[Tuple]:
    """The model inputs of every calibration batch in ``data``.

    A PyG ``Data``, a tensor, or a tuple or list of as many tensors as
    ``model.forward`` takes is one batch (see :func:`model_inputs`). Any other
    iterable (a ``DataLoader``, a list of image batches) gives one batch per
    item: a bare tensor, a PyG ``Data``, or an ``(inputs, labels)`` pair whose
    labels are ignored.
    """
    required, most = _positional_arity(model)

    def fits(batch) -> bool:
        return (
            isinstance(batch, (tuple, list))
            and required <= len(batch) <= most
            and all(isinstance(item, Tensor) for item in batch)
        )

    if isinstance(data, (Data, Tensor)) or fits(data):
        return [model_inputs(data)]
    if not isinstance(data, Iterable):
        raise ValueError(
            "Calibration data must be a torch_geometric Data object, a tensor, a tuple of "
            f"model inputs or an iterable of batches (a DataLoader), got {type(data).__name__}."
        )
    batches = []
    for batch in data:
        if isinstance(batch, (tuple, list)) and not fits(batch) and len(batch) == 2:
            batch = batch[0]  # (inputs, labels)
        batches.append(model_inputs(batch))
    if not batches:
        raise ValueError("The calibration loader yielded no batches; give it some data.")
    return batches


def check_features(x: Tensor) -> None:
    """Calibration features must be finite floating-point values."""
    if not torch.is_floating_point(x):
        raise ValueError(f"Input features must be floating point, got {x.dtype}.")
    if not torch.isfinite(x).all():
        raise ValueError(
            "The calibration features contain NaN or infinite values; clean or impute them first."
        )


def run_ann(ann: nn.Module, inputs: Tuple) -> Tensor:
    """The ANN's output on ``inputs``, with an error that names the input shapes."""
    try:
        with torch.no_grad():
            return ann(*inputs)
    except (RuntimeError, IndexError) as error:
        shapes = ", ".join(str(tuple(i.shape)) for i in inputs if isinstance(i, Tensor))
        raise ValueError(
            f"The model cannot run on the calibration data (input shapes {shapes}): {error}. "
            "Calibrate with data shaped like the data the model was trained on."
        ) from error
