"""Regression tests for what fuzzing the API (``.ci/fuzz``) found: every refusal is a
documented 4xx problem, never a 5xx, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import polars as pl
import pytest

from clearline.core.policy import yaml_limits
from tests.service_support import BASELINE, NOW, ROOT, Service, Trained, deploy

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def both(request: pytest.FixtureRequest, trained: Trained, tmp_path: Path) -> Service:
    """The deployed service on each database (the NUL and timestamp defects differed)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clearline.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    svc = deploy(trained, url, tmp_path)
    yield svc
    svc.client.close()


def _is_problem(r, status: int) -> None:  # noqa: ANN001
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == status
    assert "Traceback" not in r.text


def _portfolio(trained: Trained, **change: object) -> dict[str, list[dict]]:
    """One borrower of the training portfolio under new ids, as a load request body;
    ``change`` sets ``table__column`` on the first row of that table."""
    folder = trained.portfolio_dir
    borrower = pl.read_parquet(folder / "borrowers.parquet").head(1)
    bid = borrower["borrower_id"][0]
    accounts = pl.read_parquet(folder / "accounts.parquet").filter(pl.col("borrower_id") == bid)
    events = pl.read_parquet(folder / "events.parquet").filter(
        pl.col("account_id").is_in(accounts["account_id"].to_list())
    )
    body = {
        "borrowers": json.loads(borrower.write_json()),
        "accounts": json.loads(accounts.write_json()),
        "events": json.loads(events.head(5).write_json()),
    }
    for row in body["borrowers"] + body["accounts"]:
        row["borrower_id"] = "NEW-" + row["borrower_id"]
    for row in body["accounts"] + body["events"]:
        row["account_id"] = "NEW-" + row["account_id"]
    for row in body["events"]:
        row["event_id"] = "NEW-" + row["event_id"]
    for key, value in change.items():
        table, column = key.split("__")
        body[table][0][column] = value
    return body


# ---- the document tells the truth -----------------------------------------------------


def test_every_documented_problem_is_described_as_application_problem_json(
    service: Service,
) -> None:
    doc = service.client.get("/openapi.json").json()
    seen = 0
    for item in doc["paths"].values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if int(status) < 400:
                    continue
                seen += 1
                content = response["content"]
                assert list(content) == ["application/problem+json"], status
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
    assert seen > 50


def test_a_review_documents_its_503_as_a_problem(service: Service) -> None:
    doc = service.client.get("/openapi.json").json()
    responses = doc["paths"]["/v1/accounts/{account_id}/review"]["post"]["responses"]
    assert "application/problem+json" in responses["503"]["content"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v1/policies", "GET, POST"),
        ("PUT", "/v1/me", "GET"),
        ("TRACE", "/v1/accounts/A1/review", "POST"),
        ("POST", "/v1/models/v1", "GET"),
    ],
)
def test_a_method_a_path_does_not_serve_is_a_405_naming_every_method_it_does(
    service: Service, method: str, path: str, allow: str
) -> None:
    r = service.client.request(method, path, headers=service.headers("admin"))
    _is_problem(r, 405)
    assert r.headers["allow"] == allow


# ---- inputs that crashed the service --------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/accounts/A%00"),
        ("GET", "/v1/accounts/A%00/decisions"),
        ("GET", "/v1/decisions/%00"),
        ("GET", "/v1/borrowers/B%00"),
        ("GET", "/v1/accounts?borrower_id=B%00"),
        ("POST", "/v1/accounts/A%00/review"),
    ],
)
def test_a_nul_character_in_an_id_is_refused_on_every_database(
    both: Service, method: str, path: str
) -> None:
    r = both.client.request(method, path, headers=both.headers("admin"))
    _is_problem(r, 422)


def test_a_nul_character_in_a_loaded_cell_is_refused_on_every_database(
    both: Service, trained: Trained
) -> None:
    body = _portfolio(trained, borrowers__city="Chengdu\u0000")
    r = both.client.post("/v1/loads", headers=both.headers("admin"), json=body)
    _is_problem(r, 422)
    assert r.json()["errors"][0]["loc"][:4] == ["body", "borrowers", "0", "city"]
    assert (
        both.client.post(
            "/v1/loads", headers=both.headers("admin"), json=_portfolio(trained)
        ).status_code
        == 201
    )


