"""Issue 14, the project-file side: every hostile file ends in ProjectFileError naming the file,
within the memory bound docs/reliability.md states (limits.open_peak_bound).

All files are built here, small (the largest is 1.3 MB) and fast. One child process opens
them all under an address-space limit of its size at the start plus the file's bound
(projmem.load_all) and reports what each raised and its peak RSS growth.
"""

import json
import zipfile
import zlib

import numpy as np
import pytest

from cnnstudio.model.spec import LayerSpec, NetworkSpec
from cnnstudio.model.templates import get_template
from cnnstudio.project import limits
from cnnstudio.project.file import Project, ProjectFileError, load_project, save_project
from cnnstudio.project.weights import required_shapes

from projbombs import (MiB, deflate_prefixed, deflate_zeros, npy_with_header, npz, project_json, raw_zip,
                       zip_members)
from projhelpers import random_weights, small_spec
from projmem import load_all

SMALL = small_spec()
GOOD_JSON = project_json(SMALL.to_dict())
VGG_JSON = project_json(get_template("vgg16").to_dict())
WEIGHTS = random_weights(SMALL)


def _with(**members) -> bytes:
    """project.json (the small network) plus the given members, deflated."""
    return zip_members({"project.json": GOOD_JSON, **{k.replace("_npz", ".npz"): v for k, v in members.items()}})


def _npz_member(name: str, data: bytes, method=8, size=None, crc=None) -> dict:
    m = {"name": name, "data": data, "method": method}
    if size is not None:
        m["size"] = size
    if crc is not None:
        m["crc"] = crc
    return m


def _inner_npz_with(key: str, npy: bytes, **rest) -> bytes:
    return zip_members({f"{key}.npy": npy, **{f"{k}.npy": v for k, v in rest.items()}}, zipfile.ZIP_STORED)


def _npy(arr) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr))
    return buf.getvalue()


def _optimizer(state: dict) -> bytes:
    return _with(weights_npz=npz(**WEIGHTS), optimizer_npz=npz(**state))


def _history(**history) -> bytes:
    h = {"epochs": [], "lr_changes": [], "hyperparameters": {}, "dataset": None, **history}
    return zip_members({"project.json": project_json(SMALL.to_dict(), history=h)})


def _deep_json(depth: int) -> bytes:
    return GOOD_JSON[:-1] + b', "metadata": ' + b"[" * depth + b"]" * depth + b"}"


def _many_entries(n: int, declared: int) -> bytes:
    return raw_zip([{"name": f"e{i}", "data": b""} for i in range(n)], entries=declared)


