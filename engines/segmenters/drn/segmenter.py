"""The DRN-D-105 street segmenter: Cityscapes label ids from a street photo.

This is the network SPADE (Park et al., CVPR 2019) used to score Cityscapes renders (mIoU 62.3,
accuracy 81.9 for SPADE). Preprocessing as fyu/drn's ``segment.py``: scale to [0, 1] and normalise
with the Cityscapes mean/std of its ``info.json``. The scores are resized back to the photo's size
before the argmax.

At which size the network sees the photo is ``segment(size=...)`` (the CLI's ``--size``):

* ``"2048"`` (the default): resized (bilinear) to 2048 pixels wide, keeping its aspect, the scale of the
  full Cityscapes frames the weights were trained and evaluated on. A 512x256 render costs as much as a
  2048x1024 frame (~3.6 TFLOP, minutes on a CPU).
* ``"native"``: the photo as it is, as fyu/drn's ``segment.py test`` runs (1/16 of the work for 512x256);
  objects smaller than the network saw them in training. Photos wider than :data:`MAX_WIDTH` are refused.
* a width in pixels (``"1024"``), from :data:`MIN_WIDTH` to :data:`MAX_WIDTH`.

docs/segmenters.md says why 2048 is the default and what was measured.

The 19 train ids become Cityscapes label ids through the official table (cityscapesScripts
``helpers/labels.py``), :data:`TRAIN_ID_TO_LABEL_ID`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionpaint.engines.segmenters.base import Segmenter

#: Cityscapes train id (0..18) -> label id, from cityscapesScripts helpers/labels.py.
TRAIN_ID_TO_LABEL_ID = np.array(
    [7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33], dtype=np.uint8
)
#: The class names of those train ids (road, sidewalk, ... bicycle).
TRAIN_ID_NAMES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)  # fmt: skip

#: fyu/drn datasets/cityscapes/info.json
CITYSCAPES_MEAN = (0.29010095242892997, 0.32808144844279574, 0.28696394422942517)
CITYSCAPES_STD = (0.1829540508368939, 0.18656561047509476, 0.18447508988480435)
TRAINED_WIDTH = 2048
NATIVE = "native"
# Widths --size may ask for. Below 64 px the stride-8 features are a few cells wide; above 4096 px the
# activations outgrow a desktop's memory (2048x1024 already peaks at ~1.8 GB on a CPU, 4x that at 4096).
MIN_WIDTH, MAX_WIDTH = 64, 4096


class DRNStreetSegmenter(Segmenter):
    id = "drn-d-105"
    display_name = "Street scenes (DRN-D-105, Cityscapes)"
    label_set = "cityscapes"
    needs_weights = True
    weights_hint = "fyu/drn's drn_d_105 Cityscapes DRNSeg weights (.pth)"
    # The SPADE protocol scores the 19 evaluated Cityscapes classes; every other label id is ignored.
    eval_ids = tuple(int(i) for i in TRAIN_ID_TO_LABEL_ID)
    sizes = (str(TRAINED_WIDTH), NATIVE)
    #: Width photos are resized to by default (the scale the weights were trained at).
    input_width = TRAINED_WIDTH

    @classmethod
    def size_error(cls, size: str) -> str:
        if size == NATIVE or (size.isdigit() and MIN_WIDTH <= int(size) <= MAX_WIDTH):
            return ""
        return (
            f"segmenter {cls.id} takes {NATIVE} (the photo's own size) or a width in pixels from {MIN_WIDTH} "
            f"to {MAX_WIDTH} (default {cls.sizes[0]})"
        )

    def build_network(self) -> Any:
        from regionpaint.engines.segmenters.drn.network import DRNSegmentation

        return DRNSegmentation()

    def preprocess(self, photo: np.ndarray, size: str | None = None) -> Any:
        import torch
        from PIL import Image

        from regionpaint.engines.base import InputError

        height, width = photo.shape[:2]
        target = self.input_width if size is None else width if size == NATIVE else int(size)
        if size == NATIVE and width > MAX_WIDTH:
            raise InputError(
                f"photo of {width}x{height} pixels is wider than {MAX_WIDTH} for --size {NATIVE} "
                f"(use --size {TRAINED_WIDTH})"
            )
        if width != target:
            resized = (target, max(8, round(height * target / width)))
            photo = np.asarray(Image.fromarray(photo).resize(resized, Image.BILINEAR))
        tensor = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float().div_(255.0)
        mean = torch.tensor(CITYSCAPES_MEAN).view(3, 1, 1)
        std = torch.tensor(CITYSCAPES_STD).view(3, 1, 1)
        return ((tensor - mean) / std).unsqueeze(0)

    def postprocess(self, classes: np.ndarray) -> np.ndarray:
        return TRAIN_ID_TO_LABEL_ID[classes]
