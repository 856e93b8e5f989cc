"""The formats registry: one table, one calling convention, clear refusals; the CLI's choices come from it."""

from __future__ import annotations

import pytest

from rpan_core.errors import ConfigError
from rpan_core.formats.registry import FORMATS, exporters, get_format, importers, run_export, run_import
from tests.core.test_formats import jhmdb_tree, labeled_project


def test_every_format_resolves_to_a_function_taking_project_then_path():
    import inspect

    for fmt in FORMATS:
        params = list(inspect.signature(fmt.function).parameters)
        assert params[:2] in (["project", "src"], ["project", "json_path"], ["project", "out_path"],
                              ["project", "out_dir"]), (fmt.name, params)
        assert fmt.path_kind in ("file", "folder") and (fmt.path_kind == "folder") == (fmt.suffix == "")


def test_unknown_format_or_option_is_one_clear_line(tmp_path, make_project):
    with pytest.raises(ConfigError, match="no exporter for format 'xml'; known formats: coco, csv, pennaction"):
        get_format("export", "xml")
    with pytest.raises(ConfigError, match="takes no option split; it takes: images_root"):
        run_import("coco", make_project(), tmp_path / "x.json", split=2)


def test_import_report_and_export_path(tmp_path, make_project):
    src = labeled_project(tmp_path / "src")
    out = run_export("csv", src, tmp_path / "l.csv")
    assert out == tmp_path / "l.csv" and out.is_file()
    jhmdb_tree(tmp_path / "JHMDB")
    report = run_import("jhmdb", make_project(), tmp_path / "JHMDB")  # into pennaction: converted by itself
    assert len(report.video_ids) == 2 and report.labels == 2 * 3 * 13
    assert report.summary() == "imported 2 videos (78 joint labels) from jhmdb"
    src.close()


def test_cli_choices_are_the_registry(capsys):
    from rpan_core.cli import build_parser

    for command, fmts in (("import", importers()), ("export", exporters())):
        parser = build_parser(command)
        with pytest.raises(SystemExit):
            parser.parse_args([command, "--help"])
        text = capsys.readouterr().out
        assert "{" + ",".join(f.name for f in fmts) + "}" in text
