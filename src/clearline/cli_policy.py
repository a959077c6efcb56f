"""`clearline policy ...`: validate, publish, list, show, diff and verify line policies."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from clearline.cli_support import JsonOpt, emit, err, guarded, show
from clearline.core.policy import Policy, PolicyError, load_policy
from clearline.store.policies import DEFAULT_STORE, PolicyStore, Published

policy_app = typer.Typer(
    help="Validate, publish, list and compare line policies.", no_args_is_help=True
)

StoreOpt = Annotated[
    Path,
    typer.Option("--store", envvar="CLEARLINE_POLICIES", help="Policy store folder."),
]
FileArg = Annotated[Path, typer.Argument(help="Policy YAML file (a draft).")]
RefArg = Annotated[
    str, typer.Argument(help="A policy YAML file, or a published name@release[+hash8] or name.")
]
IMPACT_HINT = "for the impact on a portfolio, run `clearline whatif --baseline OLD --candidate NEW`"


def counts(policy: Policy) -> dict[str, Any]:
    cells = sum(len(bands) for bands in policy.grade_actions.values())
    return {
        "version": policy.version,
        "knockouts": len(policy.knockouts),
        "rules": len(policy.rules),
        "grades": len(policy.grades),
        "matrix_cells": cells,
        "household_cap": policy.household_cap.limit if policy.household_cap else None,
        "macro": policy.macro is not None,
    }


def row(p: Published) -> dict[str, Any]:
    return {
        "name": p.name,
        "version": p.version,
        "published_at": p.published_at,
        "by": p.by,
        "note": p.note,
        "current": p.current,
    }


@policy_app.command()
def validate(file: FileArg, as_json: JsonOpt = False) -> None:
    """Load a policy and report what it holds; exit 2 with every problem if it is invalid."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        # All problems, one a line (the loader names file and field): not just the first.
        problems = [ln for ln in str(exc).splitlines() if ln.strip()]
        if as_json:
            sys.stdout.write(json.dumps({"valid": False, "errors": problems}) + "\n")
        for line in problems:
            err.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    payload = {"valid": True, **counts(policy)}
    emit(payload, as_json, lambda: show(payload))


@policy_app.command()
@guarded
def publish(
    file: FileArg,
    by: Annotated[str, typer.Option("--by", help="Who publishes (recorded).")] = "",
    note: Annotated[str, typer.Option("--note", help="Why (recorded).")] = "",
    store: StoreOpt = Path(DEFAULT_STORE),
    as_json: JsonOpt = False,
) -> None:
    """Freeze a valid policy in the store; the same release is never published twice."""
    entry, created = PolicyStore(store).publish(file, at=datetime.now(UTC), by=by, note=note)
    payload = {**row(entry), "published": created}
    if not created:
        err.print(f"{entry.version} is already published with identical content; nothing done")
    emit(payload, as_json, lambda: show(payload))


@policy_app.command("list")
@guarded
def list_policies(store: StoreOpt = Path(DEFAULT_STORE), as_json: JsonOpt = False) -> None:
    """Every published policy; `*` marks the current (latest) one of each name."""
    rows = [row(p) for p in PolicyStore(store).list()]

    def human() -> None:
        if not rows:
            err.print(f"no policies published in {store}")
        for r in rows:
            mark = "*" if r["current"] else " "
            err.print(f"{mark} {r['version']:<32} {r['published_at']}  by {r['by']}  {r['note']}")

    emit({"policies": rows}, as_json, human)


@policy_app.command("show")
@guarded
def show_policy(
    ref: RefArg, store: StoreOpt = Path(DEFAULT_STORE), as_json: JsonOpt = False
) -> None:
    """One published policy: its record, what it holds and where its file is."""
    st = PolicyStore(store)
    entry = st.entry(ref)
    payload = {**row(entry), **counts(st.load(ref)), "file": str(st.get(ref))}
    emit(payload, as_json, lambda: show(payload))


@policy_app.command()
@guarded
def verify(store: StoreOpt = Path(DEFAULT_STORE), as_json: JsonOpt = False) -> None:
    """Check that every stored policy still matches the hash logged when it was published."""
    payload = {"verified": PolicyStore(store).verify(), "store": str(store)}
    emit(payload, as_json, lambda: show(payload))


