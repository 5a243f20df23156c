"""Calibration data: what the converter accepts and how it becomes calls of the model."""

import inspect
from typing import Iterable, List, Sequence, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gsnn.convert.input_binding import ModelCall, bind_data, bind_positional, forward_parameters
from gsnn.nn.graph_adjacency import check_edge_index

CalibrationData = Union[Data, Tensor, Sequence[Tensor], Iterable]


def _one_call(data, model: nn.Module) -> ModelCall:
    if isinstance(data, Data):
        if data.x is not None and data.edge_index is not None:
            check_edge_index(data.edge_index, data.x.shape[0])
        return bind_data(data, model)
    if isinstance(data, Tensor):
        return ModelCall(args=(data,))
    if isinstance(data, (tuple, list)) and data and isinstance(data[0], Tensor):
        return bind_positional(tuple(data), model)
    raise ValueError(
        "Calibration data must be a torch_geometric Data object, a tensor or a tuple of "
        f"model inputs, got {type(data).__name__}."
    )


def calibration_calls(data: CalibrationData, model: nn.Module) -> List[ModelCall]:
    """The calls of ``model`` that the calibration ``data`` stands for, one per batch.

    A PyG ``Data`` (or ``Batch``) fills the forward parameters by name
    (:func:`~gsnn.convert.input_binding.bind_data`); a tensor, or a tuple or list
    of tensors that ``model.forward`` can take by position, is one call. Any
    other iterable (a ``DataLoader``, a list of image batches) gives one call per
    item: a bare tensor, a PyG ``Data``, a tuple of inputs, or an ``(inputs,
    labels)`` pair whose labels are ignored.
    """
    positional = [p for p in forward_parameters(model) if p.kind is not p.KEYWORD_ONLY]
    required = sum(p.default is inspect.Parameter.empty for p in positional)

    def fits(batch) -> bool:
        return (
            isinstance(batch, (tuple, list))
            and required <= len(batch) <= len(positional)
            and all(isinstance(item, Tensor) for item in batch)
        )

    if isinstance(data, (Data, Tensor)) or fits(data):
        return [_one_call(data, model)]
    if not isinstance(data, Iterable):
        raise ValueError(
            "Calibration data must be a torch_geometric Data object, a tensor, a tuple of "
            f"model inputs or an iterable of batches (a DataLoader), got {type(data).__name__}."
        )
    calls = []
    for batch in data:
        if isinstance(batch, (tuple, list)) and not fits(batch) and len(batch) == 2:
            batch = batch[0]  # (inputs, labels)
        calls.append(_one_call(batch, model))
    if not calls:
        raise ValueError("The calibration loader yielded no batches; give it some data.")
    return calls


def check_features(x: Tensor) -> None:
    """Calibration features must be finite floating-point values."""
    if not isinstance(x, Tensor) or not torch.is_floating_point(x):
        kind = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"Input features must be a floating point tensor, got {kind}.")
    if not torch.isfinite(x).all():
        raise ValueError(
            "The calibration features contain NaN or infinite values; clean or impute them first."
        )


def run_ann(ann: nn.Module, call: ModelCall) -> Tensor:
    """The ANN's output for ``call``, with an error that names the input shapes."""
    try:
        with torch.no_grad():
            return call.run(ann)
    except (RuntimeError, IndexError) as error:
        values = [*call.args, *call.kwargs.values()]
        shapes = ", ".join(str(tuple(i.shape)) for i in values if isinstance(i, Tensor))
        raise ValueError(
            f"The model cannot run on the calibration data (input shapes {shapes}): {error}. "
            "Calibrate with data shaped like the data the model was trained on."
        ) from error
