"""Time-constant tensors: a ``[T, ...]`` view that holds the same step ``T`` times.

The analog coder returns its input expanded along time without a copy (stride 0
on the time axis). Linear, time-invariant layers then compute one step and
expand the result again, which is exact and saves ``T - 1`` evaluations of the
most expensive layer of a graph network (the first, on raw features).
"""

from typing import Callable

from torch import Tensor


def is_time_constant(x: Tensor) -> bool:
    """Whether ``x`` (shape ``[T, ...]``) is a stride-0 view repeating one step."""
    return x.dim() >= 1 and x.stride(0) == 0


def shares_storage(a: Tensor, b: Tensor) -> bool:
    """Whether ``a`` is a view into the memory of ``b`` (e.g. an analog code of ``b``)."""
    return a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr()


def map_steps(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Apply ``fn`` to ``x`` of shape ``[T, ...]`` and keep it time-constant if it was.

    ``fn`` must act on each step independently and identically, and accept a
    ``[T', ...]`` tensor for any ``T'``.
    """
    if is_time_constant(x):
        one_step = fn(x[:1])
        return one_step.expand(x.shape[0], *one_step.shape[1:])
    return fn(x)


def map_samples(fn: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """Apply a per-sample op ``fn`` (e.g. a 2-d convolution) to ``x`` of shape ``[T, B, ...]``.

    The time and batch axes are merged into one batch axis of ``T·B`` samples,
    so one call serves all steps; a time-constant ``x`` is computed once.
    """

    def merged(block: Tensor) -> Tensor:
        steps, batch = block.shape[:2]
        out = fn(block.reshape(steps * batch, *block.shape[2:]))
        return out.reshape(steps, batch, *out.shape[1:])

    return map_steps(merged, x)
