"""Who the borrowers are: types, latent risk, demographics, households, links, accounts.

Everything is drawn once, before the monthly loop, as numpy arrays indexed by borrower
(or account) position. Observable attributes are tilted by the hidden risk ``z`` with
plenty of noise, so they carry signal without giving the answer away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from clearline.sim.clock import Clock
from clearline.sim.config import TYPE_PARAMS, TYPES, Z_SD, SimConfig

CITIES = np.array(
    [
        "Shanghai",
        "Beijing",
        "Shenzhen",
        "Guangzhou",
        "Chengdu",
        "Hangzhou",
        "Wuhan",
        "Xi'an",
        "Nanjing",
        "Chongqing",
        "Tianjin",
        "Suzhou",
        "Changsha",
        "Zhengzhou",
        "Qingdao",
        "Kunming",
        "Hefei",
        "Xiamen",
        "Harbin",
        "Nanning",
    ]
)
_CITY_W = np.array([14, 13, 10, 10, 7, 7, 6, 5, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2], float)
EMPLOYMENT = np.array(["salaried", "self_employed", "student", "retired", "unemployed", "other"])
_EMP_LOGIT = np.log(np.array([0.62, 0.14, 0.06, 0.06, 0.04, 0.08]))
_EMP_TILT = np.array([-0.35, 0.05, 0.25, -0.2, 0.7, 0.35])  # higher z -> less salaried
_EMP_INCOME = np.array([1.0, 1.1, 0.3, 0.6, 0.25, 0.7])
PRODUCTS = np.array(["cash_line", "instalment_line"])
LINK_KINDS = np.array(["contact", "device", "address"])


@dataclass
class Population:
    """Borrower-level and account-level arrays (positions are the ids minus one)."""

    type_code: np.ndarray  # int8 index into TYPES
    z: np.ndarray  # latent risk score
    hidden_risk: np.ndarray  # 12-month distress probability at neutral macro
    birth_year: np.ndarray
    income: np.ndarray  # declared monthly income, CNY
    verified: np.ndarray
    employment: np.ndarray  # int index into EMPLOYMENT
    city: np.ndarray  # int index into CITIES, home city
    city_after: np.ndarray  # city after a move (== city when no move)
    move_month: np.ndarray  # month of the move, or a month past the window
    household: np.ndarray  # household number, -1 when alone
    registered_sec: np.ndarray  # seconds since window start (may be negative)
    apr_base: np.ndarray  # the lender's price for the borrower (observable risk + noise)
    links: np.ndarray  # (k, 3) int: borrower, other borrower, kind index
    # accounts, sorted by borrower
    acc_borrower: np.ndarray
    acc_product: np.ndarray  # index into PRODUCTS
    acc_open_sec: np.ndarray
    acc_limit: np.ndarray  # CNY
    primary: np.ndarray  # account position of each borrower's cash_line


def draw_population(cfg: SimConfig, clock: Clock, rng: np.random.Generator) -> Population:
    """Draw borrowers, households, links and accounts."""
    n = cfg.borrowers
    shares = np.array([cfg.shares[t] for t in TYPES])
    type_code = rng.choice(len(TYPES), size=n, p=shares).astype(np.int8)
    household = _households(n, cfg.household_share, rng)
    # A shared household shock: members' risks move together.
    n_hh = int(household.max()) + 1 if household.size and household.max() >= 0 else 0
    hh_shock = np.where(household >= 0, rng.normal(0, 0.45, max(n_hh, 1))[household], 0.0)
    mu = np.array([TYPE_PARAMS[t].mu_z for t in TYPES])[type_code]
    z = mu + rng.normal(0, Z_SD, n) + hh_shock

    emp_logits = _EMP_LOGIT[None, :] + z[:, None] * _EMP_TILT[None, :]
    emp_p = np.exp(emp_logits)
    emp_p /= emp_p.sum(axis=1, keepdims=True)
    employment = (rng.random(n)[:, None] > np.cumsum(emp_p, axis=1)).sum(axis=1)
    employment = np.minimum(employment, len(EMPLOYMENT) - 1)
    age = np.clip(rng.normal(36 - 3.0 * z, 10), 18, 75)
    age = np.where(employment == 2, rng.uniform(18, 26, n), age)  # students
    age = np.where(employment == 3, rng.uniform(58, 78, n), age)  # retired
    birth_year = (cfg.start.year - np.floor(age)).astype(np.int64)

    income = 8500 * _EMP_INCOME[employment] * np.exp(-0.22 * z + rng.normal(0, 0.45, n))
    income = np.maximum(np.round(income / 100) * 100, 0.0)
    verified = rng.random(n) < 1 / (1 + np.exp(-(1.3 - 0.6 * z + 0.5 * (employment == 0))))

    city = rng.choice(len(CITIES), size=n, p=_CITY_W / _CITY_W.sum())
    first = _first_member(household)
    city = np.where(household >= 0, city[first], city)  # a household shares an address
    move_p = np.array([TYPE_PARAMS[t].move for t in TYPES])[type_code]
    innocent = type_code == TYPES.index("innocent")
    innocent_mover = innocent & (rng.random(n) < 0.35)
    moves = (rng.random(n) < move_p) | innocent_mover
    city_after = np.where(moves, (city + rng.integers(1, len(CITIES), n)) % len(CITIES), city)
    move_month = np.where(moves, rng.integers(1, max(cfg.months, 2), n), cfg.months + 1000)

    # Observable-ish price: the lender sees a noisy version of the risk.
    apr_base = np.clip(0.15 + 0.045 * (z + rng.normal(0, 0.7, n)), 0.06, 0.36)

    acc = _accounts(cfg, clock, rng, type_code, income, verified)
    registered_sec = acc["open_sec"][acc["primary"]] - rng.uniform(0.5, 3 * 365, n) * 86400
    misuser = type_code == TYPES.index("misuser")
    registered_sec = np.where(
        misuser,
        acc["open_sec"][acc["primary"]] - rng.uniform(0.05, 20, n) * 86400,
        registered_sec,
    )
    hidden = 1 - np.exp(-12 * _onset_rate(type_code, z))
    hidden = np.where(misuser, np.maximum(hidden, 0.9), hidden)
    return Population(
        type_code=type_code,
        z=z,
        hidden_risk=hidden,
        birth_year=birth_year,
        income=income,
        verified=verified,
        employment=employment,
        city=city,
        city_after=city_after,
        move_month=move_month,
        household=household,
        registered_sec=registered_sec.astype(np.int64),
        apr_base=apr_base,
        links=_links(z, household, misuser, rng),
        acc_borrower=acc["borrower"],
        acc_product=acc["product"],
        acc_open_sec=acc["open_sec"],
        acc_limit=acc["limit"],
        primary=acc["primary"],
    )


def _onset_rate(type_code: np.ndarray, z: np.ndarray) -> np.ndarray:
    from clearline.sim.config import Z_HAZARD

    base = np.array([TYPE_PARAMS[t].onset for t in TYPES])[type_code]
    return base * np.exp(Z_HAZARD * z)


def _households(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    """Household number per borrower (-1 alone); households have 2 to 4 members."""
    household = np.full(n, -1, dtype=np.int64)
    members = int(n * share)
    if members < 2:
        return household
    sizes = rng.choice([2, 3, 4], size=members // 2 + 1, p=[0.6, 0.3, 0.1])
    ends = np.cumsum(sizes)
    sizes = sizes[ends <= members]
    if sizes.size == 0:
        return household
    who = rng.permutation(n)[: int(sizes.sum())]
    household[who] = np.repeat(np.arange(sizes.size), sizes)
    return household


def _first_member(household: np.ndarray) -> np.ndarray:
    """For each borrower, the position of the first member of its household (itself if alone)."""
    idx = np.arange(household.size)
    in_hh = household >= 0
    first = idx.copy()
    if in_hh.any():
        hh = household[in_hh]
        lowest = np.full(int(hh.max()) + 1, household.size, dtype=np.int64)
        np.minimum.at(lowest, hh, idx[in_hh])
        first[in_hh] = lowest[hh]
    return first


def _links(
    z: np.ndarray, household: np.ndarray, misuser: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Undirected links listed in both directions.

    Contact and device links are assortative: borrowers are sorted by a noisy risk and
    linked to near neighbours in that order, so risky borrowers know risky borrowers and
    arrears among one's links is a real (noisy) signal. Misusers also share devices in
    small rings; household members share an address.
    """
    n = z.size
    parts = []
    order = np.argsort(z + rng.normal(0, 0.6, n), kind="stable")
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    degree = rng.poisson(0.9, n)
    src = np.repeat(np.arange(n), degree)
    offset = rng.integers(1, 40, src.size) * rng.choice([-1, 1], src.size)
    dst = order[np.clip(pos[src] + offset, 0, n - 1)]
    kind = np.where(rng.random(src.size) < 0.8, 0, 1)
    parts.append(np.column_stack([src, dst, kind]))
    mis = np.flatnonzero(misuser)
    if mis.size >= 2:
        mis = rng.permutation(mis)
        ring = np.arange(mis.size) // 3
        nxt = np.roll(mis, -1)
        same = ring == np.roll(ring, -1)
        parts.append(np.column_stack([mis[same], nxt[same], np.ones(same.sum(), dtype=int)]))
    in_hh = np.flatnonzero(household >= 0)
    if in_hh.size:
        first = _first_member(household)[in_hh]
        keep = first != in_hh
        parts.append(np.column_stack([in_hh[keep], first[keep], np.full(keep.sum(), 2)]))
    links = np.concatenate(parts).astype(np.int64)
    links = links[links[:, 0] != links[:, 1]]
    both = np.concatenate([links, links[:, [1, 0, 2]]])
    # One row per ordered pair and kind.
    return np.unique(both, axis=0)


