"""rpan analyze --all: every video once, cached ones skipped, and 2 gloo ranks split the videos exactly."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.core.engine_support import make_tiny_project

_ARRAYS = ("attention", "xy", "conf", "hidden", "probs")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.model import RPAN, RPANConfig

    root = tmp_path_factory.mktemp("all")
    project, _ = make_tiny_project(root / "project", per_class=2, n_frames=12, size=(48, 64), test_per_class=0)
    torch.manual_seed(0)
    model = RPAN(RPANConfig(num_classes=3, input_size=(48, 64), hidden=16)).eval()
    ck = root / "ck.pt"
    save_checkpoint(ck, model, classes=list(project.classes), train_config={"stride": 2, "clip_len": 4}, metrics={})
    return project, ck


def test_single_process_all_then_cached(setup, tmp_path, capsys):
    from rpan_core.analyze import cli_main, configure_parser
    import argparse

    project, ck = setup
    parser = argparse.ArgumentParser()
    configure_parser(parser)
    os.environ["RPAN_CACHE_DIR"] = str(tmp_path / "cache")  # not used: the project's analyses/ is
    args = parser.parse_args(["--project", str(project.folder), "--checkpoint", str(ck), "--all", "--device", "cpu"])
    assert cli_main(args) == 0
    table = capsys.readouterr().out
    assert "6 videos: 6 analyzed" in table and table.count("analyzed ") >= 6
    assert cli_main(args) == 0
    assert "6 videos: 0 analyzed (0 frames), 6 cached, 0 failed" in capsys.readouterr().out
    from rpan_core.errors import ConfigError

    with pytest.raises(ConfigError, match="--project"):
        cli_main(parser.parse_args(["--checkpoint", str(ck), "--all"]))
    with pytest.raises(ConfigError, match="VIDEO"):
        cli_main(parser.parse_args(["--checkpoint", str(ck), "--project", str(project.folder)]))


def test_a_failing_video_is_reported_and_the_rest_go_on(setup, tmp_path):
    from rpan_core.analyze_all import analyze_project, format_table

    project, ck = setup
    rec = sorted(project.videos(), key=lambda r: r.id)[0]

    class Broken:  # the project as seen with the first video's file gone
        def __getattr__(self, name):
            return getattr(project, name)

        def videos(self):
            vs = sorted(project.videos(), key=lambda r: r.id)
            import dataclasses

            return [dataclasses.replace(vs[0], path=str(tmp_path / "gone.mp4"))] + vs[1:]

    seen = []
    rows = analyze_project(Broken(), ck, device="cpu", cache_dir=tmp_path / "c",
                           progress=lambda d, t: seen.append((d, t)))
    assert [r["status"] for r in rows] == ["error"] + ["analyzed"] * 5 and "gone.mp4" in rows[0]["error"]
    assert seen[-1][0] == seen[-1][1] and all(b[0] >= a[0] for a, b in zip(seen, seen[1:]))
    assert "1 failed" in format_table(rows) and rec.id == rows[0]["video_id"]


def test_two_gloo_ranks_under_torchrun_analyze_each_video_once_identically(setup, tmp_path):
    """`torchrun --standalone --nproc-per-node 2 rpan analyze --all`, as a user runs it: ``run_all`` sets up
    its own process group from torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR/PORT; gloo on a CPU).
    --standalone lets torchrun's agent pick the port and hand its store to the ranks, so no port can be
    taken between choosing and binding it (the reason the test does not pick a MASTER_PORT itself)."""
    import shutil
    import subprocess

    from rpan_core.analyze import Analysis
    from rpan_core.analyze_all import analyze_project
    from rpan_core.project import Project

    project, ck = setup
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = analyze_project(project, ck, device="cpu", cache_dir=tmp_path / "single")
    finally:
        torch.set_num_threads(threads)
    folder = tmp_path / "copy"
    shutil.copytree(project.folder, folder, ignore=shutil.ignore_patterns("analyses"))
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(repo), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "RPAN_CACHE_DIR": str(tmp_path / "cache")}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                          "-m", "rpan_core.cli", "analyze", "--project", str(folder), "--checkpoint", str(ck),
                          "--all", "--device", "cpu", "--json"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = json.loads(run.stdout[run.stdout.index("["):run.stdout.rindex("]") + 1])  # rank 0 prints every row
    ids = sorted(r["video_id"] for r in rows)
    assert ids == sorted(r["video_id"] for r in single) and len(set(ids)) == len(ids) == 6
    assert all(r["status"] == "analyzed" for r in rows)
    by_rank = {k: sorted(r["video_id"] for r in rows if r["rank"] == k) for k in (0, 1)}
    order = sorted(ids)
    assert by_rank == {0: order[0::2], 1: order[1::2]}
    with Project.open(folder) as copy:
        assert len(list(Path(copy.folder, "analyses").glob("*/meta.json"))) == 6
    ref = {r["video_id"]: Analysis.load(r["analysis"]) for r in single}
    for r in rows:
        a, b = Analysis.load(r["analysis"]), ref[r["video_id"]]
        assert a.video_pred == b.video_pred and np.array_equal(a.video_probs, b.video_probs)
        for k in _ARRAYS:
            assert np.array_equal(np.asarray(getattr(a, k)), np.asarray(getattr(b, k))), (r["video"], k)
