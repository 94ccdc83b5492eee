"""The editor's layered layout (pure Python, no Qt): no crossing wires on the templates, no wire
through a block, no overlaps, chains straight, branches side by side, wires on the layout's points."""

from __future__ import annotations

import itertools

import pytest

from cnnstudio.gui.editor.layout import (INPUT, Geometry, layout_network, rects_overlap, segment_hits_rect,
                                         segments_cross)
from cnnstudio.model.templates import TEMPLATES, get_template

GRAPHS = ["mini-resnet", "mini-inception"]


def _layout(name: str, rows: int):
    spec = get_template(name)
    sources = [spec.sources(i) for i in range(len(spec.layers))]
    labels = {i: "14 x 14 x 16" for i in range(INPUT, len(sources))}
    return spec, layout_network(sources, rows, Geometry(), labels, lambda text: 6.2 * len(text) + 4)


def _crossings(layout) -> list:
    found = []
    for w1, w2 in itertools.combinations(layout.wires, 2):
        for a, b in itertools.product(w1.segments(), w2.segments()):
            if segments_cross(*a, *b):
                found.append(((w1.src, w1.dst), (w2.src, w2.dst), a, b))
    return found


def test_segment_helpers_tell_crossings_from_shared_ports():
    assert segments_cross((0, 0), (10, 10), (0, 10), (10, 0))            # an X
    assert not segments_cross((0, 0), (10, 10), (10, 10), (20, 0))       # meet at a port
    assert not segments_cross((0, 0), (0, 10), (5, 0), (5, 10))          # parallel
    assert segments_cross((0, 0), (0, 10), (0, 5), (0, 20))              # one run over another
    assert segments_cross((0, 0), (10, 0), (5, 0), (5, 10))              # a T: touching a run midway
    assert segment_hits_rect((0, 5), (20, 5), (5, 0, 5, 10))
    assert not segment_hits_rect((0, 0), (20, 0), (5, 0, 5, 10))          # along the edge only


@pytest.mark.parametrize("name", list(TEMPLATES))
@pytest.mark.parametrize("rows", [5, 7, 100])
def test_templates_have_no_crossing_wires_and_nothing_overlaps(name, rows):
    spec, layout = _layout(name, rows)
    assert set(layout.positions) == set(range(INPUT, len(spec.layers)))
    assert _crossings(layout) == []
    cards = {i: layout.card_rect(i) for i in layout.positions}
    for (i, a), (j, b) in itertools.combinations(cards.items(), 2):
        assert not rects_overlap(a, b), (i, j)
    wanted = {(src, dst) for dst in range(len(spec.layers)) for src in spec.sources(dst)}
    assert {(w.src, w.dst) for w in layout.wires} == wanted          # one wire per connection
    for wire in layout.wires:
        assert wire.points[0] == layout.output_port(wire.src) and wire.points[-1] == layout.input_port(wire.dst)
        for a, b in wire.segments():
            for i, rect in cards.items():
                assert i in (wire.src, wire.dst) or not segment_hits_rect(a, b, rect), (wire.src, wire.dst, i)
        assert a[1] <= b[1] or wire.band_break   # every wire runs down (a band break climbs the gutter)
    labels = [w.label_rect for w in layout.wires]
    assert all(r is not None for r in labels)                          # a shape on every wire
    for k, (wire, rect) in enumerate(zip(layout.wires, labels)):
        assert not any(rects_overlap(rect, c) for c in cards.values()), (wire.src, wire.dst)
        assert not any(rects_overlap(rect, other) for other in labels[k + 1:])
        for other in layout.wires:
            if other is not wire:
                assert not any(segment_hits_rect(a, b, rect) for a, b in other.segments()), (wire.src, other.src)
        assert rect[0] >= 0 and rect[1] >= 0 and rect[0] + rect[2] <= layout.width


@pytest.mark.parametrize("name", [n for n in TEMPLATES if n not in GRAPHS])
def test_a_chain_is_one_straight_column_per_band_like_before(name):
    spec, layout = _layout(name, 6)
    g = layout.geometry
    for k in range(INPUT, len(spec.layers)):   # the chain's column formula, card k + 1 of the list
        col, row = divmod(k + 1, 6)
        assert layout.positions[k] == (g.margin + col * (g.card_w + g.col_gap), g.margin + row * (g.card_h + g.v_gap))


def test_mini_resnet_puts_each_shortcut_beside_its_block():
    spec, layout = _layout("mini-resnet", 100)
    trunk_x = layout.positions[INPUT][0]
    shortcut = {16, 17, 25, 26}                           # the projections' Conv2D and BatchNorm
    for i in set(range(len(spec.layers))) - shortcut:
        assert layout.positions[i][0] == trunk_x, i       # the main path is one straight column
    for proj in (16, 25):                                 # the 1x1 projections: right of the block's first conv
        assert spec.layers[proj].inputs is not None and spec.layers[proj].type == "Conv2D"
        body = spec.layers[proj].inputs[0] + 1
        assert layout.ranks[proj] == layout.ranks[body]
        assert layout.positions[proj][0] > layout.positions[body][0]
    identity = layout.wire(3, 9)                          # block 1's identity shortcut runs in its own lane
    xs = {p[0] for p in identity.points[1:-1]}
    assert len(xs) == 1 and xs.pop() > trunk_x + layout.geometry.card_w


def test_mini_inception_branches_sit_side_by_side():
    spec, layout = _layout("mini-inception", 100)
    heads = [3, 5, 9, 13]                                 # the first layer of each branch
    assert len({layout.ranks[h] for h in heads}) == 1
    xs = [layout.positions[h][0] for h in heads]
    assert xs == sorted(xs) and len(set(xs)) == 4


def test_a_long_network_wraps_into_bands_cut_only_under_a_single_wire():
    spec, layout = _layout("mini-resnet", 6)
    assert len(layout.bands) > 1
    breaks = [w for w in layout.wires if w.band_break]
    assert len(breaks) == len(layout.bands) - 1
    for wire in breaks:   # the wire that crosses a cut is the only one between those ranks
        r = layout.ranks[wire.src]
        between = [w for w in layout.wires if layout.ranks[w.src] <= r < layout.ranks[w.dst]]
        assert between == [wire]


def test_wiring_problems_still_lay_out():
    """A read of a later layer (a problem the list explains) is drawn, dashed, and nothing is lost."""
    sources = [(-1,), (2,), (1,), (2,)]
    layout = layout_network(sources, 10)
    assert set(layout.positions) == {-1, 0, 1, 2, 3}
    assert any(w.backward and (w.src, w.dst) == (2, 1) for w in layout.wires)
