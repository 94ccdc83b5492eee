"""The ``.cnnproj`` project file: a zip of plain data.

Members (nothing else is accepted):

- ``project.json``  format_version, metadata, network spec, training config, history
- ``weights.npz``   ``"{layer_index}.{param}" -> array`` (absent while untrained)
- ``optimizer.npz`` optimizer state (optional)
- ``user_data.npz`` the user's own drawn digits: ``x`` uint8 (N, H, W, C), ``y`` int64 (N,)
- ``curves.npz``    per-batch curves of the runs: ``"{run}/step|loss|acc"`` (optional)
- ``run_weights.npz`` the kept weights of the runs: ``"{run}/last|best/{layer_index}.{param}"`` (optional)

format_version 2 added the runs list (``project.json``'s ``runs``, ``project.runs``) and the
two members after it; ``history.run`` names the run the current weights come from. A
format_version 1 file opens with its history as run 1 (:func:`_migrate_v1`).

Saving is atomic (temp file in the same directory, fsync, ``os.replace``), so a
crash mid-save leaves the previous file as it was; saving through a symlink replaces the
link's target, and the link stays. A temp file left by a killed writer is removed at the
next save or open (``project.tempfiles``). Loading trusts nothing: the zip directory's
size, member names, compression methods, sizes as inflated (not as declared), JSON depth
and numbers, ``.npy`` headers, array dtypes (no pickle), weight and optimizer shapes and
history records are all checked against the limits in ``project.limits``, and every
refusal is a :class:`ProjectFileError` that names the file, the problem and what to do.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnnstudio import __version__
from cnnstudio.project import limits, teacher_layout, tempfiles
from cnnstudio.project.limits import LimitError, network_bounds
from cnnstudio.project.npzio import HeaderCheck, NpzError, read_npz, write_npz
from cnnstudio.project.records import check_history_records, check_optimizer_state
from cnnstudio.project.runs import (BatchCurve, RunRecord, check_runs_list, curve_header_check, run_from_json,
                                    split_weight_arrays, weights_header_check)
from cnnstudio.project.safejson import JsonLimitError
from cnnstudio.project.safejson import loads as _json_loads
from cnnstudio.project.safezip import ZipLimitError, open_archive, read_member
from cnnstudio.project.weights import WeightsMismatch, check_weights, required_shapes

if TYPE_CHECKING:
    from cnnstudio.data import Dataset, UserDataset
    from cnnstudio.model import NetworkSpec, TrainingConfig
    from cnnstudio.project.datasource import DataSource

FORMAT_VERSION = 2
PROJECT_JSON = "project.json"
WEIGHTS = "weights.npz"
OPTIMIZER = "optimizer.npz"
USER_DATA = "user_data.npz"
CURVES = "curves.npz"
RUN_WEIGHTS = "run_weights.npz"
MEMBERS = (PROJECT_JSON, WEIGHTS, OPTIMIZER, USER_DATA, CURVES, RUN_WEIGHTS)

# the limits a file is read under (sizes, counts, depths) live in project.limits, each with its reason


class ProjectFileError(Exception):
    """A project file cannot be read or written. ``path`` and ``problem`` hold the facts."""

    def __init__(self, path: str | os.PathLike[str], problem: str, fix: str = ""):
        self.path = str(path)
        self.problem = problem
        self.fix = fix
        text = f"project file {self.path}: {problem}"
        super().__init__(f"{text}. {fix}" if fix else text)


def new_history() -> dict[str, Any]:
    """An empty training history (plain JSON data).

    ``epochs``: list of {epoch, train_loss, train_acc, val_loss, val_acc, lr, seconds};
    ``lr_changes``: list of {epoch, step, lr}; ``hyperparameters``: the TrainingConfig
    dict of the run; ``dataset``: {name, source, num_train, num_val, image_shape, classes}.
    """
    return {"epochs": [], "lr_changes": [], "hyperparameters": {}, "dataset": None}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def new_metadata() -> dict[str, Any]:
    return {"created": _now(), "modified": _now(), "app_version": __version__, "notes": ""}


@dataclass
class Project:
    """Everything a run leaves behind.

    ``network``: model.NetworkSpec; ``weights``: dict name -> host NumPy array, or None
    while untrained; ``optimizer_state``: dict name -> array or None; ``history``: see
    :func:`new_history`; ``training_config``: model.TrainingConfig or None;
    ``user_dataset``: data.Dataset of drawn digits (x uint8 (N, H, W, C), y (N,)) or None;
    ``runs``: every training run kept (``project.runs.RunRecord``, oldest first);
    ``history["run"]`` is the number of the run the current weights come from (or absent).
    """

    network: NetworkSpec
    weights: dict[str, np.ndarray] | None = None
    optimizer_state: dict[str, np.ndarray] | None = None
    history: dict[str, Any] = field(default_factory=new_history)
    training_config: TrainingConfig | None = None
    user_dataset: Dataset | None = None
    metadata: dict[str, Any] = field(default_factory=new_metadata)
    runs: list[RunRecord] = field(default_factory=list)
    #: the project's data and how it was imported and split (project.datasource; project.json's
    #: "data"), or None (files written before it was recorded)
    datasource: DataSource | None = None
    #: the panels and controls a teacher hid (``project.teacher_layout.check``'s form), or None
    teacher_layout: dict[str, Any] | None = None


# ---- spec / config adapters (the model owns the formats) ------------------------------
def _spec_to_dict(spec: NetworkSpec) -> dict[str, Any]:
    return spec.to_dict()


def _spec_from_dict(data: dict[str, Any]) -> NetworkSpec:
    from cnnstudio.model import NetworkSpec

    return NetworkSpec.from_dict(data)


def _config_to_dict(config: TrainingConfig | None) -> dict[str, Any] | None:
    return None if config is None else config.to_dict()


def _config_from_dict(data: Any) -> TrainingConfig | None:   # the file's JSON, checked here
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"training_config must be an object, got {type(data).__name__}")
    from cnnstudio.model import TrainingConfig

    return TrainingConfig.from_dict(data)


# ---- saving -----------------------------------------------------------------------------
def _project_json(project: Project, plan: "_RunsPlan") -> bytes:
    meta = dict(project.metadata)
    meta["modified"] = _now()
    meta.setdefault("app_version", __version__)
    user = project.user_dataset
    doc = {
        "format_version": FORMAT_VERSION,
        "app": "cnnstudio",
        "metadata": meta,
        "network": _spec_to_dict(project.network),
        "training_config": _config_to_dict(project.training_config),
        "history": project.history,
        "user_data": None if user is None else {"name": user.name, "class_names": list(user.class_names)},
        "data": None if project.datasource is None else project.datasource.to_dict(),
        "runs": [run.to_json(*plan.places[run.id]) for run in project.runs],
        "teacher_layout": project.teacher_layout,
        # lets the loader notice a member lost to a damaged zip directory
        "members": _array_members(project, plan),
    }
    return json.dumps(_json_safe(doc), indent=1, allow_nan=False).encode("utf-8")


def _json_safe(obj: Any) -> Any:
    """NaN/inf (a diverged run's losses) become null: JSON has no such numbers; NumPy scalars
    become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def _array_members(project: Project, plan: "_RunsPlan") -> list[str]:
    present = {WEIGHTS: project.weights, OPTIMIZER: project.optimizer_state, USER_DATA: project.user_dataset,
               CURVES: plan.curves or None, RUN_WEIGHTS: plan.weights or None}
    return [name for name, value in present.items() if value is not None]


@dataclass
class _RunsPlan:
    """What a save writes of the runs: where each run's last and best weights go (``places``:
    id -> (last, best), see runs.LAST_PLACES), the arrays of curves.npz and run_weights.npz."""

    places: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict)


