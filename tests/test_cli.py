"""The command line as a user drives it: contract keys, bad input, other generators."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from clearline.cli import app
from tests.fixtures.other_generator import generate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "policies" / "baseline.yaml")
TIGHTENED = str(ROOT / "policies" / "tightened.yaml")
runner = CliRunner()


def run(*args: str) -> tuple[int, dict | None, str]:
    result = runner.invoke(app, list(args))
    payload = None
    if result.exit_code == 0 and "--json" in args:
        payload = json.loads(result.stdout)  # the whole of stdout is one JSON object
    return result.exit_code, payload, result.stderr


@pytest.fixture(scope="module")
def sim_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "portfolio"
    code, payload, err = run(
        "simulate",
        "--out",
        str(out),
        "--borrowers",
        "3000",
        "--months",
        "24",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    assert set(payload) >= {"borrowers", "accounts", "events"}
    assert payload["borrowers"] == 3000
    return out


@pytest.fixture(scope="module")
def model_dir(sim_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("model")
    registry = out.parent / "registry"
    code, payload, err = run(
        "train", "--data", str(sim_dir), "--out", str(out), "--registry", str(registry), "--json"
    )
    assert code == 0, err
    assert set(payload) >= {"model_version", "auc", "ks", "n_train", "n_test"}
    assert 0.5 < payload["auc"] <= 1.0
    assert (out / "model.json").is_file() and (out / "report.html").is_file()
    return out


@pytest.fixture(scope="module")
def other_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("other") / "portfolio")


def counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        got = {
            t: conn.execute(sa.text(f"select count(*) from {t}")).scalar_one()
            for t in ("borrowers", "accounts", "events")
        }
    engine.dispose()
    return got


def test_simulate_writes_the_truth_file_beside_the_tables(sim_dir: Path) -> None:
    truth = pl.read_csv(sim_dir / "truth.csv")
    assert truth.columns[:4] == ["borrower_id", "type", "hidden_risk", "defaulted"]
    assert truth.height == 3000


def test_a_portfolio_from_another_generator_loads_reviews_and_compares_cleanly(
    other_dir: Path, model_dir: Path, tmp_path: Path, db_url: str
) -> None:
    url = db_url
    code, loaded, err = run("ingest", str(other_dir), "--db", url, "--json")
    assert code == 0, err
    assert loaded["borrowers"] == 300 and loaded["events"] > 1000

    code, again, err = run("ingest", str(other_dir), "--db", url, "--json")
    assert code == 0, err
    assert again["events"] == 0, "re-loading the same events must add nothing"

    for data in (url, str(other_dir)):
        out = tmp_path / "review.csv"
        code, review, err = run(
            "review",
            "--data",
            data,
            "--model",
            str(model_dir),
            "--policy",
            BASELINE,
            "--out",
            str(out),
            "--as-of",
            "2024-11-30",
            "--json",
        )
        assert code == 0, err
        decisions = pl.read_csv(out)
        assert decisions.height == review["accounts"] == 300
        assert set(decisions.get_column("action").unique()) <= {
            "keep",
            "increase",
            "decrease",
            "freeze",
            "close",
        }
        assert sum(review["actions"].values()) == 300

    out = tmp_path / "whatif.parquet"
    code, summary, err = run(
        "whatif",
        "--data",
        url,
        "--model",
        str(model_dir),
        "--baseline",
        BASELINE,
        "--candidate",
        TIGHTENED,
        "--out",
        str(out),
        "--as-of",
        "2024-11-30",
        "--json",
    )
    assert code == 0, err
    diff = pl.read_parquet(out)
    innocent = diff.filter(
        pl.col("changed")
        & pl.col("action_candidate").is_in(["decrease", "freeze", "close"])
        & pl.col("good_standing")
    ).height
    assert summary["adverse_good_standing"] == innocent
    assert summary["changed"] == diff.get_column("changed").sum()


def test_a_malformed_copy_is_refused_and_leaves_the_database_unchanged(
    other_dir: Path, tmp_path: Path, db_url: str
) -> None:
    url = db_url
    assert run("ingest", str(other_dir), "--db", url)[0] == 0
    before = counts(url)

    bad = tmp_path / "bad"
    shutil.copytree(other_dir, bad)
    events = pl.read_csv(bad / "events.csv", infer_schema=False)
    events = events.with_columns(event_id=pl.col("event_id") + "-new")  # all would be new
    events = events.with_columns(
        amount=pl.when(pl.int_range(pl.len()) == 41).then(pl.lit("-5")).otherwise("amount")
    )
    events.write_csv(bad / "events.csv")

    code, _, err = run("ingest", str(bad), "--db", url, "--json")
    assert code != 0
    assert "events.csv" in err and "amount" in err and "42" in err
    assert counts(url) == before


def test_a_folder_of_a_days_events_loads_onto_the_accounts_loaded_before(
    other_dir: Path, tmp_path: Path, db_url: str
) -> None:
    url = db_url
    assert run("ingest", str(other_dir), "--db", url)[0] == 0
    before = counts(url)
    day = tmp_path / "day"
    day.mkdir()
    for name in ("borrowers", "accounts"):  # headers only: no snapshot rows today
        pl.read_csv(other_dir / f"{name}.csv", infer_schema=False).head(0).write_csv(
            day / f"{name}.csv"
        )
    events = pl.read_csv(other_dir / "events.csv", infer_schema=False).head(3)
    events.with_columns(event_id=pl.col("event_id") + "-day2").write_csv(day / "events.csv")

    code, added, err = run("ingest", str(day), "--db", url, "--json")
    assert code == 0, err
    assert added is not None and added["events"] == 3 and added["accounts"] == 0
    assert counts(url)["events"] == before["events"] + 3

    stray = events.with_columns(event_id=pl.col("event_id") + "-x", account_id=pl.lit("nobody"))
    stray.write_csv(day / "events.csv")
    code, _, err = run("ingest", str(day), "--db", url, "--json")
    assert code != 0
    assert "events.csv" in err and "account_id" in err and "nor already loaded" in err
    assert counts(url)["events"] == before["events"] + 3


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["ingest", "/nonexistent/folder"], "nonexistent"),
        (
            [
                "review",
                "--data",
                "{sim}",
                "--model",
                "{model}",
                "--policy",
                BASELINE,
                "--out",
                "{tmp}/d.csv",
                "--as-of",
                "1999-01-01",
            ],
            "no account was open",
        ),
        (["demo", "--borrowers", "10"], "borrowers"),
        (["demo", "--months", "6"], "months"),
        (["ingest", "{sim}", "--db", "nosuchdialect://x"], "database error"),
        (["train", "--data", "sqlite:///{tmp}/none.db", "--out", "{tmp}/m"], "not found"),
        (["train", "--data", "/nonexistent", "--out", "/tmp/x"], "nonexistent"),
        (["simulate", "--out", "{tmp}", "--borrowers", "0"], "borrowers"),
        (
            [
                "review",
                "--data",
                "{sim}",
                "--model",
                "{model}",
                "--policy",
                "/no/policy.yaml",
                "--out",
                "{tmp}/d.csv",
            ],
            "policy.yaml",
        ),
        (
            [
                "review",
                "--data",
                "{sim}",
                "--model",
                "{model}",
                "--policy",
                BASELINE,
                "--out",
                "{tmp}/d.txt",
            ],
            ".parquet or .csv",
        ),
        (
            [
                "review",
                "--data",
                "{sim}",
                "--model",
                "{model}",
                "--policy",
                BASELINE,
                "--out",
                "{tmp}/d.csv",
                "--as-of",
                "31/12/2025",
            ],
            "YYYY-MM-DD",
        ),
        (
            [
                "review",
                "--data",
                "{sim}",
                "--model",
                "{model}",
                "--policy",
                BASELINE,
                "--out",
                "{tmp}/d.csv",
                "--engine",
                "dask",
            ],
            "unknown engine",
        ),
        (
            [
                "whatif",
                "--data",
                "{sim}",
                "--model",
                "/no/model",
                "--baseline",
                BASELINE,
                "--candidate",
                TIGHTENED,
                "--out",
                "{tmp}/w.csv",
            ],
            "model",
        ),
    ],
)
def test_bad_input_exits_non_zero_with_a_reason_and_writes_nothing(
    args: list[str], fragment: str, sim_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    filled = [a.format(tmp=tmp_path / "out", sim=sim_dir, model=model_dir) for a in args]
    result = runner.invoke(app, filled)
    assert result.exit_code != 0
    assert fragment in (result.stderr + result.stdout)
    assert "Traceback" not in result.stderr
    written = list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else []
    assert written == []


def test_simulate_refuses_a_non_empty_folder_without_force(sim_dir: Path) -> None:
    code, _, err = run("simulate", "--out", str(sim_dir), "--borrowers", "10")
    assert code != 0 and "not empty" in err


def test_demo_prints_the_contract_keys_and_writes_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, payload, err = run("demo", "--borrowers", "2000", "--json")
    assert code == 0, err
    assert set(payload) >= {"report", "accounts", "auc", "adverse", "adverse_good_standing"}
    report = Path(payload["report"])
    assert report.is_file() and "innocent harm" in report.read_text(encoding="utf-8")
    assert (tmp_path / "clearline.db").is_file()
    diff = pl.read_parquet(tmp_path / "clearline-demo" / "whatif.parquet")
    assert (
        payload["adverse_good_standing"]
        == diff.filter(pl.col("adverse_change") & pl.col("good_standing")).height
    )


def test_a_trained_model_is_registered_and_a_retired_one_cannot_review(
    sim_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    registry = str(model_dir.parent / "registry")
    version = json.loads((model_dir / "model.json").read_text())["model_version"]
    code, listed, err = run("models", "list", "--registry", registry, "--json")
    assert code == 0, err
    assert {"model_version": version, "state": "draft"}.items() <= listed["models"][0].items()

    reg2 = str(tmp_path / "reg2")  # a private copy, so other tests keep a usable model
    assert run("models", "register", str(model_dir), "--registry", reg2)[0] == 0
    code, approved, err = run(
        "models", "approve", version, "--by", "alice", "--registry", reg2, "--json"
    )
    assert code == 0 and approved["state"] == "approved", err
    review = [
        "review",
        "--data",
        str(sim_dir),
        "--model",
        version,
        "--policy",
        BASELINE,
        "--registry",
        reg2,
        "--out",
        str(tmp_path / "d.parquet"),
        "--json",
    ]
    code, summary, err = run(*review)
    assert code == 0, err
    assert pl.read_parquet(tmp_path / "d.parquet").get_column(
        "model_version"
    ).unique().to_list() == [version]
    assert run("models", "retire", version, "--by", "bob", "--registry", reg2)[0] == 0
    code, _, err = run(*review)
    assert code != 0 and "retired" in err


def test_the_spark_engine_gives_the_local_engines_decisions_from_the_command_line(
    other_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    tables = {}
    for engine in ("local", "spark"):
        out = tmp_path / f"{engine}.parquet"
        code, _, err = run(
            "whatif",
            "--data",
            str(other_dir),
            "--model",
            str(model_dir),
            "--baseline",
            BASELINE,
            "--candidate",
            TIGHTENED,
            "--out",
            str(out),
            "--as-of",
            "2024-11-30",
            "--engine",
            engine,
            "--json",
        )
        assert code == 0, err
        tables[engine] = pl.read_parquet(out).sort("account_id")
    decided = [
        c
        for c in tables["local"].columns
        if c.startswith(("action", "new_limit", "reasons", "layer", "grade"))
    ]
    assert tables["local"].select(decided).equals(tables["spark"].select(decided))


def test_review_takes_a_published_policy_by_name(
    sim_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    store = str(tmp_path / "policies")
    code, published, err = run(
        "policy", "publish", BASELINE, "--by", "alice", "--store", store, "--json"
    )
    assert code == 0, err
    out = tmp_path / "d.parquet"
    code, _, err = run(
        "review",
        "--data",
        str(sim_dir),
        "--model",
        str(model_dir),
        "--policy",
        "baseline",
        "--store",
        store,
        "--out",
        str(out),
        "--json",
    )
    assert code == 0, err
    versions = pl.read_parquet(out).get_column("policy_version").unique().to_list()
    assert versions == [published["version"]]


@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--out", "x", "--borrowers", "0"],
        ["review", "--data", "somewhere"],
        ["--bogus"],
        ["nosuch"],
    ],
)
def test_usage_errors_are_one_line_with_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    from clearline.cli import main

    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = [ln for ln in captured.err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), captured.err
    assert captured.out == ""


def test_a_champion_challenger_review_gives_each_household_one_arms_decisions(
    sim_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    common = ["--data", str(sim_dir), "--model", str(model_dir), "--as-of", "2025-06-30"]
    outs = {}
    for name, extra in {
        "base": ["--policy", BASELINE],
        "tight": ["--policy", TIGHTENED],
        "exp": [
            "--policy",
            BASELINE,
            "--challenger",
            TIGHTENED,
            "--experiment",
            "e1",
            "--share",
            "0.5",
        ],
        "again": [
            "--policy",
            BASELINE,
            "--challenger",
            TIGHTENED,
            "--experiment",
            "e1",
            "--share",
            "0.5",
        ],
    }.items():
        outs[name] = tmp_path / f"{name}.parquet"
        code, summary, err = run("review", *common, *extra, "--out", str(outs[name]), "--json")
        assert code == 0, err
    exp = pl.read_parquet(outs["exp"])
    assert exp.equals(pl.read_parquet(outs["again"]))  # same arms on a re-run
    assert 0.4 < (exp["arm"] == "challenger").mean() < 0.6
    assert set(exp["experiment"]) == {"e1"}
    cols = ["account_id", "action", "new_limit", "reasons", "policy_version"]
    for arm, name in (("champion", "base"), ("challenger", "tight")):
        own = exp.filter(pl.col("arm") == arm).select(cols)
        ref = (
            pl.read_parquet(outs[name])
            .join(own.select("account_id"), on="account_id", how="semi")
            .select(cols)
        )
        assert own.sort("account_id").equals(ref.sort("account_id"))


def test_a_challenger_without_an_experiment_name_is_refused(
    sim_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    code, _, err = run(
        "review",
        "--data",
        str(sim_dir),
        "--model",
        str(model_dir),
        "--policy",
        BASELINE,
        "--challenger",
        TIGHTENED,
        "--out",
        str(tmp_path / "x.csv"),
    )
    assert code != 0 and "--experiment" in err and not (tmp_path / "x.csv").exists()


def test_the_macro_overlay_follows_the_stress_index_given_or_read_from_the_macro_table(
    sim_dir: Path, model_dir: Path, tmp_path: Path
) -> None:
    base = [
        "whatif",
        "--data",
        str(sim_dir),
        "--model",
        str(model_dir),
        "--baseline",
        BASELINE,
        "--candidate",
        TIGHTENED,
        "--out",
        str(tmp_path / "w.parquet"),
        "--json",
    ]
    as_written = run(*base)[1]
    calm = run(*base, "--stress", "1.0")[1]
    stressed = run(*base, "--stress", "2")[1]
    assert as_written["changed"] > 0 and calm["changed"] == 0
    assert stressed == as_written
    macro = pl.read_parquet(sim_dir / "macro.parquet")
    last = macro.sort("month")["stress_index"][-1]
    auto = run(*base, "--stress", "auto")[1]
    assert auto == (stressed if last >= 1.3 else calm)
    code, _, err = run(*base, "--stress", "high")
    assert code != 0 and "--stress" in err
