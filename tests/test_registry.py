"""The model registry: immutable artefacts, states derived from an append-only log."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from clearline.core.scoring.artefact import save_model
from clearline.core.scoring.scorecard import Scorecard
from clearline.store.registry import Registry, RegistryError

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    X = pd.DataFrame({"x": x, "noise": rng.normal(size=2000)})
    y = (rng.random(2000) < 1 / (1 + np.exp(-x))).astype(int)
    out = tmp_path / "m"
    save_model(out, Scorecard().fit(X, y), {"created_at": AT.isoformat(), "metrics": {"auc": 0.7}})
    return out


def test_a_registered_model_starts_as_a_draft_with_its_metrics(
    model_dir: Path, tmp_path: Path
) -> None:
    reg = Registry(tmp_path / "reg")
    entry = reg.register(model_dir, at=AT, by="trainer")
    assert entry.state == "draft"
    assert entry.meta["metrics"]["auc"] == 0.7
    assert (reg.model_dir(entry.model_version) / "model.json").read_bytes() == (
        model_dir / "model.json"
    ).read_bytes()


def test_registering_the_same_model_twice_adds_nothing(model_dir: Path, tmp_path: Path) -> None:
    reg = Registry(tmp_path / "reg")
    first = reg.register(model_dir, at=AT)
    reg.register(model_dir, at=AT)
    assert len(reg.list()) == 1 and len(reg.get(first.model_version).history) == 1


def test_states_move_only_forward_and_every_move_is_recorded_with_who_and_why(
    model_dir: Path, tmp_path: Path
) -> None:
    reg = Registry(tmp_path / "reg")
    v = reg.register(model_dir, at=AT).model_version
    reg.move(v, "approved", at=AT, by="alice", note="validated on OOT")
    entry = reg.move(v, "retired", at=AT, by="bob")
    assert entry.state == "retired"
    assert [(h["state"], h["by"]) for h in entry.history] == [
        ("draft", ""),
        ("approved", "alice"),
        ("retired", "bob"),
    ]
    with pytest.raises(RegistryError, match="is retired; it cannot become approved"):
        reg.move(v, "approved", at=AT, by="carol")


def test_a_state_change_needs_a_name_and_a_known_model(model_dir: Path, tmp_path: Path) -> None:
    reg = Registry(tmp_path / "reg")
    v = reg.register(model_dir, at=AT).model_version
    with pytest.raises(RegistryError, match="--by"):
        reg.move(v, "approved", at=AT, by=" ")
    with pytest.raises(RegistryError, match="not in the registry"):
        reg.move("sc-000000000000", "approved", at=AT, by="alice")
    with pytest.raises(RegistryError, match="unknown state"):
        reg.move(v, "published", at=AT, by="alice")


def test_a_tampered_artefact_is_refused_at_registration(model_dir: Path, tmp_path: Path) -> None:
    doc = json.loads((model_dir / "model.json").read_text())
    doc["meta"]["metrics"]["auc"] = 0.99
    (model_dir / "model.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="model.json"):
        Registry(tmp_path / "reg").register(model_dir, at=AT)
    assert not (tmp_path / "reg" / "log.jsonl").exists()