def _same_weights(a: dict[str, np.ndarray] | None, b: dict[str, np.ndarray] | None) -> bool:
    if a is None or b is None or a.keys() != b.keys():
        return False
    return all(a[k] is b[k] or (a[k].shape == b[k].shape and np.array_equal(a[k], b[k])) for k in a)


def _store_weights(plan: _RunsPlan, prefix: str, weights: dict[str, np.ndarray], budget: int) -> tuple[str | None, int]:
    """Put a run's weight set into ``plan`` under ``prefix`` if it fits the values ``budget``:
    ("stored", what is left) or (None, budget) when it does not fit."""
    size = sum(int(a.size) for a in weights.values())
    if size > budget:
        return None, budget
    plan.weights.update({f"{prefix}/{k}": a for k, a in weights.items()})
    return "stored", budget - size



def _plan_runs(project: Project) -> _RunsPlan:
    """Decide where each run's weights go: the current run's last weights are the project's own
    (weights.npz, not written twice), a best epoch that was the last shares the last weights;
    the rest go to run_weights.npz, newest runs first until MAX_RUN_WEIGHT_VALUES (older runs'
    weights beyond it are not kept: their records, curves and figures are)."""
    plan = _RunsPlan()
    current = project.history.get("run") if isinstance(project.history, dict) else None
    budget = limits.MAX_RUN_WEIGHT_VALUES
    for run in reversed(project.runs):
        last_w, best_w = run.last_weights, run.best_weights
        last: str | None = None
        best: str | None = None
        if last_w is not None:
            if run.number == current and _same_weights(last_w, project.weights):
                last = "current"
            else:
                last, budget = _store_weights(plan, f"{run.number}/last", last_w, budget)
        if best_w is not None and run.best_epoch is not None:
            if last is not None and (best_w is last_w or run.best_epoch == run.final.get("epoch")):
                best = "last"
            else:
                best, budget = _store_weights(plan, f"{run.number}/best", best_w, budget)
        plan.places[run.id] = (last, best)
        if len(run.curve):
            plan.curves.update({f"{run.number}/{k}": a for k, a in run.curve.arrays().items()})
    return plan


