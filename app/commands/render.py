"""``regionpaint render``: render a label map with a checkpoint from the command line.

The flags map one-to-one onto :class:`engines.base.RenderRequest`; the engine is recognised from the
checkpoint (``--engine`` overrides).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from app.render_spec import (
    label_set_for_classes,
    parse_class_clusters,
    parse_crossover,
    parse_instance_clusters,
    parse_region_styles,
    parse_size,
    parse_style_arg,
)

log = logging.getLogger(__name__)


def register(cli) -> None:
    cli.add_command("render", "Render a label map with a SPADE, SEAN or pix2pixHD checkpoint.", configure, run)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, metavar="PATH", help="official folder, .pth or .safetensors")
    parser.add_argument("--engine", metavar="ID", help="engine id (default: recognised from the checkpoint)")
    parser.add_argument("--label", required=True, metavar="LABEL.png", help="label map (index or colour PNG)")
    parser.add_argument("--instance", metavar="INST.png", help="instance map (8/16-bit PNG)")
    parser.add_argument("--label-set", metavar="ID", help="label set for class names and colour maps")
    parser.add_argument(
        "--style",
        action="append",
        default=[],
        metavar="NAME=IMAGE[:LABEL]",
        help="named style source; LABEL = that image's segmentation (SEAN)",
    )
    parser.add_argument(
        "--region-style",
        action="append",
        default=[],
        metavar="CLASS=SPEC",
        help="CLASS: id, name or 'all'; SPEC: NAME or NAME:W,NAME:W (weights sum to 1)",
    )
    parser.add_argument(
        "--crossover",
        action="append",
        default=[],
        metavar="BLOCK=NAME,...",
        help="SEAN: style source per residual block (block name or index)",
    )
    parser.add_argument("--z", metavar="FILE.pt", help="SPADE-VAE latent, shape (1, z_dim) (.pt or .npy)")
    parser.add_argument("--sample", action="store_true", help="draw z with --seed instead of the encoder mean")
    parser.add_argument("--seed", type=int, help="seed for noise, z samples and cluster picks")
    parser.add_argument("--no-noise", action="store_true", help="SEAN: switch the per-layer noise off")
    parser.add_argument(
        "--instance-cluster",
        action="append",
        default=[],
        metavar="INST=K",
        help="pix2pixHD: feature cluster K for instance id INST",
    )
    parser.add_argument(
        "--class-cluster",
        action="append",
        default=[],
        metavar="CLASS=K",
        help="pix2pixHD: feature cluster K for every instance of CLASS",
    )
    parser.add_argument("--size", metavar="WxH", help="network size (default: the checkpoint's preprocessing)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    parser.add_argument("--out", required=True, metavar="OUT.png", help="rendered image (PNG or JPEG)")
    parser.add_argument("--save-tensor", metavar="OUT.pt", help="raw generator output, (1,3,H,W) float32")


def _read_z(path: str) -> np.ndarray:
    if path.endswith(".npy"):
        z = np.load(path, allow_pickle=False)
    else:
        import torch

        z = torch.load(path, map_location="cpu", weights_only=True)
        z = z.numpy() if hasattr(z, "numpy") else np.asarray(z)
    z = np.asarray(z, dtype=np.float32)
    return z.reshape(1, -1)


def build_request(args: argparse.Namespace, engine_cls, label_set):
    """Turn parsed flags into a RenderRequest (reads every input file; errors name the file)."""
    from app.model.imports import read_instance_map, read_label_map, read_photo
    from engines.base import INSTANCE_FEATURES, RenderRequest, StyleSource

    label = read_label_map(args.label, label_set)
    instance = read_instance_map(args.instance) if args.instance else None
    styles: dict[str, StyleSource] = {}
    for raw in args.style:
        name, image_path, label_path = parse_style_arg(raw)
        if name in styles:
            raise ValueError(f"--style {raw!r}: source {name!r} is given twice")
        styles[name] = StyleSource(
            name=name,
            image=read_photo(image_path),
            label=read_label_map(label_path, label_set) if label_path else None,
            instance=instance,
        )
    default_style, region_styles = parse_region_styles(args.region_style, label_set, list(styles))
    if default_style is None and styles:
        default_style = ((next(iter(styles)), 1.0),)
    request = RenderRequest(
        label=label,
        instance=instance,
        styles=styles,
        region_styles=region_styles,
        default_style=default_style,
        crossover=parse_crossover(args.crossover, engine_cls.style_blocks, list(styles)),
        z=_read_z(args.z) if args.z else None,
        sample=args.sample,
        seed=args.seed,
        noise=not args.no_noise,
        size=parse_size(args.size) if args.size else None,
        instance_clusters=parse_instance_clusters(args.instance_cluster),
        class_clusters=parse_class_clusters(args.class_cluster, label_set),
    )
    if INSTANCE_FEATURES in engine_cls.capabilities and styles:
        request.feature_source = default_style[0][0]
    return request


def run(args: argparse.Namespace) -> int:
    from engines.common.checkpoint import inspect_checkpoint
    from engines.common.options import opt_int
    from plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    info = inspect_checkpoint(args.checkpoint)
    engine_cls = manager.engine_class(args.engine) if args.engine else manager.engine_for_checkpoint(info)
    label_sets = manager.label_sets()
    if args.label_set:
        label_set = manager.label_set(args.label_set)
    else:
        label_set = label_set_for_classes(opt_int(info.opt, "label_nc", 0), label_sets.values())
    request = build_request(args, engine_cls, label_set)

    engine = engine_cls()
    engine.load(args.checkpoint, args.device)
    result = engine.generate(request)
    _save_outputs(result, args)
    log.info("rendered %s in %.2f s", args.out, result.seconds)
    return 0


def _save_outputs(result, args: argparse.Namespace) -> None:
    from PIL import Image

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.image).save(out)
    if args.save_tensor:
        import torch

        Path(args.save_tensor).parent.mkdir(parents=True, exist_ok=True)
        torch.save(result.tensor.detach().cpu().float().contiguous(), args.save_tensor)
