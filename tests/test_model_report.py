"""The model report: one offline HTML file with every required section."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from clearline.core.scoring.artefact import save_model
from clearline.core.scoring.scorecard import Scorecard
from clearline.report import model as report_model
from clearline.report.model import (
    SECTIONS,
    ModelReportInput,
    Sample,
    model_section,
    write_model_report,
)

DATA_URI = re.compile(r'src="data:image/png;base64,[A-Za-z0-9+/=]+"')


def _frame(n: int, shift: float, rng: np.random.Generator) -> tuple[pl.DataFrame, np.ndarray]:
    a = rng.normal(shift, 1.0, n)
    b = rng.normal(0.0, 1.0, n)
    c = rng.choice(["x", "y", "z"], n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + a - 0.5 * b + (c == "z"))))).astype(int)
    return pl.DataFrame({"a": a, "b": b, "c": c}), y


class _OneFeature:
    """A deliberately weaker challenger: a logistic curve of feature ``a`` alone."""

    def predict_proba(self, X: pl.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-(X["a"].to_numpy() - 1.5)))
        return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def report_input(tmp_path_factory: pytest.TempPathFactory) -> ModelReportInput:
    rng = np.random.default_rng(0)
    X_train, y_train = _frame(2000, 0.0, rng)
    X_test, y_test = _frame(800, 0.0, rng)
    X_oot, y_oot = _frame(800, 1.0, rng)  # the population moved: PSI/CSI must flag it
    sc = Scorecard().fit(X_train, y_train)
    meta = {
        "created_at": "2025-06-30T00:00:00+00:00",
        "as_of": "2025-06-30",
        "observation_date": "2024-06-30",
        "label": "90+ days past due within 12 months after the observation date",
        "features": sc.features_,
        "split": {"by": "borrower_id", "test_share": 0.3, "seed": 0},
        "training_fingerprint": "f" * 64,
    }
    artefact = save_model(tmp_path_factory.mktemp("model"), sc, meta)
    return ModelReportInput(
        artefact=artefact,
        scorecard=sc,
        samples={
            "train": Sample(y_train, X_train),
            "test": Sample(y_test, X_test),
            "oot": Sample(y_oot, X_oot),
        },
        challenger=_OneFeature(),
        challenger_name="one-feature challenger",
        approval_state="approved",
        n_boot=50,
    )


@pytest.fixture(scope="module")
def written(report_input: ModelReportInput, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "report.html"
    assert write_model_report(report_input, path) == path
    return path.read_text(encoding="utf-8")


def test_the_report_is_one_self_contained_file_with_only_embedded_images(written: str) -> None:
    images = re.findall(r"<img[^>]*>", written)
    assert len(images) >= 6
    assert all(DATA_URI.search(img) for img in images)
    text = DATA_URI.sub('src=""', written)  # base64 could spell anything by chance
    assert "http" not in text
    assert 'src="/' not in text and "<link" not in text and "<script" not in text


def test_the_report_has_every_required_section_heading(written: str) -> None:
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in written


def test_the_fact_sheet_names_version_hash_fingerprint_state_label_and_dates(
    report_input: ModelReportInput, written: str
) -> None:
    art = report_input.artefact
    for needle in (
        art["model_version"],
        art["content_hash"],
        "f" * 64,
        "approved",
        "90+ days past due within 12 months",
        "2024-06-30",
        "out-of-time",
        "out-of-sample",
        "Intended use",
        "Calibration method",
    ):
        assert needle in written, needle


def test_a_shifted_recent_population_shows_a_red_light_for_the_moved_feature(
    written: str,
) -> None:
    stability = written[written.index("<h2>Stability") : written.index("<h2>Bins")]
    assert "shifted" in stability
    row_a = re.search(r'<td class="l">a</td>.*?</tr>', stability)
    assert row_a is not None and "shifted" in row_a.group(0)


def test_the_comparison_table_shows_both_models_and_the_bootstrap_interval(written: str) -> None:
    part = written[written.index("<h2>Champion and challenger") :]
    assert "scorecard" in part and "one-feature challenger" in part
    assert "95% paired bootstrap interval" in part


def test_without_a_challenger_the_comparison_section_is_left_out(
    report_input: ModelReportInput,
) -> None:
    inp = ModelReportInput(
        report_input.artefact, report_input.scorecard, report_input.samples, n_boot=10
    )
    body = model_section(inp)
    assert "<h3>Model fact sheet</h3>" in body
    assert "Champion and challenger" not in body


def test_an_older_train_result_with_test_predictions_only_still_renders(
    report_input: ModelReportInput,
) -> None:
    sc = report_input.scorecard
    s = report_input.samples["test"]
    legacy = SimpleNamespace(
        artefact=report_input.artefact,
        scorecard=sc,
        y_test=s.y,
        pd_test=sc.predict_proba(s.X)[:, 1],
        score_test=sc.score_points(s.X),
    )
    body = model_section(legacy)
    assert "<h3>Points table</h3>" in body
    assert "Not computed" in body  # no development or recent frames: no PSI / CSI


def test_writing_replaces_the_file_atomically_and_a_failure_keeps_the_old_report(
    report_input: ModelReportInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out" / "report.html"
    path.parent.mkdir()
    path.write_text("previous report", encoding="utf-8")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    small = ModelReportInput(
        report_input.artefact,
        report_input.scorecard,
        {"test": report_input.samples["test"]},
    )
    monkeypatch.setattr(report_model.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_model_report(small, path)
    assert path.read_text(encoding="utf-8") == "previous report"
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind
    monkeypatch.undo()
    write_model_report(small, path)
    assert path.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert list(path.parent.iterdir()) == [path]


def test_a_sample_with_neither_features_nor_predictions_is_refused(
    report_input: ModelReportInput,
) -> None:
    bad = ModelReportInput(
        report_input.artefact, report_input.scorecard, {"test": Sample(np.array([0, 1]))}
    )
    with pytest.raises(ValueError, match="needs X or pd"):
        model_section(bad)
    with pytest.raises(TypeError, match="cannot build a model report"):
        model_section(object())
