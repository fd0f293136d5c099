"""Every architectural option of a pix2pixHD checkpoint, read from state-dict shapes (torch-free).

The tensors are the authority: opt.txt is only used for what shapes cannot tell apart (how the
generator's input channels split into labels, instance edge and features). When opt.txt is absent or
its numbers do not add up to the input width, the split is guessed (see :func:`resolve_inputs`).

Official key layout (``nn.Sequential`` indices):

* global: ``model.1`` Conv7x7(in->ngf), ``model.4, 7, ...`` n_down x Conv3x3 s2,
  ``model.K.conv_block.{1,5}`` n_blocks ResnetBlocks, n_down x ConvTranspose3x3, final Conv7x7(->3).
* local: ``model.*`` = global(ngf * 2**L) minus its last 3 layers; for n in 1..L
  ``model{n}_1.{1,4}`` (Conv7x7, Conv3x3 s2) and ``model{n}_2.{0..B-1}.conv_block``, ConvT, and for n == L
  the final ``model{L}_2.{B+4}`` Conv7x7(ngf->3).
* encoder: like global without ResnetBlocks, ``model.1`` Conv7x7(3->nef) ... final Conv7x7(->feat_num).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.options import opt_bool, opt_int

log = logging.getLogger(__name__)

Shapes = Mapping[str, tuple[int, ...]]

# label_nc of the label sets pix2pixHD is used with (with and without an "unlabeled" id).
KNOWN_LABEL_COUNTS: dict[int, str] = {
    35: "cityscapes",
    150: "ade20k",
    151: "ade20k",
    182: "coco-stuff",
    183: "coco-stuff",
    184: "coco-stuff",
    19: "celebamask-hq",
}

# (label_nc, instance edge) splits tried in order when guessing: Cityscapes and COCO have instance
# maps, ADE20K and CelebAMask-HQ do not (so 151 channels read as 151 labels, not 150 + edge).
_GUESS_ORDER: tuple[tuple[int, bool], ...] = (
    (35, True),
    (35, False),
    (19, False),
    (19, True),
    (151, False),
    (150, False),
    (150, True),
    (182, True),
    (183, True),
    (182, False),
    (183, False),
    (184, False),
)

_LAYER_KEY = re.compile(r"^(\d+)\.(.+)$")
_LOCAL_PREFIX = re.compile(r"^model(\d+)_([12])\.")


@dataclass(frozen=True)
class GeneratorArch:
    """netG options. ``ngf`` is the official ``--ngf`` (for ``local`` the global part has ngf * 2**L)."""

    netG: str  # "global" or "local"
    input_nc: int
    ngf: int
    n_downsample_global: int
    n_blocks_global: int
    n_local_enhancers: int  # 0 for "global"
    n_blocks_local: int  # 0 for "global"
    norm: str  # "instance" or "batch"
    output_nc: int = 3

    @property
    def ngf_global(self) -> int:
        return self.ngf * 2**self.n_local_enhancers

    @property
    def size_base(self) -> int:
        """Sizes that run through every down/up path unchanged are multiples of this (``__make_power_2``)."""
        return 2**self.n_downsample_global * 2**self.n_local_enhancers


@dataclass(frozen=True)
class EncoderArch:
    """netE options (official ``define_G(output_nc, feat_num, nef, 'encoder', n_downsample_E)``)."""

    input_nc: int
    feat_num: int
    nef: int
    n_downsample_E: int
    norm: str


@dataclass(frozen=True)
class InputLayout:
    """How the generator's input channels split: one-hot labels, [edge], [features]."""

    label_nc: int
    instance_edge: bool
    feat_num: int  # 0: no feature channels
    feature_ids: str = "instance"  # "label" with --label_feat (features averaged per class)
    guessed: bool = False

    @property
    def channels(self) -> int:
        return self.label_nc + int(self.instance_edge) + self.feat_num


def label_set_from_count(label_nc: int) -> str | None:
    return KNOWN_LABEL_COUNTS.get(label_nc)


