"""The reason-code catalogue: complete, bilingual and consistent with the policies."""

from __future__ import annotations

import re

import pytest
from test_decide_support import BASELINE, TIGHTENED

from clearline.core.policy import load_policy
from clearline.core.policy.fields import FEATURE_KINDS
from clearline.core.reasons import catalogue, reason_for_feature, wording
from clearline.core.schema import LAYERS

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_code_has_a_valid_layer_source_and_both_wordings() -> None:
    for code, r in catalogue().items():
        assert re.fullmatch(r"(IND|EVT|MAC|REG|BIZ)_[A-Z0-9_]+", code)
        assert r.layer in LAYERS and r.source in ("feature", "rule")
        assert r.en.strip() and r.zh.strip()
        assert CJK.search(r.zh), f"{code}: zh wording has no Chinese characters"
        assert not CJK.search(r.en), f"{code}: en wording has Chinese characters"


def test_the_code_prefix_matches_its_layer() -> None:
    prefix = {"IND": "individual", "EVT": "event", "MAC": "macro", "REG": "regulatory"}
    prefix["BIZ"] = "business"
    for code, r in catalogue().items():
        assert prefix[code.split("_")[0]] == r.layer, code


def test_every_feature_a_scorecard_can_use_has_its_own_code() -> None:
    codes = [reason_for_feature(f) for f in FEATURE_KINDS]
    assert len(set(codes)) == len(codes)  # no two features share wording
    assert reason_for_feature("dpd_worst") == "IND_DPD_WORST"
    assert reason_for_feature("utilisation") == "IND_UTILISATION"
    for f, code in zip(FEATURE_KINDS, codes, strict=True):
        assert catalogue()[code].source == "feature" and catalogue()[code].feature == f


def test_an_unknown_feature_has_no_code() -> None:
    with pytest.raises(KeyError, match="no_such_feature"):
        reason_for_feature("no_such_feature")


def test_wording_is_given_in_english_and_chinese() -> None:
    assert "90" in wording("IND_DPD_90_CLOSE", "en")
    assert wording("IND_DPD_90_CLOSE", "zh") == "您的账户已逾期90天或以上。"
    assert wording("REG_HOUSEHOLD_CAP") == wording("REG_HOUSEHOLD_CAP", "en")


def test_wording_refuses_unknown_codes_and_languages() -> None:
    with pytest.raises(KeyError, match="NOPE"):
        wording("NOPE", "en")
    with pytest.raises(ValueError, match="fr"):
        wording("IND_DPD_NOW", "fr")


def test_every_code_the_shipped_policies_use_is_in_the_catalogue_on_its_layer() -> None:
    for path in (BASELINE, TIGHTENED):
        p = load_policy(path)
        for rule in p.all_rules:
            assert catalogue()[rule.reason].layer == rule.layer
        assert p.household_cap is not None
        assert catalogue()[p.household_cap.reason].layer == "regulatory"
    tight = load_policy(TIGHTENED)
    assert tight.macro is not None and catalogue()[tight.macro.reason].layer == "macro"
