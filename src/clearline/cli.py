"""The `clearline` command line: thin; parse, call one use case, print.

Every reporting command takes `--json` and then prints exactly one JSON object on
stdout. Progress goes to stderr. Failures exit non-zero with a one-line reason.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from clearline.cli_models import RegistryOpt, models_app
from clearline.cli_policy import StoreOpt, policy_app
from clearline.cli_service import audit_app, keys_app
from clearline.cli_support import (
    DEFAULT_DB,
    DEFAULT_REGISTRY,
    AsOfOpt,
    DataOpt,
    EngineOpt,
    JsonOpt,
    emit,
    err,
    guarded,
    parse_date,
    show,
)
from clearline.store.policies import DEFAULT_STORE

StressOpt = Annotated[
    str | None,
    typer.Option(
        "--stress",
        help="Macro stress for the overlay: a number, or 'auto' for the portfolio's "
        "macro table at the as-of month (default: the policy's overlay as written).",
    ),
]
ModelOpt = Annotated[
    str, typer.Option("--model", help="Model folder from `train`, or a registered version.")
]

app = typer.Typer(
    name="clearline",
    help="An explainable credit-line risk engine.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")
app.add_typer(policy_app, name="policy")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")


@app.command()
@guarded
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the portfolio into.")],
    borrowers: Annotated[int, typer.Option("--borrowers", min=1)] = 20_000,
    months: Annotated[int, typer.Option("--months", min=1, max=120)] = 24,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv")] = "parquet",
    shares: Annotated[
        str | None,
        typer.Option(
            "--shares", help="Behaviour type shares, e.g. steady=0.7,innocent=0.12,misuser=0.03"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty folder.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic portfolio (and its ground truth, truth.csv) in the contract format."""
    from clearline.services.simulate import parse_shares, simulate_to_folder

    counts = simulate_to_folder(
        out,
        borrowers=borrowers,
        months=months,
        seed=seed,
        fmt=fmt,
        shares=parse_shares(shares),
        force=force,
        progress=err,
    )
    emit(counts, as_json, lambda: show({**counts, "written to": str(out)}))


@app.command()
@guarded
def ingest(
    data: Annotated[str, typer.Argument(help="Portfolio folder (CSV or Parquet tables).")],
    db: Annotated[str, typer.Option("--db", help="Database URL.")] = DEFAULT_DB,
    as_json: JsonOpt = False,
) -> None:
    """Validate a portfolio folder and load it into the database, all or nothing."""
    from clearline.store.db import ingest as ingest_portfolio
    from clearline.store.db import known_in, upgrade
    from clearline.store.files import read_portfolio

    path = Path(data)
    with err.status(f"validating {path}"):
        # Rows may refer to borrowers and accounts loaded before (a day's new events).
        portfolio = read_portfolio(path, today=datetime.now(UTC).date(), known=known_in(db))
    with err.status(f"loading into {db}"):
        upgrade(db)
        added = ingest_portfolio(portfolio, db, source=str(path))
    emit(added, as_json, lambda: show({**added, "database": db}))


@app.command()
@guarded
def train(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    as_of: AsOfOpt = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    registry: RegistryOpt = Path(DEFAULT_REGISTRY),
    as_json: JsonOpt = False,
) -> None:
    """Train and validate the scorecard; write a versioned artefact and its report."""
    from clearline.report.model import write_model_report
    from clearline.services.data import default_as_of, load_data
    from clearline.services.train import summary
    from clearline.services.train import train as train_model
    from clearline.store.registry import Registry

    with err.status("loading portfolio"):
        portfolio = load_data(data)
    day = parse_date(as_of) or default_as_of(portfolio)
    with err.status("training"):
        result = train_model(portfolio, day, out, created_at=datetime.now(UTC), seed=seed)
        write_model_report(result.report_input, out / "report.html")
    models = Registry(registry)
    models.register(out, at=datetime.now(UTC))
    if result.challenger_artefact is not None:
        models.register(out / "challenger", at=datetime.now(UTC))
    payload = summary(result)
    emit(payload, as_json, lambda: show({**payload, "model": str(out / "model.json")}))


def _policy(ref: str, store: Path):  # noqa: ANN202
    """A policy file, or a published policy (`name`, `name@release`, full version)."""
    from clearline.core.policy import load_policy
    from clearline.store.policies import PolicyStore

    if Path(ref).exists() or ref.endswith((".yaml", ".yml")):
        return load_policy(Path(ref))
    return PolicyStore(store).load(ref)


def _stress(value: str | None, portfolio, day):  # noqa: ANN001, ANN202
    """--stress: None (overlay as written), 'auto' (the macro table), or a number."""
    if value is None:
        return None
    if value == "auto":
        from clearline.core.policy.overlays import stress_for

        found = stress_for(portfolio.macro, day)
        if found is None:
            raise ValueError(f"--stress auto: the portfolio has no macro row for {day:%Y-%m}")
        return found
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"--stress must be a number or 'auto', got {value!r}") from None
    if not number > 0:
        raise ValueError(f"--stress must be positive, got {value}")
    return number


