"""The mp4 export of a video analyzed per person shows every person the studio shows: the selected one with its
heat map and confidence colours, the others' poses, boxes and names in their own colours."""

from __future__ import annotations

import numpy as np

from rpan_studio.person_commands import person_colour
from rpan_studio.views.overlays import OtherPerson, OverlayOptions, draw_overlays
from tests.studio.test_person_analysis_studio import SIZE, scene  # noqa: F401  (the 3-person studio fixture)


def test_draw_overlays_burns_the_other_persons_in_their_colours():
    frame = np.zeros((120, 160, 3), np.uint8)
    xy = np.array([[40.0, 30.0], [40.0, 80.0], [np.nan, np.nan]])  # a joint without a position is not drawn
    other = OtherPerson(xy, (255, 170, 40), "Bea", np.array([30.0, 20.0, 60.0, 100.0]))
    img = draw_overlays(frame, edges=[(0, 1), (1, 2)], opts=OverlayOptions(), others=[other])
    colour = np.array((255, 170, 40))

    def drawn(y: int, x: int) -> bool:  # anti-aliased: the colour within a pixel of there
        return bool(np.abs(img[y - 1:y + 2, x - 1:x + 2].astype(int) - colour).sum(-1).min() < 60)

    assert drawn(55, 40)  # the bone between the two joints
    assert drawn(60, 30) and drawn(20, 45) and drawn(100, 50)  # the box outline
    assert not drawn(60, 45) and not drawn(110, 100)  # nothing inside the box but the bones, nothing outside
    assert img[:20].any()  # the name above the box
    assert not draw_overlays(frame, edges=[(0, 1)], opts=OverlayOptions(skeleton=False), others=[other]).any()


def test_the_export_of_a_crowded_video_shows_every_person(qtbot, scene, tmp_path):  # noqa: F811
    from rpan_core.video import open_video
    from rpan_studio.export import export_overlay_video

    w, t = scene, scene.test
    assert w.state.person == 1
    worker = w.export_video(tmp_path / "crowd.mp4", start=0, stop=5)
    qtbot.waitUntil(lambda: worker.status in ("done", "failed"), timeout=30000)
    assert worker.status == "done", worker.error
    alone = export_overlay_video(w.project.video(t.vid).path, w.state.analysis, tmp_path / "alone.mp4", stop=5,
                                 opts=w.state.overlay, edges=list(w.project.skeleton.edges))
    with open_video(worker.result) as v, open_video(alone) as a:
        crowd, single = v.frame(3).astype(np.float64), a.frame(3).astype(np.float64)
    for pid in (2, 3):
        colour = np.array(person_colour(pid), np.float64)
        near = closer = 0
        for x, y in t.truth[pid][3]:
            xi, yi = int(np.clip(round(x), 0, SIZE[1] - 1)), int(np.clip(round(y), 0, SIZE[0] - 1))
            near += 1
            closer += np.linalg.norm(crowd[yi, xi] - colour) < np.linalg.norm(single[yi, xi] - colour) - 20
        assert closer / near > 0.6, f"person {pid}: only {closer} of {near} joints drawn in its colour"
    assert w.errors == []
