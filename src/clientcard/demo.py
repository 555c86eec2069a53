"""Demo data: about 200 realistic customers with Spanish, Polish and English names, several
contact points each, phones from several countries, companies with their people."""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from clientcard.accounts import service as accounts
from clientcard.accounts.schemas import AccountCreate, RelationCreate
from clientcard.addresses import try_normalize_phone
from clientcard.auth.actor import system_actor
from clientcard.campaigns import records as campaign_records
from clientcard.campaigns import service as campaigns
from clientcard.campaigns.records import CampaignRecordCreate
from clientcard.campaigns.schemas import CampaignCreate
from clientcard.cases import service as cases
from clientcard.cases.schemas import CaseCreate
from clientcard.contacts.schemas import ContactPointCreate
from clientcard.custom_fields import service as custom_fields
from clientcard.custom_fields.models import CustomGroup
from clientcard.custom_fields.schemas import CustomFieldCreate, CustomGroupCreate
from clientcard.customers import service as customers
from clientcard.customers.models import Customer
from clientcard.customers.schemas import CustomerCreate, CustomerUpdate
from clientcard.interactions import service as interactions

# (country, language, first names (female, male), last names, mobile formats, city/street)
LOCALES = {
    "ES": (
        "es",
        ["Lucía", "María", "Carmen", "Sofía", "Elena", "Paula", "Marta", "Ana", "Laura", "Isabel"],
        ["Javier", "Carlos", "José", "Manuel", "Pablo", "Álvaro", "Diego", "Sergio", "Jorge"],
        [
            "García",
            "Fernández",
            "González",
            "Rodríguez",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
            "Gómez",
            "Martín",
            "Jiménez",
            "Ruiz",
            "Hernández",
            "Díaz",
            "Muñoz",
        ],
        ["6{:02d} {:03d} {:03d}", "7{:02d} {:03d} {:03d}"],
        [
            ("Madrid", "Calle de Alcalá"),
            ("Barcelona", "Carrer de Mallorca"),
            ("Sevilla", "Avenida de la Constitución"),
            ("Valencia", "Carrer de Colón"),
        ],
        ("dni", "{:08d}{}"),
    ),
    "PL": (
        "pl",
        ["Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Zofia", "Magdalena", "Joanna"],
        ["Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Łukasz", "Jakub"],
        [
            "Nowak",
            "Kowalski",
            "Wiśniewski",
            "Wójcik",
            "Kowalczyk",
            "Kamiński",
            "Lewandowski",
            "Zieliński",
            "Szymański",
            "Woźniak",
            "Dąbrowski",
            "Kozłowski",
        ],
        ["5{:02d} {:03d} {:03d}", "6{:02d} {:03d} {:03d}", "7{:02d} {:03d} {:03d}"],
        [
            ("Warszawa", "ul. Marszałkowska"),
            ("Kraków", "ul. Floriańska"),
            ("Gdańsk", "ul. Długa"),
            ("Wrocław", "ul. Świdnicka"),
        ],
        ("pesel", None),
    ),
    "GB": (
        "en",
        ["Olivia", "Amelia", "Isla", "Emily", "Grace", "Charlotte", "Sophie", "Hannah"],
        ["Oliver", "George", "Harry", "Jack", "Noah", "Charlie", "Thomas", "James"],
        [
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Johnson",
            "Davies",
            "Evans",
            "Walker",
            "Wright",
            "Thompson",
        ],
        ["079{:02d} {:03d}{:03d}", "078{:02d} {:03d}{:03d}"],
        [("London", "Baker Street"), ("Manchester", "Deansgate"), ("Leeds", "Briggate")],
        ("passport", None),
    ),
    "US": (
        "en",
        ["Emma", "Ava", "Mia", "Harper", "Evelyn", "Abigail"],
        ["Liam", "Ethan", "Mason", "Logan", "Lucas", "Henry"],
        ["Miller", "Moore", "Anderson", "Jackson", "White", "Harris", "Martin", "Clark"],
        ["(212) {:03d}-{:04d}", "(415) {:03d}-{:04d}"],
        [("New York", "Broadway"), ("San Francisco", "Market Street")],
        ("ssn", None),
    ),
}
COMPANIES = [
    ("ES", "Transportes Ibéricos S.L."),
    ("ES", "Construcciones Levante S.A."),
    ("ES", "Clínica Dental Sonrisa"),
    ("PL", "Mleczarnia Mazowsze sp. z o.o."),
    ("PL", "Kowalski i Synowie"),
    ("PL", "Biuro Rachunkowe Bilans"),
    ("GB", "Thames Valley Logistics Ltd"),
    ("GB", "Brightside Energy plc"),
    ("US", "Acme Hardware Inc."),
    ("US", "Bluebird Travel LLC"),
]
TAGS = [
    "newsletter",
    "b2b",
    "complaint-2025",
    "loyal",
    "prospect",
    "payment-plan",
    "spanish",
    "callback",
]
DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("ł", "l").replace("Ł", "L"))
    return "".join(ch for ch in folded if not unicodedata.combining(ch)).lower().replace(" ", "")


