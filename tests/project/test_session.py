"""project.session: data preparation, trainer setup and inference shared by the CLI and GUI."""

import numpy as np
import pytest
from PIL import Image

from cnnstudio.data import Dataset, DataMismatchError, sample_split
from cnnstudio.engine.trainer import EpochReport
from cnnstudio.model import NetworkError, get_template
from cnnstudio.project import session


def _digits(n_per_class=6, size=14, channels=1, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n_per_class * classes, size, size, channels), dtype=np.uint8)
    return Dataset("toy", x, np.repeat(np.arange(classes), n_per_class), [str(i) for i in range(classes)], "toy")


def test_sample_is_the_fixed_split():
    spec = get_template("simple-cnn")
    train, val = session.prepare_data(None, spec)
    ref_train, ref_val = sample_split()
    assert (len(train), len(val)) == (4500, 500)
    np.testing.assert_array_equal(val.y, ref_val.y)
    np.testing.assert_array_equal(train.x[:5], ref_train.x[:5])


def test_single_dataset_is_split_and_resized():
    train, val = session.prepare_data(_digits(size=14), get_template("simple-cnn"), val_fraction=0.2)
    assert train.image_shape == val.image_shape == (28, 28, 1)
    assert len(val) == 10 and len(train) == 50
    assert set(val.y) == set(range(10))  # stratified: every class validated


def test_zero_val_fraction_trains_on_everything():
    train, val = session.prepare_data(_digits(), get_template("simple-cnn"), val_fraction=0.0)
    assert len(train) == 60 and len(val) == 0


def test_channel_mismatch_keeps_the_data_message():
    with pytest.raises(DataMismatchError, match="grayscale"):
        session.prepare_data(_digits(channels=3), get_template("simple-cnn"))
    train, _ = session.prepare_data(_digits(channels=3), get_template("simple-cnn"), convert_channels=True)
    assert train.image_shape == (28, 28, 1)


def test_limit_keeps_the_first_images():
    train, val = session.prepare_data(None, get_template("mlp"), limit=30)
    assert (len(train), len(val)) == (30, 30)


def test_make_trainer_refuses_a_network_with_the_wrong_class_count():
    train, val = session.prepare_data(_digits(classes=3, n_per_class=10), get_template("simple-cnn"))
    with pytest.raises(NetworkError, match="3 classes"):
        session.make_trainer(get_template("simple-cnn"), train, val, session.make_config())


def test_make_trainer_follows_the_config():
    spec = get_template("mlp")
    train, val = session.prepare_data(None, spec, limit=64)
    config = session.make_config(optimizer="sgd", lr=0.05, batch_size=16, epochs=1, augment=True,
                                 schedule="constant", seed=4)
    run = session.make_trainer(spec, train, val, config)
    assert run.optimizer.name == "sgd" and run.trainer.batch_size == 16
    assert run.trainer.current_lr() == pytest.approx(0.05)
    assert run.trainer.batch_transform is not None  # augmentation on
    reports = list(run.trainer.run())
    assert isinstance(reports[-1], EpochReport) and len(reports) == 4 + 1
    record = session.epoch_record(reports[-1])
    assert record["epoch"] == 1 and 0 <= record["val_acc"] <= 1
    project = run.project({"epochs": [record]})
    assert project.training_config is config
    np.testing.assert_array_equal(project.weights["1.W"], run.network.get_weights()["1.W"])
    assert int(project.optimizer_state["steps"]) == 4


def test_trainer_starts_from_given_weights():
    spec = get_template("mlp")
    train, val = session.prepare_data(None, spec, limit=32)
    first = session.make_trainer(spec, train, val, session.make_config(seed=1))
    weights = first.network.get_weights()
    second = session.make_trainer(spec, train, val, session.make_config(seed=2), weights=weights)
    np.testing.assert_array_equal(second.network.get_weights()["1.W"], weights["1.W"])


def test_predict_gives_probabilities():
    spec = get_template("simple-cnn")
    net = session.build_network(spec, seed=0)
    _, val = sample_split()
    probs = session.predict(net, val.x[:7], batch_size=3)
    assert probs.shape == (7, 10) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs[3], session.predict(net, val.x[3:4])[0], rtol=1e-5)