def _layers(shapes: Shapes, prefix: str) -> dict[int, dict[str, tuple[int, ...]]]:
    """``{index: {rest_of_key: shape}}`` for keys ``<prefix>.<index>.<rest>``."""
    layers: dict[int, dict[str, tuple[int, ...]]] = {}
    for key, shape in shapes.items():
        if not key.startswith(prefix + "."):
            continue
        match = _LAYER_KEY.match(key[len(prefix) + 1 :])
        if match:
            layers.setdefault(int(match.group(1)), {})[match.group(2)] = tuple(shape)
    return layers


def _plain_convs(layers: Mapping[int, Mapping[str, tuple[int, ...]]]) -> list[tuple[int, tuple[int, ...]]]:
    """(index, weight shape) of the conv layers that are not inside a ResnetBlock, by index."""
    found = [(idx, leaves["weight"]) for idx, leaves in layers.items() if len(leaves.get("weight", ())) == 4]
    return sorted(found)


def _block_count(layers: Mapping[int, Mapping[str, tuple[int, ...]]]) -> int:
    return sum(1 for leaves in layers.values() if any(name.startswith("conv_block.") for name in leaves))


def _norm_kind(shapes: Shapes) -> str:
    # norm=batch is BatchNorm2d(affine=True) with running stats; norm=instance has no keys at all.
    return "batch" if any(key.endswith("running_mean") for key in shapes) else "instance"


def _count_downsampling(convs: list[tuple[int, tuple[int, ...]]], source: str, what: str) -> int:
    # Every 3x3 conv outside the ResnetBlocks is a stride-2 down conv or its mirrored ConvTranspose.
    n_3x3 = sum(1 for _, shape in convs if shape[2:] == (3, 3))
    if n_3x3 % 2:
        raise CheckpointError(
            f"{source}: {what} has {n_3x3} 3x3 convolutions outside its ResnetBlocks (expected pairs)"
        )
    return n_3x3 // 2


def is_pix2pixhd_keys(keys: list[str]) -> bool:
    """Keys are all official Sequential-style pix2pixHD generator keys (``model.N.*``, ``modelN_M.*``)."""
    if "model.1.weight" not in keys and not any(k.startswith("model1_1.") for k in keys):
        return False
    return all(re.match(r"^model(\d+_[12])?\.\d+\.", key) for key in keys)


