"""Where the editor draws each block and wire: a layered layout of the network graph (no Qt).

``layout_network(sources, rows, ...)`` places the Input (-1) and every layer from the
wiring alone (``sources[i]``: the layers layer ``i`` reads, as ``NetworkSpec.sources``
gives them), never from widget state:

- rank = the longest path from the input, so every wire points down;
- a wire that skips ranks gets a waypoint per rank it passes (a lane of its own);
- order within a rank: depth first from the input, a layer's readers in list order, so
  the first reader continues its source's column and the other branches of a fork sit
  side by side to its right; a few barycenter sweeps keep an order only when it has fewer
  crossings;
- columns: each block takes the column of its upper neighbour (a merge the leftmost
  one) or the next free one, so a chain is one straight column;
- bands: when the ranks do not fit ``rows`` rows, the layout continues in a band to the
  right, cut only where a single wire crosses (as the chain's columns always did); that
  wire goes down, along the gutter, up and into the next band.

Each wire is a polyline of vertical runs (through a rank's row, in an empty column) and
straight steps in the gaps between rows, with a label box for its tensor shape placed
where it touches no block, no other wire and no other label. Coordinates are scene
pixels, y pointing down; a card's top-left is its position.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

INPUT = -1
Point = tuple[float, float]
#: the least rise over run of a wire's step between rows, and the tallest gap it may ask for
STEEPNESS, MAX_GAP = 0.15, 130.0
Rect = tuple[float, float, float, float]   # x, y, width, height


@dataclass(frozen=True)
class Geometry:
    card_w: float = 184
    card_h: float = 62
    v_gap: float = 28
    col_gap: float = 60      # the gutter between bands
    lane_gap: float = 40     # between columns of one band
    margin: float = 20
    label_h: float = 16
    lane_w: float = 104      # a column that only wires pass through
    lane_inset: float = 12   # where the wire runs in it


@dataclass
class Wire:
    """The wire from ``src``'s output port to ``dst``'s input port."""

    src: int
    dst: int
    points: list[Point]
    label: str = ""
    label_rect: Rect | None = None
    band_break: bool = False   # crosses from one band to the next
    backward: bool = False     # reads a later layer (a problem): drawn straight, not routed

    def segments(self) -> list[tuple[Point, Point]]:
        return list(zip(self.points, self.points[1:]))


@dataclass
class Layout:
    geometry: Geometry
    positions: dict[int, Point] = field(default_factory=dict)   # top-left of each card
    ranks: dict[int, int] = field(default_factory=dict)
    bands: list[tuple[int, int]] = field(default_factory=list)  # (first rank, last rank)
    wires: list[Wire] = field(default_factory=list)
    width: float = 0.0
    height: float = 0.0

    def card_rect(self, index: int) -> Rect:
        x, y = self.positions[index]
        return (x, y, self.geometry.card_w, self.geometry.card_h)

    def input_port(self, index: int) -> Point:
        x, y = self.positions[index]
        return (x + self.geometry.card_w / 2, y)

    def output_port(self, index: int) -> Point:
        x, y = self.positions[index]
        return (x + self.geometry.card_w / 2, y + self.geometry.card_h)

    def wire(self, src: int, dst: int) -> Wire | None:
        return next((w for w in self.wires if w.src == src and w.dst == dst), None)


# ---- geometry helpers (also what the tests use) -----------------------------------------
def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """True when two segments share a point other than a common end point (a port both use)."""
    shared = {p1, p2} & {q1, q2}
    d1, d2 = _orient(q1, q2, p1), _orient(q1, q2, p2)
    d3, d4 = _orient(p1, p2, q1), _orient(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and d1 and d2 and ((d3 > 0) != (d4 > 0)) and d3 and d4:
        return True   # a proper crossing
    if not (d1 or d2 or d3 or d4):   # collinear: overlapping runs are a crossing too
        def span(a: Point, b: Point, k: int) -> tuple[float, float]:
            return (min(a[k], b[k]), max(a[k], b[k]))
        k = 0 if abs(p1[0] - p2[0]) >= abs(p1[1] - p2[1]) else 1
        lo = max(span(p1, p2, k)[0], span(q1, q2, k)[0])
        hi = min(span(p1, p2, k)[1], span(q1, q2, k)[1])
        return hi - lo > 1e-6
    if shared:
        return False
    # one end touching the other segment
    for a, b, c, d in ((q1, q2, p1, d1), (q1, q2, p2, d2), (p1, p2, q1, d3), (p1, p2, q2, d4)):
        if d == 0 and min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1]):
            return True
    return False


def segment_hits_rect(a: Point, b: Point, rect: Rect) -> bool:
    """True when the segment a-b passes through the inside of ``rect`` (touching its edge is not)."""
    x, y, w, h = rect
    x0, y0, x1, y1 = x, y, x + w, y + h
    # Liang-Barsky clipping against the open rectangle
    dx, dy = b[0] - a[0], b[1] - a[1]
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
        if p == 0:
            if q <= 0:
                return False
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return t1 - t0 > 1e-9


def rects_overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def distance_to_wire(p: Point, wire: Wire) -> float:
    best = float("inf")
    for a, b in wire.segments():
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / length))
        cx, cy = a[0] + t * dx, a[1] + t * dy
        best = min(best, ((p[0] - cx) ** 2 + (p[1] - cy) ** 2) ** 0.5)
    return best


# ---- ranks, waypoints, order ------------------------------------------------------------
def _edges(sources: Sequence[Sequence[int]]) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(forward edges src -> dst in reading order, backward ones) among existing layers."""
    n = len(sources)
    forward: list[tuple[int, int]] = []
    backward: list[tuple[int, int]] = []
    for dst, srcs in enumerate(sources):
        for src in dict.fromkeys(srcs):
            if not INPUT <= src < n or src == dst:
                continue
            (forward if src < dst else backward).append((src, dst))
    return forward, backward


