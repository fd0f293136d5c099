"""The training ``Dataset``: label, instance and photo of one sample after the official preprocessing.

Label ids are mapped as the official loaders do: 255 -> ``label_nc`` (the don't-care channel); ADE20K's raw
ids shift by -1 with 0 ("other") -> 255 -> don't care. Instance ids are kept as integers (8-bit and 16-bit maps
alike); without instance maps the label stands in for them (edges = class boundaries), used only when the
options ask for an instance channel the data does not have.

Random crops and flips come from a generator seeded by (seed, epoch, index), so a resumed run or a data
worker draws the same augmentation as an uninterrupted single process would.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset, DistributedSampler

from regionpaint import untrusted
from regionpaint.engines.training.layouts import Sample
from regionpaint.engines.training.options import DONTCARE_ID, TrainOptions
from regionpaint.engines.training.transforms import Params, Preprocess, apply, draw_params
from regionpaint.engines.training.validation import read_label


def preprocess_for(opt: TrainOptions) -> Preprocess:
    """The official training transform; the trainer decides the size multiple and how crops apply."""
    trainer = opt.trainer
    return Preprocess(
        opt.preprocess_mode,
        opt.load_size,
        opt.crop_size,
        opt.aspect_ratio,
        not opt.no_flip,
        trainer.size_multiple(opt),
        trainer.crop_only_if_larger,
    )


def map_label_ids(label: np.ndarray, opt: TrainOptions) -> np.ndarray:
    """Raw file ids -> channel ids (int64): ADE20K shift, then 255 -> label_nc."""
    label = label.astype(np.int64)
    if opt.layout == "ade20k" and not opt.ade20k_raw_ids:
        label = np.where(label == 0, DONTCARE_ID, label - 1)
    label[label == DONTCARE_ID] = int(opt.label_nc or 0)
    return label


def read_rgb(path) -> np.ndarray:
    """The official loader's `Image.open(path).convert("RGB")` (no EXIF orientation, unlike app imports)."""
    with untrusted.open_image(path) as image:
        return np.asarray(image.convert("RGB"))


def read_instance(path) -> np.ndarray:
    with untrusted.open_image(path) as image:
        image.load()
        array = np.asarray(image)
    if array.ndim == 3:  # a colour-coded instance map: one id per colour
        array = array[..., 0].astype(np.int64) << 16 | array[..., 1].astype(np.int64) << 8 | array[..., 2]
    return array.astype(np.int64) if array.dtype != np.uint8 else array


class PairedDataset(Dataset):
    """Items: ``label`` (1, H, W) int64 channel ids, ``instance`` (1, H, W) int64, ``image`` (3, H, W) float
    in [-1, 1], ``index`` int."""

    def __init__(self, samples: Sequence[Sample], opt: TrainOptions, seed: int = 0, train: bool = True) -> None:
        self.samples = list(samples)
        self.opt = opt
        self.pre = preprocess_for(opt)
        self.seed = seed
        self.epoch = 0
        self.train = train

    def __len__(self) -> int:
        return len(self.samples)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def params_for(self, index: int, size_wh: tuple[int, int]) -> Params:
        rng = random.Random(f"{self.seed}:{self.epoch}:{index}")
        return draw_params(self.pre, size_wh, rng)

    def __getitem__(self, index: int) -> dict:
        sample = self.samples[index]
        raw_label = read_label(sample.label)
        params = self.params_for(index, (raw_label.shape[1], raw_label.shape[0]))
        label = apply(self.pre, raw_label, params, self.train)
        if sample.instance is not None:
            instance = apply(self.pre, read_instance(sample.instance), params, self.train)
        else:
            instance = label
        image = apply(self.pre, read_rgb(sample.image), params, self.train)
        photo = torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255.0)  # a writable copy
        return {
            "label": torch.from_numpy(map_label_ids(label, self.opt))[None],  # map_label_ids copies
            "instance": torch.from_numpy(instance.astype(np.int64))[None],
            "image": (photo - 0.5) / 0.5,
            "index": index,
        }


class ResumableSampler(DistributedSampler):
    """DistributedSampler (per-rank shard of a seeded shuffle, epoch by epoch) that can skip the batches of an
    interrupted epoch that were already trained."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int, shuffle: bool = True) -> None:
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=True)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:  # type: ignore[override]
        super().set_epoch(epoch)
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.skip :])

    def __len__(self) -> int:
        return max(0, super().__len__() - self.skip)
