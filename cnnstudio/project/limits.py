"""Every limit a ``.cnnproj`` file is read under, with its reason, in one place.

A project file comes from anywhere (a mail attachment, a shared folder), so nothing it
declares about itself is trusted: not its member sizes, not its entry counts, not the
network that would tell us how large its weights may be. Each bound below is either an
absolute cap (fixed here, the same for every file) or derived from the file's network
*after* that network has passed the absolute caps, so no file can lift a limit by
describing a bigger network. docs/reliability.md ("Project files") lists them for users.

The memory a load may use follows from these bounds (:func:`member_bound`, :func:`open_peak_bound`):
each member inflates to at most ``min(its limit, max(RATIO_FREE_BYTES, MAX_COMPRESSION_RATIO
x its compressed size))`` bytes, and its arrays take at most as much again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnstudio.model.spec import NetworkSpec

MiB = 2**20

# ---- the zip container --------------------------------------------------------------------
#: project.json, weights.npz, optimizer.npz, user_data.npz, curves.npz, run_weights.npz: a central
#: directory listing more entries is refused before zipfile parses it (2 million entries cost 1 GB and 27 s).
MAX_MEMBERS = 6
#: bytes of central directory per entry we accept: 46 fixed + name (our names are < 20
#: characters) + a zip64 extra field (28); the rest is slack for other writers' extra fields.
CENTRAL_DIRECTORY_BYTES_PER_ENTRY = 1024
#: a member inflating to more than this many times its compressed size is refused once it
#: has produced RATIO_FREE_BYTES. Float weights compress about 1.07:1 (mini-vgg, measured),
#: 28x28 digits 4.2:1 (the MNIST sample); deflate's own maximum is about 1032:1 (all zeros).
MAX_COMPRESSION_RATIO = 200
#: below this much output the ratio is not checked (a small file of zeros is no threat)
RATIO_FREE_BYTES = 4 * MiB
#: members are inflated in pieces of this size (ZipExtFile.read() with no size inflates up
#: to 2 GiB in one call before it truncates to the declared size)
READ_CHUNK_BYTES = 1 * MiB
#: only these compression methods: stored and deflate are what CNN Studio writes; bzip2 and
#: lzma members are inflated by zipfile without an output bound per call
ALLOWED_COMPRESSION = (0, 8)

# ---- project.json -------------------------------------------------------------------------
#: a project.json with 20,000 epochs of history is about 5 MB; parsing JSON costs up to ~27x
#: its size (JSON_OBJECT_FACTOR), so 8 MiB bounds the parse at about 230 MB
MAX_JSON_BYTES = 8 * MiB
#: our documents nest 6 deep (history.epochs[i].field); 5,000 levels raised RecursionError
MAX_JSON_DEPTH = 64
#: digits in one JSON integer: int64 needs 19; Python refuses over 4,300 with a bare ValueError
MAX_INT_DIGITS = 20
#: epochs and learning-rate changes kept in a history (one epoch a second for a day)
MAX_HISTORY_RECORDS = 100_000

# ---- the runs list (project.json's runs, curves.npz, run_weights.npz) -------------------------
#: runs a project keeps; saving drops the oldest beyond this (each run's network is in project.json:
#: 100 runs of mini-vgg with 20 epochs each are about 1 MB of JSON, well under MAX_JSON_BYTES)
MAX_RUNS = 100
#: a run's number, and the largest whole number a run field may hold
MAX_RUN_NUMBER = 10**9
#: settings in a run's hyperparameters (TrainingConfig has 22) and characters of one text field
MAX_RUN_SETTINGS = 200
MAX_RUN_TEXT = 4096
#: per-batch points kept per run (loss, accuracy, step): a longer run keeps every 2nd, 4th, ...
#: batch (decimated as it goes), so a run's curves are at most 320 KB in the file
MAX_BATCH_POINTS = 20_000
#: values of all runs' kept weights together (last and best of each run); saving drops the oldest
#: runs' weights first beyond this (their records stay). Two VGG-16 sets, or 9,000 lenet5 sets.
MAX_RUN_WEIGHT_VALUES = 2 * 140_000_000

# ---- the network (absolute caps checked before anything is derived from it) ----------------
#: layers in one network; VGG-16, the largest template, has 38
MAX_LAYERS = 1_000
#: weights plus running statistics of one network: VGG-16 (138,357,544 values, 553 MB in
#: float32), the largest network this app offers and can train, with 8% headroom. A network
#: declaring Dense(700000) after a 28x28 input (549 million) is refused before any array is read.
MAX_STORED_VALUES = 150_000_000
#: bytes per stored value allowed in the files: float64, the widest float a weights file may use
BYTES_PER_VALUE = 8
#: optimizer buffers per trainable value: Adam keeps m and v, SGD with momentum keeps v
MAX_OPTIMIZER_SLOTS = 2
#: npz framing on top of the raw array bytes: a local header, central directory entry and
#: .npy header per array (under 600 bytes for our names), plus the zip's end records
NPZ_BYTES_PER_ARRAY = 4096
NPZ_FIXED_BYTES = 64 * 1024
#: entries an npz may hold beyond what the network needs, so that a stray array is refused by
#: name (by the weights check) rather than by count
NPZ_SPARE_ENTRIES = 16
#: a .npy header (numpy's own default cap; ours are 128 bytes)
MAX_NPY_HEADER_BYTES = 10_000
#: dimensions of a stored array (our weights have at most 4)
MAX_NPY_DIMS = 8

# ---- the user's drawings ------------------------------------------------------------------
#: drawings in one project (one every 5 seconds for 14 hours)
MAX_USER_IMAGES = 10_000
#: bytes of drawings (10,000 MNIST-sized drawings are 7.8 MB; 64 MiB leaves room for 224x224x3)
MAX_USER_DATA_BYTES = 64 * MiB
#: one drawing's side and channels: drawings are made at the network input's size
MAX_USER_IMAGE_SIDE = 4096
MAX_USER_IMAGE_CHANNELS = 4

# ---- saving -------------------------------------------------------------------------------
#: temporary save files: ``.NAME.<pid>.<random>.cnnstudio-tmp`` beside the project; one left
#: by a writer that is gone (pid not running and no lock held) is removed at the next save or open
TEMP_SUFFIX = ".cnnstudio-tmp"


# ---- what opening a file may cost --------------------------------------------------------
#: memory per byte of JSON text while parsing it (the decoded text and the Python objects),
#: worst case measured: 8 MiB of empty objects "{}," peaked at 26.7x, empty lists 25x, short
#: strings 12x, numbers 5-8x (docs/reliability.md)
JSON_OBJECT_FACTOR = 28
#: the interpreter's own allocations while loading (imports done, buffers, the zip directory)
LOAD_OVERHEAD_BYTES = 32 * MiB


class LimitError(ValueError):
    """A limit was exceeded; the message says which, the value and the limit."""


@dataclass(frozen=True)
class NetworkBounds:
    """Byte and entry bounds for the array members, derived from a network that passed the caps.

    ``values``: weights plus running statistics; ``trainable_arrays`` / ``stored_arrays``:
    how many named arrays the weights hold (trainable / all).
    """

    values: int
    trainable_arrays: int
    stored_arrays: int

    @property
    def weights_bytes(self) -> int:
        return self.values * BYTES_PER_VALUE + self.weights_entries * NPZ_BYTES_PER_ARRAY + NPZ_FIXED_BYTES

    @property
    def optimizer_bytes(self) -> int:
        return (MAX_OPTIMIZER_SLOTS * self.values * BYTES_PER_VALUE + self.optimizer_entries * NPZ_BYTES_PER_ARRAY
                + NPZ_FIXED_BYTES)

    @property
    def weights_entries(self) -> int:
        return self.stored_arrays + NPZ_SPARE_ENTRIES

    @property
    def optimizer_entries(self) -> int:
        return MAX_OPTIMIZER_SLOTS * self.trainable_arrays + 1 + NPZ_SPARE_ENTRIES


def user_data_bytes() -> int:
    return MAX_USER_DATA_BYTES + 2 * NPZ_BYTES_PER_ARRAY + NPZ_FIXED_BYTES + MAX_USER_IMAGES * 8  # + labels


def curves_bytes(runs: int) -> int:
    """The most bytes curves.npz may inflate to for ``runs`` runs: four arrays (step, loss,
    accuracy, learning rate) of MAX_BATCH_POINTS 8-byte values each."""
    return runs * 4 * (MAX_BATCH_POINTS * 8 + NPZ_BYTES_PER_ARRAY) + NPZ_FIXED_BYTES


def member_bound(limit: int, compressed_size: int) -> int:
    """The most bytes a member of ``compressed_size`` can inflate to under ``limit`` and the ratio cap."""
    return min(limit, max(RATIO_FREE_BYTES, MAX_COMPRESSION_RATIO * compressed_size))


def open_peak_bound(compressed: dict[str, int], bounds: NetworkBounds | None, runs: int = 0,
                    run_weights_bytes: int = 0) -> int:
    """The most memory opening a project may take beyond what the process held before.

    ``compressed``: member name -> compressed size (as its directory entry says; at most the
    file's size); ``bounds``: the network's, or None when the file is refused before its
    arrays. Each array member is held twice at most (its inflated bytes and the arrays read
    from them); project.json once, plus its parsed objects. ``runs``: the runs project.json
    lists; ``run_weights_bytes``: the bound for run_weights.npz (their networks' weights_bytes
    for each set stored).
    """
    total = LOAD_OVERHEAD_BYTES
    if "project.json" in compressed:
        total += (1 + JSON_OBJECT_FACTOR) * member_bound(MAX_JSON_BYTES, compressed["project.json"])
    if bounds is not None:
        member_limits = {"weights.npz": bounds.weights_bytes, "optimizer.npz": bounds.optimizer_bytes,
                         "user_data.npz": user_data_bytes(), "curves.npz": curves_bytes(runs),
                         "run_weights.npz": run_weights_bytes}
        for name, limit in member_limits.items():
            if name in compressed:
                total += 2 * member_bound(limit, compressed[name])
    return total


def network_bounds(spec: NetworkSpec) -> NetworkBounds:
    """Bounds for the arrays of ``spec``; LimitError if the network exceeds the absolute caps,
    ValueError (the engine's) if it is invalid. Nothing is allocated."""
    from cnnstudio.project.weights import known_layer_shapes

    n_layers = len(spec.layers)
    if n_layers > MAX_LAYERS:
        raise LimitError(f"the network has {n_layers:,} layers, more than the {MAX_LAYERS:,} this app opens")
    layers = known_layer_shapes(spec)   # plain integer arithmetic on the declared shapes, walked once
    values = sum(layer.param_count(s) + layer.non_trainable_count(s) for s, layer in layers)
    if values > MAX_STORED_VALUES:
        raise LimitError(f"the network stores {values:,} values (weights and statistics), more than the "
                         f"{MAX_STORED_VALUES:,} this app opens (the largest it trains, VGG-16, stores "
                         "138,357,544)")
    trainable = stored = 0
    for in_shape, layer in layers:   # a network being edited may have unknown shapes
        params = len(layer.param_shapes(in_shape))
        trainable += params
        stored += params + len(layer.state_shapes(in_shape))
    return NetworkBounds(values, trainable, stored)