def _write_members(zf: zipfile.ZipFile, project: Project) -> None:
    plan = _plan_runs(project)
    zf.writestr(PROJECT_JSON, _project_json(project, plan))
    if project.weights is not None:
        write_npz(zf, WEIGHTS, project.weights)
    if project.optimizer_state is not None:
        write_npz(zf, OPTIMIZER, project.optimizer_state)
    if project.user_dataset is not None:
        write_npz(zf, USER_DATA, {"x": project.user_dataset.x, "y": project.user_dataset.y})  # uint8, int64
    if plan.curves:
        write_npz(zf, CURVES, plan.curves)
    if plan.weights:
        write_npz(zf, RUN_WEIGHTS, plan.weights)


def save_project(path: str | os.PathLike[str], project: Project) -> None:
    """Write ``project`` to ``path`` atomically.

    The zip is written to a temporary file (``.NAME.<pid>.<random>.cnnstudio-tmp``, locked
    while written) in the same directory, flushed to disk, then renamed over ``path``; on any
    failure the temporary file is removed and the previous file (if any) is untouched. A
    symlink at ``path`` stays a link: its target is what is replaced. Temporary files left by
    earlier writers that are gone are removed first.
    """
    path = Path(path)
    target = _save_target(path)
    directory = target.parent
    if not directory.is_dir():
        where = f"folder {directory}" if target == path else f"folder {directory} of the link's target {target}"
        raise ProjectFileError(path, f"{where} does not exist", "Choose an existing folder.")
    tempfiles.remove_leftovers(target)
    try:
        fd, tmp = tempfiles.create(directory, target.name)
    except OSError as exc:
        raise ProjectFileError(path, f"cannot write in {directory} ({exc.strerror})",
                               "Choose a folder you can write to.") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                _write_members(zf, project)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(target))
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (OSError, ValueError, TypeError)) and not isinstance(exc, ProjectFileError):
            raise ProjectFileError(path, f"could not be saved ({exc})",
                                   "The previous file, if any, is unchanged.") from exc
        raise
    finally:
        tempfiles.finished(tmp)
    _fsync_dir(directory)


