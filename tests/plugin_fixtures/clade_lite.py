"""A third-party engine with a checkpoint format of its own: ``clade-lite``, a tiny CLADE-like generator.

Its checkpoint is a folder regionpaint's generic rules do not know: ``config.json`` (``{"format":
"clade-lite", "label_nc": 19, "width": 8, "weights": "model.pt"}``) beside the weights ``model.pt`` (a
``torch.save`` state dict); no ``*_net_G.pth``, no ``.safetensors``, no sidecar. The engine claims such a
folder with ``Engine.locate`` and reads it with the host's readers (``regionpaint.read_checkpoint_json``,
``regionpaint.read_state_dict``), as docs/plugins.md tells a plugin author to.

The network: one-hot labels -> 3x3 conv -> class-adaptive normalisation (instance norm, then a scale and a
bias per class looked up from the label map, as CLADE does) -> ReLU -> 3x3 conv -> tanh.

Used by tests/test_own_checkpoint_formats.py, which makes it an installed plugin named ``clade`` (package
``regionpaint-clade``) through a ``*.dist-info`` entry point on ``PYTHONPATH``. With
``CLADE_LITE_BROKEN=1`` in the environment it also registers ``clade-broken``, whose ``locate`` calls
``sys.exit(3)``: a plugin's bug that must not end regionpaint.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

import regionpaint
from regionpaint import CheckpointError, CheckpointInfo, Engine, InputError, RenderRequest, RenderResult

REGIONPAINT_API = "1.0"
ENGINE_ID = "clade-lite"
CONFIG = "config.json"
FORMAT = "clade-lite"


def build_network(label_nc: int, width: int):
    """The generator; the tests build the same one to save weights and to compute what a render must give."""
    import torch
    from torch import nn

    class CladeLite(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.label_nc = label_nc
            self.conv_in = nn.Conv2d(label_nc, width, 3, padding=1)
            self.gamma = nn.Embedding(label_nc, width)  # per-class scale ...
            self.beta = nn.Embedding(label_nc, width)  # ... and bias of the normalised features
            self.conv_out = nn.Conv2d(width, 3, 3, padding=1)

        def forward(self, label: torch.Tensor) -> torch.Tensor:  # (1, H, W) int64 class ids
            onehot = nn.functional.one_hot(label, self.label_nc).permute(0, 3, 1, 2).float()
            x = nn.functional.instance_norm(self.conv_in(onehot))
            x = x * self.gamma(label).permute(0, 3, 1, 2) + self.beta(label).permute(0, 3, 1, 2)
            return torch.tanh(self.conv_out(torch.relu(x)))

    return CladeLite()


class CladeLiteEngine(Engine):
    id = ENGINE_ID
    display_name = "CLADE lite"
    label_sets = ("celebamask-hq",)

    @classmethod
    def locate(cls, path: Path) -> CheckpointInfo | None:
        config_path = path / CONFIG
        if not path.is_dir() or not os.path.lexists(config_path):
            return None  # not a clade-lite folder: the host's own rules (and other engines) may know it
        config = regionpaint.read_checkpoint_json(config_path, "clade-lite config")
        if not isinstance(config, dict) or config.get("format") != FORMAT:
            return None
        weights = path / str(config.get("weights", "model.pt"))
        if not os.path.lexists(weights):
            raise CheckpointError(
                f"{path}: no {weights.name} (the clade-lite weights its {CONFIG} names); "
                "copy the trained weights into the folder"
            )
        opt = {key: str(config[key]) for key in ("label_nc", "width") if key in config}
        return CheckpointInfo(path=path, files={"G": weights, "config": config_path}, opt=opt, shapes={})

    @classmethod
    def recognizes(cls, info: CheckpointInfo) -> bool:
        return False  # its checkpoints are claimed by locate, never by the generic rules

    def load(self, checkpoint, device: str = "auto") -> None:
        info = self.locate(Path(checkpoint))
        if info is None:
            raise CheckpointError(f"{checkpoint}: not a clade-lite checkpoint (a folder with {CONFIG} and model.pt)")
        try:
            label_nc, width = int(info.opt["label_nc"]), int(info.opt["width"])
        except (KeyError, ValueError):
            raise CheckpointError(f"{info.files['config']}: needs integer 'label_nc' and 'width'") from None
        state = regionpaint.read_state_dict(info.files["G"])
        net = build_network(label_nc, width)
        try:
            net.load_state_dict(state)
        except RuntimeError as exc:
            first = str(exc).strip().splitlines()[0]
            raise CheckpointError(f"{info.files['G']}: not clade-lite weights for {CONFIG}'s sizes ({first})") from None
        self.net = net.eval()
        self._device = "cpu"

    def network_size(self, label_shape: tuple[int, int]) -> tuple[int, int]:
        return int(label_shape[1]), int(label_shape[0])

    def generate(self, request: RenderRequest) -> RenderResult:
        import torch

        label = np.asarray(request.label)
        if label.ndim != 2 or label.size == 0:
            raise InputError("the label map must be a non-empty (H, W) array of class ids")
        if int(label.max()) >= self.net.label_nc:
            raise InputError(f"class id {int(label.max())} is beyond this checkpoint's {self.net.label_nc} classes")
        with torch.no_grad():
            out = self.net(torch.from_numpy(label.astype(np.int64))[None])
        image = ((out[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        return RenderResult(image=np.ascontiguousarray(image), tensor=out)


class BrokenLocateEngine(CladeLiteEngine):
    id = "clade-broken"
    display_name = "CLADE with a broken locate"

    @classmethod
    def locate(cls, path: Path) -> CheckpointInfo | None:
        sys.exit(3)


@regionpaint.hookimpl
def register_engines(register):
    register(CladeLiteEngine)
    if os.environ.get("CLADE_LITE_BROKEN") == "1":
        register(BrokenLocateEngine)
