"""What every engine's training model provides to the trainer.

A model owns its networks under their official roles (``G``, ``D``, ``E``), computes the generator and
discriminator objectives for one batch, and hands out the parameter groups for the two optimisers. The
trainer owns the loop, the optimisers, the schedule, DDP and the files.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn

from regionpaint.engines.layers.tensors import instance_edges, one_hot
from regionpaint.engines.torchrun import DistContext, convert_sync_batchnorm, unwrap, wrap_ddp
from regionpaint.engines.training.losses import VGGLoss
from regionpaint.engines.training.options import TrainOptions

Losses = dict[str, torch.Tensor]


@dataclass
class Batch:
    """One batch on the device. semantics: (B, label_channels [+1 edge], H, W) float; label: (B, 1, H, W)
    int64 channel ids; instance: (B, 1, H, W) int64; image: (B, 3, H, W) in [-1, 1]."""

    semantics: torch.Tensor
    label: torch.Tensor
    instance: torch.Tensor
    image: torch.Tensor


def make_batch(item: dict, opt: TrainOptions, device: torch.device) -> Batch:
    """The official ``preprocess_input``: one-hot by scatter, then the instance edge map as the last channel."""
    label = item["label"].to(device, non_blocking=True)
    instance = item["instance"].to(device, non_blocking=True)
    image = item["image"].to(device, non_blocking=True)
    semantics = one_hot(label, opt.label_channels)
    if not opt.no_instance:
        semantics = torch.cat([semantics, instance_edges(instance)], dim=1)
    return Batch(semantics, label, instance, image)


def split_predictions(preds: list[list[torch.Tensor]]) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """Official ``divide_pred``: D saw cat([fake, real]) in one batch; first half fake, second half real."""
    fake = [[t[: t.shape[0] // 2] for t in scale] for scale in preds]
    real = [[t[t.shape[0] // 2 :] for t in scale] for scale in preds]
    return fake, real


def discriminate_fake_and_real(
    discriminator: nn.Module, semantics: torch.Tensor, fake: torch.Tensor, real: torch.Tensor
) -> tuple[list[list[torch.Tensor]], list[list[torch.Tensor]]]:
    """SPADE/SEAN ``discriminate``: one D pass over cat([semantics+fake, semantics+real]) -> (fake, real) preds."""
    fake_and_real = torch.cat([torch.cat([semantics, fake], dim=1), torch.cat([semantics, real], dim=1)], dim=0)
    return split_predictions(discriminator(fake_and_real))


class TrainingModel(abc.ABC):
    """Networks + objectives of one engine. Subclasses set ``nets`` in ``__init__``."""

    # Roles whose parameters the generator optimiser updates, in order.
    generator_roles: tuple[str, ...] = ("G",)
    # DDP must tolerate parameters without gradients (e.g. only some classes present).
    find_unused_parameters: bool = False

    def __init__(self, opt: TrainOptions, device: torch.device, vgg: nn.Module | None) -> None:
        self.opt = opt
        self.device = device
        self.nets: dict[str, nn.Module] = {}
        self.vgg_loss = VGGLoss(vgg) if vgg is not None else None

    # ---- networks ----------------------------------------------------------------------------------
    def module(self, role: str) -> nn.Module:
        return unwrap(self.nets[role])

    def official_states(self) -> dict[str, dict[str, torch.Tensor]]:
        """State dicts under the official keys, by role (unwrapped from DDP)."""
        return {role: self.module(role).state_dict() for role in self.nets}

    def load_states(self, states: dict[str, dict[str, torch.Tensor]], strict: bool = True) -> None:
        for role, state in states.items():
            if role in self.nets:
                self.module(role).load_state_dict(state, strict=strict)

    def train_mode(self) -> None:
        for net in self.nets.values():
            net.train()

    def distribute(self, ctx: DistContext) -> None:
        """Synchronised batch norms and DDP around every network (no-op on one process)."""
        if not ctx.enabled:
            return
        for role, net in list(self.nets.items()):
            net = convert_sync_batchnorm(net, self.device)
            self.nets[role] = wrap_ddp(net, ctx, self.device, self.find_unused_parameters)

    # ---- optimisation --------------------------------------------------------------------------------
    def generator_parameters(self, which: str = "all") -> list[nn.Parameter]:
        params: list[nn.Parameter] = []
        for role in self.generator_roles:
            if role in self.nets:
                params += list(self.module(role).parameters())
        return params

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.module("D").parameters())

    def learning_rates(self, lr: float) -> tuple[float, float]:
        """(G lr, D lr) for the current base rate: the same for both (SPADE's TTUR overrides this)."""
        return lr, lr

    # ---- objectives ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def generator_losses(self, batch: Batch) -> tuple[Losses, torch.Tensor]:
        """The generator objective's terms (already weighted) and the generated images (B, 3, H, W)."""

    @abc.abstractmethod
    def discriminator_losses(self, batch: Batch, fake: torch.Tensor | None) -> Losses:
        """The discriminator objective's terms; ``fake`` is this iteration's generator output (None when the
        iteration had no generator step)."""

    def discriminator_total(self, losses: Losses) -> torch.Tensor:
        return sum(losses.values())

    def all_parameters(self) -> Iterable[nn.Parameter]:
        for net in self.nets.values():
            yield from net.parameters()
