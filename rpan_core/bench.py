"""`rpan bench` / `make bench`: every benchmark, side by side, as ratios.

The machines we run on are shared and noisy, so each benchmark module measures
our path and a plain reference in the same run and reports their ratio; absolute
figures are printed for context only. Each module in ``rpan_core.benchmarks``
exposes ``run(quick: bool = False) -> dict``; results are printed and written as
JSON so a CI job or a person can diff them.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import time
import traceback
from pathlib import Path

from rpan_core.errors import ConfigError

BENCHMARKS: dict[str, str] = {
    "attention": "vectorized attention+LSTM head vs. the per-joint loop reference (PennAction shape)",
    "video": "frame access: raw OpenCV decode vs. our sequential iteration and random access",
    "store": "project store: frame states of a 100,000-frame video, label writes",
    "engine": "training clips/s and analysis frames/s vs. raw decode frames/s of the same video",
    "flow": "optical flow: computation vs. decode, cached reads",
    "labeling": "labeling effort: joints a person must move, from nothing vs. with the model",
    "codec": "1080p long-GOP H.264: proxy build vs. decode, seeks with/without the proxy, analysis vs. "
             "min(decode, network)",
}


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_benchmarks(names: list[str], quick: bool, out: Path | None,
                   videos: list[str] | None = None) -> dict[str, dict]:
    """Run the named benchmarks; a failing one is reported and the rest still run.

    ``videos``: your own video files, given to the benchmarks that take them (``codec``)."""
    results: dict[str, dict] = {}
    for name in names:
        print(f"== {name}: {BENCHMARKS[name]}", flush=True)
        start = time.perf_counter()
        try:
            module = importlib.import_module(f"rpan_core.benchmarks.{name}")
            if videos and "videos" in inspect.signature(module.run).parameters:
                result = module.run(quick=quick, videos=list(videos))
            else:
                result = module.run(quick=quick)
        except ModuleNotFoundError as exc:
            result = {"skipped": f"not available ({exc})"}
        except Exception as exc:  # a benchmark failing must not hide the others
            traceback.print_exc()
            result = {"error": f"{type(exc).__name__}: {exc}"}
        result = dict(result)
        result.setdefault("bench_seconds", round(time.perf_counter() - start, 2))
        for key, value in result.items():
            print(f"   {key:<40} {_format(value)}")
        results[name] = result
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, default=str))
        print(f"results written to {out}")
    return results


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--video", action="append", default=[], metavar="PATH",
                        help="also measure this video file (repeatable; the codec benchmark)")
    parser.add_argument("--out", type=Path, default=Path("bench_out/results.json"),
                        help="where to write the JSON results (default: %(default)s)")


def cli_main(args: argparse.Namespace) -> int:
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        raise ConfigError(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    missing = [v for v in args.video if not Path(v).is_file()]
    if missing:
        raise ConfigError(f"--video {missing[0]}: no such file; give the path of a video file")
    results = run_benchmarks(args.names or list(BENCHMARKS), args.quick, args.out, args.video)
    return 1 if any("error" in r for r in results.values()) else 0
