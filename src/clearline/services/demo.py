"""Use case: the main job end to end on the embedded SQLite default."""

from __future__ import annotations

import time
from datetime import date, datetime
from pathlib import Path

import polars as pl
from rich.console import Console

from clearline.core.features import build_features
from clearline.core.policy import load_policy
from clearline.core.whatif import summarize_review, whatif
from clearline.report.demo import write_demo_report
from clearline.services.data import default_as_of
from clearline.services.review import review_decisions, write_table
from clearline.services.simulate import simulate_to_folder
from clearline.services.train import train
from clearline.store import db as store


def shipped_policy(name: str) -> Path:
    """The example policies live in the repository's `policies/` folder."""
    for root in (Path(__file__).resolve().parents[3], Path.cwd()):
        candidate = root / "policies" / f"{name}.yaml"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"shipped policy policies/{name}.yaml not found")


def reset_sqlite(url: str) -> None:
    """The demo owns its SQLite file: start from an empty one so reruns are identical."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def run_demo(
    workdir: Path,
    *,
    borrowers: int,
    months: int,
    seed: int,
    db: str,
    now: datetime,
    progress: Console,
) -> dict:
    started = time.perf_counter()
    demo_dir = workdir / "clearline-demo"
    portfolio_dir = demo_dir / "portfolio"
    report_path = workdir / "clearline-report" / "index.html"
    timings: dict[str, float] = {}

    def step(name: str) -> None:
        timings[name] = round(time.perf_counter() - started - sum(timings.values()), 2)
        progress.print(f"[green]✓[/] {name} ({timings[name]} s)", highlight=False)

    counts = simulate_to_folder(
        portfolio_dir, borrowers=borrowers, months=months, seed=seed, force=True
    )
    step(f"simulated {counts['borrowers']:,} borrowers, {counts['events']:,} events")

    from clearline.store.files import read_portfolio

    reset_sqlite(db)
    store.upgrade(db)
    with progress.status("validating and loading into the database"):
        store.ingest(read_portfolio(portfolio_dir, today=now.date()), db, source="demo")
    step(f"ingested into {db}")
    portfolio = store.load_portfolio(db)
    step("read the portfolio back from the database")

    as_of: date = default_as_of(portfolio)
    with progress.status("training the scorecard"):
        trained = train(portfolio, as_of, demo_dir / "model", created_at=now, seed=seed)
    version = trained.artefact["model_version"]
    step(f"trained {version} (held-out AUC {trained.artefact['meta']['metrics']['auc']})")

    baseline = load_policy(shipped_policy("baseline"))
    tightened = load_policy(shipped_policy("tightened"))
    with progress.status("reviewing every account"):
        features = build_features(portfolio, as_of)
        before = review_decisions(
            portfolio, as_of, trained.scorecard, version, baseline, features=features
        )
        write_table(before, demo_dir / "review.parquet")
    step(f"reviewed {before.height:,} accounts under {baseline.version}")

    with progress.status("what-if under the tightened policy"):
        after = review_decisions(
            portfolio, as_of, trained.scorecard, version, tightened, features=features
        )
        diff, compared = whatif(before, after)
        write_table(diff, demo_dir / "whatif.parquet")
    step(f"what-if under {tightened.version}")

    truth = pl.read_csv(portfolio_dir / "truth.csv")
    review = summarize_review(before)
    write_demo_report(
        report_path,
        trained=trained,
        review=before,
        review_summary=review,
        diff=diff,
        whatif_summary=compared,
        truth=truth,
        counts=counts,
        as_of=as_of,
        timings=timings,
    )
    step("wrote the report")
    return {
        "report": str(report_path),
        "accounts": before.height,
        "auc": trained.artefact["meta"]["metrics"]["auc"],
        "adverse": compared["adverse"],
        "adverse_good_standing": compared["adverse_good_standing"],
        "model_version": version,
        "as_of": as_of.isoformat(),
        "review": review,
        "whatif": compared,
        "seconds": round(time.perf_counter() - started, 1),
    }
