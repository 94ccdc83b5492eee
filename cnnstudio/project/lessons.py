"""Lessons: small ready-made projects that reproduce the textbooks' worked examples.

``resources/lessons/lessons.json`` is the source: per lesson a title, the text, the network,
hand-set weights and the example image (raw pixel values: the lessons' networks scale pixels
by 1, so a pixel of 14 is the number 14). From it come the shipped files beside it,
``<slug>.cnnproj`` (opened from the app's Lessons menu, or by ``cnnstudio explain``) and
``<slug>.png`` (the image, for ``cnnstudio explain``); ``python -m cnnstudio.project.lessons``
rewrites them, and a test checks that they match the source.

    cnnstudio explain resources/lessons/convolution-by-hand.cnnproj \\
        resources/lessons/convolution-by-hand.png --layer 1 --at 0,0,0      # ... = 149
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnstudio.resources import resource_path

LESSONS_DIR = "lessons"
INDEX = "lessons.json"


class LessonError(ValueError):
    """A lesson that does not exist or whose files are missing (names the lesson and the file)."""


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    #: paragraphs, the template counts filled in
    text: tuple[str, ...]
    #: the source entry as written in lessons.json
    source: dict[str, Any] = field(repr=False, compare=False)

    @property
    def project_path(self) -> Path:
        return resource_path(LESSONS_DIR, f"{self.slug}.cnnproj")

    @property
    def image_path(self) -> Path | None:
        return resource_path(LESSONS_DIR, f"{self.slug}.png") if "image" in self.source else None

    def image(self) -> np.ndarray | None:
        """The example image, uint8 (H, W, C), exactly as written in the source."""
        if "image" not in self.source:
            return None
        a = np.asarray(self.source["image"], dtype=np.uint8)
        return a[:, :, None] if a.ndim == 2 else a

    @property
    def checks(self) -> list[dict[str, Any]]:
        """Cells the text quotes: {"layer" (from 1), "at", "value"}."""
        return list(self.source.get("checks", []))

    @property
    def frozen(self) -> list[int]:
        """Indices of layers whose hand-set weights training must leave alone."""
        return list(self.source.get("frozen", []))


def _counts() -> dict[str, str]:
    from cnnstudio.model.shapes import infer_shapes
    from cnnstudio.model.templates import get_template

    return {name: f"{infer_shapes(get_template(name)).total_params:,}" for name in ("mlp", "lenet5")}


def lessons() -> list[Lesson]:
    """Every lesson, in menu order."""
    path = resource_path(LESSONS_DIR, INDEX)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LessonError(f"lessons: cannot read {path} ({exc.strerror or exc}); reinstall CNN Studio") from exc
    counts = _counts()
    out = []
    for entry in doc["lessons"]:
        text = tuple(p.format(**counts) for p in entry["text"])
        out.append(Lesson(entry["slug"], entry["title"], text, entry))
    return out


def lesson(slug: str) -> Lesson:
    for item in lessons():
        if item.slug == slug:
            return item
    names = ", ".join(item.slug for item in lessons())
    raise LessonError(f"lesson {slug!r} does not exist; the lessons are: {names}")


def network_spec(item: Lesson) -> Any:
    from cnnstudio.model.spec import NetworkSpec
    from cnnstudio.model.templates import get_template

    net = item.source["network"]
    return get_template(net) if isinstance(net, str) else NetworkSpec.from_dict(net)


def build_project(item: Lesson) -> Any:
    """The lesson as a Project: its network, hand-set weights (None when it has none to set),
    the example image as the project's one drawing, the text in the notes."""
    from cnnstudio.data.dataset import Dataset
    from cnnstudio.project.file import Project

    spec = network_spec(item)
    if item.frozen:   # hand-set filters: training leaves them alone
        spec = spec.with_layers([dataclasses.replace(layer, frozen=True) if i in item.frozen else layer
                                 for i, layer in enumerate(spec.layers)])
    weights = None
    if "weights" in item.source:
        weights = {k: np.asarray(v, dtype=np.float32) for k, v in item.source["weights"].items()}
    image = item.image()
    user = None
    if image is not None:
        user = Dataset("lesson example", image[None], np.zeros(1, np.int64), ["example"], source=f"lesson:{item.slug}")
    project = Project(network=spec, weights=weights, user_dataset=user)
    project.metadata["notes"] = f"{item.title}\n\n" + "\n\n".join(item.text)
    project.metadata["lesson"] = item.slug
    return project


def load_project(item: Lesson) -> Any:
    """The shipped project of the lesson (LessonError when its file is missing)."""
    from cnnstudio.project.file import load_project as _load

    if not item.project_path.exists():
        raise LessonError(f"lesson {item.slug!r}: {item.project_path} is missing; reinstall CNN Studio "
                          "or run python -m cnnstudio.project.lessons")
    return _load(item.project_path)


def write_files(folder: Path | None = None) -> list[Path]:
    """Write every lesson's .cnnproj and .png into ``folder`` (the resources folder by default)."""
    from PIL import Image

    from cnnstudio.project.file import save_project

    written = []
    for item in lessons():
        target = Path(folder) if folder else item.project_path.parent
        save_project(target / f"{item.slug}.cnnproj", build_project(item))
        written.append(target / f"{item.slug}.cnnproj")
        image = item.image()
        if image is not None:
            png = target / f"{item.slug}.png"
            Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image).save(png)
            written.append(png)
    return written


if __name__ == "__main__":
    for p in write_files():
        print(p)
