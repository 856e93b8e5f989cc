"""The one table of importers and exporters, used by ``rpan import`` / ``rpan export`` and the studio.

Why a table: format dispatch used to be written three times (``rpan import``,
``rpan export`` and the studio's menus), and the studio's copy looked for
functions that did not exist. Now each format is one :class:`Format` row with
ONE calling convention, whoever calls it:

* an importer: ``fmt.run(project, path, **options) -> ImportReport``
* an exporter: ``fmt.run(project, path, **options) -> Path`` (the file or folder written)

``project`` is an open :class:`~rpan_core.project.Project` (exporters also take a
:class:`~rpan_core.project.ProjectSnapshot`: they only read). ``options`` are the
format's own keywords (``Format.options`` lists them, e.g. JHMDB's ``split``);
``progress(done, total)`` and ``cancel()`` are passed on to the functions that take them.

The functions themselves stay in their modules (pennaction.py, jhmdb.py, coco.py,
csv_export.py) and are imported only when a format runs, so listing the formats
costs nothing (no scipy, no OpenCV).
"""

from __future__ import annotations

import importlib
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

from rpan_core.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project, ProjectSnapshot

__all__ = ["Format", "ImportReport", "FORMATS", "importers", "exporters", "get_format", "run_import", "run_export"]

Direction = Literal["import", "export"]
PathKind = Literal["file", "folder"]


@dataclass(frozen=True)
class ImportReport:
    """What an import did: the videos that got labels, how many joint labels they hold now."""

    format: str
    video_ids: list[int]
    labels: int
    detail: Any = None  # the importer's own return value, for formats that report more

    @property
    def notes(self) -> list[str]:
        """The importer's own report lines past its headline (COCO: videos matched, keypoints not imported)."""
        lines = getattr(self.detail, "lines", None)
        return list(lines())[1:] if callable(lines) else []

    def summary(self) -> str:
        return f"imported {len(self.video_ids)} videos ({self.labels} joint labels) from {self.format}"


@dataclass(frozen=True)
class Format:
    """One importer or exporter.

    ``path_kind`` says whether the path is a file (``suffix`` names its extension)
    or a folder; ``title`` is the menu text; ``skeleton`` is the skeleton of a
    project created for an import (``rpan import`` into a missing folder).
    """

    name: str
    direction: Direction
    title: str
    path_kind: PathKind
    target: str  # "module:function"
    suffix: str = ""
    skeleton: str | None = None
    options: tuple[str, ...] = field(default=())
    #: options the format picks from the project when the caller does not give them
    auto_options: Callable[["Project"], dict[str, Any]] | None = None

    @property
    def function(self) -> Callable[..., Any]:
        module, fn = self.target.split(":")
        return getattr(importlib.import_module(module), fn)

    @property
    def file_filter(self) -> str:
        """A Qt file-dialog filter for a file format ("" for a folder)."""
        if self.path_kind != "file":
            return ""
        return f"{self.suffix[1:].upper()} (*{self.suffix})"

    def run(self, project: "Project | ProjectSnapshot", path: str | os.PathLike,
            progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
            **options: Any) -> Any:
        """Import into / export from ``project`` at ``path`` (the one signature; see the module doc)."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ConfigError(f"format {self.name} ({self.direction}) takes no option {', '.join(unknown)}; "
                              f"it takes: {', '.join(self.options) or 'none'}")
        fn = self.function
        kwargs = {k: v for k, v in options.items() if v is not None}
        params = inspect.signature(fn).parameters
        if progress is not None and "progress" in params:
            kwargs["progress"] = progress
        if cancel is not None and "cancel" in params:
            kwargs["cancel"] = cancel
        if self.direction == "export":
            return Path(fn(project, path, **kwargs))
        if self.auto_options is not None:
            kwargs = {**self.auto_options(project), **kwargs}
        result = fn(project, path, **kwargs)
        ids = _video_ids(result)
        labels = sum(project.label_count(v) for v in set(ids))
        return ImportReport(self.name, ids, labels, result)


def _video_ids(result: Any) -> list[int]:
    """The video ids an importer returned (a list of ids, or an object with ``video_ids``)."""
    ids = getattr(result, "video_ids", result)
    return [int(v) for v in (ids or [])]


def _jhmdb_auto(project: "Project") -> dict[str, Any]:
    """JHMDB into a pennaction project: map the joints (skeleton.convert_pose)."""
    return {"convert": project.skeleton.name == "pennaction"}


FORMATS: tuple[Format, ...] = (
    Format("pennaction", "import", "PennAction (.mat folder)", "folder",
           "rpan_core.formats.pennaction:import_pennaction", skeleton="pennaction"),
    Format("jhmdb", "import", "JHMDB (joint_positions)", "folder",
           "rpan_core.formats.jhmdb:import_jhmdb", skeleton="jhmdb", options=("split", "convert"),
           auto_options=_jhmdb_auto),
    Format("coco", "import", "COCO keypoints (.json)", "file", "rpan_core.formats.coco:import_coco_report",
           suffix=".json", skeleton="pennaction", options=("images_root",)),
    Format("coco", "export", "COCO JSON", "file", "rpan_core.formats.coco:export_coco", suffix=".json"),
    Format("csv", "export", "CSV", "file", "rpan_core.formats.csv_export:export_csv", suffix=".csv"),
    Format("pennaction", "export", "PennAction layout (folder)", "folder",
           "rpan_core.formats.pennaction:export_pennaction"),
)


def importers() -> list[Format]:
    return [f for f in FORMATS if f.direction == "import"]


def exporters() -> list[Format]:
    return [f for f in FORMATS if f.direction == "export"]


def get_format(direction: Direction, name: str) -> Format:
    """The format ``name`` for ``direction``; a ConfigError listing the known ones otherwise."""
    for f in FORMATS:
        if f.direction == direction and f.name == name:
            return f
    known = ", ".join(f.name for f in FORMATS if f.direction == direction)
    raise ConfigError(f"no {direction}er for format {name!r}; known formats: {known}")


def run_import(name: str, project: "Project", path: str | os.PathLike, **options: Any) -> ImportReport:
    return get_format("import", name).run(project, path, **options)


def run_export(name: str, project: "Project | ProjectSnapshot", path: str | os.PathLike, **options: Any) -> Path:
    return get_format("export", name).run(project, path, **options)
