"""Distinct-window share of real label maps per feature size, and one SPADE modulation timed plain vs by pattern.

The exact structural SPADE modulation (:mod:`regionpaint.engines.acceleration.region_patterns`) computes once per
distinct 3x3 and 5x5 window of labels; this measures how many there are per pixel on the Cityscapes fixtures (512x256,
the SPADE Cityscapes network size, ``more`` upsampling) and the CelebAMask-HQ label (256x256), and times the
official-width norm at each size both ways (random weights; median of the repeats). It is how ``MAX_PATTERN_SHARE`` (now
only the autotuner's first guess, ``rule_guess``) was chosen on an AMD EPYC.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

from bench.render_speed import median_seconds

NAME = "band_share"
DESCRIPTION = "distinct label windows per pixel on real label maps; one SPADE norm plain vs by pattern (seconds)"

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CITY = SHARED / "fixtures/cityscapes/test_label"
FACE = SHARED / "refs/sean_celebahq/datasets/CelebA-HQ/test/labels_A/28083.png"
# (h, w, norm channels) of norm_0 in each block of the full-size networks.
CITY_LEVELS = ((8, 16, 1024), (16, 32, 1024), (32, 64, 1024), (64, 128, 512), (128, 256, 256), (256, 512, 128))
FACE_LEVELS = ((16, 16, 1024), (32, 32, 1024), (64, 64, 512), (128, 128, 256), (256, 256, 128))


def _labels() -> list[tuple[str, np.ndarray, int, tuple]]:
    from PIL import Image

    found = []
    for path in sorted(CITY.glob("*_labelIds.png"))[:2]:
        label = np.asarray(Image.open(path).resize((512, 256), Image.NEAREST))
        found.append((f"cityscapes {path.name[:22]}", label, 35, CITY_LEVELS))
    if FACE.is_file():
        found.append(
            ("celebamask-hq 28083", np.asarray(Image.open(FACE).resize((256, 256), Image.NEAREST)), 19, FACE_LEVELS)
        )
    return found


def run(args: argparse.Namespace) -> list[dict]:
    import torch

    from regionpaint.engines.acceleration import autotune, region_patterns
    from regionpaint.engines.acceleration.region_patterns import region_layout
    from regionpaint.engines.layers import spade_norm
    from regionpaint.engines.layers.spade_norm import SPADE, resize_segmap

    repeats = max(1, getattr(args, "repeats", 3))
    rows = []
    torch.manual_seed(0)
    for name, label, classes, levels in _labels():
        ids = torch.from_numpy(label.astype(np.int64)).clamp(max=classes - 1)
        seg = torch.zeros(1, classes, *label.shape).scatter_(1, ids[None, None], 1.0)
        for h, w, channels in levels:
            small = resize_segmap(seg, (h, w))
            index = small[0].argmax(0)
            layout = region_layout(index, classes)
            norm = SPADE("spadesyncbatch3x3", channels, classes).eval()
            with torch.inference_mode():
                spade_norm.STRUCTURAL.enabled = False
                plain = median_seconds(lambda n=norm, s=seg, z=(h, w): n.modulation(s, z), repeats, warm_up=True)
                spade_norm.STRUCTURAL.enabled = True
                # always the pattern path (forced past the autotuner, whatever it measured)
                forced = os.environ.get(autotune.FORCE_ENV)
                os.environ[autotune.FORCE_ENV] = "spade_modulation=pattern"
                try:
                    by_pattern = median_seconds(lambda n=norm, s=seg, z=(h, w): n.modulation(s, z), repeats, True)
                finally:
                    if forced is None:
                        del os.environ[autotune.FORCE_ENV]
                    else:
                        os.environ[autotune.FORCE_ENV] = forced
                # Finding the patterns: once per label and feature size, shared by every norm of that size.
                patterns = median_seconds(lambda i=index, k=classes: region_layout(i, k).patterns(2), repeats, True)
            rows.append({
                "label": name, "size": f"{w}x{h}", "channels": channels,
                "pattern_share_5x5": layout.share(2), "pattern_share_3x3": layout.share(1),
                "plain_s": plain, "pattern_s": by_pattern, "speedup": plain / by_pattern, "find_patterns_s": patterns,
                "rule_guess": "pattern" if layout.share(2) <= region_patterns.MAX_PATTERN_SHARE else "plain",
            })  # fmt: skip
    return rows
