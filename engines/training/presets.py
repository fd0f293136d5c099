"""The official defaults per engine and the dataset presets per layout (torch-free).

``ENGINE_DEFAULTS``: what differs from NVlabs/SPADE's ``train_options.py`` in ZPdesu/SEAN's and NVIDIA/pix2pixHD's
(their ``opt.txt`` defaults). ``PRESETS[layout][family]``: the official dataset classes' ``set_defaults``
(``CityscapesDataset``, ``ADE20KDataset``, ``CocoDataset``, ``CustomDataset``; SEAN's CelebAMask-HQ recipe), for
the SPADE family (SPADE, SEAN) and for pix2pixHD. ``label_nc`` None: taken from the data.
"""

from __future__ import annotations

from typing import Any

ENGINE_DEFAULTS: dict[str, dict[str, Any]] = {
    "spade": {},
    # ZPdesu/SEAN forked NVlabs/SPADE before its discriminator got 4 layers; niter_decay 50 in its opt.txt.
    "sean": {"n_layers_D": 3, "niter_decay": 50, "lambda_kld": 0.005},
    "pix2pixhd": {
        "n_layers_D": 3,
        "niter": 100,
        "niter_decay": 100,
        "gan_mode": "ls",
        "preprocess_mode": "scale_width",
        "load_size": 1024,
        "crop_size": 512,
        "label_nc": 35,
    },
}

# The official dataset classes' set_defaults, per engine family ("spade" covers SEAN).
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "cityscapes": {
        "spade": {
            "preprocess_mode": "fixed",
            "load_size": 512,
            "crop_size": 512,
            "aspect_ratio": 2.0,
            "label_nc": 35,
            "num_upsampling_layers": "more",
        },
        "pix2pixhd": {"label_nc": 35},
    },
    "ade20k": {
        "spade": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 286,
            "crop_size": 256,
            "label_nc": 150,
            "contain_dontcare_label": True,
            "no_instance": True,
        },
        "pix2pixhd": {"label_nc": 150, "contain_dontcare_label": True, "no_instance": True},
    },
    "coco-stuff": {
        "spade": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 286,
            "crop_size": 256,
            "label_nc": 182,
            "contain_dontcare_label": True,
        },
        "pix2pixhd": {"label_nc": 182, "contain_dontcare_label": True},
    },
    "celebamask-hq": {
        "spade": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 256,
            "crop_size": 256,
            "label_nc": 19,
            "no_instance": True,
        },
        "pix2pixhd": {
            "preprocess_mode": "resize_and_crop",
            "load_size": 256,
            "crop_size": 256,
            "label_nc": 19,
            "no_instance": True,
        },
    },
    "custom": {
        "spade": {"preprocess_mode": "resize_and_crop", "load_size": 286, "crop_size": 256, "label_nc": None},
        "pix2pixhd": {"label_nc": None},
    },
}
PRESETS["flat"] = PRESETS["custom"]
