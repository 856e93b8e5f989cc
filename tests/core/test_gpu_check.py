"""scripts/gpu_check.py --device cpu: the tiny version of the GPU check runs every section and prints JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gpu_check_tiny_on_cpu(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--device", "cpu", "--preset", "demo",
                        "--budget-s", "900", "--out", str(tmp_path / "r.json")],
                       capture_output=True, text=True, env=env, timeout=900)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    rep = json.loads(r.stdout)
    assert rep == json.loads((tmp_path / "r.json").read_text())
    assert rep["device"] == "cpu" and rep["tiny"] and rep["presets"] == ["demo"]
    an = rep["analysis.demo"]
    assert an["frames"] == 16 and an["analysis_fps"] > 0 and an["decode_fps"] > 0 and an["network_amp_fps"] > 0
    assert 0 < an["analysis_vs_min_decode_network"]
    # the GPU's resize path (planes resized and converted by torch on the network's device) ran, here on
    # the CPU, beside the CPU threads' resize
    assert an["decode_path"] == "yuv" and an["resize_on"] == "torch cpu" and an["resize_on_cpu"] == "cpu"
    assert an["analysis_resize_on_cpu_fps"] > 0
    assert rep["training.demo"]["steps_per_s"] > 0
    assert rep["ddp"]["backend"] == "gloo" and rep["ddp"]["ranks_agree"] is True
    assert rep["peak_rss_mb"] > 0
