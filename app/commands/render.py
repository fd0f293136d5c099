"""``regionpaint render``: render a label map with a checkpoint from the command line.

The flags map one-to-one onto :class:`regionpaint.engines.base.RenderRequest`; the engine is recognised from the
checkpoint (``--engine`` overrides).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
from pathlib import Path

import numpy as np

from regionpaint.app.commands.engine_options import add_option_flags, given_options
from regionpaint.app.render_spec import (
    label_set_for_classes,
    parse_class_clusters,
    parse_crossover,
    parse_instance_clusters,
    parse_region_styles,
    parse_size,
    parse_style_arg,
)
from regionpaint.engines.base import INSTANCE_FEATURES, MEAN_STYLE

log = logging.getLogger(__name__)


def register(cli) -> None:
    cli.add_command("render", "Render a label map with an engine (and its checkpoint).", configure, run)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        metavar="FILE.rpaint",
        help="take label, styles, engine and checkpoint from a project file; the other flags override it",
    )
    parser.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="official folder, .pth or .safetensors, or an installed model's name (`regionpaint models list`); "
        "engines without weights: none",
    )
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
    parser.add_argument(
        "--no-noise",
        action="store_true",
        help="switch stochastic noise off (any engine with the 'noise' capability, e.g. SEAN: `regionpaint engines`)",
    )
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
    _configure_photo_edit(parser)
    parser.add_argument(
        "--fast", action="store_true", help="fast reduced-precision render (bf16/fp16; default: exact float32)"
    )
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="give up on a render (loading and generating) that takes longer: one-line error, exit 2 "
        "(default: no limit; a render's time ranges from milliseconds to minutes, and Ctrl+C stops it any time)",
    )
    parser.add_argument("--out", required=True, metavar="OUT.png", help="rendered image (PNG or JPEG)")
    parser.add_argument("--save-tensor", metavar="OUT.pt", help="raw generator output, (1,3,H,W) float32")
    parser.add_argument(
        "--force", action="store_true", help="let --out or --save-tensor overwrite one of this render's input files"
    )
    # Last: an engine option's flag that clashes with any of the above is refused, not fatal.
    add_option_flags(parser, "render")


def _configure_photo_edit(parser: argparse.ArgumentParser) -> None:
    from regionpaint.app.model.document import ALL_COMPOSITE_MODES, DEFAULT_COMPOSITE_BAND

    group = parser.add_argument_group(
        "photo editing", "keep the photo: only what --label and the styles change is rendered into it"
    )
    group.add_argument("--photo", metavar="PHOTO", help="the photo being edited (the output has its size)")
    group.add_argument(
        "--photo-label",
        metavar="LABEL.png",
        help="the photo's own (unedited) segmentation; --label is the edited map (default: this one)",
    )
    group.add_argument("--photo-instance", metavar="INST.png", help="the photo's own instance map")
    group.add_argument(
        "--composite",
        choices=ALL_COMPOSITE_MODES,
        help="how the render goes onto the photo (default: feather with --photo or a photo project; "
        "off = the raw render)",
    )
    group.add_argument(
        "--feather", type=int, metavar="PX", help=f"blend band in photo pixels (default {DEFAULT_COMPOSITE_BAND})"
    )
    group.add_argument(
        "--harmonize",
        action=argparse.BooleanOptionalAction,
        help="match the render's colours to the photo's around the edit (default: off, or the project's)",
    )


def _read_z(path: str) -> np.ndarray:
    from regionpaint.app.model.document import DocumentError

    if path.endswith(".npy"):
        from regionpaint.untrusted import UntrustedFileError, open_regular

        try:
            with open_regular(path) as handle:  # a FIFO is refused by name, never waited on
                z = np.load(handle, allow_pickle=False)
        except UntrustedFileError:
            raise
        except (OSError, ValueError, EOFError) as exc:
            raise DocumentError(f"{path}: not a readable .npy array of numbers ({type(exc).__name__})") from exc
    else:
        from regionpaint.engines.loading.checkpoint import torch_load_tensors

        z = torch_load_tensors(path, "z vector")
        z = z.numpy() if hasattr(z, "numpy") else z
    try:
        z = np.asarray(z, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DocumentError(f"{path}: not an array of numbers") from exc
    return z.reshape(1, -1)


def _read_styles(args: argparse.Namespace, label_set, instance) -> dict:
    from regionpaint.app.model.imports import read_style_pair
    from regionpaint.engines.base import StyleSource

    styles: dict[str, StyleSource] = {}
    for raw in args.style:
        name, image_path, label_path = parse_style_arg(raw)
        if name in styles:
            raise ValueError(f"--style {raw!r}: source {name!r} is given twice")
        # The label map is turned like its photo (EXIF orientation) and must have its shape.
        image, label = read_style_pair(image_path, label_path or None, label_set, name)
        styles[name] = StyleSource(name=name, image=image, label=label, instance=instance)
    return styles


def build_request(args: argparse.Namespace, engine_cls, label_set, base=None):
    """Turn parsed flags into a RenderRequest (reads every input file; errors name the file).

    ``base`` is the request of a ``--project``: flags given on the command line override its fields,
    style sources are added (or replace a source of the same name) and region styles are layered on top.
    """
    from regionpaint.app.model.imports import read_instance_map, read_label_map
    from regionpaint.engines.base import RenderRequest
    from regionpaint.limits import check_render_size

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
        label_set=label_set.id if label_set is not None else base.label_set,
        options=dict(base.options),
    )
    if INSTANCE_FEATURES in engine_cls.capabilities and args.style and request.feature_source is None:
        request.feature_source = default_style[0][0]
    if request.size is not None:  # refused here, before a model is loaded; the network's own size is
        # checked against the same cap just before it renders (app/render/guard.py)
        check_render_size(request.size, "--size" if args.size else "the project's output size")
    return request


def _load_project(args: argparse.Namespace, manager):
    """(document, engine id, checkpoint, device) of ``--project``."""
    from regionpaint.app.model.project import open_project

    project = Path(args.project)
    doc = open_project(project, manager.label_sets())
    settings = doc.engine
    return doc, settings.engine_id, settings.checkpoint, settings.device


def run(args: argparse.Namespace) -> int:
    from regionpaint.app.render.from_document import document_request
    from regionpaint.app.render.service import RenderJob, default_service
    from regionpaint.engines.loading.options import opt_int
    from regionpaint.plugins.manager import PluginError

    check_outputs(args)  # before anything is read or rendered: a bad --out is found in a second, not after
    service = default_service()
    manager = service.manager
    doc, engine_id, checkpoint, device = None, args.engine, args.checkpoint, args.device
    if args.project:
        doc, doc_engine, doc_checkpoint, doc_device = _load_project(args, manager)
        engine_id, checkpoint = engine_id or doc_engine or None, checkpoint or doc_checkpoint
        device = device or doc_device
    if checkpoint:
        from regionpaint.app.model_manager.manager import resolve_checkpoint

        checkpoint = resolve_checkpoint(checkpoint)  # an installed model's name -> its folder
    if (args.photo_label or args.photo_instance) and not args.photo:
        raise ValueError("--photo-label and --photo-instance describe a --photo; give the photo too")
    if args.photo and not args.photo_label:
        raise ValueError("--photo needs --photo-label (the photo's own segmentation)")
    if doc is None and not args.label and not args.photo_label:
        raise ValueError("render needs --label (or a --project, or --photo with --photo-label)")
    package = doc.engine.package if doc is not None else ""
    if engine_id and engine_id not in manager.engines():  # say which package provides it, when known
        raise PluginError(manager.missing_engine_message(engine_id, package))
    engine_cls = service.engine_class(engine_id or "", checkpoint or "") if (engine_id or checkpoint) else None
    if engine_cls is None:
        raise ValueError(
            "render needs --checkpoint (or a --project that names one), or --engine ID for an engine "
            "that needs no weights (see `regionpaint engines`)"
        )
    if engine_cls.needs_checkpoint and not checkpoint:
        raise ValueError(f"the {engine_cls.display_name} engine needs --checkpoint (a trained folder or file)")
    info = service.inspect(checkpoint, engine_cls.id) if checkpoint else None
    if args.label_set:
        label_set = manager.label_set(args.label_set)
    elif doc is not None:
        label_set = manager.label_sets().get(doc.label_set_id)
    else:
        label_nc = opt_int(info.opt, "label_nc", 0) if info is not None else 0
        label_set = label_set_for_classes(label_nc, manager.label_sets().values())
        if label_set is None and len(engine_cls.label_sets) == 1:
            label_set = manager.label_sets().get(engine_cls.label_sets[0])
        if label_set is None and info is None:  # no opt.txt to read label_nc from: look at the label map
            label_set = _guess_label_set(args.label, engine_cls, manager)
    base = document_request(doc) if doc is not None else None
    photo_edit = None
    if args.photo or (doc is not None and doc.is_photo_edit):
        photo_edit, base, args = _photo_edit_inputs(args, doc, label_set, base)
    request = build_request(args, engine_cls, label_set, base)
    request.fast = bool(getattr(args, "fast", False))
    from regionpaint.engines.acceleration.memory import keep_working_memory

    keep_working_memory()  # the forward reuses its large temporaries instead of faulting them in again
    options = dict(doc.engine.options) if doc is not None else {}
    options.update(given_options(args, engine_cls))
    if args.mean_styles and MEAN_STYLE not in engine_cls.capabilities:
        raise ValueError(f"--mean-styles: the {engine_cls.display_name} engine has no per-class style codes")
    mean_sources = read_style_folder(Path(args.mean_styles), label_set) if args.mean_styles else None
    job = RenderJob(
        request=request,
        engine_id=engine_cls.id,
        checkpoint=checkpoint or "",
        device=device or "auto",
        options=options,
        strict_options=bool(args.option),
        mean_style_sources=mean_sources,
    )
    outcome = _render(service, job, manager, getattr(args, "timeout", None))
    if photo_edit is not None and photo_edit.settings.mode != "off":
        # Only what was edited changes: the render goes into the photo at the photo's size.
        outcome.result.image = photo_edit.composite(outcome.request, outcome.result.image, outcome.capabilities).image
    _save_outputs(outcome.result, args)
    log.info("rendered %s in %.2f s", args.out, outcome.result.seconds)
    return 0


def _seconds(text: str) -> float:
    """``--timeout``: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _render(service, job, manager, timeout_s: float | None = None):
    """``service.render(job)``; a crash inside an engine (a plugin's bug) becomes one line naming the
    engine and its package instead of a traceback (``--debug`` shows it). With ``timeout_s``, a render
    that takes longer is given up on with one line (its thread cannot be stopped; the process exits anyway)."""
    from regionpaint.app.cli import _user_errors
    from regionpaint.app.render.guard import call_with_timeout, engine_label
    from regionpaint.plugins.manager import PluginError

    def too_long() -> str:
        return (
            f"{engine_label(job.engine_id)} did not finish rendering within {timeout_s:g} s (--timeout {timeout_s:g}); "
            "it may be stuck: try another engine, checkpoint or device, or a longer --timeout"
        )

    try:
        return call_with_timeout(lambda: service.render(job), timeout_s, too_long)
    except _user_errors():
        raise
    except Exception as exc:
        package, version = manager.engine_provider(job.engine_id)
        where = f" (package {package} {version})" if package else ""
        raise PluginError(f"the {job.engine_id} engine{where} failed: {type(exc).__name__}: {exc}") from exc


