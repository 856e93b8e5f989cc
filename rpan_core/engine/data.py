"""What a run trains and validates on: items from the project, datasets, the sampler.

Why a factory with a table: the paper's recipe samples one clip per video per epoch,
while other recipes (few labeled keyframes, cached frozen features, augmentation) need
other datasets. :data:`DATA_FACTORIES` maps a training preset to a function building
the run's :class:`RunData`; the loop only asks it for batches, so a recipe plugs in
here without a second training loop.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from rpan_core.errors import TrainingError

if TYPE_CHECKING:
    from rpan_core.engine.loop import Trainer


@dataclass
class RunData:
    """The datasets of a run and how its batches are drawn (per rank under DDP)."""

    train_ds: Any
    val_ds: Any
    sampler: Any  # a DistributedSampler over train_ds (one rank's share, reshuffled per epoch)
    batch: int
    train_items: list = field(default_factory=list)
    val_items: list = field(default_factory=list)
    val_split: str = ""
    stride: int = 1
    info: dict[str, Any] = field(default_factory=dict)  # extra train_config entries (e.g. flow parameters)
    #: a recipe's own batching / validation (e.g. cached features of augmented crops); None: the clip defaults
    collate_fn: Callable[[list], dict] | None = None
    validate_fn: Callable[[Any], dict] | None = None
    measures: dict[str, bool] | None = None  # what validate_fn measures ({"accuracy": .., "pck": ..})

    @property
    def pose_only(self) -> bool:
        """No training video carries an action label: only the pose attention learns (the action loss is masked)."""
        return not any(it.action >= 0 for it in self.train_items)

    @property
    def held_out(self) -> dict[str, bool]:
        """What the validation set can measure: ``accuracy`` (action labels), ``pck`` (pose labels)."""
        if self.measures is not None:
            return dict(self.measures)
        return {"accuracy": any(it.action >= 0 for it in self.val_items),
                "pck": any(len(it.label_frames) for it in self.val_items)}

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(len(self.sampler) / self.batch))

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        """The sample indices of each batch of ``epoch``: a pure function of (seed, epoch), so resume is exact."""
        self.sampler.set_epoch(epoch)
        self.train_ds.set_epoch(epoch)
        order = list(iter(self.sampler))
        return [order[i:i + self.batch] for i in range(0, len(order), self.batch)]

    def collate(self, indices: list[int]) -> dict:
        from rpan_core.data import collate

        return (self.collate_fn or collate)([self.train_ds[i] for i in indices])

    def close(self) -> None:
        self.train_ds.close()
        self.val_ds.close()


class DrawnClips:
    """The training samples of an epoch: which clips of which videos.

    The paper draws one clip per video per epoch, which is right for action videos but
    makes an "epoch" of two sparsely labeled videos a single optimizer step. Here a
    pose-only video gives one clip per ``T`` of its labeled frames (each drawn with its
    own random numbers), and an epoch holds at least one full batch, so the number of
    steps follows the labels, not the number of videos.
    """

    def __init__(self, ds: Any, T: int, batch: int) -> None:
        self.ds = ds
        counts = [1 if it.action >= 0 else max(1, int(round(len(it.label_frames) / T))) for it in ds.items]
        self.index = [(i, d) for i, n in enumerate(counts) for d in range(n)]
        k = 0
        while self.index and len(self.index) < batch:  # fewer clips than one batch: draw more of the same videos
            i = k % len(counts)
            self.index.append((i, counts[i]))
            counts[i] += 1
            k += 1

    @property
    def items(self) -> list:
        return self.ds.items

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, j: int) -> dict:
        return self.ds[self.index[j]]

    def set_epoch(self, epoch: int) -> None:
        self.ds.set_epoch(epoch)

    def close(self) -> None:
        self.ds.close()


def hold_out_frames(items: list, share: float) -> tuple[list, list]:
    """(training items, validation items): every video keeps ``1 - share`` of its labeled frames for training.

    The held-out frames are spread evenly over each video's labeled frames (deterministic, so a
    resumed run holds out the same ones); a held-out copy carries no action label, so it
    measures the pose only.
    """
    import dataclasses as dc

    import numpy as np

    from rpan_core.model_card import held_out_count

    train, val = [], []
    for it in items:
        n = len(it.label_frames)
        m = held_out_count(n, share)
        if m == 0:
            train.append(it)
            continue
        pick = np.unique(np.floor((np.arange(m) + 0.5) * n / m).astype(int).clip(0, n - 1))
        keep = np.setdiff1d(np.arange(n), pick)
        train.append(dc.replace(it, label_frames=it.label_frames[keep], xy=it.xy[keep], visible=it.visible[keep],
                                labeled=it.labeled[keep]))
        val.append(dc.replace(it, action=-1, label_frames=it.label_frames[pick], xy=it.xy[pick],
                              visible=it.visible[pick], labeled=it.labeled[pick]))
    return train, val


def clip_data(trainer: "Trainer", model: Any) -> RunData:
    """The paper's sampling (one clip of T frames per action video per epoch) with :class:`DrawnClips` for
    pose-only videos; validation on the validation split, else on labeled frames held out of training."""
    from torch.utils.data import DistributedSampler

    from rpan_core.data import ClipDataset, FeatureCache, check_trainable, collect_items, mean_stride
    from rpan_core.engine.build import backbone_key
    from rpan_core.skeleton import get_skeleton

    tc, project = trainer.tc, trainer.project
    skeleton = get_skeleton(getattr(project.skeleton, "name", project.skeleton))
    classes = list(project.classes)
    snap = project.snapshot()
    # a video of several persons: one sample per person, on crops around its boxes (not for the flow stream,
    # whose input is the whole frame's optical flow)
    persons = tc.stream != "flow"
    try:
        train_items = collect_items(snap, classes, "train", skeleton.num_joints, persons=persons)
        check_trainable(train_items, project.folder)
        splits = {getattr(r, "split", None) for r in snap.videos()}
        val_split = tc.val_split or ("val" if "val" in splits else "test")
        val_items = collect_items(snap, classes, val_split, skeleton.num_joints, persons=persons)
    finally:
        close = getattr(snap, "close", None)
        if close:
            close()
    if not val_items and tc.val_split is None and tc.holdout > 0:  # a split named on purpose is not overridden
        train_items, val_items = hold_out_frames(train_items, tc.holdout)
        if val_items:
            n = sum(len(it.label_frames) for it in val_items)
            val_split = f"held-out frames ({n} of the training videos' labeled frames)"
    cropped = [it for it in train_items if it.cropped]
    if cropped:
        trainer.say(f"{len(cropped)} persons of {len({it.video_id for it in cropped})} videos with several persons "
                    "train on crops around their boxes, one sample each")
    input_size, info = tuple(model.cfg.input_size), {}
    cache = flow = None
    if tc.stream == "flow":
        flow = flow_adapter(trainer, train_items + val_items, input_size)
        info["flow"] = dataclasses.asdict(flow.params)
    elif tc.freeze_backbone:
        for name, p in model.named_parameters():
            if name.startswith("backbone"):
                p.requires_grad_(False)
        model.eval()
        folder = Path(project.folder) / "features" / backbone_key(model, model.cfg)
        if trainer.world > 1:  # ranks fill their own files: no two processes create the same memmap
            folder = folder / f"rank{trainer.rank}"
        cache = FeatureCache(folder, model, trainer.device, input_size)
    elif tc.preload:
        preload_shared(train_items, val_items, input_size)
    kw = dict(T=tc.clip_len, input_size=input_size, grid=tuple(model.grid), skeleton=skeleton, seed=tc.seed,
              sigma_px=tc.sigma_px, cube_cache=cache, flow=flow)
    train_ds = DrawnClips(ClipDataset(train_items, train=True, mirror=tc.mirror, **kw), tc.clip_len, tc.batch)
    val_ds = ClipDataset(val_items, train=False, **kw)
    sampler = DistributedSampler(train_ds, num_replicas=trainer.world, rank=trainer.rank, shuffle=True, seed=tc.seed)
    return RunData(train_ds, val_ds, sampler, int(tc.batch), train_items, val_items, val_split,
                   mean_stride(train_items, tc.clip_len), info)


def preload_shared(train_items: list, val_items: list, input_size: tuple[int, int]) -> None:
    """Decode each video once into RAM, also when its held-out copy is a second item of the same video."""
    from rpan_core.data import preload

    first = {}
    whole = [it for it in train_items + val_items if not it.cropped]  # a person's crops are cut when sampled
    for it in whole:
        first.setdefault(it.video_id, it)
    if preload(list(first.values()), input_size):
        for it in whole:
            src = first[it.video_id]
            it.frames, it.frame_count, it.height, it.width = src.frames, src.frame_count, src.height, src.width


def flow_adapter(trainer: "Trainer", items: list, input_size: tuple[int, int]) -> Any:
    """Flow for every video of the run, computed (or found) in the project's flow cache first."""
    from rpan_core.flow import FlowClipAdapter, FlowParams, compute_flow

    params = FlowParams(**dict(trainer.tc.extra.get("flow") or {}))
    folder = Path(trainer.project.flow_dir)
    adapter = FlowClipAdapter(folder, input_size, params)
    t0, computed = time.time(), 0
    for it in items:
        if trainer.stop_reason:
            raise TrainingError(f"{trainer.stop_reason} while computing optical flow (finished videos stay cached)")
        vol = compute_flow(it.path, folder, params)
        adapter._volumes[str(it.path)] = vol
        computed += vol.computed_pairs
    trainer.say(f"optical flow for {len(items)} videos ({params.effective_method}, {computed} frame pairs "
                f"computed, the rest cached) in {time.time() - t0:.1f} s")
    return adapter


#: training preset -> ``fn(trainer, model) -> RunData``; presets not listed use :func:`clip_data`.
DATA_FACTORIES: dict[str, Callable[["Trainer", Any], RunData]] = {}


def make_data(trainer: "Trainer", model: Any) -> RunData:
    return DATA_FACTORIES.get(trainer.tc.preset, clip_data)(trainer, model)


__all__ = ["RunData", "DrawnClips", "DATA_FACTORIES", "make_data", "clip_data", "hold_out_frames", "flow_adapter"]