def infer_generator(shapes: Shapes, source: str) -> GeneratorArch:
    """Read netG, ngf, n_downsample_global, n_blocks_*, n_local_enhancers, norm from the shapes."""
    if "model.1.weight" not in shapes:
        first = next(iter(shapes), None)
        raise CheckpointError(f"{source}: not a pix2pixHD generator (no 'model.1.weight' key; first key is {first!r})")
    try:
        layers = _layers(shapes, "model")
        first_conv = shapes["model.1.weight"]
        if len(first_conv) != 4 or first_conv[2:] != (7, 7):
            raise CheckpointError(f"{source}: 'model.1.weight' has shape {first_conv}, expected a 7x7 conv")
        ngf_global, input_nc = first_conv[0], first_conv[1]
        convs = _plain_convs(layers)
        n_down = _count_downsampling(convs, source, "the global generator")
        n_blocks = _block_count(layers)
        norm = _norm_kind(shapes)
        n_local = 0
        while f"model{n_local + 1}_1.1.weight" in shapes:
            n_local += 1
        if n_local == 0:
            stray = next((k for k in shapes if _LOCAL_PREFIX.match(k)), None)
            if stray is not None:
                raise CheckpointError(f"{source}: local enhancer key {stray!r} without 'model1_1.1.weight'")
            return GeneratorArch(
                netG="global",
                input_nc=input_nc,
                ngf=ngf_global,
                n_downsample_global=n_down,
                n_blocks_global=n_blocks,
                n_local_enhancers=0,
                n_blocks_local=0,
                norm=norm,
                output_nc=convs[-1][1][0],
            )
        ngf = shapes[f"model{n_local}_1.1.weight"][0]
        if ngf * 2**n_local != ngf_global:
            raise CheckpointError(
                f"{source}: 'model.1.weight' has {ngf_global} filters but the outermost local enhancer has "
                f"{ngf}; a LocalEnhancer with {n_local} level(s) needs {ngf * 2**n_local}"
            )
        last_up = _layers(shapes, f"model{n_local}_2")
        return GeneratorArch(
            netG="local",
            input_nc=input_nc,
            ngf=ngf,
            n_downsample_global=n_down,
            n_blocks_global=n_blocks,
            n_local_enhancers=n_local,
            n_blocks_local=_block_count(_layers(shapes, "model1_2")),
            norm=norm,
            output_nc=_plain_convs(last_up)[-1][1][0],
        )
    except (IndexError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{source}: unexpected pix2pixHD generator layout ({exc!r})") from exc


def infer_encoder(shapes: Shapes, source: str) -> EncoderArch:
    """Read nef, n_downsample_E and feat_num from the encoder's shapes."""
    first_conv = shapes.get("model.1.weight")
    if first_conv is None or len(first_conv) != 4 or first_conv[2:] != (7, 7):
        raise CheckpointError(f"{source}: not a pix2pixHD feature encoder (no 7x7 'model.1.weight')")
    convs = _plain_convs(_layers(shapes, "model"))
    return EncoderArch(
        input_nc=first_conv[1],
        feat_num=convs[-1][1][0],
        nef=first_conv[0],
        n_downsample_E=_count_downsampling(convs, source, "the encoder"),
        norm=_norm_kind(shapes),
    )


def resolve_inputs(
    input_nc: int,
    opt: Mapping[str, str],
    encoder_feat_num: int | None = None,
    cluster_feat_num: int | None = None,
) -> InputLayout:
    """Split ``input_nc`` into label_nc + edge + feat_num.

    opt.txt's ``label_nc``, ``no_instance``, ``instance_feat``/``label_feat`` and ``feat_num`` are used when
    they add up to ``input_nc``. Otherwise (no opt.txt, or it disagrees with the tensors) the split is
    guessed: feature channels are assumed when an encoder or a cluster file gives their number (and
    dropped if the rest fits no known label set), and the label/edge split is the first of
    ``_GUESS_ORDER`` (known label counts, edge or not per dataset) that adds up; failing that, the
    official default (edge on) decides.
    """
    label_feat = opt_bool(opt, "label_feat")
    feature_ids = "label" if label_feat else "instance"
    if "label_nc" in opt:
        label_nc = opt_int(opt, "label_nc", 35)
        if label_nc == 0:
            # --label_nc 0 feeds an RGB image instead of one-hot labels: not a label-map renderer.
            raise CheckpointError("opt.txt has label_nc 0 (image-to-image pix2pixHD): not supported")
        edge = not opt_bool(opt, "no_instance")
        feat_num = opt_int(opt, "feat_num", 3) if (opt_bool(opt, "instance_feat") or label_feat) else 0
        if label_nc > 0 and label_nc + int(edge) + feat_num == input_nc:
            return InputLayout(label_nc, edge, feat_num, feature_ids)
        log.warning(
            "opt.txt says label_nc %s + edge %s + features %s, but the generator takes %s input channels; "
            "guessing the split from the tensors",
            label_nc,
            int(edge),
            feat_num,
            input_nc,
        )
    feat_guess = encoder_feat_num or cluster_feat_num or 0
    feat_options = [feat_guess, 0] if 0 < feat_guess < input_nc else [0]
    for feat_num in feat_options:
        for label_nc, edge in _GUESS_ORDER:
            if label_nc + int(edge) + feat_num == input_nc:
                return InputLayout(label_nc, edge, feat_num, feature_ids, guessed=True)
    label_nc = input_nc - feat_options[0] - 1
    if label_nc < 1:
        raise CheckpointError(f"the generator takes {input_nc} input channels: too few for labels + edge")
    return InputLayout(label_nc, True, feat_options[0], feature_ids, guessed=True)
