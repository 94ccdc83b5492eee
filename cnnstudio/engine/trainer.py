"""The training loop as a generator: a caller pumps ``Trainer.run()``, pauses by not pulling,
and stops with ``stop()`` or by dropping the generator (principle 5 of DESIGN.md).

Data: ``x`` float NCHW ``(N, C, H, W)`` (or ``(N, F)``) host arrays, already scaled
(``data.to_float_nchw`` converts uint8 images); ``y`` int class indices ``(N,)``.
Each epoch visits a fresh permutation drawn from the seed; the last, smaller batch is
kept. With the same seed, two CPU runs are bit-for-bit identical.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from cnnstudio.engine.evaluation import EvalResult, evaluate
from cnnstudio.engine.kernels import cpu_cores, engine_threads
from cnnstudio.engine.losses import check_labels
from cnnstudio.engine.network import Network
from cnnstudio.engine.optimizers import Optimizer, check_lr
from cnnstudio.engine.schedules import ConstantSchedule, Schedule
from cnnstudio.engine.stats import LayerStats

BatchTransform = Callable[[np.ndarray, np.random.Generator], np.ndarray]

__all__ = ["Trainer", "StepReport", "EpochReport", "evaluate", "EvalResult"]


@dataclass(frozen=True)
class StepReport:
    """One finished training step. ``epoch`` and ``step_in_epoch`` are 0-based.

    ``images_per_sec`` is over the epoch so far, counting only time spent computing (not
    time the caller held the generator paused). ``layer_stats`` is None except every
    ``stats_every`` steps. ``finite`` is False when the loss became NaN or infinite.
    ``batch_size`` is the number of samples in this batch (the last one may be smaller).
    """

    epoch: int
    step_in_epoch: int
    steps_per_epoch: int
    global_step: int
    loss: float
    accuracy: float
    lr: float
    images_per_sec: float
    finite: bool
    layer_stats: list[LayerStats] | None = None
    batch_size: int = 0


@dataclass(frozen=True)
class EpochReport:
    """One finished epoch: mean training loss/accuracy over its steps, validation results
    (None without validation data), the last lr, compute seconds and images/s."""

    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float | None
    val_acc: float | None
    lr: float
    seconds: float
    images_per_sec: float


class Trainer:
    """Trains ``network`` with ``optimizer`` on (x_train, y_train).

    The learning rate comes from ``schedule`` (or a constant ``lr``) until ``set_lr``
    overrides it. ``threads``: how many threads a step runs on (each runs the network on
    its share of the batch, or, with BatchNorm, the layers are split; BLAS at one thread
    inside each, see ``kernels.engine_threads`` and ``engine.replicas``); "auto" uses
    cores - 1 (at least 1, at most ``AUTO_THREADS_MAX``), which leaves a core for the GUI; None leaves BLAS as it is and
    runs the engine's loops serially. ``processes``: run that many processes instead of
    threads (``Network.set_worker_processes``: the same split, bit-identical, for networks
    whose layers are all sample-independent; others keep the threads). Controls (``set_lr``, ``set_batch_transform``,
    ``add_epochs``, ``stop``) take effect at the next step. ``run()`` may be called again after it returns (after
    ``stop()`` or ``add_epochs``): it continues exactly where it left off.
    """

    def __init__(self, network: Network, optimizer: Optimizer, x_train: Any, y_train: Any,
                 x_val: Any = None, y_val: Any = None, batch_size: int = 64, epochs: int = 10,
                 schedule: Schedule | None = None, lr: float = 0.01, seed: int = 0,
                 batch_transform: BatchTransform | None = None, stats_every: int = 20,
                 threads: int | str | None = "auto", processes: bool = False):
        self.network, self.optimizer = network, optimizer
        self.x_train, self.y_train = x_train, np.asarray(y_train)
        if len(self.x_train) != len(self.y_train) or len(self.y_train) == 0:
            raise ValueError(f"Trainer: x_train has {len(self.x_train)} samples and y_train "
                             f"{len(self.y_train)} labels; they must match and not be empty")
        if (x_val is None) != (y_val is None):
            raise ValueError("Trainer: give both x_val and y_val, or neither")
        _check_data(network, "training", x_train, self.y_train)
        if x_val is not None:
            _check_data(network, "validation", x_val, np.asarray(y_val))
        self.x_val, self.y_val = x_val, y_val
        if int(batch_size) < 1 or int(epochs) < 0:
            raise ValueError(f"Trainer: batch_size must be >= 1 and epochs >= 0, got {batch_size}, {epochs}")
        self.batch_size, self.epochs = int(batch_size), int(epochs)
        self.steps_per_epoch = math.ceil(len(self.y_train) / self.batch_size)
        self._base_schedule = schedule if schedule is not None else ConstantSchedule(check_lr(lr))
        self._bind_schedule()
        self.batch_transform = batch_transform
        self.stats_every = int(stats_every)
        self._threads = _thread_limiter(threads)
        if processes:   # the same split over worker processes (engine.procpool), bit-identical;
            # steps the processes do not take (statistics, small batches) keep the threads
            count = _thread_count(threads)
            network.set_worker_processes(count if count > 1 else 0)
        # Two streams from one seed: shuffling never shifts when augmentation draws more numbers.
        shuffle_seq, aug_seq = np.random.SeedSequence(seed).spawn(2)
        self._shuffle_rng = np.random.default_rng(shuffle_seq)
        self.aug_rng = np.random.default_rng(aug_seq)
        self.epoch = 0
        self.global_step = 0
        self._step_in_epoch = 0
        self._perm: np.ndarray | None = None
        self._epoch_sums = [0.0, 0.0, 0, 0.0]  # loss*n, correct, seen, compute seconds
        self._lr_override: float | None = None
        self._last_lr = self.schedule.lr_at(0)
        self.lr_changes: list[tuple[int, float]] = []
        self._stop = False
        self.last_good_weights: dict[str, np.ndarray] = network.get_weights()

    # ---- controls (take effect at the next step) -----------------------------
    def set_lr(self, lr: float, keep_schedule: bool = False) -> None:
        """Use ``lr`` from the next step on; recorded in ``lr_changes``. Plain: ``lr`` from then
        on, instead of the schedule. ``keep_schedule``: the schedule scaled to give ``lr`` at
        the next step and keep its shape after it (``schedules.rescaled_at``; a cosine goes on
        decaying from ``lr``); where it gives 0 there, ``lr`` is held constant instead."""
        lr = check_lr(lr)
        self.lr_changes.append((self.global_step, lr))
        if keep_schedule:
            from cnnstudio.engine.schedules import rescaled_at
            scaled = rescaled_at(self.schedule, self.global_step, lr)
            if scaled is not None:  # scale the unbound base: add_epochs still stretches it
                factor = scaled.lr / self.schedule.lr
                self._base_schedule = self._base_schedule.scaled(factor)
                self._bind_schedule()
                self._lr_override = None
                return
        self._lr_override = lr

    @property
    def follows_schedule(self) -> bool:
        """False once a plain ``set_lr`` holds the rate constant."""
        return self._lr_override is None

    def set_batch_transform(self, fn: BatchTransform | None) -> None:
        """Augmentation: ``fn(x: (B, C, H, W) float, rng) -> x`` applied to each training batch."""
        self.batch_transform = fn

    def add_epochs(self, n: int) -> None:
        """Train ``n`` more epochs. A cosine schedule whose length the Trainer filled in is
        stretched over the longer run (otherwise the extra epochs would run at ``min_lr``)."""
        if isinstance(n, bool) or int(n) < 1:
            raise ValueError(f"add_epochs: n must be a whole number >= 1, got {n!r}")
        self.epochs += int(n)
        self._bind_schedule()

    def _bind_schedule(self) -> None:
        self.schedule = self._base_schedule.bind(self.steps_per_epoch, self.steps_per_epoch * max(self.epochs, 1))

    def stop(self) -> None:
        """Ask ``run()`` to return after the current step."""
        self._stop = True

    def current_lr(self) -> float:
        """The learning rate the next step will use."""
        if self._lr_override is not None:
            return self._lr_override
        return self.schedule.lr_at(self.global_step)

    @property
    def finished(self) -> bool:
        return self.epoch >= self.epochs

    # ---- the loop -------------------------------------------------------------
    def run(self) -> Iterator[StepReport | EpochReport]:
        """Yield a StepReport per batch and an EpochReport at the end of every epoch."""
        self._stop = False
        while not self.finished:
            if self._perm is None:
                self._perm = self._shuffle_rng.permutation(len(self.y_train))
                self._epoch_sums = [0.0, 0.0, 0, 0.0]
            while self._step_in_epoch < self.steps_per_epoch:
                if self._stop:
                    return
                yield self._step()
            yield self._end_epoch()

    def _step(self) -> StepReport:
        s, b = self._step_in_epoch, self.batch_size
        assert self._perm is not None   # drawn at the start of each epoch (run)
        idx = self._perm[s * b:(s + 1) * b]
        lr = self.current_lr()
        collect = self.stats_every > 0 and self.global_step % self.stats_every == 0
        t0 = time.perf_counter()
        x = self.x_train[idx]
        if self.batch_transform is not None:
            x = self.batch_transform(x, self.aug_rng)
        # A diverging run is reported through ``finite``; NumPy's overflow warnings would only spam.
        with self._threads(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, acc = self.network.train_step(x, self.y_train[idx], self.optimizer, lr, collect_stats=collect)
        self._last_lr = lr
        sums = self._epoch_sums
        sums[0] += loss * len(idx)
        sums[1] += acc * len(idx)
        sums[2] += len(idx)
        sums[3] += time.perf_counter() - t0
        report = StepReport(self.epoch, s, self.steps_per_epoch, self.global_step, loss, acc, lr,
                            sums[2] / max(sums[3], 1e-9), math.isfinite(loss),
                            self.network.last_stats if collect else None, len(idx))
        self._step_in_epoch += 1
        self.global_step += 1
        return report

    def _end_epoch(self) -> EpochReport:
        t0 = time.perf_counter()
        loss_sum, correct, seen, seconds = self._epoch_sums
        val_loss = val_acc = None
        if self.x_val is not None:
            with self._threads(), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                result = evaluate(self.network, self.x_val, self.y_val)
            val_loss, val_acc = result.loss, result.accuracy
        weights = self.network.get_weights()
        if all(np.isfinite(w).all() for w in weights.values()):
            self.last_good_weights = weights
        seconds += time.perf_counter() - t0
        report = EpochReport(self.epoch, loss_sum / seen, correct / seen, val_loss, val_acc,
                             self._last_lr, seconds, seen / max(self._epoch_sums[3], 1e-9))
        self.epoch += 1
        self._step_in_epoch = 0
        self._perm = None
        return report


def _check_data(network: Network, what: str, x: Any, y: np.ndarray) -> None:
    """Refuse data that cannot reach the end of an epoch, before the first step."""
    if tuple(x.shape[1:]) != network.input_shape:
        raise ValueError(f"Trainer: {what} images have shape {tuple(x.shape[1:])} per sample but the network "
                         f"takes {network.input_shape} (C, H, W); resize the data or change the input layer")
    if len(x) != len(y):
        raise ValueError(f"Trainer: {what} data has {len(x)} samples and {len(y)} labels; they must match")
    if len(network.output_shape) == 1:
        check_labels(y, len(y), int(network.output_shape[0]))


#: "auto" never asks for more engine threads than this: each thread keeps its own copy of
#: the layers' gradients and work buffers, the Python between GEMMs holds the GIL, and
#: scaling was only measured up to two threads (docs/benchmarks.md).
AUTO_THREADS_MAX = 4


def _thread_limiter(threads: int | str | None) -> Callable[[], Any]:
    """A context-manager factory running steps on ``threads`` engine threads (each with
    one BLAS thread, see ``kernels.engine_threads``), or a no-op one for ``None``."""
    if threads is None:
        return contextlib.nullcontext
    count = _thread_count(threads)
    return lambda: engine_threads(count)


def _thread_count(threads: int | str | None) -> int:
    """The engine thread (or process) count ``threads`` asks for; None counts as 1."""
    if threads is None:
        return 1
    if threads == "auto":
        threads = max(1, min(cpu_cores() - 1, AUTO_THREADS_MAX))
    if isinstance(threads, str) or isinstance(threads, bool):
        raise ValueError(f"Trainer: threads must be a whole number >= 1, 'auto' or None, got {threads!r}")
    if int(threads) < 1:
        raise ValueError(f"Trainer: threads must be >= 1 or None, got {threads!r}")
    return int(threads)
