"""Spark side of batching: tag every row with the household bucket(s) that need it."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from clearline.core.portfolio import polars_schema
from clearline.engines import batch as B

BUCKET = "_bucket"
TABLES = ("borrowers", "accounts", "events", "links")


def bucketed(tables: dict[str, DataFrame], n: int) -> dict[str, DataFrame]:
    """Each table's rows tagged with the bucket(s) that need them.

    Accounts and events follow their borrower's household. Events of a ``loan_id`` seen
    in several buckets are copied into each (the ledger treats a loan id as global).
    A link goes to the buckets of both its borrowers.
    """

    def bucket_of(key: F.Column) -> F.Column:
        return F.pmod(F.xxhash64(key), F.lit(n)).cast("int")

    def keep(name: str, frame: DataFrame) -> DataFrame:
        cols = [*polars_schema(name)]
        if B.ROW_COLUMN in frame.columns:
            cols.append(B.ROW_COLUMN)
        return frame.select(cols)

    borrowers, accounts = (
        keep("borrowers", tables["borrowers"]),
        keep("accounts", tables["accounts"]),
    )
    events, links = keep("events", tables["events"]), keep("links", tables["links"])
    # The household key of core.features (blank household = the borrower's own). Spark's
    # trim strips fewer characters than polars: a blank it misses only merges buckets.
    own = F.trim(F.col("household_id")) == ""
    household = F.when(F.col("household_id").isNull() | own, F.col("borrower_id")).otherwise(
        F.col("household_id")
    )
    borrowers = borrowers.withColumn(BUCKET, bucket_of(household))
    by_borrower = borrowers.select("borrower_id", BUCKET)
    accounts = accounts.join(by_borrower, "borrower_id", "left").withColumn(
        BUCKET, F.coalesce(F.col(BUCKET), bucket_of(F.col("borrower_id")))
    )
    events = events.join(accounts.select("account_id", BUCKET), "account_id", "inner")
    shared = (
        events.where(F.col("loan_id").isNotNull())
        .groupBy("loan_id")
        .agg(F.collect_set(BUCKET).alias("_targets"))
        .where(F.size("_targets") > 1)
    )
    events = (
        events.join(F.broadcast(shared), "loan_id", "left")
        .withColumn(BUCKET, F.explode(F.coalesce("_targets", F.array(F.col(BUCKET)))))
        .drop("_targets")
    )
    one = by_borrower.withColumnRenamed(BUCKET, "_b1")
    other = by_borrower.select(
        F.col("borrower_id").alias("other_borrower_id"), F.col(BUCKET).alias("_b2")
    )
    targets = F.filter(F.array_distinct(F.array("_b1", "_b2")), lambda b: b.isNotNull())
    links = (
        links.join(one, "borrower_id", "left")
        .join(other, "other_borrower_id", "left")
        .withColumn(BUCKET, F.explode(targets))
        .drop("_b1", "_b2")
    )
    frames = {"borrowers": borrowers, "accounts": accounts, "events": events, "links": links}
    return {k: v.withColumn(B.TABLE_COLUMN, F.lit(k)) for k, v in frames.items()}


def union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f, allowMissingColumns=True)
    return out
