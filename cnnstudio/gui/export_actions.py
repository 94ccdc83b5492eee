"""File > Export (ONNX, PyTorch, Diagram) and File > Import > ONNX.

The work is project.export's; this module asks for paths and reports errors. Each action has a
``*_to`` method taking the path, which the dialogs call (and the tests drive directly).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PyQt6.QtCore import QRectF, QSize, Qt
from PyQt6.QtGui import QAction, QImage, QPainter
from PyQt6.QtWidgets import QFileDialog, QGraphicsScene, QMenu

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow

#: pixels per scene unit in the PNG diagram (sharp on slides)
PNG_SCALE = 2.0


class ExportMenus:
    """Export and Import submenus on ``file_menu`` (before ``before``, the Quit separator)."""

    def __init__(self, window: "MainWindow", file_menu: QMenu, before: QAction | None = None):
        self.window = window
        self.export_menu = QMenu("&Export", window)
        self.import_menu = QMenu("&Import", window)
        self.onnx_action = self.export_menu.addAction("&ONNX...")
        self.pytorch_action = self.export_menu.addAction("&PyTorch...")
        self.diagram_action = self.export_menu.addAction("&Diagram (SVG and PNG)...")
        self.import_onnx_action = self.import_menu.addAction("&ONNX...")
        self.onnx_action.triggered.connect(lambda _=False: self._ask_and(self.export_onnx_to, "ONNX model (*.onnx)",
                                                                          ".onnx"))
        self.pytorch_action.triggered.connect(lambda _=False: self._ask_folder())
        self.diagram_action.triggered.connect(lambda _=False: self._ask_and(self.export_diagram_to,
                                                                            "SVG image (*.svg)", ".svg"))
        self.import_onnx_action.triggered.connect(lambda _=False: self._ask_import())
        for menu in (self.export_menu, self.import_menu):
            if before is not None:
                file_menu.insertMenu(before, menu)
            else:
                file_menu.addMenu(menu)

    # ---- the work ----------------------------------------------------------------------
    def _project(self):
        """The project to export; refused when trained weights no longer fit the edited network
        (exporting the initial weights instead would look like the trained network)."""
        from cnnstudio.project.export import ExportError

        state = self.window.state
        if state.weights and not state.weights_fit():
            raise ExportError("the trained weights do not fit the network as it is now; train it again, "
                              "or undo the edit, then export")
        return state.workspace.project_for_save()

    def _name(self) -> str:
        return self.window.state.project_name   # the file's name, or the template's, or "untitled"

    def export_onnx_to(self, path: str) -> Path:
        from cnnstudio.project.export.onnx_export import export_onnx

        project = self._project()
        classes = (project.history.get("dataset") or {}).get("classes") or list(self.window.state.dataset[0].class_names)
        return export_onnx(project.network, project.weights, path, class_names=classes, project_name=self._name())

    def export_pytorch_to(self, folder: str) -> Path:
        from cnnstudio.project.export.torch_export import export_pytorch
        from cnnstudio.project.session import fit_dataset

        from cnnstudio.project.datasource import missing_problem

        project = self._project()
        train, val = self.window.state.dataset
        problem = missing_problem(train)
        if problem is not None:   # never an empty (or another) dataset in place of the project's
            raise ValueError(f"{problem[:1].upper()}{problem[1:]}; the export's data.npz needs it")
        data = (fit_dataset(train, project.network), fit_dataset(val, project.network))
        return export_pytorch(project, folder, data=data, class_names=list(train.class_names))

    def export_diagram_to(self, path: str) -> tuple[Path, Path]:
        """The editor's network as ``NAME.svg`` and ``NAME.png`` (what the canvas shows, selection aside)."""
        from PyQt6.QtSvg import QSvgGenerator

        scene = self.window.editor.canvas.scene()
        assert scene is not None
        rect = scene.itemsBoundingRect().adjusted(-16, -16, 16, 16)
        svg_path, png_path = Path(path).with_suffix(".svg"), Path(path).with_suffix(".png")
        gen = QSvgGenerator()
        gen.setFileName(str(svg_path))
        gen.setSize(QSize(int(rect.width()), int(rect.height())))
        gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
        gen.setTitle(f"{self.window.state.spec.name}: CNN Studio network")
        self._render(scene, gen, rect)
        image = QImage(int(rect.width() * PNG_SCALE), int(rect.height() * PNG_SCALE), QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.white)
        self._render(scene, image, rect)
        if not image.save(str(png_path), "PNG"):
            raise OSError(f"{png_path}: cannot be written; check the folder and its permissions")
        return svg_path, png_path

    @staticmethod
    def _render(scene: QGraphicsScene, device, rect: QRectF) -> None:
        painter = QPainter(device)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            target = QRectF(0, 0, device.width(), device.height()) if isinstance(device, QImage) else \
                QRectF(0, 0, rect.width(), rect.height())
            scene.render(painter, target, rect)
        finally:
            painter.end()

    def import_onnx_from(self, source: str, project_path: str) -> Path:
        """Read ``source``, write its project to ``project_path`` and open it (nothing written on refusal)."""
        from cnnstudio.project.export.onnx_import import import_onnx
        from cnnstudio.project.file import Project, new_history, save_project

        imported = import_onnx(source)
        history = new_history()
        if imported.class_names:
            history["dataset"] = {"name": imported.spec.name, "source": None, "classes": imported.class_names}
        save_project(project_path, Project(imported.spec, weights=imported.weights, history=history))
        self.window.open_path(project_path)
        return Path(project_path)

    # ---- dialogs ---------------------------------------------------------------------------
    def _run(self, title: str, work, *args) -> None:
        from cnnstudio.project.export import ExportError

        try:
            work(*args)
        except (ExportError, OSError, ValueError) as exc:
            self.window.show_error(title, str(exc))

    def _ask_and(self, work, filters: str, suffix: str) -> None:
        start = str(Path(self.window._last_dir()) / f"{self._name()}{suffix}")
        path, _ = QFileDialog.getSaveFileName(self.window, "Export", start, filters)
        if path:
            self._run("Export", work, path)

    def _ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.window, "Export PyTorch into folder", self.window._last_dir())
        if folder:
            self._run("Export PyTorch", self.export_pytorch_to, str(Path(folder) / f"{self._name()}-pytorch"))

    def _ask_import(self) -> None:
        if not self.window.maybe_save():
            return
        source, _ = QFileDialog.getOpenFileName(self.window, "Import ONNX model", self.window._last_dir(),
                                                "ONNX model (*.onnx)")
        if not source:
            return
        target, _ = QFileDialog.getSaveFileName(self.window, "Save the imported project as",
                                                str(Path(source).with_suffix(".cnnproj")), "Project (*.cnnproj)")
        if target:
            self._run("Import ONNX", self.import_onnx_from, source, target)
