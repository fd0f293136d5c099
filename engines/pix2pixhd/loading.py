"""Checkpoint (official folder, bare .pth, regionpaint .safetensors) -> built, checked pix2pixHD networks:
pix2pixHD's steps of the shared load (engines/loading/checkpoint_engine.py).

Architecture comes from the tensor shapes (:mod:`regionpaint.engines.pix2pixhd.architecture`); opt.txt (or the
safetensors sidecar's options) only decides the input-channel split and the preprocessing. Networks
are built on the ``meta`` device, checked key by key against the state dict (so a wrong engine's file,
missing/unexpected keys or wrong shapes raise :class:`CheckpointError` naming the file and the first
bad key), then take the loaded tensors directly (``assign=True``: no second copy of the weights).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from regionpaint.engines.base import CheckpointError
from regionpaint.engines.loading.pipeline import CheckpointContents, build_checked
from regionpaint.engines.pix2pixhd.architecture import (
    EncoderArch,
    GeneratorArch,
    InputLayout,
    infer_encoder,
    infer_generator,
    label_set_from_count,
    resolve_inputs,
)
from regionpaint.engines.pix2pixhd.clusters import clusters_feat_width, load_clusters
from regionpaint.engines.pix2pixhd.networks import Encoder, build_encoder, build_generator
from regionpaint.engines.pix2pixhd.preprocess import Preprocessing

log = logging.getLogger(__name__)

ENGINE_ID = "pix2pixhd"
CLUSTER_ROLE = "F"  # safetensors role holding the cluster centres, keys = class ids


@dataclass
class LoadedCheckpoint:
    path: Path
    files: dict[str, Path]
    opt: dict[str, str]
    generator: nn.Module
    generator_arch: GeneratorArch
    layout: InputLayout
    preprocessing: Preprocessing
    label_set: str | None
    encoder: Encoder | None = None
    encoder_arch: EncoderArch | None = None
    clusters: dict[int, np.ndarray] | None = None


@dataclass
class CheckpointPlan:
    """What a checkpoint's shapes and options say, before any network is built."""

    generator_arch: GeneratorArch
    layout: InputLayout
    encoder_arch: EncoderArch | None = None
    clusters: dict[int, np.ndarray] | None = None

    def __str__(self) -> str:
        return str(self.generator_arch)


def _clusters_from_tensors(state: Mapping[str, torch.Tensor], source: Path) -> dict[int, np.ndarray]:
    clusters: dict[int, np.ndarray] = {}
    for key, tensor in state.items():
        if not key.isdigit() or tensor.ndim != 2:
            raise CheckpointError(f"{source}: cluster entry {CLUSTER_ROLE}.{key} is not (class id, 2-D centres)")
        clusters[int(key)] = tensor.double().numpy()
    return clusters


def plan_checkpoint(contents: CheckpointContents) -> CheckpointPlan:
    """Architectures from the shapes, cluster centres, and the input channels from opt.txt and the shapes."""
    files, weights, opt = contents.files, contents.weights, contents.opt
    g_source, e_source = contents.source("G"), contents.source("E")

    arch = infer_generator(contents.shapes("G"), str(g_source))
    encoder_arch = None
    if "E" in weights:
        encoder_arch = infer_encoder(contents.shapes("E"), str(e_source))

    clusters = None
    if CLUSTER_ROLE in weights:
        clusters = _clusters_from_tensors(weights[CLUSTER_ROLE], g_source)
    elif "features" in files:
        clusters = load_clusters(files["features"])

    try:
        layout = resolve_inputs(
            arch.input_nc,
            opt,
            encoder_feat_num=encoder_arch.feat_num if encoder_arch else None,
            cluster_feat_num=clusters_feat_width(clusters) if clusters else None,
        )
    except CheckpointError as exc:
        raise CheckpointError(f"{files.get('opt', g_source)}: {exc}") from exc
    if layout.guessed:
        log.info("%s: input channels guessed as %s", g_source, layout)
    _warn_opt_disagreements(opt, arch, g_source)
    return CheckpointPlan(arch, layout, encoder_arch, clusters)


