"""Pre-bin cuts chosen by the outcome, where ties made a quantile pre-bin too wide.

Quantile pre-bins place their edges by row count alone. Beside a spike of one value
they fall badly: in Taiwanese card data 13 % of September bills are zero, and the
quantile edge after the spike landed at 0.476, pooling the zero and negative bills
(event rate 0.28) with small bills (0.14) in one pre-bin no binning can split again.
optbinning, whose pre-bins are cut by a decision tree, was 0.0095 AUC ahead there.

So the quantile edges are kept (their resolution in the tails serves most columns), and
a pre-bin that ties made wider than ``WIDE`` shares is cut where a one-feature tree
would cut it: on a grid of 100 quantile edges, the piece whose best cut gains most
likelihood is cut first, while that gain passes the chi-square test that keeps a small
bin apart (``merging.KEEP_APART_G``) and both sides hold ``MIN_PIECE_SHARE`` of the rows.
Cutting every pre-bin so, not only the wide ones, gained on that card data but cost up
to 0.0011 AUC on ten other sets, and 0.004 without the test (benchmarks/README.md,
2026-12-06).
"""

from __future__ import annotations

import heapq

import numpy as np

from clearline.core.scoring.merging import KEEP_APART_G, g_apart

#: Quantile levels of the grid the cuts are chosen from.
GRID = 100
#: Least share of rows on either side of a cut (optbinning's CART pre-bins use 5 %).
MIN_PIECE_SHARE = 0.05
#: A quantile pre-bin holding more than this many times its share of rows is wide.
WIDE = 1.5


def outcome_cuts(
    x: np.ndarray,
    y: np.ndarray,
    edges: np.ndarray,
    counts: np.ndarray,
    single: np.ndarray,
    n_prebins: int,
    w: np.ndarray | None = None,
) -> np.ndarray:
    """The cuts of :func:`informative_edges` that fall inside a wide pre-bin of the
    quantile ``edges`` (rows per pre-bin ``counts``; a pre-bin of one value, ``single``,
    cannot be cut). No cuts, at no cost, when no pre-bin is wide. ``w``: sample weights,
    with which ``counts`` are weighted too."""
    wide = (counts > WIDE * counts.sum() / n_prebins) & ~single
    if not wide.any():
        return np.empty(0)
    finite = np.isfinite(x)
    cuts = informative_edges(x[finite], y[finite], n_prebins, None if w is None else w[finite])
    return cuts[wide[np.searchsorted(edges, cuts, side="right")]]


def informative_edges(
    x: np.ndarray, y: np.ndarray, max_pieces: int, w: np.ndarray | None = None
) -> np.ndarray:
    """Sorted cuts (observed values of ``x``) that split finite ``x`` into up to
    ``max_pieces`` pieces whose event rates in 0/1 ``y`` differ beyond chance (rows
    weighted by ``w`` when given)."""
    if not x.size:
        return np.empty(0)
    qs = np.quantile(x, np.linspace(0.0, 1.0, GRID + 1)[1:-1], method="inverted_cdf", weights=w)
    grid = np.unique(qs[qs > x.min()])  # observed values, so no grid cell is empty
    cell = np.searchsorted(grid, x, side="right")
    m = len(grid) + 1
    # Cumulative rows and events by grid cell: any run of cells is two subtractions.
    cn = np.concatenate([[0.0], np.cumsum(np.bincount(cell, weights=w, minlength=m))])
    yw = y if w is None else y * w
    ce = np.concatenate([[0.0], np.cumsum(np.bincount(cell, weights=yw, minlength=m))])
    least = MIN_PIECE_SHARE * cn[-1]

    def best_cut(lo: int, hi: int) -> tuple[float, int] | None:
        """(G, cell) of the best cut of cells lo..hi-1, or None when none passes."""
        c = np.arange(lo + 1, hi)
        ln, le = cn[c] - cn[lo], ce[c] - ce[lo]
        rn, re = cn[hi] - cn[c], ce[hi] - ce[c]
        g = np.where((ln >= least) & (rn >= least), g_apart(le, ln, re, rn), -np.inf)
        if not g.size or g.max() <= KEEP_APART_G:
            return None
        k = int(np.argmax(g))
        return float(g[k]), int(c[k])

    cuts: list[int] = []
    heap: list[tuple[float, int, int, int]] = []

    def push(lo: int, hi: int) -> None:
        found = best_cut(lo, hi)
        if found is not None:
            heapq.heappush(heap, (-found[0], lo, hi, found[1]))

    push(0, m)
    while heap and len(cuts) + 1 < max_pieces:
        _, lo, hi, c = heapq.heappop(heap)
        cuts.append(c)
        push(lo, c)
        push(c, hi)
    # Cell c starts at grid[c - 1].
    return np.sort(grid[np.asarray(cuts, dtype=np.int64) - 1])
