"""Invented case-log data for the benchmark, the crash-stress script and tests.

Every person, employer, agency and village here is made up: names are random
pairs of syllables from small per-script tables (Khmer, Thai, Burmese, Nepali,
Bengali, Latin, Arabic), so no real person's data is ever used. Intakes fill
every field the way the intake form would, with values the validator accepts.
Everything is drawn from a seeded ``random.Random``, so a seed gives the same data.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from mrc_desktop.cases import vocab


def words(text: str) -> list[str]:
    return text.split()


# Syllables to build names from; a name is given + family (or 2-3 syllables in Burmese).
SYLLABLES = {
    "km": words("សុ ខា ស្រី ពៅ ចាន់ ធា រី វណ្ណ ដា នី សំ ណាង ភា រ័ត្ន បូ ផល គា មុំ លី ហេង"),
    "th": words("สม ชาย ศรี สุ ดา วรร ณา ประ ภา กิต ติ พร ทอง มา นิ รัตน์ แก้ว บุญ ชัย ลี"),
    "my": words("အောင် မြင့် သန်း ခိုင် စု မာ ဝင်း ထွန်း နွယ် ကျော် လှ ဇော် မိုး ဆွေ ဖြူ ညို"),
    "ne": words("रा म सी ता कु मार बि ष्णु गु रु श्रे ष्ठ थ पा ल दे वी सु"),
    "bn": words("রা হি ম সু মি তা আ কা শ জা ন রু বি না হো সে লি"),
    "latin": words("an di ri sa tu ma nu li wa ti yo ra den gus ing ah ro mel"),
    "ar": words("عا مي نة فا طي سا لم حس ين نو ر ها دي زي نب"),
}
SCRIPT_PEOPLE = {
    # script: (weight, [(origin country, nationality, language, phone prefix)], destinations)
    "km": (20, [("KH", "Cambodian", "km", "+855")], ["TH", "MY", "KR", "JP"]),
    "th": (10, [("TH", "Thai", "th", "+66")], ["IL", "TW", "KR"]),
    "my": (20, [("MM", "Myanmar", "my", "+95")], ["TH", "MY", "SG"]),
    "ne": (15, [("NP", "Nepali", "ne", "+977")], ["QA", "AE", "SA", "MY", "KW"]),
    "bn": (10, [("BD", "Bangladeshi", "bn", "+880")], ["SA", "AE", "MY", "SG", "QA"]),
    "latin": (
        20,
        [
            ("ID", "Indonesian", "id", "+62"),
            ("PH", "Filipino", "fil", "+63"),
            ("VN", "Vietnamese", "vi", "+84"),
        ],
        ["MY", "HK", "TW", "SA", "JP"],
    ),
    "ar": (5, [("SD", "Sudanese", "ar", "+249")], ["SA", "AE", "QA"]),
}
COUNTRY_NAMES = {
    "TH": "Thailand",
    "MY": "Malaysia",
    "KR": "Korea",
    "JP": "Japan",
    "IL": "Israel",
    "TW": "Taiwan",
    "SG": "Singapore",
    "QA": "Qatar",
    "AE": "the Emirates",
    "SA": "Saudi Arabia",
    "KW": "Kuwait",
    "HK": "Hong Kong",
}
CURRENCY = {
    "TH": ("THB", 9000, 15000),
    "MY": ("MYR", 1200, 1800),
    "KR": ("KRW", 1800000, 2300000),
    "JP": ("JPY", 150000, 210000),
    "IL": ("ILS", 5000, 6500),
    "TW": ("TWD", 24000, 29000),
    "SG": ("SGD", 600, 1200),
    "QA": ("QAR", 1000, 1800),
    "AE": ("AED", 900, 2000),
    "SA": ("SAR", 900, 1800),
    "KW": ("KWD", 90, 160),
    "HK": ("HKD", 4700, 5200),
}
OCCUPATIONS = {
    "agriculture": ["farm worker", "palm oil harvester", "greenhouse worker"],
    "construction": ["mason", "steel fixer", "helper on site"],
    "domestic_work": ["housekeeper", "carer for an elderly person", "nanny"],
    "fishing": ["deckhand", "fish processing worker"],
    "manufacturing": ["machine operator", "electronics assembler", "packer"],
    "garments": ["sewing operator", "quality checker"],
    "hospitality": ["cleaner", "kitchen helper", "waiter"],
    "health": ["nursing aide"],
    "other": ["security guard", "driver"],
}
EMPLOYER_WORDS = (
    words("Golden Bright Eastern Silver Lotus Pacific Crescent Northstar Harbor Jade Summit"),
    words("Fishing Garment Construction Palm Poultry Electronics Homecare Hotel Rubber Foods"),
    ["Co., Ltd.", "Sdn Bhd", "LLC", "Group", "Trading", "Enterprise"],
)
AGENCY_WORDS = (
    words("Asia Star Unity Bridge Global Royal Prime Sunrise Mekong Himalaya Delta Oasis"),
    ["Manpower", "Recruitment", "Overseas Employment", "Human Resources", "Placement"],
)
COUNSELLORS = ("dara", "malis", "thida", "nimol", "sopheap", "ratana", "kalyan", "vanna")
# documents_held_by keys, and how a note says who holds the passport
HOLDERS = {"employer": "employer", "agency": "agency", "other": "broker", "unknown": "employer"}
SCHEMES = ("MOU", "EPS", "TITP", "none", "G2G", "private contract")
RISK_FLAGS = ("retaliation", "health", "minor", "trafficking", "pregnant")
ORGS = (
    "the union's migrant desk",
    "the legal aid clinic",
    "the labour office",
    "the embassy's labour attaché",
    "a shelter run by an NGO",
)
STATUS_WEIGHTS = {
    "new": 10,
    "in_progress": 25,
    "referred": 15,
    "awaiting_response": 15,
    "resolved": 20,
    "closed_unresolved": 10,
    "withdrawn": 5,
}
NARRATIVE = (
    "The worker came to the centre from {village} and asked for help with {employer}.",
    "The contract said {agreed} a month but {employer} paid only {paid}"
    " and has held back {months} months of wages.",
    "The agency {agency} charged a fee of {fee} {cur} before departure and gave no receipt.",
    "The passport is kept by the {holder}; the worker cannot change employer without it.",
    "Working hours are from 6 in the morning to 10 at night, seven days a week.",
    "The worker signed a second contract in {dest} in a language they cannot read.",
    "Deductions for housing and food take almost half of the pay every month.",
    "A supervisor at {employer} shouted at the workers and threatened to call the police.",
    "After complaining, the worker was told the visa would not be renewed.",
    "Five workers share one room above the workshop; there is no clean water.",
    "The worker hurt a hand on a machine and the employer refused to pay the clinic.",
    "Family in {village} borrowed {fee} {cur} for the recruitment fees and still owe it.",
    "The worker wants the unpaid wages and to go home safely.",
)
NOTES = (
    "Called {employer} about the unpaid wages; the manager promised an answer on Friday.",
    "Worker says the passport is still with the {holder}.",
    "Explained the complaint procedure at the labour office and what papers to bring.",
    "Referred to {org} for advice on the wage claim.",
    "Follow-up call: the worker received part of the wages ({paid}).",
    "Wrote to {agency} asking for the fee receipt; no reply yet.",
    "The worker moved to a shelter in {dest}; new phone number recorded.",
    "Met the worker with a union organiser; agreed to file a joint complaint.",
)


@dataclass(frozen=True)
class Person:
    """An invented worker: name in one script, where they come from, how to reach them."""

    script: str
    name: str
    origin: str
    nationality: str
    language: str
    phone: str


def syllable_word(rng: random.Random, script: str, low: int = 1, high: int = 3) -> str:
    return "".join(rng.choice(SYLLABLES[script]) for _ in range(rng.randint(low, high)))


def invented_name(rng: random.Random, script: str) -> str:
    words = 3 if script == "my" else 2
    name = " ".join(syllable_word(rng, script, 1 if script == "my" else 2) for _ in range(words))
    return name.title() if script == "latin" else name


def invented_person(rng: random.Random) -> Person:
    scripts = list(SCRIPT_PEOPLE)
    script = rng.choices(scripts, weights=[SCRIPT_PEOPLE[s][0] for s in scripts])[0]
    origin, nationality, language, prefix = rng.choice(SCRIPT_PEOPLE[script][1])
    digits = "".join(rng.choice("0123456789") for _ in range(8))
    phone = f"{prefix} {digits[:2]} {digits[2:5]} {digits[5:]}"
    return Person(script, invented_name(rng, script), origin, nationality, language, phone)


def invented_employer(rng: random.Random) -> str:
    return " ".join(rng.choice(words) for words in EMPLOYER_WORDS)


def invented_agencies(rng: random.Random, count: int) -> list[dict[str, str]]:
    """Agency register rows (name, licence number, country, status, contacts)."""
    agencies = []
    for number in range(count):
        script = rng.choice(list(SCRIPT_PEOPLE))
        country = SCRIPT_PEOPLE[script][1][0][0]
        name = f"{rng.choice(AGENCY_WORDS[0])} {rng.choice(AGENCY_WORDS[1])} {number + 1}"
        agencies.append(
            {
                "name": name,
                "licence_no": f"{country}-{rng.randint(100, 999)}/{rng.randint(2015, 2025)}",
                "country": country,
                "licence_status": rng.choice(("valid", "valid", "valid", "expired", "unknown")),
                "contacts": f"office +{rng.randint(10, 99)} {rng.randint(1000000, 9999999)}",
            }
        )
    return agencies


def intake(
    rng: random.Random,
    agencies: list[tuple[str, str]],
    today: dt.date | None = None,
    every_field: bool = False,
) -> dict[str, Any]:
    """A case as the intake form would save it (``agencies``: (id, name) pairs).

    With ``every_field`` all optional fields are filled (the heaviest realistic save);
    otherwise some are left empty, as in real intakes.
    """
    today = today or dt.date.today()
    person = invented_person(rng)
    dest = rng.choice(SCRIPT_PEOPLE[person.script][2])
    sector = rng.choice(list(vocab.SECTORS))
    cur, low, high = CURRENCY[dest]
    agreed = rng.randrange(low, high, max(1, (high - low) // 20))
    paid = int(agreed * rng.uniform(0.3, 0.9))
    employer = invented_employer(rng)
    channel = rng.choice(list(vocab.CHANNELS))
    agency_id, agency_name = rng.choice(agencies) if agencies else (None, "an agent")
    if channel != "private_agency" and not every_field and rng.random() < 0.5:
        agency_id = None
    holder = rng.choice(list(HOLDERS))
    age = rng.randint(19, 52)
    born = today - dt.timedelta(days=age * 365 + rng.randint(30, 330))
    words = {
        "village": syllable_word(rng, person.script, 2, 3),
        "employer": employer,
        "agreed": f"{agreed:,} {cur}",
        "paid": f"{paid:,} {cur}",
        "months": rng.randint(2, 9),
        "agency": agency_name,
        "fee": f"{rng.randint(8, 60) * 100:,}",
        "cur": "USD",
        "holder": HOLDERS[holder],
        "dest": COUNTRY_NAMES[dest],
    }
    sentences = rng.sample(NARRATIVE, rng.randint(4, 7))
    narrative = " ".join(s.format(**words) for s in sentences)
    consent = {
        purpose: {
            "given": rng.random() < 0.8,
            "on": (today - dt.timedelta(days=rng.randint(0, 30))).isoformat(),
            "by": rng.choice(COUNSELLORS),
        }
        for purpose in vocab.CONSENT_PURPOSES
        if every_field or rng.random() < 0.7
    }
    case: dict[str, Any] = {
        "status": rng.choices(list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values()))[0],
        "assignee": rng.choice(COUNSELLORS),
        "categories": sorted(rng.sample(list(vocab.CATEGORIES), rng.randint(1, 3))),
        "risk_flags": sorted(rng.sample(RISK_FLAGS, rng.randint(1 if every_field else 0, 2))),
        "consent": consent,
        "person_name": person.name,
        "sex": rng.choice(list(vocab.SEXES)),
        "birth_date": born.isoformat(),
        "age": str(age),
        "nationality": person.nationality,
        "language": person.language,
        "phone": person.phone,
        "messaging": f"WhatsApp {person.phone}",
        "origin_country": person.origin,
        "destination_country": dest,
        "sector": sector,
        "occupation": rng.choice(OCCUPATIONS[sector]),
        "migration_status": rng.choice(list(vocab.MIGRATION_STATUS)),
        "scheme": rng.choice(SCHEMES),
        "employer": employer,
        "recruitment_channel": channel,
        "agency_id": agency_id,
        "contract_written": rng.choice(("yes", "no")),
        "contract_substituted": rng.choice(("yes", "no", "unknown")),
        "documents_held_by": holder,
        "wage_agreed": words["agreed"],
        "wage_paid": words["paid"],
        "forced_labour": sorted(
            rng.sample(list(vocab.FORCED_LABOUR_INDICATORS), rng.randint(1, 4))
        ),
        "stage": rng.choice(list(vocab.STAGES)),
        "union_member": rng.choice(("yes", "no")),
        "retaliation_risk": rng.choice(("low", "medium", "high")),
        "narrative": narrative,
    }
    if not every_field:
        for name in ("age", "messaging", "scheme", "contract_substituted", "union_member"):
            if rng.random() < 0.4:
                del case[name]
        if "age" in case and rng.random() < 0.5:
            del case["birth_date"]
    return case


def note(rng: random.Random, case: dict[str, Any], agency_name: str = "the agency") -> str:
    """A counsellor's note about ``case`` (an ``intake`` dict)."""
    words = {
        "employer": case.get("employer") or "the employer",
        "holder": HOLDERS.get(case.get("documents_held_by", ""), "employer"),
        "org": rng.choice(ORGS),
        "paid": case.get("wage_paid") or "some money",
        "agency": agency_name,
        "dest": COUNTRY_NAMES.get(case.get("destination_country", ""), "the city"),
    }
    return rng.choice(NOTES).format(**words)


def entry(rng: random.Random, case: dict[str, Any], when: dt.date) -> tuple[str, dict[str, Any]]:
    """An entry (kind, payload) as the case screen adds it: a note, action or follow-up."""
    kind = rng.choices(("note", "action", "follow_up"), weights=(6, 2, 2))[0]
    payload: dict[str, Any] = {"text": note(rng, case)}
    if kind == "follow_up":
        payload["due_on"] = (when + dt.timedelta(days=rng.randint(1, 30))).isoformat()
    return kind, payload
