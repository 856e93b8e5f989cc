"""Dataset formats: import annotations into a project, export a project's labels.

* :mod:`~rpan_core.formats.pennaction` - PennAction (``labels/NNNN.mat`` + ``frames/NNNN/``), import and export.
* :mod:`~rpan_core.formats.jhmdb` - JHMDB / Sub-JHMDB (``joint_positions.mat``, split files), import.
* :mod:`~rpan_core.formats.coco` - COCO keypoints JSON, import and export.
* :mod:`~rpan_core.formats.csv_export` - one CSV row per labeled joint, for spreadsheets and pandas.

Rules every importer follows, because a half-read dataset in a project is worse
than none: every file is read and checked *before* anything is written; a
malformed file (missing field, wrong shape, NaN, wrong joint count) is refused
with a :class:`~rpan_core.errors.FormatError` naming the file and the field; the
writes of one import are one project transaction, so a failure leaves the
project exactly as it was. Imported labels get the source ``imported``.

Coordinates inside the project are 0-based pixels (the centre of the top-left
pixel is (0, 0)). MATLAB datasets (PennAction, JHMDB) use 1-based pixels and are
shifted by one on the way in and out; COCO is 0-based already.

Untrusted coordinates: a position that is NaN is not labeled (the joint is
skipped); one outside the frame by more than a frame's width or height (-1e9,
1e308, inf) is refused with the file, frame and joint named
(:func:`check_coordinates`), against the size of the real frames.

This module holds the small checking helpers the readers share.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rpan_core.errors import FormatError, ProjectError

if TYPE_CHECKING:  # pragma: no cover
    from rpan_core.project import Project, ProjectSnapshot

__all__ = ["FormatError", "field_error", "check_coordinates", "load_mat", "get_field", "as_float_array", "as_int",
           "as_str", "check_skeleton", "check_single_person", "guard_project_errors"]


def field_error(path: str | os.PathLike, field: str, what: str) -> FormatError:
    """A FormatError naming the file and the field."""
    return FormatError(f"{path}: field '{field}' {what}; fix or remove this file and import again")


def load_mat(path: str | os.PathLike) -> dict[str, Any]:
    """Read a MATLAB .mat file with scipy.io (v4 to v7.2), as a dict without the __header__ entries."""
    import scipy.io

    try:
        d = scipy.io.loadmat(str(path), squeeze_me=False, struct_as_record=True)
    except NotImplementedError as exc:  # v7.3 (HDF5)
        raise FormatError(f"{path}: MATLAB v7.3 files are not supported ({exc}); re-save it with "
                          "save(..., '-v7') in MATLAB or Octave") from exc
    except Exception as exc:  # noqa: BLE001 - scipy raises many types for broken files
        raise FormatError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc})") from exc
    return {k: v for k, v in d.items() if not k.startswith("__")}


def get_field(d: Mapping[str, Any], field: str, path: str | os.PathLike) -> Any:
    if not isinstance(d, Mapping) or field not in d:
        raise field_error(path, field, "is missing")
    return d[field]


def as_float_array(value: Any, field: str, path: str | os.PathLike, *, shape: tuple[int | None, ...] | None = None,
                   finite: bool = True) -> np.ndarray:
    """A float64 array; ``shape`` entries of None accept any size. NaN/inf refused when ``finite``."""
    try:
        a = np.asarray(value)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"dtype {a.dtype}")
        a = a.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise field_error(path, field, f"must be numbers ({exc})") from None
    if shape is not None:
        if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
            want = " x ".join("N" if s is None else str(s) for s in shape)
            raise field_error(path, field, f"has shape {' x '.join(map(str, a.shape)) or 'scalar'}, expected {want}")
    if finite and not np.isfinite(a).all():
        raise field_error(path, field, "holds NaN or infinite values")
    return a


def as_int(value: Any, field: str, path: str | os.PathLike) -> int:
    a = as_float_array(value, field, path)
    if a.size != 1 or a.reshape(-1)[0] != int(a.reshape(-1)[0]):
        raise field_error(path, field, f"must be one whole number, got {np.asarray(value).tolist()!r}"[:200])
    return int(a.reshape(-1)[0])


def as_str(value: Any, field: str, path: str | os.PathLike) -> str:
    a = np.asarray(value)
    if a.dtype.kind == "U" and a.size <= 1:
        return str(a.reshape(-1)[0]).strip() if a.size else ""
    if isinstance(value, str):
        return value.strip()
    raise field_error(path, field, "must be a text string")


def check_coordinates(path: str | os.PathLike, xy: np.ndarray, width: int, height: int, joints: Any,
                      what: str = "frame {t}") -> np.ndarray:
    """Refuse positions outside the ``width x height`` frames by more than a frame; returns the NaN mask.

    ``xy`` is ``T x J x 2`` (0-based pixels); ``what`` names a row, formatted with the
    1-based frame number ``t``. A joint whose x or y is NaN is marked True in the
    returned ``T x J`` mask: the caller leaves it unlabeled.
    """
    xy = np.asarray(xy, np.float64)
    nan = np.isnan(xy).any(axis=-1)
    with np.errstate(invalid="ignore"):
        ok = nan | ((xy[..., 0] >= -width) & (xy[..., 0] <= 2 * width) & (xy[..., 1] >= -height)
                    & (xy[..., 1] <= 2 * height))
    if not ok.all():
        t, j = (int(v) for v in np.argwhere(~ok)[0])
        x, y = xy[t, j]
        raise FormatError(f"{path}: {what.format(t=t + 1)} joint {joints[j]} is at ({x:g}, {y:g}), outside the "
                          f"{width}x{height} frames by more than a frame; fix the file and import again")
    return nan


def check_skeleton(project: Project | ProjectSnapshot, name: str, fmt: str) -> None:
    have = project.skeleton.name
    if have != name:
        raise FormatError(f"{fmt} labels use the {name} skeleton but the project uses {have}; import into a "
                          f"{name} project (Project.create(..., skeleton='{name}'))")


def check_single_person(project: Project | ProjectSnapshot, records: list[Any], fmt: str) -> None:
    """Refuse to export a video whose labels belong to more than person 1 in a one-person format.

    PennAction and JHMDB hold one person per video; writing only person 1 would
    drop the others without a word.
    """
    persons = getattr(project, "persons", None)
    if persons is None:
        return
    for r in records:
        others = [q for q in persons(r.id) if q.id != 1 and project.label_count(r.id, person=q.id)]
        if others:
            raise FormatError(f"{fmt} holds one person per video but video {r.id} ({Path(r.path).name}) has labels "
                              f"of {len(others) + 1} persons; export it as COCO or CSV, or leave it out")


class guard_project_errors:
    """Context manager: a ProjectError raised while writing one file's data becomes a FormatError naming it."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, exc, tb) -> bool:
        if exc is not None and isinstance(exc, ProjectError):
            raise FormatError(f"{self.path}: {exc}") from exc
        return False
