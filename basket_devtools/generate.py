"""Synthetic point-of-sale data in the shape of the UCI "Online Retail" dataset.

Two outputs:

* ``long``: a CSV with one row per line item and the columns :data:`COLUMNS`, with a
  configurable share of dirty rows of known kinds (:class:`Dirt`). Every dirty row
  fails exactly one cleaning rule (:data:`DIRT_REASON`) and is an *extra* row: the
  clean rows are exactly the generated baskets, so ``accepted rows = clean rows``.
* ``basket``: one transaction per line, items joined by a separator, no dirt (for
  benchmarks). A separator occurring in an item name is replaced (see
  :func:`basket_item_names`).

Beside the data file two sidecars are written (:func:`sidecar_paths`):
``<stem>.manifest.json`` (row counts, dirty rows per kind and per expected rejection
reason) and ``<stem>.planted_rules.json`` (the planted association rules with their
exact counts on the clean rows).

Item popularity is Zipf-Mandelbrot, ``p(rank) ~ 1 / (rank + offset) ** exponent``.
Planted rules ``A -> C`` use disjoint items; after the background baskets are drawn,
the antecedent is added to a share of baskets, then exactly ``round(confidence * m)``
of the ``m`` baskets holding ``A`` get ``C`` and the others lose it, so the confidence
measured on the clean rows equals the target up to rounding.

Bad encodings come in three variants (``manifest["variants"]["bad_encoding"]``):
``replacement_char`` (a U+FFFD written as valid UTF-8, i.e. mojibake replaced
upstream), ``latin1_bytes`` (the whole line written in Latin-1, so its accented
letters are invalid UTF-8 bytes: the file is then *not* valid UTF-8, and a decoder
with ``errors="replace"`` turns them into U+FFFD) and ``control_char`` (an ASCII
control character inside the description).

Generation is vectorised with numpy and pyarrow and runs in chunks of transactions;
each chunk has its own random streams derived from the seed, so a given seed and
configuration always produce the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from basket_core.reasons import Reason

Format = Literal["long", "basket"]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

COLUMNS: tuple[str, ...] = (
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
    "StoreID",
)
INVOICE, CODE, DESCRIPTION, QUANTITY, DATE, PRICE, CUSTOMER, COUNTRY, STORE = range(9)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
SPARK_TIMESTAMP_FORMAT = "yyyy-MM-dd HH:mm:ss"
FIRST_INVOICE = 536365
FIRST_CUSTOMER = 12346
MANIFEST_VERSION = 1


class Dirt(StrEnum):
    """Kinds of dirty rows; each fails exactly one cleaning rule (:data:`DIRT_REASON`)."""

    MALFORMED = "malformed"
    BLANK_INVOICE = "blank_invoice"
    BLANK_ITEM = "blank_item"
    BAD_ENCODING = "bad_encoding"
    CANCELLATION = "cancellation"
    BAD_QUANTITY = "bad_quantity"
    RETURN = "return"
    BAD_PRICE = "bad_price"
    NON_POSITIVE_PRICE = "non_positive_price"
    BAD_DATE = "bad_date"
    DUPLICATE = "duplicate"


DIRT_REASON: dict[Dirt, Reason] = {
    Dirt.MALFORMED: Reason.MALFORMED_ROW,
    Dirt.BLANK_INVOICE: Reason.BLANK_TRANSACTION_ID,
    Dirt.BLANK_ITEM: Reason.BLANK_ITEM,
    Dirt.BAD_ENCODING: Reason.BAD_ENCODING,
    Dirt.CANCELLATION: Reason.CANCELLATION,
    Dirt.BAD_QUANTITY: Reason.BAD_QUANTITY,
    Dirt.RETURN: Reason.NON_POSITIVE_QUANTITY,
    Dirt.BAD_PRICE: Reason.BAD_PRICE,
    Dirt.NON_POSITIVE_PRICE: Reason.NON_POSITIVE_PRICE,
    Dirt.BAD_DATE: Reason.BAD_TIMESTAMP,
    Dirt.DUPLICATE: Reason.DUPLICATE,
}

DIRT_WEIGHTS: dict[Dirt, float] = {
    Dirt.CANCELLATION: 0.25,
    Dirt.DUPLICATE: 0.15,
    Dirt.RETURN: 0.10,
    Dirt.BLANK_ITEM: 0.08,
    Dirt.BAD_DATE: 0.07,
    Dirt.BAD_ENCODING: 0.07,
    Dirt.BAD_QUANTITY: 0.06,
    Dirt.BAD_PRICE: 0.06,
    Dirt.MALFORMED: 0.06,
    Dirt.BLANK_INVOICE: 0.05,
    Dirt.NON_POSITIVE_PRICE: 0.05,
}

# Values that fail exactly one rule under the default InputConfig/CleaningConfig.
BAD_QUANTITIES = ("abc", "two", "", "3 pcs", "1,5", "#N/A")
BAD_PRICES = ("1,5", "", "abc", "£2.10", "2.5.1", "N/A")
NON_POSITIVE_PRICES = ("0", "0.00", "-2.51", "-0.01")
BAD_DATES = ("2026-13-45 10:61:00", "yesterday", "", "n/a", "2026-13-45", "45/13/2026 25:99")
BLANKS = ("", " ", "   ")
CONTROL_CHARS = ("\x1a", "\x07", "\x7f")
REPLACEMENT_CHAR = "\ufffd"

QUANTITY_VALUES = np.array([1, 2, 3, 4, 6, 8, 10, 12, 24, 36, 48], dtype=np.int64)
QUANTITY_WEIGHTS = np.array([40, 14, 8, 6, 8, 2, 3, 10, 5, 2, 2], dtype=np.float64)
HOUR_WEIGHTS = np.array(  # 08:00 .. 19:00
    [3, 6, 9, 11, 13, 12, 11, 10, 9, 7, 5, 4], dtype=np.float64
)

COLOURS = (
    "WHITE", "RED", "PINK", "BLUE", "GREEN", "IVORY", "BLACK", "CREAM", "GOLD", "SILVER",
    "PASTEL", "VINTAGE", "RETRO", "ANTIQUE", "NATURAL", "ROSE", "LILAC", "MINT", "CHARCOAL",
    "TURQUOISE",
)  # fmt: skip
MOTIFS = (
    "HANGING HEART", "REGENCY", "PAISLEY", "POLKADOT", "SPOTTY", "STRIPE", "FLORAL", "BIRD",
    "OWL", "UNION JACK", "ENGLISH ROSE", "CHERRY", "STAR", "SKULL", "DOILY", "LACE",
    "CHRISTMAS", "JAM MAKING", "BAROQUE", "SCANDINAVIAN", "WOODLAND", "ALPHABET", "LOVEBIRD",
    "FLEUR-DE-LYS", "CAFÉ", "NOËL", "SMÖRGÅS", '"LOVE"', '"HOME SWEET HOME"', "PIÑATA",
)  # fmt: skip
PRODUCTS = (
    "T-LIGHT HOLDER", "LANTERN", "CAKE STAND", "TEACUP AND SAUCER", "LUNCH BAG", "JUMBO BAG",
    "NAPKINS", "PARTY BUNTING", "CANDLE", "DOORMAT", "HOT WATER BOTTLE", "MUG", "BOWL",
    "CUSHION COVER", "PHOTO FRAME", "WALL CLOCK", "NOTEBOOK", "GIFT WRAP", "CAKE CASES",
    "TRINKET BOX", "COAT HANGER", "PURSE", "TISSUES", "WATER BOTTLE", "HEART DECORATION",
    "GARLAND", "STORAGE TIN", "METAL SIGN", "BOTTLE OPENER", "PLACEMATS", "TEA TOWEL",
    "BAKING SET", "LUNCH BOX", "STORAGE JAR", "PEG BAG", "APRON", "PARASOL", "WALL ART",
    "KEY RING", "SPONGE",
)  # fmt: skip
PACKS = ("", ", SET OF 3", ", SET OF 6", " PACK OF 12", ", ASSORTED", " SMALL", " LARGE", " MINI")
SPECIAL_NAMES = (
    "CRÈME BRÛLÉE SET",
    "SET OF 3 CAKE TINS, PANTRY DESIGN",
    'DOORMAT "HOME SWEET HOME" ROUND',
    "PAPIER MÂCHÉ BOWL",
    "CAFÉ AU LAIT MUG",
    'GLASS JAR "KITCHEN", LARGE',
    "SMÖRGÅSBORD PLATTER",
    "JALAPEÑO SERVING DISH",
    "FAÇADE WALL ART, GREY",
    "NOËL GARLAND",
)
SPECIAL_RANKS = (3, 8, 15, 25, 40, 60, 90, 130, 200, 300)
COUNTRIES = (
    "United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium",
    "Switzerland", "Portugal", "Norway", "Italy", "Australia",
)  # fmt: skip


@dataclass(frozen=True)
class GeneratorConfig:
    """What to generate. Invalid values raise ``ValueError`` naming the value."""

    transactions: int = 20_000
    items: int = 2_000
    stores: int = 10
    start_date: date = date(2025, 1, 1)
    days: int = 30
    dirty_share: float = 0.02
    seed: int = 0
    mean_basket: float = 5.0
    zipf_exponent: float = 1.0
    zipf_offset: float = 5.0
    rules: int = 5
    customers: int | None = None
    missing_customer_share: float = 0.2
    chunk_transactions: int = 100_000

    def __post_init__(self) -> None:
        for name in ("transactions", "items", "stores", "days", "chunk_transactions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.items < 10:
            raise ValueError(f"items must be >= 10, got {self.items}")
        if not 0.0 <= self.dirty_share < 1.0:
            raise ValueError(f"dirty_share must be in [0, 1), got {self.dirty_share}")
        if not 0.0 <= self.missing_customer_share <= 1.0:
            raise ValueError(
                f"missing_customer_share must be in [0, 1], got {self.missing_customer_share}"
            )
        if not 1.0 <= self.mean_basket <= self.items / 2:
            raise ValueError(f"mean_basket must be in [1, items/2], got {self.mean_basket}")
        if self.zipf_exponent < 0 or self.zipf_offset < 0:
            raise ValueError(
                f"zipf exponent/offset must be >= 0, got {self.zipf_exponent}/{self.zipf_offset}"
            )
        if self.rules < 0:
            raise ValueError(f"rules must be >= 0, got {self.rules}")
        if self.customers is not None and self.customers < 1:
            raise ValueError(f"customers must be >= 1, got {self.customers}")

    @property
    def customer_pool(self) -> int:
        return self.customers if self.customers is not None else max(50, self.transactions // 4)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["start_date"] = self.start_date.isoformat()
        return out


@dataclass(frozen=True)
class Catalog:
    """Items indexed by popularity rank (0 = most popular)."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    prices: FloatArray
    weights: FloatArray

    def __len__(self) -> int:
        return len(self.names)


