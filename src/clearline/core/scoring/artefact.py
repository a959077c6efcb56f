"""The model artefact: ``model_dir/model.json``, versioned by its content hash.

Layout::

    {"schema_version": 1, "model_version": "sc-<12 hex>", "content_hash": "<sha256>",
     "created_at": ..., "meta": {...}, "scorecard": Scorecard.to_dict()}

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

from clearline.core.scoring.scorecard import Scorecard

SCHEMA_VERSION = 1
MODEL_FILE = "model.json"


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


def save_model(model_dir: str | Path, scorecard: Scorecard, meta: dict[str, Any]) -> dict[str, Any]:
    """Write ``model_dir/model.json`` and return the document written.

    Parameters
    ----------
    model_dir : folder, created if needed.
    scorecard : a fitted Scorecard.
    meta : features, metrics, training fingerprint, ...; ``meta["created_at"]`` (str or
        datetime) becomes the top-level ``created_at`` (None if absent).
    """
    meta = dict(_jsonable(meta))
    created_at = meta.pop("created_at", None)
    body = {
        "schema_version": SCHEMA_VERSION,
        "created_at": created_at,
        "meta": meta,
        "scorecard": _jsonable(scorecard.to_dict()),
    }
    digest = content_hash(body)
    doc = {"model_version": f"sc-{digest[:12]}", "content_hash": digest, **body}
    path = Path(model_dir)
    path.mkdir(parents=True, exist_ok=True)
    target = path / MODEL_FILE
    tmp = path / f".{MODEL_FILE}.tmp"
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True, allow_nan=False), encoding="utf-8")
    os.replace(tmp, target)  # atomic: a reader never sees half a model
    return doc


def load_model(model_dir: str | Path) -> tuple[Scorecard, dict[str, Any]]:
    """Read and verify ``model_dir/model.json``.

    Returns the scorecard and the whole document (``model_version``, ``meta``, ...).

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
    if version != SCHEMA_VERSION:
        raise ModelArtefactError(
            f"{target}: unknown schema_version {version!r} (this clearline reads {SCHEMA_VERSION})"
        )
    body = {k: v for k, v in doc.items() if k not in ("content_hash", "model_version")}
    digest = content_hash(body)
    if doc.get("content_hash") != digest or doc.get("model_version") != f"sc-{digest[:12]}":
        raise ModelArtefactError(
            f"{target}: content does not match its content_hash; the file was modified "
            "or corrupted, refusing to load it"
        )
    try:
        scorecard = Scorecard.from_dict(doc["scorecard"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelArtefactError(f"{target}: invalid scorecard: {exc}") from exc
    return scorecard, doc
