"""Training on many processes: ``torchrun`` sets RANK/WORLD_SIZE/LOCAL_RANK, this module does the rest.

* :func:`init_distributed` joins the process group (NCCL on CUDA, gloo on CPU) and picks the device
  (``cuda:<LOCAL_RANK>``).
* :func:`convert_sync_batchnorm`: the official ``SynchronizedBatchNorm2d`` (SPADE's param-free norms, SEAN's
  ACEs) becomes ``nn.SyncBatchNorm`` on CUDA. ``nn.SyncBatchNorm`` refuses CPU tensors, so on CPU (gloo) the
  layers become :class:`GlooSyncBatchNorm2d`, which all-reduces the batch moments itself. Both keep the
  BatchNorm2d state-dict keys.
* Rank 0 writes checkpoints, samples and events; every rank reads its own shard of each epoch
  (``DistributedSampler``); a stop request on any rank stops all of them at the same step.
"""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def init_distributed(device: str = "auto") -> tuple[DistContext, torch.device]:
    """Join the torchrun process group if there is one; returns the context and this rank's device."""
    from regionpaint.engines.device import resolve_device

    if not launched_by_torchrun():
        return DistContext(), resolve_device(device)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    wants_cuda = device in ("auto", "cuda") or device.startswith("cuda")
    if wants_cuda and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        target, backend = torch.device("cuda", local_rank), "nccl"
    else:
        target, backend = torch.device("cpu"), "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(minutes=30))
    log.info("rank %d/%d on %s (%s)", rank, world, target, backend)
    return DistContext(rank, world, local_rank), target


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool, ctx: DistContext, device: torch.device) -> bool:
    """True on every rank when ``flag`` is True on at least one (a stop request, an error)."""
    if not ctx.enabled:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item() > 0)


def broadcast_object(value, ctx: DistContext):
    """Rank 0's ``value`` on every rank."""
    if not ctx.enabled:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        dist.barrier()


def all_reduce_mean(values: dict[str, float], ctx: DistContext, device: torch.device) -> dict[str, float]:
    """Average scalar losses over the ranks (what the report shows)."""
    if not ctx.enabled or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], device=device, dtype=torch.float64)
    dist.all_reduce(tensor)
    return {k: float(v) / ctx.world_size for k, v in zip(keys, tensor.tolist(), strict=True)}


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks whose backward sums the gradients over ranks too (d/dx_r of sum_r' L_r'(sum x))."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        out = x.clone()
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlooSyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics span every rank (for CPU/gloo, where nn.SyncBatchNorm refuses).

    Mean and variance come from all-reduced sums (an all-reduce whose backward also all-reduces, so the
    gradient crosses ranks as in nn.SyncBatchNorm); running statistics update with the unbiased global
    variance, as BatchNorm does.
    Outside training, or without a process group, it is a plain BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_available() and dist.is_initialized()):
            return super().forward(x)
        dims = (0, 2, 3)
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        moments = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        moments = _AllReduceSum.apply(moments)
        channels = x.shape[1]
        total = moments[-1]
        mean = moments[:channels] / total
        var = moments[channels : 2 * channels] / total - mean * mean
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                unbiased = var.detach() * total / (total - 1).clamp(min=1)
                self.running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                self.running_var.mul_(1 - momentum).add_(unbiased * momentum)
        shape = (1, channels, 1, 1)
        out = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def convert_sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Every BatchNorm2d of ``module`` synchronised across ranks (CUDA: nn.SyncBatchNorm; CPU: gloo version)."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return _convert_cpu(module)


def _convert_cpu(module: nn.Module) -> nn.Module:
    if isinstance(module, nn.BatchNorm2d) and not isinstance(module, GlooSyncBatchNorm2d):
        replacement = GlooSyncBatchNorm2d(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        with torch.no_grad():
            if module.affine:
                replacement.weight.copy_(module.weight)
                replacement.bias.copy_(module.bias)
        if module.track_running_stats:
            replacement.running_mean = module.running_mean
            replacement.running_var = module.running_var
            replacement.num_batches_tracked = module.num_batches_tracked
        replacement.train(module.training)
        return replacement
    for name, child in module.named_children():
        converted = _convert_cpu(child)
        if converted is not child:
            setattr(module, name, converted)
    return module


def wrap_ddp(module: nn.Module, ctx: DistContext, device: torch.device, find_unused: bool = False) -> nn.Module:
    """DistributedDataParallel around ``module`` (parameters broadcast from rank 0 here)."""
    if not ctx.enabled:
        return module
    if device.type == "cuda":
        return nn.parallel.DistributedDataParallel(
            module, device_ids=[device.index], output_device=device.index, find_unused_parameters=find_unused
        )
    return nn.parallel.DistributedDataParallel(module, find_unused_parameters=find_unused)


def unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module
