"""The one table of the studio's actions: name, menu text, keys, what it does.

Why one table: the window's keys and the pose editor's keys used to be two
tables, and the help dialog (F1) glued them together while the menus wrote their
own texts. Now the menus, the key bindings, the pose editor's actions and the F1
dialog are all made from :data:`ACTIONS`, so a key shown in the help is the key
that works, and a new action is one row here plus its slot.

``scope`` says who binds the keys: ``window`` actions are made by the main
window (and shown in its menus), ``editor`` actions by the pose editor (its own
handler), ``mouse`` rows only document mouse gestures.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["ActionSpec", "ACTIONS", "action", "shortcut", "help_rows", "MENUS", "keys_file", "load_keys"]

Scope = Literal["window", "editor", "mouse"]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str  # menu text (with its & accelerator)
    keys: str  # key sequence ("" = none; for mouse rows, the gesture)
    description: str  # the F1 dialog's line and the status tip
    scope: Scope = "window"


ACTIONS: tuple[ActionSpec, ...] = (
    # ---- File
    ActionSpec("new_project", "&New project...", "Ctrl+N", "Create a project in an empty folder"),
    ActionSpec("open", "&Open project...", "Ctrl+O", "Open a project"),
    ActionSpec("open_video", "Open &video...", "Ctrl+Shift+V",
               "Open a video: into the open project, or without one in a scratch project (keep it with Save as)"),
    ActionSpec("save_as", "&Save project as...", "Ctrl+Shift+S",
               "Turn the scratch project of an opened video into a real project in a folder you choose"),
    ActionSpec("open_demo", "Open &demo project", "Ctrl+D", "Open (building it the first time) the demo project"),
    ActionSpec("add_videos", "&Add videos...", "Ctrl+Shift+O", "Add videos to the project"),
    ActionSpec("remove_video", "&Remove video from project...", "Ctrl+Shift+Delete",
               "Remove the open video and its labels from the project (asks first; the file stays on disk)"),
    ActionSpec("export_video", "Video with overlays (mp4)...", "Ctrl+E", "Write the video with the overlays shown"),
    ActionSpec("png_view", "Current view (PNG)...", "", "Save the frame view as PNG"),
    ActionSpec("png_dynamics", "Dynamics plot (PNG)...", "", "Save the LSTM dynamics plot as PNG"),
    ActionSpec("png_confusion", "Confusion matrix (PNG)...", "",
               "Evaluate the checkpoint and save its confusion matrix"),
    ActionSpec("quit", "&Quit", "Ctrl+Q", "Quit (every label is already saved)"),
    # ---- navigation
    ActionSpec("play", "Play / pause", "Space", "Play / pause at the video's frame rate"),
    ActionSpec("step_forward", "Next frame", "Right", "Next frame"),
    ActionSpec("step_back", "Previous frame", "Left", "Previous frame"),
    ActionSpec("step_forward_10", "10 frames forward", "Shift+Right", "10 frames forward"),
    ActionSpec("step_back_10", "10 frames back", "Shift+Left", "10 frames back"),
    ActionSpec("next_labeled", "Next labeled frame", "Ctrl+Right", "Next labeled frame"),
    ActionSpec("prev_labeled", "Previous labeled frame", "Ctrl+Left", "Previous labeled frame"),
    ActionSpec("next_unlabeled", "Next unlabeled frame", "U", "Next unlabeled frame"),
    ActionSpec("next_lowconf", "Next low-confidence frame", "L",
               "Next low-confidence frame (the model's least sure 10%)"),
    ActionSpec("goto_frame", "Go to frame...", "Ctrl+G", "Type a frame number (Enter goes there; the arrows step again)"),
    ActionSpec("first_frame", "First frame", "Home", "Go to the first frame"),
    ActionSpec("last_frame", "Last frame", "End", "Go to the last frame"),
    # ---- overlays
    ActionSpec("fit_view", "&Fit frame to window", "F", "Zoom so the whole frame fills the view"),
    ActionSpec("heat", "Heat map", "H", "Toggle the attention heat map"),
    ActionSpec("skeleton", "Estimated pose", "K", "Toggle the estimated skeleton"),
    ActionSpec("annotation", "Annotated pose", "N", "Toggle the annotated pose"),
    # ---- model
    ActionSpec("analyze", "&Analyze current video", "Ctrl+R", "Analyze the current video"),
    ActionSpec("pose_prior", "Decode poses with the &limb-length prior", "",
               "Choose each joint among its strongest attention peaks so that the limbs keep the lengths of this "
               "project's labeled poses (rpan analyze --pose-prior): an arm is not put on an arm-like thing out of "
               "its reach. Learned from the labels when the video is analyzed (Ctrl+R after labeling more)"),
    ActionSpec("choose_checkpoint", "Choose &checkpoint...", "Ctrl+Shift+K", "Analyze with another checkpoint"),
    ActionSpec("model_card", "Model &card...", "Ctrl+I",
               "What the current model was trained on, and whether the open video is far from it"),
    ActionSpec("choose_flow_checkpoint", "Choose &flow checkpoint (two streams)...", "",
               "Add a flow stream: RGB and flow probabilities fused"),
    ActionSpec("fusion_weights", "Stream &fusion weights...", "", "Weights of the RGB and flow streams"),
    ActionSpec("train", "&Train / fine-tune...", "Ctrl+T", "Train or fine-tune on the project's labels"),
    ActionSpec("compare", "C&ompare checkpoints...", "", "Accuracy and PCK of two checkpoints side by side"),
    ActionSpec("help", "Keyboard &shortcuts", "F1", "This list of shortcuts"),
    # ---- editing (menu level; the keys act on the current frame)
    ActionSpec("undo", "Undo", "Ctrl+Z", "Undo the last edit"),
    ActionSpec("redo", "Redo", "Ctrl+Shift+Z", "Redo the last undone edit"),
    ActionSpec("accept_frame", "Accept model pose (this frame)", "A", "Accept the model's pose for this frame"),
    ActionSpec("accept_range", "Accept model poses (frame range)...", "Shift+A",
               "Accept the model's poses for the selected frame range"),
    ActionSpec("copy_previous", "Copy previous labeled pose", "C",
               "Copy the pose of the previous labeled frame to this frame"),
    ActionSpec("interpolate", "Interpolate between keyframes", "I",
               "Interpolate between the previous and next labeled keyframes"),
    ActionSpec("propagate", "&Propagate keyframes (model + interpolation)", "Shift+I",
               "Fill the frames between this video's keyframes with the model's poses blended with interpolation "
               "(interpolation alone without a checkpoint), as predictions to accept or correct"),
    ActionSpec("propagate_align_sides", "Propagation takes the keyframes' &left/right", "",
               "When propagating with the model, first give each frame of its poses the left/right the keyframes "
               "say (for a view the model reads mirrored, such as a person filmed from behind)"),
    ActionSpec("swap_sides", "Swap left/right (this frame)", "X",
               "Swap the whole skeleton's left and right on this frame (its labels, or the predicted pose)"),
    ActionSpec("swap_sides_range", "Swap left/right (frame range)...", "Shift+X",
               "Swap the whole skeleton's left and right on a frame range, as one undo step"),
    ActionSpec("check_sides", "Check left/right on the mirrored video", "",
               "Run the model on the mirrored video; frames whose sides it doubts join the review queue"),
    ActionSpec("set_action", "Set video &action...", "Ctrl+Shift+A", "The action label of this video"),
    # ---- persons (several people per video: the editor, timeline and review queue follow the selected one)
    ActionSpec("add_person", "&Add person", "Ctrl+Shift+P", "Add a person to this video and select it"),
    ActionSpec("next_person", "&Next person", "]", "Select the next person of this video"),
    ActionSpec("previous_person", "&Previous person", "[", "Select the previous person of this video"),
    ActionSpec("rename_person", "&Rename person...", "", "Rename the selected person"),
    ActionSpec("delete_person", "&Delete person", "", "Delete the selected person with its labels and boxes"),
    ActionSpec("swap_persons", "&Swap identities from this frame...", "",
               "Swap the selected person with another from this frame on (labels and boxes)"),
    ActionSpec("set_box", "Box &keyframe here", "B",
               "Make the selected person's box on this frame a keyframe (then drag or resize it)"),
    ActionSpec("remove_box", "Remove box keyframe", "Shift+B", "Remove the selected person's box keyframe here"),
    ActionSpec("draw_box", "&Draw box (drag a rectangle)", "Ctrl+B",
               "Draw the selected person's box on this frame: the next left drag is the rectangle (Ctrl+B again or "
               "Esc stops); Shift+drag draws at any time"),
    # ---- the pose editor's own keys (bound by rpan_studio.views.pose_editor)
    ActionSpec("drag_joint", "", "Left drag",
               "Move a joint (one undo step per drag; right-click while dragging cancels)", "mouse"),
    ActionSpec("select_joint", "", "Left click", "Select a joint", "mouse"),
    ActionSpec("draw_box_drag", "", "Shift+Left drag",
               "Draw the selected person's box: a rectangle on the frame becomes its box keyframe here (one undo "
               "step; also in labeling mode)", "mouse"),
    ActionSpec("next_joint", "", "Tab", "Select the next joint", "editor"),
    ActionSpec("previous_joint", "", "Shift+Tab", "Select the previous joint", "editor"),
    ActionSpec("toggle_visibility", "", "V", "Toggle the selected joint between visible and occluded", "editor"),
    ActionSpec("delete_label", "", "Delete", "Delete the selected joint's label", "editor"),
    ActionSpec("place_joint", "Label missing joints (click each)", "P",
               "Labeling mode: click each missing joint in skeleton order; the joint to place is shown at the "
               "pointer", "editor"),
    ActionSpec("skip_hidden", "Joint not visible (skip)", "O",
               "Labeling mode: mark the joint to place as not visible and go on to the next", "editor"),
    ActionSpec("back_joint", "Back one joint", "Z", "Labeling mode: go back to the previous joint", "editor"),
    ActionSpec("redo_limb", "Place the selected limb again", "Shift+P",
               "Place the selected joint's limb again (shoulder-elbow-wrist or hip-knee-ankle), one click each",
               "editor"),
    ActionSpec("cancel_place", "Stop labeling", "Escape", "Stop placing joints", "editor"),
    ActionSpec("nudge_left", "", "Alt+Left", "Move the selected joint 1 px left (Shift: 10 px)", "editor"),
    ActionSpec("nudge_right", "", "Alt+Right", "Move the selected joint 1 px right (Shift: 10 px)", "editor"),
    ActionSpec("nudge_up", "", "Alt+Up", "Move the selected joint 1 px up (Shift: 10 px)", "editor"),
    ActionSpec("nudge_down", "", "Alt+Down", "Move the selected joint 1 px down (Shift: 10 px)", "editor"),
)

_BY_NAME = {a.name: a for a in ACTIONS}

#: the menus as lists of action names ("-" a separator); File's import/export entries come from the formats registry
MENUS: dict[str, tuple[str, ...]] = {
    "&View": ("play", "step_forward", "step_back", "next_labeled", "prev_labeled", "next_unlabeled",
              "next_lowconf", "goto_frame", "first_frame", "last_frame", "-", "fit_view", "heat", "skeleton", "annotation"),
    "&Persons": ("add_person", "next_person", "previous_person", "rename_person", "delete_person", "-",
                 "swap_persons", "-", "draw_box", "set_box", "remove_box"),
    "&Model": ("analyze", "pose_prior", "model_card", "choose_checkpoint", "choose_flow_checkpoint", "fusion_weights", "-", "train", "compare"),
    "&Help": ("help",),
}


def action(name: str) -> ActionSpec:
    """The row of ``name`` (KeyError for an unknown name)."""
    return _BY_NAME[name]


def shortcut(name: str) -> str:
    """The key sequence of ``name`` (the keys file's, else the table's; KeyError for an unknown name)."""
    return _KEYS.get(name, _BY_NAME[name].keys)


def help_rows() -> list[tuple[str, str]]:
    """(keys, description) for the F1 dialog: every action that has keys, in table order."""
    return [(shortcut(a.name), a.description) for a in ACTIONS if shortcut(a.name)]


# ---------------------------------------------------------------------------- the keys file
#: the keys changed by the settings file (action name -> key sequence), read once at start
_KEYS: dict[str, str] = {}


def keys_file() -> Path:
    """``$RPAN_STUDIO_KEYS``, else ``$XDG_CONFIG_HOME/rpan-studio/keys.json`` (``~/.config/...``)."""
    env = os.environ.get("RPAN_STUDIO_KEYS")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "rpan-studio" / "keys.json"


def load_keys(path: str | os.PathLike | None = None) -> str | None:
    """Read the keys file (``{"action name": "Ctrl+K", ...}``; "" removes a key) into the table's keys.

    Returns None when every entry was used, else ONE message naming each entry that was ignored and
    why (unknown action, unreadable key, a key another action has): the defaults stay for those.
    A missing file is not an error (the defaults apply).
    """
    from PyQt6.QtGui import QKeySequence

    p = Path(path) if path is not None else keys_file()
    _KEYS.clear()
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return f"the keys file {p} is not readable JSON ({exc}); the default keys are used. Fix or delete it"
    if not isinstance(data, dict):
        return f"the keys file {p} must hold one JSON object {{\"action\": \"keys\"}}; the default keys are used"
    bad: list[str] = []
    wanted: dict[str, str] = {}
    for name, keys in data.items():
        spec = _BY_NAME.get(name)
        if spec is None or spec.scope == "mouse":
            bad.append(f"{name!r}: no such action (F1 lists them)")
        elif not isinstance(keys, str):
            bad.append(f"{name!r}: the keys must be a string like \"Ctrl+K\"")
        elif keys and (QKeySequence(keys).isEmpty() or QKeySequence(keys).toString() == ""
                       or "\ufffd" in QKeySequence(keys).toString()):
            bad.append(f"{name!r}: {keys!r} is not a key sequence (write it like \"Ctrl+Shift+K\")")
        else:
            wanted[name] = QKeySequence(keys).toString() if keys else ""
    final = {a.name: wanted.get(a.name, a.keys) for a in ACTIONS if a.scope != "mouse"}
    owner: dict[str, str] = {}
    for name in [n for n in final if n not in wanted] + list(wanted):  # defaults claim first, then the file
        k = final[name]
        if not k:
            continue
        if k in owner and name in wanted:
            bad.append(f"{name!r}: {k} is already the key of {owner[k]!r}; change that one too")
            del wanted[name]
            continue
        owner.setdefault(k, name)
    _KEYS.update(wanted)
    if not bad:
        return None
    return f"the keys file {p} has entries that were ignored (their default keys stay): " + "; ".join(bad)
