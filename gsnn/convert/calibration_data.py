"""Calibration data: what the converter accepts and how it becomes calls of the model."""

import inspect
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn
from torch_geometric.data import Data

from gsnn.convert.input_binding import (
    BodyInput,
    ModelCall,
    bind_data,
    bind_positional,
    forward_parameters,
)
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
    if isinstance(data, dict):
        raise ValueError(
            f"Calibration data is a dict (keys {sorted(map(str, data))}); pass a "
            "torch_geometric Data (e.g. Data(**your_dict)), a tensor, or a tuple of the "
            "model's positional inputs."
        )
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
    """Calibration features must be finite float32 or float64 values."""
    if not isinstance(x, Tensor) or not torch.is_floating_point(x):
        kind = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"Input features must be a floating point tensor, got {kind}.")
    if x.dtype not in (torch.float32, torch.float64):
        raise ValueError(
            f"Input features are {x.dtype}; gsnn runs float32 and float64 networks. Pass "
            "x.float() (and a float32 model)."
        )
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


def check_body_inputs(batches: List[Tuple], sources: Sequence[BodyInput]) -> None:
    """Raise ``ValueError`` unless the inputs after the features are sound (an ``edge_index``,
    a ``[2, E]`` integer tensor, indexes the nodes; floating-point ones such as edge weights
    are finite) and every batch's features have the first batch's sample shape
    (everything after the batch or node axis).

    A NaN edge weight would otherwise spoil the calibration without a word.
    """
    shape = tuple(batches[0][0].shape[1:])
    for index, batch in enumerate(batches):
        if tuple(batch[0].shape[1:]) != shape:
            raise ValueError(
                f"Calibration batch {index} has inputs of shape {tuple(batch[0].shape)}, batch 0 "
                f"of shape {tuple(batches[0][0].shape)}: every batch must hold samples of shape "
                f"{shape}. Resize or group the data so that all samples have one shape."
            )
        for source, value in zip(sources[1:], batch[1:]):
            name = source.parameter + (f".{source.attribute}" if source.attribute else "")
            if not isinstance(value, Tensor) or value.layout != torch.strided:
                continue  # a sparse adjacency is checked by the layer that reads it
            if value.dtype == torch.long and value.dim() == 2 and value.shape[0] == 2:
                check_edge_index(value, batch[0].shape[0])
            elif value.is_floating_point():
                bad = int((~torch.isfinite(value)).sum())
                if bad:
                    raise ValueError(
                        f"The calibration input {name} holds {bad} NaN or infinite value(s); "
                        "clean or impute them first (or drop those edges)."
                    )


def check_rows(rows: int, mask: Optional[Tensor]) -> None:
    """Raise ``ValueError`` unless ``mask`` selects at least one of ``rows`` rows.

    A mask is a boolean tensor with one entry per row or a tensor of integer row indices
    in range; without a mask every row counts, and there must be one.
    """
    if mask is None:
        if rows == 0:
            raise ValueError(
                "The calibration data has no rows (an empty graph or batch); calibrate on "
                "data the model runs on."
            )
        return
    if not isinstance(mask, Tensor):
        raise ValueError(f"The mask must be a tensor, got {type(mask).__name__}.")
    if mask.dtype == torch.bool:
        if mask.shape != (rows,):
            size = f"{mask.shape[0]} entries" if mask.dim() == 1 else f"shape {tuple(mask.shape)}"
            raise ValueError(
                f"The mask has {size} but the data has {rows} rows: a boolean mask needs one "
                "entry per row."
            )
        selected = int(mask.sum())
    elif not torch.is_floating_point(mask) and not torch.is_complex(mask) and mask.dim() == 1:
        if mask.numel() and (mask.min() < 0 or mask.max() >= rows):
            raise ValueError(
                f"The mask holds row indices from {int(mask.min())} to {int(mask.max())}, but the "
                f"data has {rows} rows: indices must lie in [0, {rows - 1}]."
            )
        selected = mask.numel()
    else:
        raise ValueError(
            f"The mask must be a boolean tensor of {rows} entries or a 1-d tensor of integer "
            f"row indices, got {mask.dtype} of shape {tuple(mask.shape)}; e.g. data.train_mask."
        )
    if selected == 0:
        raise ValueError(
            "The mask selects no rows, so there is nothing to calibrate the thresholds on or "
            "to check agreement with; select some rows (e.g. data.train_mask)."
        )


def check_precision(model: nn.Module) -> None:
    """Refuse half-precision models: the spiking layers' sparse and time-stacked kernels
    need float32 or float64."""
    half = sorted(
        {str(p.dtype) for p in model.parameters() if p.dtype in (torch.float16, torch.bfloat16)}
    )
    if half:
        raise ValueError(
            f"The model holds {', '.join(half)} parameters; gsnn converts float32 and float64 "
            "models (sparse graph kernels have no half-precision form on the CPU). Call "
            "model.float() and convert the float32 model."
        )
