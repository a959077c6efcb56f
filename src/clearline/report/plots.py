"""Model-quality plots shared by the model report and the demo report."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from clearline.report.html import figure_png


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-p, kind="mergesort")
    y_sorted = y[order]
    tpr = np.concatenate([[0.0], np.cumsum(y_sorted) / max(y_sorted.sum(), 1)])
    fpr = np.concatenate([[0.0], np.cumsum(1 - y_sorted) / max((1 - y_sorted).sum(), 1)])
    return fpr, tpr


def roc_plot(y: np.ndarray, p: np.ndarray, auc: float) -> str:
    fpr, tpr = roc_curve(y, p)
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=f"scorecard (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set(xlabel="false positive rate (goods refused)", ylabel="true positive rate (bads caught)")
    ax.set_title("ROC on held-out borrowers")
    ax.legend(loc="lower right")
    return figure_png(fig)


def score_distribution_plot(
    y: np.ndarray, score: np.ndarray, title: str = "Score by outcome (held-out)"
) -> str:
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    lo, hi = np.percentile(score, 0.5), np.percentile(score, 99.5)
    if hi <= lo:  # one score value (e.g. a model with no feature): one visible bar
        lo, hi = lo - 0.5, hi + 0.5
    bins = np.linspace(lo, hi, 40).tolist()
    ax.hist(score[y == 0], bins=bins, alpha=0.6, density=True, label="did not default")
    ax.hist(score[y == 1], bins=bins, alpha=0.6, density=True, label="defaulted")
    ax.set(xlabel="score (points)", ylabel="density")
    ax.set_title(title)
    ax.legend()
    return figure_png(fig)


def calibration_rows(y: np.ndarray, p: np.ndarray, groups: int = 10) -> list[tuple]:
    """Predicted vs observed default rate by decile of predicted PD."""
    order = np.argsort(p, kind="mergesort")
    rows = []
    for i, chunk in enumerate(np.array_split(order, groups), start=1):
        if chunk.size:
            rows.append((f"D{i}", int(chunk.size), float(p[chunk].mean()), float(y[chunk].mean())))
    return rows


def calibration_plot(y: np.ndarray, p: np.ndarray) -> str:
    rows = calibration_rows(y, p)
    pred = [r[2] for r in rows]
    obs = [r[3] for r in rows]
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    top = max(max(pred), max(obs)) * 1.05
    ax.plot([0, top], [0, top], "--", color="grey")
    ax.plot(pred, obs, "o-")
    ax.set(xlabel="predicted PD (decile mean)", ylabel="observed default rate")
    ax.set_title("Calibration by decile (held-out)")
    return figure_png(fig)


# --------------------------------------------------------------------------------------
# Plots of the model report, drawn from the JSON results of core/scoring/validation.py
# (so the report and the artefact show the same numbers).

_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def roc_overlay_plot(curves: list[tuple[str, dict, float | None]], title: str) -> str:
    """ROC curves ``(label, roc_points(...), auc)`` on one set of axes."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    for (label, pts, area), colour in zip(curves, _COLOURS, strict=False):
        text = label if area is None else f"{label} (AUC {area:.3f})"
        ax.plot(pts["fpr"], pts["tpr"], color=colour, label=text)
    ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    ax.set(xlabel="false positive rate (goods refused)", ylabel="true positive rate (bads caught)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize="small")
    return figure_png(fig)


def ks_plot(curve: dict, title: str) -> str:
    """Cumulative shares of defaults and non-defaults by PD, with the KS gap marked."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    t = curve["threshold"]
    ax.step(t, curve["cdf_events"], where="post", label="defaulted")
    ax.step(t, curve["cdf_non_events"], where="post", label="did not default")
    at = curve["threshold_at_ks"]
    i = t.index(at)
    ax.vlines(at, curve["cdf_events"][i], curve["cdf_non_events"][i], colors="black")
    ax.annotate(
        f"KS {curve['ks']:.3f}",
        (at, curve["cdf_non_events"][i]),
        xytext=(5, -15),
        textcoords="offset points",
    )
    ax.set(xlabel="predicted PD", ylabel="cumulative share")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return figure_png(fig)


def reliability_plot(tables: list[tuple[str, list[dict]]], title: str) -> str:
    """Mean predicted PD against observed default rate per group, one line per sample."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    top = 0.0
    for (label, rows), colour in zip(tables, _COLOURS, strict=False):
        pred = [r["mean_predicted"] for r in rows]
        obs = [r["observed_rate"] for r in rows]
        top = max(top, *pred, *obs)
        ax.plot(pred, obs, "o-", color=colour, label=label)
    top = top * 1.05 or 1.0
    ax.plot([0, top], [0, top], "--", color="grey", label="perfect calibration")
    ax.set(xlabel="predicted PD (group mean)", ylabel="observed default rate")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return figure_png(fig)


def psi_plot(table: dict, title: str) -> str:
    """Share of development and recent rows per score bin (the bins of the PSI)."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    x = np.arange(len(table["expected_share"]))
    ax.bar(x - 0.2, table["expected_share"], width=0.4, label="development")
    ax.bar(x + 0.2, table["actual_share"], width=0.4, label="recent")
    ax.set(xlabel="score bin (quantiles of development)", ylabel="share of rows")
    ax.set_title(title)
    ax.legend()
    return figure_png(fig)
