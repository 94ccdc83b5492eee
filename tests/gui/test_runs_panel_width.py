"""The Runs panel fits a narrow dock (QA of issue 13: at 1024x640 its one-line 'Run N (bold) is the
current network ...' label held the panel at 770 px, so the dock scrolled sideways and cut off the
Export CSV button and the accuracy plot)."""

from __future__ import annotations

from cnnstudio.gui.runs.panel import RunsPanel
from tests.gui.test_runs_panel import three, tiny_data  # noqa: F401 - fixtures


def test_the_panel_needs_no_more_than_a_1024_wide_windows_dock(qtbot, three):  # noqa: F811
    panel = RunsPanel(three)
    qtbot.addWidget(panel)
    panel.show()
    panel.table.selectAll()
    assert "current network" in panel.current_label.text()
    assert panel.minimumSizeHint().width() <= 420
