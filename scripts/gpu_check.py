"""One short run on a GPU machine that says whether the engine uses the GPU well. Prints JSON.

Why a prepared script: GPU time is lent rarely and briefly, so everything worth
knowing is measured in one go of at most ~5 minutes, and the script is exercised on
the CPU by the test suite (``--device cpu``: a tiny version) so it is known to work
before a GPU is there. Per model preset it reports:

* analysis frames/s with mixed precision (``rpan_core.analyze.analyze_video`` on a
  generated 1080p H.264 clip, fp16 autocast on CUDA), decode-only frames/s of the
  same file (the faster of OpenCV's and PyAV's sequential decode), the network alone
  with AMP, and the ratio analysis / min(decode, network): 1.0 means the pipeline
  hides everything but the slower of the two. Twice: with the decoder's planes resized
  and converted on the GPU (``resize_on``: "torch cuda:0"; the CPU only decodes,
  ``rpan_core.yuv_frames.DeviceResize``) and on the CPU's threads
  (``analysis_resize_on_cpu_fps``), so the GPU resize's effect is one subtraction;
* training steps/s with AMP (autocast + GradScaler; forward, loss, backward, step)
  at the preset's input size, and the peak GPU memory of that;
* with two or more GPUs, a 2-process NCCL DDP smoke run (a few steps; the ranks'
  parameters must agree afterwards). ``--device cpu`` runs the same with gloo.

Each section checks the time budget (``--budget-s``, default 270 s) and is marked
``"skipped"`` rather than overrunning. Run: ``python scripts/gpu_check.py [--out F]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _model(preset_name: str, tiny: bool):
    from rpan_core.model import PRESETS, RPAN, preset

    over: dict[str, Any] = {}
    if PRESETS[preset_name].get("backbone_weights"):
        over["backbone_weights"] = None  # random weights: speed only, nothing loaded
    if tiny:
        over["input_size"] = (64, 96)
    return RPAN(preset(preset_name, **over))


def analysis_section(preset_name: str, video: Path, device: str, tiny: bool, tmp: Path) -> dict:
    import torch

    from rpan_core.analyze import analyze_video
    from rpan_core.benchmarks.codec import decode_references
    from rpan_core.checkpoint import save_checkpoint
    from rpan_core.pipeline import auto_batch
    from rpan_core.video import open_video

    torch.manual_seed(0)
    model = _model(preset_name, tiny)
    ck = save_checkpoint(tmp / f"{preset_name}.pt", model, classes=[f"c{i}" for i in range(model.cfg.num_classes)],
                         train_config={"stride": 8, "clip_len": 8})
    with open_video(video) as v:
        n = v.frame_count
    refs = decode_references(video)  # the faster of OpenCV's and PyAV's sequential decode
    dec = refs["strict"]
    model = model.to(device).eval()
    batch = auto_batch(torch.device(device))
    x = torch.randint(0, 255, (1, batch, *model.cfg.input_size, 3), dtype=torch.uint8)
    amp = device.startswith("cuda")

    def net_pass(blocks: int) -> float:
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            state = model.init_state(8)
            _sync(device)
            t = time.perf_counter()
            for _ in range(blocks):
                cubes = model.features(model.preprocess(x).to(device))[0]
                for k in range(batch // 8):
                    _, state = model.step_features(cubes[k * 8:(k + 1) * 8], state)
            _sync(device)
            return blocks * batch / (time.perf_counter() - t)

    net_pass(1)  # warm-up (cuDNN autotune, allocator)
    net = net_pass(max(1, n // batch))
    from rpan_core.yuv_frames import RESIZE_ON_ENV

    def analysis(resize_on: str) -> tuple[float, dict]:
        """frames/s of one analysis with the planes resized on ``resize_on`` (RPAN_RESIZE_ON), and its
        decode report (which path, where it resized)."""
        before = os.environ.get(RESIZE_ON_ENV)
        os.environ[RESIZE_ON_ENV] = resize_on
        try:
            t = time.perf_counter()
            a = analyze_video(video, ck, cache_dir=tmp / "an", device=device, refresh=True)
            return n / (time.perf_counter() - t), dict(a.decode or {})
        finally:
            if before is None:
                os.environ.pop(RESIZE_ON_ENV, None)
            else:
                os.environ[RESIZE_ON_ENV] = before

    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    # on a GPU the planes are resized and converted there (the CPU only decodes); --device cpu runs that
    # same code on the CPU ("device"), so the path is known to work before a GPU is lent
    an, how = analysis("auto" if device.startswith("cuda") else "device")
    an_cpu, how_cpu = analysis("cpu")  # the resizes on the CPU's threads, for comparison
    out = {"frames": n, "input_size": list(model.cfg.input_size), "batch": batch, "amp": amp,
           "decode_fps": round(dec, 1), "decode_cv2_fps": refs["cv2"], "decode_pyav_fps": refs["pyav"],
           "network_amp_fps": round(net, 1), "analysis_fps": round(an, 1),
           "analysis_vs_min_decode_network": round(an / min(dec, net), 3),
           "decode_path": how.get("path"), "resize_on": how.get("resize_on"),
           "analysis_resize_on_cpu_fps": round(an_cpu, 1), "resize_on_cpu": how_cpu.get("resize_on"),
           "analysis_resize_on_cpu_vs_min_decode_network": round(an_cpu / min(dec, net), 3)}
    if device.startswith("cuda"):
        out["analysis_peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
    return out


def training_section(preset_name: str, device: str, tiny: bool, steps: int) -> dict:
    import torch
    import torch.nn.functional as F

    torch.manual_seed(0)
    model = _model(preset_name, tiny).to(device).train()
    amp = device.startswith("cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    b, t = (2, 4) if tiny else (8, 8)
    x = torch.randn(b, t, 3, *model.cfg.input_size, device=device)
    y = torch.randint(0, model.cfg.num_classes, (b,), device=device)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
            out = model(x)
            loss = F.cross_entropy(out.logits.float().flatten(0, 1), y.repeat_interleave(t))
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    step()  # warm-up
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    dt = time.perf_counter() - t0
    out = {"clips_per_step": b, "frames_per_clip": t, "amp": amp, "steps_per_s": round(steps / dt, 2),
           "clips_per_s": round(steps * b / dt, 1)}
    if device.startswith("cuda"):
        out["peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2 ** 20, 1)
    return out


def _ddp_worker(rank: int, world: int, init: str, backend: str, out: str) -> None:
    import torch
    import torch.distributed as dist
    import torch.nn.functional as F

    torch.set_num_threads(1)
    dist.init_process_group(backend, init_method=init, rank=rank, world_size=world)
    device = f"cuda:{rank}" if backend == "nccl" else "cpu"
    if backend == "nccl":
        torch.cuda.set_device(rank)
    torch.manual_seed(0)
    model = _model("demo", tiny=True).to(device)
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[rank] if backend == "nccl" else None)
    opt = torch.optim.SGD(ddp.parameters(), lr=0.01)
    torch.manual_seed(1 + rank)  # different data per rank: DDP must still keep the parameters equal
    t0 = time.perf_counter()
    for _ in range(3):
        x = torch.randn(2, 4, 3, *model.cfg.input_size, device=device)
        y = torch.randint(0, model.cfg.num_classes, (2 * 4,), device=device)
        opt.zero_grad()
        F.cross_entropy(ddp(x).logits.flatten(0, 1), y).backward()
        opt.step()
    flat = torch.cat([p.detach().flatten() for p in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, src=0)
    same = torch.tensor([float(torch.equal(flat, ref))], device=device)
    dist.all_reduce(same, op=dist.ReduceOp.MIN)
    if rank == 0:
        Path(out).write_text(json.dumps({"backend": backend, "ranks": world, "steps": 3,
                                         "seconds": round(time.perf_counter() - t0, 2),
                                         "ranks_agree": bool(same.item() == 1.0)}))
    dist.barrier()  # neither rank tears its connections down while the other still talks
    dist.destroy_process_group()
    # Leave without the interpreter's normal exit: a backend thread still joinable when C++'s static
    # destructors run aborts the process ("terminate called without an active exception", seen in CI
    # after the group was destroyed and the result written). Everything this rank owed is done.
    os._exit(0)


def ddp_section(device: str, tmp: Path) -> dict:
    import torch
    import torch.multiprocessing as mp

    if device.startswith("cuda"):
        if torch.cuda.device_count() < 2:
            return {"skipped": f"{torch.cuda.device_count()} GPU(s): the NCCL smoke run needs two"}
        backend = "nccl"
    else:
        backend = "gloo"
    # A file rendezvous, not a free TCP port: a port found free can be taken by another
    # process before the ranks bind it (seen as a SIGABRT in one run out of three).
    rendezvous = tmp / "ddp_rendezvous"
    rendezvous.unlink(missing_ok=True)
    out = tmp / "ddp.json"
    mp.spawn(_ddp_worker, args=(2, f"file://{rendezvous}", backend, str(out)), nprocs=2, join=True)
    return json.loads(out.read_text())


def run(device: str, tiny: bool, budget_s: float, presets: list[str] | None = None) -> dict:
    import platform

    import torch

    from rpan_core.benchmarks.codec import make_h264_video
    from rpan_core.model import PRESETS

    t_start = time.perf_counter()
    if device.startswith("cuda") and not torch.cuda.is_available():
        return {"error": "CUDA is not available here; run with --device cpu for the tiny check"}
    if device == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))
    names = presets or list(PRESETS)
    report: dict[str, Any] = {"device": device, "tiny": tiny, "torch": torch.__version__,
                              "python": platform.python_version(), "presets": names}
    if device.startswith("cuda"):
        p = torch.cuda.get_device_properties(0)
        report["gpu"] = {"name": p.name, "memory_gb": round(p.total_memory / 2 ** 30, 1),
                         "count": torch.cuda.device_count()}

    def left() -> float:
        return budget_s - (time.perf_counter() - t_start)

    def section(key: str, need_s: float, fn, *args) -> None:
        if left() < need_s:
            report[key] = {"skipped": f"time budget ({budget_s:.0f} s) nearly used"}
            return
        t = time.perf_counter()
        try:
            report[key] = fn(*args)
        except Exception as exc:  # one broken section must not hide the others
            report[key] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc(limit=3)}
        if isinstance(report[key], dict):
            report[key]["section_s"] = round(time.perf_counter() - t, 1)

    with tempfile.TemporaryDirectory(prefix="rpan-gpu-check-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        # tiny: still twice the tiny input size in chroma, so the device resize path runs (it only downscales)
        video = make_h264_video(tmp / "clip.mp4", 16 if tiny else 600, size=(144, 256) if tiny else (1080, 1920),
                                gop=250, preset="ultrafast" if tiny else "veryfast")
        report["video"] = {"frames": 16 if tiny else 600, "size": [144, 256] if tiny else [1080, 1920],
                           "codec": "h264", "gop": 250, "generate_s": round(time.perf_counter() - t, 1)}
        for name in names:
            section(f"analysis.{name}", 10 if tiny else 45, analysis_section, name, video, device, tiny, tmp)
        for name in names:
            section(f"training.{name}", 5 if tiny else 20, training_section, name, device, tiny, 2 if tiny else 30)
        section("ddp", 10 if tiny else 40, ddp_section, device, tmp)
    if device.startswith("cuda"):
        report["peak_mem_mb_overall"] = round(torch.cuda.max_memory_reserved() / 2 ** 20, 1)
    else:
        import resource

        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["seconds"] = round(time.perf_counter() - t_start, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a tiny version, for the test suite)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (implied by --device cpu)")
    parser.add_argument("--preset", action="append", dest="presets", help="only this model preset (repeatable)")
    parser.add_argument("--budget-s", type=float, default=270.0, help="stop starting sections after this (s)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    tiny = args.tiny or args.device == "cpu"
    report = run(args.device, tiny, args.budget_s, args.presets)
    text = json.dumps(report, indent=1)
    print(text)
    if args.out is not None:
        from rpan_core.atomic import write_text

        write_text(args.out, text + "\n")
    failed = "error" in report or any(isinstance(v, dict) and "error" in v for v in report.values())
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
