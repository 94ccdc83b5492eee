"""Downloads against a local HTTP server on 127.0.0.1 (never the internet)."""

import gzip
import hashlib
import socket
import tarfile
import threading
import io

import numpy as np
import pytest
from datahelpers import idx_bytes, make_images
from localhttp import serve

from cnnstudio.data import DownloadCancelled, DownloadError, download, load_dataset
from cnnstudio.data import registry
from cnnstudio.data.registry import RemoteFile, StandardDataset

PAYLOAD = bytes(np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8))


def md5(b: bytes) -> str:
    return "md5:" + hashlib.md5(b).hexdigest()


@pytest.fixture
def server():
    with serve({"data.bin": PAYLOAD}) as srv:
        yield srv


def _no_final(dest):
    assert not dest.exists(), f"{dest} must not exist after a failed download"


def test_good_download_with_progress(server, tmp_path):
    dest = tmp_path / "data.bin"
    calls = []
    download(server.base + "/good/data.bin", dest, md5(PAYLOAD), progress=lambda *a: calls.append(a))
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "data.bin.part").exists()
    done, total, rate, _eta = calls[-1]
    assert done == total == len(PAYLOAD) and rate > 0
    # A verified file is not downloaded again.
    n = len(server.requests)
    download(server.base + "/good/data.bin", dest, md5(PAYLOAD))
    assert len(server.requests) == n


def test_sha256_checksum_accepted(server, tmp_path):
    dest = tmp_path / "data.bin"
    download(server.base + "/good/data.bin", dest, "sha256:" + hashlib.sha256(PAYLOAD).hexdigest())
    assert dest.read_bytes() == PAYLOAD


def test_truncated_download_leaves_no_final_file(server, tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="closed after 300,000 of 305,000 bytes"):
        download(server.base + "/lie/data.bin", dest, md5(PAYLOAD), timeout=5)
    _no_final(dest)


def test_wrong_checksum_deletes_part(server, tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="md5 checksum mismatch"):
        download(server.base + "/good/data.bin", dest, "md5:" + "0" * 32)
    _no_final(dest)
    assert not (tmp_path / "data.bin.part").exists()


def test_server_error_names_status(server, tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match="HTTP 500"):
        download(server.base + "/error/data.bin", dest, md5(PAYLOAD))
    _no_final(dest)


def test_cancel_from_progress_callback(server, tmp_path):
    dest = tmp_path / "data.bin"
    cancel = threading.Event()

    def progress(done, total, rate, eta):
        cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        download(server.base + "/good/data.bin", dest, md5(PAYLOAD), progress=progress, cancel=cancel)
    _no_final(dest)
    part = tmp_path / "data.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)


