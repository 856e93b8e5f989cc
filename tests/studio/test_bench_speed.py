"""`python -m rpan_studio.bench_speed` (make bench): issue 13's figures, one row per video."""

from __future__ import annotations


def test_the_speed_table_puts_every_figure_of_a_video_on_one_row():
    from rpan_studio.bench_speed import format_table

    seek = {"proxy_build": {"ratio_to_sequential_decode": 0.74, "size_mb": 113.2},
            "random_seek": {"median_ms": 7.25, "p95_ms": 12.0}, "scrub": {"median_ms": 6.0, "p95_ms": 8.0},
            "without_proxy": {"random_seek": {"median_ms": 700.0, "p95_ms": 1300.0},
                              "scrub": {"median_ms": 20.0, "p95_ms": 60.0}}}
    demo = {"analysis_vs_min_decode_network": 0.83, "analysis_fps": 150.2, "decode_only_fps": 181.0,
            "network_only_fps": 460.0}
    rows = [{"name": "gen", "frames": 900, "size": "1920x1080", "seek": seek,
             "analysis": {"demo": demo, "labeling": {"error": "preset not available"}}},
            {"name": "cam01.mp4", "frames": 100, "size": "1080x1920", "seek": {}, "analysis": {}}]
    text = format_table(rows, {"load_start": 0.5, "load_end": 1.0, "cpus": 2, "seconds": 300})
    lines = text.splitlines()
    assert lines[0].count("|") == 10 and len(lines[2].split("|")) == 11
    assert lines[2].startswith("| gen (900 fr, 1920x1080) | 0.74 | 113.2 | 7.2 / 12.0 | 700.0 / 1300.0 | 6.0 / 8.0 "
                               "| 20.0 / 60.0 | **0.83** (150 / min(181, 460)) | error: preset not available |")
    assert lines[3].startswith("| cam01.mp4 (100 fr, 1080x1920) | - | - | - |")
    assert "load average (1 min) at start 0.50, at end 1.00; 2 CPUs" in text


def test_the_table_gives_both_decoders_and_the_stricter_first():
    from rpan_studio.bench_speed import format_table

    seek = {"proxy_build": {"ratio_to_sequential_decode": 0.61, "ratio_to_cv2_decode": 0.74, "size_mb": 6.0}}
    demo = {"analysis_vs_min_decode_network": 0.55, "analysis_vs_min_cv2_decode_network": 0.81,
            "analysis_fps": 250.4, "decode_only_fps": 450.0, "decode_only_cv2_fps": 310.0,
            "decode_only_pyav_fps": 450.0, "network_only_fps": 900.0}
    text = format_table([{"name": "cam01.mp4", "frames": 100, "size": "1080x1920", "seek": seek,
                          "analysis": {"demo": demo}}])
    row = text.splitlines()[2]
    assert row.startswith("| cam01.mp4 (100 fr, 1080x1920) | **0.61** / 0.74 | 6.0 |")
    assert "| **0.55** / 0.81 (250 fps; decode PyAV 450, cv2 310; network 900) |" in row
    assert row.count("|") == 10


def test_the_proxy_build_is_timed_as_often_as_needed_and_the_faster_counts(tmp_path):
    """The decode references count the faster of their runs; the build must get the same treatment (two
    builds into two folders, the faster one in the ratio), not one build paying alone for a slow moment."""
    from rpan_studio import bench_scrub

    path = bench_scrub.make_long_video(tmp_path / "short.avi", 24)
    out = bench_scrub.run(video=path, n_seeks=3, compare=False)
    pb = out["proxy_build"]
    assert len(pb["builds_s"]) == bench_scrub.BUILDS == 2
    assert abs(pb["seconds"] - min(pb["builds_s"])) <= 0.006
    assert abs(pb["frames_per_s"] - 24 / min(pb["builds_s"])) < 0.2 * pb["frames_per_s"]