@pytest.mark.parametrize(
    "stamp", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1899-12-31"]
)
def test_a_timestamp_outside_the_years_1900_to_9999_is_refused_so_no_read_breaks(
    both: Service, trained: Trained, stamp: str
) -> None:
    body = _portfolio(trained, accounts__opened_at=stamp)
    r = both.client.post("/v1/loads", headers=both.headers("admin"), json=body)
    _is_problem(r, 422)
    assert "outside the years 1900-9999" in r.json()["detail"]
    listed = both.client.get("/v1/accounts?limit=500", headers=both.headers("admin"))
    assert listed.status_code == 200


@pytest.mark.parametrize("as_of", ["0001-01-01", "1899-12-31"])
def test_a_review_dated_before_1900_is_refused_not_crashed(service: Service, as_of: str) -> None:
    account = service.client.get("/v1/accounts?limit=1", headers=service.headers("admin"))
    account_id = account.json()["items"][0]["account_id"]
    r = service.client.post(
        f"/v1/accounts/{account_id}/review",
        headers=service.headers("analyst"),
        json={"as_of": as_of},
    )
    _is_problem(r, 422)
    assert r.json()["errors"][0]["loc"] == ["body", "as_of"]


# ---- policy text is bounded before it is parsed ---------------------------------------

_LAUGHS = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 9)
)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[" * 5000, "nested deeper"),
        ("- " * 5000, "nested deeper"),
        ("a: &a [*a]", "refers to itself"),
        (_LAUGHS, "expands to more than"),
    ],
)
def test_hostile_policy_yaml_is_a_422_not_a_crash_or_a_hang(
    service: Service, text: str, why: str
) -> None:
    r = service.client.post("/v1/policies", headers=service.headers("admin"), json={"yaml": text})
    _is_problem(r, 422)
    assert why in r.json()["detail"]


def test_the_yaml_bounds_let_every_shipped_policy_through() -> None:
    shipped = [*sorted((ROOT / "policies").glob("*.yaml")), BASELINE]
    assert len(shipped) >= 3
    for path in shipped:
        yaml_limits.check(path.read_text(encoding="utf-8"))


def test_an_invalid_policy_names_the_request_field_not_a_server_path(service: Service) -> None:
    r = service.client.post(
        "/v1/policies", headers=service.headers("admin"), json={"yaml": "name: x\n"}
    )
    _is_problem(r, 422)
    detail = r.json()["detail"]
    assert detail.startswith("yaml: ")
    assert tempfile.gettempdir() not in detail


# ---- one call cannot stop the service -------------------------------------------------


def _serving(svc: Service) -> str:
    models = svc.client.get("/v1/models", headers=svc.headers("admin")).json()
    return next(m["model_version"] for m in models if m["state"] == "approved")


def test_retiring_the_only_model_in_service_is_a_conflict_and_reviews_go_on(
    service: Service,
) -> None:
    version = _serving(service)
    r = service.client.post(f"/v1/models/{version}/retire", headers=service.headers("admin"))
    _is_problem(r, 409)
    assert (
        service.client.get(f"/v1/models/{version}", headers=service.headers("admin")).json()[
            "state"
        ]
        == "approved"
    )
    account = service.client.get("/v1/accounts?limit=1", headers=service.headers("admin"))
    review = service.client.post(
        f"/v1/accounts/{account.json()['items'][0]['account_id']}/review",
        headers=service.headers("analyst"),
        json={"as_of": service.as_of.isoformat()},
    )
    assert review.status_code == 201, review.text


def test_the_model_in_service_may_retire_once_an_approved_successor_exists(
    service: Service, trained: Trained, tmp_path: Path
) -> None:
    from clearline.store.registry import Registry

    old = _serving(service)
    registry = Registry(service.registry)
    entry = registry.register(_successor(trained.model_dir, tmp_path / "next"), at=NOW, by="t")
    registry.move(entry.model_version, "approved", at=NOW, by="test")
    r = service.client.post(f"/v1/models/{old}/retire", headers=service.headers("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "retired"


def _successor(model_dir: Path, folder: Path) -> Path:
    """The same model as another artefact (new created_at, so a new hash and version),
    as a retrain would give."""
    from clearline.core.scoring.artefact import content_hash

    doc = json.loads((model_dir / "model.json").read_text(encoding="utf-8"))
    body = {k: v for k, v in doc.items() if k not in ("content_hash", "model_version")}
    body["created_at"] = "2026-11-29T00:00:00+00:00"
    digest = content_hash(body)
    prefix = doc["model_version"].split("-")[0]
    doc = {"model_version": f"{prefix}-{digest[:12]}", "content_hash": digest, **body}
    folder.mkdir(parents=True)
    (folder / "model.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder
