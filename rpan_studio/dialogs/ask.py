"""The small questions the studio asks before it acts: a frame range, fusion weights, a new project, a path.

Why apart from the commands: dialogs ask, commands act. A labeling command takes
its frames as numbers; parsing what a person typed ("10-40") and refusing a typo
with one clear line happens here, before any command runs. Every function returns
None when the person cancels.
"""

from __future__ import annotations

from dataclasses import dataclass

from PyQt6.QtWidgets import QFileDialog, QInputDialog, QWidget

from rpan_core.errors import ConfigError, RPANError
from rpan_core.formats.registry import Format

__all__ = ["parse_frame_range", "ask_frame_range", "ask_fusion_weights", "NewProjectAnswer", "ask_new_project",
           "ask_format_path", "ask_action"]


def parse_frame_range(text: str) -> tuple[int, int]:
    """``"10-40"`` -> (10, 40); anything else is an RPANError saying how to write it."""
    try:
        a, b = (int(v) for v in text.replace(" ", "").split("-"))
    except ValueError:
        raise RPANError(f"{text!r} is not a frame range; write it as first-last, e.g. 10-40") from None
    return a, b


def ask_frame_range(parent: QWidget, first: int, last: int, title: str = "Accept model poses") -> tuple[int, int] | None:
    """Ask for a frame range (``first-last`` proposed), e.g. the frames to accept."""
    text, ok = QInputDialog.getText(parent, title, "frames (first-last):", text=f"{first}-{last}")
    return parse_frame_range(text) if ok else None


def ask_fusion_weights(parent: QWidget, current: tuple[float, float]) -> tuple[float, float] | None:
    from rpan_core.fusion import parse_weights

    text, ok = QInputDialog.getText(parent, "Stream fusion", "weights spatial:temporal (RGB:flow):",
                                    text=f"{current[0]:g}:{current[1]:g}")
    if not ok:
        return None
    w = tuple(parse_weights(text))
    if len(w) != 2:
        raise ConfigError(f"{text!r}: give two weights, RGB:flow, e.g. 1:2")
    return w  # type: ignore[return-value]


@dataclass(frozen=True)
class NewProjectAnswer:
    folder: str
    skeleton: str
    classes: list[str]


def ask_new_project(parent: QWidget) -> NewProjectAnswer | None:
    folder = QFileDialog.getExistingDirectory(parent, "Folder for the new project (an empty folder)")
    if not folder:
        return None
    classes, ok = QInputDialog.getText(parent, "New project", "action classes (comma separated):")
    if not ok:
        return None
    skel, ok = QInputDialog.getItem(parent, "New project", "skeleton:", ["pennaction", "jhmdb", "coco"], 0, False)
    if not ok:
        return None
    return NewProjectAnswer(folder, skel, [c.strip() for c in classes.split(",") if c.strip()])


def ask_format_path(parent: QWidget, fmt: Format) -> str | None:
    """The file or folder to import from / export to, as the format wants it."""
    verb = "Import" if fmt.direction == "import" else "Export labels as"
    if fmt.path_kind == "folder":
        path = QFileDialog.getExistingDirectory(parent, f"{verb} {fmt.title}: folder")
    elif fmt.direction == "import":
        path, _ = QFileDialog.getOpenFileName(parent, f"{verb} {fmt.title}", "", fmt.file_filter)
    else:
        path, _ = QFileDialog.getSaveFileName(parent, f"{verb} {fmt.title}", "", fmt.file_filter)
    return path or None


def ask_action(parent: QWidget, classes: list[str], current: str | None) -> tuple[str | None] | None:
    """The video's action: (name,) or (None,) for none; None when cancelled."""
    items = ["(none)"] + list(classes)
    name, ok = QInputDialog.getItem(parent, "Video action", "action of this video:", items,
                                    items.index(current) if current in items else 0, False)
    if not ok:
        return None
    return (None if name == "(none)" else name,)


def ask_person_name(parent: QWidget, current: str) -> str | None:
    """A new name for a person (None when cancelled or left empty)."""
    name, ok = QInputDialog.getText(parent, "Rename person", f"new name of {current}:", text=current)
    return name.strip() if ok and name.strip() else None


def ask_swap_partner(parent: QWidget, person: int, frame: int, others: list[tuple[int, str]]) -> int | None:
    """The person to swap identities with from ``frame`` on (None when cancelled)."""
    items = [f"{pid}  {name}" for pid, name in others]
    item, ok = QInputDialog.getItem(parent, "Swap identities", f"swap person {person} from frame {frame} on with:",
                                    items, 0, False)
    return others[items.index(item)][0] if ok else None
