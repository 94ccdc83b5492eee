"""The ``.cnnproj`` project file: a zip of plain data.

Members (nothing else is accepted):

- ``project.json``  format_version, metadata, network spec, training config, history
- ``weights.npz``   ``"{layer_index}.{param}" -> array`` (absent while untrained)
- ``optimizer.npz`` optimizer state (optional)
- ``user_data.npz`` the user's own drawn digits: ``x`` uint8 (N, H, W, C), ``y`` int64 (N,)

Saving is atomic (temp file in the same directory, fsync, ``os.replace``), so a
crash mid-save leaves the previous file as it was. Loading trusts nothing: member
names, declared sizes (zip bomb guard), JSON, array dtypes (no pickle) and weight
shapes are all checked, and every refusal is a :class:`ProjectFileError` that names
the file, the problem and what to do.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnstudio import __version__
from cnnstudio.project.npzio import NpzError, read_npz, write_npz
from cnnstudio.project.weights import WeightsMismatch, check_weights, stored_value_count

FORMAT_VERSION = 1
PROJECT_JSON = "project.json"
WEIGHTS = "weights.npz"
OPTIMIZER = "optimizer.npz"
USER_DATA = "user_data.npz"
MEMBERS = (PROJECT_JSON, WEIGHTS, OPTIMIZER, USER_DATA)

#: upper bounds on declared (uncompressed) member sizes, checked before reading
MAX_JSON_BYTES = 16 * 2**20
MAX_USER_DATA_BYTES = 1 * 2**30
#: headroom for npz headers on top of the weights' raw size (float64 worst case)
NPZ_OVERHEAD_BYTES = 2**20


class ProjectFileError(Exception):
    """A project file cannot be read or written. ``path`` and ``problem`` hold the facts."""

    def __init__(self, path: str | os.PathLike, problem: str, fix: str = ""):
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
    ``user_dataset``: data.Dataset of drawn digits (x uint8 (N, H, W, C), y (N,)) or None.
    """

    network: Any
    weights: dict[str, np.ndarray] | None = None
    optimizer_state: dict[str, np.ndarray] | None = None
    history: dict[str, Any] = field(default_factory=new_history)
    training_config: Any = None
    user_dataset: Any = None
    metadata: dict[str, Any] = field(default_factory=new_metadata)


# ---- spec / config adapters (the model owns the formats) ------------------------------
def _spec_to_dict(spec) -> dict:
    return spec.to_dict()


def _spec_from_dict(data: dict):
    from cnnstudio.model import NetworkSpec

    return NetworkSpec.from_dict(data)


def _config_to_dict(config) -> dict | None:
    return None if config is None else config.to_dict()


def _config_from_dict(data: dict | None):
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError(f"training_config must be an object, got {type(data).__name__}")
    from cnnstudio.model import TrainingConfig

    return TrainingConfig.from_dict(data)


# ---- saving -----------------------------------------------------------------------------
def _project_json(project: Project) -> bytes:
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
        # lets the loader notice a member lost to a damaged zip directory
        "members": _array_members(project),
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


def _array_members(project: Project) -> list[str]:
    present = {WEIGHTS: project.weights, OPTIMIZER: project.optimizer_state, USER_DATA: project.user_dataset}
    return [name for name, value in present.items() if value is not None]


def _write_members(zf: zipfile.ZipFile, project: Project) -> None:
    zf.writestr(PROJECT_JSON, _project_json(project))
    if project.weights is not None:
        write_npz(zf, WEIGHTS, project.weights)
    if project.optimizer_state is not None:
        write_npz(zf, OPTIMIZER, project.optimizer_state)
    if project.user_dataset is not None:
        write_npz(zf, USER_DATA, {"x": project.user_dataset.x, "y": project.user_dataset.y})  # uint8, int64