def _guess_label_set(label_path: str, engine_cls, manager):
    """The tightest of the engine's label sets that accepts the label map's ids (for class names)."""
    from regionpaint.app.model.imports import read_label_map
    from regionpaint.app.model.labelsets import guess_label_set

    known = manager.label_sets()
    candidates = [known[i] for i in engine_cls.label_sets if i in known] or list(known.values())
    guessed = guess_label_set(read_label_map(label_path, None), candidates=candidates)
    if guessed is not None:
        log.info("guessed label set %s from %s (--label-set chooses another)", guessed.id, label_path)
    return guessed


def _photo_edit_inputs(args: argparse.Namespace, doc, label_set, base):
    """(PhotoEdit, base request, args) for ``--photo`` or a photo project: labels at the photo's size, the
    photo as style source ``photo`` and default style; the returned args have the label flags consumed."""
    from regionpaint.app.model.document import CompositeSettings
    from regionpaint.app.model.imports import check_same_aspect, read_instance_map, read_label_map, read_upright_photo
    from regionpaint.app.render.photo_edit import (
        PhotoEdit,
        fit_request_to_photo,
        photo_base_request,
        photo_edit_from_document,
    )

    if args.photo:
        # Every map of the photo is turned by the photo's EXIF orientation rule and must have its shape:
        # a map of another aspect ratio would be squashed onto it (refused, not scaled).
        photo = read_upright_photo(args.photo)

        def photo_map(path: str, instance: bool = False):
            ids = photo.read_instance_map(path) if instance else photo.read_label_map(path, label_set)[0]
            photo.check_aspect(ids, path)
            return ids

        edit = PhotoEdit(photo.pixels, photo_map(args.photo_label))
        photo_instance = args.photo_instance or args.instance
        edit = dataclasses.replace(
            edit,
            baseline=edit.fit(edit.baseline),
            baseline_instance=edit.fit(photo_map(photo_instance, instance=True)) if photo_instance else None,
        )
        label = photo_map(args.label) if args.label else edit.baseline
        instance = photo_map(args.instance, instance=True) if args.instance else edit.baseline_instance
        base = photo_base_request(edit, label, instance)
    else:
        edit = photo_edit_from_document(doc)
        source = f"{args.project} (its photo)"
        if args.label:
            label = read_label_map(args.label, label_set)
            check_same_aspect(label, edit.size, args.label, source)
            base = dataclasses.replace(base, label=label, instance=None)
        if args.instance:
            instance = read_instance_map(args.instance)
            check_same_aspect(instance, edit.size, args.instance, source)
            base = dataclasses.replace(base, instance=instance)
        base = fit_request_to_photo(edit, base)
    settings = edit.settings if doc is not None and not args.photo else CompositeSettings()
    settings = settings.replaced(
        mode=args.composite or settings.mode,
        band=settings.band if args.feather is None else args.feather,
        harmonize=settings.harmonize if args.harmonize is None else args.harmonize,
    )
    return (
        dataclasses.replace(edit, settings=settings),
        base,
        argparse.Namespace(**{**vars(args), "label": None, "instance": None}),
    )


