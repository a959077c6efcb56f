"""The model report written by `clearline train`: one offline HTML file.

Sections: model fact sheet, discrimination (ROC, KS), score distribution by outcome,
calibration (reliability plot and deciles), stability (score PSI, feature CSI), bins
with WoE/IV, the points table, and champion vs challenger when a challenger is given.
Plots are embedded PNGs (``data:`` URIs), so the file needs nothing else to be read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from clearline.report.html import esc, page
from clearline.report.model_input import (
    ModelReportInput,
    Prepared,
    Sample,
    as_input,
    prepare,
)
from clearline.report.model_tables import (
    bin_tables,
    calibration_tables,
    comparison_table,
    fact_sheet,
    points_section,
    sample_label,
    stability_tables,
)
from clearline.report.plots import (
    ks_plot,
    psi_plot,
    reliability_plot,
    roc_overlay_plot,
    score_distribution_plot,
)

__all__ = ["ModelReportInput", "Sample", "SECTIONS", "model_section", "write_model_report"]

SECTIONS = (
    "Model fact sheet",
    "Discrimination: ROC and KS",
    "Score distribution by outcome",
    "Calibration",
    "Stability: PSI and CSI",
    "Bins: weight of evidence and information value",
    "Points table",
    "Champion and challenger",
)


def _focus(prep: Prepared) -> str | None:
    """The sample the single-sample plots use: the holdout, else out-of-time, else any
    sample with both outcomes."""
    for name in (prep.inp.holdout, "oot", *prep.curves):
        if name in prep.curves:
            return name
    return None


def _discrimination(prep: Prepared) -> str:
    focus = _focus(prep)
    if focus is None:
        return '<p class="note">No sample has both outcomes: ROC and KS are undefined.</p>'
    curves = [
        (sample_label(n), c["roc"], prep.validation[n]["auc"]) for n, c in prep.curves.items()
    ]
    return (
        '<div class="plots">'
        + roc_overlay_plot(curves, "ROC by sample")
        + ks_plot(prep.curves[focus]["ks"], f"KS curve: {sample_label(focus)}")
        + "</div>"
    )


def _distribution(prep: Prepared) -> str:
    parts = []
    for name, s in prep.scored.items():
        if name == prep.inp.development and len(prep.scored) > 1:
            continue  # the held-out samples are the honest picture
        values = s.score if s.score is not None else s.pd
        what = "score" if s.score is not None else "PD"
        parts.append(score_distribution_plot(s.y, values, f"{what} by outcome: {name}"))
    return '<div class="plots">' + "".join(parts) + "</div>"


def _calibration(prep: Prepared) -> str:
    tables = [(sample_label(n), v["calibration"]) for n, v in prep.validation.items()]
    return (
        '<div class="plots">'
        + reliability_plot(tables, "Reliability: predicted vs observed by decile")
        + "</div>"
        + calibration_tables(prep)
    )


def _stability(prep: Prepared) -> str:
    plot = ""
    if prep.score_psi is not None:
        plot = (
            '<div class="plots">'
            + psi_plot(prep.score_psi, "Score distribution: development vs recent")
            + "</div>"
        )
    return (
        '<p class="note">Usual reading: below 0.10 stable, 0.10 to 0.25 watch, 0.25 or more '
        "shifted (investigate, consider retraining).</p>" + plot + stability_tables(prep)
    )


def _comparison(prep: Prepared) -> str:
    inp = prep.inp
    hold = prep.curves.get(inp.holdout)
    plot = ""
    if hold is not None and prep.challenger_roc is not None:
        c = prep.comparison or {}
        plot = (
            '<div class="plots">'
            + roc_overlay_plot(
                [
                    (inp.champion_name, hold["roc"], c[inp.champion_name]["auc"]),
                    (inp.challenger_name, prep.challenger_roc, c[inp.challenger_name]["auc"]),
                ],
                f"ROC on the same holdout: {sample_label(inp.holdout)}",
            )
            + "</div>"
        )
    return comparison_table(prep) + plot


def model_section(data: ModelReportInput | Any, level: int = 3) -> str:
    """The model report's body (headings at ``<h{level}>``) for embedding in a page.

    ``data`` is a :class:`ModelReportInput`; an older ``TrainResult`` (test predictions
    only) is accepted too and gives a report without stability or comparison.
    """
    prep = data if isinstance(data, Prepared) else prepare(as_input(data))
    sc = prep.inp.scorecard
    parts = [
        (SECTIONS[0], fact_sheet(prep)),
        (SECTIONS[1], _discrimination(prep)),
        (SECTIONS[2], _distribution(prep)),
        (SECTIONS[3], _calibration(prep)),
        (SECTIONS[4], _stability(prep)),
        (SECTIONS[5], bin_tables(sc)),
        (SECTIONS[6], points_section(sc)),
    ]
    if prep.comparison is not None:
        parts.append((SECTIONS[7], _comparison(prep)))
    h = f"h{level}"
    return "".join(f"<{h}>{esc(title)}</{h}>{body}" for title, body in parts)


def write_model_report(data: ModelReportInput | Any, path: Path) -> Path:
    """Write the model report to ``path`` as one self-contained HTML file.

    The file is written next to its target and renamed over it, so a reader never sees
    half a report and a failed run leaves any previous report intact.
    """
    inp = as_input(data)
    body = model_section(prepare(inp), level=2)
    version = inp.artefact.get("model_version", "unsaved model")
    html = page("clearline model report", body, subtitle=f"model {version}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
