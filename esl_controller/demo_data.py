"""A believable demo store catalogue: a Romanian supermarket with imported goods.

Names come in Romanian, German, Polish, Hungarian, Russian and Greek (the scripts and
diacritics labels must draw), some very long; pack sizes in every unit the unit price
rule knows; valid GTIN-13s; stock that is sometimes low or out; price histories that mostly
reach 60+ days back but for a few products cover less than the 30 days the prior-price rule
needs; and about one product in ten on a promotion running now.

Pure: returns unsaved `models` objects and index-keyed price data; the caller inserts them.
The same seed and `now` give the same catalogue.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from esl_controller.catalogue.gtin import gtin_check_digit
from esl_controller.catalogue.prior_price import PricePoint
from esl_controller.catalogue.promotions import PromoPeriod
from esl_controller.models import PriceHistory, Product, Promotion, Store

# GS1 country prefixes of the goods' origins.
RO, DE, PL, HU, RU, GR, IT, FR = "594", "400", "590", "599", "460", "520", "800", "300"


@dataclass(frozen=True)
class ProductTemplate:
    name: str  # "{v}" is replaced by each variant
    brand: str
    prefix: str  # GS1 prefix of the origin
    unit: str
    sizes: tuple[float, ...]
    price_minor: int  # for the first size
    variants: tuple[str, ...] = ("",)


T = ProductTemplate
TEMPLATES: tuple[ProductTemplate, ...] = (
    # Romanian
    T("Lapte de vacă integral 3,5% grăsime", "Fermele Ardealului", RO, "l", (1, 1.5), 899),
    T("Iaurt de casă {v}", "Fermele Ardealului", RO, "g", (140, 400), 349,
      ("natur", "cu căpșuni", "cu afine", "cu piersici")),
    T("Smântână pentru gătit 20%", "Fermele Ardealului", RO, "ml", (200, 400), 649),
    T("Unt cu 82% grăsime", "Fermele Ardealului", RO, "g", (200,), 1099),
    T("Ouă de găină crescute în aer liber", "Fermele Ardealului", RO, "piece", (10, 30), 1499),
    T("Brânză telemea de oaie", "Stâna din Bucegi", RO, "g", (400, 800), 2299),
    T("Cașcaval de vacă Rucăr", "Stâna din Bucegi", RO, "g", (300, 500), 1899),
    T("Pâine albă feliată", "Brutăria Ștefănescu", RO, "g", (500,), 599),
    T("Cozonac cu {v}", "Brutăria Ștefănescu", RO, "g", (450, 900), 2499,
      ("nucă și cacao", "rahat și stafide", "mac")),
    T("Zacuscă de vinete cu ardei copți", "Cămara Bunicii", RO, "g", (300, 500), 1299),
    T("Dulceață de {v}", "Cămara Bunicii", RO, "g", (360,), 1149,
      ("caise", "prune", "cireșe amare", "gutui", "smochine")),
    T("Castraveți murați în oțet", "Cămara Bunicii", RO, "g", (680,), 1099),
    T("Ardei iuți murați", "Cămara Bunicii", RO, "g", (314,), 999),
    T("Salam de Sibiu", "Mezeluri Târnăveni", RO, "g", (250, 500), 2899),
    T("Mușchi țigănesc afumat", "Mezeluri Târnăveni", RO, "g", (150, 300), 1599),
    T("Mici de porc și vită", "Mezeluri Târnăveni", RO, "kg", (1,), 3499),
    T("Făină albă de grâu tip 000", "Morile Dunării", RO, "kg", (1, 2, 5), 499),
    T("Mălai extra pentru mămăligă", "Morile Dunării", RO, "g", (500, 1000), 399),
    T("Ulei de floarea-soarelui", "Câmpia Bărăganului", RO, "l", (1, 2, 5), 1099),
    T("Apă minerală naturală carbogazoasă", "Izvorul Călimani", RO, "l", (0.5, 1.5, 2), 249),
    T("Apă plată de izvor, bax", "Izvorul Călimani", RO, "piece", (6,), 1499),
    T("Suc de {v} 100%", "Livezile Sătmărene", RO, "l", (1,), 899,
      ("mere", "portocale", "struguri", "vișine")),
    T("Mere Ionatan", "Livezile Sătmărene", RO, "kg", (1,), 599),
    T("Cartofi albi", "Grădina Bârsei", RO, "kg", (2, 5), 699),
    T("Roșii de Dăbuleni", "Grădina Bârsei", RO, "kg", (1,), 1299),
    T("Țuică de prune bătrână", "Pivnițele Hârtibaciului", RO, "cl", (50, 70), 4999),
    T("Vin roșu sec {v}", "Crama Dealu Mare", RO, "ml", (750,), 3499,
      ("Fetească Neagră", "Băbească Neagră", "Cabernet Sauvignon")),
    T("Bere blondă nefiltrată", "Berăria Făgăraș", RO, "ml", (500,), 499),
    T("Bere blondă nefiltrată, bax", "Berăria Făgăraș", RO, "piece", (6, 12), 2699),
    T("Ciocolată cu lapte și {v}", "Dulciurile Măgurii", RO, "g", (100, 250), 799,
      ("alune de pădure", "stafide", "biscuiți")),
    T(
        "Ciocolată amăruie 70% cacao cu coajă de portocală confiată și migdale prăjite "
        "caramelizate – ediție limitată de sărbători",
        "Dulciurile Măgurii", RO, "g", (200,), 2499,
    ),
    T("Biscuiți cu unt și fulgi de ovăz", "Dulciurile Măgurii", RO, "g", (200,), 699),
    T("Cafea măcinată prăjită {v}", "Cafeneaua Veche", RO, "g", (250, 500), 2499,
      ("intensă", "decofeinizată")),
    T("Ceai de {v}", "Plafar Carpați", RO, "g", (40,), 899,
      ("tei", "mușețel", "mentă", "cătină și măceșe")),
    T(
        "Detergent lichid pentru rufe albe și colorate, parfum de lavandă și flori de câmp, "
        "concentrat pentru 80 de spălări",
        "Curățenie Plus", RO, "l", (2, 4), 3999,
    ),
    T("Hârtie igienică albă, 3 straturi", "Curățenie Plus", RO, "piece", (8, 16), 1899),
    T("Prosoape de bucătărie", "Curățenie Plus", RO, "piece", (2, 4), 999),
    T("Folie alimentară din polietilenă", "Casa Bună", RO, "m", (30, 50), 899),
    T("Panglică decorativă din satin", "Casa Bună", RO, "cm", (200, 500), 799),
    # German
    T("Weißbier naturtrüb", "Brauerei Großmühle", DE, "ml", (500,), 749),
    T("Süßer Senf nach bayerischer Art", "Großmühle Feinkost", DE, "ml", (250,), 899),
    T("Käsespätzle mit Röstzwiebeln", "Großmühle Feinkost", DE, "g", (400,), 1499),
    T("Früchtemüsli {v}", "Bergmühle", DE, "g", (500, 750), 1799,
      ("ohne Zuckerzusatz", "mit Nüssen")),
    T("Pumpernickel Vollkornbrot", "Bergmühle", DE, "g", (500,), 899),
    T("Lebkuchenherzen mit Zartbitterschokolade", "Nürnberger Backstube", DE, "g", (150,), 1299),
    T(
        "Weißwürste nach Münchner Art, traditionell im Naturdarm – große Vorratspackung "
        "für Familienfeste",
        "Metzgerei Fuß", DE, "g", (600,), 2999,
    ),
    # Polish
    T("Masło ekstra 82%", "Mleczarnia Łąkowa", PL, "g", (200,), 1199),
    T("Żurek śląski na zakwasie", "Smaki Żywca", PL, "ml", (500,), 899),
    T("Pierogi {v}", "Smaki Żywca", PL, "g", (450,), 1399,
      ("ruskie z cebulką", "z kapustą i grzybami", "z mięsem")),
    T("Ogórki kiszone", "Smaki Żywca", PL, "g", (870,), 1199),
    T("Kiełbasa żywiecka podsuszana", "Masarnia Łukowska", PL, "g", (300,), 1999),
    T("Kabanosy wieprzowe", "Masarnia Łukowska", PL, "g", (105,), 899),
    T("Ptasie mleczko {v}", "Słodka Łódź", PL, "g", (340,), 2199, ("waniliowe", "cytrynowe")),
    # Hungarian
    T("Téli szalámi", "Szegedi Hús", HU, "g", (300,), 3499),
    T("Őrölt fűszerpaprika, {v}", "Kalocsai Fűszer", HU, "g", (100,), 899, ("csemege", "erős")),
    T("Erős paprikakrém", "Kalocsai Fűszer", HU, "g", (200,), 1099),
    T("Tokaji aszú 5 puttonyos", "Tokaji Pincészet", HU, "ml", (500,), 12999),
    T("Szőlőlé 100%", "Tokaji Pincészet", HU, "l", (1,), 1099),
    T("Füstölt trappista sajt", "Alföldi Tejüzem", HU, "g", (250,), 1599),
    # Russian
    T("Пельмени сибирские", "Северная Кухня", RU, "g", (800,), 2999),
    T("Квас хлебный", "Северная Кухня", RU, "l", (1.5,), 999),
    T("Гречка ядрица", "Алтайские Поля", RU, "g", (900,), 1199),
    T("Сгущённое молоко цельное с сахаром", "Молочный Край", RU, "g", (380,), 899),
    T("Икра лососёвая зернистая", "Камчатский Улов", RU, "g", (140,), 8999),
    T("Конфеты шоколадные с дроблёным фундуком", "Красный Кондитер", RU, "g", (250,), 2199),
    T(
        "Чай чёрный байховый листовой с чабрецом, мятой и лепестками шиповника — "
        "подарочная жестяная банка",
        "Чайный Двор", RU, "g", (100,), 3499,
    ),
    # Greek
    T("Φέτα ΠΟΠ", "Ηπειρώτικη Γη", GR, "g", (200, 400), 1899),
    T("Γιαούρτι στραγγιστό 10%", "Ηπειρώτικη Γη", GR, "g", (500,), 1499),
    T("Ελαιόλαδο εξαιρετικό παρθένο", "Κρητικός Ελαιώνας", GR, "l", (0.75, 1, 5), 4999),
    T("Ελιές Καλαμών", "Κρητικός Ελαιώνας", GR, "g", (350,), 1799),
    T("Μέλι θυμαρίσιο", "Μελισσοκομία Αιγαίου", GR, "g", (450,), 3499),
    T("Ούζο", "Αποστακτήριο Λέσβου", GR, "ml", (200, 700), 2499),
    T("Χαλβάς με αμύγδαλα", "Μακεδονικά Γλυκά", GR, "g", (400,), 1999),
    # Italian and French
    T("Spaghetti di semola di grano duro n.5", "Pastificio Gragnano", IT, "g", (500, 1000), 799),
    T("Moutarde de Dijon à l'ancienne", "Maison Bélanger", FR, "g", (210,), 1199),
)  # fmt: skip

# Later rounds over the templates, when a store wants more products than the templates have.
EDITIONS = ("pachet economic", "ediție limitată", "rețetă nouă", "bio", "fără gluten")

SHORT_HISTORY_SHARE = 0.04  # products listed under 30 days ago: no prior price yet
PROMO_SHARE = 0.09
NEW_PRODUCT_PROMO_SHARE = 0.5
EARLIER_PROMO_SHARE = 0.3  # of promoted products: another promotion ended within 30 days
LOW_SHARE, OUT_SHARE, UNTRACKED_SHARE = 0.08, 0.05, 0.03


@dataclass
class DemoCatalogue:
    """Products of one store with their prices over time, by index into `products`.

    Ids are assigned on insert, so history and promotions name their product by index:
    `history[i]` is product i's regular prices, oldest first; `promotions` holds
    (i, Promotion) pairs whose `product_id` is left for the caller to set.
    """

    store: Store
    products: list[Product]
    history: dict[int, list[PricePoint]] = field(default_factory=dict)
    promotions: list[tuple[int, Promotion]] = field(default_factory=list)

    def promotions_of(self, index: int) -> list[Promotion]:
        return [promotion for i, promotion in self.promotions if i == index]

    def history_rows(self, product_ids: Sequence[int]) -> list[PriceHistory]:
        """`PriceHistory` rows, once the products are inserted (`product_ids[i]` for index i)."""
        self._check_ids(product_ids)
        return [
            PriceHistory(
                product_id=product_ids[index],
                price_minor=point.price_minor,
                effective_at=point.effective_at,
                source="demo",
            )
            for index, points in sorted(self.history.items())
            for point in points
        ]

    def promotion_rows(self, product_ids: Sequence[int]) -> list[Promotion]:
        """Fresh `Promotion` rows with their product ids (the held ones stay untouched)."""
        self._check_ids(product_ids)
        return [
            Promotion(
                product_id=product_ids[index],
                price_minor=promo.price_minor,
                starts_at=promo.starts_at,
                ends_at=promo.ends_at,
                source=promo.source,
            )
            for index, promo in self.promotions
        ]

    def _check_ids(self, product_ids: Sequence[int]) -> None:
        if len(product_ids) != len(self.products):
            raise ValueError(
                f"expected {len(self.products)} product ids (one per product), "
                f"got {len(product_ids)}"
            )


def demo_catalogue(
    store_id: str, n_products: int = 300, seed: int = 7, *, now: datetime
) -> DemoCatalogue:
    """A deterministic demo catalogue of `n_products` for a Romanian store (RON, ro_RO).

    `now` is aware UTC; every time in the catalogue is derived from it.
    """
    if n_products < 0:
        raise ValueError(f"n_products must not be negative, got {n_products}")
    if now.tzinfo is None or now.utcoffset() != timedelta(0):
        raise ValueError(f"now must be an aware UTC datetime (as clock.utcnow gives), got {now!r}")
    rng = random.Random(seed)
    store = Store(
        id=store_id,
        name="Supermarket Demo Cluj-Napoca",
        locale="ro_RO",
        currency="RON",
        timezone="Europe/Bucharest",
    )
    catalogue = DemoCatalogue(store=store, products=[])
    item_numbers: dict[str, int] = {}
    for index, (template, variant, size, edition) in enumerate(_offers(rng, n_products)):
        gtin = _next_gtin(template, item_numbers)
        history = _price_history(rng, _pack_price(rng, template, size), now)
        product = _product(rng, store, template, variant, size, edition, gtin, history, now)
        catalogue.products.append(product)
        catalogue.history[index] = history
        for period in _promotions(rng, history, now):
            promotion = Promotion(
                price_minor=period.price_minor,
                starts_at=period.starts_at,
                ends_at=period.ends_at,
                source="demo",
            )
            catalogue.promotions.append((index, promotion))
    return catalogue


def _offers(rng: random.Random, count: int) -> list[tuple[ProductTemplate, str, float, str]]:
    """(template, variant, size, edition) for `count` products, in a seeded shelf order."""
    base = [
        (template, variant, size)
        for template in TEMPLATES
        for variant in template.variants
        for size in template.sizes
    ]
    offers: list[tuple[ProductTemplate, str, float, str]] = []
    round_number = 0
    while len(offers) < count:
        edition = _edition(round_number)
        offers.extend((t, v, s, edition) for t, v, s in base)
        round_number += 1
    offers = offers[:count]
    rng.shuffle(offers)
    return offers


def _edition(round_number: int) -> str:
    if round_number == 0:
        return ""
    if round_number <= len(EDITIONS):
        return EDITIONS[round_number - 1]
    return f"seria {round_number + 1}"


def _next_gtin(template: ProductTemplate, item_numbers: dict[str, int]) -> str:
    # Prefix (3) + a company number per brand (4) + an item number (5) + check digit.
    company = sum(template.brand.encode("utf-8")) % 10_000
    key = f"{template.prefix}{company:04d}"
    item_numbers[key] = item_numbers.get(key, 0) + 1
    body = f"{key}{item_numbers[key]:05d}"
    return body + str(gtin_check_digit(body))


def _pack_price(rng: random.Random, template: ProductTemplate, size: float) -> int:
    # Bigger packs cost less per unit, as on a real shelf.
    scaled = template.price_minor * (size / template.sizes[0]) ** 0.9
    return _shelf_price(scaled * rng.uniform(0.95, 1.1))


def _shelf_price(minor: float) -> int:
    """A price ending in 9 (12.49 lei), never below 0.09."""
    return max(9, round(minor / 10) * 10 - 1)


def _price_history(rng: random.Random, current: int, now: datetime) -> list[PricePoint]:
    """Regular prices from listing until now, ending at `current`."""
    if rng.random() < SHORT_HISTORY_SHARE:
        listed_days_ago = rng.randint(3, 25)
    else:
        listed_days_ago = rng.randint(60, 150)
    listed = _at_store_hours(now - timedelta(days=listed_days_ago), rng)
    n_changes = min(rng.randint(0, 3), listed_days_ago - 1)
    change_days_ago = sorted(rng.sample(range(1, listed_days_ago), n_changes), reverse=True)
    moments = [listed] + [
        _at_store_hours(now - timedelta(days=days), rng) for days in change_days_ago
    ]
    # The listing price and each change but the last are history; the last change is today's.
    prices = [_shelf_price(current * rng.uniform(0.85, 1.15)) for _ in change_days_ago]
    prices.append(current)
    return [PricePoint(price, moment) for price, moment in zip(prices, moments, strict=True)]


def _at_store_hours(moment: datetime, rng: random.Random) -> datetime:
    """Price changes land before opening (04:00-06:00 UTC), like an ERP's nightly run."""
    return moment.replace(hour=rng.randint(4, 5), minute=0, second=0, microsecond=0)