def test_resume_uses_range_when_server_answers_206(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:120_000])
    download(server.base + "/good/data.bin", dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert server.requests[-1][1] == "bytes=120000-"


def test_restart_when_server_ignores_range(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(b"garbage that is not a prefix")
    download(server.base + "/norange/data.bin", dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_answered_416_restarts(server, tmp_path):
    """A .part already as long as the file (crash before the rename) -> 416 -> fresh download."""
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(b"x" * len(PAYLOAD))
    download(server.base + "/good/data.bin", dest, md5(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [f"bytes={len(PAYLOAD)}-", None]


def test_all_mirrors_failing_names_each(server, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNSTUDIO_CACHE", str(tmp_path / "cache"))
    rf = RemoteFile("data.bin", md5(PAYLOAD), (server.base + "/error/", server.base + "/error2/"))
    monkeypatch.setitem(registry.DATASETS, "mnist", StandardDataset("mnist", "MNIST", "idx", (rf,), (), "", ""))
    with pytest.raises(DownloadError, match=r"no mirror worked \(.*/error/data.bin: .*HTTP 500.*/error2/"):
        registry.fetch("mnist")
    assert not (tmp_path / "cache" / "datasets" / "mnist" / "data.bin").exists()


def test_offline_fails_fast_pointing_to_sample(tmp_path):
    with socket.socket() as s:  # find a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match=r"could not reach the server.*--data sample"):
        download(f"http://127.0.0.1:{port}/data.bin", dest, md5(PAYLOAD), timeout=3)
    _no_final(dest)
    assert not (tmp_path / "data.bin.part").exists()  # nothing to resume: no empty .part left


def _fixture_registry(server, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNSTUDIO_CACHE", str(tmp_path / "cache"))
    x, y = make_images(n=7, h=28, w=28)
    tx, ty = make_images(n=3, h=28, w=28, seed=1)
    names = ["tr-img.gz", "tr-lbl.gz", "te-img.gz", "te-lbl.gz"]
    blobs = [gzip.compress(idx_bytes(a)) for a in (x, y, tx, ty)]
    server.files.update(dict(zip(names, blobs)))
    files = tuple(RemoteFile(n, md5(b), (server.base + "/error/", server.base + "/good/"))
                  for n, b in zip(names, blobs))
    fake = StandardDataset("mnist", "MNIST", "idx", files, tuple("0123456789"), "", "")
    monkeypatch.setitem(registry.DATASETS, "mnist", fake)
    return x, y, tx


def test_load_dataset_downloads_to_cache_with_mirror_fallback(server, monkeypatch, tmp_path):
    x, y, tx = _fixture_registry(server, monkeypatch, tmp_path)
    train, val = load_dataset("mnist")
    assert np.array_equal(train.x[..., 0], x) and np.array_equal(train.y, y)
    assert len(val) == 3 and train.class_names == list("0123456789")
    assert registry.is_downloaded("mnist")
    assert (tmp_path / "cache" / "datasets" / "mnist" / "tr-img.gz").is_file()


def test_cifar10_binary_archive(server, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNSTUDIO_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(3)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
            recs = rng.integers(0, 256, (2, 3073), dtype=np.uint8)
            recs[:, 0] %= 10
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = recs.nbytes
            tar.addfile(info, io.BytesIO(recs.tobytes()))
            if name == "test_batch.bin":
                test_recs = recs
    blob = buf.getvalue()
    server.files["cifar.tgz"] = blob
    fake = StandardDataset("cifar10", "CIFAR-10", "cifar10-binary",
                           (RemoteFile("cifar.tgz", md5(blob), (server.base + "/good/",)),),
                           tuple(registry.CIFAR10_CLASSES), "", "")
    monkeypatch.setitem(registry.DATASETS, "cifar10", fake)
    train, test = load_dataset("cifar10")
    assert train.x.shape == (10, 32, 32, 3) and test.x.shape == (2, 32, 32, 3)
    # Record layout: label, then R plane, G plane, B plane (CHW) -> HWC.
    assert test.y.tolist() == test_recs[:, 0].tolist()
    r, g, b = test_recs[0, 1:1025], test_recs[0, 1025:2049], test_recs[0, 2049:]
    assert test.x[0, 0, 1].tolist() == [r[1], g[1], b[1]]
    assert test.class_names[0] == "airplane"


def test_format_progress():
    from cnnstudio.data import format_progress
    assert format_progress(12_300_000, 45_600_000, 3_200_000, 10.6) == "12.3 / 45.6 MB (27%), 3.2 MB/s, 11 s left"
    assert format_progress(1_000_000, None, 500_000, None) == "1.0 MB, 0.5 MB/s"
    assert format_progress(0, 10, 1.0, 600) .endswith("10 min left")


def test_damaged_cached_file_is_downloaded_again(server, monkeypatch, tmp_path):
    # a cached file that stops reading (disk error, an edit) must not make every later run fail
    # with "download it again" while the run never downloads, since the file is there
    x, y, _ = _fixture_registry(server, monkeypatch, tmp_path)
    load_dataset("mnist")
    cached = tmp_path / "cache" / "datasets" / "mnist" / "tr-img.gz"
    cached.write_bytes(cached.read_bytes()[:40])
    before = len(server.requests)
    train, _ = load_dataset("mnist")
    assert np.array_equal(train.x[..., 0], x) and np.array_equal(train.y, y)
    assert [p for p, _ in server.requests[before:]] == ["/error/tr-img.gz", "/good/tr-img.gz"]


def test_damaged_cached_file_is_removed_even_when_offline(server, monkeypatch, tmp_path):
    _fixture_registry(server, monkeypatch, tmp_path)
    load_dataset("mnist")
    cached = tmp_path / "cache" / "datasets" / "mnist" / "tr-img.gz"
    cached.write_bytes(b"\x1f\x8b garbage")
    server.files.clear()  # every mirror now fails
    with pytest.raises(DownloadError):
        load_dataset("mnist")
    _no_final(cached)  # the final name only ever holds verified data
    assert not registry.is_downloaded("mnist")


def test_unusable_cache_folder_is_explained(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNNSTUDIO_CACHE", str(blocker / "cache"))  # NotADirectoryError underneath
    with pytest.raises(registry.DataError, match="cannot create the download folder.*CNNSTUDIO_CACHE"):
        registry.fetch("mnist")
