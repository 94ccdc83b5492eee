"""Health checks over the trainer's reports: plain Python rules, no Qt.

``HealthMonitor`` is fed every ``StepReport`` / ``EpochReport`` the trainer yields
(or the same facts as plain numbers) and returns the new ``HealthIssue`` objects:
a plain-language message plus the one-click ``Fix`` actions the GUI can offer.
The GUI decides how to carry a fix out; this module only names it.

Rules (each fires once until ``reset(kind)`` or until its condition ends: then the monitor
returns a ``resolved`` issue with the same key, which the GUI uses to take the warning down,
and the rule may fire again later):
- ``nan``: a step loss is NaN or infinite -> pause, restore the last good epoch
  and halve the learning rate.
- ``plateau``: the training loss did not fall over an epoch -> change the learning rate.
- ``overfitting``: training accuracy still rising while validation accuracy sits a clear
  margin below its best so far (or validation loss rose for two epochs from its minimum, by more
  than its noise, while training loss fell) -> add Dropout before the last Dense, or turn augmentation on.
- ``dead_relu``: more than half of a ReLU layer's units output zero for a whole
  batch, several stats reports in a row -> LeakyReLU there, or a lower learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

# Fix actions the GUI knows how to perform.
RESTORE_AND_HALVE_LR = "restore_and_halve_lr"
SET_LR = "set_lr"
INSERT_DROPOUT = "insert_dropout"
ENABLE_AUGMENTATION = "enable_augmentation"
REPLACE_WITH_LEAKY_RELU = "replace_with_leaky_relu"


@dataclass(frozen=True)
class Fix:
    """A one-click remedy. ``needs_stopped``: it edits the network, so training must be stopped."""

    action: str
    label: str
    params: Mapping[str, Any] = field(default_factory=dict)
    needs_stopped: bool = False


@dataclass(frozen=True)
class HealthIssue:
    """One finding. ``key`` identifies it for de-duplication (e.g. ``"dead_relu:3"``)."""

    kind: str
    key: str
    message: str
    fixes: tuple[Fix, ...] = ()
    severity: str = "warning"       # "warning" or "error"
    pause: bool = False             # the worker pauses training when it sees this
    layer_index: int | None = None  # 0-based index into the network's layers
    epoch: int | None = None
    #: the condition of an earlier issue with this ``key`` has ended (the message says how):
    #: a view takes that warning down; there are no fixes
    resolved: bool = False


@dataclass
class HealthThresholds:
    """Tunable limits of the rules (defaults chosen to stay quiet on healthy runs)."""

    #: the epoch's training loss must fall by at least this fraction of the previous one
    min_relative_drop: float = 0.01
    #: ... unless training accuracy is already this high: a network that fits its training
    #: images has little loss left to lose (an MLP at 99% was told its LR "may be too high")
    plateau_max_train_acc: float = 0.98
    #: validation accuracy this far below its best so far (0.01 = one point) counts as falling;
    #: smaller dips are the noise of a finite validation set
    overfit_val_margin: float = 0.01
    #: ... and at least this many standard errors of a difference of two validation
    #: accuracies (sqrt(2 p(1-p)/n) for n validation images): on the sample's 500 images a 1.4-point dip
    #: is 7 images, well inside the noise; with 10 000 images one point is significant
    overfit_val_sigmas: float = 2.0
    #: ... or validation loss rising this many epochs in a row from its minimum
    #: (a single higher epoch is noise too)
    overfit_patience: int = 2
    #: ... by at least this fraction of it over those epochs, and by ``overfit_val_sigmas``
    #: standard errors on the validation set's size (``val_loss_rise_threshold``): a rise in the
    #: fourth digit (0.03431 -> 0.03432 at 100% validation accuracy) had warned
    overfit_val_loss_margin: float = 0.02
    #: ReLU dead fraction above which a layer counts as "mostly dead"
    dead_fraction: float = 0.5
    #: consecutive stats reports a layer must stay mostly dead
    dead_patience: int = 3


class HealthMonitor:
    """Stateful checker fed with reports in order; returns newly raised issues.

    ``layer_types``: the network's layer type names in order (``["Conv2D", "ReLU", ...]``),
    used to name layers and to find the last Dense. ``augmenting``: whether augmentation
    is on (the overfitting advice then does not offer to turn it on).
    """

    def __init__(self, layer_types: Sequence[str] = (), num_classes: int | None = None,
                 augmenting: bool = False, thresholds: HealthThresholds | None = None,
                 val_size: int | None = None):
        self.layer_types = list(layer_types)
        self.val_size = val_size  # validation images: the overfitting threshold's noise scale
        self.num_classes = num_classes
        self.augmenting = augmenting
        self.t = thresholds or HealthThresholds()
        self.raised: set[str] = set()
        self.epochs: list[dict[str, float | None]] = []
        self._epoch_losses: list[float] = []
        self._dead_streak: dict[int, int] = {}
        self._alive_streak: dict[int, int] = {}

    # ---- feeding ------------------------------------------------------------
    def observe(self, report: Any) -> list[HealthIssue]:
        """Feed one trainer report (StepReport or EpochReport, told apart by their fields)."""
        if _get(report, "train_loss") is not None:
            return self.observe_epoch(_get(report, "epoch", len(self.epochs)), _get(report, "train_loss"),
                                      _get(report, "train_acc"), _get(report, "val_loss"),
                                      _get(report, "val_acc"), _get(report, "lr"))
        return self.observe_step(_get(report, "loss"), _get(report, "lr"), layer_stats_of(report),
                                 finite=_get(report, "finite", True), epoch=_get(report, "epoch"))

    def observe_step(self, loss: float | None, lr: float | None = None,
                     layer_stats: Mapping[int, Mapping[str, Any]] | None = None,
                     finite: bool = True, epoch: int | None = None) -> list[HealthIssue]:
        """One training batch: its loss and, every few steps, per-layer stats (index -> dict)."""
        issues: list[HealthIssue] = []
        if not finite or loss is None or not math.isfinite(float(loss)):
            issues += self._raise(nan_issue(loss, lr, epoch))
            return issues
        self._epoch_losses.append(float(loss))
        if layer_stats:
            issues += self._check_dead(layer_stats, lr, epoch)
        return issues

    def observe_epoch(self, epoch: int, train_loss: float, train_acc: float | None = None,
                      val_loss: float | None = None, val_acc: float | None = None,
                      lr: float | None = None) -> list[HealthIssue]:
        """The end of an epoch with its mean training loss/accuracy and validation results."""
        record: dict[str, float | None] = {"epoch": epoch, "train_loss": _f(train_loss), "train_acc": _f(train_acc),
                  "val_loss": _f(val_loss), "val_acc": _f(val_acc), "lr": _f(lr)}
        self.epochs.append(record)
        issues: list[HealthIssue] = []
        if record["train_loss"] is None or not math.isfinite(record["train_loss"]):
            issues += self._raise(nan_issue(train_loss, lr, epoch))
        else:
            plateau = plateau_issue(self.epochs, self._epoch_losses, lr, self.num_classes,
                                    self.t.min_relative_drop, self.t.plateau_max_train_acc)
            issues += self._raise(plateau)
            issues += self._raise(overfitting_issue(self.epochs, self.layer_types, self.augmenting,
                                                    self.t.overfit_val_margin, self.t.overfit_patience,
                                                    val_size=self.val_size,
                                                    val_sigmas=self.t.overfit_val_sigmas,
                                                    loss_margin=self.t.overfit_val_loss_margin))
            issues += self._resolve_epoch_rules(plateau is None)
        self._epoch_losses = []
        return issues

    def _resolve_epoch_rules(self, loss_fell: bool) -> list[HealthIssue]:
        """Take down the plateau and overfitting warnings whose condition ended this epoch."""
        out: list[HealthIssue] = []
        now = self.epochs[-1]
        shown = int(now["epoch"] or 0) + 1
        if "plateau" in self.raised and loss_fell:
            out.append(self._resolved("plateau", "plateau", shown,
                                      f"Resolved in epoch {shown}: the training loss is falling again"
                                      + (f" ({self.epochs[-2]['train_loss']:.3g} -> {now['train_loss']:.3g})."
                                         if len(self.epochs) >= 2 else ".")))
        if "overfitting" in self.raised and not still_overfitting(
                self.epochs, self.t.overfit_val_margin, self.t.overfit_patience, self.val_size,
                self.t.overfit_val_sigmas, self.t.overfit_val_loss_margin):
            val = now["val_acc"]
            out.append(self._resolved("overfitting", "overfitting", shown,
                                      f"Resolved in epoch {shown}: validation accuracy is back near its best"
                                      + (f" ({val:.1%})." if val is not None else ".")))
        return out

    def _resolved(self, kind: str, key: str, epoch: int | None, message: str,
                  layer_index: int | None = None) -> HealthIssue:
        self.raised.discard(key)  # it may fire again if the condition comes back
        return HealthIssue(kind=kind, key=key, message=message, severity="resolved", epoch=epoch,
                           layer_index=layer_index, resolved=True)

    def reset(self, key_or_kind: str | None = None) -> None:
        """Allow an issue to fire again (after its fix, or when a new run starts: ``None``)."""
        if key_or_kind is None:
            self.raised.clear()
            self._dead_streak.clear()
            self._alive_streak.clear()
            self.epochs.clear()  # a new run's trends start from its own first epoch
            self._epoch_losses = []
            return
        self.raised = {k for k in self.raised if k != key_or_kind and k.split(":")[0] != key_or_kind}

    # ---- internals ------------------------------------------------------------
    def _raise(self, issue: HealthIssue | None) -> list[HealthIssue]:
        if issue is None or issue.key in self.raised:
            return []
        self.raised.add(issue.key)
        return [issue]

    def _check_dead(self, layer_stats: Mapping[int, Mapping[str, Any]], lr: float | None,
                    epoch: int | None) -> list[HealthIssue]:
        issues: list[HealthIssue] = []
        for index, stats in layer_stats.items():
            dead = _f(_get(stats, "dead_fraction"))
            if dead is None or not self._is_relu(index, stats):
                continue
            is_dead = dead > self.t.dead_fraction
            streak = self._dead_streak.get(index, 0) + 1 if is_dead else 0
            self._dead_streak[index] = streak
            alive = 0 if is_dead else self._alive_streak.get(index, 0) + 1
            self._alive_streak[index] = alive
            key = f"dead_relu:{index}"
            if streak >= self.t.dead_patience:
                # Several layers dying at once: one "lower the learning rate" button, not one per card.
                issues += self._raise(dead_relu_issue(index, dead, None if issues else lr, epoch))
            elif key in self.raised and alive >= self.t.dead_patience:  # as many reports alive again
                issues.append(self._resolved(
                    "dead_relu", key, None if epoch is None else int(epoch) + 1,
                    f"Resolved: layer {index + 1} ReLU has most of its units working again "
                    f"({dead:.0%} dead).", layer_index=index))
        return issues

    def _is_relu(self, index: int, stats: Mapping[str, Any]) -> bool:
        kind = _get(stats, "type") or _get(stats, "layer_type")
        if kind is None and 0 <= index < len(self.layer_types):
            kind = self.layer_types[index]
        return bool(kind == "ReLU")


# ---- the rules as pure functions ------------------------------------------------
def nan_issue(loss: Any, lr: float | None, epoch: int | None) -> HealthIssue:
    """The loss became NaN or infinite: training diverged."""
    new_lr = lr / 2 if lr else None
    lr_text = f" (now {lr:g})" if lr else ""
    fix_label = "Restore the last good epoch and halve the learning rate"
    if new_lr:
        fix_label += f" to {new_lr:g}"
    return HealthIssue(
        kind="nan", key="nan", severity="error", pause=True, epoch=epoch,
        message=(f"The loss became {_loss_word(loss)}: training diverged, so it was paused. "
                 f"The learning rate{lr_text} is probably too high for this network."),
        fixes=(Fix(RESTORE_AND_HALVE_LR, fix_label, {"lr": new_lr}),))


def plateau_issue(epochs: Sequence[Mapping[str, Any]], epoch_step_losses: Sequence[float],
                  lr: float | None, num_classes: int | None, min_drop: float,
                  max_train_acc: float = 1.0) -> HealthIssue | None:
    """The training loss did not fall over the last epoch (or within the first one), while
    training accuracy is below ``max_train_acc`` (above it the network has converged)."""
    acc = epochs[-1].get("train_acc") if epochs else None
    if acc is not None and acc >= max_train_acc:
        return None
    if len(epochs) >= 2:
        before, now = epochs[-2]["train_loss"], epochs[-1]["train_loss"]
        where = f"from epoch {epochs[-2]['epoch'] + 1} to epoch {epochs[-1]['epoch'] + 1}"
    elif len(epoch_step_losses) >= 10:
        k = max(1, len(epoch_step_losses) // 5)  # first and last fifth of the first epoch
        before = sum(epoch_step_losses[:k]) / k
        now = sum(epoch_step_losses[-k:]) / k
        where = "during the first epoch"
    else:
        return None
    if before is None or now is None or now < before * (1 - min_drop):
        return None
    near_chance = num_classes is not None and acc is not None and acc <= 1.5 / num_classes
    factor, advice = (3.0, "raise") if near_chance else (1 / 3, "lower")
    msg = (f"The training loss is not falling ({before:.3g} -> {now:.3g} {where}). "
           + ("Accuracy is still at chance level: the learning rate may be too low to move the weights; "
              if near_chance else
              "The learning rate may be too high (the loss bounces) or the network too small; ")
           + f"try to {advice} the learning rate.")
    fixes: tuple[Fix, ...] = ()
    if lr:
        new_lr = lr * factor
        fixes = (Fix(SET_LR, f"{advice.capitalize()} the learning rate to {new_lr:.3g}", {"lr": new_lr}),)
    return HealthIssue(kind="plateau", key="plateau", message=msg, fixes=fixes,
                       epoch=epochs[-1]["epoch"])


def overfitting_issue(epochs: Sequence[Mapping[str, Any]], layer_types: Sequence[str],
                      augmenting: bool, val_margin: float = 0.01, patience: int = 2,
                      val_size: int | None = None, val_sigmas: float = 2.0,
                      loss_margin: float = 0.02) -> HealthIssue | None:
    """Training is still improving while validation has turned: the network memorises.

    Fires when training accuracy rose in the last epoch and validation accuracy is at least
    ``val_margin`` below its best so far, or when training loss fell while validation loss
    rose in each of the last ``patience`` epochs (from its minimum) by a real amount in all
    (``val_loss_rise_threshold``, at least ``loss_margin`` of it). ``epochs``: the records
    of ``HealthMonitor.observe_epoch`` in order. ``val_size``: the number of validation
    images; the accuracy drop must then also exceed ``val_sigmas`` binomial standard errors
    (see ``val_drop_threshold``).
    """
    if len(epochs) < 2:
        return None
    evidence = (_val_acc_turned(epochs, val_margin, val_size, val_sigmas)
                or _val_loss_turned(epochs, patience, loss_margin, val_size, val_sigmas))
    if evidence is None:
        return None
    msg = ("Overfitting: " + evidence + ". The network is memorising the training images; "
           "Dropout or data augmentation help it generalise.")
    fixes = []
    dense = last_dense_index(layer_types)
    # no second Dropout where one already feeds the last Dense (the fix once stacked two)
    if dense is not None and not (dense > 0 and layer_types[dense - 1] == "Dropout"):
        fixes.append(Fix(INSERT_DROPOUT, f"Insert Dropout before layer {dense + 1} Dense (when stopped)",
                         {"index": dense, "rate": 0.5}, needs_stopped=True))
    if not augmenting:
        fixes.append(Fix(ENABLE_AUGMENTATION, "Turn data augmentation on"))
    return HealthIssue(kind="overfitting", key="overfitting", message=msg, fixes=tuple(fixes),
                       epoch=epochs[-1]["epoch"])


def still_overfitting(epochs: Sequence[Mapping[str, Any]], val_margin: float = 0.01, patience: int = 2,
                      val_size: int | None = None, val_sigmas: float = 2.0, loss_margin: float = 0.02) -> bool:
    """Whether an overfitting warning still holds after the latest epoch: validation accuracy
    is still a real drop (``val_drop_threshold``) below its best so far, or validation loss
    is still rising with training loss falling (``patience`` epochs). Unlike raising it, this
    does not ask that training accuracy rose in the latest epoch."""
    if len(epochs) < 2:
        return False
    now = epochs[-1]
    best = max((e["val_acc"] for e in epochs[:-1] if e["val_acc"] is not None), default=None)
    if best is not None and now["val_acc"] is not None:
        if best - now["val_acc"] >= val_drop_threshold(best, val_margin, val_size, val_sigmas) - 1e-9:
            return True
    return _val_loss_turned(epochs, patience, loss_margin, val_size, val_sigmas) is not None


def val_drop_threshold(best_acc: float, margin: float, val_size: int | None, sigmas: float = 2.0) -> float:
    """The validation-accuracy drop (a fraction) from ``best_acc`` that counts as real.

    The larger of ``margin`` and ``sigmas`` standard errors of the difference of two
    accuracies near p, each measured on ``val_size`` = n images: sqrt(2 p(1-p)/n) (the best
    epoch and this one are both noisy estimates; no size known: ``margin`` alone). At 98%
    on 500 images that is 1.8 points; on 10 000 images 0.4 points.
    """
    if not val_size or val_size <= 0:
        return margin
    p = min(max(float(best_acc), 0.0), 1.0)
    # p(1-p) floored at the variance of one image in n, so 100% accuracy is not noise-free
    var = 2.0 * max(p * (1.0 - p), 1.0 / val_size) / val_size
    return max(margin, sigmas * math.sqrt(var))


def val_loss_rise_threshold(loss: float, margin: float, val_size: int | None, sigmas: float = 2.0) -> float:
    """The rise of the validation loss from ``loss`` that counts as real (in loss units).

    The larger of ``margin`` * loss and ``sigmas`` standard errors of the difference of two mean
    losses over ``val_size`` = n images, taking the spread of the per-image losses as their mean
    (a few confident mistakes carry most of a trained network's loss, so it is rarely less):
    loss * sqrt(2/n). On 500 images that is a 13% rise, on 10 000 a 3% rise, on 18 images 67%.
    """
    rel = margin
    if val_size and val_size > 0:
        rel = max(margin, sigmas * math.sqrt(2.0 / val_size))
    return rel * max(float(loss), 0.0)


def _val_acc_turned(epochs: Sequence[Mapping[str, Any]], margin: float,
                    val_size: int | None = None, sigmas: float = 2.0) -> str | None:
    """The sentence saying validation accuracy fell below its best while training accuracy rose, or None."""
    prev, now = epochs[-2], epochs[-1]
    if None in (prev["train_acc"], now["train_acc"], now["val_acc"]) or now["train_acc"] <= prev["train_acc"]:
        return None
    best = max((e for e in epochs[:-1] if e["val_acc"] is not None), key=lambda e: e["val_acc"], default=None)
    # the small tolerance keeps a drop of exactly one point (0.93 -> 0.92 in floats) a drop of one point
    if best is None:
        return None
    threshold = val_drop_threshold(best["val_acc"], margin, val_size, sigmas)
    if best["val_acc"] - now["val_acc"] < threshold - 1e-9:
        return None
    return (f"training accuracy is still rising ({prev['train_acc']:.1%} -> {now['train_acc']:.1%}) "
            f"while validation accuracy fell from its best {best['val_acc']:.1%} "
            f"(epoch {best['epoch'] + 1}) to {now['val_acc']:.1%}")


def _val_loss_turned(epochs: Sequence[Mapping[str, Any]], patience: int, margin: float = 0.02,
                     val_size: int | None = None, sigmas: float = 2.0) -> str | None:
    """The sentence saying validation loss rose ``patience`` epochs in a row while training loss fell,
    by more than ``val_loss_rise_threshold`` in all, or None."""
    if patience < 1 or len(epochs) < patience + 1:
        return None
    window = epochs[-patience - 1:]
    for a, b in zip(window, window[1:]):
        if None in (a["val_loss"], b["val_loss"], a["train_loss"], b["train_loss"]):
            return None
        if not (b["val_loss"] > a["val_loss"] and b["train_loss"] < a["train_loss"]):
            return None
    first, last = window[0], window[-1]
    if last["val_loss"] - first["val_loss"] < val_loss_rise_threshold(first["val_loss"], margin, val_size, sigmas):
        return None
    return (f"over the last {patience} epochs training loss fell ({first['train_loss']:.3g} -> "
            f"{last['train_loss']:.3g}) while validation loss rose ({first['val_loss']:.3g} -> "
            f"{last['val_loss']:.3g})")


def dead_relu_issue(index: int, dead: float, lr: float | None, epoch: int | None) -> HealthIssue:
    """More than half of a ReLU layer's units output zero for every image of the batch."""
    msg = (f"Layer {index + 1} ReLU: {dead:.0%} of its units are dead (they output zero for every image, "
           "so they stop learning). A LeakyReLU keeps a small slope for negative inputs; "
           "a lower learning rate avoids killing units with large updates.")
    fixes = [Fix(REPLACE_WITH_LEAKY_RELU, f"Make layer {index + 1} a LeakyReLU (when stopped)",
                 {"index": index}, needs_stopped=True)]
    if lr:
        fixes.append(Fix(SET_LR, f"Lower the learning rate to {lr / 3:.3g}", {"lr": lr / 3}))
    return HealthIssue(kind="dead_relu", key=f"dead_relu:{index}", message=msg, fixes=tuple(fixes),
                       layer_index=index, epoch=epoch)


def last_dense_index(layer_types: Sequence[str]) -> int | None:
    """Index of the last Dense layer (where Dropout goes in front of), or None."""
    for i in range(len(layer_types) - 1, -1, -1):
        if layer_types[i] == "Dense":
            return i
    return None


def layer_stats_of(report: Any) -> dict[int, Any]:
    """The per-layer stats of a step report as {layer index: stats}, or {} when it has none.

    Accepts a dict keyed by index (int or "3") or a list in layer order (None entries skipped).
    """
    stats = _get(report, "layer_stats")
    if stats is None:
        stats = _get(report, "stats")
    if not stats:
        return {}
    items: Iterable[tuple[Any, Any]] = stats.items() if isinstance(stats, Mapping) else enumerate(stats)
    out = {}
    for key, value in items:
        if value is None:
            continue
        index = _get(value, "index", key)
        try:
            out[int(index)] = value
        except (TypeError, ValueError):
            continue
    return out


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _loss_word(loss: Any) -> str:
    try:
        v = float(loss)
    except (TypeError, ValueError):
        return "NaN"
    return "infinite" if math.isinf(v) else "NaN"
