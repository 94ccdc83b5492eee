"""Evaluation views: confusion matrix, per-class accuracy, gallery of mistakes."""

from __future__ import annotations

from typing import Any

from cnnstudio.gui.evaluation.panel import EvaluationPanel
from cnnstudio.gui.evaluation.results import Evaluation

__all__ = ["Evaluation", "EvaluationPanel", "install_evaluation_panel"]


def install_evaluation_panel(window: Any) -> EvaluationPanel:
    """Put the panel into the window's evaluation dock; a clicked example becomes the
    feature-map panel's sample when that panel is there (``window.inspector``)."""
    inspector = getattr(window, "inspector", None)
    show = inspector.set_validation_index if inspector is not None else None
    maps_dock = window.docks.get("featureMapsDock") if inspector is not None else None

    def open_maps() -> None:
        maps_dock.show()
        maps_dock.raise_()
        show_maps = getattr(window.panel("featureMapsDock"), "show_feature_maps", None)
        if callable(show_maps):  # the maps themselves, not the Filters tab last shown
            show_maps()

    panel = EvaluationPanel(window.state, show_sample=show, open_maps=open_maps if maps_dock else None)
    window.set_dock_widget("evaluationDock", panel)
    return panel