@dataclass(frozen=True)
class Stores:
    ids: tuple[str, ...]
    countries: tuple[str, ...]
    weights: FloatArray


@dataclass(frozen=True)
class Rule:
    """A planted rule by item index, with the target confidence and antecedent share."""

    antecedent: tuple[int, ...]
    consequent: int
    confidence: float
    antecedent_share: float


@dataclass
class RuleCounts:
    """Exact counts of a planted rule on the clean baskets, summed over chunks."""

    antecedent: int = 0
    consequent: int = 0
    both: int = 0


@dataclass(frozen=True)
class Baskets:
    """Lines of a chunk sorted by basket: ``basket[i]`` holds ``item[i]``."""

    n: int
    basket: IntArray
    item: IntArray
    key: FloatArray
    """Sort key of each line: basket index + a fraction in [0, 0.5)."""


@dataclass
class GenerateResult:
    path: Path
    manifest_path: Path
    rules_path: Path
    format: Format
    rows: int
    transactions: int
    clean_rows: int
    dirty_rows: int
    dirty: dict[str, int]
    seconds: float
    manifest: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- catalog


def zipf_weights(n: int, exponent: float, offset: float) -> FloatArray:
    """Zipf-Mandelbrot probabilities for ranks 1..n."""
    w = 1.0 / (np.arange(1, n + 1, dtype=np.float64) + offset) ** exponent
    return w / w.sum()