def _ranks(n: int, forward: list[tuple[int, int]]) -> dict[int, int]:
    rank = {INPUT: 0}
    into: dict[int, list[int]] = {i: [] for i in range(n)}
    for src, dst in forward:
        into[dst].append(src)
    for i in range(n):
        rank[i] = 1 + max((rank[s] for s in into[i]), default=0)
    return rank


Node = tuple  # ("n", index) for a block, ("d", edge number, rank) for a waypoint


def _order(n: int, forward: list[tuple[int, int]], rank: dict[int, int]) -> dict[int, list[Node]]:
    """Nodes of each rank, left to right."""
    out_edges: dict[int, list[int]] = {i: [] for i in range(INPUT, n)}
    for e, (src, _dst) in enumerate(forward):
        out_edges[src].append(e)
    key: dict[Node, int] = {}
    counter = 0

    def visit(root: int) -> None:
        nonlocal counter
        stack: list[tuple[int, int]] = [(root, 0)]
        key[("n", root)] = counter
        counter += 1
        while stack:
            node, k = stack.pop()
            if k >= len(out_edges[node]):
                continue
            stack.append((node, k + 1))
            e = out_edges[node][k]
            src, dst = forward[e]
            for r in range(rank[src] + 1, rank[dst]):
                key[("d", e, r)] = counter
                counter += 1
            if ("n", dst) not in key:
                key[("n", dst)] = counter
                counter += 1
                stack.append((dst, 0))

    visit(INPUT)
    for i in range(n):   # layers no path from the input reaches (a problem the list shows)
        if ("n", i) not in key:
            visit(i)
    ranks: dict[int, list[Node]] = {}
    for node in key:
        r = rank[node[1]] if node[0] == "n" else node[2]
        ranks.setdefault(r, []).append(node)
    for r in ranks:
        ranks[r].sort(key=key.__getitem__)
    return ranks


def _segments_between(forward: list[tuple[int, int]], rank: dict[int, int]) -> dict[int, list[tuple[Node, Node]]]:
    """For each rank r, the wire pieces from rank r to r + 1 (upper node, lower node)."""
    out: dict[int, list[tuple[Node, Node]]] = {}
    for e, (src, dst) in enumerate(forward):
        chain: list[Node] = [("n", src)] + [("d", e, r) for r in range(rank[src] + 1, rank[dst])] + [("n", dst)]
        for k, (a, b) in enumerate(zip(chain, chain[1:])):
            out.setdefault(rank[src] + k, []).append((a, b))
    return out


def _crossings(order: dict[int, list[Node]], between: dict[int, list[tuple[Node, Node]]]) -> int:
    total = 0
    for r, pieces in between.items():
        up = {node: k for k, node in enumerate(order.get(r, []))}
        down = {node: k for k, node in enumerate(order.get(r + 1, []))}
        pos = [(up[a], down[b]) for a, b in pieces]
        total += sum(1 for i in range(len(pos)) for j in range(i + 1, len(pos))
                     if (pos[i][0] - pos[j][0]) * (pos[i][1] - pos[j][1]) < 0)
    return total


def _sweep(order: dict[int, list[Node]], between: dict[int, list[tuple[Node, Node]]], down: bool) -> dict[int, list[Node]]:
    """One barycenter pass: each rank sorted by the mean position of its neighbours above (or below)."""
    new = {r: list(nodes) for r, nodes in order.items()}
    ranks = sorted(new) if down else sorted(new, reverse=True)
    for r in ranks[1:]:
        other = r - 1 if down else r + 1
        place = {node: k for k, node in enumerate(new.get(other, []))}
        pieces = between.get(r - 1 if down else r, [])
        near: dict[Node, list[int]] = {}
        for a, b in pieces:
            mine, theirs = (b, a) if down else (a, b)
            near.setdefault(mine, []).append(place[theirs])
        current = {node: k for k, node in enumerate(new[r])}
        new[r].sort(key=lambda node: (sum(near[node]) / len(near[node]) if near.get(node) else current[node],
                                      current[node]))
    return new


