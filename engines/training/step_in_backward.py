"""The generator's optimiser step taken inside its backward pass, one parameter at a time.

A generator step holds every gradient of G at once (about 1.1 GB for full-size SEAN, as much as its
weights) until ``optimizer.step()``. Stepping each parameter as soon as its gradient is complete (a
``post_accumulate_grad`` hook) and dropping that gradient keeps only the gradients still being computed:
the iteration's peak memory falls by most of that, and the step is the very same update -- the
optimiser's own ``step()`` restricted to that one parameter, so its state, its ``state_dict`` (the
checkpoints) and its arithmetic are unchanged. A parameter's hook runs after every node that used it has
run, so no saved tensor is read after its update.

Only on one process with one parameter group (DDP all-reduces gradients after they are accumulated).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch


class StepInBackward:
    """Hooks on ``params``; while :meth:`stepping` is active each gradient is applied and freed at once."""

    def __init__(self, params: Iterable[torch.nn.Parameter]) -> None:
        self._optimizer: torch.optim.Optimizer | None = None
        self._members: set[int] = set()
        self.stepped = 0
        self._handles = [p.register_post_accumulate_grad_hook(self._hook) for p in params if p.requires_grad]

    @staticmethod
    def supports(optimizer: torch.optim.Optimizer) -> bool:
        return len(optimizer.param_groups) == 1

    @contextmanager
    def stepping(self, optimizer: torch.optim.Optimizer) -> Iterator[None]:
        """Within the block, gradients of the optimiser's parameters update them as they arrive."""
        group = optimizer.param_groups[0]
        self._optimizer, self._members, self.stepped = optimizer, {id(p) for p in group["params"]}, 0
        try:
            yield
        finally:
            self._optimizer, self._members = None, set()

    def _hook(self, param: torch.Tensor) -> None:
        optimizer = self._optimizer
        if optimizer is None or id(param) not in self._members:
            return
        group = optimizer.param_groups[0]
        everything = group["params"]
        group["params"] = [param]
        try:
            optimizer.step()
        finally:
            group["params"] = everything
        param.grad = None
        self.stepped += 1

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