def _mobile(rng: random.Random, region: str) -> str:
    """A random number in the region's usual notation that phonenumbers accepts as valid."""
    while True:
        template = rng.choice(LOCALES[region][4])
        if region == "US":
            number = template.format(rng.randint(201, 989), rng.randint(0, 9999))
        else:
            number = template.format(rng.randint(0, 99), rng.randint(0, 999), rng.randint(0, 999))
        if try_normalize_phone(number, region=region):
            return number


def _identification(rng: random.Random, region: str) -> tuple[str, str]:
    kind = LOCALES[region][6][0]
    if kind == "dni":
        number = rng.randint(10_000_000, 99_999_999)
        return kind, f"{number}{DNI_LETTERS[number % 23]}"
    if kind == "pesel":
        return (
            kind,
            f"{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
            f"{rng.randint(10000, 99999)}",
        )
    if kind == "passport":
        return kind, f"{rng.randint(100_000_000, 999_999_999)}"
    return kind, f"{rng.randint(100, 899):03d}{rng.randint(10, 99):02d}{rng.randint(1000, 9999)}"


def load_demo(session: Session, *, count: int = 200, seed: int = 7) -> int:
    """Loads the demo customers through the same service functions as the API."""
    rng = random.Random(seed)
    actor = system_actor("demo")
    companies: dict[str, list[Customer]] = {region: [] for region in LOCALES}
    created = 0
    for region, name in COMPANIES:
        domain = _ascii(name.split()[0]) + {"ES": ".es", "PL": ".pl", "GB": ".co.uk"}.get(
            region, ".com"
        )
        city, street = rng.choice(LOCALES[region][5])
        company = customers.create_customer(
            session,
            actor=actor,
            data=CustomerCreate(
                kind="company",
                company_name=name,
                language=LOCALES[region][0],
                tags=["b2b"],
                vip=rng.random() < 0.3,
                contact_points=[
                    ContactPointCreate(type="email", value=f"info@{domain}", label="work"),
                    ContactPointCreate(
                        type="phone", value=_mobile(rng, region), region=region, label="work"
                    ),
                    ContactPointCreate(
                        type="address",
                        street=f"{street} {rng.randint(1, 200)}",
                        city=city,
                        country=region,
                        label="work",
                    ),
                    ContactPointCreate(type="web", value=f"https://www.{domain}", label="work"),
                ],
            ),
        )
        companies[region].append(company)
        created += 1

    weights = {"ES": 0.35, "PL": 0.35, "GB": 0.18, "US": 0.12}
    regions = list(weights)
    seen_emails: set[str] = set()
    while created < count:
        region = rng.choices(regions, weights=[weights[r] for r in regions])[0]
        language, female, male, last_names, _, places, _ = LOCALES[region]
        gender = rng.choice(["female", "male"])
        first = rng.choice(female if gender == "female" else male)
        last = rng.choice(last_names)
        if region == "ES":
            last = f"{last} {rng.choice(last_names)}"
        if region == "PL" and gender == "female" and last.endswith("ski"):
            last = last[:-1] + "a"
        employer = rng.choice(companies[region]) if rng.random() < 0.25 else None
        email = f"{_ascii(first)}.{_ascii(last.split()[0])}{rng.randint(1, 99)}@" + rng.choice(
            ["gmail.com", "outlook.com", "yahoo.com", "wp.pl", "onet.pl", "hotmail.es"]
        )
        if email in seen_emails:
            continue
        seen_emails.add(email)
        points = [
            ContactPointCreate(type="email", value=email, label="private"),
            ContactPointCreate(
                type="mobile", value=_mobile(rng, region), region=region, label="private"
            ),
        ]
        if rng.random() < 0.5:
            points.append(
                ContactPointCreate(
                    type="whatsapp", value=points[1].value, region=region, label="private"
                )
            )
        if rng.random() < 0.4:
            city, street = rng.choice(places)
            points.append(
                ContactPointCreate(
                    type="address",
                    street=f"{street} {rng.randint(1, 120)}",
                    city=city,
                    postal_code=f"{rng.randint(10000, 99999)}",
                    country=region,
                    label="home",
                )
            )
        if employer is not None:
            company_mail = employer.contact_points[0].normalized.split("@")[1]
            points.append(
                ContactPointCreate(
                    type="email",
                    value=f"{_ascii(first)}.{_ascii(last.split()[0])}@{company_mail}",
                    label="work",
                )
            )
        if rng.random() < 0.2:
            points.append(
                ContactPointCreate(
                    type="social",
                    network=rng.choice(["facebook", "instagram", "linkedin", "x"]),
                    value=f"@{_ascii(first)}{_ascii(last.split()[0])}",
                    label="private",
                )
            )
        id_type, id_number = _identification(rng, region)
        birth_year = rng.randint(1950, 2004)
        customers.create_customer(
            session,
            actor=actor,
            data=CustomerCreate(
                kind="person",
                first_name=first,
                last_name=last,
                gender=gender,
                birth_date=f"{birth_year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                language=language,
                identification_type=id_type,
                identification_number=id_number,
                company_id=employer.id if employer else None,
                company_name=employer.company_name if employer else None,
                tags=rng.sample(TAGS, k=rng.choice([0, 0, 1, 1, 2])),
                vip=rng.random() < 0.08,
                hidden=rng.random() < 0.02,
                note=rng.choice(
                    [
                        None,
                        None,
                        None,
                        "Prefers to be called after 17:00.",
                        "Hard of hearing: speak slowly.",
                        "Ask for the account holder before discussing payments.",
                    ]
                ),
                contact_points=points,
            ),
        )
        created += 1
    return created


