"""Joint sets the project understands, and how they relate.

Everything that indexes joints (the model's per-joint attention, the targets,
the importers, the pose editor) takes its order from here, so a dataset's own
order is written down exactly once.

Orders:

* PennAction (13): the dataset's README lists "1. head, 2. left_shoulder,
  3. right_shoulder, 4. left_elbow, 5. right_elbow, 6. left_wrist,
  7. right_wrist, 8. left_hip, 9. right_hip, 10. left_knee, 11. right_knee,
  12. left_ankle, 13. right_ankle": left before right. We follow the README,
  not the public code that reads it the other way round.
* JHMDB (15): ``joint_positions.mat`` order: neck, belly, head, right/left
  shoulder, right/left hip, right/left elbow, right/left knee, right/left
  wrist, right/left ankle (right before left).
* COCO (17): the keypoint order of the COCO person category.

Body parts follow the paper (Fig. 3): Torso (head, shoulders, hips, and
JHMDB's neck and belly; COCO's face points), Elbow, Wrist, Knee, Ankle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PARTS: tuple[str, ...] = ("torso", "elbow", "wrist", "knee", "ankle")


class SkeletonError(ValueError):
    """A skeleton name or a joint mapping that does not exist."""


@dataclass(frozen=True)
class Skeleton:
    """A named joint set with drawing edges, mirror pairs and body parts."""

    name: str
    joints: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    mirror_pairs: tuple[tuple[int, int], ...]
    joint_part: tuple[int, ...]  # index into PARTS for each joint
    parts: tuple[str, ...] = PARTS
    _flip: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        n = len(self.joints)
        if len(self.joint_part) != n:
            raise SkeletonError(f"{self.name}: joint_part has {len(self.joint_part)} entries for {n} joints")
        flip = list(range(n))
        for a, b in self.mirror_pairs:
            flip[a], flip[b] = b, a
        object.__setattr__(self, "_flip", tuple(flip))

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def num_parts(self) -> int:
        return len(self.parts)

    @property
    def flip_index(self) -> tuple[int, ...]:
        """Permutation that swaps left and right joints (for mirror augmentation)."""
        return self._flip

    def index(self, joint: str) -> int:
        try:
            return self.joints.index(joint)
        except ValueError:
            raise SkeletonError(f"skeleton {self.name!r} has no joint {joint!r}; joints: {', '.join(self.joints)}") from None

    def part_of(self, joint: int | str) -> str:
        j = self.index(joint) if isinstance(joint, str) else joint
        return self.parts[self.joint_part[j]]

    def joints_of_part(self, part: str) -> list[int]:
        if part not in self.parts:
            raise SkeletonError(f"no body part {part!r}; parts: {', '.join(self.parts)}")
        p = self.parts.index(part)
        return [j for j, q in enumerate(self.joint_part) if q == p]

    def part_matrix(self) -> np.ndarray:
        """``P x J`` 0/1 membership matrix (used to vectorize part pooling)."""
        m = np.zeros((self.num_parts, self.num_joints), dtype=np.float32)
        m[list(self.joint_part), list(range(self.num_joints))] = 1.0
        return m

    def flip_xy(self, xy: np.ndarray, width: float) -> np.ndarray:
        """Mirror ``... x J x 2`` pixel coordinates horizontally and swap left/right."""
        out = np.array(xy, dtype=np.float64, copy=True)[..., list(self._flip), :]
        out[..., 0] = (width - 1) - out[..., 0]
        return out


def _idx(joints: tuple[str, ...], pairs: list[tuple[str, str]]) -> tuple[tuple[int, int], ...]:
    return tuple((joints.index(a), joints.index(b)) for a, b in pairs)


def _parts(joints: tuple[str, ...]) -> tuple[int, ...]:
    out = []
    for name in joints:
        for p, part in enumerate(PARTS[1:], start=1):
            if name.endswith(part):
                out.append(p)
                break
        else:
            out.append(0)  # head, shoulders, hips, neck, belly, face points
    return tuple(out)


_LR = ["shoulder", "elbow", "wrist", "hip", "knee", "ankle"]

_PENN = (
    "head",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
)
_ARMS_LEGS = [
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
]
_LIMBS = [
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
] + _ARMS_LEGS
PENNACTION = Skeleton(
    name="pennaction",
    joints=_PENN,
    edges=_idx(_PENN, [("head", "left_shoulder"), ("head", "right_shoulder")] + _LIMBS),
    mirror_pairs=_idx(_PENN, [(f"left_{j}", f"right_{j}") for j in _LR]),
    joint_part=_parts(_PENN),
)

_JHMDB = (
    "neck", "belly", "head",
    "right_shoulder", "left_shoulder",
    "right_hip", "left_hip",
    "right_elbow", "left_elbow",
    "right_knee", "left_knee",
    "right_wrist", "left_wrist",
    "right_ankle", "left_ankle",
)
JHMDB = Skeleton(
    name="jhmdb",
    joints=_JHMDB,
    edges=_idx(_JHMDB, [
        ("head", "neck"), ("neck", "belly"),
        ("neck", "left_shoulder"), ("neck", "right_shoulder"),
        ("belly", "left_hip"), ("belly", "right_hip"),
    ] + _ARMS_LEGS),
    mirror_pairs=_idx(_JHMDB, [(f"left_{j}", f"right_{j}") for j in _LR]),
    joint_part=_parts(_JHMDB),
)

_COCO = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
)
COCO = Skeleton(
    name="coco",
    joints=_COCO,
    edges=_idx(_COCO, [
        ("nose", "left_eye"), ("nose", "right_eye"),
        ("left_eye", "left_ear"), ("right_eye", "right_ear"),
    ] + _LIMBS),
    mirror_pairs=_idx(_COCO, [(f"left_{j}", f"right_{j}") for j in ["eye", "ear"] + _LR]),
    joint_part=_parts(_COCO),
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (PENNACTION, JHMDB, COCO)}

# Joints that correspond across sets without sharing a name.
_ALIASES: dict[tuple[str, str], dict[str, str]] = {
    ("pennaction", "coco"): {"head": "nose"},
}


def get_skeleton(name: str | Skeleton) -> Skeleton:
    """Look a skeleton up by name (``pennaction``, ``jhmdb``, ``coco``)."""
    if isinstance(name, Skeleton):
        return name
    try:
        return SKELETONS[name.lower()]
    except KeyError:
        raise SkeletonError(f"unknown skeleton {name!r}; choose one of: {', '.join(SKELETONS)}") from None


def joint_mapping(src: str | Skeleton, dst: str | Skeleton, *, aliases: bool = False) -> list[tuple[int, int]]:
    """Pairs ``(i_src, i_dst)`` of joints that are the same body point in both sets.

    Joints match by name. With ``aliases=True`` approximate correspondences are
    added too (PennAction's head -> COCO's nose); importers that must not lose
    data (COCO export keeps PennAction's head as an extra joint) leave it off.
    """
    s, d = get_skeleton(src), get_skeleton(dst)
    pairs = [(i, d.joints.index(n)) for i, n in enumerate(s.joints) if n in d.joints]
    if aliases:
        table = dict(_ALIASES.get((s.name, d.name), {}))
        table.update({b: a for a, b in _ALIASES.get((d.name, s.name), {}).items()})
        for a, b in table.items():
            if a in s.joints and b in d.joints:
                pair = (s.joints.index(a), d.joints.index(b))
                if pair not in pairs:
                    pairs.append(pair)
    return sorted(pairs)


def joint_aliases(skeleton: str | Skeleton) -> dict[str, str]:
    """Other joint sets' names that stand for one of ``skeleton``'s joints: ``{other name: our joint}``.

    For PennAction this is ``{"nose": "head"}``: a COCO file's nose is the best
    point it has for PennAction's head, so importers map it there (when the file
    does not name ``head`` itself).
    """
    s = get_skeleton(skeleton)
    out: dict[str, str] = {}
    for (a, b), table in _ALIASES.items():
        for ours, theirs in table.items():
            if a == s.name and ours in s.joints:
                out.setdefault(theirs, ours)
        if b == s.name:
            for theirs, ours in table.items():
                if ours in s.joints:
                    out.setdefault(theirs, ours)
    return {k: v for k, v in out.items() if k not in s.joints}


def convert_pose(xy: np.ndarray, visible: np.ndarray, src: str | Skeleton, dst: str | Skeleton,
                 *, aliases: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Map ``... x Js x 2`` coordinates and visibility to another joint set.

    Joints with no counterpart come out as NaN and not visible.
    """
    s, d = get_skeleton(src), get_skeleton(dst)
    xy = np.asarray(xy, dtype=np.float64)
    visible = np.asarray(visible, dtype=bool)
    out_xy = np.full(xy.shape[:-2] + (d.num_joints, 2), np.nan)
    out_v = np.zeros(visible.shape[:-1] + (d.num_joints,), dtype=bool)
    for i, j in joint_mapping(s, d, aliases=aliases):
        out_xy[..., j, :] = xy[..., i, :]
        out_v[..., j] = visible[..., i]
    return out_xy, out_v
