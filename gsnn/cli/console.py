"""What every command shares at run time: torch threads, progress bars, messages, results."""

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Dict

import torch
from tqdm import tqdm


class CommandLineError(Exception):
    """A mistake in the command line, found before any work starts; its message names the fix."""


def automatic_threads() -> int:
    """Torch threads for this machine: the cores this process may use that are idle now.

    Intra-op threads on cores that other processes keep busy wait for each other
    (on a loaded 2-core machine, 50 Cora epochs took 46 s with 2 threads and 4.5 s
    with 1), so the count is the usable cores minus the 1-minute load average,
    rounded, at least 1.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(cores or 1, math.floor(cores - load + 0.5)))


def set_threads(args: argparse.Namespace) -> None:
    """Apply ``--threads`` (``0``: :func:`automatic_threads`) and say what was chosen."""
    if not hasattr(args, "threads"):
        return
    if args.threads < 0:
        raise CommandLineError(f"--threads must be at least 0 (0: automatic), got {args.threads}.")
    threads = args.threads or automatic_threads()
    torch.set_num_threads(threads)
    how = "--threads" if args.threads else "chosen for the idle cores; set --threads to change"
    note(args, f"{threads} torch thread{'s' if threads > 1 else ''} ({how})")


def progress_enabled(args: argparse.Namespace) -> bool:
    """Progress bars show on a terminal only, and never under ``--quiet``."""
    return not args.quiet and sys.stderr.isatty()


def note(args: argparse.Namespace, message: str) -> None:
    """An informative line on stderr (so that stdout stays the result), unless ``--quiet``."""
    if not args.quiet:
        tqdm.write(f"gsnn: {message}", file=sys.stderr)


def report_error(message: str) -> None:
    """``gsnn: error: ...`` on stderr, on a line of its own after any progress bar."""
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()
    print(f"gsnn: error: {message}", file=sys.stderr)


def emit(args: argparse.Namespace, result: Dict[str, Any], text: str) -> None:
    """Print the result as ``text`` (or as JSON under ``--json``); write its JSON to
    ``--output`` when given."""
    document = json.dumps(result, indent=2)
    print(document if args.json else text)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(document + "\n")
        note(args, f"wrote {args.output}")
