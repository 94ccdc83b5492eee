"""Arrangements of the main window's docks: the default one (View > Reset layout) and "Draw & look".

Both are procedures on the window's docks (not saved QMainWindow states): a state saved
before the window was first shown holds sizes from before it had its real size, and a
procedure also covers docks other panels add later, as long as they are in ``DOCKS``.

"Draw & look": the Draw dock and the Feature maps dock side by side, so the maps answer
while the digit is drawn (tabbed in one dock area, only one of them showed at a time).
It is what the Draw dock opens into while the Feature maps dock sits in its tab group.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QDockWidget, QTabBar

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow

#: the docks' width at 1280 wide and more; less on a smaller window (see ``dock_width``)
DOCK_WIDTH = 560
#: the least default dock width: the training form's labels and fields side by side
MIN_DOCK_WIDTH = 420
#: share of the window width the docks take by default on a small window
DOCK_SHARE = 0.43
#: Draw & look: shares of the window width for the Draw dock and the Feature maps dock
#: (the editor keeps the rest, its palette folded: at 1024 wide ~340 px, lenet5 fitted at 0.65)
DRAW_SHARE, MAPS_SHARE = 0.28, 0.39

DRAW, MAPS = "drawingDock", "featureMapsDock"
TAB_STYLE = "QTabBar::tab { padding: 3px 6px; }"
#: a dock this much off the width the default layout gave it was dragged by hand
FOLLOW_SLACK_PX = 16


def dock_width(window_width: int) -> int:
    """The default width of the right-hand docks for a window ``window_width`` pixels wide."""
    return max(MIN_DOCK_WIDTH, min(DOCK_WIDTH, round(window_width * DOCK_SHARE)))


def apply_default(window: "MainWindow") -> None:
    """Every dock docked, shown and tabbed in its default area, the first of each area in front,
    at the default width; the editor's splitters at their default sizes, the network fitted."""
    from cnnstudio.gui.main_window import DOCKS

    areas = {name: area for name, _title, area in DOCKS}   # docks added by panels (Runs): on the right
    kept_hidden = window.kept_hidden_docks()   # the teacher layout's: in their place, still hidden
    first_in_area: dict[Qt.DockWidgetArea, QDockWidget] = {}
    front: dict[Qt.DockWidgetArea, QDockWidget] = {}
    for dock in window.docks.values():   # out of every split and tab group, then back in order
        window.removeDockWidget(dock)
    for name, dock in window.docks.items():
        area = areas.get(name, Qt.DockWidgetArea.RightDockWidgetArea)
        dock.setFloating(False)
        window.addDockWidget(area, dock)
        dock.setFloating(False)   # a floating dock stays floating through addDockWidget
        if area in first_in_area:
            window.tabifyDockWidget(first_in_area[area], dock)
        else:
            first_in_area[area] = dock
        dock.setVisible(name not in kept_hidden)
        if name not in kept_hidden:
            front.setdefault(area, dock)
    for dock in front.values():   # the first shown dock of each area in front of its tabs
        dock.raise_()
    width = dock_width(window.width())
    window.resizeDocks(list(first_in_area.values()), [width] * len(first_in_area), Qt.Orientation.Horizontal)
    window.editor.reset_layout()
    unelide_tabs(window)
    window.followed_dock_width = width


def follow_window_width(window: "MainWindow") -> None:
    """While the default layout is as it was set (nobody dragged a dock's edge since), a window
    resized (a 1280x800 window put on a 1024x640 screen) gets the default dock width for its size."""
    wanted = window.followed_dock_width
    if wanted is None:
        return
    shown = [d for d in window.docks.values() if _shows(window, d) and not d.isFloating()]
    if not shown or any(abs(d.width() - wanted) > FOLLOW_SLACK_PX for d in shown):
        window.followed_dock_width = None   # rearranged by hand (or Draw & look): leave it be
        return
    width = dock_width(window.width())
    if width != wanted:
        window.resizeDocks(shown, [width] * len(shown), Qt.Orientation.Horizontal)
        window.followed_dock_width = width


def unelide_tabs(window: "MainWindow") -> None:
    """Dock tabs keep their whole titles ("Traini..." said nothing at 1024 wide): a tab bar
    short of room gets scroll arrows instead of cutting the titles."""
    for bar in window.findChildren(QTabBar):
        if bar.parent() is window:   # the main window's dock tab bars, not the panels' own tabs
            bar.setElideMode(Qt.TextElideMode.ElideNone)
            bar.setUsesScrollButtons(True)
            bar.setExpanding(False)
            # seven tabs at the style's padding need ~520 px; with less all fit a 440 px dock (1024 wide)
            bar.setStyleSheet(TAB_STYLE)


def _shows(window: "MainWindow", dock: QDockWidget) -> bool:
    """The dock is on screen: shown and inside the window (a tab behind another sits off-window)."""
    return dock.isVisible() and window.rect().contains(dock.geometry())


def is_draw_and_look(window: "MainWindow") -> bool:
    """True when the Draw and Feature maps docks both show, side by side (neither behind a tab)."""
    draw, maps = window.docks[DRAW], window.docks[MAPS]
    return (_shows(window, draw) and _shows(window, maps)
            and not draw.geometry().intersects(maps.geometry()))


def apply_draw_and_look(window: "MainWindow") -> None:
    """The Draw dock beside the Feature maps dock on the right, the editor left with the rest.

    The Feature maps dock stays in its tab group (the other panels are one click away); the
    Draw dock leaves it for a column of its own (Qt cannot split one tab of a group).
    """
    draw, maps = window.docks[DRAW], window.docks[MAPS]
    window.followed_dock_width = None
    window.removeDockWidget(draw)
    if maps.isFloating() or window.dockWidgetArea(maps) == Qt.DockWidgetArea.NoDockWidgetArea:
        maps.setFloating(False)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, maps)
    area = window.dockWidgetArea(maps)
    maps.show()
    maps.raise_()
    draw.setFloating(False)
    window.splitDockWidget(maps, draw, Qt.Orientation.Horizontal) if not window.tabifiedDockWidgets(maps) \
        else window.addDockWidget(area, draw, Qt.Orientation.Horizontal)
    draw.show()
    width = window.width()
    window.resizeDocks([draw, maps], [round(width * DRAW_SHARE), round(width * MAPS_SHARE)],
                       Qt.Orientation.Horizontal)
    window.editor.fold_side_column()   # what is left of the editor shows the network, not the palette
    unelide_tabs(window)


def draw_needs_look(window: "MainWindow") -> bool:
    """The Draw dock shows while the Feature maps dock waits behind a tab of the same group."""
    draw, maps = window.docks[DRAW], window.docks[MAPS]
    return (_shows(window, draw) and not draw.isFloating() and not maps.isFloating()
            and maps in window.tabifiedDockWidgets(draw))
