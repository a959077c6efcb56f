"""Engines: how the pure core is mapped over a portfolio.

``local`` runs the core once over the whole portfolio in this process; ``spark`` splits
the portfolio into batches of whole households and maps the same core functions over
them on a Spark cluster (or ``local[N]``). Both give the same decisions, row for row.

The engine modules are imported on use: the local engine needs nothing beyond polars,
and importing this package never starts (or requires) Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from clearline.core.policy import Policy
    from clearline.core.portfolio import Portfolio
    from clearline.core.scoring.scorecard import Scorecard

__all__ = ["ENGINES", "check_engine", "decide_portfolio"]

ENGINES: tuple[str, ...] = ("local", "spark")


def check_engine(engine: str) -> str:
    """Return ``engine`` if it names a known engine; raise ``ValueError`` otherwise."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of: {', '.join(ENGINES)}")
    return engine


def decide_portfolio(
    portfolio: Portfolio,
    as_of: date,
    model: Scorecard,
    model_version: str,
    policies: Sequence[Policy],
    *,
    engine: str = "local",
    partitions: int | None = None,
    stress_index: float | None = None,
) -> list[pl.DataFrame]:
    """Decide every account under each policy with the chosen engine.

    Parameters
    ----------
    portfolio, as_of, model, model_version
        As for ``services.review.review_decisions``.
    policies
        One decision table is returned per policy, in this order.
    engine
        ``"local"`` or ``"spark"``. Spark uses the active ``SparkSession`` if there is
        one, else starts ``local[2]`` (see :func:`clearline.engines.spark.spark_session`).
    partitions
        Spark only: number of household batches (default: twice the session's default
        parallelism). Ignored by the local engine.
    stress_index
        Observed macro stress for the macro overlay (``decide``'s ``stress_index``):
        None applies the overlay as the policy writes it.

    Returns
    -------
    list[pl.DataFrame]
        Per policy, the decision table of ``core.decide.decide`` (contract columns, then
        ``outstanding, exposure, expected_loss, trace``), sorted by ``account_id``. The
        engines give equal tables.

    Raises
    ------
    ValueError
        Unknown engine, or ``partitions`` below 1.
    """
    check_engine(engine)
    if partitions is not None and (isinstance(partitions, bool) or partitions < 1):
        raise ValueError(f"partitions must be a positive integer, got {partitions!r}")
    if engine == "local":
        from clearline.engines.local import decide_local

        return decide_local(
            portfolio, as_of, model, model_version, policies, stress_index=stress_index
        )
    from clearline.engines.spark import decide_spark

    return decide_spark(
        portfolio,
        as_of,
        model,
        model_version,
        policies,
        partitions=partitions,
        stress_index=stress_index,
    )