def _save_target(path: Path) -> Path:
    """The file a save replaces: ``path`` itself, or the file a symlink at ``path`` points to
    (os.replace over the link would turn it into a regular file and leave the target stale)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _file_mode(path: Path) -> int:
    """Keep an existing file's permissions; new files get the usual 0o666 minus umask
    (mkstemp's private 0o600 would surprise people sharing projects)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; not possible (or needed) on Windows.
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ---- loading ----------------------------------------------------------------------------
def _check_member_names(path: Path, infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    seen: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or "\\" in name or ".." in name.split("/") or ":" in name:
            raise ProjectFileError(path, f"member name {name!r} points outside the archive (unsafe path)",
                                   "The file was not written by CNN Studio; do not open it.")
        if name not in MEMBERS:
            raise ProjectFileError(path, f"unexpected member {name!r} (allowed: {', '.join(MEMBERS)})",
                                   "Only files saved by CNN Studio can be opened.")
        if name in seen:
            raise ProjectFileError(path, f"member {name!r} appears twice", "The file is damaged.")
        seen[name] = info
    if PROJECT_JSON not in seen:
        raise ProjectFileError(path, f"{PROJECT_JSON} is missing",
                               "The file is not a CNN Studio project or is damaged.")
    return seen


def _read_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, size: int) -> bytes:
    """The member inflated in bounded pieces (safezip.read_member); never more than ``limit`` bytes."""
    try:
        return read_member(zf, info, limit, size)
    except ZipLimitError as exc:
        raise ProjectFileError(path, str(exc), "The file is damaged or not from CNN Studio; use an earlier "
                               "copy.") from exc


def _parse_json(path: Path, raw: bytes) -> dict[str, Any]:
    try:
        doc = _json_loads(raw)
    except JsonLimitError as exc:
        raise ProjectFileError(path, f"{PROJECT_JSON} is not valid JSON: {exc}",
                               "The file is damaged; use an earlier copy.") from exc
    if not isinstance(doc, dict):
        raise ProjectFileError(path, f"{PROJECT_JSON} must hold a JSON object, got {type(doc).__name__}",
                               "The file is damaged or not from CNN Studio.")
    version = doc.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProjectFileError(path, f"{PROJECT_JSON} has no valid format_version (got {version!r})",
                               "The file is damaged or not from CNN Studio.")
    if version > FORMAT_VERSION:
        raise ProjectFileError(path, f"format_version {version} is newer than this CNN Studio "
                               f"({__version__}) understands (up to {FORMAT_VERSION})",
                               "Update CNN Studio to open it.")
    if version < 1:
        raise ProjectFileError(path, f"unknown format_version {version}", "The file is damaged.")
    for key in ("network",):
        if not isinstance(doc.get(key), dict):
            raise ProjectFileError(path, f"{PROJECT_JSON} has no '{key}' object", "The file is damaged.")
    return doc


def _load_npz(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, size: int, max_arrays: int,
              check: HeaderCheck | None = None) -> dict[str, np.ndarray]:
    raw = _read_member(path, zf, info, limit, size)
    try:
        return read_npz(raw, limit, max_arrays, check)
    except NpzError as exc:
        raise ProjectFileError(path, f"{info.filename}: {exc}",
                               "The file is damaged or not from CNN Studio.") from exc


def load_project(path: str | os.PathLike[str]) -> Project:
    """Read and check a ``.cnnproj`` file; raise ProjectFileError on anything unexpected.

    Temporary files an interrupted save of this project left behind are removed first.
    Memory stays within the bounds of ``project.limits``; a MemoryError below them (a
    machine short of memory) is a ProjectFileError too, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise ProjectFileError(path, "file not found" if not path.exists() else "is not a file",
                               "Check the path.")
    tempfiles.remove_leftovers(_save_target(path))
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            try:
                zf = open_archive(fh, size, limits.MAX_MEMBERS)
            except ZipLimitError as exc:
                raise ProjectFileError(path, f"is not a CNN Studio project ({exc})",
                                       "Open a .cnnproj file saved by CNN Studio.") from exc
            with zf:
                infos = _check_member_names(path, zf.infolist())
                doc = _parse_json(path, _read_member(path, zf, infos[PROJECT_JSON], limits.MAX_JSON_BYTES, size))
                return _build_project(path, zf, infos, doc, size)
    except MemoryError as exc:
        raise ProjectFileError(path, "needs more memory than is free to open it",
                               "Close other programs and try again.") from exc
    except OSError as exc:
        raise ProjectFileError(path, f"cannot be read ({exc.strerror or exc})", "Check the permissions.") from exc


def _check_listed_members(path: Path, infos: dict[str, zipfile.ZipInfo], doc: dict[str, Any]) -> None:
    listed = doc.get("members")
    if listed is None:
        return
    if not isinstance(listed, list) or not all(isinstance(m, str) for m in listed):
        raise ProjectFileError(path, f"{PROJECT_JSON}: 'members' must be a list of names, got {listed!r}",
                               "The file is damaged.")
    missing = [m for m in listed if m not in infos]
    if missing:
        raise ProjectFileError(path, f"{', '.join(missing)} listed in {PROJECT_JSON} but missing from the archive",
                               "The file is damaged; use an earlier copy.")


def _build_project(path: Path, zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], doc: dict[str, Any],
                   size: int) -> Project:
    _check_listed_members(path, infos, doc)
    try:
        spec = _spec_from_dict(doc["network"])
        config = _config_from_dict(doc.get("training_config"))
    except (ValueError, TypeError, KeyError) as exc:
        raise ProjectFileError(path, f"the network or training settings are invalid: {exc}",
                               "Fix or remove the project file.") from exc
    try:
        bounds = network_bounds(spec)  # absolute caps first: the network cannot lift its own limits
    except LimitError as exc:
        raise ProjectFileError(path, str(exc), "This app cannot open a network this large.") from exc
    except ValueError as exc:
        raise ProjectFileError(path, f"the network is invalid: {exc}", "Fix the network in a model file.") from exc
    weights = optimizer = None
    if WEIGHTS in infos:
        weights = _load_npz(path, zf, infos[WEIGHTS], bounds.weights_bytes, size, bounds.weights_entries)
        try:
            check_weights(spec, weights)
        except WeightsMismatch as exc:
            raise ProjectFileError(path, f"{WEIGHTS} does not fit the network: {exc}",
                                   "The weights belong to another network; retrain or use the matching file.") from exc
    if OPTIMIZER in infos:
        optimizer = _load_npz(path, zf, infos[OPTIMIZER], bounds.optimizer_bytes, size, bounds.optimizer_entries)
        try:
            check_optimizer_state(optimizer, required_shapes(spec))
        except ValueError as exc:
            raise ProjectFileError(path, f"{OPTIMIZER}: {exc}",
                                   "The file is damaged; remove optimizer.npz from it (training then starts "
                                   "the optimizer afresh) or use an earlier copy.") from exc
    user = _load_user_data(path, zf, infos, doc, size) if USER_DATA in infos else None
    history = _checked_history(path, doc.get("history"))
    stored_meta = doc.get("metadata")
    metadata = stored_meta if isinstance(stored_meta, dict) else new_metadata()
    if doc["format_version"] == 1:
        runs = _migrate_v1(doc, history, metadata, weights)
    else:
        runs = _load_runs(path, zf, infos, doc, size, weights)
        run = history.get("run")
        if run is not None and (isinstance(run, bool) or not isinstance(run, int)
                                or not any(r.number == run for r in runs)):
            raise ProjectFileError(path, f"{PROJECT_JSON}: history.run must be the number of a listed run, got "
                                   f"{run!r}"[:200], "The file is damaged.")
    try:
        layout = teacher_layout.check(doc.get("teacher_layout"))
    except teacher_layout.TeacherLayoutError as exc:
        raise ProjectFileError(path, f"{PROJECT_JSON}: {exc}",
                               "Remove the teacher_layout entry from project.json (the project then opens "
                               "with every panel shown), or use an earlier copy.") from exc
    return Project(network=spec, weights=weights, optimizer_state=optimizer, history=history,
                   training_config=config, user_dataset=user, metadata=metadata, teacher_layout=layout, runs=runs,
                   datasource=_checked_datasource(path, doc.get("data")))


def _checked_datasource(path: Path, data: Any) -> DataSource | None:
    """project.json's ``data`` (absent in older files), checked field by field (project.datasource)."""
    if data is None:
        return None
    from cnnstudio.project.datasource import DataSource

    try:
        return DataSource.from_dict(data)
    except ValueError as exc:
        raise ProjectFileError(path, f"{PROJECT_JSON}: the record of the project's data is invalid: {exc}",
                               "The file is damaged; use an earlier copy.") from exc


def _migrate_v1(doc: dict[str, Any], history: dict[str, Any], metadata: dict[str, Any],
                weights: dict[str, np.ndarray] | None) -> list[RunRecord]:
    """A format_version 1 file kept one history: it becomes run 1 (the network as saved, the
    history's hyperparameters, dataset, epochs and learning-rate changes; its last weights are
    the project's; its best weights only when the best epoch was the last). No per-batch curves
    were saved then."""
    epochs = history["epochs"]
    if not epochs:
        return []
    run = RunRecord(number=1, name="run 1", started=metadata.get("created") if isinstance(metadata.get("created"), str)
                    else None, network=doc["network"], hyperparameters=dict(history.get("hyperparameters") or {}),
                    dataset=history.get("dataset"), lr_changes=list(history["lr_changes"]))
    for record in epochs:
        run.note_epoch(record, None)
    run.last_weights = weights
    run.best_weights = weights if weights is not None and run.best_epoch == run.final.get("epoch") else None
    history["run"] = 1
    return [run]


def _load_runs(path: Path, zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], doc: dict[str, Any], size: int,
               weights: dict[str, np.ndarray] | None) -> list[RunRecord]:
    """project.json's runs (each field checked: project.runs), their networks (the model's parser
    and the same caps as the project's network), curves.npz and run_weights.npz (names, shapes
    and sizes from the headers, then each set against its run's network)."""
    def refuse(problem: str) -> ProjectFileError:
        return ProjectFileError(path, f"{PROJECT_JSON}: {problem}", "The file is damaged or not from CNN Studio.")

    try:
        raw = check_runs_list(doc.get("runs"))
    except ValueError as exc:
        raise refuse(str(exc)) from exc
    runs: list[RunRecord] = []
    places: dict[int, tuple[str | None, str | None]] = {}
    specs: dict[int, NetworkSpec] = {}
    for i, item in enumerate(raw):
        try:
            run, last, best = run_from_json(item, i)
        except ValueError as exc:
            raise refuse(str(exc)) from exc
        if run.number in places:
            raise refuse(f"runs[{i}]: run number {run.number} appears twice")
        try:
            specs[run.number] = _spec_from_dict(run.network)
            network_bounds(specs[run.number])
        except LimitError as exc:
            raise ProjectFileError(path, f"run {run.number}: {exc}", "This app cannot open a network this large.") from exc
        except (ValueError, TypeError, KeyError) as exc:
            raise refuse(f"run {run.number}'s network is invalid: {exc}") from exc
        places[run.number] = (last, best)
        runs.append(run)
    numbers = set(places)
    if CURVES in infos:
        arrays = _load_npz(path, zf, infos[CURVES], limits.curves_bytes(len(runs)), size, 4 * len(runs) + 1,
                           curve_header_check(numbers))
        for run in runs:
            mine = {k.partition("/")[2]: a for k, a in arrays.items() if k.partition("/")[0] == str(run.number)}
            if mine:
                try:
                    run.curve = BatchCurve.from_arrays(mine, f"{CURVES}: run {run.number}")
                except ValueError as exc:
                    raise ProjectFileError(path, str(exc), "The file is damaged.") from exc
    stored = {(n, which) for n, pl in places.items() for which, place in zip(("last", "best"), pl) if place == "stored"}
    kept: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    if stored:
        if RUN_WEIGHTS not in infos:
            raise ProjectFileError(path, f"{PROJECT_JSON} says run weights are stored but {RUN_WEIGHTS} is missing",
                                   "The file is damaged; use an earlier copy.")
        values = sum(network_bounds(specs[n]).values for n, _ in stored)
        if values > limits.MAX_RUN_WEIGHT_VALUES:
            raise ProjectFileError(path, f"the runs' kept weights hold {values:,} values, more than the "
                                   f"{limits.MAX_RUN_WEIGHT_VALUES:,} a project keeps", "The file is damaged.")
        limit = sum(network_bounds(specs[n]).weights_bytes for n, _ in stored)
        entries = sum(network_bounds(specs[n]).weights_entries for n, _ in stored)
        arrays = _load_npz(path, zf, infos[RUN_WEIGHTS], limit, size, entries, weights_header_check(stored))
        kept = split_weight_arrays(arrays)
    elif RUN_WEIGHTS in infos:
        raise ProjectFileError(path, f"{RUN_WEIGHTS} is present but no run says its weights are stored there",
                               "The file is damaged.")
    for run in runs:
        last, best = places[run.number]
        for which, place in (("last", last), ("best", best)):
            if place == "stored":
                found = kept.get((run.number, which))
                if found is None:
                    raise ProjectFileError(path, f"{RUN_WEIGHTS} holds no {which} weights of run {run.number}",
                                           "The file is damaged.")
            elif place == "current":
                if weights is None:
                    raise ProjectFileError(path, f"run {run.number}'s last weights are the project's, but it has "
                                           f"no {WEIGHTS}", "The file is damaged.")
                found = weights
            elif place == "last":
                found = run.last_weights
            else:
                found = None
            if found is not None:
                try:
                    check_weights(specs[run.number], found)
                except WeightsMismatch as exc:
                    raise ProjectFileError(path, f"the {which} weights of run {run.number} do not fit its network: "
                                           f"{exc}", "The file is damaged.") from exc
            setattr(run, f"{which}_weights", found)
    return runs


