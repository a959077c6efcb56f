"""The Spark engine: the same core, mapped over batches of whole households.

Two passes over ``groupBy(bucket).applyInArrow``, bucket = ``pmod(xxhash64(household),
N)`` (Spark's xxhash64 is stable across runs, machines and versions):

1. each bucket's borrowers, accounts and events -> ``build_features`` (no links);
   the result is kept (persisted) and the borrowers late at the as-of date are
   collected: a small table, one id per late borrower;
2. each bucket's features plus every link touching its borrowers -> ``relink`` with the
   portfolio-wide late borrowers, score once, ``decide`` under every policy.

The model and policies travel to the workers as JSON text inside the task closure, never
as pickled objects. Spark is for portfolios beyond one machine: on one machine the local
engine is faster (see ``benchmarks/bench_engines.py``).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date

import polars as pl
import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from clearline.core.features import FEATURE_SCHEMA, build_features
from clearline.core.ledger import check_as_of
from clearline.core.policy import Policy
from clearline.core.portfolio import Portfolio, polars_schema
from clearline.core.scoring.scorecard import Scorecard
from clearline.engines import batch as B
from clearline.engines.spark_buckets import BUCKET, TABLES, bucketed, union

__all__ = ["decide_spark", "decide_spark_tables", "spark_session", "to_spark_tables"]


# polars dtype -> (Spark DDL type, Arrow type) for every dtype a batch hands back.
_TYPES: dict[type[pl.DataType], tuple[str, pa.DataType]] = {
    pl.String: ("string", pa.string()),
    pl.Float64: ("double", pa.float64()),
    pl.Int64: ("bigint", pa.int64()),
    pl.Int32: ("int", pa.int32()),
    pl.Boolean: ("boolean", pa.bool_()),
    pl.Date: ("date", pa.date32()),
}


def spark_session(master: str = "local[2]", *, shuffle_partitions: int = 4) -> SparkSession:
    """A Spark session for this engine (the active one if a session already runs).

    Workers run this interpreter (``PYSPARK_PYTHON`` unless set), so they import the
    same ``clearline``; the UI is off and the session time zone is UTC.
    """
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName("clearline")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")  # stderr stays readable
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
    )
    with _quiet():
        return builder.getOrCreate()


def to_spark_tables(spark: SparkSession, portfolio: Portfolio) -> dict[str, DataFrame]:
    """The portfolio's tables as Spark frames, each with its original row order in
    :data:`~clearline.engines.batch.ROW_COLUMN` (Arrow transfer: types kept exactly)."""
    out = {}
    for name in TABLES:
        frame = (
            getattr(portfolio, name)
            .with_row_index(B.ROW_COLUMN)
            .with_columns(pl.col(B.ROW_COLUMN).cast(pl.Int64))
        )
        arrow = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
        out[name] = spark.createDataFrame(arrow)
    return out


def decide_spark(
    portfolio: Portfolio,
    as_of: date,
    model: Scorecard,
    model_version: str,
    policies: Sequence[Policy],
    *,
    partitions: int | None = None,
    spark: SparkSession | None = None,
    stress_index: float | None = None,
) -> list[pl.DataFrame]:
    """``decide_portfolio`` on Spark for an in-memory portfolio (see
    :func:`decide_spark_tables`); uses ``spark``, else the active session, else
    :func:`spark_session`."""
    check_as_of(as_of)
    if not policies:
        return []
    spark = spark or SparkSession.getActiveSession() or spark_session()
    with _quiet():
        tables = to_spark_tables(spark, portfolio)
    return decide_spark_tables(
        tables,
        as_of,
        model,
        model_version,
        policies,
        partitions=partitions,
        stress_index=stress_index,
    )


def decide_spark_tables(
    tables: dict[str, DataFrame],
    as_of: date,
    model: Scorecard,
    model_version: str,
    policies: Sequence[Policy],
    *,
    partitions: int | None = None,
    stress_index: float | None = None,
) -> list[pl.DataFrame]:
    """Decide every account of a portfolio held as Spark frames.

    Parameters
    ----------
    tables
        ``borrowers``, ``accounts``, ``events`` and ``links`` frames with the contract
        columns (extra columns are ignored) already validated, e.g. read by Spark from a
        Parquet portfolio. A ``_row`` column, if present, is the original row order.
    partitions
        Number of household buckets (default: twice the default parallelism).

    Returns
    -------
    list[pl.DataFrame]
        One decision table per policy, sorted by ``account_id``.
    """
    as_of = check_as_of(as_of)
    if not policies:
        return []
    spark = tables["accounts"].sparkSession
    n = partitions or 2 * spark.sparkContext.defaultParallelism
    if n < 1:
        raise ValueError(f"partitions must be a positive integer, got {n!r}")
    model_json = B.model_to_json(model)
    policies_json = B.policies_to_json(policies)
    out_schema = {**B.decision_schema(policies[0]), B.POLICY_COLUMN: pl.Int32()}
    with _quiet():
        parts = bucketed(tables, n)
        feature_schema = {**FEATURE_SCHEMA, BUCKET: pl.Int32()}
        features = (
            union([parts["borrowers"], parts["accounts"], parts["events"]])
            .groupBy(BUCKET)
            .applyInArrow(_features_task(as_of, feature_schema), _ddl(feature_schema))
            .persist()
        )
        try:
            late_arrow = (
                features.where(F.col("dpd_now") > 0).select("borrower_id").distinct().toArrow()
            )
            # Plain strings travel in the task closure; few borrowers are late.
            late = _frame(late_arrow).get_column("borrower_id").cast(pl.String).to_list()
            task = _decide_task(
                as_of, model_json, model_version, policies_json, late, out_schema, stress_index
            )
            decided = (
                union([features.withColumn(B.TABLE_COLUMN, F.lit("features")), parts["links"]])
                .groupBy(BUCKET)
                .applyInArrow(task, _ddl(out_schema))
                .toArrow()
            )
        finally:
            features.unpersist()
    frame = _cast(_frame(decided), out_schema)
    by_policy = frame.partition_by(B.POLICY_COLUMN, as_dict=True, include_key=False)
    empty = frame.clear().drop(B.POLICY_COLUMN)
    return [by_policy.get((i,), empty).sort("account_id") for i in range(len(policies))]


# -------------------------------------------------------------------------- tasks
def _features_task(as_of: date, schema: dict[str, pl.DataType]) -> Callable[[pa.Table], pa.Table]:
    def run(table: pa.Table) -> pa.Table:
        frame = _frame(table)
        bucket = frame.get_column(BUCKET)[0]
        features = build_features(B.portfolio_from_long(frame), as_of)
        return _to_arrow(
            features.with_columns(pl.lit(bucket, dtype=pl.Int32).alias(BUCKET)), schema
        )

    return run


def _decide_task(
    as_of: date,
    model_json: str,
    model_version: str,
    policies_json: str,
    late_ids: list[str],
    schema: dict[str, pl.DataType],
    stress_index: float | None = None,
) -> Callable[[pa.Table], pa.Table]:
    def run(table: pa.Table) -> pa.Table:
        late = pl.DataFrame({"borrower_id": pl.Series(late_ids, dtype=pl.String)})
        frame = _frame(table)
        parts = frame.partition_by(B.TABLE_COLUMN, as_dict=True, include_key=False)
        features = _cast(parts[("features",)], FEATURE_SCHEMA).sort("account_id")
        links = parts.get(("links",), pl.DataFrame(schema=polars_schema("links")))
        if B.ROW_COLUMN in links.columns:
            links = links.sort(B.ROW_COLUMN)
        links = _cast(links, polars_schema("links"))
        features = B.relink(features, links, late)
        model = B.model_from_json(model_json)
        policies = B.policies_from_json(policies_json)
        decided = B.decide_features(
            features, as_of, model, model_version, policies, stress_index=stress_index
        )
        return _to_arrow(decided, schema)

    return run


# ------------------------------------------------------------------------ plumbing
def _type(dtype: pl.DataType) -> tuple[str, pa.DataType]:
    try:
        return _TYPES[dtype.base_type()]
    except KeyError:
        raise TypeError(f"no Spark type for polars dtype {dtype}") from None


def _frame(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table (not an Array) gives a frame
    return frame


def _ddl(schema: dict[str, pl.DataType]) -> str:
    return ", ".join(f"`{name}` {_type(dtype)[0]}" for name, dtype in schema.items())


def _cast(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def _to_arrow(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pa.Table:
    """``frame`` as the exact Arrow schema the Spark DDL of ``schema`` expects."""
    arrow_schema = pa.schema([(name, _type(dtype)[1]) for name, dtype in schema.items()])
    table = _cast(frame, schema).to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(arrow_schema)


@contextmanager
def _quiet() -> Iterator[None]:
    # PySpark warns about pandas >= 3 on every Arrow UDF; this engine never uses pandas.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
        yield
