"""Stage 2 of the dual-phase conversion: calibrate a built SNN against its ANN, layer by layer.

The calibration walks the spiking body's fx graph and never assumes a kind of
layer: for every neuron, in graph order, it re-evaluates the *segment* of ops
between the neurons (or inputs) before it and the neuron itself (a synaptic
layer, a residual add, a pooling, ...), compares the neuron's decoded rate
:math:`\\theta \\cdot \\mathrm{mean}_t\\, s(t)` with the ANN activation at the
same site, and adjusts the neuron's initial potential and the segment's
parameters. Earlier neurons are already calibrated when a later one is, so the
corrections compound in order, as the method requires (methods.md §3e).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, fx, nn

from gsnn.calibration import ActivationRecorder
from gsnn.neurons.if_neuron import IFNeuron
from gsnn.neurons.surrogate_if import surrogate_if

LOSSES = ("mse", "kl")


@dataclass
class CalibrationOptions:
    """Settings of the layer-wise calibration (see :class:`~gsnn.methods.DualPhaseMethod`)."""

    potential: bool = True
    weights: bool = True
    output: bool = False
    epochs: int = 100
    lr: float = 1e-3
    patience: int = 10
    held_out: float = 0.25
    loss: str = "mse"
    sharpness: float = 2.5
    seed: int = 0

    def check(self) -> None:
        """Raise ``ValueError`` on settings that cannot work."""
        if not isinstance(self.epochs, int) or self.epochs < 0:
            raise ValueError(f"dual-phase: epochs must be an integer >= 0, got {self.epochs!r}.")
        if not isinstance(self.patience, int) or self.patience < 1:
            raise ValueError(
                f"dual-phase: patience must be an integer >= 1, got {self.patience!r}."
            )
        if not self.lr > 0:
            raise ValueError(f"dual-phase: lr must be > 0, got {self.lr!r}.")
        if not 0 <= self.held_out < 1:
            raise ValueError(f"dual-phase: held_out must lie in [0, 1), got {self.held_out!r}.")
        if self.loss not in LOSSES:
            raise ValueError(f"dual-phase: loss must be one of {LOSSES}, got {self.loss!r}.")
        if not self.sharpness > 0:
            raise ValueError(f"dual-phase: sharpness must be > 0, got {self.sharpness!r}.")


def split_calibration_rows(
    rows: Optional[Tensor], num_rows: int, held_out: float, seed: int = 0
) -> Tuple[Tensor, Tensor]:
    """Split the allowed rows into a fitting part and a disjoint early-stopping part.

    Args:
        rows (Tensor, optional): boolean mask of length ``num_rows`` or row
            indices; ``None`` allows every row.
        num_rows (int): rows of the batch (its first axis).
        held_out (float): fraction in [0, 1) held out for early stopping; at least
            one row is held out when the fraction is positive and two or more
            rows are allowed.
        seed (int): seed of the random split (reproducible).

    Returns:
        (fit, held): sorted row indices; ``held`` may be empty.
    """
    if rows is None:
        index = torch.arange(num_rows)
    elif rows.dtype == torch.bool:
        if rows.shape != (num_rows,):
            raise ValueError(
                f"The calibration mask has shape {tuple(rows.shape)} but the batch has "
                f"{num_rows} rows."
            )
        index = rows.nonzero().flatten()
    else:
        index = rows.flatten().long()
        if index.numel() and (index.min() < 0 or index.max() >= num_rows):
            raise ValueError(f"Calibration row indices must lie in [0, {num_rows - 1}].")
        index = index.unique()
    if index.numel() == 0:
        raise ValueError("dual-phase calibration needs at least one allowed row.")
    held_count = 0
    if held_out > 0 and index.numel() >= 2:
        held_count = min(max(1, round(held_out * index.numel())), index.numel() - 1)
    order = torch.randperm(index.numel(), generator=torch.Generator().manual_seed(seed))
    held = index[order[:held_count]].sort().values
    fit = index[order[held_count:]].sort().values
    return fit, held


@dataclass
class _Stage:
    """One calibration step: a target node (a neuron or the output) and its segment."""

    name: str  # site name, or "output"
    target: fx.Node  # the neuron's call, or the graph's output node
    segment: List[fx.Node]  # ops recomputed from the boundary values, in graph order
    boundary: List[fx.Node]  # placeholders and earlier neurons the segment reads
    parameters: List[nn.Parameter]


class LayerwiseCalibration:
    """Calibrates the neurons of a converted network against the ANN, in order.

    Args:
        snn (SpikingNetwork): the converted network; its neurons must be
            soft-reset binary :class:`~gsnn.neurons.IFNeuron` s.
        ann (fx.GraphModule): the traced ANN; ``snn.neuron_sites`` names the
            activation node of the ANN that each neuron replaced.
        batches (list of tuple): calibration inputs, each the model's positional inputs.
        rows (Tensor, optional): rows (first axis of each batch's first input)
            that may be used; all others (e.g. test nodes) never enter a loss, a
            mean or an early-stopping decision.
        options (CalibrationOptions): what to calibrate and how.
    """

    def __init__(
        self,
        snn: nn.Module,
        ann: fx.GraphModule,
        batches: Sequence[Tuple],
        rows: Optional[Tensor],
        options: CalibrationOptions,
    ) -> None:
        options.check()
        if not batches:
            raise ValueError("dual-phase calibration needs at least one batch of inputs.")
        self.snn, self.ann, self.options = snn, ann.eval(), options
        self.body: fx.GraphModule = snn.body
        self.batches = [tuple(batch) for batch in batches]
        self.splits = [
            split_calibration_rows(rows, batch[0].shape[0], options.held_out, options.seed)
            for batch in self.batches
        ]
        self.neuron_names = set(snn.thresholds)
        self.neuron_sites = dict(snn.neuron_sites)
        for name in self.neuron_names:
            neuron = getattr(self.body, name)
            if not isinstance(neuron, IFNeuron) or neuron.max_spikes_per_step != 1:
                raise ValueError(
                    f"Layer-wise calibration needs binary IF neurons; {name} is {neuron!r}."
                )
        self.interpreter = fx.Interpreter(self.body)

    # -- graph walking ---------------------------------------------------------------------------

    def _is_boundary(self, node: fx.Node) -> bool:
        if node.op in ("placeholder", "get_attr"):
            return True
        return node.op == "call_module" and node.target in self.neuron_names

    def _stages(self) -> List[_Stage]:
        nodes = list(self.body.graph.nodes)
        targets = [n for n in nodes if n.op == "call_module" and n.target in self.neuron_names]
        if self.options.output:
            targets.append(next(n for n in nodes if n.op == "output"))
        stages = []
        for target in targets:
            seen, stack = set(), list(target.all_input_nodes)
            while stack:
                node = stack.pop()
                if node in seen:
                    continue
                seen.add(node)
                if not self._is_boundary(node):
                    stack.extend(node.all_input_nodes)
            segment = [n for n in nodes if n in seen and not self._is_boundary(n)]
            parameters, known = [], set()
            for node in segment:
                if node.op == "call_module":
                    for parameter in self.body.get_submodule(node.target).parameters():
                        if id(parameter) not in known:
                            known.add(id(parameter))
                            parameters.append(parameter)
            name = "output" if target.op == "output" else self.neuron_sites[target.target]
            boundary = [n for n in nodes if n in seen and self._is_boundary(n)]
            stages.append(_Stage(name, target, segment, boundary, parameters))
        return stages

    def _segment_output(self, stage: _Stage, env: Dict[fx.Node, object]) -> Tensor:
        """The current entering the stage's target, recomputed from the boundary values."""
        local = {node: env[node] for node in stage.boundary}
        self.interpreter.env = local
        for node in stage.segment:
            local[node] = self.interpreter.run_node(node)
        args, _ = self.interpreter.fetch_args_kwargs_from_env(stage.target)
        return args[0]

    # -- decoding and targets --------------------------------------------------------------------

    def _decode(self, stage: _Stage, current: Tensor, differentiable: bool) -> Tensor:
        """What the target passes on, decoded per row: rate (neurons) or logits (output)."""
        if stage.target.op == "output":
            return self.snn.readout(current)[-1]
        neuron = self.body.get_submodule(stage.target.target)
        if differentiable:
            spikes = surrogate_if(neuron, current, self.options.sharpness)
        else:
            spikes = neuron(current)
        return neuron.threshold.to(current.dtype) * spikes.mean(dim=0)

    @torch.no_grad()
    def _ann_targets(self, stage: _Stage) -> List[Tensor]:
        """The ANN's values at the stage's site for every batch (all rows)."""
        targets = []
        for batch in self.batches:
            if stage.target.op == "output":
                targets.append(self.ann(*batch).detach())
                continue
            recorder = ActivationRecorder(self.ann, [stage.name])
            recorder.run(*batch)
            if stage.name not in recorder.outputs:
                raise ValueError(
                    f"The ANN has no activation node named {stage.name!r} for neuron "
                    f"{stage.target.target}."
                )
            targets.append(recorder.outputs[stage.name])
        return targets

    def _loss(self, decoded: Tensor, target: Tensor) -> Tensor:
        if self.options.loss == "mse":
            return torch.mean((decoded - target.to(decoded.dtype)) ** 2)
        # KL(softmax(ANN) || softmax(SNN)) over each row's flattened values, as the reference
        target_log = torch.log_softmax(target.to(decoded.dtype).flatten(1), dim=1)
        decoded_log = torch.log_softmax(decoded.flatten(1), dim=1)
        return torch.mean(torch.sum(target_log.exp() * (target_log - decoded_log), dim=1))

    @torch.no_grad()
    def _evaluate(self, stage, envs, targets, part: int) -> float:
        """Mean loss over the batches on the fitting (0) or held-out (1) rows."""
        total, weight = 0.0, 0
        for env, target, split in zip(envs, targets, self.splits):
            rows = split[part] if split[part].numel() else split[0]
            decoded = self._decode(stage, self._segment_output(stage, env), False)
            total += float(self._loss(decoded[rows], target[rows])) * rows.numel()
            weight += rows.numel()
        return total / weight

    # -- the two calibrations --------------------------------------------------------------------

    @torch.no_grad()
    def _fit_errors(self, stage, envs, targets) -> Tensor:
        """Squared error of the decoded rate per neuron (channel), summed over the fitting rows."""
        total = None
        for env, target, (fit, _) in zip(envs, targets, self.splits):
            decoded = self._decode(stage, self._segment_output(stage, env), False)
            error = ((decoded[fit] - target[fit].to(decoded.dtype)) ** 2).sum(dim=0)
            total = error if total is None else total + error
        return total

    @torch.no_grad()
    def _calibrate_potential(self, stage, envs, targets) -> None:
        r"""Stage 2a: :math:`v_0 \mathrel{+}= T\,(\bar a_{ANN} - \bar r_{SNN})` per neuron.

        Means over the fitting rows. Deviation from the reference: the shift is
        kept only for the neurons whose squared error on the fitting rows it
        lowers (each neuron's rate depends on its own :math:`v_0` only, so the
        choice is exact per neuron); a mean-matching shift can otherwise move
        many exactly-rounded rows off their level at small :math:`T`.
        """
        neuron = self.body.get_submodule(stage.target.target)
        difference, count = None, 0
        for env, target, (fit, _) in zip(envs, targets, self.splits):
            current = self._segment_output(stage, env)
            decoded = self._decode(stage, current, False)
            gap = (target[fit].to(decoded.dtype) - decoded[fit]).sum(dim=0)
            difference = gap if difference is None else difference + gap
            count += fit.numel()
        steps = current.shape[0]
        old = neuron.v0.to(difference.dtype).expand_as(difference).clone()
        errors_before = self._fit_errors(stage, envs, targets)
        neuron.v0 = old + steps * difference / count
        errors_after = self._fit_errors(stage, envs, targets)
        neuron.v0 = torch.where(errors_after < errors_before, neuron.v0, old)

    def _calibrate_weights(self, stage, envs, targets) -> int:
        """Stage 2b: surrogate-gradient fit of the segment's parameters; returns epochs run."""
        options = self.options
        optimizer = torch.optim.Adam(stage.parameters, lr=options.lr, amsgrad=True)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(options.epochs, 1))
        best = self._evaluate(stage, envs, targets, 1)
        best_state = [p.detach().clone() for p in stage.parameters]
        waited, epoch = 0, 0
        for epoch in range(1, options.epochs + 1):
            for env, target, (fit, _) in zip(envs, targets, self.splits):
                optimizer.zero_grad()
                decoded = self._decode(stage, self._segment_output(stage, env), True)
                self._loss(decoded[fit], target[fit]).backward()
                optimizer.step()
            schedule.step()
            held = self._evaluate(stage, envs, targets, 1)
            if held < best:
                best, waited = held, 0
                best_state = [p.detach().clone() for p in stage.parameters]
            else:
                waited += 1
                if waited >= options.patience:
                    break
        with torch.no_grad():
            for parameter, value in zip(stage.parameters, best_state):
                parameter.copy_(value)
        return epoch

    # -- driver ----------------------------------------------------------------------------------

    def run(self) -> List[Dict[str, float]]:
        """Calibrate every stage in order; returns one report per stage.

        Each report holds the stage's loss on the held-out rows (the fitting
        rows if none are held out) before calibration, after the potential
        calibration and at the end, and the weight-calibration epochs run.
        """
        stages = self._stages()
        last_use: Dict[fx.Node, int] = {}
        for index, stage in enumerate(stages):
            for node in stage.boundary:
                last_use[node] = index
        envs: List[Dict[fx.Node, object]] = []
        placeholders = [n for n in self.body.graph.nodes if n.op == "placeholder"]
        for batch in self.batches:
            encoded = self.snn.coder(batch[0], self.snn.steps)
            values = (encoded, *batch[1:])
            envs.append({node: value for node, value in zip(placeholders, values)})
        with torch.no_grad():  # get_attr nodes: constants of the body
            for env in envs:
                for node in self.body.graph.nodes:
                    if node.op == "get_attr":
                        env[node] = self.interpreter.fetch_attr(node.target)

        reports = []
        was_training = self.body.training
        self.body.eval()
        try:
            for index, stage in enumerate(stages):
                targets = self._ann_targets(stage)
                before = self._evaluate(stage, envs, targets, 1)
                report = {"site": stage.name, "loss_before": before}
                if self.options.potential and stage.target.op != "output":
                    self._calibrate_potential(stage, envs, targets)
                report["loss_after_potential"] = self._evaluate(stage, envs, targets, 1)
                epochs = 0
                if self.options.weights and stage.parameters and self.options.epochs > 0:
                    epochs = self._calibrate_weights(stage, envs, targets)
                report["loss_after"] = self._evaluate(stage, envs, targets, 1)
                report["epochs"] = epochs
                reports.append(report)
                if stage.target in last_use:  # a later stage reads these spikes
                    with torch.no_grad():
                        neuron = self.body.get_submodule(stage.target.target)
                        for env in envs:
                            env[stage.target] = neuron(self._segment_output(stage, env))
                for env in envs:  # free spike trains no later stage reads
                    for node in [n for n in env if last_use.get(n, math.inf) <= index]:
                        if node.op != "placeholder":
                            del env[node]
        finally:
            self.body.train(was_training)
            self.interpreter.env = {}
        return reports


def calibrate_layerwise(
    snn: nn.Module,
    ann: fx.GraphModule,
    batches: Sequence[Tuple],
    rows: Optional[Tensor] = None,
    options: Optional[CalibrationOptions] = None,
) -> List[Dict[str, float]]:
    """Run :class:`LayerwiseCalibration` on ``snn`` in place and return its per-stage reports."""
    calibration = LayerwiseCalibration(
        snn, ann, batches, rows, copy.copy(options) if options else CalibrationOptions()
    )
    return calibration.run()
