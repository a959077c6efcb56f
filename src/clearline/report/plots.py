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


def score_distribution_plot(y: np.ndarray, score: np.ndarray) -> str:
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    bins = np.linspace(np.percentile(score, 0.5), np.percentile(score, 99.5), 40)
    ax.hist(score[y == 0], bins=bins, alpha=0.6, density=True, label="did not default")
    ax.hist(score[y == 1], bins=bins, alpha=0.6, density=True, label="defaulted")
    ax.set(xlabel="score (points)", ylabel="density")
    ax.set_title("Score by outcome (held-out)")
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
