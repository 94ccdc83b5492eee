"""What a project's data is, so that reopening it gives the same images and the same split. No Qt.

A :class:`DataSource` is the ``data`` object of ``project.json``: where the images come from
(the bundled sample, a standard dataset's name, an image folder, an IDX / ``.npz`` / CSV file,
or the project's own drawings) and every setting the import used (the size images were decoded
at, grayscale or colour, the validation fraction and its seed, a CLI ``--limit``). For an image
folder the validation files are also kept by name (``"class/file"``), so a folder that gained
or lost files since still validates on exactly the images it validated on, and never on one it
trained on. A fingerprint (SHA-256 of the image folder's file list, or of a file's labels) tells
a changed dataset from the one recorded.

``load(source)`` rebuilds the (train, val) pair (uint8, before any fit to the network: the
app and the CLI both fit it with ``session.fit_dataset``); data that is not where the record
says raises :class:`DataMissingError`, whose message says what is expected (folder or file
name, classes, image count). ``record_split`` splits a freshly loaded dataset and attaches the
record to both parts (``ds.meta["datasource"]``), which is how a pair tells the workspace what
it is. :func:`DataSource.from_dict` trusts nothing (types, lengths, bounded sizes): a file comes
from anywhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from cnnstudio.data import DATASETS, Dataset, to_grayscale, to_rgb
from cnnstudio.data.dataset import split_indices
from cnnstudio.data.errors import DataError

KINDS = ("sample", "standard", "folder", "file", "drawings")
#: validation files kept by name; above this (or MAX_VAL_FILE_CHARS in all) the split is kept as
#: fraction, seed and fingerprint only (20,000 names are about 0.6 MB of project.json)
MAX_VAL_FILES = 100_000
MAX_VAL_FILE_CHARS = 4 * 2**20
#: one "class/file" name, a path, a dataset or class name (characters)
MAX_NAME_CHARS = 1024
MAX_PATH_CHARS = 4096
MAX_LABEL_CHARS = 200
MAX_CLASSES = 10_000      # the image folder's own cap (data.limits.MAX_FOLDER_CLASSES)
MAX_IMAGES = 20_000_000   # data.limits.MAX_IMAGES
MAX_SIDE = 4096
MAX_SEED = 2**32 - 1
MAX_VAL_FRACTION = 0.9    # the training settings' own range
#: the recorded keys, in the file's order
FIELDS = ("kind", "name", "key", "path", "labels", "format", "image_size", "read_channels", "channels",
          "val_fraction", "split_seed", "limit", "classes", "num_images", "num_val", "val_files", "fingerprint")


class DataMissingError(DataError):
    """The project's data is not where its record says (moved, deleted, not downloaded).
    ``source`` is the record; ``expected`` says what to look for, in the user's terms."""

    def __init__(self, source: "DataSource", problem: str):
        self.source = source
        self.expected = source.expected()
        super().__init__(source.path or source.key, problem)


