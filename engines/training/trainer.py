"""The training loop every engine shares (official ``train.py`` + ``Pix2PixTrainer``).

Per iteration: a generator step (every ``D_steps_per_G``-th batch of the epoch) then a discriminator step,
each with its own Adam. Per epoch: the learning rate ``lr * (1 - max(0, epoch - 1 - niter) / niter_decay)``
(the official decrement after each epoch past ``niter``), halved for G and doubled for D under TTUR
(SPADE/SEAN). On one process G's optimiser steps inside G's backward, parameter by parameter, and D's
parameters take no gradients in G's step (:mod:`regionpaint.engines.training.step_in_backward`; the same updates, less
memory). Checkpoints every ``save_every`` iterations, every ``save_epoch_freq`` epochs (plus an
``<epoch>_net_*`` copy), on a stop request and at the end; all written by rank 0.

``Trainer(opt, emit).run()`` returns a :class:`RunResult`; ``emit`` receives the events of
:mod:`regionpaint.engines.training.events` (rank 0 only).
"""

from __future__ import annotations

import logging
import math
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from regionpaint.engines import torchrun
from regionpaint.engines.acceleration.memory import release_free_memory
from regionpaint.engines.base import EngineError
from regionpaint.engines.training.checkpoints import RunDir, TrainState
from regionpaint.engines.training.datasets import PairedDataset, ResumableSampler
from regionpaint.engines.training.events import Emit, RateMeter, training_event
from regionpaint.engines.training.model_base import Batch, TrainingModel, make_batch
from regionpaint.engines.training.official_opt import official_opt
from regionpaint.engines.training.options import TrainOptions
from regionpaint.engines.training.samples import sample_grid, write_sample
from regionpaint.engines.training.step_in_backward import StepInBackward
from regionpaint.engines.training.stopping import StopRequest
from regionpaint.engines.training.validation import DatasetReport, validate_dataset

log = logging.getLogger(__name__)


class TrainingError(EngineError):
    """A problem the user can fix before training (dataset, options, files); the message says which."""


@dataclass
class RunResult:
    status: str  # "done" or "stopped"
    step: int
    epoch: int
    run_dir: Path
    losses: dict[str, float] = field(default_factory=dict)


