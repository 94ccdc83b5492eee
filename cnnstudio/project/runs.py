"""Every training run of a project, kept: the runs list a ``.cnnproj`` file holds. No Qt.

A :class:`RunRecord` is one run as it happened: the network as it was (spec dict), the
hyperparameters (the TrainingConfig dict it started with), the dataset's short record
(``dataset``: name, source, counts) and the project's full data record as it was for that run
(``data``: ``project.datasource.DataSource.to_dict()``, see :func:`run_data_record`), its epochs
and learning-rate changes, per-batch curves (:class:`BatchCurve`, bounded by decimation),
when it started, how long it trained, the run it continued from (None for a run from
fresh weights), and the weights after its last epoch and after its best epoch (best =
highest validation accuracy; the earliest such epoch).

In the file (format_version 2, ``project.file``) a run is an object of ``project.json``'s
``runs`` list (:meth:`RunRecord.to_json`), its curves are arrays ``"{number}/step|loss|acc"``
(and ``"{number}/lr"``, the per-batch learning rate, which files before it lack) of ``curves.npz`` and its weights ``"{number}/last|best/{param}"`` of ``run_weights.npz``.
Everything read back is checked here (:func:`run_from_json`, :func:`curve_header_check`,
:func:`weights_header_check`): ValueError names the run, the field and the value.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from cnnstudio.project import limits

Weights = dict[str, np.ndarray]

#: the run's fields written to project.json; other keys read from a file are kept as they are
_KNOWN = ("number", "id", "name", "started", "seconds", "continued_from", "network", "hyperparameters",
          "dataset", "data", "epochs", "lr_changes", "best_epoch", "weights", "batch_points")
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")
#: where a run's weights are in the file: run_weights.npz ("stored"), the project's own
#: weights.npz ("current": the run is the one the current weights come from) or, for the best
#: epoch, the run's last weights ("last": the best epoch was the last)
LAST_PLACES = (None, "stored", "current")
BEST_PLACES = (None, "stored", "last")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _show(value: Any) -> str:
    return repr(value)[:60]


class BatchCurve:
    """Per-batch loss, accuracy and learning rate of a run: ``step`` (global batch number),
    ``loss``, ``acc`` (0..1; NaN where not finite) and ``lr`` (the rate that batch trained with;
    NaN where not known: curves of older files, or appended without one). At most
    ``limits.MAX_BATCH_POINTS`` points: when full, every other point is dropped and from then on
    only every ``stride``-th batch is kept, so a long run keeps its whole shape at a coarser
    grain. Appended by the training thread, read (``arrays``) by another: plain lists, each
    append atomic."""

    def __init__(self, step: Iterable[int] = (), loss: Iterable[float] = (), acc: Iterable[float] = (),
                 stride: int = 1, lr: Iterable[float] | None = None):
        self.step = [int(s) for s in step]
        self.loss = [float(v) for v in loss]
        self.acc = [float(v) for v in acc]
        self.lr = [math.nan] * len(self.step) if lr is None else [float(v) for v in lr]
        self.stride = max(1, int(stride))
        self._seen = 0

    def __len__(self) -> int:
        return len(self.step)

    def append(self, step: int, loss: float, acc: float, lr: float | None = None) -> None:
        self._seen += 1
        if (self._seen - 1) % self.stride:
            return
        if len(self.step) >= limits.MAX_BATCH_POINTS:
            self.step, self.loss, self.acc = self.step[::2], self.loss[::2], self.acc[::2]
            self.lr = self.lr[::2]
            self.stride *= 2
            self._seen = 1
        self.step.append(int(step))
        self.loss.append(float(loss))
        self.acc.append(float(acc))
        self.lr.append(math.nan if lr is None else float(lr))

    def extend(self, other: "BatchCurve") -> None:
        c = other.copy()
        for s, l, a, r in zip(c.step, c.loss, c.acc, c.lr):
            self.append(s, l, a, r)

    def keep(self, indices: Iterable[int]) -> None:
        """Keep only the points at ``indices`` (in order)."""
        idx = list(indices)
        self.step = [self.step[i] for i in idx]
        self.loss = [self.loss[i] for i in idx]
        self.acc = [self.acc[i] for i in idx]
        self.lr = [self.lr[i] for i in idx]

    @property
    def has_lr(self) -> bool:
        """Whether any point knows its learning rate (curves of older files do not)."""
        return any(math.isfinite(v) for v in list(self.lr))

    def copy(self) -> "BatchCurve":
        # the other thread may be mid-append
        n = min(len(self.step), len(self.loss), len(self.acc), len(self.lr))
        out = BatchCurve(self.step[:n], self.loss[:n], self.acc[:n], self.stride, self.lr[:n])
        out._seen = self._seen
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """``step`` int64 (P,), ``loss``, ``acc`` and (when any point knows it) ``lr`` float32 (P,):
        the file's arrays."""
        c = self.copy()
        out: dict[str, np.ndarray] = {"step": np.asarray(c.step, dtype=np.int64),
                                      "loss": np.asarray(c.loss, dtype=np.float32),
                                      "acc": np.asarray(c.acc, dtype=np.float32)}
        if c.has_lr:
            out["lr"] = np.asarray(c.lr, dtype=np.float32)
        return out

    def records(self) -> list[dict[str, Any]]:
        """The points as the training plots' batch records {global_step, loss, accuracy, lr}
        (``lr`` None where not known)."""
        c = self.copy()
        return [{"global_step": s, "loss": l, "accuracy": a, "lr": r if math.isfinite(r) else None}
                for s, l, a, r in zip(c.step, c.loss, c.acc, c.lr)]

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], where: str) -> "BatchCurve":
        """From checked arrays (``curve_header_check``); the three (four with ``lr``, which older
        files lack) must be equally long, steps whole numbers >= 0 in order, learning rates >= 0
        or NaN (not known)."""
        step, loss, acc = (arrays.get(k) for k in ("step", "loss", "acc"))
        lr = arrays.get("lr")
        if step is None or loss is None or acc is None:
            raise ValueError(f"{where}: curves need 'step', 'loss' and 'acc' arrays, got {sorted(arrays)}")
        if not len(step) == len(loss) == len(acc):
            raise ValueError(f"{where}: curves 'step', 'loss', 'acc' hold {len(step)}, {len(loss)} and {len(acc)} "
                             "points; they must be equally long")
        if len(step) and (int(step.min()) < 0 or bool((np.diff(step) < 0).any())):
            raise ValueError(f"{where}: curve steps must be whole numbers >= 0 in increasing order")
        if lr is not None:
            if len(lr) != len(step):
                raise ValueError(f"{where}: curve 'lr' holds {len(lr)} learning rates for {len(step)} steps; "
                                 "they must be equally long")
            values = lr.astype(np.float64)
            if bool((np.isinf(values) | (values < 0)).any()):
                raise ValueError(f"{where}: curve learning rates must be numbers >= 0 (NaN: not known)")
        return cls(step.tolist(), loss.astype(np.float64).tolist(), acc.astype(np.float64).tolist(),
                   lr=None if lr is None else lr.astype(np.float64).tolist())