@dataclass(frozen=True)
class DataSource:
    """One project's data (see the module's docstring). ``image_size`` (h, w) and ``read_channels``
    (1, 3 or None: as found) are what the reader was asked for; ``channels`` what the images are
    after any grayscale/colour conversion; ``num_images`` counts train + validation."""

    kind: str
    name: str = ""
    key: str | None = None              # standard dataset name ("mnist", ...)
    path: str | None = None             # absolute path of the folder or file
    labels: str | None = None           # IDX labels file
    format: str | None = None           # what the file held ("npz", "csv", "idx-images", ...), for messages
    image_size: tuple[int, int] | None = None
    read_channels: int | None = None
    channels: int | None = None
    val_fraction: float = 0.0
    split_seed: int = 0
    limit: int | None = None
    classes: tuple[str, ...] = ()
    num_images: int = 0
    num_val: int = 0
    val_files: tuple[str, ...] | None = None
    fingerprint: str | None = None
    notes: tuple[str, ...] = field(default=(), compare=False)   # said when loaded; never saved

    # ---- words ------------------------------------------------------------------------------
    def where(self) -> str:
        """What the data is, as the user knows it: 'the image folder "shapes"' ..."""
        if self.kind == "sample":
            return "the bundled MNIST sample"
        if self.kind == "standard":
            title = DATASETS[self.key].title if self.key in DATASETS else self.key
            return f"the standard dataset {title}"
        if self.kind == "drawings":
            return "the project's own drawings"
        base = os.path.basename(os.path.normpath(self.path or "")) or self.name
        what = "image folder" if self.kind == "folder" else f"{_FORMAT_WORDS.get(self.format or '', 'data')} file"
        return f"the {what} \"{base}\""

    def expected(self) -> str:
        """What to look for: the folder or file name, its classes and how many images."""
        shown = ", ".join(self.classes[:10]) + (", ..." if len(self.classes) > 10 else "")
        classes = f"{len(self.classes)} classes ({shown})" if self.classes else "its classes"
        return f"{self.where()} with {classes} and {self.num_images:,} images"

    def missing_message(self) -> str:
        at = f" at {self.path}" if self.path else ""
        return (f"the project's data, {self.expected()}, is not{at}; locate it (Dataset panel, "
                "\"Locate data...\") to evaluate and train on the same images")

    def relocated(self, path: str | os.PathLike[str]) -> "DataSource":
        """The same record for data found at ``path`` (an IDX labels file beside it moves along)."""
        new = os.path.abspath(os.fspath(path))
        labels = self.labels
        if labels is not None:
            labels = os.path.join(os.path.dirname(new), os.path.basename(labels))
        return dataclasses.replace(self, path=new, labels=labels, notes=())

    # ---- the file's JSON ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in FIELDS:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> "DataSource":
        """From ``project.json``'s ``data`` object; ValueError names the first bad field.
        Keys this version does not know are ignored."""
        if not isinstance(data, dict):
            raise ValueError(f"data must be an object, got {type(data).__name__}")
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"data.kind must be one of {', '.join(KINDS)}, got {_shown(kind)}")
        sides = _optional_list(data, "image_size", 2, 2)
        image_size = None if sides is None else (_int(sides[0], "data.image_size", 1, MAX_SIDE),
                                                 _int(sides[1], "data.image_size", 1, MAX_SIDE))
        classes = _optional_list(data, "classes", 0, MAX_CLASSES) or []
        val_files = _optional_list(data, "val_files", 0, MAX_VAL_FILES)
        src = cls(
            kind=kind,
            name=_text(data, "name", MAX_NAME_CHARS) or "",
            key=_text(data, "key", 64),
            path=_text(data, "path", MAX_PATH_CHARS),
            labels=_text(data, "labels", MAX_PATH_CHARS),
            format=_text(data, "format", 32),
            image_size=image_size,
            read_channels=_channels(data, "read_channels"),
            channels=_channels(data, "channels"),
            val_fraction=_fraction(data.get("val_fraction", 0.0)),
            split_seed=_int(data.get("split_seed", 0), "data.split_seed", 0, MAX_SEED),
            limit=None if data.get("limit") is None else _int(data["limit"], "data.limit", 1, MAX_IMAGES),
            classes=tuple(_name(c, f"data.classes[{i}]", MAX_LABEL_CHARS) for i, c in enumerate(classes)),
            num_images=_int(data.get("num_images", 0), "data.num_images", 0, MAX_IMAGES),
            num_val=_int(data.get("num_val", 0), "data.num_val", 0, MAX_IMAGES),
            val_files=None if val_files is None else _val_files(val_files),
            fingerprint=_fingerprint(data.get("fingerprint")),
        )
        src._check_consistent()
        return src

    def _check_consistent(self) -> None:
        if self.kind == "standard" and self.key not in DATASETS:
            raise ValueError(f"data.key must name a standard dataset ({', '.join(DATASETS)}), got {_shown(self.key)}")
        if self.kind in ("folder", "file"):
            if not self.path:
                raise ValueError(f"data.path is needed for data of kind {self.kind!r}")
            if not os.path.isabs(self.path):
                raise ValueError(f"data.path must be an absolute path, got {_shown(self.path)}")
        if self.num_val > self.num_images:
            raise ValueError(f"data.num_val ({self.num_val:,}) is more than data.num_images ({self.num_images:,})")
        if self.val_files is not None:
            if self.kind != "folder":
                raise ValueError("data.val_files belongs to an image folder only")
            if len(self.val_files) != self.num_val:
                raise ValueError(f"data.val_files names {len(self.val_files):,} files but data.num_val is "
                                 f"{self.num_val:,}")