def _ignore_interrupts(worker_id: int) -> None:
    """Data workers leave Ctrl-C to the trainer, which stops at the next iteration and saves."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def scheduled_lr(opt: TrainOptions, epoch: int) -> float:
    """The official base learning rate during ``epoch`` (1-based)."""
    if opt.niter_decay <= 0:
        return opt.lr
    decrements = max(0, epoch - 1 - opt.niter)
    return max(0.0, opt.lr - decrements * opt.lr / opt.niter_decay)


class Trainer:
    # On one process G's optimiser steps inside G's backward and D has no gradients in G's step (the same
    # updates, ~1 GB less peak memory on full-size SEAN); False: the plain official order (tests compare).
    step_generator_in_backward = True

    def __init__(self, opt: TrainOptions, emit: Emit | None = None, stop: StopRequest | None = None) -> None:
        self.opt = opt.copy()
        self._emit = emit or (lambda event: None)
        self.stop = stop or StopRequest()
        self.run_dir = RunDir(opt.out)
        self.model: TrainingModel | None = None
        self.report: DatasetReport | None = None
        self.pending_warnings: list[str] = []  # emitted right after "start"

    # ---- entry point ---------------------------------------------------------------------------------
    def run(self) -> RunResult:
        ctx, device = torchrun.init_distributed(self.opt.device)
        self.ctx, self.device = ctx, device
        try:
            with self.stop.signal_handlers():  # a stop during set-up is honoured before the first step
                return self._run()
        except TrainingError as exc:
            self.emit("error", message=str(exc))
            raise
        except Exception as exc:  # a crash still tells the job runner why, before the traceback
            self.emit("error", message=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            torchrun.shutdown()

    def emit(self, kind: str, **fields: Any) -> None:
        if self.ctx.is_main:
            self._emit(training_event(kind, **fields))

    def _run(self) -> RunResult:
        opt, ctx = self.opt, self.ctx
        samples = self._dataset()
        if opt.batchSize % ctx.world_size:
            raise TrainingError(f"--batch-size {opt.batchSize} is not a multiple of the {ctx.world_size} processes")
        self.iters_per_epoch = len(samples) // opt.batchSize
        if self.iters_per_epoch < 1:
            raise TrainingError(f"{len(samples)} training pairs: fewer than one batch of {opt.batchSize}")
        self.total_steps = self._plan_steps()
        if ctx.is_main:
            self.run_dir.prepare()
        state = self._resume_state()
        vgg = self._vgg()
        if ctx.is_main:
            official = official_opt(opt, ctx.world_size, self.device.type == "cuda")
            self.run_dir.write_options(opt.trainer.opt_text(official), opt.to_json())
        torch.manual_seed(opt.seed)  # identical initial weights on every rank
        self.model = opt.trainer.build_model(opt, self.device, vgg)
        self._load_weights(state)
        torch.manual_seed(opt.seed + 7919 * ctx.rank + state.step)  # noise / z differ per rank and after resume
        self.model.distribute(ctx)
        self.model.train_mode()
        # One process: G's optimiser steps inside its backward (engines/training/step_in_backward.py).
        in_backward = self.step_generator_in_backward and not ctx.enabled
        self.step_in_backward = StepInBackward(self.model.generator_parameters()) if in_backward else None
        optimizers = self._optimizers(state)
        return self._loop(samples, state, optimizers)

    # ---- preparation ---------------------------------------------------------------------------------
    def _dataset(self) -> list:
        """Validate (rank 0, every file) and agree on the samples and the label options on every rank."""
        opt, ctx = self.opt, self.ctx
        verdict = None
        if ctx.is_main:
            report = validate_dataset(
                opt.dataroot,
                opt.layout,
                phase=opt.phase,
                label_dir=opt.label_dir,
                image_dir=opt.image_dir,
                instance_dir=opt.instance_dir,
                label_nc=opt.label_nc,
                contain_dontcare_label=opt.contain_dontcare_label,
                ade20k_raw_ids=opt.ade20k_raw_ids,
            )
            self.report = report
            verdict = self._dataset_verdict(report)
        verdict = torchrun.broadcast_object(verdict, ctx)
        if "error" in verdict:
            raise TrainingError(verdict["error"])
        for key in ("label_nc", "contain_dontcare_label", "no_instance", "layout"):
            setattr(opt, key, verdict[key])
        opt.notes += verdict["notes"]
        samples = verdict["samples"]
        return samples[: opt.max_dataset_size] if opt.max_dataset_size else samples

    def _dataset_verdict(self, report: DatasetReport) -> dict:
        opt = self.opt
        if not report.ok:
            where = opt.dataroot or opt.label_dir
            return {"error": f"the dataset at {where} cannot be trained on:\n{report.summary()}"}
        notes: list[str] = []
        label_nc, dontcare, no_instance = opt.label_nc, opt.contain_dontcare_label, opt.no_instance
        if label_nc is None:
            label_nc = report.suggested_label_nc()
            dontcare = dontcare or report.has_dontcare
            extra = "; 255 kept as dont-care" if dontcare else ""
            notes.append(f"label_nc {label_nc} from the data (max id + 1){extra}")
        if not no_instance and not report.has_instances:
            if report.layout in ("cityscapes", "coco-stuff"):
                return {"error": f"the {report.layout} layout needs instance maps; none found (or pass --no_instance)"}
            no_instance = True
            notes.append("no instance maps found: training without the instance-edge channel (no_instance)")
        if report.unpaired:
            notes.append(f"{len(report.unpaired)} unpaired file(s) left out (first: {report.unpaired[0]})")
        return {
            "samples": report.samples,
            "label_nc": label_nc,
            "contain_dontcare_label": dontcare,
            "no_instance": no_instance,
            "layout": report.layout,
            "notes": notes,
        }

    def _plan_steps(self) -> int:
        """Total iterations: the epochs' worth, or ``--steps`` (extending niter when steps need more epochs)."""
        opt = self.opt
        by_epochs = opt.total_epochs * self.iters_per_epoch
        if opt.steps is None:
            return by_epochs
        needed = math.ceil(opt.steps / self.iters_per_epoch)
        if needed > opt.total_epochs and opt.epochs is None:
            opt.niter += needed - opt.total_epochs
            opt.notes.append(f"--steps {opt.steps} needs {needed} epochs: niter extended to {opt.niter}")
            return opt.steps
        return min(opt.steps, by_epochs)

    def _resume_state(self) -> TrainState:
        if not self.opt.resume:
            return TrainState()
        if not self.run_dir.has_checkpoint():
            raise TrainingError(f"--resume: no checkpoint in {self.run_dir.path} (latest_net_G.pth, train_state.json)")
        return self.run_dir.load_state()

    def _vgg(self):
        from regionpaint.engines.training.vgg import VGGWeightsError, find_vgg19_weights, load_vgg19

        opt = self.opt
        if opt.no_vgg_loss:
            return None
        try:
            return load_vgg19(find_vgg19_weights(opt.vgg_weights), self.device)
        except VGGWeightsError as exc:
            if opt.vgg_weights:
                raise TrainingError(str(exc)) from exc
            opt.no_vgg_loss = True
            message = f"training WITHOUT the VGG perceptual loss: {exc}"
            opt.notes.append(message)
            self.pending_warnings.append(message)
            log.info("%s", message)  # reported as a "warning" event (the CLI shows it once)
            return None

    def _load_weights(self, state: TrainState) -> None:
        model = self.model
        if self.opt.resume:
            states = {role: self.run_dir.load_network(role) for role in model.nets}
            missing = [role for role, sd in states.items() if sd is None]
            if missing:
                raise TrainingError(f"--resume: {self.run_dir.path} lacks latest_net_{missing[0]}.pth")
            try:
                model.load_states(states)
            except RuntimeError as exc:
                raise TrainingError(f"--resume: the checkpoint does not fit these options ({exc})") from exc
        elif self.opt.load_pretrain:
            self._load_pretrained(Path(self.opt.load_pretrain))

    def _load_pretrained(self, folder: Path) -> None:
        """Official ``load_network`` with a pretrained path: every key whose name and shape match."""
        source = RunDir(folder)
        for role, net in self.model.nets.items():
            loaded = source.load_network(role)
            if loaded is None:
                continue
            own = net.state_dict()
            matching = {k: v for k, v in loaded.items() if k in own and own[k].shape == v.shape}
            net.load_state_dict({**own, **matching})
            self.opt.notes.append(f"{role}: {len(matching)}/{len(own)} tensors from {folder}")

    def _optimizers(self, state: TrainState) -> dict[str, torch.optim.Optimizer]:
        opt, model = self.opt, self.model
        which = state.generator_params if opt.resume else opt.trainer.generator_param_set(opt, state.epoch)
        g_lr, d_lr = model.learning_rates(scheduled_lr(opt, state.epoch))
        optimizers = {
            "G": torch.optim.Adam(model.generator_parameters(which), lr=g_lr, betas=opt.betas),
            "D": torch.optim.Adam(model.discriminator_parameters(), lr=d_lr, betas=opt.betas),
        }
        self.generator_params = which
        if opt.resume:
            saved = self.run_dir.load_optimizers()
            if saved is None:
                log.warning("no %s: optimiser state starts fresh", "latest_optim.pth")
            else:
                optimizers["G"].load_state_dict(saved["optimizer_G"])
                optimizers["D"].load_state_dict(saved["optimizer_D"])
        return optimizers

    # ---- the loop ------------------------------------------------------------------------------------
    def _loop(self, samples: list, state: TrainState, optimizers: dict) -> RunResult:
        opt, ctx = self.opt, self.ctx
        dataset = PairedDataset(samples, opt, seed=opt.seed)
        per_rank = opt.batchSize // ctx.world_size
        sampler = ResumableSampler(dataset, ctx.world_size, ctx.rank, seed=opt.seed)
        loader = DataLoader(
            dataset,
            batch_size=per_rank,
            sampler=sampler,
            drop_last=True,
            num_workers=opt.nThreads,
            pin_memory=self.device.type == "cuda",
            worker_init_fn=_ignore_interrupts if opt.nThreads else None,
        )
        self._start_event(state)
        meter, started, losses = RateMeter(), time.perf_counter(), {}
        meter.mark(state.step)
        if torchrun.any_rank(self.stop.requested, ctx, self.device):
            return self._stopped(state, optimizers)
        while state.step < self.total_steps:
            optimizers = self._begin_epoch(state, optimizers)
            sampler.set_epoch(state.epoch, skip=state.epoch_batches * per_rank)
            dataset.set_epoch(state.epoch)
            for item in loader:
                batch = make_batch(item, opt, self.device)
                losses, fake = self._iteration(batch, optimizers, state.epoch_batches)
                state.step += 1
                state.epoch_batches += 1
                meter.mark(state.step)
                self._after_iteration(state, batch, fake, losses, meter, optimizers)
                if torchrun.any_rank(self.stop.requested, ctx, self.device):
                    return self._stopped(state, optimizers)
                if state.step >= self.total_steps:
                    break
            if state.epoch_batches >= self.iters_per_epoch:
                self._end_epoch(state, optimizers)
        self._save(state, optimizers, "final")
        if self.ctx.is_main:
            opt.trainer.after_training(self)
        torchrun.barrier(ctx)
        self.emit("done", step=state.step, checkpoint=str(self.run_dir.path), seconds=time.perf_counter() - started)
        return RunResult("done", state.step, state.epoch, self.run_dir.path, self._floats(losses))

    def _start_event(self, state: TrainState) -> None:
        opt, report = self.opt, self.report
        dataset = {"layout": opt.layout, "pairs": len(report.samples) if report else None}
        if report is not None:
            dataset["unpaired"] = len(report.unpaired)
        self.emit(
            "start",
            engine=opt.engine,
            run_dir=str(self.run_dir.path),
            device=str(self.device),
            world_size=self.ctx.world_size,
            dataset=dataset,
            total_steps=self.total_steps,
            iters_per_epoch=self.iters_per_epoch,
            epochs=opt.total_epochs,
            start_step=state.step,
            resumed=opt.resume,
            options=official_opt(opt, self.ctx.world_size, self.device.type == "cuda"),
            notes=list(opt.notes),
        )
        for message in self.pending_warnings:
            self.emit("warning", message=message)

    def _begin_epoch(self, state: TrainState, optimizers: dict) -> dict:
        opt, model = self.opt, self.model
        which = opt.trainer.generator_param_set(opt, state.epoch)
        if which != self.generator_params:
            # Official update_fixed_params: a fresh Adam over every generator (and encoder) parameter.
            optimizers["G"] = torch.optim.Adam(model.generator_parameters(which), lr=opt.lr, betas=opt.betas)
            self.generator_params = which
            opt.notes.append(f"epoch {state.epoch}: now training the whole generator")
        g_lr, d_lr = model.learning_rates(scheduled_lr(opt, state.epoch))
        for group in optimizers["G"].param_groups:
            group["lr"] = g_lr
        for group in optimizers["D"].param_groups:
            group["lr"] = d_lr
        return optimizers

    def _iteration(self, batch: Batch, optimizers: dict, index_in_epoch: int):
        model = self.model
        # The training process keeps freed memory in the heap (engines/acceleration/memory.py), so a step reuses
        # the last one's pages; the holes left between them would add to the next step's peak (full-size
        # SEAN: ~400 MB, above the official process's). One trim per iteration returns them.
        release_free_memory()
        losses: dict[str, torch.Tensor] = {}
        fake = None
        if index_in_epoch % self.opt.D_steps_per_G == 0:
            self._zero_grads()
            in_backward = self.step_in_backward is not None and StepInBackward.supports(optimizers["G"])
            with self._discriminator_frozen(in_backward):
                g_losses, fake = model.generator_losses(batch)
                stepping = self.step_in_backward.stepping(optimizers["G"]) if in_backward else nullcontext()
                with stepping:
                    sum(g_losses.values()).backward()
            if not in_backward:
                optimizers["G"].step()
            losses.update(g_losses)
        self._zero_grads()
        d_losses = model.discriminator_losses(batch, fake)
        model.discriminator_total(d_losses).backward()
        optimizers["D"].step()
        losses.update(d_losses)
        return losses, fake

    @contextmanager
    def _discriminator_frozen(self, frozen: bool):
        """D without parameter gradients during the generator step (the official code computes them and
        zeroes them before D's step: the same updates, less work). One process only (DDP expects them)."""
        params = [p for p in self.model.discriminator_parameters() if p.requires_grad] if frozen else []
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    def _zero_grads(self) -> None:
        for param in self.model.all_parameters():
            param.grad = None

    def _after_iteration(self, state, batch, fake, losses, meter: RateMeter, optimizers) -> None:
        opt, step = self.opt, state.step
        if step % opt.log_every == 0 or step == 1 or step == self.total_steps:
            values = torchrun.all_reduce_mean(self._floats(losses), self.ctx, self.device)
            record = {
                "step": step,
                "total_steps": self.total_steps,
                "epoch": state.epoch,
                "epoch_iter": state.epoch_batches * opt.batchSize,
                "losses": values,
                "lr": {"G": optimizers["G"].param_groups[0]["lr"], "D": optimizers["D"].param_groups[0]["lr"]},
                "it_s": meter.rate(),
                "eta_s": meter.eta(step, self.total_steps),
            }
            if self.ctx.is_main:
                self.run_dir.append_loss_log({"time": round(time.time(), 3), **record})
            self.emit("step", **record)
        else:  # no losses (no reduction across ranks): where the run is, for a progress bar that moves every step
            self.emit(
                "progress",
                step=step,
                total_steps=self.total_steps,
                epoch=state.epoch,
                it_s=meter.rate(),
                eta_s=meter.eta(step, self.total_steps),
            )
        if self.ctx.is_main and fake is not None and (step % opt.sample_every == 0 or step == 1):
            grid = sample_grid(batch.label, fake, batch.image, opt.label_channels)
            self.emit("sample", step=step, path=str(write_sample(self.run_dir.sample_path(step), grid)))
        if step % opt.save_every == 0:
            self._save(state, optimizers, "interval")

    def _end_epoch(self, state: TrainState, optimizers: dict) -> None:
        finished = state.epoch
        state.epoch += 1
        state.epoch_batches = 0
        if finished % self.opt.save_epoch_freq == 0:
            self._save(state, optimizers, "epoch", epoch_copy=finished)

    def _stopped(self, state: TrainState, optimizers: dict) -> RunResult:
        self._save(state, optimizers, "stop")
        torchrun.barrier(self.ctx)
        reason = self.stop.reason or "requested"
        self.emit("stopped", step=state.step, reason=reason, checkpoint=str(self.run_dir.path))
        return RunResult("stopped", state.step, state.epoch, self.run_dir.path)

    def _save(self, state: TrainState, optimizers: dict, reason: str, epoch_copy: int | None = None) -> None:
        if not self.ctx.is_main:
            return
        state.generator_params = self.generator_params
        files = self.run_dir.save(
            self.model.official_states(),
            {"optimizer_G": optimizers["G"].state_dict(), "optimizer_D": optimizers["D"].state_dict()},
            state,
            state.epoch_batches * self.opt.batchSize,
            epoch_copy,
        )
        self.emit("checkpoint", step=state.step, epoch=state.epoch, reason=reason, files=[str(f) for f in files])

    def training_samples(self) -> list:
        """Every training sample of the run (after ``max_dataset_size``), for work after training."""
        samples = self.report.samples
        return samples[: self.opt.max_dataset_size] if self.opt.max_dataset_size else samples

    @staticmethod
    def _floats(losses: dict[str, torch.Tensor]) -> dict[str, float]:
        return {k: float(v.detach().float().mean()) for k, v in losses.items()}