def _promotions(rng: random.Random, history: list[PricePoint], now: datetime) -> list[PromoPeriod]:
    """An active promotion for about one product in ten, sometimes after an earlier one.

    New products get one more often, so the "not enough price history" label shows.
    """
    is_new = history[0].effective_at > now - timedelta(days=30)
    draw = rng.random()
    if draw < (NEW_PRODUCT_PROMO_SHARE if is_new else PROMO_SHARE):
        current = _active_promotion(rng, history, now)
        if not is_new and rng.random() < EARLIER_PROMO_SHARE:
            return [_earlier_promotion(rng, history, current), current]
        return [current]
    return []


def _active_promotion(rng: random.Random, history: list[PricePoint], now: datetime) -> PromoPeriod:
    regular = history[-1].price_minor
    starts = max(
        _at_store_hours(now - timedelta(days=rng.randint(1, 10)), rng),
        history[-1].effective_at + timedelta(hours=1),  # a reduction from the current price
    )
    starts = min(starts, now)
    ends = _at_store_hours(now + timedelta(days=rng.randint(2, 14)), rng)
    return PromoPeriod(_reduced(rng, regular), starts, ends)


def _earlier_promotion(
    rng: random.Random, history: list[PricePoint], current: PromoPeriod
) -> PromoPeriod:
    """A week-long promotion that ended inside the 30 days before `current` started."""
    ends = current.starts_at - timedelta(days=rng.randint(4, 20))
    starts = ends - timedelta(days=7)
    return PromoPeriod(_reduced(rng, history[-1].price_minor), starts, ends)