# ---- structural diff (pure; compares the parsed policies, never the text) ----

#: Keys that identify an element of a list of mappings, so elements are matched by
#: identity rather than position (inserting a rule must not "change" every later one).
_ID_KEYS = ("id", "grade")


def _key(item: dict[str, Any], index: int) -> str:
    for k in _ID_KEYS:
        if k in item:
            return str(item[k])
    if "utilisation_below" in item:  # matrix band: named by its bound
        u = item["utilisation_below"]
        return "rest" if u is None else f"<{u}"
    return str(index)


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    keyed = {_key(i, n): i for n, i in enumerate(items)}
    return keyed if len(keyed) == len(items) else None


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if a == b:
        return
    fmt = "{}.{}" if path else "{}{}"
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _keyed(a), _keyed(b)
        if ka is not None and kb is not None:
            a, b, fmt = ka, kb, "{}[{}]"
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *(k for k in b if k not in a)]:
            sub = fmt.format(path, k)
            if k not in b:
                out.append({"path": sub, "kind": "removed", "before": a[k], "after": None})
            elif k not in a:
                out.append({"path": sub, "kind": "added", "before": None, "after": b[k]})
            else:
                _walk(a[k], b[k], sub, out)
        return
    out.append({"path": path, "kind": "changed", "before": a, "after": b})


def policy_diff(old: Policy, new: Policy) -> dict[str, Any]:
    """Field-level changes from ``old`` to ``new`` plus a summary of rule changes.

    Rules (knock-outs and rules together, as they are tried), grades and matrix bands
    are matched by id / grade / utilisation bound; a change of rule order is reported
    on its own, since with first-match-wins the order is part of the policy.
    """
    da = old.model_dump(mode="json", by_alias=True)
    db = new.model_dump(mode="json", by_alias=True)
    changes: list[dict[str, Any]] = []
    _walk(da, db, "", changes)
    ra = {r.id: r for r in old.all_rules}
    rb = {r.id: r for r in new.all_rules}
    order_a = [i for i in ra if i in rb]
    order_b = [i for i in rb if i in ra]
    if order_a != order_b:
        changes.append(
            {"path": "rule_order", "kind": "changed", "before": order_a, "after": order_b}
        )
    section = {r.id: s for s in ("knockouts", "rules") for r in getattr(new, s)}
    moved = [
        i for i in order_b if i in section and i not in {r.id for r in getattr(old, section[i])}
    ]
    return {
        "old": old.version,
        "new": new.version,
        "identical": not changes,
        "rules_added": [i for i in rb if i not in ra],
        "rules_removed": [i for i in ra if i not in rb],
        "rules_changed": [i for i in order_b if ra[i] != rb[i] or i in moved],
        "changes": changes,
    }


def resolve(ref: str, store: Path) -> Policy:
    """A file path if one exists, else a published version from the store."""
    if Path(ref).exists():
        return load_policy(ref)
    return PolicyStore(store).load(ref)


@policy_app.command()
@guarded
def diff(
    old: RefArg, new: RefArg, store: StoreOpt = Path(DEFAULT_STORE), as_json: JsonOpt = False
) -> None:
    """Structural difference of two policies: rules, grades, matrix cells, overlays, caps.

    This compares the policies themselves; for the impact on a portfolio use
    `clearline whatif`.
    """
    a, b = resolve(old, store), resolve(new, store)
    payload = {**policy_diff(a, b), "impact": IMPACT_HINT}

    def human() -> None:
        err.print(f"{payload['old']} -> {payload['new']}", highlight=False)
        if payload["identical"]:
            err.print("no differences")
        for c in payload["changes"]:
            if c["kind"] == "changed":
                line = f"~ {c['path']}: {c['before']!r} -> {c['after']!r}"
            else:
                sign = "+" if c["kind"] == "added" else "-"
                line = f"{sign} {c['path']}: {c['after' if sign == '+' else 'before']!r}"
            err.print(line, highlight=False, soft_wrap=True)
        err.print(IMPACT_HINT, highlight=False)

    emit(payload, as_json, human)