def build_networks(plan: CheckpointPlan, contents: CheckpointContents, device: torch.device) -> LoadedCheckpoint:
    """Build, check and load everything a render needs; networks end up on ``device`` in eval mode."""
    files, weights, opt = contents.files, contents.weights, contents.opt
    g_source, e_source = contents.source("G"), contents.source("E")
    arch, layout, encoder_arch, clusters = plan.generator_arch, plan.layout, plan.encoder_arch, plan.clusters

    generator = build_checked(
        lambda: build_generator(arch), weights["G"], g_source, f"pix2pixHD netG ({_describe(arch)})"
    )
    loaded = LoadedCheckpoint(
        path=contents.path,
        files=dict(files),
        opt=opt,
        generator=generator.to(device),
        generator_arch=arch,
        layout=layout,
        # Without opt.txt: the official scripts test netG global with the defaults (scale_width to
        # 1024) and netG local with --resize_or_crop none (full resolution, rounded to the base).
        preprocessing=Preprocessing.from_opt(
            opt, arch.size_base, default_mode="none" if arch.netG == "local" else "scale_width"
        ),
        label_set=label_set_from_count(layout.label_nc),
    )
    if layout.feat_num:
        if encoder_arch is not None:
            if encoder_arch.feat_num != layout.feat_num or encoder_arch.input_nc != 3:
                raise CheckpointError(
                    f"{e_source}: the encoder outputs {encoder_arch.feat_num} features from "
                    f"{encoder_arch.input_nc} channels; the generator expects {layout.feat_num} "
                    "from an RGB photo"
                )
            encoder = build_checked(lambda: build_encoder(encoder_arch), weights["E"], e_source, "pix2pixHD netE")
            loaded.encoder, loaded.encoder_arch = encoder.to(device), encoder_arch
        if clusters is not None:
            width = clusters_feat_width(clusters)
            if width is not None and width < layout.feat_num:
                source = files.get("features", g_source)
                raise CheckpointError(
                    f"{source}: cluster rows have {width} values, the generator needs {layout.feat_num}"
                )
            loaded.clusters = clusters
        if loaded.encoder is None and loaded.clusters is None:
            log.warning(
                "%s uses %d feature channels but has neither an encoder nor a cluster file",
                g_source,
                layout.feat_num,
            )
    elif encoder_arch is not None or clusters is not None:
        log.info("%s: generator takes no feature channels; encoder/cluster file ignored", g_source)
    return loaded


def _describe(arch: GeneratorArch) -> str:
    text = f"{arch.netG}, ngf {arch.ngf}, {arch.n_downsample_global} down, {arch.n_blocks_global} blocks"
    if arch.netG == "local":
        text += f", {arch.n_local_enhancers} enhancer(s) x {arch.n_blocks_local} blocks"
    return text


def _warn_opt_disagreements(opt: Mapping[str, str], arch: GeneratorArch, source: Path) -> None:
    """The tensors win over opt.txt for architecture; say so when they disagree."""
    found = {
        "netG": arch.netG,
        "ngf": arch.ngf,
        "n_downsample_global": arch.n_downsample_global,
        "n_blocks_global": arch.n_blocks_global,
        "norm": arch.norm,
    }
    if arch.netG == "local":
        found.update(n_local_enhancers=arch.n_local_enhancers, n_blocks_local=arch.n_blocks_local)
    for key, value in found.items():
        if key in opt and opt[key] != str(value):
            log.warning(
                "%s: opt.txt says %s=%s but the weights have %s; using the weights",
                source,
                key,
                opt[key],
                value,
            )


def architecture_options(arch: GeneratorArch, layout: InputLayout) -> dict[str, object]:
    """The official option names and values that describe a generator and its input channels."""
    return {
        "netG": arch.netG,
        "ngf": arch.ngf,
        "n_downsample_global": arch.n_downsample_global,
        "n_blocks_global": arch.n_blocks_global,
        "n_local_enhancers": max(arch.n_local_enhancers, 1),
        "n_blocks_local": arch.n_blocks_local or 3,
        "norm": arch.norm,
        "label_nc": layout.label_nc,
        "no_instance": not layout.instance_edge,
        "instance_feat": bool(layout.feat_num) and layout.feature_ids == "instance",
        "label_feat": bool(layout.feat_num) and layout.feature_ids == "label",
        "feat_num": layout.feat_num or 3,
    }


def options_for_save(loaded: LoadedCheckpoint) -> dict[str, object]:
    """Options written to a safetensors sidecar: the resolved architecture, inputs and preprocessing."""
    pre = loaded.preprocessing
    options = architecture_options(loaded.generator_arch, loaded.layout)
    options.update(resize_or_crop=pre.resize_or_crop, loadSize=pre.load_size, fineSize=pre.fine_size)
    if loaded.encoder_arch is not None:
        options.update(nef=loaded.encoder_arch.nef, n_downsample_E=loaded.encoder_arch.n_downsample_E)
    return options