@dataclass
class RunRecord:
    """One training run (see the module's docstring). ``number`` counts from 1 in the project
    (0 until the run is first added to a list); ``id`` tells a run apart from its copies
    (the app stores a snapshot after every epoch). Epoch records are the history's plain JSON
    dicts (numbered across continued runs, as in the training plots)."""

    number: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    name: str = ""
    started: str | None = field(default_factory=_now)
    seconds: float = 0.0
    continued_from: int | None = None
    network: dict[str, Any] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)
    lr_changes: list[dict[str, Any]] = field(default_factory=list)
    curve: BatchCurve = field(default_factory=BatchCurve)
    last_weights: Weights | None = None
    best_weights: Weights | None = None
    best_epoch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: the data record as it was for this run (run_data_record); None in runs of older files
    data: dict[str, Any] | None = None

    # ---- what the table shows -----------------------------------------------------------
    @property
    def title(self) -> str:
        return self.name or f"run {self.number}"

    @property
    def final(self) -> dict[str, Any]:
        return self.epochs[-1] if self.epochs else {}

    @property
    def best(self) -> dict[str, Any]:
        """The best epoch's record ({} when no epoch had a validation accuracy)."""
        for e in self.epochs:
            if self.best_epoch is not None and e.get("epoch") == self.best_epoch:
                return e
        return {}

    @property
    def images_per_sec(self) -> float | None:
        """Training speed over the run: images of all epochs / their seconds."""
        total_images = total_seconds = 0.0
        for e in self.epochs:
            ips, sec = e.get("images_per_sec"), e.get("seconds")
            if ips and sec:
                total_images += ips * sec
                total_seconds += sec
        return total_images / total_seconds if total_seconds > 0 else None

    @property
    def network_name(self) -> str:
        name = self.network.get("name")
        return name if isinstance(name, str) else ""

    def note_epoch(self, record: dict[str, Any], weights: Weights | None) -> None:
        """Add a finished epoch: it is the run's last (``weights`` after it) and, with the highest
        validation accuracy so far, its best."""
        self.epochs.append(record)
        if record.get("seconds"):
            self.seconds = round(self.seconds + float(record["seconds"]), 3)
        self.last_weights = weights
        val = record.get("val_acc")
        best = self.best.get("val_acc")
        if val is not None and math.isfinite(val) and (best is None or val > best):
            self.best_epoch = int(record["epoch"])
            self.best_weights = weights

    def snapshot(self) -> "RunRecord":
        """A copy another thread may keep while this run goes on (weights shared: each epoch's
        weights are a fresh set of arrays nobody writes to)."""
        return RunRecord(self.number, self.id, self.name, self.started, self.seconds, self.continued_from,
                         dict(self.network), dict(self.hyperparameters),
                         None if self.dataset is None else dict(self.dataset), list(self.epochs),
                         list(self.lr_changes), self.curve.copy(), self.last_weights, self.best_weights,
                         self.best_epoch, dict(self.extra), None if self.data is None else dict(self.data))

    def weights_of(self, which: str) -> Weights | None:
        """``"last"`` or ``"best"``: the weights after that epoch, or None when not kept."""
        if which not in ("last", "best"):
            raise ValueError(f"which weights: 'last' or 'best', got {which!r}")
        return self.last_weights if which == "last" else self.best_weights

    # ---- the file -----------------------------------------------------------------------
    def to_json(self, last_place: str | None, best_place: str | None) -> dict[str, Any]:
        return {"number": self.number, "id": self.id, "name": self.name, "started": self.started,
                "seconds": self.seconds, "continued_from": self.continued_from, "network": self.network,
                "hyperparameters": self.hyperparameters, "dataset": self.dataset, "data": self.data,
                "epochs": self.epochs,
                "lr_changes": self.lr_changes, "best_epoch": self.best_epoch,
                "weights": {"last": last_place, "best": best_place}, "batch_points": len(self.curve),
                **self.extra}


