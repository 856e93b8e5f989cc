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

        return collate([self.train_ds[i] for i in indices])

    def close(self) -> None:
        self.train_ds.close()
        self.val_ds.close()


def clip_data(trainer: "Trainer", model: Any) -> RunData:
    """The paper's sampling: one clip of T frames per video per epoch (pose-only videos: their labeled frames)."""
    from torch.utils.data import DistributedSampler

    from rpan_core.data import ClipDataset, FeatureCache, check_trainable, collect_items, mean_stride, preload
    from rpan_core.engine.build import backbone_key
    from rpan_core.skeleton import get_skeleton

    tc, project = trainer.tc, trainer.project
    skeleton = get_skeleton(getattr(project.skeleton, "name", project.skeleton))
    classes = list(project.classes)
    snap = project.snapshot()
    try:
        train_items = collect_items(snap, classes, "train", skeleton.num_joints)
        check_trainable(train_items, project.folder)
        splits = {getattr(r, "split", None) for r in snap.videos()}
        val_split = tc.val_split or ("val" if "val" in splits else "test")
        val_items = collect_items(snap, classes, val_split, skeleton.num_joints)
    finally:
        close = getattr(snap, "close", None)
        if close:
            close()
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
        preload(train_items + val_items, input_size)
    kw = dict(T=tc.clip_len, input_size=input_size, grid=tuple(model.grid), skeleton=skeleton, seed=tc.seed,
              sigma_px=tc.sigma_px, cube_cache=cache, flow=flow)
    train_ds = ClipDataset(train_items, train=True, mirror=tc.mirror, **kw)
    val_ds = ClipDataset(val_items, train=False, **kw)
    sampler = DistributedSampler(train_ds, num_replicas=trainer.world, rank=trainer.rank, shuffle=True, seed=tc.seed)
    return RunData(train_ds, val_ds, sampler, int(tc.batch), train_items, val_items, val_split,
                   mean_stride(train_items, tc.clip_len), info)


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


__all__ = ["RunData", "DATA_FACTORIES", "make_data", "clip_data", "flow_adapter"]
