"""The BiSeNet face-parsing segmenter: CelebAMask-HQ ids from any face photo.

Preprocessing as face-parsing.PyTorch's ``test.py``: resize to 512x512 (bilinear), scale to [0, 1],
ImageNet mean/std. The scores are resized back to the photo's size before the argmax.

The network's class order is the one face-parsing.PyTorch trained with (brows before eyes, hair at 17,
cloth at 16, ...), not CelebAMask-HQ's / SEAN's. :data:`BISENET_TO_CELEBAMASK` maps it by class name:

=====  ==========  ==============
net    name        celebamask-hq
=====  ==========  ==============
0      background  0
1      skin        1
2      l_brow      6
3      r_brow      7
4      l_eye       4
5      r_eye       5
6      eye_g       3
7      l_ear       8
8      r_ear       9
9      ear_r       15
10     nose        2
11     mouth       10
12     u_lip       11
13     l_lip       12
14     neck        17
15     neck_l      16
16     cloth       18
17     hair        13
18     hat         14
=====  ==========  ==============
"""

from __future__ import annotations

from typing import Any

import numpy as np

from regionpaint.engines.segmenters.base import Segmenter

#: face-parsing.PyTorch's class names, by network output index.
BISENET_CLASSES = (
    "background", "skin", "l_brow", "r_brow", "l_eye", "r_eye", "eye_g", "l_ear", "r_ear", "ear_r",
    "nose", "mouth", "u_lip", "l_lip", "neck", "neck_l", "cloth", "hair", "hat",
)  # fmt: skip

#: Network output index -> this project's CelebAMask-HQ id (the table in the module docstring).
BISENET_TO_CELEBAMASK = np.array([0, 1, 6, 7, 4, 5, 3, 8, 9, 15, 2, 10, 11, 12, 17, 16, 18, 13, 14], dtype=np.uint8)

INPUT_SIZE = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class BiSeNetFaceSegmenter(Segmenter):
    id = "bisenet-face"
    display_name = "Face parsing (BiSeNet, CelebAMask-HQ)"
    label_set = "celebamask-hq"
    needs_weights = True
    weights_hint = "face-parsing.PyTorch's 79999_iter.pth"

    def build_network(self) -> Any:
        from regionpaint.engines.segmenters.bisenet.network import FaceBiSeNet

        return FaceBiSeNet()

    def preprocess(self, photo: np.ndarray) -> Any:
        import torch
        from PIL import Image

        resized = np.asarray(Image.fromarray(photo).resize((INPUT_SIZE, INPUT_SIZE), Image.BILINEAR))
        tensor = torch.from_numpy(resized.copy()).permute(2, 0, 1).float().div_(255.0)
        mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
        return ((tensor - mean) / std).unsqueeze(0)

    def postprocess(self, classes: np.ndarray) -> np.ndarray:
        return BISENET_TO_CELEBAMASK[classes]
