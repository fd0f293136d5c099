"""The resolved options of one SPADE checkpoint (torch-free).

A :class:`SpadeConfig` holds every option the generator and encoder need, whether it came from the
tensor shapes, from ``opt.txt`` / a sidecar, or from label-set defaults (see :mod:`regionpaint.engines.spade.loading`).
It also answers the size questions: the latent grid ``(sh, sw)`` and the network's input/output sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NUM_UP_LAYERS = {"normal": 5, "more": 6, "most": 7}


@dataclass(frozen=True)
class EncoderConfig:
    """Options of the official ConvEncoder (``latest_net_E.pth``).

    ``ndf`` is ``ngf`` in the official code (``--nef`` is ignored); ``norm`` is the sub-norm after the conv
    (``instance`` for the default ``norm_E=spectralinstance``, ``batch`` or ``none``).
    """

    ndf: int
    spectral: bool = True
    norm: str = "instance"
    has_layer6: bool = True
    latent_dim: int = 256  # fc_mu / fc_var output width, hard-coded 256 in the official encoder

    @property
    def norm_E(self) -> str:
        return ("spectral" if self.spectral else "") + self.norm


@dataclass(frozen=True)
class SpadeConfig:
    """Architecture and preprocessing options of a SPADE checkpoint.

    Architecture (decided by the tensors): ``ngf``, ``semantic_nc``, ``norm_G``, ``use_vae``, ``z_dim``,
    ``most`` (``up_4`` present). Split of ``semantic_nc`` into label/don't-care/instance channels,
    ``num_upsampling_layers`` normal vs more, ``crop_size`` and ``aspect_ratio`` come from opt.txt when it
    agrees with the tensors, else from label-set defaults (``notes`` records every guess).
    """

    label_nc: int
    contain_dontcare_label: bool
    no_instance: bool
    ngf: int
    num_upsampling_layers: str
    norm_G: str
    use_vae: bool
    z_dim: int
    crop_size: int
    aspect_ratio: float
    preprocess_mode: str = "fixed"
    load_size: int | None = None
    label_set: str | None = None
    encoder: EncoderConfig | None = None
    spade_hidden: int = 128  # SPADE mlp_shared width: 128 in the official code, narrower in the demo models
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def semantic_nc(self) -> int:
        return self.label_nc + int(self.contain_dontcare_label) + int(not self.no_instance)

    @property
    def num_label_channels(self) -> int:
        """One-hot channels: ``label_nc`` (+1 don't-care channel)."""
        return self.label_nc + int(self.contain_dontcare_label)

    @property
    def num_up_layers(self) -> int:
        return NUM_UP_LAYERS[self.num_upsampling_layers]

    @property
    def spectral(self) -> bool:
        return "spectral" in self.norm_G

    @property
    def spade_config(self) -> str:
        """``norm_G`` without ``spectral``, e.g. ``spadesyncbatch3x3``."""
        return self.norm_G.replace("spectral", "")

    @property
    def latent_size(self) -> tuple[int, int]:
        """Official ``compute_latent_vector_size``: (sh, sw) with ``sh = round(sw / aspect_ratio)``."""
        sw = self.crop_size // (2**self.num_up_layers)
        sh = round(sw / self.aspect_ratio)
        return sh, sw

    @property
    def output_size(self) -> tuple[int, int]:
        """(W, H) the generator renders at its own latent grid."""
        sh, sw = self.latent_size
        scale = 2**self.num_up_layers
        return sw * scale, sh * scale

    @property
    def input_size(self) -> tuple[int, int]:
        """(W, H) the official test loader resizes label, instance and photo to.

        ``fixed`` resizes to ``(crop_size, round(crop_size / aspect_ratio))``; the resize modes with the
        official test defaults (``load_size == crop_size``) come down to the same plain resize.
        """
        return self.crop_size, round(self.crop_size / self.aspect_ratio)

    def to_options(self) -> dict[str, Any]:
        """Options in the official names (written to sidecars; read back by :func:`infer_config`)."""
        options: dict[str, Any] = {
            "label_nc": self.label_nc,
            "contain_dontcare_label": self.contain_dontcare_label,
            "no_instance": self.no_instance,
            "semantic_nc": self.semantic_nc,
            "ngf": self.ngf,
            "num_upsampling_layers": self.num_upsampling_layers,
            "norm_G": self.norm_G,
            "use_vae": self.use_vae,
            "z_dim": self.z_dim,
            "crop_size": self.crop_size,
            "aspect_ratio": self.aspect_ratio,
            "preprocess_mode": self.preprocess_mode,
        }
        if self.load_size is not None:
            options["load_size"] = self.load_size
        if self.label_set is not None:
            options["dataset_mode"] = _DATASET_MODES.get(self.label_set, "custom")
        if self.encoder is not None:
            options["norm_E"] = self.encoder.norm_E
        return options


_DATASET_MODES = {"cityscapes": "cityscapes", "ade20k": "ade20k", "coco-stuff": "coco"}
