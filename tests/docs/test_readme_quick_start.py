"""The README's quick start runs as written (on the offline Cora copy)."""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.skipif(
    not os.environ.get("GSNN_DATA_MIRROR"), reason="needs GSNN_DATA_MIRROR for Cora offline"
)
def test_quick_start_runs(tmp_path, monkeypatch, capsys):
    source = re.search(r"## Quick start.*?```python\n(.*?)```", README.read_text(), re.S).group(1)
    mirror = Path(os.environ["GSNN_DATA_MIRROR"]).resolve()  # CI gives a relative path
    monkeypatch.setenv("GSNN_DATA_MIRROR", str(mirror))
    monkeypatch.chdir(tmp_path)  # the snippet uses the default data root "datasets/"
    namespace = {}
    exec(compile(source, "README quick start", "exec"), namespace)
    logits, data = namespace["logits"], namespace["data"]
    assert logits.shape == (data.num_nodes, 7)
    assert "total" in capsys.readouterr().out
    assert namespace["snn"].conversion_check["agreement"] == 1.0  # QCFS L=8 at T=8, 2 layers