def read_style_folder(folder: Path, label_set) -> list:
    """Style sources from ``folder/images`` + ``folder/labels`` (same stems), or the same under ``train/``."""
    from regionpaint.app.model.imports import read_style_pair
    from regionpaint.engines.base import StyleSource

    for root in (folder, folder / "train"):
        images, labels = root / "images", root / "labels"
        if images.is_dir() and labels.is_dir():
            pairs = [
                (p, labels / f"{p.stem}.png") for p in sorted(images.iterdir()) if (labels / f"{p.stem}.png").is_file()
            ]
            if pairs:
                return [StyleSource(p.stem, *read_style_pair(p, label, label_set)) for p, label in pairs]
    raise ValueError(f"{folder}: no style images with segmentations (expected images/ and labels/ with the same names)")


def check_outputs(args: argparse.Namespace) -> None:
    """``--out`` (an image name in a writable folder) and ``--save-tensor`` can be written and are none of the
    render's inputs (unless ``--force``); raises OutputError naming the flag and the file."""
    from regionpaint.app.commands.output_checks import check_file_output, check_image_output, refuse_overwriting_inputs

    outputs = {"--out": check_image_output(args.out, "--out")}
    if args.save_tensor:
        outputs["--save-tensor"] = check_file_output(args.save_tensor, "--save-tensor")
    refuse_overwriting_inputs(outputs, _input_files(args), force=bool(getattr(args, "force", False)))