SUBJECTS = {
    "voice": ["Asked about the last invoice", "Wants to change the tariff", "Reported no signal"],
    "email": ["Invoice question", "Request for a copy of the contract", "Change of address"],
    "sms": ["Your appointment is confirmed", "Payment received, thank you"],
    "chat": ["Help with the online account", "Where is my order?"],
    "whatsapp": ["Photo of the damaged parcel", "Can you call me back?", "Thanks!"],
    "web": ["Contact form: upgrade offer", "Contact form: complaint"],
}
CASE_SUBJECTS = [
    ("Invoice charged twice", "complaint"),
    ("Router does not connect", "claim"),
    ("How to change the payment date", "question"),
    ("Offer a loyalty discount", "suggestion"),
]


def load_activity(session: Session, *, seed: int = 11) -> int:
    """Gives the demo customers a life: interactions on every channel over the last 90 days,
    cases, accounts, relations, a campaign with records, lead statuses and ratings, and an
    "Orders" custom field group. Everything goes through the service functions (and so into
    the history). Returns the number of interactions stored."""
    rng = random.Random(seed)
    actor = system_actor("demo")
    if session.get(CustomGroup, "orders") is not None:
        return 0  # the demo's activity is loaded already
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    people = list(
        session.scalars(
            select(Customer)
            .where(Customer.kind == "person", Customer.deleted_at.is_(None))
            .options(selectinload(Customer.contact_points))
            .order_by(Customer.id)
        )
    )
    winback = campaigns.create_campaign(
        session,
        actor=actor,
        data=CampaignCreate(name="Winback 2026", direction="outbound", settings={}),
    ).campaign
    custom_fields.create_group(
        session, actor=actor, data=CustomGroupCreate(key="orders", label="Orders")
    )
    for key, label, kind in (
        ("product", "Product", "text"),
        ("quantity", "Quantity", "number"),
        ("ordered_on", "Date", "date"),
    ):
        custom_fields.create_field(
            session,
            actor=actor,
            data=CustomFieldCreate(
                key=key, label=label, type=kind, group="orders", required=key == "product"
            ),
        )
    custom_fields.create_field(
        session,
        actor=actor,
        data=CustomFieldCreate(
            key="segment",
            label="Customer segment",
            type="choice",
            options=["retail", "small business", "corporate"],
        ),
    )
    items: list[dict[str, object]] = []
    for person in people:
        points = {p.type: p.normalized for p in person.contact_points}
        for n in range(rng.randint(2, 8)):
            channel = rng.choice(["voice", "voice", "email", "sms", "chat", "whatsapp", "web"])
            address = points.get("email") if channel in ("email", "web", "chat") else None
            address = address or points.get("mobile")
            direction = "outbound" if channel == "sms" or rng.random() < 0.3 else "inbound"
            started = now - dt.timedelta(minutes=rng.randint(30, 90 * 24 * 60))
            status = {
                "voice": rng.choice(["answered", "answered", "missed"]),
                "sms": "delivered",
                "whatsapp": rng.choice(["delivered", "read"]),
            }.get(channel)
            item: dict[str, object] = {
                "source": "demo",
                "external_id": f"{person.id}-{n}",
                "channel": channel,
                "direction": direction,
                "customer_id": person.id,
                "from" if direction == "inbound" else "to": address,
                "started_at": started.isoformat(),
                "subject": rng.choice(SUBJECTS[channel]),
                "status": status,
            }
            if channel == "voice":
                duration = rng.randint(40, 900) if status == "answered" else 0
                item["ended_at"] = (started + dt.timedelta(seconds=duration)).isoformat()
                item["queue"] = rng.choice(["Sales", "Support", "Billing"])
                item["details"] = {"duration_s": duration, "ivr_path": rng.choice(["1>3", "2"])}
            else:
                item["body"] = item["subject"]
            items.append(item)
    stored = 0
    for start in range(0, len(items), 1000):
        results = interactions.ingest(session, actor=actor, items=items[start : start + 1000])
        stored += sum(r.result == "created" for r in results)

    statuses = ["new", "in_progress", "sale", "no_sale"]
    for index, person in enumerate(people):
        if rng.random() < 0.6:
            customers.update_customer(
                session,
                actor=actor,
                customer_id=person.id,
                data=CustomerUpdate(
                    lead_status=rng.choice(statuses),
                    rating=rng.randint(1, 5),
                    custom={"segment": rng.choice(["retail", "retail", "small business"])},
                ),
                expected_version=None,
                origin="demo",
            )
        account_id = None
        if rng.random() < 0.35:
            account_id = accounts.create_account(
                session,
                actor=actor,
                customer_id=person.id,
                data=AccountCreate(
                    number=f"ACC-{100000 + person.id}",
                    type=rng.choice(["contract", "subscription", "loan"]),
                    data={
                        "plan": rng.choice(["Fibre 600", "Mobile L", "TV Plus"]),
                        "since": f"{rng.randint(2015, 2025)}-0{rng.randint(1, 9)}-01",
                    },
                ),
            ).id
        if rng.random() < 0.3:
            subject, case_type = rng.choice(CASE_SUBJECTS)
            cases.create_case(
                session,
                actor=actor,
                customer_id=person.id,
                data=CaseCreate(
                    subject=subject,
                    type=case_type,
                    priority=rng.choice(["low", "medium", "medium", "high"]),
                    status=rng.choice(["new", "open", "pending", "closed"]),
                    account_id=account_id,
                ),
            )
        if rng.random() < 0.2:
            campaign_records.create_record(
                session,
                actor=actor,
                customer_id=person.id,
                data=CampaignRecordCreate(
                    campaign_id=winback.id,
                    status=rng.choice(["pending", "callback", "contacted"]),
                    recontact_at=now + dt.timedelta(days=rng.randint(1, 14), hours=2),
                    note="Offer the loyalty discount.",
                ),
            )
        if rng.random() < 0.15:
            custom_fields.create_record(
                session,
                actor=actor,
                customer_id=person.id,
                group_key="orders",
                values={
                    "product": rng.choice(["Router AX3000", "Mobile L", "TV box"]),
                    "quantity": rng.randint(1, 3),
                    "ordered_on": (now - dt.timedelta(days=rng.randint(5, 300))).date().isoformat(),
                },
            )
        if index % 9 == 1 and index + 1 < len(people):
            accounts.create_relation(
                session,
                actor=actor,
                customer_id=person.id,
                data=RelationCreate(
                    other_id=people[index + 1].id, labels=[rng.choice(["spouse", "sibling"])]
                ),
            )
    return stored


def customer_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Customer)) or 0
