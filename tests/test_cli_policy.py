"""`clearline policy ...`: validate, publish, list, show, diff and verify."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from test_decide_support import BASELINE, TIGHTENED
from typer.testing import CliRunner

from clearline.cli_policy import policy_app
from clearline.core.policy import load_policy

# The sub-app mounted as `clearline` mounts it, so these tests do not depend on cli.py.
app = typer.Typer()
app.add_typer(policy_app, name="policy")
runner = CliRunner()


def run(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, dict | None, str]:
    argv = ["policy", *map(str, args)]
    result = runner.invoke(app, argv, env=env)
    payload = json.loads(result.stdout) if "--json" in argv and result.stdout.strip() else None
    return result.exit_code, payload, result.stderr


def edited(tmp_path: Path, old: str, new: str, name: str = "draft.yaml") -> Path:
    text = BASELINE.read_text(encoding="utf-8")
    assert old in text, old
    out = tmp_path / name
    out.write_text(text.replace(old, new), encoding="utf-8")
    return out


def test_validate_reports_the_version_and_what_the_policy_holds() -> None:
    code, payload, _ = run("validate", BASELINE, "--json")
    policy = load_policy(BASELINE)
    assert code == 0 and payload is not None
    assert payload["valid"] and payload["version"] == policy.version
    # The fixture: 2 knock-outs, 2 rules, grades A-E, matrix 2+2+1+1+1 cells.
    assert (payload["knockouts"], payload["rules"], payload["grades"]) == (2, 2, 5)
    assert payload["matrix_cells"] == 7


def test_validate_refuses_a_broken_rule_and_names_its_field(tmp_path: Path) -> None:
    bad = edited(tmp_path, "value: 6}", 'value: "six"}')
    code, _, err = run("validate", bad)
    assert code == 2
    assert "rules[1].when[0]" in err and "inquiries_30d" in err


def test_validate_json_lists_every_problem(tmp_path: Path) -> None:
    text = edited(tmp_path, "value: 6}", 'value: "six"}').read_text()
    two = tmp_path / "two.yaml"
    two.write_text(text.replace("lgd: 0.45", "lgd: 2"))
    code, payload, _ = run("validate", two, "--json")
    assert code == 2 and payload is not None and not payload["valid"]
    assert len(payload["errors"]) == 2 and any("lgd" in e for e in payload["errors"])


def test_validate_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    code, _, err = run("validate", tmp_path / "nope.yaml")
    assert code == 2 and "nope.yaml" in err


def test_publish_then_list_shows_the_current_policy(tmp_path: Path) -> None:
    store = tmp_path / "store"
    code, payload, _ = run("publish", BASELINE, "--by", "ana", "--store", store, "--json")
    assert code == 0 and payload is not None and payload["published"]
    bumped = edited(tmp_path, 'version: "1.0"', 'version: "1.1"')
    run("publish", bumped, "--by", "bo", "--note", "retune", "--store", store)
    code, listing, _ = run("list", "--json", env={"CLEARLINE_POLICIES": str(store)})
    assert code == 0 and listing is not None
    rows = [(r["version"], r["by"], r["current"]) for r in listing["policies"]]
    assert rows == [
        (load_policy(BASELINE).version, "ana", False),
        (load_policy(bumped).version, "bo", True),
    ]


def test_publishing_a_changed_release_fails_with_a_hint_to_bump(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run("publish", BASELINE, "--by", "ana", "--store", store)
    changed = edited(tmp_path, "limit_factor: 0.7\n", "limit_factor: 0.6\n")
    code, _, err = run("publish", changed, "--by", "ana", "--store", store)
    assert code == 2 and "already published with different content" in err and "bump" in err


def test_publish_without_by_is_refused(tmp_path: Path) -> None:
    code, _, err = run("publish", BASELINE, "--store", tmp_path)
    assert code == 2 and "--by" in err


def test_show_and_verify_a_published_policy(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run("publish", BASELINE, "--by", "ana", "--store", store)
    code, payload, _ = run("show", "baseline@1.0", "--store", store, "--json")
    assert code == 0 and payload is not None
    assert payload["version"] == load_policy(BASELINE).version
    assert Path(payload["file"]).read_bytes() == BASELINE.read_bytes()
    code, payload, _ = run("verify", "--store", store, "--json")
    assert code == 0 and payload == {"verified": 1, "store": str(store)}
    stored = Path(next((store / "baseline").glob("*.yaml")))
    stored.chmod(0o644)
    stored.write_text(stored.read_text() + "\n# edited\n")
    code, _, err = run("verify", "--store", store)
    assert code == 2 and "does not match" in err


def test_diff_shows_a_changed_rule_field_with_before_and_after(tmp_path: Path) -> None:
    changed = edited(tmp_path, "limit_factor: 0.7\n", "limit_factor: 0.6\n")
    code, payload, _ = run("diff", BASELINE, changed, "--json")
    assert code == 0 and payload is not None and not payload["identical"]
    assert payload["changes"] == [
        {
            "path": "rules[R_MULTI_LENDING].limit_factor",
            "kind": "changed",
            "before": 0.7,
            "after": 0.6,
        }
    ]
    assert payload["rules_changed"] == ["R_MULTI_LENDING"]
    assert "whatif" in payload["impact"]


def test_diff_matches_rules_by_id_so_an_insert_is_one_addition(tmp_path: Path) -> None:
    new_rule = (
        'rules:\n  - id: R_NEW\n    when: [{feature: inquiries_30d, op: ">=", value: 9}]\n'
        "    action: freeze\n    reason: IND_MULTI_LENDING\n"
    )
    changed = edited(tmp_path, "rules:\n", new_rule)
    code, payload, _ = run("diff", BASELINE, changed, "--json")
    assert code == 0 and payload is not None
    assert payload["rules_added"] == ["R_NEW"] and payload["rules_changed"] == []
    assert [c["path"] for c in payload["changes"]] == ["rules[R_NEW]"]


def test_diff_reports_matrix_cells_grades_and_overlays(tmp_path: Path) -> None:
    code, payload, _ = run("diff", BASELINE, TIGHTENED, "--json")
    assert code == 0 and payload is not None
    paths = {c["path"] for c in payload["changes"]}
    assert "macro" in paths  # the tightened fixture adds the macro overlay
    cell = edited(tmp_path, "limit_factor: 1.3", "limit_factor: 1.25")
    grade = edited(tmp_path, "min_score: 640}", "min_score: 650}", "g.yaml")
    _, p1, _ = run("diff", BASELINE, cell, "--json")
    _, p2, _ = run("diff", BASELINE, grade, "--json")
    assert p1 is not None and p2 is not None
    assert [c["path"] for c in p1["changes"]] == ["grade_actions.A[<0.5].limit_factor"]
    assert p2["changes"][0]["path"] == "grades[A].min_score"
    assert (p2["changes"][0]["before"], p2["changes"][0]["after"]) == (640, 650)


def test_diff_accepts_published_versions(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run("publish", BASELINE, "--by", "ana", "--store", store)
    code, payload, _ = run("diff", "baseline@1.0", BASELINE, "--store", store, "--json")
    assert code == 0 and payload is not None and payload["identical"]
    code, _, err = run("diff", "baseline@7", BASELINE, "--store", store)
    assert code == 2 and "not published" in err
