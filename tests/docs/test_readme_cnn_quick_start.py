"""The README's CNN quick start runs as written (committed LeNet-5 weights, offline MNIST)."""

import os
import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(
    not os.environ.get("GSNN_DATA_MIRROR"), reason="needs GSNN_DATA_MIRROR for MNIST offline"
)
def test_cnn_quick_start_runs(monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    source = re.search(r"## Quick start for CNNs.*?```python\n(.*?)```", readme, re.S).group(1)
    mirror = Path(os.environ["GSNN_DATA_MIRROR"]).resolve()  # CI gives a relative path
    monkeypatch.setenv("GSNN_DATA_MIRROR", str(mirror))
    monkeypatch.chdir(ROOT)  # the snippet reads the committed weights and datasets/
    namespace = {}
    exec(compile(source, "README CNN quick start", "exec"), namespace)
    assert namespace["accuracy"] > 0.95  # the QCFS LeNet-5 scores about 99 % as an ANN
    with torch.no_grad():
        ann = namespace["cnn"](namespace["images"]).argmax(-1)
    agreement = (namespace["snn"](namespace["images"]).argmax(-1) == ann).float().mean()
    assert agreement > 0.97
    assert "total" in capsys.readouterr().out
