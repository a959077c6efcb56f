"""The reason-code catalogue (``reasons.yaml``): stable codes with borrower wording.

Every reason a decision carries is a code from this catalogue, so that the same
explanation reads the same in every report, in English and in Chinese, and an appeal can
refer to it by id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

import yaml

from clearline.core.schema import LAYERS

#: Code used when a scorecard names a feature the catalogue has no code for; a review
#: must not fail because a new model feature has no wording yet.
FALLBACK_FEATURE_CODE = "IND_SCORE_OTHER"
LANGS = ("en", "zh")
SOURCES = ("feature", "rule")


@dataclass(frozen=True)
class Reason:
    """One catalogue entry."""

    code: str
    layer: str
    source: Literal["feature", "rule"]
    feature: str | None
    en: str
    zh: str


class CatalogueError(ValueError):
    """The shipped catalogue is malformed (a packaging bug, not a user error)."""


def _parse(entries: object) -> dict[str, Reason]:
    if not isinstance(entries, list):
        raise CatalogueError("reasons.yaml: expected a list of entries")
    out: dict[str, Reason] = {}
    for i, e in enumerate(entries):
        where = f"reasons.yaml entry {i}"
        if not isinstance(e, dict):
            raise CatalogueError(f"{where}: expected a mapping")
        missing = {"code", "layer", "source", "en", "zh"} - e.keys()
        if missing:
            raise CatalogueError(f"{where}: missing {sorted(missing)}")
        code = str(e["code"])
        if code in out:
            raise CatalogueError(f"{where}: duplicate code {code}")
        if e["layer"] not in LAYERS:
            raise CatalogueError(f"{where} ({code}): layer {e['layer']!r} not in {LAYERS}")
        if e["source"] not in SOURCES:
            raise CatalogueError(f"{where} ({code}): source {e['source']!r} not in {SOURCES}")
        out[code] = Reason(
            code=code,
            layer=e["layer"],
            source=e["source"],
            feature=e.get("feature"),
            en=str(e["en"]),
            zh=str(e["zh"]),
        )
    return out


@cache
def _document() -> dict[str, object]:
    text = resources.files("clearline.core").joinpath("reasons.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
        raise CatalogueError("reasons.yaml: expected a mapping with a version string")
    return doc


@cache
def catalogue() -> dict[str, Reason]:
    """All reason codes, by code (read once from the packaged ``reasons.yaml``)."""
    return _parse(_document().get("reasons"))


def catalogue_version() -> str:
    """The catalogue's version (recorded in every decision's trace)."""
    return str(_document()["version"])


@cache
def feature_codes() -> dict[str, str]:
    """Feature name -> reason code, for every feature the catalogue explains."""
    return {r.feature: r.code for r in catalogue().values() if r.feature is not None}


def reason_for_feature(feature: str) -> str:
    """The reason code explaining a scorecard feature.

    Raises
    ------
    KeyError
        When the catalogue has no code for ``feature`` (``decide`` falls back to
        ``IND_SCORE_OTHER`` instead, see :data:`FALLBACK_FEATURE_CODE`).
    """
    try:
        return feature_codes()[feature]
    except KeyError:
        raise KeyError(f"no reason code for feature {feature!r} in reasons.yaml") from None


def wording(code: str, lang: str = "en") -> str:
    """Borrower wording of ``code`` in ``lang`` (``en`` or ``zh``)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; expected one of {LANGS}")
    try:
        reason = catalogue()[code]
    except KeyError:
        raise KeyError(f"unknown reason code {code!r} (not in reasons.yaml)") from None
    return reason.en if lang == "en" else reason.zh
