"""Glue shared by the CLI and the GUI: data for a run, a Trainer, inference. No Qt.

Images travel as ``uint8 (N, H, W, C)`` in :class:`~cnnstudio.data.Dataset` and
become ``float32 (N, C, H, W)`` in [0, 1] only at the engine's door.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from cnnstudio.data import DATASETS, Dataset, fit_to_network, split, to_float_nchw, to_grayscale, to_rgb
from cnnstudio.data.errors import DataFormatError
from cnnstudio.data.folder import MAX_PIXELS, check_image_file, gray_content, pixel_limit

if TYPE_CHECKING:
    from cnnstudio.data import Augmenter
    from cnnstudio.engine.network import Network
    from cnnstudio.model import TrainingConfig
    from cnnstudio.model.spec import NetworkSpec
    from cnnstudio.project.file import Project
    from PIL.Image import Image as PILImage

Progress = Callable[..., Any] | None

#: the downloadable datasets' names, as the registry lists them
STANDARD_SOURCES = tuple(DATASETS)
#: user datasets are split with this seed whatever the training seed, so runs compare fairly
SPLIT_SEED = 0


# ---- data -------------------------------------------------------------------------------
def _input_hwc(spec: NetworkSpec) -> tuple[int, int, int]:
    return tuple(int(v) for v in spec.input.hwc)  # type: ignore[return-value]


def load_source(source: str | None, labels: str | None = None, progress: Progress = None,
                size: tuple[int, int] | None = None) -> Dataset | tuple[Dataset, Dataset]:
    """``sample`` (default) -> its fixed (train, val) split; a standard name -> its official
    (train, test) split (downloaded on first use; ``progress(done, total, rate, eta)``);
    a path -> one Dataset (IDX with ``labels``, .npz, .csv or an image folder, whose images
    are decoded straight to ``size`` (h, w) when given)."""
    from cnnstudio.data import load_dataset, sample_split

    if source in (None, "", "sample"):
        return sample_split()
    return load_dataset(source, labels, progress=progress, size=size)


def fit_dataset(ds: Dataset, spec: NetworkSpec, convert_channels: bool = False) -> Dataset:
    """Resize ``ds`` to the network input; channel mismatch raises DataMismatchError unless
    ``convert_channels`` (the CLI's --grayscale), which converts grayscale <-> colour."""
    h, w, c = _input_hwc(spec)
    if convert_channels and ds.image_shape[2] != c:
        ds = to_grayscale(ds) if c == 1 else to_rgb(ds)
    return fit_to_network(ds, h, w, c)


def prepare_data(source: Any, spec: NetworkSpec, labels: str | None = None, val_fraction: float = 0.1,
                 convert_channels: bool = False, limit: int | None = None,
                 progress: Progress = None, seed: int = SPLIT_SEED) -> tuple[Dataset, Dataset]:
    """(train, val) Datasets fitted to ``spec``'s input.

    ``source``: None/"sample", a standard dataset name, a path, a Dataset, or a (train, val)
    pair. A single dataset is split stratified with ``val_fraction`` (0: no validation) and
    ``seed`` (default: a fixed 0, so every run on it validates on the same images; the
    named sources come split already). ``limit`` keeps the
    first N images of each part (quick runs, tests). ``progress`` reports downloads.
    """
    from cnnstudio.project import datasource

    _check_standard_channels(source, spec, convert_channels)
    _check_not_missing(source)
    # a folder is decoded at the network's size: its first image's size could be a 12 Mpixel photo
    size = _input_hwc(spec)[:2]
    loaded = source if isinstance(source, (Dataset, tuple)) else load_source(source, labels, progress, size)
    if isinstance(loaded, Dataset):
        if not 0 <= val_fraction < 1:
            raise ValueError(f"val_fraction must be from 0 to below 1, got {val_fraction}")
        if isinstance(source, (str, Path)):   # a path: record what was read and how it was split
            loaded = _record_path_split(loaded, Path(source), labels, size, val_fraction, seed)
        else:
            loaded = split(loaded, val_fraction, seed) if val_fraction > 0 else (loaded, loaded.subset([]))
    elif isinstance(source, (str, Path)) and datasource.source_of(loaded[0]) is None:
        # the CIFAR-10 archive by path: its own split, recorded as the file
        path = os.path.abspath(source)
        loaded = datasource.attach(loaded[0], loaded[1], datasource.DataSource(
            "file", os.path.basename(path), path=path, format="cifar10-binary", channels=loaded[0].image_shape[2],
            classes=tuple(loaded[0].class_names), num_images=len(loaded[0]) + len(loaded[1]), num_val=len(loaded[1])))
    train, val = loaded
    if limit is not None:
        train, val = train.subset(np.arange(min(limit, len(train)))), val.subset(np.arange(min(limit, len(val))))
        datasource.with_settings(train, val, limit=limit)
    train, val = fit_dataset(train, spec, convert_channels), fit_dataset(val, spec, convert_channels)
    if convert_channels:   # the record says what the images became
        datasource.with_settings(train, val, channels=train.image_shape[2])
    return train, val


def _check_not_missing(source: Any) -> None:
    """A placeholder for the project's missing data is refused with what it stands for."""
    from cnnstudio.data.errors import DataError
    from cnnstudio.project.datasource import missing_problem

    first = source[0] if isinstance(source, tuple) and source else source
    problem = missing_problem(first) if isinstance(first, Dataset) else None
    if problem is not None:
        raise DataError(None, problem)


def _record_path_split(full: Dataset, path: Path, labels: str | None, size: tuple[int, int], val_fraction: float,
                       seed: int) -> tuple[Dataset, Dataset]:
    from cnnstudio.data.sniff import sniff
    from cnnstudio.project.datasource import record_split

    fmt = sniff(path)
    kind = "folder" if fmt == "folder" else "file"
    return record_split(full, val_fraction, seed, kind=kind, path=str(path), labels=labels,
                        image_size=size if kind == "folder" else None, fmt=None if kind == "folder" else fmt,
                        name=full.name)


def _check_standard_channels(source: Any, spec: NetworkSpec, convert_channels: bool) -> None:
    """A standard dataset whose channels do not fit is refused before it is downloaded
    (CIFAR-10 is 170 MB to learn that a grayscale network cannot take it)."""
    from cnnstudio.data.dataset import check_channels

    info = DATASETS.get(source.lower()) if isinstance(source, str) else None
    if info is not None and not convert_channels:
        check_channels(info.title, info.image_shape[2], _input_hwc(spec)[2])


def dataset_description(train: Dataset, val: Dataset) -> dict[str, Any]:
    """What the history records about the data: {name, source, num_train, num_val, image_shape, classes}."""
    name = train.name.replace(" (train)", "")
    return {"name": name, "source": train.source, "num_train": len(train), "num_val": len(val),
            "image_shape": list(train.image_shape), "classes": list(train.class_names)}


# ---- inference --------------------------------------------------------------------------
def predict(network: Network, images_uint8_nhwc: np.ndarray, batch_size: int = 256,
            input_spec: Any = None) -> np.ndarray:
    """images: uint8 (N, H, W, C) -> class probabilities float32 (N, K) on the host, preprocessed
    as ``input_spec`` (the network's InputSpec) says (None: the default scale 1/255)."""
    prepare = input_spec.prepare if input_spec is not None else to_float_nchw
    from cnnstudio.engine.backend import to_host

    out = []
    for start in range(0, len(images_uint8_nhwc), batch_size):
        x = prepare(images_uint8_nhwc[start:start + batch_size])
        out.append(np.asarray(to_host(network.forward(x, training=False)), dtype=np.float32))
    return np.concatenate(out) if out else np.zeros((0, int(network.output_shape[0])), np.float32)


def load_image_file(path: str | Path, hwc: tuple[int, int, int]) -> tuple[np.ndarray, list[str]]:
    """One image file -> (uint8 (H, W, C) fitted to the network input, notes for the user).

    Colour photos for a grayscale network are converted (and the note says so). MNIST digits
    are white on black, so an image whose border is mostly bright is inverted (noted too).
    """
    from PIL import Image

    h, w, c = hwc
    notes: list[str] = []
    rgb = _read_rgb(Path(path), notes)
    if c == 1 and not gray_content(np.asarray(rgb)):
        notes.append("converted the colour image to grayscale for this 1-channel network")
    img = rgb.convert("L" if c == 1 else "RGB")
    if img.size != (w, h):
        notes.append(f"resized from {img.size[0]}x{img.size[1]} to {w}x{h}")
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8).reshape(h, w, c)
    if c == 1 and _border_is_bright(arr):
        arr = 255 - arr
        notes.append("inverted it (dark ink on a light background; the network expects white on black)")
    return arr, notes