def _prepare(data: str, as_of: str | None, model: str, engine: str, registry: Path):  # noqa: ANN202
    from clearline.core.scoring.artefact import load_model
    from clearline.engines import check_engine
    from clearline.services.data import default_as_of, load_data
    from clearline.store.registry import Registry

    check_engine(engine)
    models = Registry(registry)
    # --model takes a folder, or a version from the registry.
    folder = Path(model) if Path(model).exists() or models.state(model) is None else None
    scorer, artefact = load_model(folder or models.model_dir(model))
    if models.state(artefact["model_version"]) == "retired":
        raise ValueError(f"model {artefact['model_version']} is retired; use an approved model")
    with err.status("loading portfolio"):
        portfolio = load_data(data)
    day = parse_date(as_of) or default_as_of(portfolio)
    opened = portfolio.accounts.get_column("opened_at").dt.date() <= day
    if not opened.any():
        raise ValueError(f"no account was open on {day}; nothing to decide")
    return portfolio, day, scorer, artefact


@app.command()
@guarded
def review(
    data: DataOpt,
    model: ModelOpt,
    policy: Annotated[str, typer.Option("--policy", help="Policy YAML, or a published ref.")],
    out: Annotated[Path, typer.Option("--out", help="Decision file (.parquet or .csv).")],
    as_of: AsOfOpt = None,
    engine: EngineOpt = "local",
    registry: RegistryOpt = Path(DEFAULT_REGISTRY),
    policies_store: StoreOpt = Path(DEFAULT_STORE),
    challenger: Annotated[
        str | None,
        typer.Option("--challenger", help="Challenger policy for a share of households."),
    ] = None,
    stress: StressOpt = None,
    experiment: Annotated[str, typer.Option("--experiment", help="Experiment name.")] = "",
    share: Annotated[float, typer.Option("--share", help="Challenger share (0..1).")] = 0.1,
    as_json: JsonOpt = False,
) -> None:
    """Decide every account: keep, increase, decrease, freeze or close, with reasons.

    With --challenger, a deterministic share of households (by a stable hash of the
    experiment name and the household) gets the challenger policy; the decision file
    records each account's `arm` and the `experiment`."""
    import polars as pl

    from clearline.core.whatif import summarize_review
    from clearline.engines import decide_portfolio
    from clearline.services.review import split_by_arm, write_table

    pols = [_policy(policy, policies_store)]
    if challenger is not None:
        if not experiment.strip():
            raise ValueError("--challenger needs an --experiment name (it seeds the split)")
        pols.append(_policy(challenger, policies_store))
    portfolio, day, scorer, artefact = _prepare(data, as_of, model, engine, registry)
    with err.status(f"deciding ({engine} engine)"):
        tables = decide_portfolio(
            portfolio,
            day,
            scorer,
            artefact["model_version"],
            pols,
            engine=engine,
            stress_index=_stress(stress, portfolio, day),
        )
        decisions = tables[0]
        if challenger is not None:
            decisions = split_by_arm(
                portfolio, tables[0], tables[1], experiment=experiment, share=share
            )
        write_table(decisions, out)
    payload = summarize_review(decisions)
    if challenger is not None:
        payload["arms"] = {
            arm: summarize_review(decisions.filter(pl.col("arm") == arm))
            for arm in ("champion", "challenger")
        }
    emit(payload, as_json, lambda: show({**payload, "decisions": str(out)}))