def _checked_history(path: Path, history: Any) -> dict[str, Any]:
    """The stored history with any missing keys filled in; refuses shapes the GUI cannot show
    (records whose numbers are text, counts that are not whole numbers: project.records)."""
    if history is None:
        return new_history()
    if not isinstance(history, dict):
        raise ProjectFileError(path, f"{PROJECT_JSON}: history must be an object, got {type(history).__name__}",
                               "The file is damaged.")
    out = {**new_history(), **history}
    try:
        check_history_records(out)
    except ValueError as exc:
        raise ProjectFileError(path, f"{PROJECT_JSON}: {exc}", "The file is damaged.") from exc
    _check_dataset_record(path, out["dataset"])
    return out


def _check_dataset_record(path: Path, record: Any) -> None:
    """history.dataset: None or {name, source, ..., classes}; evaluate and predict read
    ``source`` and ``classes``, so their types are checked here rather than failing there."""
    if record is None:
        return
    if not isinstance(record, dict):
        raise ProjectFileError(path, f"{PROJECT_JSON}: history.dataset must be an object, got "
                               f"{type(record).__name__}", "The file is damaged.")
    classes = record.get("classes")
    if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
        raise ProjectFileError(path, f"{PROJECT_JSON}: history.dataset.classes must be a list of names, got "
                               f"{classes!r}"[:200], "The file is damaged.")
    for key in ("name", "source"):
        if record.get(key) is not None and not isinstance(record[key], str):
            raise ProjectFileError(path, f"{PROJECT_JSON}: history.dataset.{key} must be text, got "
                                   f"{record[key]!r}"[:200], "The file is damaged.")


