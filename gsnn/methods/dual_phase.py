"""Dual-phase (two-stage) conversion of Wang et al. (TNNLS 2023, arXiv 2205.07473)."""

from typing import Optional

from torch import Tensor, nn

from gsnn.methods.layerwise_calibration import CalibrationOptions, calibrate_layerwise
from gsnn.methods.method import ActivationSite, ConversionMethod
from gsnn.methods.registry import register_method
from gsnn.neurons import IFNeuron


@register_method
class DualPhaseMethod(ConversionMethod):
    r"""Quantisation-aware ANN (stage 1) plus layer-wise SNN calibration (stage 2).

    Stage 1 happens in the ANN before conversion: train with
    :class:`~gsnn.ann.TClamp` (learnt clipping), then fine-tune with
    :class:`~gsnn.ann.NoisyQC` at the target :math:`T`
    (:func:`~gsnn.ann.dual_phase_finetune`). This method converts each site to a
    soft-reset IF neuron with threshold :math:`|\lambda|` and
    :math:`v_0 = |\lambda|/2`, so the first spiking layer reproduces the
    quantised ANN exactly at :math:`T` (O5). Stage 2 then runs on the built
    SNN (:class:`~gsnn.methods.layerwise_calibration.LayerwiseCalibration`):
    for each neuron in order, (a) the initial potential moves by
    :math:`T` times the mean gap between the ANN activation and the SNN rate,
    per neuron (channel), and (b) the parameters of the ops feeding the neuron
    are fitted to the ANN activations with a surrogate gradient, with early
    stopping on a held-out part of the calibration rows and the best state
    restored. Only the rows passed to :func:`gsnn.convert` as ``mask`` are used
    (for node classification pass training and/or validation nodes, never test
    nodes); the early-stopping rows are a disjoint random part of them.

    Deviations from the reference code (methods.md §3): rounding ties go half
    up (the neuron's rule); the default loss is the mean squared error between
    the SNN rate and the ANN activation (``loss="kl"`` gives the reference's
    KL divergence of the softmaxed activation maps); the surrogate's
    steepness is fixed, not learnt, and scaled by the threshold; the firing
    rule is :math:`m \geq \theta` in calibration and inference alike.

    The calibration is for the converted :math:`T`: setting ``snn.T`` later
    rebuilds the neurons with :math:`v_0 = \theta/2` (the calibrated weights
    remain), and the NoisyQC ANN is tied to its :math:`T` anyway.

    Args:
        calibrate_potential (bool): run stage 2a. (default: ``True``)
        calibrate_weights (bool): run stage 2b. (default: ``True``)
        calibrate_output (bool): also fit the non-spiking output layer's
            parameters to the ANN's logits (mean squared error). (default: ``False``)
        epochs (int): most epochs of weight calibration per neuron. (default: ``100``)
        lr (float): Adam learning rate (cosine schedule). (default: ``1e-3``)
        patience (int): epochs without improvement on the held-out rows before
            stopping. (default: ``10``)
        held_out (float): fraction of the calibration rows kept for early stopping,
            in [0, 1). (default: ``0.25``)
        loss (str): ``"mse"`` or ``"kl"``. (default: ``"mse"``)
        sharpness (float): steepness of the surrogate gradient. (default: ``2.5``)
        seed (int): seed of the fitting / held-out split. (default: ``0``)

    After conversion, ``snn.method.last_report`` lists per neuron the held-out
    loss before calibration, after stage 2a and at the end.
    """

    name = "dual-phase"
    accepted_activations = ("noisy_qc", "qcfs", "clip")
    training_hint = (
        "train with gsnn.ann.TClamp, then fine-tune with gsnn.ann.NoisyQC at the target T "
        "(gsnn.ann.dual_phase_finetune); QCFS models with L = T convert too."
    )
    calibrates_network = True

    def __init__(
        self,
        calibrate_potential: bool = True,
        calibrate_weights: bool = True,
        calibrate_output: bool = False,
        epochs: int = 100,
        lr: float = 1e-3,
        patience: int = 10,
        held_out: float = 0.25,
        loss: str = "mse",
        sharpness: float = 2.5,
        seed: int = 0,
    ) -> None:
        self.options = CalibrationOptions(
            potential=bool(calibrate_potential),
            weights=bool(calibrate_weights),
            output=bool(calibrate_output),
            epochs=epochs,
            lr=lr,
            patience=patience,
            held_out=held_out,
            loss=loss,
            sharpness=sharpness,
            seed=seed,
        )
        self.options.check()
        self.last_report = []

    def check_site(self, site: ActivationSite) -> Optional[str]:
        problem = super().check_site(site)
        if problem is None and not float(site.module.threshold.detach().abs()) > 0:
            return (
                f"{site.kind} site '{site.name}' has a zero bound lambda; an IF neuron needs "
                "a threshold > 0."
            )
        return problem

    def threshold(self, site: ActivationSite) -> Tensor:
        return site.module.threshold.detach().abs().clone()

    def make_neuron(self, threshold: Tensor, T: int, depth: int) -> nn.Module:
        return IFNeuron(threshold, v0=threshold / 2, reset="soft")

    def calibrate_network(self, snn, ann, batches, rows) -> None:
        if not (self.options.potential or self.options.weights or self.options.output):
            self.last_report = []
            return
        self.last_report = calibrate_layerwise(snn, ann, batches, rows, self.options)

    def __repr__(self) -> str:
        o = self.options
        return (
            f"DualPhaseMethod(calibrate_potential={o.potential}, calibrate_weights={o.weights}, "
            f"calibrate_output={o.output}, epochs={o.epochs}, lr={o.lr:g}, "
            f"patience={o.patience}, held_out={o.held_out:g}, loss={o.loss!r})"
        )
