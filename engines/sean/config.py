"""SEAN architecture options, inferred from a checkpoint's tensor shapes (torch-free).

Which source wins:

* Tensor shapes decide everything they determine: ``ngf`` (``fc.weight``), ``semantic_nc`` (``fc`` input
  channels), ``style_length`` (``Zencoder.model.14`` output channels), the number of per-class style
  layers (``fc_mu<j>`` count), spectral norm (``weight_orig`` keys), the inner SPADE norm (buffers or not),
  SPADE kernel sizes, and ``num_upsampling_layers == "most"`` (``up_4`` keys).
* opt.txt decides what shapes cannot: ``normal`` vs ``more`` upsampling, how ``semantic_nc`` splits into
  ``label_nc`` + don't-care + instance channel (used only when opt.txt's split adds up to the shapes'
  ``semantic_nc``; otherwise every channel is a label class), and the preprocessing options
  (``preprocess_mode``, ``load_size``, ``crop_size``, ``aspect_ratio``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from regionpaint.engines.loading.options import opt_bool, opt_float, opt_int, opt_str

log = logging.getLogger(__name__)

BLOCKS = ("head_0", "G_middle_0", "G_middle_1", "up_0", "up_1", "up_2", "up_3")
#: What a style source in each block changes, coarse to fine: the blocks run at 1/32 .. 1/1 of the output
#: size (head_0 at 8x8 for a 256 px face, up_3 at full size), so early blocks set shapes and late ones texture.
BLOCK_TITLES = {
    "head_0": "Coarse shape",
    "G_middle_0": "Large forms",
    "G_middle_1": "Large forms, refined",
    "up_0": "Medium detail",
    "up_1": "Small detail",
    "up_2": "Texture",
    "up_3": "Fine texture",
}
ZENCODER_LAST = "Zencoder.model.14.weight"
_UPSAMPLING_COUNT = {"normal": 5, "more": 6, "most": 7}
_FC_MU = re.compile(r"^head_0\.ace_0\.fc_mu(\d+)\.weight$")


@dataclass(frozen=True)
class SeanConfig:
    """Everything needed to build the generator and preprocess its inputs."""

    ngf: int = 64
    label_nc: int = 19
    contain_dontcare_label: bool = False
    use_instance: bool = False
    style_length: int = 512
    style_classes: int = 19  # fc_mu0..fc_mu<n-1> per ACE (hard-coded 19 in the official code)
    num_upsampling_layers: str = "normal"
    spectral: bool = True
    spade_norm: str = "syncbatch"  # inner ``Spade.param_free_norm`` (its buffers are stored, never used)
    spade_kernel: int = 3
    spade_hidden: int = 128  # Spade mlp_shared width: 128 in the official code, narrower in the demo models
    zencoder_ngf: int = 32
    zencoder_mid: int = 256  # ConvTranspose output channels (hard-coded 256 in the official code)
    crop_size: int = 256
    load_size: int = 256
    aspect_ratio: float = 1.0
    preprocess_mode: str = "resize_and_crop"

    @property
    def semantic_nc(self) -> int:
        return self.label_nc + int(self.contain_dontcare_label) + int(self.use_instance)

    @property
    def num_up_layers(self) -> int:
        return _UPSAMPLING_COUNT[self.num_upsampling_layers]

    @property
    def latent_size(self) -> tuple[int, int]:
        """(sw, sh) of the official ``compute_latent_vector_size``."""
        sw = self.crop_size // 2**self.num_up_layers
        return sw, round(sw / self.aspect_ratio)

    @property
    def output_size(self) -> tuple[int, int]:
        """(W, H) the generator renders with the checkpoint's own options."""
        sw, sh = self.latent_size
        factor = 2**self.num_up_layers
        return sw * factor, sh * factor

    def options(self) -> dict[str, Any]:
        """Options in official opt.txt names, for a safetensors sidecar."""
        out = asdict(self)
        out["no_instance"] = not out.pop("use_instance")
        out["semantic_nc"] = self.semantic_nc
        return out


def looks_like_sean(shapes: Mapping[str, tuple[int, ...]]) -> bool:
    return any(key.startswith("Zencoder.") for key in shapes)


def infer_config(shapes: Mapping[str, tuple[int, ...]], opt: Mapping[str, str], path: object) -> SeanConfig:
    """Build a :class:`SeanConfig` from state-dict shapes plus opt.txt hints (see the module docstring).

    Raises ``ValueError`` (the loader turns it into a CheckpointError naming ``path``) when a key the
    SEAN generator always has is missing.
    """
    for key in ("fc.weight", ZENCODER_LAST, "Zencoder.model.1.weight", "Zencoder.model.10.weight"):
        if key not in shapes:
            raise ValueError(f"{path}: missing key {key!r}; not a SEAN generator (no Zencoder/fc layers)")
    fc = shapes["fc.weight"]
    ngf, semantic_nc = fc[0] // 16, fc[1]
    style_classes = sum(1 for key in shapes if _FC_MU.match(key))
    spade_shared = shapes.get("head_0.ace_0.Spade.mlp_shared.0.weight", (0, 0, 3, 3))
    mode = "most" if any(k.startswith("up_4.") for k in shapes) else opt_str(opt, "num_upsampling_layers", "normal")
    if mode not in _UPSAMPLING_COUNT:
        log.warning("%s: unknown num_upsampling_layers %r in opt.txt; using 'normal'", path, mode)
        mode = "normal"
    if mode == "most" and not any(k.startswith("up_4.") for k in shapes):
        mode = "normal"

    label_nc = opt_int(opt, "label_nc", semantic_nc)
    dontcare = opt_bool(opt, "contain_dontcare_label", False)
    instance = not opt_bool(opt, "no_instance", True)
    if label_nc + int(dontcare) + int(instance) != semantic_nc:
        if opt:
            log.warning(
                "%s: opt.txt (label_nc %d, dontcare %s, instance %s) disagrees with the weights' %d input "
                "channels; treating every channel as a label class",
                path,
                label_nc,
                dontcare,
                instance,
                semantic_nc,
            )
        label_nc, dontcare, instance = semantic_nc, False, False
    return SeanConfig(
        ngf=ngf,
        label_nc=label_nc,
        contain_dontcare_label=dontcare,
        use_instance=instance,
        style_length=shapes[ZENCODER_LAST][0],
        style_classes=style_classes,
        num_upsampling_layers=mode,
        spectral="head_0.conv_0.weight_orig" in shapes,
        spade_norm="syncbatch" if "head_0.ace_0.Spade.param_free_norm.running_mean" in shapes else "instance",
        spade_kernel=spade_shared[-1],
        spade_hidden=spade_shared[0] or 128,
        zencoder_ngf=shapes["Zencoder.model.1.weight"][0],
        zencoder_mid=shapes["Zencoder.model.10.weight"][1],
        crop_size=opt_int(opt, "crop_size", 256),
        load_size=opt_int(opt, "load_size", opt_int(opt, "crop_size", 256)),
        aspect_ratio=opt_float(opt, "aspect_ratio", 1.0),
        preprocess_mode=opt_str(opt, "preprocess_mode", "resize_and_crop"),
    )


def guess_label_set(config: SeanConfig) -> str | None:
    """The label set a checkpoint was most likely trained on, from its class count."""
    return {19: "celebamask-hq", 35: "cityscapes", 150: "ade20k"}.get(config.label_nc)
