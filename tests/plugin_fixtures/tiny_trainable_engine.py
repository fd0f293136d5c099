"""A complete third-party trainable engine in one module: render engine + trainer, registered by hooks.

Used by tests/test_trainer_plugins.py, which makes it visible to a ``regionpaint`` subprocess through an entry
point (a ``*.dist-info`` folder on ``PYTHONPATH``). It imports nothing from ``engines/training`` beyond the
public contract and the shared loop's model base; its networks are its own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import regionpaint
from regionpaint import CheckpointInfo, Engine, EngineTrainer, Option, RenderRequest, RenderResult

ENGINE_ID = "test-engine"


def _networks(label_nc: int, width: int):
    """G: one-hot labels -> RGB through two 3x3 convs of ``tiny_width`` channels; D: labels + RGB -> score map."""
    from torch import nn

    generator = nn.Sequential(
        nn.Conv2d(label_nc, width, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(width, 3, 3, padding=1), nn.Tanh()
    )
    discriminator = nn.Sequential(
        nn.Conv2d(label_nc + 3, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(width, 1, 3, padding=1)
    )
    return generator, discriminator


class TinyEngine(Engine):
    id = ENGINE_ID
    display_name = "Tiny test engine"

    @classmethod
    def recognizes(cls, info: CheckpointInfo) -> bool:
        return info.opt.get("engine") == cls.id

    def load(self, checkpoint, device: str = "auto") -> None:
        import torch

        from regionpaint.engines.loading.options import read_opt_txt

        folder = Path(checkpoint)
        opt = read_opt_txt(folder / "opt.txt")
        self.label_nc = int(opt["label_nc"]) + (opt["contain_dontcare_label"] == "True")
        self.net, _ = _networks(self.label_nc, int(opt["tiny_width"]))
        self.net.load_state_dict(torch.load(folder / "latest_net_G.pth", map_location="cpu", weights_only=True))
        self.net.eval()

    def generate(self, request: RenderRequest) -> RenderResult:
        import torch
        import torch.nn.functional as F

        label = torch.from_numpy(np.asarray(request.label, np.int64)).clamp(0, self.label_nc - 1)
        onehot = F.one_hot(label, self.label_nc).permute(2, 0, 1)[None].float()
        with torch.no_grad():
            out = self.net(onehot)
        image = ((out[0].permute(1, 2, 0).numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        return RenderResult(image=image, tensor=out)


class TinyTrainer(EngineTrainer):
    engine = ENGINE_ID
    display_name = "Tiny test engine"
    options = (Option("tiny_width", "int", 4, "width of the tiny generator's hidden layer", minimum=1),)
    defaults = {"crop_size": 32, "load_size": 32, "preprocess_mode": "resize_and_crop", "no_instance": True}
    architecture_options = ("tiny_width",)

    @classmethod
    def build_model(cls, opt, device, vgg):
        from regionpaint.engines.training.model_base import TrainingModel

        class TinyTrainingModel(TrainingModel):
            def __init__(self) -> None:
                super().__init__(opt, device, None)
                generator, discriminator = _networks(opt.label_channels, opt.tiny_width)
                self.nets = {"G": generator.to(device), "D": discriminator.to(device)}

            def generator_losses(self, batch):
                import torch

                fake = self.nets["G"](batch.semantics)
                score = self.nets["D"](torch.cat([batch.semantics, fake], 1))
                return {"G_GAN": (1 - score).relu().mean(), "L1": (fake - batch.image).abs().mean()}, fake

            def discriminator_losses(self, batch, fake):
                import torch

                fake = self.nets["G"](batch.semantics).detach() if fake is None else fake.detach()
                real = self.nets["D"](torch.cat([batch.semantics, batch.image], 1))
                made = self.nets["D"](torch.cat([batch.semantics, fake], 1))
                return {"D_real": (1 - real).relu().mean(), "D_fake": (1 + made).relu().mean()}

        return TinyTrainingModel()


@regionpaint.hookimpl
def register_engines(register):
    register(TinyEngine)


@regionpaint.hookimpl
def register_trainers(register):
    register(TinyTrainer)