def _best_order(order: dict[int, list[Node]], between: dict[int, list[tuple[Node, Node]]]) -> dict[int, list[Node]]:
    best, best_x = order, _crossings(order, between)
    current = order
    for k in range(8):
        if best_x == 0:
            break
        current = _sweep(current, between, down=k % 2 == 0)
        x = _crossings(current, between)
        if x < best_x:
            best, best_x = current, x
    return best


# ---- bands and columns --------------------------------------------------------------------
def _bands(top: int, order: dict[int, list[Node]], between: dict[int, list[tuple[Node, Node]]],
           rows: int) -> list[tuple[int, int]]:
    """Split ranks 0..top into runs of at most ``rows`` ranks, cutting only under one wire."""
    cuttable = {r for r in range(top) if len(between.get(r, [])) == 1 and len(order.get(r + 1, [])) == 1}
    bands, start = [], 0
    rows = max(1, rows)
    while start <= top:
        if top - start + 1 <= rows:
            bands.append((start, top))
            break
        fits = [c for c in cuttable if start <= c < start + rows]
        later = [c for c in cuttable if c >= start + rows]
        cut = max(fits) if fits else (min(later) if later else top)
        bands.append((start, cut))
        start = cut + 1
    return bands


def _columns(order: dict[int, list[Node]], between: dict[int, list[tuple[Node, Node]]],
             band: tuple[int, int]) -> dict[Node, int]:
    col: dict[Node, int] = {}
    above: dict[Node, list[Node]] = {}
    for r in range(band[0], band[1]):
        for a, b in between.get(r, []):
            above.setdefault(b, []).append(a)
    for r in range(band[0], band[1] + 1):
        last = -1
        for node in order.get(r, []):
            wanted = [col[a] for a in above.get(node, []) if a in col]
            c = max(min(wanted) if wanted else 0, last + 1)
            col[node] = c
            last = c
    return col


# ---- the whole layout ----------------------------------------------------------------------
def layout_network(sources: Sequence[Sequence[int]], rows: int, geometry: Geometry = Geometry(),
                   labels: dict[int, str] | None = None,
                   text_width: Callable[[str], float] | None = None) -> Layout:
    """Place the Input and layers 0..n-1 (``sources[i]``: what layer ``i`` reads) in at most
    ``rows`` rows per band; ``labels[src]`` is the text on the wires leaving ``src``."""
    g = geometry
    n = len(sources)
    labels = labels or {}
    measure = text_width or (lambda text: 6.2 * len(text) + 4)
    forward, backward = _edges(sources)
    rank = _ranks(n, forward)
    order = _order(n, forward, rank)
    between = _segments_between(forward, rank)
    order = _best_order(order, between)
    top = max(order)
    out = Layout(g, ranks={i: rank[i] for i in range(INPUT, n)})
    out.bands = _bands(top, order, between, rows)

    centre: dict[Node, float] = {}
    row_top: dict[int, float] = {}
    band_of: dict[int, int] = {}
    band_right: list[float] = []
    x0 = g.margin
    for b, band in enumerate(out.bands):
        col = _columns(order, between, band)
        base = min(col.values(), default=0)
        width_cols = max(col.values(), default=0) - base + 1
        # a column with only wires in it (a skip connection's lane) is narrow: the wire near its
        # left, its label beside it
        with_cards = {c - base for node, c in col.items() if node[0] == "n"}
        left, x = [], x0
        for c in range(width_cols):
            left.append(x)
            x += (g.card_w if c in with_cards else g.lane_w) + g.lane_gap
        for node, c in col.items():
            c -= base
            centre[node] = left[c] + (g.card_w / 2 if c in with_cards else g.lane_inset)
        right = x - g.lane_gap
        band_right.append(right)
        x0 = right + g.col_gap
    gaps = _gaps(between, centre, g)
    bottom = 0.0
    for b, band in enumerate(out.bands):
        y = g.margin
        for r in range(band[0], band[1] + 1):
            row_top[r] = y
            band_of[r] = b
            y += g.card_h + gaps.get(r, g.v_gap)
        bottom = max(bottom, y - gaps.get(band[1], g.v_gap))
    for i in range(INPUT, n):
        out.positions[i] = (centre[("n", i)] - g.card_w / 2, row_top[rank[i]])

    for e, (src, dst) in enumerate(forward):
        out.wires.append(_route(out, e, src, dst, rank, centre, row_top, band_of, band_right))
    for src, dst in backward:
        out.wires.append(Wire(src, dst, [out.output_port(src), out.input_port(dst)], backward=True))
    for wire in out.wires:
        wire.label = labels.get(wire.src, "")
    _place_labels(out, measure)

    out.width = band_right[-1] + g.margin
    out.height = bottom + g.v_gap - g.v_gap // 2 + 4
    return out