def _user_data_header(key: str, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Refuse drawings from their .npy header: x uint8 (N, H, W, C), y integers (N,), N and sides capped."""
    if key == "x":
        if dtype.kind != "u" or dtype.itemsize != 1 or len(shape) not in (3, 4):
            raise NpzError(f"drawings 'x' must be uint8 (N, H, W[, C]), got {dtype} of shape {shape}")
        n, sides = shape[0], shape[1:]
        if any(side < 1 for side in sides):
            raise NpzError(f"drawings 'x' of shape {shape} have a zero-sized side")
        if max(sides[:2]) > limits.MAX_USER_IMAGE_SIDE or (len(sides) == 3 and sides[2] > limits.MAX_USER_IMAGE_CHANNELS):
            raise NpzError(f"drawings 'x' of shape {shape} are larger than {limits.MAX_USER_IMAGE_SIDE} pixels a "
                           f"side or {limits.MAX_USER_IMAGE_CHANNELS} channels")
    elif key == "y":
        if dtype.kind not in "iu" or len(shape) != 1:
            raise NpzError(f"labels 'y' must be integers of shape (N,), got {dtype} of shape {shape}")
        n = shape[0]
    else:
        raise NpzError(f"unexpected array {key!r} (expected 'x' and 'y')")
    if n > limits.MAX_USER_IMAGES:
        raise NpzError(f"{key!r} holds {n:,} drawings, more than the {limits.MAX_USER_IMAGES:,} a project keeps")


def _load_user_data(path: Path, zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], doc: dict[str, Any],
                    size: int) -> UserDataset:
    from cnnstudio.data import DataError, UserDataset

    arrays = _load_npz(path, zf, infos[USER_DATA], limits.user_data_bytes(), size, 4, _user_data_header)
    stored_info = doc.get("user_data")
    info: dict[str, Any] = stored_info if isinstance(stored_info, dict) else {}
    if set(arrays) != {"x", "y"}:
        raise ProjectFileError(path, f"{USER_DATA} must hold arrays 'x' and 'y', got {sorted(arrays)}",
                               "The file is damaged.")
    names = info.get("class_names")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) for n in names)):
        raise ProjectFileError(path, f"{PROJECT_JSON}: user_data.class_names must be a list of names, got {names!r}",
                               "The file is damaged.")
    try:
        return UserDataset.from_arrays(arrays["x"], arrays["y"], [str(n) for n in names] if names else None,
                                       str(info.get("name", "my drawings")))
    except (DataError, ValueError) as exc:
        raise ProjectFileError(path, f"{USER_DATA} is inconsistent: {exc}", "The file is damaged.") from exc
