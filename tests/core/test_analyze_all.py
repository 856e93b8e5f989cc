"""rpan analyze --all: every video once, cached ones skipped, and 2 gloo ranks split the videos exactly."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, project: str, ck: str, cache: str, out: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import torch.distributed as dist

    # a file rendezvous: a free TCP port can be taken by another process before the ranks bind it
    dist.init_process_group("gloo", init_method=f"file://{out}/rendezvous", rank=rank, world_size=world)
    from rpan_core.analyze_all import run_all
    from rpan_core.project import Project

    rows = run_all(Project.open(project), ck, device="cpu", cache_dir=cache, show_progress=False)
    Path(out, f"rank{rank}.json").write_text(json.dumps(rows))
    dist.destroy_process_group()


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


def test_two_gloo_ranks_analyze_each_video_once_identically(setup, tmp_path):
    from rpan_core.analyze import Analysis
    from rpan_core.analyze_all import analyze_project

    project, ck = setup
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        single = analyze_project(project, ck, device="cpu", cache_dir=tmp_path / "single")
    finally:
        torch.set_num_threads(threads)
    mp.spawn(_worker, args=(2, _free_port(), str(project.folder), str(ck), str(tmp_path / "ddp"), str(tmp_path)),
             nprocs=2, join=True)
    rows = json.loads((tmp_path / "rank0.json").read_text())
    assert json.loads((tmp_path / "rank1.json").read_text()) is None  # rank 0 holds the gathered rows
    ids = sorted(r["video_id"] for r in rows)
    assert ids == sorted(r["video_id"] for r in single) and len(set(ids)) == len(ids) == 6
    assert all(r["status"] == "analyzed" for r in rows)
    by_rank = {k: sorted(r["video_id"] for r in rows if r["rank"] == k) for k in (0, 1)}
    order = sorted(ids)
    assert by_rank == {0: order[0::2], 1: order[1::2]}
    assert len(list((tmp_path / "ddp").glob("*/meta.json"))) == 6
    ref = {r["video_id"]: Analysis.load(r["analysis"]) for r in single}
    for r in rows:
        a, b = Analysis.load(r["analysis"]), ref[r["video_id"]]
        assert a.video_pred == b.video_pred and np.array_equal(a.video_probs, b.video_probs)
        for k in _ARRAYS:
            assert np.array_equal(np.asarray(getattr(a, k)), np.asarray(getattr(b, k))), (r["video"], k)