# ---- checks of the file's values ------------------------------------------------------------------
_FORMAT_WORDS = {"npz": ".npz", "csv": "CSV", "idx-images": "IDX", "cifar10-binary": "CIFAR-10 archive",
                 "tar": "CIFAR-10 archive"}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _text(data: dict[str, Any], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    return _name(value, f"data.{key}", limit)


def _name(value: Any, where: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} must be text, got {_shown(value)}")
    if len(value) > limit:
        raise ValueError(f"{where} is {len(value):,} characters long, more than the {limit:,} allowed")
    if "\x00" in value:
        raise ValueError(f"{where} contains a NUL character")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where} must be a whole number, got {_shown(value)}")
    if not low <= value <= high:
        raise ValueError(f"{where} must be from {low:,} to {high:,}, got {value:,}")
    return int(value)


def _channels(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or value not in (1, 3):
        raise ValueError(f"data.{key} must be 1 (grayscale) or 3 (colour), got {_shown(value)}")
    return int(value)


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"data.val_fraction must be a number, got {_shown(value)}")
    if not 0.0 <= value <= MAX_VAL_FRACTION:
        raise ValueError(f"data.val_fraction must be from 0 to {MAX_VAL_FRACTION}, got {value}")
    return float(value)


def _optional_list(data: dict[str, Any], key: str, low: int, high: int) -> list[Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list):
        raise ValueError(f"data.{key} must be a list, got {type(value).__name__}")
    if not low <= len(value) <= high:
        raise ValueError(f"data.{key} has {len(value):,} entries; {low:,} to {high:,} are allowed")
    return value


def _val_files(values: list[Any]) -> tuple[str, ...]:
    total = 0
    out = []
    for i, name in enumerate(values):
        name = _name(name, f"data.val_files[{i}]", MAX_NAME_CHARS)
        parts = name.split("/")
        if len(parts) != 2 or not all(parts) or any(p in (".", "..") for p in parts) or "\\" in name:
            raise ValueError(f"data.val_files[{i}] must be a \"class/file\" name inside the folder, got "
                             f"{_shown(name)}")
        total += len(name)
        out.append(name)
    if total > MAX_VAL_FILE_CHARS:
        raise ValueError(f"data.val_files holds {total:,} characters, more than the {MAX_VAL_FILE_CHARS:,} allowed")
    if len(set(out)) != len(out):
        raise ValueError("data.val_files names a file twice")
    return tuple(out)


def _fingerprint(value: Any) -> str | None:
    if value is None:
        return None
    if (not isinstance(value, str) or len(value) != 71 or not value.startswith("sha256:")
            or any(ch not in "0123456789abcdef" for ch in value[7:])):
        raise ValueError(f"data.fingerprint must be 'sha256:' and 64 hex digits, got {_shown(value)}")
    return value


# ---- fingerprints -------------------------------------------------------------------------------
def fingerprint(ds: Dataset) -> str:
    """SHA-256 of what identifies the loaded dataset: an image folder's "class/file" list (in
    order), else the labels and the image shape (a file's images are not hashed: too slow)."""
    h = hashlib.sha256()
    h.update("\x1f".join(ds.class_names).encode("utf-8"))
    files = ds.meta.get("files")
    if files is not None and len(files) == len(ds):
        h.update(b"files\x00" + "\n".join(files).encode("utf-8"))
    else:
        h.update(b"labels\x00" + repr(ds.x.shape).encode() + np.ascontiguousarray(ds.y, np.int64).tobytes())
    return "sha256:" + h.hexdigest()


# ---- building the record as data is loaded ------------------------------------------------------------
def attach(train: Dataset, val: Dataset, source: "DataSource") -> tuple[Dataset, Dataset]:
    """Both parts carry the record (``meta["datasource"]``); returns them."""
    train.meta["datasource"] = val.meta["datasource"] = source
    return train, val


def source_of(ds: Dataset | None) -> "DataSource | None":
    """The record a dataset carries, else one inferred for the sample and the standard datasets."""
    if ds is None:
        return None
    found = ds.meta.get("datasource")
    if isinstance(found, DataSource):
        return found
    return _named_source(ds.source, ds)


def _named_source(name: str | None, ds: Dataset | None = None) -> "DataSource | None":
    classes = tuple(ds.class_names) if ds is not None else ()
    if name == "sample":
        return DataSource("sample", "MNIST sample", classes=classes or tuple(str(d) for d in range(10)),
                          num_images=5000, num_val=500, channels=1)
    if name in DATASETS:
        info = DATASETS[name]
        return DataSource("standard", info.title, key=name, classes=classes or tuple(info.class_names),
                          channels=info.image_shape[2])
    return None