def _accounts(
    cfg: SimConfig,
    clock: Clock,
    rng: np.random.Generator,
    type_code: np.ndarray,
    income: np.ndarray,
    verified: np.ndarray,
) -> dict[str, np.ndarray]:
    """A cash line per borrower; a minority also get a second product line later."""
    n, months = cfg.borrowers, cfg.months
    # Most lines open early in the window, some later.
    later = 1 + np.floor(rng.exponential(max(months * 0.3, 1.0), n))
    open_month = np.where(rng.random(n) < 0.45, 0, np.minimum(later, months - 1)).astype(int)
    open_sec = clock.random_second_in_month(open_month, rng)
    limit = income * rng.uniform(1.5, 4.0, n) * np.where(verified, 1.0, 0.7)
    limit = np.clip(np.round(limit / 1000) * 1000, 3000, 300000)

    p2 = np.array([TYPE_PARAMS[t].second_line for t in TYPES])[type_code]
    month2 = open_month + 1 + np.floor(rng.exponential(6.0, n)).astype(int)
    has2 = (rng.random(n) < p2) & (month2 < months)
    b2 = np.flatnonzero(has2)
    open2 = clock.random_second_in_month(month2[b2], rng)
    limit2 = np.clip(np.round(limit[b2] * rng.uniform(0.3, 0.6, b2.size) / 1000) * 1000, 2000, None)

    borrower = np.concatenate([np.arange(n), b2])
    product = np.concatenate([np.zeros(n, dtype=np.int64), np.ones(b2.size, dtype=np.int64)])
    order = np.lexsort((product, borrower))
    primary = np.empty(n, dtype=np.int64)
    inv = np.empty(order.size, dtype=np.int64)
    inv[order] = np.arange(order.size)
    primary[:] = inv[:n]
    return {
        "borrower": borrower[order],
        "product": product[order],
        "open_sec": np.concatenate([open_sec, open2])[order],
        "limit": np.concatenate([limit, limit2])[order],
        "primary": primary,
    }