def product_names(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` unique upper-case names: word-list combinations, special names at fixed ranks."""
    space = len(COLOURS) * len(MOTIFS) * len(PRODUCTS) * len(PACKS)
    picks = rng.choice(space, size=min(n, space), replace=False)
    names: list[str] = []
    for p in picks.tolist():
        p, pack = divmod(p, len(PACKS))
        p, prod = divmod(p, len(PRODUCTS))
        colour, motif = divmod(p, len(MOTIFS))
        names.append(f"{COLOURS[colour]} {MOTIFS[motif]} {PRODUCTS[prod]}{PACKS[pack]}")
    names += [f"{names[i % space]} NO. {i // space + 1}" for i in range(space, n)]
    for rank, special in zip(SPECIAL_RANKS, SPECIAL_NAMES, strict=True):
        if rank < n:
            names[rank] = special
    return unique_names(names)


def unique_names(names: Sequence[str], joiner: str = " #") -> list[str]:
    """Make names unique by suffixing repeats with ``<joiner>2``, ``<joiner>3``..."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        candidate, k = name, 1
        while candidate in seen:
            k += 1
            candidate = f"{name}{joiner}{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


def stock_codes(n: int, rng: np.random.Generator) -> list[str]:
    """Unique codes like ``85123`` / ``85123A`` (digits unique, a letter on ~15%)."""
    numbers = rng.choice(np.arange(10_000, 10_000 + max(90_000, 2 * n)), size=n, replace=False)
    letters = rng.choice(np.array(list("ABCDEFGL")), size=n)
    suffix = rng.random(n) < 0.15
    return [
        f"{num}{let if s else ''}" for num, let, s in zip(numbers, letters, suffix, strict=True)
    ]


def base_prices(n: int, rng: np.random.Generator) -> FloatArray:
    """Log-normal unit prices, median ~2.5, in [0.19, 99.95], two decimals."""
    raw = rng.lognormal(mean=np.log(2.5), sigma=0.8, size=n)
    return np.round(np.clip(raw, 0.19, 99.95), 2).astype(np.float64)


def build_catalog(config: GeneratorConfig) -> Catalog:
    rng = np.random.default_rng([config.seed, 0, 0])
    n = config.items
    return Catalog(
        codes=tuple(stock_codes(n, rng)),
        names=tuple(product_names(n, rng)),
        prices=base_prices(n, rng),
        weights=zipf_weights(n, config.zipf_exponent, config.zipf_offset),
    )


def build_stores(config: GeneratorConfig) -> Stores:
    """Store 0 is in the United Kingdom; about half of the others too."""
    rng = np.random.default_rng([config.seed, 0, 1])
    abroad = rng.integers(1, len(COUNTRIES), size=config.stores)
    home = rng.random(config.stores) < 0.5
    home[0] = True
    countries = tuple(COUNTRIES[0 if h else int(a)] for h, a in zip(home, abroad, strict=True))
    width = max(3, len(str(config.stores)))
    ids = tuple(f"S{i + 1:0{width}d}" for i in range(config.stores))
    return Stores(ids=ids, countries=countries, weights=zipf_weights(config.stores, 0.8, 1.0))


def plant_rules(config: GeneratorConfig) -> list[Rule]:
    """Rules on disjoint mid-popularity items; antecedents of 2, 1 and 3 items."""
    rng = np.random.default_rng([config.seed, 0, 2])
    sizes = [(2, 1, 2, 3)[i % 4] for i in range(config.rules)]
    needed = sum(sizes) + config.rules
    lo = max(1, config.items // 50)
    hi = max(lo + needed, config.items // 4)
    if hi > config.items:
        raise ValueError(
            f"{config.items} items are too few for {config.rules} planted rules "
            f"(they need {needed} distinct mid-popularity items)"
        )
    chosen = rng.choice(np.arange(lo, hi), size=needed, replace=False).tolist()
    rules: list[Rule] = []
    for size in sizes:
        ante, chosen = tuple(sorted(chosen[:size])), chosen[size:]
        cons, chosen = chosen[0], chosen[1:]
        rules.append(
            Rule(
                antecedent=ante,
                consequent=cons,
                confidence=round(float(rng.uniform(0.5, 0.9)), 2),
                antecedent_share=round(float(rng.uniform(0.03, 0.06)), 3),
            )
        )
    return rules


# ---------------------------------------------------------------- baskets


def basket_sizes(n: int, mean: float, cap: int, rng: np.random.Generator) -> IntArray:
    """1 + negative binomial (over-dispersed, long right tail), capped."""
    extra = mean - 1.0
    if extra <= 0:
        return np.ones(n, dtype=np.int64)
    r = 1.2
    sizes = 1 + rng.negative_binomial(r, r / (r + extra), size=n)
    return np.minimum(sizes, cap).astype(np.int64)


def duplicate_mask(basket: IntArray, item: IntArray, n_items: int) -> BoolArray:
    """True for every repeat of a (basket, item) pair after its first occurrence."""
    key = basket * n_items + item
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    repeat = np.zeros(len(key), dtype=bool)
    repeat[order[1:]] = sorted_key[1:] == sorted_key[:-1]
    return repeat


def draw_lines(
    sizes: IntArray, weights: FloatArray, rng: np.random.Generator, redraws: int = 6
) -> tuple[IntArray, IntArray]:
    """Items of each basket by popularity, without repeats within a basket."""
    basket = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
    cdf = np.cumsum(weights)
    cdf[-1] = 1.0

    def draw(k: int) -> IntArray:
        return np.searchsorted(cdf, rng.random(k), side="right").astype(np.int64)

    item = draw(len(basket))
    for _ in range(redraws):
        dup = duplicate_mask(basket, item, len(weights))
        if not dup.any():
            break
        item[dup] = draw(int(dup.sum()))
    keep = ~duplicate_mask(basket, item, len(weights))
    return basket[keep], item[keep]


def presence(basket: IntArray, item: IntArray, which: int, n: int) -> BoolArray:
    out = np.zeros(n, dtype=bool)
    out[basket[item == which]] = True
    return out


def apply_rules(
    n: int,
    basket: IntArray,
    item: IntArray,
    rules: Sequence[Rule],
    rng: np.random.Generator,
    counts: Sequence[RuleCounts],
) -> tuple[IntArray, IntArray]:
    """Plant each rule: add its antecedent to a share of baskets, then give exactly
    ``round(confidence * m)`` of the ``m`` baskets holding the antecedent the consequent
    and take it from the rest. Updates ``counts`` in place."""
    add_b: list[IntArray] = []
    add_i: list[IntArray] = []
    drop = np.zeros(len(item), dtype=bool)
    for rule, count in zip(rules, counts, strict=True):
        chosen = rng.random(n) < rule.antecedent_share
        has_all = np.ones(n, dtype=bool)
        for a in rule.antecedent:
            present = presence(basket, item, a, n)
            missing = np.flatnonzero(chosen & ~present)
            add_b.append(missing)
            add_i.append(np.full(len(missing), a, dtype=np.int64))
            has_all &= present | chosen
        holders = np.flatnonzero(has_all)
        k = round(rule.confidence * len(holders))
        want = np.zeros(n, dtype=bool)
        want[rng.choice(holders, size=k, replace=False)] = True
        has_c = presence(basket, item, rule.consequent, n)
        drop |= (item == rule.consequent) & has_all[basket] & ~want[basket]
        gain = np.flatnonzero(want & ~has_c)
        add_b.append(gain)
        add_i.append(np.full(len(gain), rule.consequent, dtype=np.int64))
        final_c = (has_c & ~has_all) | want
        count.antecedent += len(holders)
        count.both += k
        count.consequent += int(final_c.sum())
    keep = ~drop
    return (
        np.concatenate([basket[keep], *add_b]),
        np.concatenate([item[keep], *add_i]),
    )


def draw_baskets(
    n: int,
    config: GeneratorConfig,
    catalog: Catalog,
    rules: Sequence[Rule],
    counts: Sequence[RuleCounts],
    rng: np.random.Generator,
) -> Baskets:
    cap = max(1, min(100, len(catalog) // 2))
    sizes = basket_sizes(n, config.mean_basket, cap, rng)
    basket, item = draw_lines(sizes, catalog.weights, rng)
    basket, item = apply_rules(n, basket, item, rules, rng, counts)
    key = basket + 0.5 * rng.random(len(basket))
    order = np.argsort(key, kind="stable")
    return Baskets(n=n, basket=basket[order], item=item[order], key=key[order])


# ---------------------------------------------------------------- long format


def csv_escape(value: str) -> str:
    """RFC 4180 quoting, only when needed."""
    if any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def escape_array(values: Sequence[str]) -> pa.Array:
    return pa.array([csv_escape(v) for v in values], type=pa.string())


def int_strings(values: npt.NDArray[Any]) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


@dataclass(frozen=True)
class ChunkFields:
    """The nine CSV fields (already escaped) of every clean line of a chunk."""

    columns: tuple[pa.Array, ...]
    key: FloatArray
    tx_of_line: IntArray
    quantity: IntArray


def transaction_fields(
    first: int, n: int, config: GeneratorConfig, stores: Stores, rng: np.random.Generator
) -> dict[str, pa.Array]:
    """Per transaction: invoice number, timestamp, customer, store and country strings.
    Days follow the global transaction index, so invoice numbers rise with time."""
    g = np.arange(first, first + n, dtype=np.int64)
    day = g * config.days // config.transactions
    hour = 8 + rng.choice(len(HOUR_WEIGHTS), size=n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    secs = np.sort(day * 86_400 + hour * 3_600 + rng.integers(0, 3_600, size=n))
    epoch = (config.start_date - date(1970, 1, 1)).days * 86_400
    ts = pa.array((epoch + secs).astype("datetime64[s]"))
    customer = FIRST_CUSTOMER + rng.integers(0, config.customer_pool, size=n)
    missing = rng.random(n) < config.missing_customer_share
    cust = pc.if_else(pa.array(missing), pa.scalar(""), int_strings(customer))
    store = rng.choice(len(stores.ids), size=n, p=stores.weights)
    return {
        "invoice": int_strings(FIRST_INVOICE + g),
        "date": pc.strftime(ts, format=TIMESTAMP_FORMAT),
        "customer": cust,
        "store": pc.take(pa.array(stores.ids), pa.array(store)),
        "country": pc.take(escape_array(stores.countries), pa.array(store)),
    }


def line_fields(
    baskets: Baskets,
    tx: dict[str, pa.Array],
    catalog_cols: dict[str, pa.Array],
    rng: np.random.Generator,
) -> ChunkFields:
    qty = rng.choice(QUANTITY_VALUES, size=len(baskets.item), p=_norm(QUANTITY_WEIGHTS))
    t = pa.array(baskets.basket)
    i = pa.array(baskets.item)
    columns = (
        pc.take(tx["invoice"], t),
        pc.take(catalog_cols["code"], i),
        pc.take(catalog_cols["name"], i),
        int_strings(qty),
        pc.take(tx["date"], t),
        pc.take(catalog_cols["price"], i),
        pc.take(tx["customer"], t),
        pc.take(tx["country"], t),
        pc.take(tx["store"], t),
    )
    return ChunkFields(columns=columns, key=baskets.key, tx_of_line=baskets.basket, quantity=qty)


def _norm(w: FloatArray) -> FloatArray:
    return w / w.sum()


def dirty_counts(clean_rows: int, share: float) -> dict[Dirt, int]:
    """Dirty rows per kind so that dirty / (clean + dirty) ~ share (largest remainder)."""
    total = round(clean_rows * share / (1.0 - share)) if share > 0 else 0
    kinds = list(DIRT_WEIGHTS)
    exact = np.array([DIRT_WEIGHTS[k] for k in kinds]) * total
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - int(counts.sum())]] += 1
    return {k: int(c) for k, c in zip(kinds, counts, strict=True)}


@dataclass
class DirtyRows:
    """Dirty rows of a chunk: regular rows (nine escaped fields) and raw byte lines."""

    fields: list[list[pa.Array]] = field(default_factory=list)
    field_keys: list[FloatArray] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    raw_keys: list[float] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    variants: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, cols: list[pa.Array], keys: FloatArray) -> None:
        self.fields.append(cols)
        self.field_keys.append(keys)

    def note(self, kind: Dirt, n: int, variant: str | None = None) -> None:
        self.counts[kind.value] = self.counts.get(kind.value, 0) + n
        if variant is not None:
            per = self.variants.setdefault(kind.value, {})
            per[variant] = per.get(variant, 0) + n


def _pick(values: Sequence[str], n: int, rng: np.random.Generator) -> pa.Array:
    choice = rng.integers(0, len(values), size=n)
    return pc.take(escape_array(values), pa.array(choice))


def _host_cols(chunk: ChunkFields, hosts: IntArray) -> list[pa.Array]:
    idx = pa.array(hosts)
    return [pc.take(c, idx) for c in chunk.columns]


def _within(chunk: ChunkFields, hosts: IntArray, rng: np.random.Generator) -> FloatArray:
    """Keys that put a row among its host transaction's lines."""
    return chunk.tx_of_line[hosts] + 0.5 * rng.random(len(hosts))


def make_dirt(
    chunk: ChunkFields,
    counts: dict[Dirt, int],
    catalog: Catalog,
    rng: np.random.Generator,
) -> DirtyRows:
    """Dirty rows built from random host lines, each failing exactly one cleaning rule."""
    out = DirtyRows()
    n_lines = len(chunk.key)
    for kind in Dirt:
        n = counts.get(kind, 0)
        if n == 0:
            continue
        hosts = rng.integers(0, n_lines, size=n)
        MAKERS[kind](out, chunk, hosts, catalog, rng)
    return out


def _override(
    kind: Dirt, column: int, values: Sequence[str]
) -> Callable[[DirtyRows, ChunkFields, IntArray, Catalog, np.random.Generator], None]:
    def make(
        out: DirtyRows,
        chunk: ChunkFields,
        hosts: IntArray,
        _catalog: Catalog,
        rng: np.random.Generator,
    ) -> None:
        cols = _host_cols(chunk, hosts)
        cols[column] = _pick(values, len(hosts), rng)
        out.add(cols, _within(chunk, hosts, rng))
        out.note(kind, len(hosts))

    return make


def _duplicate(
    out: DirtyRows, chunk: ChunkFields, hosts: IntArray, _catalog: Catalog, rng: np.random.Generator
) -> None:
    """Exact copies, right after the copied line."""
    out.add(_host_cols(chunk, hosts), chunk.key[hosts] + 1e-9)
    out.note(Dirt.DUPLICATE, len(hosts))


def _return(
    out: DirtyRows, chunk: ChunkFields, hosts: IntArray, _catalog: Catalog, rng: np.random.Generator
) -> None:
    """A negative quantity on the host's (normal) invoice, after its purchases."""
    cols = _host_cols(chunk, hosts)
    back = np.minimum(chunk.quantity[hosts], rng.integers(1, 4, size=len(hosts)))
    cols[QUANTITY] = int_strings(-back)
    out.add(cols, chunk.tx_of_line[hosts] + 0.5 + 0.49 * rng.random(len(hosts)))
    out.note(Dirt.RETURN, len(hosts))


def _cancellation(
    out: DirtyRows, chunk: ChunkFields, hosts: IntArray, _catalog: Catalog, rng: np.random.Generator
) -> None:
    """Invoice ``C<host invoice>`` cancelling the host lines (negative quantities)."""
    cols = _host_cols(chunk, hosts)
    cols[INVOICE] = pc.binary_join_element_wise(pa.scalar("C"), cols[INVOICE], pa.scalar(""))
    cols[QUANTITY] = int_strings(-chunk.quantity[hosts])
    out.add(cols, chunk.tx_of_line[hosts] + 0.9995 + 1e-5 * (chunk.key[hosts] % 1.0))
    out.note(Dirt.CANCELLATION, len(hosts))


def _bad_encoding(
    out: DirtyRows, chunk: ChunkFields, hosts: IntArray, catalog: Catalog, rng: np.random.Generator
) -> None:
    """A third each: U+FFFD in the description, a control character in it, or the line
    written in Latin-1 with an accented item name (invalid UTF-8 bytes)."""
    latin = latin1_items(catalog)
    variant = rng.integers(0, 3 if latin else 2, size=len(hosts))
    keys = _within(chunk, hosts, rng)
    for v, name in enumerate(("replacement_char", "control_char", "latin1_bytes")):
        sel, sel_keys = hosts[variant == v], keys[variant == v]
        if len(sel) == 0:
            continue
        cols = _host_cols(chunk, sel)
        if name == "latin1_bytes":
            items = rng.choice(np.array(latin, dtype=np.int64), size=len(sel)).tolist()
            for row, it, key in zip(_rows(cols), items, sel_keys.tolist(), strict=True):
                row[CODE], row[PRICE] = catalog.codes[it], _price_str(catalog.prices[it])
                row[DESCRIPTION] = csv_escape(catalog.names[it])
                out.raw.append(",".join(row).encode("latin-1"))
                out.raw_keys.append(key)
        else:
            descriptions = cols[DESCRIPTION].to_pylist()
            cols[DESCRIPTION] = escape_array(
                [_mangle(_unescape(d), name, rng) for d in descriptions]
            )
            out.add(cols, sel_keys)
        out.note(Dirt.BAD_ENCODING, len(sel), name)


def _rows(cols: Sequence[pa.Array]) -> list[list[str]]:
    return [list(r) for r in zip(*[c.to_pylist() for c in cols], strict=True)]


def _malformed(
    out: DirtyRows, chunk: ChunkFields, hosts: IntArray, _catalog: Catalog, rng: np.random.Generator
) -> None:
    """A truncated line (3-8 fields) or an unquoted comma in the description (10 fields)."""
    cols = _host_cols(chunk, hosts)
    rows = _rows(cols)
    keys = _within(chunk, hosts, rng)
    truncated = rng.random(len(hosts)) < 0.5
    cut = rng.integers(3, len(COLUMNS), size=len(hosts))
    for row, t, k, key in zip(rows, truncated, cut, keys, strict=True):
        if t:
            line = ",".join(row[: int(k)])
            out.note(Dirt.MALFORMED, 1, "truncated")
        else:
            plain = _unescape(row[DESCRIPTION]).replace('"', "").replace(",", "")
            head, _, tail = plain.partition(" ")
            row[DESCRIPTION] = f"{head}, {tail}" if tail else f"{head},"
            line = ",".join(row)
            out.note(Dirt.MALFORMED, 1, "unquoted_comma")
        out.raw.append(line.encode("utf-8"))
        out.raw_keys.append(float(key))


MAKERS: dict[Dirt, Callable[[DirtyRows, ChunkFields, IntArray, Catalog, np.random.Generator], None]]
MAKERS = {
    Dirt.MALFORMED: _malformed,
    Dirt.BLANK_INVOICE: _override(Dirt.BLANK_INVOICE, INVOICE, BLANKS),
    Dirt.BLANK_ITEM: _override(Dirt.BLANK_ITEM, DESCRIPTION, BLANKS),
    Dirt.BAD_ENCODING: _bad_encoding,
    Dirt.CANCELLATION: _cancellation,
    Dirt.BAD_QUANTITY: _override(Dirt.BAD_QUANTITY, QUANTITY, BAD_QUANTITIES),
    Dirt.RETURN: _return,
    Dirt.BAD_PRICE: _override(Dirt.BAD_PRICE, PRICE, BAD_PRICES),
    Dirt.NON_POSITIVE_PRICE: _override(Dirt.NON_POSITIVE_PRICE, PRICE, NON_POSITIVE_PRICES),
    Dirt.BAD_DATE: _override(Dirt.BAD_DATE, DATE, BAD_DATES),
    Dirt.DUPLICATE: _duplicate,
}


def latin1_items(catalog: Catalog) -> list[int]:
    """Items whose name, written in Latin-1, is not valid UTF-8."""
    out = []
    for i, name in enumerate(catalog.names):
        try:
            raw = name.encode("latin-1")
        except UnicodeEncodeError:
            continue
        if REPLACEMENT_CHAR in raw.decode("utf-8", errors="replace"):
            out.append(i)
    return out


def _unescape(value: str) -> str:
    return next(csv.reader([value]))[0] if value.startswith('"') else value


def _mangle(name: str, variant: str, rng: np.random.Generator) -> str:
    """Put a U+FFFD or a control character inside ``name`` (never at its ends)."""
    pos = int(rng.integers(1, max(2, len(name))))
    if variant == "replacement_char":
        return name[:pos] + REPLACEMENT_CHAR + name[pos + 1 :]
    ctl = CONTROL_CHARS[int(rng.integers(0, len(CONTROL_CHARS)))]
    return name[:pos] + ctl + name[pos:]


def _price_str(p: float) -> str:
    return f"{p:.2f}"


def lines_bytes(lines: pa.Array) -> bytes:
    """Concatenate a (large) binary array into newline-terminated lines, without a
    Python object per line: the data buffer of the terminated array is the file text."""
    if len(lines) == 0:
        return b""
    lines = lines.cast(pa.large_binary())
    empty, newline = pa.scalar(b"", pa.large_binary()), pa.scalar(b"\n", pa.large_binary())
    out = pc.binary_join_element_wise(lines, empty, newline)
    offsets = np.frombuffer(out.buffers()[1], dtype=np.int64)
    first, last = int(offsets[out.offset]), int(offsets[out.offset + len(out)])
    return out.buffers()[2].to_pybytes()[first:last]


def long_chunk_bytes(chunk: ChunkFields, dirt: DirtyRows) -> bytes:
    """All rows of a chunk (clean and dirty) in key order, as CSV bytes."""
    sep = pa.scalar(",")
    groups = [list(chunk.columns), *dirt.fields]
    joined = [pc.binary_join_element_wise(*cols, sep).cast(pa.large_binary()) for cols in groups]
    joined.append(pa.array(dirt.raw, type=pa.large_binary()))
    keys = np.concatenate([chunk.key, *dirt.field_keys, np.array(dirt.raw_keys)])
    lines = pa.concat_arrays(joined)
    order = np.argsort(keys, kind="stable")
    return lines_bytes(pc.take(lines, pa.array(order)))


def catalog_columns(catalog: Catalog) -> dict[str, pa.Array]:
    return {
        "code": escape_array(catalog.codes),
        "name": escape_array(catalog.names),
        "price": pa.array([_price_str(p) for p in catalog.prices.tolist()], type=pa.string()),
    }


# ---------------------------------------------------------------- basket format


def basket_item_names(names: Sequence[str], sep: str) -> list[str]:
    """Names usable in basket format: a ``sep`` inside a name becomes a space (or ``_``,
    ``-`` when the separator holds a space), runs of spaces collapse, and repeats are made
    unique. ``"BAG, SET OF 3"`` with ``sep=","`` becomes ``"BAG SET OF 3"``."""
    if not sep or "\n" in sep or "\r" in sep:
        raise ValueError(f"basket separator must be non-empty and not a newline, got {sep!r}")
    sub = next(c for c in (" ", "_", "-", ".") if c not in sep)
    out = []
    for name in names:
        replaced = name.replace(sep, sub)
        if sub == " ":
            replaced = " ".join(replaced.split())
        out.append(replaced.strip() or sub)
    return unique_names(out, joiner=sub + ("#" if "#" not in sep else "no"))


def basket_chunk_bytes(baskets: Baskets, names: pa.Array, sep: str) -> bytes:
    counts = np.bincount(baskets.basket, minlength=baskets.n)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    values = pc.take(names, pa.array(baskets.item))
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), values)
    return lines_bytes(pc.binary_join(lists, sep).cast(pa.large_binary()))


# ---------------------------------------------------------------- driver


def sidecar_paths(output: Path) -> tuple[Path, Path]:
    """``(manifest, planted rules)`` beside a data file: ``<stem>.manifest.json`` and
    ``<stem>.planted_rules.json``, where the stem drops ``.gz`` and the data suffix."""
    name = output.name
    for suffix in (".gz", ".csv", ".txt", ".tsv"):
        name = name.removesuffix(suffix)
    return (
        output.with_name(f"{name}.manifest.json"),
        output.with_name(f"{name}.planted_rules.json"),
    )


def chunk_bounds(total: int, size: int) -> list[tuple[int, int]]:
    return [(lo, min(total, lo + size)) for lo in range(0, total, size)]


def chunk_rngs(seed: int, index: int) -> tuple[np.random.Generator, ...]:
    """Independent streams for baskets, transaction fields, line fields and dirt, so the
    baskets are the same in both formats."""
    return tuple(
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 1, index]).spawn(4)
    )


@contextmanager
def open_output(path: Path, gz: bool) -> Iterator[IO[bytes]]:
    """A binary file; gzip (level 3, no name or time in the header) when ``gz``."""
    with path.open("wb") as raw:
        if not gz:
            yield raw
            return
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=3) as z:
            yield cast(IO[bytes], z)


def generate(
    config: GeneratorConfig,
    output: Path,
    *,
    fmt: Format = "long",
    sep: str = ",",
    on_chunk: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Write the data file and its two sidecars; ``on_chunk(n)`` is called after each
    chunk of ``n`` transactions. ``.gz`` output is gzip-compressed."""
    if fmt not in ("long", "basket"):
        raise ValueError(f"format must be 'long' or 'basket', got {fmt!r}")
    start = time.perf_counter()
    catalog, stores, rules = build_catalog(config), build_stores(config), plant_rules(config)
    counts = [RuleCounts() for _ in rules]
    names = basket_item_names(catalog.names, sep) if fmt == "basket" else list(catalog.names)
    cat_cols = catalog_columns(catalog)
    basket_names = pa.array(names, type=pa.string())
    clean_rows, dirty_total = 0, DirtyRows()
    output.parent.mkdir(parents=True, exist_ok=True)
    part = output.with_name(output.name + ".part")
    with open_output(part, output.name.endswith(".gz")) as fh:
        if fmt == "long":
            fh.write((",".join(COLUMNS) + "\n").encode())
        for index, (lo, hi) in enumerate(
            chunk_bounds(config.transactions, config.chunk_transactions)
        ):
            rb, rt, rl, rd = chunk_rngs(config.seed, index)
            baskets = draw_baskets(hi - lo, config, catalog, rules, counts, rb)
            clean_rows += len(baskets.item)
            if fmt == "basket":
                fh.write(basket_chunk_bytes(baskets, basket_names, sep))
            else:
                tx = transaction_fields(lo, hi - lo, config, stores, rt)
                chunk = line_fields(baskets, tx, cat_cols, rl)
                dirt = make_dirt(
                    chunk, dirty_counts(len(baskets.item), config.dirty_share), catalog, rd
                )
                fh.write(long_chunk_bytes(chunk, dirt))
                _merge_counts(dirty_total, dirt)
            if on_chunk is not None:
                on_chunk(hi - lo)
    os.replace(part, output)
    seconds = time.perf_counter() - start
    manifest = build_manifest(config, output, fmt, sep, clean_rows, dirty_total, len(catalog))
    planted = planted_json(rules, counts, names, catalog, config.transactions)
    manifest_path, rules_path = sidecar_paths(output)
    _write_json(manifest_path, manifest)
    _write_json(rules_path, planted)
    dirty = dict(manifest["dirty"])
    return GenerateResult(
        path=output,
        manifest_path=manifest_path,
        rules_path=rules_path,
        format=fmt,
        rows=manifest["rows"],
        transactions=config.transactions,
        clean_rows=clean_rows,
        dirty_rows=manifest["dirty_rows"],
        dirty=dirty,
        seconds=seconds,
        manifest=manifest,
    )


def _merge_counts(total: DirtyRows, chunk: DirtyRows) -> None:
    for kind, n in chunk.counts.items():
        total.counts[kind] = total.counts.get(kind, 0) + n
    for kind, per in chunk.variants.items():
        into = total.variants.setdefault(kind, {})
        for variant, n in per.items():
            into[variant] = into.get(variant, 0) + n


def build_manifest(
    config: GeneratorConfig,
    output: Path,
    fmt: Format,
    sep: str,
    clean_rows: int,
    dirt: DirtyRows,
    n_items: int,
) -> dict[str, Any]:
    dirty = {k.value: dirt.counts.get(k.value, 0) for k in Dirt} if fmt == "long" else {}
    dirty_rows = sum(dirty.values())
    reasons = {DIRT_REASON[Dirt(k)].value: n for k, n in dirty.items()}
    rows = clean_rows + dirty_rows if fmt == "long" else config.transactions
    return {
        "manifest_version": MANIFEST_VERSION,
        "generator": "basket_devtools.generate",
        "file": output.name,
        "format": fmt,
        "basket_sep": sep if fmt == "basket" else None,
        "header": fmt == "long",
        "columns": list(COLUMNS) if fmt == "long" else None,
        "timestamp_format": SPARK_TIMESTAMP_FORMAT if fmt == "long" else None,
        "config": config.to_json(),
        "rows": rows,
        "transactions": config.transactions,
        "items": n_items,
        "clean_rows": clean_rows,
        "dirty_rows": dirty_rows,
        "dirty": dirty,
        "expected_reasons": reasons,
        "variants": {k: dict(sorted(v.items())) for k, v in sorted(dirt.variants.items())},
        "valid_utf8": dirt.variants.get(Dirt.BAD_ENCODING.value, {}).get("latin1_bytes", 0) == 0,
        "notes": (
            "Every dirty row is an extra row failing exactly one cleaning rule "
            "(expected_reasons, in basket_core.reasons order); the clean rows are exactly the "
            "generated baskets (one per transaction). latin1_bytes rows are written in "
            "Latin-1, so the file is not valid UTF-8 when there are any."
        ),
    }


def planted_json(
    rules: Sequence[Rule],
    counts: Sequence[RuleCounts],
    names: Sequence[str],
    catalog: Catalog,
    baskets: int,
) -> dict[str, Any]:
    out = []
    for rule, c in zip(rules, counts, strict=True):
        out.append(
            {
                "antecedent": sorted(names[i] for i in rule.antecedent),
                "consequent": [names[rule.consequent]],
                "antecedent_codes": [catalog.codes[i] for i in rule.antecedent],
                "consequent_codes": [catalog.codes[rule.consequent]],
                "target_confidence": rule.confidence,
                "target_antecedent_support": rule.antecedent_share,
                "antecedent_count": c.antecedent,
                "consequent_count": c.consequent,
                "count": c.both,
                "support": c.both / baskets,
                "confidence": c.both / c.antecedent if c.antecedent else 0.0,
                "lift": (c.both * baskets) / (c.antecedent * c.consequent)
                if c.antecedent and c.consequent
                else 0.0,
            }
        )
    return {
        "baskets": baskets,
        "notes": (
            "Counts are exact on the clean baskets. Planted items are disjoint across rules; "
            "confidence = count / antecedent_count equals target_confidence up to rounding."
        ),
        "rules": out,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