def test_load_image_keeps_a_white_on_black_digit(tmp_path):
    _, val = sample_split()
    path = tmp_path / "d.png"
    Image.fromarray(val.x[0, :, :, 0]).save(path)
    image, notes = session.load_image_file(path, (28, 28, 1))
    np.testing.assert_array_equal(image, val.x[0])
    assert notes == []


def test_load_image_converts_colour_and_inverts_dark_ink(tmp_path):
    ink = np.zeros((40, 40), np.uint8)
    ink[10:30, 18:22] = 255  # a white "1" on black
    path = tmp_path / "photo.png"
    paper = 255 - ink
    cyan = np.stack([paper // 10 * 9, paper, paper], axis=-1)  # dark ink on pale cyan paper
    Image.fromarray(cyan).save(path)
    image, notes = session.load_image_file(path, (28, 28, 1))
    assert image.shape == (28, 28, 1)
    assert image[0, 0, 0] < 20 and image[14, 14, 0] > 200  # back to white on black
    text = " ".join(notes)
    assert "grayscale" in text and "inverted" in text and "resized from 40x40" in text


def test_load_image_for_a_colour_network_keeps_colour(tmp_path):
    rgb = np.zeros((32, 32, 3), np.uint8)
    rgb[..., 0] = 200
    path = tmp_path / "red.png"
    Image.fromarray(rgb).save(path)
    image, notes = session.load_image_file(path, (32, 32, 3))
    assert image.shape == (32, 32, 3) and image[0, 0].tolist() == [200, 0, 0]
    assert notes == []


def test_dataset_description():
    train, val = sample_split()
    desc = session.dataset_description(train, val)
    assert desc == {"name": "MNIST sample", "source": "sample", "num_train": 4500, "num_val": 500,
                    "image_shape": [28, 28, 1], "classes": [str(i) for i in range(10)]}


def test_image_folder_is_decoded_at_the_network_size(tmp_path, monkeypatch):
    # the folder's first image sets the size otherwise: one phone photo would make every image
    # 12 Mpixels in memory before the resize to 28x28
    from cnnstudio.data import loaders

    for c in range(10):
        (tmp_path / str(c)).mkdir()
        side = 300 if c == 0 else 20
        Image.fromarray(np.full((side, side), 25 * c, np.uint8)).save(tmp_path / str(c) / "a.png")
        Image.fromarray(np.full((20, 20), 25 * c, np.uint8)).save(tmp_path / str(c) / "b.png")
    asked = []
    real = loaders.read_image_folder
    monkeypatch.setattr(loaders, "read_image_folder", lambda *a, **k: asked.append(k.get("size")) or real(*a, **k))
    train, val = session.prepare_data(str(tmp_path), get_template("simple-cnn"), val_fraction=0.5)
    assert asked == [(28, 28)]
    assert train.image_shape == (28, 28, 1) and len(train) + len(val) == 20


def test_standard_dataset_of_the_wrong_channels_is_refused_before_downloading(monkeypatch, tmp_path):
    from cnnstudio.data import registry

    monkeypatch.setenv("CNNSTUDIO_CACHE", str(tmp_path))
    monkeypatch.setattr(registry, "fetch", lambda *a, **k: pytest.fail("downloaded before checking channels"))
    with pytest.raises(DataMismatchError, match="'CIFAR-10' has 3-channel colour images.*--grayscale"):
        session.prepare_data("cifar10", get_template("simple-cnn"))
    colour = get_template("simple-cnn").with_input(28, 28, 3)
    with pytest.raises(DataMismatchError, match="'Fashion-MNIST' has 1-channel.*--rgb"):
        session.prepare_data("fashion-mnist", colour)


def test_a_stray_label_is_pointed_out_in_the_class_count_error():
    ds = _digits(n_per_class=3)
    ds.y[0] = 12  # one typo among ten digit classes
    ds = Dataset("typo", ds.x, ds.y, [str(i) for i in range(13)], "typo")
    with pytest.raises(NetworkError, match=r"13 classes \(labels go up to 12, but 2 of those classes have no "
                                           r"images: 10, 11; check the labels"):
        session.make_trainer(get_template("simple-cnn"), ds, ds.subset([]), session.make_config(epochs=1))
    full = _digits(n_per_class=3, classes=5)  # every class present: the plain message
    with pytest.raises(NetworkError) as e:
        session.make_trainer(get_template("simple-cnn"), full, full.subset([]), session.make_config(epochs=1))
    assert "5 classes" in str(e.value) and "stray" not in str(e.value)
