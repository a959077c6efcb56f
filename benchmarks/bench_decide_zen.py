"""clearline's ``decide`` vs GoRules' zen-engine vs a plain numpy table, on one core.

The zen decision graph (JDM: input node -> decision table, hit policy "first" ->
output node) is generated from the policy file itself, so the three evaluate the same
table: the knock-outs and rules in order, then one row per grade x utilisation band
(grades best to worst, so ``score >= min_score`` with first-hit is the grade band).
Outputs: ``action``, ``limit_factor``, ``reason`` and ``source`` (rule id or
``grade:band``, to check equivalence against clearline's trace).

What is timed: clearline ``decide`` (all layers, reasons, trace, household cap) on all
rows; zen ``evaluate_batch`` on the same rows (or the first ``--zen-rows``), in chunks
of 100,000 (building its per-row dict contexts is timed separately); numpy ``select``
over the table's conditions (the ceiling: the table and nothing else). Scores are
precomputed inputs to all three (scoring is not timed here; see bench_decide.py).

Usage: ``python benchmarks/bench_decide_zen.py [--rows N] [--zen-rows M] [--policy F]``
"""

from __future__ import annotations

import os

# One core, for every engine: set before polars / zen start their thread pools.
os.environ["POLARS_MAX_THREADS"] = "1"
os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKIO_WORKER_THREADS"] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from clearline.core.decide import decide  # noqa: E402
from clearline.core.policy import Policy, load_policy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decide import synthetic  # noqa: E402  (the shared synthetic feature rows)

ROOT = Path(__file__).resolve().parents[1]
KEY = "policy.json"
CHUNK = 100_000


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def conjunction(rule: Any) -> list[tuple[str, str, Any]]:
    """A rule's condition as ``(feature, op, value)`` triples that must all hold.

    Takes the list form (``[{feature, op, value}]``) or an expression that is an
    ``and`` of ``feature op literal`` comparisons; anything richer (``or``, arithmetic)
    has no single-row equivalent in this table layout and is refused.
    """
    if isinstance(rule.when, list):
        return [(c.feature, c.op, c.value) for c in rule.when]
    from clearline.core.policy import expr as E  # noqa: PLC0415 - newer policy language

    node = rule.expr
    parts = node.args if isinstance(node, E.BoolOp) and node.op == "and" else (node,)
    out = []
    for p in parts:
        if isinstance(p, E.Cmp) and isinstance(p.left, E.Field) and isinstance(p.right, E.Lit):
            out.append((p.left.name, p.op, p.right.value))
        elif isinstance(p, E.Cmp) and isinstance(p.right, E.Field) and isinstance(p.left, E.Lit):
            out.append((p.right.name, _FLIP[p.op], p.left.value))
        else:
            raise NotImplementedError(f"rule {rule.id}: {rule.when!r} is not a plain conjunction")
    return out


def table_rows(policy: Policy) -> list[dict[str, Any]]:
    """The policy as an ordered first-hit table: conditions + outcome + source."""
    rows = [{"conds": conjunction(r), "out": r, "source": r.id} for r in policy.all_rules]
    for g in policy.grades:
        # Grades best to worst with first-hit: a grade's own bounds are its whole test.
        bounds = []
        if g.min_score is not None:
            bounds.append(("score", ">=", g.min_score))
        if getattr(g, "max_pd", None) is not None:
            bounds.append(("pd", "<=", g.max_pd))
        for b, e in enumerate(policy.grade_actions[g.grade]):
            util = (
                [] if e.utilisation_below is None else [("utilisation", "<", e.utilisation_below)]
            )
            rows.append({"conds": bounds + util, "out": e, "source": f"{g.grade}:{b}"})
    return rows


def _lit(v: Any) -> str:
    return json.dumps(v)  # JDM cells are expressions: strings quoted, null as null


def jdm_graph(policy: Policy) -> dict[str, Any]:
    """A JDM decision graph equivalent to the policy's rules and matrix."""
    rows = table_rows(policy)
    # One input column per (feature, k-th condition on it within a rule).
    columns: list[tuple[str, int]] = []
    for row in rows:
        seen: dict[str, int] = {}
        for f, _, _ in row["conds"]:
            k = seen.get(f, 0)
            seen[f] = k + 1
            if (f, k) not in columns:
                columns.append((f, k))
    col_id = {c: f"in_{c[0]}_{c[1]}" for c in columns}
    outputs = ["action", "limit_factor", "reason", "source"]
    rules = []
    for n, row in enumerate(rows):
        cells = {col_id[c]: "" for c in columns}
        seen = {}
        for f, op, v in row["conds"]:
            k = seen.get(f, 0)
            seen[f] = k + 1
            cells[col_id[(f, k)]] = f"{op} {_lit(v)}"
        out = row["out"]
        values = [out.action, out.limit_factor, out.reason, row["source"]]
        rules.append(
            {
                "_id": f"r{n}",
                **cells,
                **{f"out_{o}": _lit(v) for o, v in zip(outputs, values, strict=True)},
            }
        )
    table = {
        "hitPolicy": "first",
        "inputs": [
            {"id": col_id[c], "type": "expression", "field": c[0], "name": f"{c[0]} #{c[1]}"}
            for c in columns
        ],
        "outputs": [
            {"id": f"out_{o}", "type": "expression", "field": o, "name": o} for o in outputs
        ],
        "rules": rules,
    }
    pos = {"x": 0, "y": 0}
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request", "position": pos},
            {
                "id": "table",
                "type": "decisionTableNode",
                "name": policy.name,
                "position": pos,
                "content": table,
            },
            {"id": "response", "type": "outputNode", "name": "Response", "position": pos},
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "table", "type": "edge"},
            {"id": "e2", "sourceId": "table", "targetId": "response", "type": "edge"},
        ],
    }


