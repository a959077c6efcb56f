"""Policy YAML: the shipped files load, and bad policies are refused with clear errors."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_decide_support import BASELINE, TIGHTENED

from clearline.core.policy import PolicyError, load_policy, parse_policy
from clearline.core.policy.fields import FEATURE_KINDS


def baseline_data() -> dict[str, Any]:
    return yaml.safe_load(BASELINE.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def test_the_shipped_policies_load_with_a_name_release_and_hash_version() -> None:
    base, tight = load_policy(BASELINE), load_policy(TIGHTENED)
    assert re.fullmatch(r"baseline@1\.0\+[0-9a-f]{8}", base.version)
    assert re.fullmatch(r"tightened@1\.0\+[0-9a-f]{8}", tight.version)
    assert base.macro is None and tight.macro is not None
    assert tight.macro.stress_index == pytest.approx(1.3)


def test_the_tightened_policy_keeps_every_baseline_rule_and_the_matrix() -> None:
    base, tight = load_policy(BASELINE), load_policy(TIGHTENED)
    assert tight.all_rules == base.all_rules
    assert tight.grade_actions == base.grade_actions
    assert tight.grades == base.grades and tight.household_cap == base.household_cap


def test_rules_are_tried_knockouts_first_in_file_order() -> None:
    ids = [r.id for r in load_policy(BASELINE).all_rules]
    assert ids == ["KO_DPD_90", "KO_DPD_30", "EVT_TRANSFER_BURST", "R_MULTI_LENDING"]


def test_the_version_hash_follows_content_not_formatting(tmp_path: Path) -> None:
    data = baseline_data()
    same = load_policy(write(tmp_path, data))
    assert same.version == load_policy(BASELINE).version  # comments and layout differ
    data["rules"][1]["when"][0]["value"] = 5
    assert load_policy(write(tmp_path, data)).version != same.version


def test_a_numeric_release_label_is_read_as_text() -> None:
    data = baseline_data()
    data["version"] = 2
    assert parse_policy(data).version.startswith("baseline@2+")


def _refused(data: dict[str, Any], tmp_path: Path) -> str:
    path = write(tmp_path, data)
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    msg = str(err.value)
    assert str(path) in msg  # the file is always named
    return msg


def test_an_unknown_reason_code_is_refused_naming_the_code_and_field(tmp_path: Path) -> None:
    data = baseline_data()
    data["rules"][0]["reason"] = "IND_NO_SUCH_CODE"
    msg = _refused(data, tmp_path)
    assert "IND_NO_SUCH_CODE" in msg and "rules[0]" in msg


def test_an_unknown_reason_code_in_the_matrix_is_refused(tmp_path: Path) -> None:
    data = baseline_data()
    data["grade_actions"]["D"][0]["reason"] = "BOGUS"
    msg = _refused(data, tmp_path)
    assert "BOGUS" in msg and "grade_actions.D[0].reason" in msg


def test_an_unknown_feature_is_refused_naming_it(tmp_path: Path) -> None:
    data = baseline_data()
    data["knockouts"][0]["when"][0]["feature"] = "dpd_nw"
    msg = _refused(data, tmp_path)
    assert "dpd_nw" in msg and "knockouts[0].when[0]" in msg


@pytest.mark.parametrize("op", ["=>", "=", "in", "eval", ""])
def test_a_bad_operator_is_refused(tmp_path: Path, op: str) -> None:
    data = baseline_data()
    data["knockouts"][1]["when"][0]["op"] = op
    msg = _refused(data, tmp_path)
    assert "knockouts[1].when[0].op" in msg


@pytest.mark.parametrize("field", ["name", "lgd", "grades", "grade_actions", "line"])
def test_a_missing_required_field_is_refused_naming_it(tmp_path: Path, field: str) -> None:
    data = baseline_data()
    del data[field]
    msg = _refused(data, tmp_path)
    assert f"{field}: Field required" in msg


def test_a_rule_without_a_reason_is_refused(tmp_path: Path) -> None:
    data = baseline_data()
    del data["rules"][1]["reason"]
    assert "rules[1].reason: Field required" in _refused(data, tmp_path)


def test_a_misspelt_key_is_refused_rather_than_ignored(tmp_path: Path) -> None:
    data = baseline_data()
    data["rules"][1]["limit_factr"] = 0.5
    assert "limit_factr" in _refused(data, tmp_path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["rules"][1].pop("limit_factor"), "needs 0 < limit_factor < 1"),
        (lambda d: d["rules"][1].update(limit_factor=1.5), "needs 0 < limit_factor < 1"),
        (lambda d: d["grade_actions"]["A"][0].update(limit_factor=0.9), "limit_factor > 1"),
        (lambda d: d["knockouts"][0].update(limit_factor=0.5), "takes no limit_factor"),
        (lambda d: d["grade_actions"]["E"][0].pop("reason"), "needs a reason code"),
        (lambda d: d["grade_actions"].pop("C"), "needs exactly the grades"),
        (lambda d: d["grades"][1].update(min_score=700), "strictly decrease"),
        (lambda d: d["grades"][1].update(grade="A"), "duplicate grade"),
        (lambda d: d["rules"][1].update(id="KO_DPD_90"), "duplicate rule ids"),
        (lambda d: d["rules"][0].update(layer="individual"), "has layer 'event'"),
        (lambda d: d["rules"][0].update(layer="cosmic"), "rules[0].layer"),
        (lambda d: d["rules"][0].update(action="explode"), "rules[0].action"),
        (lambda d: d["rules"][0].update(when=[]), "rules[0].when"),
        (lambda d: d["knockouts"][0]["when"][0].update(value="90"), "not a number"),
        (
            lambda d: d["knockouts"][0]["when"][0].update(feature="product", value="x"),
            "needs a numeric",
        ),
        (lambda d: d["grade_actions"]["A"][1].update(utilisation_below=0.9), "catch-all"),
        (lambda d: d.update(lgd=1.5), "lgd"),
        (lambda d: d["line"].update(min_limit=500000), "min_limit"),
        (lambda d: d["household_cap"].update(reason="IND_MULTI_LENDING"), "regulatory"),
        (
            lambda d: d.update(
                macro={
                    "stress_index": 1.2,
                    "reason": "MAC_STRESS_TIGHTENING",
                    "grades": {"Z": {"action": "keep"}},
                }
            ),
            "unknown grades",
        ),
        (
            lambda d: d.update(
                macro={
                    "stress_index": 1.2,
                    "reason": "MAC_STRESS_TIGHTENING",
                    "grades": {"A": {"action": "increase"}},
                }
            ),
            "macro.grades.A",
        ),
    ],
)
def test_inconsistent_policies_are_refused_with_the_reason(
    tmp_path: Path, mutate: Any, expected: str
) -> None:
    data = copy.deepcopy(baseline_data())
    mutate(data)
    assert expected in _refused(data, tmp_path)


def test_string_and_boolean_features_take_equality_conditions() -> None:
    data = baseline_data()
    data["rules"].append(
        {
            "id": "R_STUDENTS",
            "when": [
                {"feature": "employment", "op": "==", "value": "student"},
                {"feature": "income_verified", "op": "!=", "value": True},
            ],
            "action": "freeze",
            "reason": "IND_INCOME_VERIFIED",
        }
    )
    assert parse_policy(data).all_rules[-1].id == "R_STUDENTS"


def test_every_feature_column_is_known_to_policies_with_its_kind() -> None:
    features = pytest.importorskip("clearline.core.features")
    import polars as pl

    schema = features.FEATURE_SCHEMA
    for name, kind in FEATURE_KINDS.items():
        dtype = schema[name]
        expected = "bool" if dtype == pl.Boolean else "string" if dtype == pl.String else "number"
        assert kind == expected, name
    ids = {"account_id", "borrower_id", "household_id"}
    assert set(schema) - ids == set(FEATURE_KINDS)


def test_unreadable_and_malformed_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PolicyError, match="nope.yaml"):
        load_policy(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="bad.yaml: not valid YAML"):
        load_policy(bad)
    bad.write_text("- just\n- a list\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="expected a mapping"):
        load_policy(bad)


@pytest.mark.parametrize("name", ["baseline", "tightened"])
def test_the_example_policies_shipped_in_policies_load(name: str) -> None:
    shipped = Path(__file__).resolve().parents[1] / "policies" / f"{name}.yaml"
    assert load_policy(shipped).version.startswith(f"{name}@")


def test_a_broken_expression_is_refused_naming_the_file_line_and_field(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[1] / "policies" / "baseline.yaml").read_text(
        encoding="utf-8"
    )
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "inquiries_30d >= 6" in line)
    lines[at] = lines[at].replace("inquiries_30d", "inquiries_3od")
    bad = tmp_path / "x.yaml"
    bad.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(bad)
    assert str(err.value) == (
        f"{bad} line {at + 1}, rules[1].when: column 1: unknown feature 'inquiries_3od' "
        "(did you mean 'inquiries_30d'?)"
    )


def test_the_expression_and_list_forms_of_a_condition_mean_the_same() -> None:
    data = baseline_data()
    as_text = copy.deepcopy(data)
    as_text["rules"][0]["when"] = "transfer_out_share_7d >= 0.8 and new_counterparties_30d >= 3"
    assert parse_policy(as_text).rules[0].expr == parse_policy(data).rules[0].expr


def test_a_policy_naming_an_unknown_reason_in_a_business_rule_does_not_load() -> None:
    data = baseline_data()
    data["business"] = [
        {"id": "BIZ_X", "when": "product == 'x'", "action": "no_increase", "reason": "BIZ_NOPE"}
    ]
    with pytest.raises(PolicyError, match=r"business\[0\]: unknown reason code 'BIZ_NOPE'"):
        parse_policy(data)


def test_a_policy_file_that_is_an_alias_bomb_is_refused_before_it_is_parsed(
    tmp_path: Path,
) -> None:
    from clearline.core.policy import load_policy

    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bomb.yaml"):
        load_policy(bomb)
