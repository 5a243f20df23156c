"""``gsnn methods``: every conversion method with the ANN it needs and its options."""

import argparse

from gsnn.cli.console import emit
from gsnn.cli.options import HelpFormatter, general_options
from gsnn.methods import METHODS
from gsnn.methods.options import method_options, method_summary


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "methods",
        parents=[general_options(computes=False)],
        formatter_class=HelpFormatter,
        help="list the conversion methods, the ANN each converts and its options",
        description="List every conversion method: what it does, which ANN activations it "
        "converts (gsnn train and gsnn convert train the first), whether it accepts "
        "spike-coded input (--coding other than analog) and its options with their "
        "defaults (pass them as --option NAME=VALUE).",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    result = {}
    blocks = []
    for name, cls in sorted(METHODS.items()):
        options = method_options(cls)
        result[name] = {
            "summary": method_summary(cls),
            "ann_activations": list(cls.accepted_activations),
            "spike_coded_input": cls.accepts_spike_coded_input,
            "options": {
                option.name: {
                    "type": option.kind.__name__,
                    "default": option.default,
                    "optional": option.optional,
                    "description": option.description,
                }
                for option in options
            },
        }
        lines = [
            f"{name}: {method_summary(cls)}",
            f"  ANN activations: {', '.join(cls.accepted_activations)}; input coding: "
            + ("any" if cls.accepts_spike_coded_input else "analog only"),
        ]
        lines += [f"  --option {option}  {option.description}" for option in options]
        if not options:
            lines.append("  (no options)")
        blocks.append("\n".join(lines))
    emit(args, result, "\n\n".join(blocks))