def _gaps(between: dict[int, list[tuple[Node, Node]]], centre: dict[Node, float], g: Geometry) -> dict[int, float]:
    """The gap under each rank: taller where a wire steps far sideways (a fork into four branches),
    so that no step is flatter than ``STEEPNESS`` and labels find room beside the wires."""
    out: dict[int, float] = {}
    for r, pieces in between.items():
        dx = max((abs(centre[a] - centre[b]) for a, b in pieces), default=0.0)
        out[r] = max(g.v_gap, min(MAX_GAP, STEEPNESS * dx))
    return out


def _route(out: Layout, e: int, src: int, dst: int, rank: dict[int, int], centre: dict[Node, float],
           row_top: dict[int, float], band_of: dict[int, int], band_right: list[float]) -> Wire:
    g = out.geometry
    start, end = out.output_port(src), out.input_port(dst)
    if band_of[rank[src]] != band_of[rank[dst]]:   # down, along the gutter, up, into the next band
        mid_y = start[1] + g.v_gap / 2
        gutter = band_right[band_of[rank[src]]] + g.col_gap / 2
        top_y = end[1] - min(g.v_gap / 2, g.margin - 6)
        return Wire(src, dst, [start, (start[0], mid_y), (gutter, mid_y), (gutter, top_y), (end[0], top_y), end],
                    band_break=True)
    pts: list[Point] = [start]
    for r in range(rank[src] + 1, rank[dst]):
        x = centre[("d", e, r)]
        pts += [(x, row_top[r]), (x, row_top[r] + g.card_h)]
    pts.append(end)
    return Wire(src, dst, _simplify(pts))


def _simplify(pts: list[Point]) -> list[Point]:
    """Drop the middle one of three points in a vertical line."""
    out: list[Point] = []
    for p in pts:
        if len(out) >= 2 and out[-1][0] == p[0] == out[-2][0]:
            out[-1] = p
        else:
            out.append(p)
    return out


def _label_candidates(wire: Wire, w: float, g: Geometry, fan_in: bool = False) -> list[Rect]:
    h, pad = g.label_h, 8
    pts = wire.points
    if wire.band_break:   # beside the short drop below the source, above the turn to the gutter
        x, y = pts[0]
        return [(x + pad, y + 1, w, g.v_gap / 2 - 2)]
    cands: list[Rect] = []
    runs = sorted(((b[1] - a[1], a, b) for a, b in wire.segments() if a[0] == b[0] and b[1] - a[1] >= h),
                  key=lambda t: -t[0])
    for _length, a, b in runs:
        mid = (a[1] + b[1]) / 2 - h / 2
        cands += [(a[0] + pad, mid, w, h), (a[0] - pad - w, mid, w, h)]
    (sx, sy), (ex, ey) = pts[0], pts[-1]
    near_end = [(ex + pad, ey - h - 3, w, h), (ex - pad - w, ey - h - 3, w, h)]
    near_start = [(sx + pad, sy + 3, w, h), (sx - pad - w, sy + 3, w, h)]
    # into a merge, several wires meet at one port: a label by the source says whose tensor it is
    return cands + (near_start + near_end if fan_in else near_end + near_start)


def _place_labels(out: Layout, measure: Callable[[str], float]) -> None:
    g = out.geometry
    cards = [out.card_rect(i) for i in out.positions]
    placed: list[Rect] = []
    into: dict[int, int] = {}
    for wire in out.wires:
        into[wire.dst] = into.get(wire.dst, 0) + 1
    for wire in out.wires:
        if not wire.label or wire.backward:
            continue
        w = measure(wire.label)
        others = [s for other in out.wires if other is not wire for s in other.segments()]
        cands = _label_candidates(wire, w, g, into[wire.dst] > 1)
        for rect in cands:
            if (rect[0] >= 0 and rect[1] >= 0 and not any(rects_overlap(rect, c) for c in cards)
                    and not any(rects_overlap(rect, p) for p in placed)
                    and not any(segment_hits_rect(a, b, rect) for a, b in others)):
                wire.label_rect = rect
                break
        else:
            wire.label_rect = cands[0]
        placed.append(wire.label_rect)


def chain_sources(n: int) -> list[tuple[int, ...]]:
    """What a chain of ``n`` layers reads: each layer the one before it."""
    return [(i - 1,) for i in range(n)]
