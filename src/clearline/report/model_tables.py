"""Tables of the model report: fact sheet, metrics, bins, stability, comparison."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from clearline.report.html import esc, fmt
from clearline.report.model_input import SAMPLE_LABELS, Prepared

LIGHT = {"stable": "#2e7d32", "watch": "#e0a800", "shifted": "#b3261e", "n/a": "#8a939c"}


class Raw(str):
    """Cell content that is already HTML (not escaped again)."""


def rich_table(header: Sequence[str], rows: Iterable[Sequence[Any]], left: int = 1) -> str:
    """Like ``html.table`` but cells may be :class:`Raw` HTML and None shows as a dash."""

    def cell(i: int, v: Any) -> str:
        text = v if isinstance(v, Raw) else "–" if v is None else fmt(v)
        return f'<td class="{"l" if i < left else ""}">{text}</td>'

    head = "".join(
        f'<th class="{"l" if i < left else ""}">{esc(h)}</th>' for i, h in enumerate(header)
    )
    body = "".join(
        "<tr>" + "".join(cell(i, v) for i, v in enumerate(row)) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def light(state: str) -> Raw:
    """A coloured dot and the traffic-light word (stable / watch / shifted)."""
    colour = LIGHT.get(state, LIGHT["n/a"])
    return Raw(f'<span style="color:{colour}">&#9679;</span> {esc(state)}')


def sample_label(name: str) -> str:
    return SAMPLE_LABELS.get(name, name)


def metrics_table(prep: Prepared) -> str:
    """One row per sample: size, default rate, AUC, KS, Gini, Brier, ECE."""
    rows = [
        (
            sample_label(name),
            v["n"],
            v["event_rate"],
            v["auc"],
            v["ks"],
            v["gini"],
            v["brier"],
            v["ece"],
        )
        for name, v in prep.validation.items()
    ]
    header = ["sample", "accounts", "default rate", "AUC", "KS", "Gini", "Brier", "ECE"]
    return rich_table(header, rows)


def fact_sheet(prep: Prepared) -> str:
    """The plain-language model fact sheet (a two-column table plus metrics)."""
    inp = prep.inp
    art = inp.artefact
    meta = art.get("meta", {})
    sc = inp.scorecard
    features = list(meta.get("features") or getattr(sc, "features_", []))
    ivs = getattr(sc, "iv_", {})
    feat_txt = ", ".join(f"{f} (IV {ivs[f]:.3f})" if f in ivs else f for f in features)
    label = meta.get("label", "not recorded")
    calib = inp.calibration or meta.get("calibration") or {}
    # {"method": ...} or a Calibrator.to_dict() (which names its choice "chosen")
    calib_txt = (
        calib.get("method")
        or calib.get("chosen")
        or ("none: the scorecard's own logistic PD (score points mapped to odds)")
    )
    if calib.get("chosen_by"):
        calib_txt += f" (chosen by {calib['chosen_by']})"
    split = meta.get("split", {})
    counts = "; ".join(
        f"{sample_label(n)}: {v['n']:,} accounts, default rate {v['event_rate']:.2%}"
        for n, v in prep.validation.items()
    )
    state = inp.approval_state or "draft (not registered)"
    limits = "".join(f"<li>{esc(x)}</li>" for x in inp.limits)
    rows: list[tuple[str, Any]] = [
        ("What it predicts", f"The probability that an account defaults: {label}."),
        (
            "Label definition",
            f"Default = {label}. Accounts opened after the observation date, or already "
            "90+ days past due on it, are not in the population.",
        ),
        (
            "Population and dates",
            f"Accounts open on the observation date {meta.get('observation_date', '?')}, "
            f"outcome observed up to {meta.get('as_of', '?')}. {counts}.",
        ),
        (
            "Out-of-sample split",
            f"by {split.get('by', '?')}, test share {split.get('test_share', '?')}, "
            f"seed {split.get('seed', '?')}"
            if split
            else "not recorded",
        ),
        ("Data fingerprint", meta.get("training_fingerprint", "not recorded")),
        ("Features used", f"{len(features)}: {feat_txt}" if features else "none"),
        ("How the points were fitted", _fitted_how(sc)),
        ("Intended use", inp.intended_use),
        ("Limits", Raw(f"<ul>{limits}</ul>")),
        ("Calibration method", calib_txt),
        ("Model version", art.get("model_version", "not saved")),
        ("Content hash", art.get("content_hash", "not saved")),
        ("Schema version", art.get("schema_version", "?")),
        ("Created", art.get("created_at") or "?"),
        ("Approval state", state),
    ]
    sheet = rich_table(["", ""], rows, left=2)  # prose: left-aligned
    return (
        sheet + "<p>Metrics by sample (AUC, KS and Gini measure ranking: higher is better; "
        "Brier and ECE measure probability error: lower is better):</p>" + metrics_table(prep)
    )


def _fitted_how(sc: Any) -> str:
    members = getattr(sc, "n_members_", 1)
    if members <= 1:
        return "one logistic regression on the weight of evidence of the bins"
    return (
        f"the mean of {members} logistic-regression scorecards fitted on bootstrap samples "
        "of the training rows, on bins refined to all their cuts and pooled back to the "
        "minimum bin share (points follow each feature's trend)"
    )


def calibration_tables(prep: Prepared) -> str:
    """Decile table per sample: accounts, defaults, mean predicted PD, observed rate."""
    out = []
    for name, v in prep.validation.items():
        rows = [
            (
                f"D{r['bin']}",
                r["count"],
                r["events"],
                r["mean_predicted"],
                r["observed_rate"],
                r["observed_rate"] - r["mean_predicted"],
            )
            for r in v["calibration"]
        ]
        header = ["decile", "accounts", "defaults", "mean predicted PD", "observed rate", "gap"]
        out.append(
            f"<h4>{esc(sample_label(name))}: expected calibration error "
            f"{v['ece']:.4f}</h4>" + rich_table(header, rows)
        )
    return "".join(out)


def bin_tables(sc: Any) -> str:
    """Per model feature: its bins with counts, event rate, WoE and IV; then the IV and
    selection outcome of every candidate."""
    out = []
    for f in getattr(sc, "features_", []):
        b = sc.binnings_[f]
        total = max(b.counts.sum().item(), 1)
        rows = [
            (
                label,
                b.counts[i].item(),  # an int, or a float: a total of sample weights
                b.counts[i] / total,
                b.events[i].item(),
                b.events[i] / b.counts[i] if b.counts[i] else None,
                float(b.woe[i]),
                float(b.iv_bins[i]),
            )
            for i, label in enumerate(b.labels())
        ]
        header = ["bin", "accounts", "share", "defaults", "default rate", "WoE", "IV"]
        out.append(
            f"<h4>{esc(f)}: IV {b.iv:.4f}, trend {esc(b.trend)}</h4>" + rich_table(header, rows)
        )
    ivs = getattr(sc, "iv_", {})
    reasons = getattr(sc, "selection_", {})
    cand = sorted(ivs, key=lambda f: -ivs[f])
    summary = rich_table(
        ["candidate feature", "IV", "selection"],
        [(f, ivs[f], reasons.get(f, "")) for f in cand],
        left=1,
    )
    return "<h4>All candidate features</h4>" + summary + "".join(out)


def points_rows(sc: Any) -> list[tuple]:
    pt = sc.points_table()
    return [
        (r.feature, r.label, int(r["count"]), r.event_rate, float(r.woe), float(r.points))
        for _, r in pt.iterrows()
    ]


def points_section(sc: Any) -> str:
    scale = (
        f"Points are scaled so that {fmt(float(sc.base_score))} points mean good:bad odds of "
        f"{fmt(float(sc.base_odds))}:1 and every {fmt(float(sc.pdo))} points double the odds; "
        "a row's score is the sum of the points of its bins (higher = safer)."
    )
    rows = [
        (f, lab, n, None if not np.isfinite(er) else float(er), w, p)
        for f, lab, n, er, w, p in points_rows(sc)
    ]
    header = ["feature", "bin", "accounts", "default rate", "WoE", "points"]
    return f'<p class="note">{esc(scale)}</p>' + rich_table(header, rows, left=2)


def stability_tables(prep: Prepared) -> str:
    """Score PSI and per-feature CSI with traffic lights (0.10 / 0.25)."""
    if prep.score_psi is None and prep.csi is None:
        return f'<p class="note">{esc(prep.stability_note)}</p>'
    out = []
    if prep.score_psi is not None:
        ps = prep.score_psi
        out.append(
            rich_table(
                ["index", "value", "status"],
                [("score PSI (development vs recent)", ps["psi"], light(ps["status"]))],
            )
        )
    if prep.csi is not None:
        rows = [(r["feature"], r["n_bins"], r["csi"], light(r["status"])) for r in prep.csi]
        out.append(
            "<p>Characteristic stability per model feature, on the model's own bins:</p>"
            + rich_table(["feature", "bins", "CSI", "status"], rows)
        )
    return "".join(out)


def comparison_table(prep: Prepared) -> str:
    """Champion and challenger on the same holdout, with the bootstrap AUC interval."""
    c = prep.comparison
    assert c is not None
    inp = prep.inp
    names = (inp.champion_name, inp.challenger_name)
    keys = ("n", "event_rate", "auc", "ks", "gini", "brier")
    rows = [(n, *(c[n][k] for k in keys)) for n in names]
    lo, hi = c["ci95"]
    verdict = (
        "the challenger is better"
        if lo > 0
        else "the champion is better"
        if hi < 0
        else "no significant difference"
    )
    note = (
        f"AUC difference (challenger - champion) {c['auc_diff']:+.4f}, 95% paired bootstrap "
        f"interval [{lo:+.4f}, {hi:+.4f}] over {c['n_used']} resamples (seed {c['seed']}): "
        f"{verdict}."
    )
    if c["p_challenger_better"] is not None:
        note += f" Share of resamples where the challenger wins: {c['p_challenger_better']:.0%}."
    header = ["model", "accounts", "default rate", "AUC", "KS", "Gini", "Brier"]
    return rich_table(header, rows) + f"<p>{esc(note)}</p>"
