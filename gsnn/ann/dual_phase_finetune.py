"""Stage 1b of the dual-phase conversion: swap learnt clips for noisy quantisers, fine-tune."""

import copy

from torch import nn
from torch_geometric.data import Data

from gsnn.ann.node_training import train_node_classifier
from gsnn.ann.noisy_qc import NoisyQC
from gsnn.ann.tclamp import TClamp


def noisy_qc_from_clip(model: nn.Module, steps: int, noise_prob: float = 0.1) -> nn.Module:
    r"""A copy of ``model`` with every :class:`TClamp` replaced by a :class:`NoisyQC`.

    Each quantiser starts from the bound :math:`|\lambda|` its clip learnt, with
    ``steps`` levels (the target :math:`T`). The copy is in eval mode; fine-tune
    it in training mode (e.g. :func:`dual_phase_finetune`) before converting.

    Args:
        model (nn.Module): a model trained with :class:`TClamp` activations (stage 1a).
        steps (int): the target number of time steps :math:`T`.
        noise_prob (float): :class:`NoisyQC`'s probability of leaving an element
            unquantised in training. (default: ``0.1``)

    Raises:
        ValueError: ``model`` holds no :class:`TClamp`.
    """
    quantised = copy.deepcopy(model).eval()
    clips = [(name, m) for name, m in quantised.named_modules() if isinstance(m, TClamp)]
    if not clips:
        raise ValueError(
            "noisy_qc_from_clip found no gsnn.ann.TClamp module; train the model with "
            "TClamp activations (stage 1a, e.g. GCN(..., activation='clip')) first."
        )
    for name, clip in clips:
        parent_name, _, attribute = name.rpartition(".")
        parent = quantised.get_submodule(parent_name) if parent_name else quantised
        bound = float(clip.threshold.detach().abs())
        noisy = NoisyQC(steps, noise_prob, init_threshold=bound if bound > 0 else 1.0)
        setattr(parent, attribute, noisy.to(clip.threshold.dtype))
    return quantised


def dual_phase_finetune(
    model: nn.Module,
    data: Data,
    T: int,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
    noise_prob: float = 0.1,
    progress: bool = False,
) -> nn.Module:
    r"""Stage 1b for node classification: quantisation-aware fine-tuning at the target ``T``.

    The full dual-phase recipe for a graph network::

        model = train_node_classifier(GCN(..., activation="clip"), data)   # stage 1a
        model = dual_phase_finetune(model, data, T=2)                       # stage 1b
        calibration = data.train_mask | data.val_mask                        # never test nodes
        snn = gsnn.convert(model, data, method="dual-phase", T=2, mask=calibration)  # stage 2

    The clips are swapped for :class:`NoisyQC` quantisers
    (:func:`noisy_qc_from_clip`), then the copy is trained with
    :func:`~gsnn.ann.train_node_classifier` (training nodes, best validation
    state). For other tasks, call :func:`noisy_qc_from_clip` and train with
    your own loop.

    Args:
        model (nn.Module): a model trained with :class:`TClamp` activations.
        data (Data): the graph, with ``train_mask`` and ``val_mask``.
        T (int): the target number of time steps (quantisation levels).
        epochs (int): fine-tuning epochs. (default: ``200``)
        lr (float): Adam learning rate. (default: ``0.01``)
        weight_decay (float): weight decay (not on the bounds). (default: ``5e-4``)
        noise_prob (float): probability of leaving an element unquantised. (default: ``0.1``)
        progress (bool): show a progress bar over the epochs. (default: ``False``)

    Returns:
        nn.Module: the fine-tuned copy, in eval mode; ``model`` is left unchanged.
    """
    quantised = noisy_qc_from_clip(model, T, noise_prob)
    return train_node_classifier(
        quantised, data, epochs=epochs, lr=lr, weight_decay=weight_decay, progress=progress
    )