@app.command()
@guarded
def whatif(
    data: DataOpt,
    model: ModelOpt,
    baseline: Annotated[str, typer.Option("--baseline", help="Current policy (file or ref).")],
    candidate: Annotated[str, typer.Option("--candidate", help="Proposed policy (file or ref).")],
    out: Annotated[Path, typer.Option("--out", help="What-if file (.parquet or .csv).")],
    as_of: AsOfOpt = None,
    engine: EngineOpt = "local",
    registry: RegistryOpt = Path(DEFAULT_REGISTRY),
    policies_store: StoreOpt = Path(DEFAULT_STORE),
    stress: StressOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare two policies account by account before anything is applied."""
    from clearline.core.whatif import whatif as compare
    from clearline.engines import decide_portfolio
    from clearline.services.review import write_table

    policies = [_policy(baseline, policies_store), _policy(candidate, policies_store)]
    portfolio, day, scorer, artefact = _prepare(data, as_of, model, engine, registry)
    with err.status(f"deciding under both policies ({engine} engine)"):
        before, after = decide_portfolio(
            portfolio,
            day,
            scorer,
            artefact["model_version"],
            policies,
            engine=engine,
            stress_index=_stress(stress, portfolio, day),
        )
        diff, payload = compare(before, after)
        write_table(diff, out)
    emit(payload, as_json, lambda: show({**payload, "what-if": str(out)}))


@app.command()
@guarded
def demo(
    borrowers: Annotated[int, typer.Option("--borrowers", min=100)] = 20_000,
    months: Annotated[int, typer.Option("--months", min=15, max=120)] = 24,
    seed: Annotated[int, typer.Option("--seed")] = 7,
    db: Annotated[str, typer.Option("--db", help="Database URL (replaced if SQLite).")] = (
        DEFAULT_DB
    ),
    as_json: JsonOpt = False,
) -> None:
    """The main job: simulate, load, train, review, what-if, and write an HTML report."""
    from clearline.services.demo import run_demo

    payload = run_demo(
        Path.cwd(),
        borrowers=borrowers,
        months=months,
        seed=seed,
        db=db,
        now=datetime.now(UTC),
        progress=err,
    )
    emit(payload, as_json, lambda: _demo_summary(payload))


@app.command()
@guarded
def serve(
    db: Annotated[str, typer.Option("--db", envvar="CLEARLINE_DB", help="Database URL.")] = (
        DEFAULT_DB
    ),
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            envvar="CLEARLINE_THREADS",
            min=1,
            max=256,
            help="Threads per worker for the routes that block on the database.",
        ),
    ] = 4,
    registry: RegistryOpt = Path(DEFAULT_REGISTRY),
    policies_store: StoreOpt = Path(DEFAULT_STORE),
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model folder or version (default: newest approved)."),
    ] = None,
    policy: Annotated[
        str, typer.Option("--policy", help="Policy file or published ref.")
    ] = "baseline",
    stress: Annotated[
        float | None, typer.Option("--stress", help="Macro stress index for the overlay.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Day reviews default to (default: today, UTC)."),
    ] = None,
) -> None:
    """REST API (OpenAPI at /openapi.json); keys come from `clearline keys create`."""
    import os

    import uvicorn

    from clearline.api.workers import APP, supervise
    from clearline.store.db import upgrade

    upgrade(db)  # once, before the workers start, so they never race to migrate
    env = {
        "CLEARLINE_DB": db,
        "CLEARLINE_REGISTRY": str(registry),
        "CLEARLINE_POLICIES": str(policies_store),
        "CLEARLINE_MODEL": model or "",
        "CLEARLINE_POLICY": policy,
        "CLEARLINE_STRESS": "" if stress is None else str(stress),
        "CLEARLINE_AS_OF": str(parse_date(as_of) or ""),
        "CLEARLINE_THREADS": str(threads),
    }
    os.environ.update(env)
    options = {"log_level": "warning", "access_log": False}
    err.print(f"clearline API on http://{host}:{port}/v1 (OpenAPI: /openapi.json)")
    if workers == 1:
        uvicorn.run(APP, factory=True, host=host, port=port, **options)
    elif status := supervise(  # a listening socket per worker: see clearline/api/workers.py
        host, port, workers, options
    ):
        raise typer.Exit(status)


def _demo_summary(p: dict) -> None:
    review, whatif = p["review"], p["whatif"]
    acts = ", ".join(f"{k} {v:,}" for k, v in review["actions"].items())
    err.print(
        f"\n[bold]clearline demo[/] as of {p['as_of']}: {p['accounts']:,} accounts\n"
        f"  model {p['model_version']}: held-out AUC {p['auc']}\n"
        f"  baseline review: {acts}\n"
        f"    adverse {review['adverse']:,}, of which never missed a payment "
        f"{review['adverse_good_standing']:,}\n"
        f"  what-if tightened: {whatif['changed']:,} changed, {p['adverse']:,} to adverse, "
        f"[bold red]innocent harm {p['adverse_good_standing']:,}[/]\n"
        f"  report: [bold]{p['report']}[/]  ({p['seconds']} s)",
        highlight=False,
    )


def main(argv: list[str] | None = None) -> int:
    """Console entry: usage errors become one line (`error: ...`, exit 2), like every
    other failure, instead of a framed box."""
    try:
        rv = app(args=argv, prog_name="clearline", standalone_mode=False)
    except Exception as exc:
        # Typer ships its own copy of click; match its usage errors by shape, not import.
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            err.print(ctx.get_help(), highlight=False)
            return 2
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            err.print(
                f"[bold red]error:[/] {exc.format_message()}{hint}", highlight=False, soft_wrap=True
            )
            return int(exc.exit_code)  # type: ignore[attr-defined]
        raise
    return rv if isinstance(rv, int) else 0


def console() -> None:  # pragma: no cover - the installed `clearline` script
    raise SystemExit(main())
