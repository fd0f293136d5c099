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
    parser.add_argument(
        "--project",
        metavar="FILE.rpaint",
        help="take label, styles, engine and checkpoint from a project file; the other flags override it",
    )
    parser.add_argument("--checkpoint", metavar="PATH", help="official folder, .pth or .safetensors")
    parser.add_argument("--engine", metavar="ID", help="engine id (default: recognised from the checkpoint)")
    parser.add_argument("--label", metavar="LABEL.png", help="label map (index or colour PNG)")
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
    parser.add_argument(
        "--mean-styles",
        metavar="DIR",
        help="SEAN: per-class mean (and spread) style codes for '@mean'/'@random' from a folder of style "
        "images with their segmentations (DIR/images + DIR/labels, or DIR/train/...)",
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
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument(
        "--fast", action="store_true", help="fast reduced-precision render (bf16/fp16; default: exact float32)"
    )
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


def _read_styles(args: argparse.Namespace, label_set, instance) -> dict:
    from app.model.imports import read_label_map, read_photo
    from engines.base import StyleSource

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
    return styles


def build_request(args: argparse.Namespace, engine_cls, label_set, base=None):
    """Turn parsed flags into a RenderRequest (reads every input file; errors name the file).

    ``base`` is the request of a ``--project``: flags given on the command line override its fields,
    style sources are added (or replace a source of the same name) and region styles are layered on top.
    """
    from app.model.imports import read_instance_map, read_label_map
    from engines.base import INSTANCE_FEATURES, RenderRequest

    base = base if base is not None else RenderRequest(label=None)
    label = read_label_map(args.label, label_set) if args.label else base.label
    if args.instance:
        instance = read_instance_map(args.instance)
    else:
        instance = base.instance if not args.label else None  # a new label map comes with its own instances
    styles = {**base.styles, **_read_styles(args, label_set, instance)}
    default_style, region_styles = parse_region_styles(args.region_style, label_set, list(styles))
    default_style = default_style or base.default_style
    if default_style is None and styles:
        default_style = ((next(iter(styles)), 1.0),)
    request = RenderRequest(
        label=label,
        instance=instance,
        styles=styles,
        region_styles={**base.region_styles, **region_styles},
        default_style=default_style,
        crossover={**base.crossover, **parse_crossover(args.crossover, engine_cls.style_blocks, list(styles))},
        z=_read_z(args.z) if args.z else base.z,
        sample=args.sample or base.sample,
        seed=args.seed if args.seed is not None else base.seed,
        noise=base.noise and not args.no_noise,
        size=parse_size(args.size) if args.size else base.size,
        instance_clusters={**base.instance_clusters, **parse_instance_clusters(args.instance_cluster)},
        class_clusters={**base.class_clusters, **parse_class_clusters(args.class_cluster, label_set)},
        feature_source=base.feature_source,
    )
    if INSTANCE_FEATURES in engine_cls.capabilities and args.style and request.feature_source is None:
        request.feature_source = default_style[0][0]
    return request


def _load_project(args: argparse.Namespace, manager):
    """(document, engine id, checkpoint, device) of ``--project``."""
    from app.model.project import open_project

    project = Path(args.project)
    doc = open_project(project, manager.label_sets())
    settings = doc.engine
    return doc, settings.engine_id, settings.checkpoint, settings.device


def run(args: argparse.Namespace) -> int:
    from app.render_request import document_request, fit_request_to_engine, prepare_engine_styles
    from engines.common.checkpoint import inspect_checkpoint
    from engines.common.options import opt_int
    from plugins.manager import get_plugin_manager

    manager = get_plugin_manager()
    doc, engine_id, checkpoint, device = None, args.engine, args.checkpoint, args.device
    if args.project:
        doc, doc_engine, doc_checkpoint, doc_device = _load_project(args, manager)
        engine_id, checkpoint = engine_id or doc_engine or None, checkpoint or doc_checkpoint
        device = device or doc_device
    if not checkpoint:
        raise ValueError("render needs --checkpoint (or a --project that names one)")
    if doc is None and not args.label:
        raise ValueError("render needs --label (or a --project)")
    info = inspect_checkpoint(checkpoint)
    engine_cls = manager.engine_class(engine_id) if engine_id else manager.engine_for_checkpoint(info)
    if args.label_set:
        label_set = manager.label_set(args.label_set)
    elif doc is not None:
        label_set = manager.label_sets().get(doc.label_set_id)
    else:
        label_set = label_set_for_classes(opt_int(info.opt, "label_nc", 0), manager.label_sets().values())
    base = None
    if doc is not None:
        base = fit_request_to_engine(document_request(doc), doc.engine.options, engine_cls.capabilities)
    request = build_request(args, engine_cls, label_set, base)
    request.fast = bool(getattr(args, "fast", False))

    from engines.common.memory import keep_working_memory

    keep_working_memory()  # the forward reuses its large temporaries instead of faulting them in again
    engine = engine_cls()
    engine.load(checkpoint, device or "auto")
    prepare_engine_styles(engine, request)
    if args.mean_styles:
        _set_mean_styles(engine, Path(args.mean_styles), label_set)
    result = engine.generate(request)
    _save_outputs(result, args)
    log.info("rendered %s in %.2f s", args.out, result.seconds)
    return 0


def read_style_folder(folder: Path, label_set) -> list:
    """Style sources from ``folder/images`` + ``folder/labels`` (same stems), or the same under ``train/``."""
    from app.model.imports import read_label_map, read_photo
    from engines.base import StyleSource

    for root in (folder, folder / "train"):
        images, labels = root / "images", root / "labels"
        if images.is_dir() and labels.is_dir():
            pairs = [
                (p, labels / f"{p.stem}.png") for p in sorted(images.iterdir()) if (labels / f"{p.stem}.png").is_file()
            ]
            if pairs:
                return [StyleSource(p.stem, read_photo(p), read_label_map(l, label_set)) for p, l in pairs]
    raise ValueError(f"{folder}: no style images with segmentations (expected images/ and labels/ with the same names)")


def _set_mean_styles(engine, folder: Path, label_set) -> None:
    if not hasattr(engine, "compute_style_statistics"):
        raise ValueError(f"--mean-styles: the {engine.display_name} engine has no per-class style codes")
    engine.set_mean_codes(engine.compute_style_statistics(read_style_folder(folder, label_set)))


def _save_outputs(result, args: argparse.Namespace) -> None:
    from PIL import Image

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(result.image).save(out)
    if args.save_tensor:
        import torch

        Path(args.save_tensor).parent.mkdir(parents=True, exist_ok=True)
        torch.save(result.tensor.detach().cpu().float().contiguous(), args.save_tensor)
