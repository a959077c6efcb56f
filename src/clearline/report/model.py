"""The model report written by `clearline train`: one offline HTML file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from clearline.report.html import kpis, page, table
from clearline.report.plots import (
    calibration_plot,
    calibration_rows,
    roc_plot,
    score_distribution_plot,
)

if TYPE_CHECKING:
    from clearline.services.train import TrainResult


def model_section(result: TrainResult) -> str:
    meta = result.artefact["meta"]
    m = meta["metrics"]
    pt = result.scorecard.points_table()
    iv = pt.groupby("feature", sort=False)["iv"].first().sort_values(ascending=False)
    bins = [
        (r.feature, r.label, int(r["count"]), float(r.event_rate), float(r.woe), float(r.points))
        for _, r in pt.iterrows()
    ]
    return (
        kpis(
            [
                ("AUC (held-out)", m["auc"]),
                ("KS", m["ks"]),
                ("Gini", m["gini"]),
                ("Brier", m["brier"]),
                ("train accounts", m["n_train"]),
                ("test accounts", m["n_test"]),
            ]
        )
        + f'<p class="note">Model {result.artefact["model_version"]}, observed '
        f"{meta['observation_date']}, label: {meta['label']}; validated on borrowers the "
        f"model did not see (split by borrower, test share {meta['split']['test_share']}).</p>"
        + '<div class="plots">'
        + roc_plot(result.y_test, result.pd_test, m["auc"])
        + score_distribution_plot(result.y_test, result.score_test)
        + calibration_plot(result.y_test, result.pd_test)
        + "</div><h3>Calibration by decile</h3>"
        + table(
            ["decile", "accounts", "predicted PD", "observed rate"],
            calibration_rows(result.y_test, result.pd_test),
        )
        + "<h3>Features in the model (information value)</h3>"
        + table(["feature", "IV"], [(f, float(v)) for f, v in iv.items()])
        + "<h3>Points table</h3>"
        + table(["feature", "bin", "count", "event rate", "WoE", "points"], bins, left=2)
    )


def write_model_report(result: TrainResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    html = page(
        "clearline model report",
        model_section(result),
        subtitle=f"model {result.artefact['model_version']}",
    )
    path.write_text(html, encoding="utf-8")
    return path
