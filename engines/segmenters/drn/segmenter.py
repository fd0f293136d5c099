"""The DRN-D-105 street segmenter: Cityscapes label ids from a street photo.

This is the network SPADE (Park et al., CVPR 2019) used to score Cityscapes renders (mIoU 62.3,
accuracy 81.9 for SPADE). Preprocessing as fyu/drn's ``segment.py``: scale to [0, 1] and normalise
with the Cityscapes mean/std of its ``info.json``. The weights were trained on full 2048x1024 frames,
so a photo is first resized (bilinear) to 2048 pixels wide, keeping its aspect; the scores are
resized back to the photo's size before the argmax.

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


class DRNStreetSegmenter(Segmenter):
    id = "drn-d-105"
    display_name = "Street scenes (DRN-D-105, Cityscapes)"
    label_set = "cityscapes"
    needs_weights = True
    weights_hint = "fyu/drn's drn_d_105 Cityscapes DRNSeg weights (.pth)"
    # The SPADE protocol scores the 19 evaluated Cityscapes classes; every other label id is ignored.
    eval_ids = tuple(int(i) for i in TRAIN_ID_TO_LABEL_ID)
    #: Width photos are resized to before the network (the scale the weights were trained at).
    input_width = TRAINED_WIDTH

    def build_network(self) -> Any:
        from regionpaint.engines.segmenters.drn.network import DRNSegmentation

        return DRNSegmentation()

    def preprocess(self, photo: np.ndarray) -> Any:
        import torch
        from PIL import Image

        height, width = photo.shape[:2]
        if width != self.input_width:
            size = (self.input_width, max(8, round(height * self.input_width / width)))
            photo = np.asarray(Image.fromarray(photo).resize(size, Image.BILINEAR))
        tensor = torch.from_numpy(np.array(photo)).permute(2, 0, 1).float().div_(255.0)
        mean = torch.tensor(CITYSCAPES_MEAN).view(3, 1, 1)
        std = torch.tensor(CITYSCAPES_STD).view(3, 1, 1)
        return ((tensor - mean) / std).unsqueeze(0)

    def postprocess(self, classes: np.ndarray) -> np.ndarray:
        return TRAIN_ID_TO_LABEL_ID[classes]
