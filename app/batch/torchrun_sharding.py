"""Ranks of a ``torchrun`` batch: which items a rank renders, and counts shared by all ranks.

Items are sorted by output key before sharding, and rank ``r`` of ``W`` takes items ``r, r+W, r+2W, ...``,
so every rank derives the same split without talking, and each file is rendered exactly once. Progress and
stop requests go through the process group's key-value store (``add`` is atomic and needs no collective
call), so ranks with more or fewer items never wait for each other until the final barrier.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def shard(items: Sequence[T], rank: int, world_size: int) -> list[T]:
    """This rank's items (round robin over the sorted list)."""
    return list(items[rank::world_size])


@dataclass
class Ranks:
    """This process's place in the run; ``store`` is torch.distributed's store (None alone)."""

    rank: int = 0
    world_size: int = 1
    store: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def add_done(self, count: int) -> int:
        """Add ``count`` finished outputs; returns the count over all ranks."""
        if self.store is None:
            self._local = getattr(self, "_local", 0) + count
            return self._local
        return int(self.store.add("regionpaint_batch_done", count))

    def global_done(self) -> int:
        return self.add_done(0)

    def request_stop(self) -> None:
        if self.store is not None:
            self.store.add("regionpaint_batch_stop", 1)

    def stop_requested(self) -> bool:
        return self.store is not None and int(self.store.add("regionpaint_batch_stop", 0)) > 0

    def finish(self) -> None:
        if self.store is not None:
            self.store.add("regionpaint_batch_finished", 1)

    def wait_for_all(self, on_tick=None, interval: float = 0.2) -> None:
        """Rank 0: wait until every rank has finished its items, calling ``on_tick(global_done)``."""
        if self.store is None:
            return
        while int(self.store.add("regionpaint_batch_finished", 0)) < self.world_size:
            if on_tick is not None:
                on_tick(self.global_done())
            time.sleep(interval)


def join(device: str) -> tuple[Ranks, Any]:
    """Join torchrun's process group when launched by it (gloo on CPU); returns (ranks, torch device)."""
    from regionpaint.engines.torchrun import init_distributed, launched_by_torchrun

    ctx, torch_device = init_distributed(device)
    if not launched_by_torchrun():
        return Ranks(), torch_device
    import torch.distributed as dist

    store = dist.distributed_c10d._get_default_store()  # the rendezvous store torchrun set up
    return Ranks(ctx.rank, ctx.world_size, store), torch_device


def gather(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's ``value`` (a collective: all ranks call it once, at the end)."""
    if not ranks.distributed:
        return [value]
    import torch.distributed as dist

    values: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(values, value)
    return values


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        import torch.distributed as dist

        dist.barrier()


def leave(ranks: Ranks) -> None:
    from regionpaint.engines.torchrun import shutdown

    if ranks.distributed:
        shutdown()