def _input_files(args: argparse.Namespace) -> list[tuple[str, str | Path]]:
    """``(flag, path)`` of every file this render reads (a checkpoint or style folder: the files in it)."""
    from regionpaint.app.render_spec import SpecError

    inputs: list[tuple[str, str | Path]] = [
        (f"--{name.replace('_', '-')}", getattr(args, name))
        for name in ("label", "instance", "photo", "photo_label", "photo_instance", "project", "z")
        if getattr(args, name, None)
    ]
    for raw in args.style:
        try:
            _name, image, label = parse_style_arg(raw)
        except SpecError:
            continue  # reported, with its own message, when the styles are read
        inputs += [("--style", image)] + ([("--style", label)] if label else [])
    folders = [("--checkpoint", Path(args.checkpoint))] if args.checkpoint else []
    if args.mean_styles:
        root = Path(args.mean_styles)
        folders += [("--mean-styles", root / sub) for sub in ("images", "labels", "train/images", "train/labels")]
    for flag, folder in folders:
        if folder.is_dir():
            inputs += [(flag, path) for path in folder.iterdir()]
        elif flag == "--checkpoint":
            inputs += [(flag, folder), (flag, folder.with_suffix(".json"))]  # a weights file and its sidecar
    return inputs


def _save_outputs(result, args: argparse.Namespace) -> None:
    from PIL import Image

    from regionpaint.app.commands.output_checks import OutputError, image_extensions

    out = Path(os.path.realpath(args.out))  # a symlink's target is written, as before, not replaced by a file
    # Beside the target, then renamed over it: a full disk leaves the previous file, not half an image.
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(result.image).save(partial, format=image_extensions()[Path(args.out).suffix.lower()])
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OutputError(f"--out {str(args.out)!r}: cannot write the image: {exc.strerror or exc}") from exc
    if args.save_tensor:
        import torch

        Path(args.save_tensor).parent.mkdir(parents=True, exist_ok=True)
        tensor = result.tensor
        if tensor is None:
            raise ValueError("--save-tensor: this engine returns no tensor")
        if isinstance(tensor, np.ndarray):  # engines without torch may return numpy (1, 3, H, W) float32
            tensor = torch.from_numpy(np.ascontiguousarray(tensor))
        torch.save(tensor.detach().cpu().float().contiguous(), args.save_tensor)