def named(name: str) -> "DataSource":
    """The record of "sample" or a standard dataset's name; ValueError for anything else."""
    src = _named_source(name)
    if src is None:
        raise ValueError(f"{name!r} is neither the sample nor a standard dataset")
    return src


def record_split(full: Dataset, val_fraction: float, seed: int, *, kind: str, path: str | None = None,
                 labels: str | None = None, image_size: tuple[int, int] | None = None,
                 read_channels: int | None = None, fmt: str | None = None,
                 name: str | None = None) -> tuple[Dataset, Dataset]:
    """Split a freshly loaded ``full`` dataset (stratified, ``seed``) and attach its record.

    ``kind``: "folder", "file" or "drawings"; ``path``/``labels``/``image_size``/``read_channels``:
    what the reader was given. Fewer than 2 images: everything trains, nothing validates.
    """
    if val_fraction > 0 and len(full) >= 2:
        tr, va = split_indices(full.y, full.num_classes, val_fraction, seed)
    else:
        tr, va = np.arange(len(full)), np.zeros(0, np.int64)
    train, val = full.subset(tr, f"{full.name} (train)"), full.subset(va, f"{full.name} (validation)")
    files: list[str] | None = val.meta.get("files")
    keep_files = (kind == "folder" and files is not None and len(files) <= MAX_VAL_FILES
                  and sum(len(f) for f in files) <= MAX_VAL_FILE_CHARS)
    source = DataSource(kind, name or full.name, path=None if path is None else os.path.abspath(path),
                        labels=None if labels is None else os.path.abspath(labels), format=fmt,
                        image_size=None if image_size is None else (int(image_size[0]), int(image_size[1])),
                        read_channels=read_channels, channels=full.image_shape[2], val_fraction=float(val_fraction),
                        split_seed=int(seed), classes=tuple(full.class_names), num_images=len(full),
                        num_val=len(val), val_files=tuple(files) if keep_files and files is not None else None,
                        fingerprint=fingerprint(full) if kind != "drawings" else None)
    return attach(train, val, source)


def with_settings(train: Dataset, val: Dataset, **changes: Any) -> tuple[Dataset, Dataset]:
    """The pair with its record changed (channels after a conversion, a ``limit``), if it has one."""
    source = source_of(train)
    if source is not None and source.kind in ("folder", "file", "drawings"):
        attach(train, val, dataclasses.replace(source, **changes))
    return train, val


# ---- loading the recorded data ----------------------------------------------------------------------
Progress = Callable[..., Any] | None


def load(source: DataSource, *, user_dataset: Dataset | None = None, progress: Progress = None,
         cancel: Any = None) -> tuple[Dataset, Dataset]:
    """The recorded (train, val) pair, as it was when recorded (uint8; not yet fitted to a network).

    Raises :class:`DataMissingError` when the folder, file or download is not there, DataError
    for data that is there but is not what was recorded (other classes) or does not read.
    Differences that still allow the same validation images (files added to a folder) are
    said in the record's ``notes`` (``train.meta["datasource"].notes``).
    """
    from cnnstudio.data import load_dataset, sample_split

    if source.kind == "sample":
        return attach(*sample_split(), source)
    if source.kind == "standard":
        assert source.key is not None   # from_dict checks it
        from cnnstudio.data import is_downloaded, load_standard

        if not is_downloaded(source.key):
            raise DataMissingError(source, f"{source.where()} is not downloaded on this computer; download it "
                                   "(Dataset panel, \"Download...\", or --data " + source.key + ")")
        return attach(*load_standard(source.key), source)
    if source.kind == "drawings":
        if user_dataset is None or len(user_dataset) == 0:
            raise DataMissingError(source, "the project holds no drawings")
        return _resplit(user_dataset, source)
    assert source.path is not None
    if not os.path.lexists(source.path):
        raise DataMissingError(source, source.missing_message())
    from cnnstudio.data.sniff import check_data_path

    check_data_path(source.path, f"the data recorded in the project ({source.where()})")
    if source.labels is not None and not os.path.lexists(source.labels):
        raise DataMissingError(source, f"the labels file {source.labels} of {source.where()} is missing; put "
                               "it beside the images file")
    if source.kind == "folder":
        from cnnstudio.data import read_image_folder

        full, _report = read_image_folder(source.path, size=source.image_size, channels=source.read_channels,
                                          progress=progress, cancel=cancel)
    else:
        loaded = load_dataset(source.path, source.labels)
        if not isinstance(loaded, Dataset):   # the CIFAR-10 archive by path: its own train/test split
            train, val = loaded
            return attach(train, val, source)
        full = loaded
    return _resplit(full, source)


