"""``rpan analyze --project P --all``: every video of a project, on one process or many (torchrun).

Why a share per rank and no coordination beyond it: each video's analysis is
independent and cached under its own key, so ranks only need to agree on *which*
videos each takes. Every rank lists the project's videos in the same order (by
id) and rank ``r`` of ``W`` takes videos ``r, r+W, r+2W, ...``: every video is
analyzed exactly once, with no shared queue, and a video whose analysis is already
cached costs its rank one lookup. Under ``torchrun`` (``RANK`` / ``WORLD_SIZE`` /
``LOCAL_RANK`` set, the same variables the trainer reads) each rank runs on its own
GPU (``cuda:LOCAL_RANK``) when there is one; at the end the per-video rows are
gathered to rank 0, which prints one summary table. A video that fails (missing
file, corrupt) is reported in the table with its one-line reason and the rest go on.

A video of several persons is read per person, on crops around each one's boxes
(:mod:`rpan_core.person_analysis`, the same cache as ``--person``), one row per
person: a whole-frame reading would give every person the same skeleton. A person
with no box anywhere is listed as skipped with what to do, not as a failure.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from rpan_core.errors import ConfigError, RPANError

__all__ = ["analyze_project", "dist_env", "format_table", "run_all"]


def dist_env() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the torchrun variables (0, 1, 0 without them)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def analyze_project(project: Any, checkpoint: str | os.PathLike, *, rank: int = 0, world: int = 1,
                    device: str | None = None, batch: int | None = None, stride: int | None = None,
                    refresh: bool = False, cache_dir: str | os.PathLike | None = None,
                    progress: Callable[[int, int], Any] | None = None, cancel: Any = None) -> list[dict]:
    """Analyze this rank's share of the project's videos (``r, r+W, ...`` in id order); one row per video
    (per person in a video of several persons).

    ``progress(done_frames, total_frames)`` covers the whole share (one bar). Rows:
    ``video_id, video, person (None: the whole frame), frames, status ("analyzed" | "cached" |
    "skipped" | "error"), seconds, prediction, probability, analysis, rank, error``.
    """
    from rpan_core.analyze import AnalysisCancelled, analyze_video
    from rpan_core.person_analysis import NoPersonBox, analyze_project_person

    if not 0 <= rank < world:
        raise ConfigError(f"rank {rank} is outside a world of {world} processes")
    records = sorted(project.videos(), key=lambda r: r.id)
    mine = records[rank::world]

    def readers(rec: Any) -> list[int | None]:  # None: the whole frame
        persons = project.persons(rec.id)
        return [int(p.id) for p in persons] if len(persons) > 1 else [None]

    work = [(rec, who) for rec in mine for who in readers(rec)]
    total = sum(max(0, int(getattr(rec, "frame_count", 0) or 0)) for rec, _ in work)
    base = 0
    rows: list[dict] = []
    for rec, person in work:
        n = max(0, int(getattr(rec, "frame_count", 0) or 0))
        row: dict[str, Any] = {"video_id": int(rec.id), "video": Path(str(rec.path)).name, "person": person,
                               "frames": n, "rank": rank, "status": "error", "seconds": 0.0, "prediction": None,
                               "probability": None, "analysis": None, "error": None}
        t0 = time.perf_counter()

        def prog(done: float, tot: float | None = None, base: int = base) -> None:
            if progress is not None:
                progress(base + int(min(done, n)), total)

        try:
            if person is None:
                a = analyze_video(rec.path, checkpoint, project=project, device=device, batch=batch, stride=stride,
                                  refresh=refresh, cache_dir=cache_dir, progress=prog, cancel=cancel)
            else:
                a = analyze_project_person(project, rec.id, checkpoint, person, device=device, batch=batch,
                                           stride=stride, refresh=refresh, cache_dir=cache_dir, progress=prog,
                                           cancel=cancel)
        except AnalysisCancelled:
            raise
        except NoPersonBox as exc:
            row.update(status="skipped", error=str(exc))
        except RPANError as exc:
            row["error"] = str(exc)
        else:
            row.update(status="cached" if a.from_cache else "analyzed", frames=a.num_frames,
                       prediction=a.video_class, probability=float(a.video_probs[a.video_pred]),
                       analysis=str(a.path))
        row["seconds"] = round(time.perf_counter() - t0, 3)
        rows.append(row)
        base += n
        if progress is not None:
            progress(base, total)
    return rows


def format_table(rows: list[dict]) -> str:
    """The summary table printed at the end (one line per video, then the totals)."""
    head = f"{'video':<32} {'frames':>7} {'status':<9} {'seconds':>8} {'rank':>4}  prediction"
    lines = [head, "-" * len(head)]
    for r in sorted(rows, key=lambda r: (r["video_id"], r.get("person") or 0)):
        pred = (f"{r['prediction']} ({r['probability']:.1%})" if r["prediction"] is not None
                else (r["error"] or ""))
        name = r["video"] if r.get("person") is None else f"{r['video']} #{r['person']}"
        lines.append(f"{name[-32:]:<32} {r['frames']:>7} {r['status']:<9} {r['seconds']:>8.2f} {r['rank']:>4}  "
                     f"{pred}")
    by = {s: sum(1 for r in rows if r["status"] == s) for s in ("analyzed", "cached", "skipped", "error")}
    frames = sum(r["frames"] for r in rows if r["status"] == "analyzed")
    secs = sum(r["seconds"] for r in rows if r["status"] == "analyzed")
    n_persons = sum(1 for r in rows if r.get("person") is not None)
    n_videos = len({r["video_id"] for r in rows})
    what = f"{n_videos} video{'' if n_videos == 1 else 's'}" + (f" ({n_persons} person readings)" if n_persons else "")
    lines.append(f"{what}: {by['analyzed']} analyzed ({frames} frames"
                 + (f", {frames / secs:.1f} frames/s per rank" if secs > 0 else "") + f"), {by['cached']} cached, "
                 + (f"{by['skipped']} skipped (no box), " if by["skipped"] else "") + f"{by['error']} failed")
    return "\n".join(lines)


def run_all(project: Any, checkpoint: str | os.PathLike, *, device: str | None = None, batch: int | None = None,
            stride: int | None = None, refresh: bool = False, cache_dir: str | os.PathLike | None = None,
            show_progress: bool = True) -> list[dict] | None:
    """This process's share under torchrun (or everything alone); every rank's rows on rank 0, None elsewhere."""
    rank, world, local_rank = dist_env()
    dist = None
    own_group = False  # the process group this call set up, and takes down again
    if world > 1:
        import torch
        import torch.distributed as dist

        use_cuda = torch.cuda.is_available() and device in (None, "cuda", "auto")
        if use_cuda:
            torch.cuda.set_device(local_rank)
            device = f"cuda:{local_rank}"
        elif device in (None, "auto"):
            device = "cpu"
        if not dist.is_initialized():
            dist.init_process_group("nccl" if use_cuda else "gloo")
            own_group = True
    bar, prog = None, lambda done, total=None: None
    if show_progress and rank == 0:
        from rpan_core.analyze import frame_progress

        bar, prog = frame_progress("analyze --all" + (f" (rank 0 of {world})" if world > 1 else ""))

    try:
        rows = analyze_project(project, checkpoint, rank=rank, world=world, device=device, batch=batch,
                               stride=stride, refresh=refresh, cache_dir=cache_dir, progress=prog)
    finally:
        if bar is not None:
            bar.close()
    if dist is None:
        return rows
    gathered: list[Any] = [None] * world
    try:
        dist.all_gather_object(gathered, rows)
        dist.barrier()
    finally:
        if own_group:  # a group left to the interpreter's exit can abort the rank ("terminate called ...")
            dist.destroy_process_group()
    return [r for part in gathered for r in part] if rank == 0 else None
