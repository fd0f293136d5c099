"""Official SPADE test-time preprocessing of label, instance and photo arrays (numpy, torch-free).

``Pix2pixDataset`` resizes label and instance maps with PIL NEAREST and photos with PIL BICUBIC to the
network input size, then maps label value 255 to ``label_nc`` (the don't-care channel when the checkpoint
has one). The instance map only feeds the edge channel, so its ids are used as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from regionpaint.engines.base import InputError
from regionpaint.engines.inputs import DONTCARE_ID, id_map
from regionpaint.engines.inputs import check_label_ids as check_label_ids_of
from regionpaint.engines.layers.imageops import resize_bicubic, resize_nearest
from regionpaint.engines.spade.config import SpadeConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderSizes:
    """Sizes of one render.

    ``input``: (W, H) the label, instance and photo are resized to; ``latent``: the (sh, sw) grid the
    generator starts from; ``output``: (W, H) of the rendered image.
    """

    input: tuple[int, int]
    latent: tuple[int, int]
    output: tuple[int, int]


def render_sizes(config: SpadeConfig, size: tuple[int, int] | None) -> RenderSizes:
    """Sizes for the checkpoint's own resolution (``size`` None) or a requested (W, H).

    Another size needs W and H divisible by ``2**n`` (n = 5/6/7 for normal/more/most): the latent grid
    becomes (H / 2**n, W / 2**n). A VAE's ``fc`` fixes its grid, so it renders only its own size.
    """
    if size is None:
        return RenderSizes(config.input_size, config.latent_size, config.output_size)
    width, height = (int(v) for v in size)
    step = 2**config.num_up_layers
    if width <= 0 or height <= 0 or width % step or height % step:
        raise InputError(
            f"size {width}x{height}: this SPADE checkpoint (num_upsampling_layers "
            f"{config.num_upsampling_layers}) renders widths and heights that are multiples of {step}, "
            f"e.g. {max(step, width // step * step)}x{max(step, height // step * step)}"
        )
    latent = (height // step, width // step)
    if config.use_vae and latent != config.latent_size:
        out_w, out_h = config.output_size
        raise InputError(
            f"size {width}x{height}: this SPADE VAE checkpoint renders only {out_w}x{out_h} "
            f"(its fc layer fixes the {config.latent_size[1]}x{config.latent_size[0]} latent grid)"
        )
    return RenderSizes((width, height), latent, (width, height))


def check_label_ids(label: np.ndarray, config: SpadeConfig) -> None:
    """Raise InputError naming the ids this checkpoint has no channel for (engines/inputs.py)."""
    dontcare = config.contain_dontcare_label
    check_label_ids_of(label, config.label_nc, "SPADE", dontcare=dontcare, label_set=config.label_set)


def prepare_label(label: np.ndarray, config: SpadeConfig, size: tuple[int, int]) -> np.ndarray:
    """(H, W) class ids -> (h, w) int64 at ``size`` (W, H), PIL NEAREST, 255 -> label_nc."""
    label = id_map(label, "label map", negative_ok=True)
    check_label_ids(label, config)
    resized = resize_nearest(label, size).astype(np.int64)
    resized[resized == DONTCARE_ID] = config.label_nc
    return resized


def prepare_instance(instance: np.ndarray | None, label: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, str]:
    """(H, W) instance ids -> (h, w) int64 at ``size`` (PIL NEAREST), and where they came from.

    Without an instance map the label map stands in ("label"): edges then mark class boundaries, which
    is what a Cityscapes instanceIds map gives for stuff classes; only boundaries between two instances of
    the same class are lost.
    """
    label = np.asarray(label)
    if instance is None:
        log.info("no instance map given: using the label map for the instance edge channel")
        return resize_nearest(label, size).astype(np.int64), "label"
    instance = id_map(instance, "instance map")
    if instance.shape != label.shape:
        raise InputError(
            f"instance map is {instance.shape[1]}x{instance.shape[0]} but the label map is "
            f"{label.shape[1]}x{label.shape[0]}; they must have the same size"
        )
    return resize_nearest(instance, size).astype(np.int64), "request"


def prepare_photo(image: np.ndarray, size: tuple[int, int], what: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (h, w, 3) at ``size`` (W, H) with PIL BICUBIC, as the official loader."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InputError(f"{what} must be an (H, W, 3) uint8 RGB image, got shape {image.shape} {image.dtype}")
    # A writable copy: torch.from_numpy warns on PIL's read-only buffers.
    return np.array(resize_bicubic(image, size))