def _resplit(full: Dataset, source: DataSource) -> tuple[Dataset, Dataset]:
    """Split ``full`` as ``source`` records; check it is the same data."""
    where = source.where()
    if source.classes and tuple(full.class_names) != source.classes:
        raise DataError(source.path, f"is not the project's data: it has the classes "
                        f"{', '.join(full.class_names[:10])}, the project was trained on {where} with "
                        f"{', '.join(source.classes[:10])}")
    notes: list[str] = []
    same = source.fingerprint is None or fingerprint(full) == source.fingerprint
    if source.val_files is not None and not same:
        train, val = _split_by_names(full, source, notes)
    else:
        if not same:
            notes.append(f"{where} changed since the project recorded it ({len(full):,} images now, "
                         f"{source.num_images:,} then): its validation images may include some the network "
                         "trained on")
        if source.val_fraction > 0 and len(full) >= 2:
            tr, va = split_indices(full.y, full.num_classes, source.val_fraction, source.split_seed)
        else:
            tr, va = np.arange(len(full)), np.zeros(0, np.int64)
        train, val = full.subset(tr, f"{full.name} (train)"), full.subset(va, f"{full.name} (validation)")
    if source.limit is not None:
        train = train.subset(np.arange(min(source.limit, len(train))))
        val = val.subset(np.arange(min(source.limit, len(val))))
    if source.channels is not None and train.image_shape[2] != source.channels:
        convert = to_grayscale if source.channels == 1 else to_rgb
        train, val = convert(train), convert(val)
    train.source = val.source = source.path or source.key or source.kind
    return attach(train, val, dataclasses.replace(source, notes=tuple(notes)))


def _split_by_names(full: Dataset, source: DataSource, notes: list[str]) -> tuple[Dataset, Dataset]:
    """A folder that changed: validation is the recorded files still there (in their order),
    training every other image (new files included), shuffled with the split seed."""
    assert source.val_files is not None
    files = full.meta.get("files") or []
    row = {name: i for i, name in enumerate(files)}
    va = np.array([row[name] for name in source.val_files if name in row], np.int64)
    gone = len(source.val_files) - len(va)
    in_val = np.zeros(len(full), bool)
    in_val[va] = True
    tr = np.flatnonzero(~in_val)
    tr = tr[np.random.default_rng(source.split_seed).permutation(tr.size)]
    added = len(full) - (source.num_images - gone) if len(full) > source.num_images - gone else 0
    text = f"{source.where()} changed since the project recorded it ({len(full):,} images now, " \
           f"{source.num_images:,} then): validation uses the {len(va):,} recorded validation images"
    if gone:
        text += f" ({gone:,} of them are gone)"
    if added:
        text += "; images added since go to training"
    notes.append(text)
    return full.subset(tr, f"{full.name} (train)"), full.subset(va, f"{full.name} (validation)")


def placeholder(source: DataSource, problem: str) -> tuple[Dataset, Dataset]:
    """An empty (train, val) pair standing for data that is missing: the recorded name, classes
    and image shape, no images, and ``meta["missing"]`` = ``problem`` (what the panels show).
    Never the sample: nothing may look like the project's data when it is not."""
    h, w = source.image_size or (28, 28)
    c = source.channels or source.read_channels or 1
    names = list(source.classes)
    empty = np.zeros((0, h, w, c), np.uint8)
    label = source.path or source.key or source.kind
    parts = (Dataset(f"{source.name} (train)", empty, np.zeros(0, np.int64), names, label),
             Dataset(f"{source.name} (validation)", empty.copy(), np.zeros(0, np.int64), names, label))
    for part in parts:
        part.meta["missing"] = problem
    return attach(parts[0], parts[1], source)


def missing_problem(ds: Dataset | None) -> str | None:
    """The message of a placeholder for missing data, else None."""
    if ds is None:
        return None
    problem = ds.meta.get("missing")
    return problem if isinstance(problem, str) else None


__all__ = ["DataSource", "DataMissingError", "attach", "load", "named", "placeholder", "missing_problem",
           "record_split", "source_of", "with_settings", "fingerprint"]