def _text(where: str, value: Any, limit: int, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{where} must be text of at most {limit} characters, got {_show(value)}")
    return value


def _count(where: str, value: Any, low: int, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= limits.MAX_RUN_NUMBER:
        raise ValueError(f"{where} must be a whole number from {low} to {limits.MAX_RUN_NUMBER:,}, got {_show(value)}")
    return value


def _scalar_map(where: str, value: Any) -> dict[str, Any]:
    """An object of at most MAX_RUN_SETTINGS plain values (text, numbers, true/false, null)."""
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object, got {_show(value)}")
    if len(value) > limits.MAX_RUN_SETTINGS:
        raise ValueError(f"{where} holds {len(value)} settings, more than {limits.MAX_RUN_SETTINGS}")
    for key, item in value.items():
        if item is not None and not isinstance(item, (str, int, float, bool)):
            raise ValueError(f"{where}.{key} must be text, a number, true/false or null, got {_show(item)}")
        if isinstance(item, str) and len(item) > limits.MAX_RUN_TEXT:
            raise ValueError(f"{where}.{key} is longer than {limits.MAX_RUN_TEXT} characters")
    return dict(value)


def run_from_json(data: Any, index: int) -> tuple[RunRecord, str | None, str | None]:
    """A run object of project.json checked field by field -> (record without curve or weights,
    where its last weights are, where its best weights are). ValueError names the field. The
    network dict is checked by the caller (``project.file``: the model's parser and size caps)."""
    from cnnstudio.project.records import check_history_records

    where = f"runs[{index}]"
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object, got {_show(data)}")
    number = _count(f"{where}.number", data.get("number"), 1)
    where = f"runs[{index}] (run {number})"
    run_id = data.get("id")
    if not isinstance(run_id, str) or not _ID.fullmatch(run_id):
        raise ValueError(f"{where}.id must be 1-64 letters, digits, '-' or '_', got {_show(run_id)}")
    name = _text(f"{where}.name", data.get("name", ""), limits.MAX_RUN_TEXT, optional=False)
    started = _text(f"{where}.started", data.get("started"), 64)
    seconds = data.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{where}.seconds must be a number of seconds >= 0, got {_show(seconds)}")
    continued = _count(f"{where}.continued_from", data.get("continued_from"), 1, optional=True)
    if not isinstance(data.get("network"), dict):
        raise ValueError(f"{where}.network must be an object (the network as it was), got {_show(data.get('network'))}")
    hyper = _scalar_map(f"{where}.hyperparameters", data.get("hyperparameters", {}))
    dataset = data.get("dataset")
    if dataset is not None:
        dataset = dict(dataset) if isinstance(dataset, dict) else dataset
        _check_dataset(f"{where}.dataset", dataset)
    data_record = None if data.get("data") is None else check_run_data(f"{where}.data", data["data"])
    records = {"epochs": data.get("epochs", []), "lr_changes": data.get("lr_changes", [])}
    try:
        check_history_records(records)
    except ValueError as exc:
        raise ValueError(f"{where}: {str(exc).replace('history.', '')}") from exc
    epochs: list[dict[str, Any]] = records["epochs"]
    best_epoch = _count(f"{where}.best_epoch", data.get("best_epoch"), 1, optional=True)
    if best_epoch is not None and not any(e.get("epoch") == best_epoch for e in epochs):
        raise ValueError(f"{where}.best_epoch {best_epoch} is none of the run's epochs")
    places = data.get("weights") or {}
    if not isinstance(places, dict):
        raise ValueError(f"{where}.weights must be an object {{last, best}}, got {_show(places)}")
    last, best = places.get("last"), places.get("best")
    if last not in LAST_PLACES or best not in BEST_PLACES:
        raise ValueError(f"{where}.weights: last must be one of {LAST_PLACES} and best one of {BEST_PLACES}, "
                         f"got {_show(last)} and {_show(best)}")
    if best is not None and best_epoch is None:
        raise ValueError(f"{where}.weights.best is {best!r} but the run has no best_epoch")
    if best == "last" and last is None:
        raise ValueError(f"{where}.weights.best is 'last' but the run keeps no last weights")
    extra = {k: v for k, v in data.items() if k not in _KNOWN}
    record = RunRecord(number or 0, run_id, name or "", started, round(float(seconds), 3), continued, data["network"],
                       hyper, dataset, epochs, records["lr_changes"], BatchCurve(), None, None, best_epoch, extra,
                       data_record)
    return record, last, best


# ---- the data record of a run ---------------------------------------------------------------------
#: characters of one run's data record in project.json: 100 runs stay under 2 MB of the file's
#: 8 MiB (an image folder's validation file names are kept as a digest, not listed per run)
MAX_RUN_DATA_CHARS = 20_000
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def run_data_record(source: Any) -> dict[str, Any] | None:
    """The data record a run keeps: ``source.to_dict()`` (a ``project.datasource.DataSource``)
    with an image folder's validation file names replaced by their SHA-256 (``val_files_sha256``:
    the same split, told apart without 100,000 names in every run) and, should it still be longer
    than MAX_RUN_DATA_CHARS, the class names dropped (``num_classes`` says how many). None: no record."""
    import hashlib
    import json

    if source is None:
        return None
    out = dict(source.to_dict())
    files = out.get("val_files")
    if files is not None:
        out["val_files"] = None
        out["val_files_sha256"] = "sha256:" + hashlib.sha256("\n".join(files).encode("utf-8")).hexdigest()
    if len(json.dumps(out, default=str)) > MAX_RUN_DATA_CHARS:
        out["num_classes"] = len(out.get("classes") or [])
        out["classes"] = []
    return out


def check_run_data(where: str, value: Any) -> dict[str, Any]:
    """A run's ``data`` from a file: an object of at most MAX_RUN_DATA_CHARS characters that
    ``DataSource.from_dict`` accepts, with no validation file list (a digest instead).
    ValueError names the field."""
    import json

    from cnnstudio.project.datasource import DataSource

    if not isinstance(value, dict):
        raise ValueError(f"{where} must be an object (the run's data record), got {_show(value)}")
    size = len(json.dumps(value, default=str))
    if size > MAX_RUN_DATA_CHARS:
        raise ValueError(f"{where} is {size:,} characters of JSON, more than the {MAX_RUN_DATA_CHARS:,} a run's "
                         "data record may hold")
    if value.get("val_files") is not None:
        raise ValueError(f"{where}.val_files must be null in a run (runs keep val_files_sha256)")
    digest = value.get("val_files_sha256")
    if digest is not None and (not isinstance(digest, str) or not _DIGEST.fullmatch(digest)):
        raise ValueError(f"{where}.val_files_sha256 must be 'sha256:' and 64 hex digits, got {_show(digest)}")
    count = value.get("num_classes")
    if count is not None:
        _count(f"{where}.num_classes", count, 0)
    try:
        source = DataSource.from_dict(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {str(exc).replace('data.', '', 1)}") from exc
    out = source.to_dict()
    out.update({k: value[k] for k in ("val_files_sha256", "num_classes") if value.get(k) is not None})
    return out


def data_title(record: "RunRecord") -> str:
    """What a run trained on, in the user's words: its data record's name (or the old short
    record's), e.g. "shapes" or "MNIST sample"; "" when unknown."""
    if record.data is not None:
        name = record.data.get("name") or ""
        if not name and record.data.get("path"):
            import os

            name = os.path.basename(os.path.normpath(str(record.data["path"])))
        return str(name or record.data.get("key") or record.data.get("kind") or "")
    if record.dataset is not None:
        return str(record.dataset.get("name") or record.dataset.get("source") or "")
    return ""


def data_description(record: "RunRecord") -> str:
    """The run's data in a few lines (the Runs panel's tooltip): where it is, classes, images and
    the validation split."""
    d = record.data
    if d is None:
        if record.dataset is None:
            return "Data: not recorded"
        old = record.dataset
        return (f"Data: {old.get('name') or old.get('source') or '?'} ({old.get('num_train')} training, "
                f"{old.get('num_val')} validation images; recorded before full data records)")
    lines = [f"Data: {data_title(record)} ({d.get('kind')})"]
    if d.get("path"):
        lines.append(f"at {d['path']}")
    classes = d.get("classes") or []
    n_classes = d.get("num_classes", len(classes))
    shown = ", ".join(str(c) for c in classes[:8]) + (", ..." if len(classes) > 8 else "")
    lines.append(f"{n_classes} classes" + (f" ({shown})" if shown else "") + f", {d.get('num_images') or 0:,} images")
    if d.get("image_size"):
        lines.append(f"read at {d['image_size'][0]}x{d['image_size'][1]} pixels")
    lines.append(f"validation: {d.get('num_val') or 0:,} images (fraction {d.get('val_fraction')}, seed "
                 f"{d.get('split_seed')})" + (f", limit {d['limit']}" if d.get("limit") else ""))
    if d.get("fingerprint"):
        lines.append(f"fingerprint {str(d['fingerprint'])[7:19]}")
    return "\n".join(lines)


def _data_key(record: "RunRecord") -> Any:
    """What decides whether two runs trained on the same data (the name aside: a renamed record
    of the same images is the same data)."""
    if record.data is not None:
        return {k: v for k, v in record.data.items() if k != "name"}
    if record.dataset is not None:
        return {"old": {k: record.dataset.get(k) for k in ("source", "num_train", "num_val", "image_shape",
                                                            "classes")}}
    return None


def _check_dataset(where: str, record: Any) -> None:
    if not isinstance(record, dict):
        raise ValueError(f"{where} must be an object, got {_show(record)}")
    classes = record.get("classes")
    if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
        raise ValueError(f"{where}.classes must be a list of names, got {_show(classes)}")
    for key in ("name", "source"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ValueError(f"{where}.{key} must be text, got {_show(record[key])}")


def check_runs_list(runs: Any) -> list[Any]:
    """project.json's ``runs``: a list of at most MAX_RUNS objects (each checked by run_from_json)."""
    if runs is None:
        return []
    if not isinstance(runs, list):
        raise ValueError(f"runs must be a list of run objects, got {_show(runs)}")
    if len(runs) > limits.MAX_RUNS:
        raise ValueError(f"runs holds {len(runs):,} runs, more than the {limits.MAX_RUNS} a project keeps")
    return runs


_CURVE_KEY = re.compile(r"([1-9][0-9]{0,8})/(step|loss|acc|lr)")
_WEIGHT_KEY = re.compile(r"([1-9][0-9]{0,8})/(last|best)/(.+)")


def curve_header_check(numbers: set[int]) -> Callable[[str, tuple[int, ...], np.dtype], None]:
    """Refuse, from its .npy header, a curves.npz array of no listed run, of another name, not
    1-D, longer than MAX_BATCH_POINTS or of the wrong kind (steps integers, values floats)."""
    from cnnstudio.project.npzio import NpzError

    def check(key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        m = _CURVE_KEY.fullmatch(key)
        if m is None or int(m.group(1)) not in numbers:
            raise NpzError(f"unexpected curve array {key!r} (expected '<run number>/step|loss|acc|lr' of a listed run)")
        if len(shape) != 1 or shape[0] > limits.MAX_BATCH_POINTS:
            raise NpzError(f"curve {key!r} must be 1-D with at most {limits.MAX_BATCH_POINTS:,} points, got "
                           f"shape {shape}")
        want = "iu" if m.group(2) == "step" else "f"
        if dtype.kind not in want:
            raise NpzError(f"curve {key!r} has dtype {dtype}, expected {'integers' if want == 'iu' else 'floats'}")
    return check


def weights_header_check(stored: set[tuple[int, str]]) -> Callable[[str, tuple[int, ...], np.dtype], None]:
    """Refuse a run_weights.npz array not named '<run>/<last|best>/<param>' of a run whose
    project.json entry says those weights are stored; the shapes are checked after reading
    against that run's network (``weights.check_weights``)."""
    from cnnstudio.project.npzio import NpzError

    def check(key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
        m = _WEIGHT_KEY.fullmatch(key)
        if m is None or (int(m.group(1)), m.group(2)) not in stored:
            raise NpzError(f"unexpected run weights {key!r} (expected '<run number>/last|best/<parameter>' of a run "
                           "whose entry says they are stored)")
        if dtype.kind != "f":
            raise NpzError(f"run weights {key!r} have dtype {dtype}, expected floating point")
    return check


def split_weight_arrays(arrays: Mapping[str, np.ndarray]) -> dict[tuple[int, str], Weights]:
    """run_weights.npz's arrays -> {(run number, "last"|"best"): {param: array}}."""
    out: dict[tuple[int, str], Weights] = {}
    for key, arr in arrays.items():
        m = _WEIGHT_KEY.fullmatch(key)
        assert m is not None  # the header check let only these through
        out.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = arr
    return out


# ---- the list ---------------------------------------------------------------------------------
def put_run(runs: list[RunRecord], record: RunRecord) -> RunRecord:
    """Store ``record`` in ``runs``: replace the entry with its ``id`` (keeping its number and
    name), or append it numbered after the last. The oldest runs beyond MAX_RUNS are dropped.
    Returns the stored record."""
    for i, old in enumerate(runs):
        if old.id == record.id:
            record.number, record.name = old.number, record.name or old.name
            runs[i] = record
            return record
    record.number = max((r.number for r in runs), default=0) + 1
    runs.append(record)
    del runs[:max(0, len(runs) - limits.MAX_RUNS)]
    return record


def find_run(runs: Iterable[RunRecord], number: int) -> RunRecord | None:
    return next((r for r in runs if r.number == number), None)


def lineage_curve(runs: list[RunRecord], number: int | None) -> BatchCurve:
    """The per-batch curves behind the current weights: run ``number``'s, after those of the
    runs it continued from (oldest first), as the training plots showed them."""
    chain: list[RunRecord] = []
    seen: set[int] = set()
    run = find_run(runs, number) if number is not None else None
    while run is not None and run.number not in seen:   # a hostile file may link runs in a circle
        seen.add(run.number)
        chain.append(run)
        run = find_run(runs, run.continued_from) if run.continued_from is not None else None
    out = BatchCurve()
    for run in reversed(chain):
        out.extend(run.curve)
    return out


#: the settings the runs table shows, in this order, with the user's labels
KEY_SETTINGS = ("lr", "optimizer", "batch_size", "schedule", "epochs", "augment", "weight_decay", "seed")


def setting_label(name: str) -> str:
    """The training form's label for a hyperparameter ("Learning rate" for lr); "Network" for the network."""
    if name == "network":
        return "Network"
    if name == "data":
        return "Data"
    from cnnstudio.model.training_config import SETTINGS

    setting = SETTINGS.get(name)
    return setting.label.split(":")[0] if setting is not None else name.replace("_", " ")


def differing_settings(records: list[RunRecord]) -> list[str]:
    """The hyperparameters (and "network", and "data": the data record) whose values are not the same in all ``records``
    (none for fewer than two); ``epochs`` compares the epochs each run trained, not planned."""
    if len(records) < 2:
        return []
    names: list[str] = []
    for r in records:
        names.extend(k for k in r.hyperparameters if k not in names)
    if all(r.data is not None for r in records):
        # the data records say what each run trained on; the "dataset" setting is the path as typed
        # (runs on "shapes" and "/home/me/shapes" differed in "Dataset" though the same images and split)
        names = [n for n in names if n != "dataset"]
    out = [n for n in names if len({_key(_setting_key(r, n)) for r in records}) > 1]
    if len({_key(_data_key(r)) for r in records}) > 1:
        out.insert(0, "data")
    if len({_key(_network_key(r.network)) for r in records}) > 1:
        out.insert(0, "network")
    return out


def _setting_key(record: RunRecord, name: str) -> Any:
    """What is compared of a setting: its value; for the learning rate also the changes made
    during the run (the rate and the epoch each took effect), so a run whose rate was lowered
    mid-run differs from one that kept it."""
    value = record.hyperparameters.get(name)
    if name == "lr" and record.lr_changes:
        return [value, [[c.get("epoch"), c.get("lr")] for c in record.lr_changes]]
    return value


def lr_text(record: RunRecord) -> str:
    """The learning rate as the runs table shows it: the starting rate, then each change made
    during the run with the epoch it took effect in, e.g. "0.002 → 0.0005 (epoch 5)"; "" when
    not known."""
    start = record.hyperparameters.get("lr")
    parts = ["" if start is None else _g(start)]
    for change in record.lr_changes:
        shown, epoch = _g(change.get("lr")), change.get("epoch")
        parts.append(f"{shown} (epoch {epoch})" if epoch is not None else shown)
    if len(parts) == 1:
        return parts[0]
    return " → ".join(p or "?" for p in parts)


def _g(value: Any) -> str:
    """A number as the table shows it (0.0005); anything else as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, "g")
    return str(value)


def _network_key(network: dict[str, Any]) -> Any:
    return {k: v for k, v in network.items() if k != "name"}  # a renamed network is the same network


def _key(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True, default=str)


def run_row(record: RunRecord) -> dict[str, Any]:
    """One run as a table row (``cnnstudio runs --json``, the Runs panel, its CSV): plain values,
    accuracies as fractions 0..1, None where unknown. Keys documented in docs/cli.md."""
    final, best = record.final, record.best
    hyper = record.hyperparameters
    ips = record.images_per_sec
    return {"number": record.number, "name": record.title, "started": record.started,
            "network": record.network_name, "epochs": len(record.epochs),
            "first_epoch": record.epochs[0].get("epoch") if record.epochs else None,
            "last_epoch": final.get("epoch"), "continued_from": record.continued_from,
            "best_val_acc": best.get("val_acc"), "best_epoch": record.best_epoch,
            "final_val_acc": final.get("val_acc"), "final_val_loss": final.get("val_loss"),
            "final_train_loss": final.get("train_loss"), "final_train_acc": final.get("train_acc"),
            "seconds": record.seconds, "images_per_sec": None if ips is None else round(ips, 1),
            "dataset": data_title(record) or None, "data": record.data,
            **{name: hyper.get(name) for name in KEY_SETTINGS if name != "epochs"},   # epochs: trained, not planned
            # lr is the starting rate; the changes made during the run: {epoch, step, lr} each
            "lr_changes": [{k: c.get(k) for k in ("epoch", "step", "lr")} for c in record.lr_changes],
            "weights": [w for w in ("last", "best") if record.weights_of(w) is not None]}


def runs_csv(records: list[RunRecord]) -> str:
    """The runs table as CSV text: a header of ``run_row``'s keys, one line per run (weights as
    "last+best"; empty cells where unknown)."""
    import csv
    import io

    rows = [run_row(r) for r in records]
    keys = [k for k in run_row(RunRecord()) if k != "data"]   # the full record is JSON (runs --json)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        # the changes as text: "0.0005 (epoch 5, step 37); ..."
        row["lr_changes"] = "; ".join(f"{_g(c['lr'])} (epoch {c['epoch']}, step {c['step']})" for c in row["lr_changes"])
        writer.writerow(["+".join(v) if isinstance(v, list) else ("" if v is None else v)
                         for v in (row[k] for k in keys)])
    return buf.getvalue()
