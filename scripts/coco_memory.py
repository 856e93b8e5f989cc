"""Peak memory of reading a big COCO keypoints file, as a multiple of the file's size.

Writes a COCO file shaped like a real one (segmentation polygons, URLs; ~0.8 kB per
image) with ``--images`` images, then reads it with ``rpan_core.formats.coco.read_coco``
in a fresh process and reports the growth of its peak RSS over the interpreter's.

    python scripts/coco_memory.py --images 96000     # a ~76 MB file
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _measure(path: str) -> None:
    import numpy  # noqa: F401 - part of the baseline, not of the reading

    from rpan_core.formats.coco import read_coco

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.time()
    entries = read_coco(path, "pennaction")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = Path(path).stat().st_size
    print(f"file {size / 1e6:.1f} MB, {len(entries)} images: peak RSS growth {(peak - base) / 1e6:.0f} MB = "
          f"{(peak - base) / size:.1f}x the file ({time.time() - t:.1f} s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=96000)
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        _measure(args.measure)
        return
    sys.path.insert(0, str(REPO))
    from tests.core.test_importers_untrusted import _big_coco

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "big.json"
        _big_coco(path, args.images)
        subprocess.run([sys.executable, __file__, "--measure", str(path)], check=True, cwd=REPO,
                       env={**os.environ, "PYTHONPATH": str(REPO)})


if __name__ == "__main__":
    main()