def save_project(path: str | os.PathLike, project: Project) -> None:
    """Write ``project`` to ``path`` atomically.

    The zip is written to a temporary file in the same directory, flushed to disk, then
    renamed over ``path``; on any failure the temporary file is removed and the previous
    file (if any) is untouched.
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ProjectFileError(path, f"folder {directory} does not exist", "Choose an existing folder.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise ProjectFileError(path, f"cannot write in {directory} ({exc.strerror})",
                               "Choose a folder you can write to.") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
                _write_members(zf, project)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, (OSError, ValueError, TypeError)) and not isinstance(exc, ProjectFileError):
            raise ProjectFileError(path, f"could not be saved ({exc})",
                                   "The previous file, if any, is unchanged.") from exc
        raise
    _fsync_dir(directory)


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


def _read_member(path: Path, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise ProjectFileError(path, f"member {info.filename} declares {info.file_size:,} bytes, more than "
                               f"the {limit:,} allowed for it (possible zip bomb)",
                               "The file is damaged or not from CNN Studio.")
    try:
        # zipfile never returns more than the declared size, so ``limit`` bounds memory.
        return zf.read(info)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError, zlib.error) as exc:
        # RuntimeError: an encrypted member; zlib.error: a corrupt compressed stream
        raise ProjectFileError(path, f"member {info.filename} is damaged ({exc})",
                               "Use an earlier copy of the file.") from exc


def _parse_json(path: Path, raw: bytes) -> dict:
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProjectFileError(path, f"{PROJECT_JSON} is not valid JSON ({exc})",
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


def _load_npz(path: Path, zf, info, limit: int) -> dict[str, np.ndarray]:
    raw = _read_member(path, zf, info, limit)
    try:
        return read_npz(raw, limit)
    except NpzError as exc:
        raise ProjectFileError(path, f"{info.filename}: {exc}",
                               "The file is damaged or not from CNN Studio.") from exc


def load_project(path: str | os.PathLike) -> Project:
    """Read and check a ``.cnnproj`` file; raise ProjectFileError on anything unexpected."""
    path = Path(path)
    if not path.is_file():
        raise ProjectFileError(path, "file not found" if not path.exists() else "is not a file",
                               "Check the path.")
    try:
        zf = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, ValueError, OverflowError, EOFError, NotImplementedError) as exc:
        raise ProjectFileError(path, "is not a CNN Studio project (not a zip archive, or truncated)",
                               "Open a .cnnproj file saved by CNN Studio.") from exc
    except OSError as exc:
        raise ProjectFileError(path, f"cannot be read ({exc.strerror or exc})", "Check the permissions.") from exc
    with zf:
        infos = _check_member_names(path, zf.infolist())
        doc = _parse_json(path, _read_member(path, zf, infos[PROJECT_JSON], MAX_JSON_BYTES))
        return _build_project(path, zf, infos, doc)


def _check_listed_members(path: Path, infos, doc: dict) -> None:
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


def _build_project(path: Path, zf, infos, doc: dict) -> Project:
    _check_listed_members(path, infos, doc)
    try:
        spec = _spec_from_dict(doc["network"])
        config = _config_from_dict(doc.get("training_config"))
    except (ValueError, TypeError, KeyError) as exc:
        raise ProjectFileError(path, f"the network or training settings are invalid: {exc}",
                               "Fix or remove the project file.") from exc
    try:
        values = stored_value_count(spec)
    except ValueError as exc:
        raise ProjectFileError(path, f"the network is invalid: {exc}", "Fix the network in a model file.") from exc
    weights_limit = values * 8 + NPZ_OVERHEAD_BYTES
    weights = optimizer = None
    if WEIGHTS in infos:
        weights = _load_npz(path, zf, infos[WEIGHTS], weights_limit)
        try:
            check_weights(spec, weights)
        except WeightsMismatch as exc:
            raise ProjectFileError(path, f"{WEIGHTS} does not fit the network: {exc}",
                                   "The weights belong to another network; retrain or use the matching file.") from exc
    if OPTIMIZER in infos:
        optimizer = _load_npz(path, zf, infos[OPTIMIZER], 4 * weights_limit)
    user = _load_user_data(path, zf, infos, doc) if USER_DATA in infos else None
    history = _checked_history(path, doc.get("history"))
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else new_metadata()
    return Project(network=spec, weights=weights, optimizer_state=optimizer, history=history,
                   training_config=config, user_dataset=user, metadata=metadata)


def _checked_history(path: Path, history: Any) -> dict[str, Any]:
    """The stored history with any missing keys filled in; refuses shapes the GUI cannot show."""
    if history is None:
        return new_history()
    if not isinstance(history, dict):
        raise ProjectFileError(path, f"{PROJECT_JSON}: history must be an object, got {type(history).__name__}",
                               "The file is damaged.")
    out = {**new_history(), **history}
    for key in ("epochs", "lr_changes"):
        items = out[key]
        if not isinstance(items, list) or not all(isinstance(e, dict) for e in items):
            raise ProjectFileError(path, f"{PROJECT_JSON}: history.{key} must be a list of objects",
                                   "The file is damaged.")
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


def _load_user_data(path: Path, zf, infos, doc: dict):
    from cnnstudio.data import DataError, UserDataset

    arrays = _load_npz(path, zf, infos[USER_DATA], MAX_USER_DATA_BYTES)
    info = doc.get("user_data") if isinstance(doc.get("user_data"), dict) else {}
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