# ---- the cases: id -> (bytes, fragments the message must hold, network whose bounds apply) -----
def _cases() -> dict:
    zeros_55510 = zlib.crc32(bytes(55_510))
    big_dense = NetworkSpec("big", (28, 28, 1), [LayerSpec("Flatten"), LayerSpec("Dense", {"units": 700000}),
                                                 LayerSpec("Softmax")])
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 1, 3, 3), }"
    return {
        # 1. a member declaring 55,510 bytes that inflates to 256 MiB: read 55,510 and stop
        "1-lying-declared-size": (raw_zip([_npz_member("project.json", GOOD_JSON, 0),
                                           _npz_member("weights.npz", deflate_zeros(256), size=55_510,
                                                       crc=zeros_55510)]),
                                  ["weights.npz"], SMALL),
        # 1. a member declaring 3 GiB: refused from its directory entry, nothing inflated
        "1-declared-3GiB": (raw_zip([_npz_member("project.json", GOOD_JSON, 0),
                                     _npz_member("weights.npz", deflate_zeros(3), size=3 * 2**30)]),
                            ["weights.npz", "declares 3,221,225,472 bytes"], SMALL),
        # 1. VGG-16 allows 1.2 GB of weights; a 260 KB member inflating 1000:1 stops at 200:1
        "1-ratio": (raw_zip([_npz_member("project.json", VGG_JSON, 0),
                             _npz_member("weights.npz", deflate_zeros(256), size=256 * MiB)]),
                    ["weights.npz", "200 times its compressed size"], get_template("vgg16")),
        # 1. the same lie one level down: an .npy inside weights.npz declared 20 KB, inflating to 64 MiB
        "1-inner-lying-size": (_with(weights_npz=raw_zip([_npz_member(
            "0.W.npy", deflate_prefixed(npy_with_header(header)[:128], 64), size=20_000)])),
            ["weights.npz", "'0.W'"], SMALL),
        # 4 (zip part). central directories listing more entries than a project can have
        "cd-2-million-entries": (raw_zip([_npz_member("project.json", GOOD_JSON, 0)], entries=2_000_000),
                                 ["2,000,000 entries"], None),
        "cd-lies-about-count": (_many_entries(5000, declared=4), ["directory takes", f"{limits.MAX_MEMBERS} entries"], None),
        "npz-500-entries": (_with(weights_npz=zip_members({f"{i}.x.npy": _npy(np.float32(0)) for i in range(500)},
                                                           zipfile.ZIP_STORED)),
                             ["weights.npz", "500 entries"], SMALL),
        # 2. a network whose declared size would lift the weights limit to 4.4 GB
        "2-dense-700000": (raw_zip([_npz_member("project.json", project_json(big_dense.to_dict()), 0),
                                    _npz_member("weights.npz", deflate_zeros(64), size=64 * MiB)]),
                           ["549,500,000 values", "150,000,000"], None),
        "2-too-many-layers": (zip_members({"project.json": project_json(NetworkSpec(
            "deep", (4, 4, 1), [LayerSpec("ReLU")] * 1001 + [LayerSpec("Flatten"), LayerSpec("Dense", {"units": 2}),
                                                             LayerSpec("Softmax")]).to_dict())}),
            ["1,004 layers", "1,000"], None),
        # 3. 1.15 million blank drawings in 1 MB, and more drawings than a project keeps
        "3-million-drawings": (_with(user_data_npz=raw_zip([
            _npz_member("x.npy", deflate_prefixed(npy_with_header(
                "{'descr': '|u1', 'fortran_order': False, 'shape': (1150000, 28, 28, 1), }"), 900), size=902_000_000)])),
            ["user_data.npz", "'x'"], SMALL),
        "3-drawings-over-count": (_with(user_data_npz=npz(x=np.zeros((20_000, 8, 8, 1), np.uint8),
                                                          y=np.zeros(20_000, np.int64))),
                                  ["user_data.npz", "20,000 drawings", "10,000"], SMALL),
        "3-zero-sized-drawings": (_with(user_data_npz=npz(x=np.zeros((2, 0, 28, 1), np.uint8), y=np.zeros(2, np.int64))),
                                  ["user_data.npz", "zero-sized"], SMALL),
        # 6. JSON nesting and numbers, .npy headers
        "6-json-5000-deep": (zip_members({"project.json": _deep_json(5000)}), ["nested more than 64"], None),
        "6-json-65-deep": (zip_members({"project.json": _deep_json(65)}), ["nested more than 64"], None),
        "6-json-5000-digits": (zip_members({"project.json": GOOD_JSON[:-1] + b', "metadata": ' + b"7" * 5000 + b"}"}),
                               ["5,000 digits"], None),
        "6-json-nan": (zip_members({"project.json": GOOD_JSON[:-1] + b', "metadata": NaN}'}), ["NaN"], None),
        "6-json-1e999": (zip_members({"project.json": GOOD_JSON[:-1] + b', "metadata": 1e999}'}),
                         ["too large"], None),
        "6-npy-header-never-closes": (_with(weights_npz=_inner_npz_with("0.W", npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (8, 1, 3, 3), "))),
            ["weights.npz", "'0.W'", "damaged .npy header"], SMALL),
        "6-npy-shape-1e12": (_with(weights_npz=_inner_npz_with("0.W", npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }"))),
            ["weights.npz", "'0.W'", "(1000000000000,)"], SMALL),
        # found by the fuzz tests: (0, -1) holds 0 values, so it passed the byte budget
        "6-npy-negative-dimension": (_with(weights_npz=_inner_npz_with("0.W", npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, -1), }"))),
            ["weights.npz", "'0.W'", "negative"], SMALL),
        "6-npy-empty-but-huge": (_with(weights_npz=_inner_npz_with("0.W", npy_with_header(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 451493258, 5107148265), }"))),
            ["weights.npz", "'0.W'", "(0, 451493258, 5107148265)"], SMALL),
        "6-npy-structured-dtype": (_with(weights_npz=_inner_npz_with("0.W", _npy(np.zeros(3, [("a", "<f4")])))),
                                   ["weights.npz", "dtype"], SMALL),
        # 7. optimizer state that would reach the optimizer's buffers
        "7-key-without-slot": (_optimizer({"0.W": np.zeros((8, 1, 3, 3), np.float32)}),
                               ["optimizer.npz", "'0.W'", "slot/parameter"], SMALL),
        "7-moment-that-broadcasts": (_optimizer({"m/0.W": np.ones(3, np.float32)}),
                                     ["optimizer.npz", "'m/0.W'", "(3,)", "(8, 1, 3, 3)"], SMALL),
        "7-steps-array": (_optimizer({"steps": np.arange(5)}), ["optimizer.npz", "'steps'"], SMALL),
        "7-nan-moment": (_optimizer({"v/4.W": np.full(required_shapes(SMALL)["4.W"], np.nan, np.float32)}),
                         ["optimizer.npz", "'v/4.W'", "NaN"], SMALL),
        "7-unknown-parameter": (_optimizer({"m/9.W": np.zeros(3, np.float32)}),
                                ["optimizer.npz", "'m/9.W'", "no trainable parameter"], SMALL),
        "7-integer-moment": (_optimizer({"m/0.b": np.zeros(8, np.int64)}), ["optimizer.npz", "'m/0.b'", "dtype"], SMALL),
        # 8. history records the plots would draw
        "8-text-loss": (_history(epochs=[{"epoch": 1, "train_loss": "0.5"}]),
                        ["history.epochs[0].train_loss", "number"], None),
        "8-text-epoch": (_history(epochs=[{"epoch": 1}, {"epoch": "2", "val_acc": 0.5}]),
                         ["history.epochs[1].epoch"], None),
        "8-bool-value": (_history(epochs=[{"epoch": 1, "lr": True}]), ["history.epochs[0].lr"], None),
        "8-epoch-zero": (_history(epochs=[{"epoch": 0}]), ["history.epochs[0].epoch", ">= 1"], None),
        "8-lr-change-text": (_history(lr_changes=[{"epoch": 1, "step": 3, "lr": "fast"}]),
                             ["history.lr_changes[0].lr"], None),
        "8-epoch-not-object": (_history(epochs=[3]), ["history.epochs[0] must be an object"], None),
        # runs (format_version 2): their curves and kept weights are bounded like the rest
        "runs-curves-bomb": (raw_zip([_npz_member("project.json", _runs_json({"last": None, "best": None}), 0),
                                      _npz_member("curves.npz", deflate_zeros(256), size=256 * MiB)]),
                             ["curves.npz"], SMALL),
        "runs-weights-bomb": (raw_zip([_npz_member("project.json", _runs_json({"last": "stored", "best": None}), 0),
                                       _npz_member("run_weights.npz", deflate_zeros(256), size=256 * MiB)]),
                              ["run_weights.npz"], SMALL),
        "runs-too-many": (zip_members({"project.json": project_json(SMALL.to_dict(), format_version=2,
                                                                    runs=[{"number": 1}] * 100_000)}),
                          ["runs holds 100,000 runs", f"more than the {limits.MAX_RUNS}"], None),
    }


def _runs_json(places: dict) -> bytes:
    """project.json (format 2) with one run of the small network, its weights at ``places``."""
    run = {"number": 1, "id": "r1", "name": "run 1", "network": SMALL.to_dict(), "hyperparameters": {"lr": 0.001},
           "epochs": [{"epoch": 1, "val_acc": 0.5}], "best_epoch": 1, "weights": places}
    return project_json(SMALL.to_dict(), format_version=2, runs=[run])


CASES = _cases()


def _bound(path, spec) -> int:
    try:
        with zipfile.ZipFile(path) as zf:
            compressed = {i.filename: i.compress_size for i in zf.infolist()}
    except (zipfile.BadZipFile, ValueError):
        compressed = {}
    return limits.open_peak_bound(compressed, None if spec is None else limits.network_bounds(spec))


@pytest.fixture(scope="module")
def opened(tmp_path_factory):
    """Every case (and two good files) opened in one child under RLIMIT_AS: {case: (path, bound, result)}."""
    folder = tmp_path_factory.mktemp("hostile")
    files = {}
    for name, (data, _frags, spec) in CASES.items():
        path = folder / f"{name}.cnnproj"
        path.write_bytes(data)
        files[name] = (path, _bound(path, spec))
    good = folder / "good-mini-vgg.cnnproj"
    files["good"] = (good, _good_project(good))
    results = load_all([(p, b) for p, b in files.values()])
    return {name: (p, b, results[str(p)]) for name, (p, b) in files.items()}


def _good_project(path) -> int:
    """A trained-looking mini-vgg project with Adam state and drawings; returns its bound."""
    spec = get_template("mini-vgg")
    weights = random_weights(spec, seed=1)
    state = {f"{slot}/{k}": np.abs(v) for k, v in weights.items() for slot in ("m", "v")}
    state["steps"] = np.array(40, np.int64)
    from cnnstudio.data import UserDataset

    user = UserDataset(np.random.default_rng(0).integers(0, 255, (50, 28, 28, 1), dtype=np.uint8),
                       np.arange(50) % 10)
    save_project(path, Project(spec, weights=weights, optimizer_state=state, user_dataset=user))
    return _bound(path, spec)


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_refused_by_name_within_the_bound(opened, case):
    path, bound, result = opened[case]
    assert result["error"] == "ProjectFileError", result
    assert str(path) in result["message"]
    for fragment in CASES[case][1]:
        assert fragment in result["message"], result["message"]
    assert not result["memory_error"], result  # refused by a check, not by running out of memory
    assert result["peak"] <= bound, f"peak {result['peak']:,} > bound {bound:,}"


def test_a_good_project_opens_within_its_bound(opened):
    path, bound, result = opened["good"]
    assert result["error"] is None, result
    assert result["peak"] <= bound


def test_the_bounds_are_tight_enough_to_matter():
    """The bound of a hostile file is far below what the old loader spent on it (case 1: 2.1 GB)."""
    path_bound = {name: CASES[name] for name in ("1-lying-declared-size", "1-ratio", "2-dense-700000")}
    assert all(len(data) < 2 * MiB for data, _, _ in path_bound.values())
    assert limits.open_peak_bound({"project.json": 1000, "weights.npz": 300_000},
                                  limits.network_bounds(get_template("vgg16"))) < 400 * MiB
