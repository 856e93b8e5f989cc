"""Contact sheet of the synthetic actions with their exact joints (docs/img/synth_frames.png).

Why: a person checking the generator wants to see, at a glance, that each action
looks like itself and that the joints sit on the drawn body (green = visible,
red = occluded).

    python scripts/synth_sheet.py [--out docs/img/synth_frames.png]
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np

from rpan_core.synth import ACTIONS, render_video


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/synth_frames.png")
    args = ap.parse_args(argv)
    tiles = []
    for k, action in enumerate(ACTIONS):
        sv = render_video(100 + k, action, n_frames=24, size=(240, 320))
        row = []
        for t in (0, 8, 16):
            f = sv.frames[t].copy()
            for j in range(sv.xy.shape[1]):
                colour = (0, 255, 0) if sv.visible[t, j] else (255, 0, 0)
                cv2.circle(f, (int(round(sv.xy[t, j, 0])), int(round(sv.xy[t, j, 1]))), 3, colour, -1)
            cv2.putText(f, f"{action} t={t}", (5, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1,
                        cv2.LINE_AA)
            row.append(f)
        tiles.append(np.concatenate(row, 1))
    cols = 3
    rows = [np.concatenate(tiles[i:i + cols], 1) for i in range(0, len(tiles), cols)]
    sheet = np.concatenate(rows, 0)
    sheet = cv2.resize(sheet, (sheet.shape[1] // 2, sheet.shape[0] // 2), interpolation=cv2.INTER_AREA)
    cv2.imwrite(args.out, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {args.out} ({sheet.shape[1]}x{sheet.shape[0]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
