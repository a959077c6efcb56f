"""Tiny HTML building blocks for one-file, offline reports (no external assets)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # reports are written headless
import matplotlib.pyplot as plt  # noqa: E402

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#1d232a}
h1{margin-bottom:.2em} h2{border-bottom:2px solid #e3e7ea;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #d5dadf;padding:.3em .6em;text-align:right}
th{background:#f3f5f7} td.l,th.l{text-align:left}
.kpis{display:flex;flex-wrap:wrap;gap:1em}
.kpi{border:1px solid #d5dadf;border-radius:8px;padding:.6em 1em;min-width:9em}
.kpi b{display:block;font-size:1.5em} .kpi.harm b{color:#b3261e}
.note{color:#56606b;font-size:.9em} img{max-width:100%}
.plots{display:flex;flex-wrap:wrap;gap:1em} .plots img{width:520px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value))


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.4f}" if abs(value) < 10 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return esc(value)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1) -> str:
    """An HTML table; the first `left` columns are text (left-aligned)."""
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{esc(h)}</th>' for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if i < left else ""}">{fmt(v)}</td>' for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def kpis(items: Sequence[tuple[str, Any]], harm: Sequence[str] = ()) -> str:
    cells = "".join(
        f'<div class="kpi{" harm" if label in harm else ""}"><b>{fmt(v)}</b>{esc(label)}</div>'
        for label, v in items
    )
    return f'<div class="kpis">{cells}</div>'


def figure_png(fig: Any) -> str:
    """Embed a matplotlib figure as a base64 PNG <img> and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def page(title: str, body: str, subtitle: str = "") -> str:
    sub = f'<p class="note">{esc(subtitle)}</p>' if subtitle else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{esc(title)}</h1>{sub}{body}</body></html>"
    )
