"""Rebuild the demo's real-video assets: the Pose2Sim clip and a `labeling`-preset checkpoint trained on its keyframes.

    python scripts/make_real_demo_assets.py --clip PATH/pose2sim_cam01.mp4 --reference PATH/reference_coco.json \
        [--every 10] [--minutes 6] [--out-dir assets]

Writes ``assets/pose2sim_cam01.mp4`` (the clip, unmodified; its BSD-3-Clause notice is
``assets/pose2sim_LICENSE.txt``) and ``assets/real_demo_checkpoint.pt``: the real-video
``labeling`` preset (``rpan train --model-preset labeling``, fp16 weights, a few MB)
trained on every ``--every``-th frame of the clip's reference poses (COCO keypoints,
``images[].video_name`` = the clip's stem; nose -> head), with a model card saying so.
The rest of the reference stays out of the repository: it is data.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def keyframe_reference(reference: Path, stem: str, every: int, out: Path) -> int:
    """The reference's annotations of ``stem`` on every ``every``-th frame, as a COCO file; returns their count."""
    d = json.loads(reference.read_text())
    images = [im for im in d["images"] if Path(str(im.get("video_name", ""))).stem == stem
              and int(im.get("frame_index", -1)) % every == 0]
    ids = {im["id"] for im in images}
    anns = [a for a in d["annotations"] if a["image_id"] in ids]
    out.write_text(json.dumps(dict(d, images=images, annotations=anns)))
    return len(images)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", required=True, help="pose2sim_cam01.mp4")
    ap.add_argument("--reference", required=True, help="reference_coco.json (COCO keypoints with video_name)")
    ap.add_argument("--every", type=int, default=10, help="keyframe spacing (default 10: 10 keyframes of 100)")
    ap.add_argument("--minutes", type=float, default=6.0, help="training time budget (default 6)")
    ap.add_argument("--out-dir", default=str(REPO / "assets"))
    args = ap.parse_args(argv)

    import torch

    from rpan_core.atomic import save_with
    from rpan_core.model_card import card_from_project
    from rpan_core.project import Project

    clip, out_dir = Path(args.clip), Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if clip.resolve() != (out_dir / clip.name).resolve():
        shutil.copy2(clip, out_dir / clip.name)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory(prefix="rpan-real-demo-") as tmp:
        proj = Path(tmp) / "project"
        project = Project.create(proj, skeleton="pennaction")
        project.add_video(str(out_dir / clip.name))
        project.close()
        keys = Path(tmp) / "keyframes.json"
        n = keyframe_reference(Path(args.reference), clip.stem, args.every, keys)
        print(f"{n} keyframes of {clip.name} (every {args.every}th frame)")
        rpan = [sys.executable, "-m", "rpan_core.cli"]
        subprocess.run(rpan + ["import", "--format", "coco", "--project", str(proj), str(keys)], check=True, env=env)
        run = Path(tmp) / "run"
        subprocess.run(rpan + ["train", "--project", str(proj), "--model-preset", "labeling", "--minutes",
                               str(args.minutes), "--run-dir", str(run)], check=True, env=env)
        ck = run / "best.pt" if (run / "best.pt").exists() else run / "last.pt"
        d = torch.load(ck, map_location="cpu", weights_only=True)  # fp16 weights kept as they are
        from rpan_core.checkpoint import read_checkpoint

        info = read_checkpoint(ck)[1]
        with Project.open(proj) as p:
            card = card_from_project(p, info.config, preset="labeling",
                                     note=f"Pose2Sim demo clip {clip.name}: reference poses (BlazePose) on every "
                                          f"{args.every}th frame, {args.minutes:g} min of keyframe training")
        card.project = "Pose2Sim demo clip"
        d["card"] = card.to_dict()
        d["train_config"] = {k: v for k, v in dict(d.get("train_config") or {}).items()
                             if k not in ("project", "run_dir")}  # no paths of this machine in the asset
        dst = out_dir / "real_demo_checkpoint.pt"
        save_with(dst, lambda fh: torch.save(d, fh))
    print(f"wrote {out_dir / clip.name} and {dst} ({dst.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