def _reduced(rng: random.Random, regular: int) -> int:
    return max(9, min(regular - 10, _shelf_price(regular * rng.uniform(0.65, 0.9))))


def _product(
    rng: random.Random,
    store: Store,
    template: ProductTemplate,
    variant: str,
    size: float,
    edition: str,
    gtin: str,
    history: list[PricePoint],
    now: datetime,
) -> Product:
    name = template.name.replace("{v}", variant) if variant else template.name
    if edition:
        name = f"{name} – {edition}"
    threshold = rng.choice((3, 5, 5, 8, 10))
    stock, restock = _stock(rng, threshold, now)
    return Product(
        store_id=store.id,
        gtin=gtin,
        name=name,
        brand=template.brand,
        net_quantity=float(size),
        unit=template.unit,
        price_minor=history[-1].price_minor,
        currency=store.currency,
        stock=stock,
        low_stock_threshold=threshold,
        restock_date=restock,
        updated_at=now,
    )


def _stock(rng: random.Random, threshold: int, now: datetime) -> tuple[int | None, date | None]:
    draw = rng.random()
    if draw < OUT_SHARE:
        # Most empty shelves have a delivery date; some wait on a supplier.
        restock = now.date() + timedelta(days=rng.randint(1, 10)) if rng.random() < 0.8 else None
        return 0, restock
    if draw < OUT_SHARE + LOW_SHARE:
        return rng.randint(1, threshold), None
    if draw < OUT_SHARE + LOW_SHARE + UNTRACKED_SHARE:
        return None, None
    return rng.randint(threshold + 1, 140), None
