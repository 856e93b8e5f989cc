"""Issue 13's figures in one table: seeks, scrubbing, the proxy and analysis speed, per video, one run.

Why one table: each figure alone (a seek time, a build ratio) says little; side by
side, from one run on one machine, they show where a video's time goes. For each
video (a generated 1080p H.264 file with a key frame every 250 frames, as a camera
writes it, plus any ``--video`` given) it measures:

* the display proxy's build speed as a ratio to sequential decoding, and its size;
* random seek -> repainted frame and small-step scrub (1-3 frames), median / p95,
  with the proxy and without it (the studio's real path: :mod:`rpan_studio.bench_scrub`);
* analysis frames/s as a ratio to min(decode-only, network-only) frames/s for the
  ``demo`` and ``labeling`` presets (:func:`rpan_core.benchmarks.codec.analysis_speed`;
  decode-only is sequential decoding alone, with PyAV to its planes and with OpenCV's read:
  the headline ratio uses the faster, the second figure OpenCV's).

Run: ``python -m rpan_studio.bench_speed [--video PATH ...] [--quick] [--json OUT]``
(``make bench`` runs it; ``QT_QPA_PLATFORM=offscreen`` works). Prints the table in
Markdown, with the command's load (``os.getloadavg``) at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["run", "format_table"]

#: Frames of the generated long video (seeks) and of the generated clip (analysis).
LONG_FRAMES, CLIP_FRAMES = 900, 300


def _ms(d: dict | None) -> str:
    if not d:
        return "-"
    return f"{d['median_ms']:.1f} / {d['p95_ms']:.1f}"


def _analysis_cell(a: dict | None) -> str:
    if not a:
        return "-"
    if "error" in a:
        return f"error: {a['error']}"
    if "decode_only_cv2_fps" not in a:  # figures from before both decoders were measured
        return (f"**{a['analysis_vs_min_decode_network']:.2f}** ({a['analysis_fps']:.0f} / "
                f"min({a['decode_only_fps']:.0f}, {a['network_only_fps']:.0f}))")
    return (f"**{a['analysis_vs_min_decode_network']:.2f}** / {a['analysis_vs_min_cv2_decode_network']:.2f} "
            f"({a['analysis_fps']:.0f} fps; decode PyAV {a['decode_only_pyav_fps']:.0f}, cv2 "
            f"{a['decode_only_cv2_fps']:.0f}; network {a['network_only_fps']:.0f})")


def _proxy_cell(pb: dict) -> str:
    if not pb:
        return "-"
    if pb.get("ratio_to_cv2_decode") is None:
        return f"{pb['ratio_to_sequential_decode']:.2f}"
    return f"**{pb['ratio_to_sequential_decode']:.2f}** / {pb['ratio_to_cv2_decode']:.2f}"


def format_table(rows: list[dict], header: dict | None = None) -> str:
    """The Markdown table of :func:`run`'s rows (one per video)."""
    cols = ["video", "proxy build / decode", "proxy MB", "random seek ms, proxy", "without proxy",
            "scrub ms, proxy", "without proxy", "analysis / min(decode, network), demo", "labeling"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        s = r.get("seek") or {}
        pb = s.get("proxy_build") or {}
        wo = s.get("without_proxy") or {}
        lines.append("| " + " | ".join([
            f"{r['name']} ({r.get('frames', '?')} fr, {r.get('size', '?')})",
            _proxy_cell(pb),
            f"{pb['size_mb']:.1f}" if pb else "-",
            _ms(s.get("random_seek")), _ms(wo.get("random_seek")), _ms(s.get("scrub")), _ms(wo.get("scrub")),
            _analysis_cell(r.get("analysis", {}).get("demo")), _analysis_cell(r.get("analysis", {}).get("labeling")),
        ]) + " |")
    notes = ["", "seek and scrub: median / p95 from a seek request to the repainted frame with overlays; "
             "proxy build / decode: **to the faster sequential decoder** / to OpenCV's; "
             "analysis: frames/s, **analysis / min(decode-only, network-only)** with the faster decoder "
             "(PyAV to its planes or OpenCV's read, each alone, the faster of two runs) / the same with OpenCV's."]
    if header:
        notes.append(f"load average (1 min) at start {header['load_start']:.2f}, at end {header['load_end']:.2f}; "
                     f"{header['cpus']} CPUs; {header['seconds']:.0f} s in all")
    return "\n".join(lines + notes)


def run(videos: list[str] | None = None, quick: bool = False, n_seeks: int | None = None,
        presets: tuple[str, ...] = ("demo", "labeling")) -> dict:
    """Every figure for the generated video and each of ``videos``; ``{"rows": [...], "header": {...}}``."""
    import torch

    from rpan_core.benchmarks.codec import _checkpoint_for, analysis_speed, make_h264_video
    from rpan_core.video import open_video
    from rpan_studio.bench_scrub import run as scrub_run

    torch.set_num_threads(min(2, torch.get_num_threads()))
    t_start = time.perf_counter()
    load0 = os.getloadavg()[0]
    n_seeks = n_seeks or (20 if quick else 60)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rpan-bench-speed-") as tmp:
        long_n, clip_n = (240, 120) if quick else (LONG_FRAMES, CLIP_FRAMES)
        long = make_h264_video(Path(tmp) / "h264_1080p_gop250.mp4", long_n, gop=250)
        clip = make_h264_video(Path(tmp) / "h264_1080p_gop250_clip.mp4", clip_n, gop=250)
        sources = [("generated 1080p H.264, GOP 250", long, clip)] + [(Path(v).name, Path(v), Path(v))
                                                                      for v in videos or []]
        cks = {p: _checkpoint_for(p, Path(tmp)) for p in presets}
        for name, seek_path, an_path in sources:
            print(f"-- {name}", flush=True)
            with open_video(seek_path, cache_mb=8) as v:
                row: dict[str, Any] = {"name": name, "frames": v.frame_count, "size": f"{v.width}x{v.height}"}
            row["seek"] = scrub_run(video=str(seek_path), n_seeks=n_seeks, compare=True)
            row["analysis"] = {}
            for p, ck in cks.items():
                if ck is None:
                    row["analysis"][p] = {"error": "preset not available"}
                    continue
                row["analysis"][p] = analysis_speed(an_path, ck)
                row["analysis"][p]["video"] = an_path.name
            rows.append(row)
            print(json.dumps({k: row[k] for k in ("name", "analysis")}, default=str), flush=True)
    header = {"load_start": load0, "load_end": os.getloadavg()[0], "cpus": os.cpu_count(),
              "seconds": time.perf_counter() - t_start, "torch_threads": torch.get_num_threads()}
    return {"rows": rows, "header": header}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", action="append", default=[], metavar="PATH",
                        help="also measure this video file (repeatable)")
    parser.add_argument("--quick", action="store_true", help="shorter generated videos and fewer seeks")
    parser.add_argument("--seeks", type=int, help="seeks per pattern (default 60, --quick 20)")
    parser.add_argument("--json", type=Path, default=Path("bench_out/speed.json"), help="where to write the figures")
    args = parser.parse_args(argv)
    for v in args.video:
        if not Path(v).is_file():
            parser.error(f"--video {v}: no such file")
    out = run(videos=args.video, quick=args.quick, n_seeks=args.seeks)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=1, default=str))
    print()
    print(format_table(out["rows"], out["header"]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
