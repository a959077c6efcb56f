"""The model artefact: ``model_dir/model.json``, versioned by its content hash.

Layout (schema 2)::

    {"schema_version": 2, "model_version": "<prefix>-<12 hex>", "content_hash": "<sha256>",
     "created_at": ..., "kind": "scorecard" | "gbm", "meta": {...},
     "model": Model.to_dict(), "calibration": Calibrator.to_dict() | null}

The prefix is ``sc`` for a scorecard and ``gbm`` for the gradient-boosted challenger.
Schema 1 files (a bare ``"scorecard"`` key, no calibration) are still read.

``content_hash`` is the SHA-256 of the canonical JSON (sorted keys, no spaces) of every
key except ``content_hash`` and ``model_version``; the same model and meta always give the
same version. ``created_at`` comes from ``meta`` (the core reads no clock). Loading
re-computes the hash and refuses a file that was edited.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from clearline.core.scoring.calibrated import CalibratedModel
from clearline.core.scoring.calibration import Calibrator
from clearline.core.scoring.gbm import GBMChallenger
from clearline.core.scoring.scorecard import Scorecard

SCHEMA_VERSION = 2
READABLE = (1, 2)
MODEL_FILE = "model.json"
KINDS: dict[str, tuple[str, Any]] = {
    "scorecard": ("sc", Scorecard),
    "gbm": ("gbm", GBMChallenger),
}


class ModelArtefactError(ValueError):
    """A model file that cannot be trusted or read; the message names the file."""


def _jsonable(v: Any) -> Any:
    """Meta values as plain JSON (numpy scalars/arrays, dates, paths, tuples)."""
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, float) and not np.isfinite(v):
        return None  # JSON has no NaN / inf
    return v


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, compact separators, UTF-8, no NaN."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_hash(body: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of ``body``."""
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def kind_of(model: Any) -> str:
    for kind, (_, cls) in KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"cannot save a {type(model).__name__}; expected Scorecard or GBMChallenger")


def save_model(
    model_dir: str | Path,
    model: Scorecard | GBMChallenger,
    meta: dict[str, Any],
    *,
    calibrator: Calibrator | None = None,
) -> dict[str, Any]:
    """Write ``model_dir/model.json`` and return the document written.

    Parameters
    ----------
    model_dir : folder, created if needed.
    model : a fitted Scorecard or GBMChallenger.
    meta : features, metrics, training fingerprint, ...; ``meta["created_at"]`` (str or
        datetime) becomes the top-level ``created_at`` (None if absent).
    calibrator : maps the model's output to a calibrated PD, fitted on data the model
        did not train on.
    """
    meta = dict(_jsonable(meta))
    created_at = meta.pop("created_at", None)
    kind = kind_of(model)
    body = {
        "schema_version": SCHEMA_VERSION,
        "created_at": created_at,
        "kind": kind,
        "meta": meta,
        "model": _jsonable(model.to_dict()),
        "calibration": _jsonable(calibrator.to_dict()) if calibrator is not None else None,
    }
    digest = content_hash(body)
    doc = {"model_version": f"{KINDS[kind][0]}-{digest[:12]}", "content_hash": digest, **body}
    path = Path(model_dir)
    path.mkdir(parents=True, exist_ok=True)
    target = path / MODEL_FILE
    tmp = path / f".{MODEL_FILE}.tmp"
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False), encoding="utf-8")
    os.replace(tmp, target)  # atomic: a reader never sees half a model
    return doc


def load_model(model_dir: str | Path) -> tuple[Any, dict[str, Any]]:
    """Read and verify ``model_dir/model.json``.

    Returns the model ready to score (a ``CalibratedModel`` when the artefact carries a
    calibration: calibrated PD, the base model's points and reasons) and the whole
    document (``model_version``, ``meta``, ...).

    Raises
    ------
    ModelArtefactError
        If the file is missing, not JSON, of an unknown schema version, or its content
        does not match its hash (edited or corrupted).
    """
    target = Path(model_dir) / MODEL_FILE
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelArtefactError(f"{target}: model file not found") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelArtefactError(f"{target}: not valid JSON ({exc})") from exc
    if not isinstance(doc, dict):
        raise ModelArtefactError(f"{target}: expected a JSON object")
    version = doc.get("schema_version")
    if version not in READABLE:
        raise ModelArtefactError(
            f"{target}: unknown schema_version {version!r} (this clearline reads {READABLE})"
        )
    kind = doc.get("kind", "scorecard")
    if kind not in KINDS:
        raise ModelArtefactError(f"{target}: unknown model kind {kind!r}")
    body = {k: v for k, v in doc.items() if k not in ("content_hash", "model_version")}
    digest = content_hash(body)
    expected = f"{KINDS[kind][0]}-{digest[:12]}"
    if doc.get("content_hash") != digest or doc.get("model_version") != expected:
        raise ModelArtefactError(
            f"{target}: content does not match its content_hash; the file was modified "
            "or corrupted, refusing to load it"
        )
    try:
        model = KINDS[kind][1].from_dict(doc["model"] if version == 2 else doc["scorecard"])
        if doc.get("calibration"):
            model = CalibratedModel(model, Calibrator.from_dict(doc["calibration"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelArtefactError(f"{target}: invalid {kind} model: {exc}") from exc
    return model, doc