def _read_rgb(path: Path, notes: list[str]) -> PILImage:
    """Decode ``path`` to an RGB Pillow image (transparency flattened); DataFormatError naming
    the file for anything missing, unreadable or too large to decode safely."""
    from PIL import Image, UnidentifiedImageError

    if path.is_dir():
        raise DataFormatError(path, "is a folder, not an image file; give PNG, JPEG or BMP files")
    try:
        check_image_file(path)  # a PNG chunk claiming more than the file holds (a 4 GB IDAT)
        with warnings.catch_warnings():
            # Pillow only warns below 2x its pixel limit; the header's size is checked before decoding
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise DataFormatError(path, f"{img.width}x{img.height} pixels is too large for an image "
                                          "to classify; scale it down first")
                if img.width * img.height > pixel_limit(path):
                    raise DataFormatError(path, f"declares {img.width}x{img.height} pixels in a file of "
                                          f"{path.stat().st_size:,} bytes: corrupt or forged, not an image "
                                          "to classify")
                img.load()
                return _flatten_alpha(img, notes).convert("RGB")
    except DataFormatError:
        raise
    except FileNotFoundError as exc:
        raise DataFormatError(path, "file not found; check the path") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DataFormatError(path, f"is too large to decode safely ({exc}); scale it down first") from exc
    except MemoryError:
        raise DataFormatError(path, "is not an image that can be decoded safely (its sizes are corrupt "
                              "or forged)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DataFormatError(path, f"is not an image Pillow can read ({exc})") from exc


def _flatten_alpha(img: PILImage, notes: list[str]) -> PILImage:
    """An image with transparent pixels -> RGB on a background that contrasts with its ink.

    Dropping the alpha channel would keep whatever colour the invisible pixels happen to hold:
    a drawing app's black ink on transparent black becomes an all-black image.
    """
    from PIL import Image

    if img.mode not in ("RGBA", "LA", "PA") and not (img.mode == "P" and "transparency" in img.info):
        return img
    rgba = img.convert("RGBA")
    alpha = np.asarray(rgba, dtype=np.uint8)[..., 3]
    if alpha.min() == 255:
        return rgba.convert("RGB")
    ink = np.asarray(rgba.convert("L"), dtype=np.float32)[alpha > 127]
    dark_ink = ink.size == 0 or float(ink.mean()) < 128.0
    background = (255, 255, 255) if dark_ink else (0, 0, 0)
    notes.append(f"put its transparent background on {'white' if dark_ink else 'black'}")
    canvas = Image.new("RGB", rgba.size, background)
    canvas.paste(rgba, mask=rgba.getchannel("A"))
    return canvas


def _border_is_bright(arr: np.ndarray) -> bool:
    border = np.concatenate([arr[0].ravel(), arr[-1].ravel(), arr[:, 0].ravel(), arr[:, -1].ravel()])
    return float(border.mean()) > 127.0


# ---- history ----------------------------------------------------------------------------
def epoch_record(report: Any, epochs_done_before: int = 0) -> dict[str, Any]:
    """engine EpochReport -> the history's plain-JSON epoch record (epoch counted from 1).
    The record itself is ``project.run.EpochRecord``'s (what a ``Run`` keeps)."""
    from cnnstudio.project.run import EpochRecord

    return EpochRecord.from_report(report, epochs_done_before, None).to_dict()


# ---- training config --------------------------------------------------------------------
def make_config(base: TrainingConfig | None = None, **overrides: Any) -> TrainingConfig:
    """A model.TrainingConfig (its defaults, or a copy of ``base``) with ``overrides`` applied.

    Bad values raise TrainingConfigError naming the setting and the value.
    """
    from cnnstudio.model import TrainingConfig

    data = base.to_dict() if base is not None else {}
    data.update(overrides)
    return TrainingConfig.from_dict(data)


def config_dict(config: TrainingConfig) -> dict[str, Any]:
    return config.to_dict()


# ---- network and trainer ----------------------------------------------------------------
def build_network(spec: NetworkSpec, seed: int = 0, xp: Any = np, dtype: Any = np.float32,
                  init: str = "he") -> Network:
    """An engine Network for ``spec`` (model.build_network validates it first)."""
    from cnnstudio.model import build_network as _build

    return _build(spec, xp=xp, dtype=dtype, seed=seed, init=init)


def build_with_weights(spec: NetworkSpec, weights: dict[str, np.ndarray], seed: int = 0) -> Network:
    """A Network for ``spec`` carrying ``weights`` (ready for inference)."""
    net = build_network(spec, seed=seed)
    net.set_weights(weights)
    return net


def make_augmenter(config: TrainingConfig) -> Augmenter | None:
    """data.Augmenter from the config's augmentation settings, or None when ``augment`` is off."""
    if not config.augment:
        return None
    from cnnstudio.data import Augmenter

    return Augmenter(shift=config.shift, rotation=config.rotation, scale=config.scale, noise=config.noise,
                     flip=config.flip)


def check_fit(spec: NetworkSpec, train: Dataset) -> None:
    """Raise the model's explained NetworkError if ``spec`` cannot train on ``train``.

    When the class count comes from the largest label and some classes have no image, the
    message says so: one stray label (12 among digits) looks like "13 classes" otherwise.
    """
    import dataclasses

    from cnnstudio.model import NetworkError
    from cnnstudio.model.fit import check_trainable

    problem = check_trainable(spec, train.num_classes, train.image_shape).problem
    if problem is None:
        return
    empty = np.flatnonzero(train.class_counts() == 0)
    if problem.kind == "classes_mismatch" and empty.size and len(train):
        shown = ", ".join(train.class_names[i] for i in empty[:5]) + (", ..." if empty.size > 5 else "")
        problem = dataclasses.replace(problem, message=f"{problem.message} (labels go up to {train.num_classes - 1}, "
                                      f"but {empty.size} of those classes have no images: {shown}; "
                                      "check the labels for stray values)")
    raise NetworkError(problem)


class TrainingRun:
    """A prepared run: the network, optimizer and engine Trainer, plus the data and config.

    ``project(history)`` snapshots it as a Project (weights and optimizer state copied to host).
    """

    def __init__(self, spec: NetworkSpec, train: Dataset, val: Dataset, config: TrainingConfig,
                 weights: dict[str, np.ndarray] | None = None, optimizer_state: dict[str, Any] | None = None,
                 threads: int | str | None = "auto", processes: bool = False):
        from cnnstudio.engine.trainer import Trainer

        from cnnstudio.model import build_optimizer, build_schedule

        check_fit(spec, train)
        self.spec, self.train, self.val, self.config = spec, train, val, config
        from cnnstudio.engine.backend import get_backend

        # a missing CuPy raises BackendUnavailableError with the reason, never a silent CPU run
        xp = get_backend(config.backend).xp
        self.network = build_network(spec, seed=config.seed, xp=xp, init=config.init)
        if weights is not None:
            self.network.set_weights(weights)
        self.optimizer = build_optimizer(config)
        if optimizer_state:
            self.optimizer.set_state(optimizer_state)
        has_val = len(val) > 0
        prepare = spec.input.prepare   # the Input block's preprocessing (scale, mean, std)
        self.trainer = Trainer(self.network, self.optimizer, prepare(train.x), train.y,
                               prepare(val.x) if has_val else None, val.y if has_val else None,
                               batch_size=config.batch_size, epochs=config.epochs, schedule=build_schedule(config),
                               seed=config.seed, batch_transform=make_augmenter(config), threads=threads,
                               processes=processes)

    def project(self, history: dict[str, Any], user_dataset: Any = None,
                metadata: dict[str, Any] | None = None) -> Project:
        from cnnstudio.project.file import Project, new_metadata

        from cnnstudio.project.datasource import source_of

        return Project(self.spec, weights=self.network.get_weights(), optimizer_state=self.optimizer.get_state(),
                       history=history, training_config=self.config, user_dataset=user_dataset,
                       metadata=metadata or new_metadata(), datasource=source_of(self.train))


def make_trainer(spec: NetworkSpec, train: Dataset, val: Dataset, config: TrainingConfig,
                 weights: dict[str, np.ndarray] | None = None, optimizer_state: dict[str, Any] | None = None,
                 threads: int | str | None = "auto", processes: bool = False) -> TrainingRun:
    """Check the fit, build the network (config seed), optimizer, schedule and augmentation.

    ``processes``: split each batch over ``threads`` worker processes instead of threads
    (``engine.procpool``; bit-identical; networks with BatchNorm or branches keep threads)."""
    return TrainingRun(spec, train, val, config, weights, optimizer_state, threads, processes)