_NP_OPS = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}


def numpy_table(cols: dict[str, np.ndarray], rows: list[dict[str, Any]]) -> np.ndarray:
    """Index of the first table row that holds, per account (the table, nothing else)."""
    n = len(next(iter(cols.values())))
    conds = []
    for row in rows:
        m = np.ones(n, dtype=bool)
        for f, op, v in row["conds"]:
            m &= _NP_OPS[op](cols[f], v)
        conds.append(m)
    return np.select(conds, np.arange(len(rows)), default=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--zen-rows", type=int, default=0, help="zen on the first M rows (0: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--policy", default=str(ROOT / "policies" / "baseline.yaml"))
    args = ap.parse_args()
    import zen  # noqa: PLC0415 - optional dev dependency, imported after the thread settings

    policy = load_policy(args.policy)
    features, scored = synthetic(args.rows)
    rows = table_rows(policy)
    fields = sorted({f for r in rows for f, _, _ in r["conds"]} - {"score", "pd"})
    inputs = features.select(fields).hstack([scored["score"], scored["pd"]])
    assert inputs.null_count().sum_horizontal()[0] == 0, "bench rows must be null-free"
    print(
        f"policy {policy.version}: {len(rows)} table rows; cores used: 1 "
        f"(affinity {sorted(os.sched_getaffinity(0))}, polars threads {pl.thread_pool_size()})"
    )

    as_of = date(2025, 6, 30)
    rates = {}
    # "path" records the decision path compactly (what zen returns is comparable);
    # "full" also writes a JSON trace with every input per row (the audit record).
    for mode in ("path", "full"):
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            ours = decide(features, scored, policy, model_version="bench", as_of=as_of, trace=mode)
            best = min(best, time.perf_counter() - t0)
        rates[mode] = args.rows / best
        print(
            f"clearline decide (trace={mode}): {args.rows:>9,} rows  {best:7.3f} s  "
            f"{rates[mode]:>13,.0f} rows/s"
        )
    ours_rate = rates["path"]

    cols = {c: inputs[c].to_numpy() for c in inputs.columns}
    np_best = float("inf")
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        idx = numpy_table(cols, rows)
        np_best = min(np_best, time.perf_counter() - t0)
    np_rate = args.rows / np_best
    print(f"numpy table      : {args.rows:>9,} rows  {np_best:7.3f} s  {np_rate:>13,.0f} rows/s")

    m = min(args.zen_rows or args.rows, args.rows)
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {KEY: jdm_graph(policy)}}})
    engine.evaluate_batch([{"key": KEY, "context": c} for c in inputs.head(1000).to_dicts()])
    build = zen_s = 0.0
    zen_src: list[str] = []
    zen_action: list[str] = []
    for start in range(0, m, CHUNK):  # chunks keep a million dict contexts out of memory
        t0 = time.perf_counter()
        part = inputs.slice(start, min(CHUNK, m - start)).to_dicts()
        requests = [{"key": KEY, "context": c} for c in part]
        t1 = time.perf_counter()
        answers = engine.evaluate_batch(requests)
        t2 = time.perf_counter()
        build, zen_s = build + t1 - t0, zen_s + t2 - t1
        failed = [a for a in answers if not a.get("success")]
        assert not failed, f"zen failed on {len(failed)} rows, e.g. {failed[0]}"
        zen_src += [a["data"]["result"]["source"] for a in answers]
        zen_action += [a["data"]["result"]["action"] for a in answers]
    zen_rate = m / zen_s
    print(
        f"zen evaluate_batch: {m:>8,} rows  {zen_s:7.3f} s  {zen_rate:>13,.0f} rows/s"
        f"  (+ {build:.2f} s building dict contexts, not counted)"
    )

    # Equivalence: zen's first-hit row must be clearline's rule / band (from its trace)
    # and the numpy table's, row by row; the action must agree wherever no later layer
    # (closed account, sizing to keep, macro, household cap) changed it.
    sources = [r["source"] for r in rows]
    np_src = [sources[i] for i in idx[:m]]
    head = ours.head(m)
    tr = [json.loads(t) for t in head["trace"]]
    our_src = [t["rule"] if t.get("rule") else f"{t.get('grade')}:{t.get('band')}" for t in tr]
    open_ = (features["status"].head(m) != "closed").to_list()
    same_src = sum(z == o for z, o, op in zip(zen_src, our_src, open_, strict=True) if op)
    same_np = sum(z == p for z, p in zip(zen_src, np_src, strict=True))
    untouched = [
        op and not t.get("sized_to_keep") and not t.get("macro") and not t.get("cap")
        for t, op in zip(tr, open_, strict=True)
    ]
    acts = head["action"].to_list()
    same_act = sum(z == a for z, a, u in zip(zen_action, acts, untouched, strict=True) if u)
    print(
        f"equivalence on {m:,} rows: rule/band zen == clearline trace on "
        f"{same_src:,}/{sum(open_):,} open accounts; zen == numpy on {same_np:,}/{m:,}; "
        f"action equal on {same_act:,}/{sum(untouched):,} rows no later layer changed"
    )
    print(f"ratio clearline / zen : {ours_rate / zen_rate:8.1f}x  (target >= 50x; trace=path)")
    print(f"ratio clearline / zen : {rates['full'] / zen_rate:8.1f}x  (trace=full, JSON per row)")
    print(f"ratio numpy / clearline: {np_rate / ours_rate:7.1f}x  (numpy: table only)")


if __name__ == "__main__":
    main()
