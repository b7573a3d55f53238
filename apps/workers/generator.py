"""Synthetic worker corpus for demos, tests and benchmarks (SPEC §4.1 `generate_workers`).

Rows look like a real agency export: skewed cities, role-specific skills and certifications, phones
in whatever format a recruiter typed, some missing emails, short varied bios. Output is a pure
function of (count, seed, dirty): the same arguments give the same rows and the same file bytes.

With ``dirty=True`` one row in every block of ``DEFECT_EVERY`` rows (≈0.5 %) is malformed; the kinds
cycle through ``DIRTY_KINDS`` so every file of ``DEFECT_EVERY * len(DIRTY_KINDS)`` rows or more
holds each kind. ``planned_defects`` says which row got which defect, so tests can check the
ingest's rejections line by line.
"""

import random
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from apps.workers import vocabulary as vocab
# Written by source_writers; re-exported because "generate, then write" is how every caller uses it.
from apps.workers.source_writers import PARQUET_ROW_GROUP_SIZE, write_workers  # noqa: F401

# One malformed row per block of this many rows when dirty: 1 / 200 = 0.5 %.
DEFECT_EVERY = 200
DIRTY_KINDS: tuple[str, ...] = (
    "missing_worker_id",
    "bad_state",
    "bad_date",
    "duplicate_worker_id",  # not first: it repeats the id of an earlier row, so one must exist
    "bad_years_experience",
    "bad_reliability",
    "bad_hourly_rate",
)
_DEFECT_VALUES: dict[str, tuple[str, ...]] = {
    "missing_worker_id": ("", "   "),
    "bad_state": ("ZZ", "XX", "QQ", "Atlantis"),
    "bad_date": ("2026-13-45", "next week", "2026-02-30", "soon"),
    "bad_years_experience": ("ten", "a few", "lots"),
    "bad_reliability": ("high", "good", "excellent"),
    "bad_hourly_rate": ("abc", "TBD", "negotiable"),
}
_DEFECT_COLUMN: dict[str, str] = {
    "missing_worker_id": "worker_id",
    "bad_state": "state",
    "bad_date": "available_from",
    "duplicate_worker_id": "worker_id",
    "bad_years_experience": "years_experience",
    "bad_reliability": "reliability",
    "bad_hourly_rate": "hourly_rate",
}

# A fixed epoch rather than date.today(): the corpus must not change with the day it is generated.
AVAILABILITY_EPOCH = date(2026, 11, 30)
AVAILABILITY_WINDOW_DAYS = 120
AVAILABLE_NOW_SHARE = 0.4

STATUS_WEIGHTS: dict[str, float] = {"active": 85, "inactive": 10, "do_not_contact": 5}
SMS_OPT_OUT_SHARE = 0.08
EMAIL_MISSING_SHARE = 0.08
PHONE_MISSING_SHARE = 0.02
PHONE_UNPARSEABLE_SHARE = 0.01

# Independent chance of listing each shift; a worker with none drawn gets one by the same weights.
SHIFT_SHARES: dict[str, float] = {"day": 0.6, "swing": 0.35, "night": 0.3, "weekend": 0.25}

# (low, high) base pay in USD per hour before the experience premium.
ROLE_PAY: dict[str, tuple[float, float]] = {
    "forklift_operator": (17.0, 23.0),
    "warehouse_associate": (15.5, 20.0),
    "picker_packer": (15.0, 19.0),
    "shipping_receiving_clerk": (16.5, 21.0),
    "machine_operator": (17.0, 24.0),
    "production_assembler": (15.5, 21.0),
    "welder": (20.0, 30.0),
    "electrician_helper": (17.0, 23.0),
    "maintenance_technician": (22.0, 32.0),
    "general_laborer": (15.0, 19.0),
    "construction_laborer": (17.0, 24.0),
    "cdl_driver": (24.0, 34.0),
    "cna": (16.5, 22.0),
    "home_health_aide": (14.5, 18.5),
    "line_cook": (15.5, 21.0),
    "prep_cook": (14.5, 18.0),
    "dishwasher": (13.5, 16.5),
    "housekeeper": (14.0, 17.5),
    "custodian": (14.5, 18.5),
    "security_officer": (16.0, 22.0),
}

FIRST_NAMES: tuple[str, ...] = (
    "James", "Maria", "Robert", "Jennifer", "Michael", "Linda", "David", "Patricia", "William", "Elizabeth",
    "José", "Guadalupe", "Luis", "Ana", "Carlos", "Rosa", "Juan", "Carmen", "Miguel", "Sofía",
    "DeShawn", "Aaliyah", "Jamal", "Imani", "Tyrone", "Keisha", "Darnell", "Latoya", "Marcus", "Tanisha",
    "Wei", "Mei", "Minh", "Linh", "Hiroshi", "Yuki", "Raj", "Priya", "Arjun", "Anjali",
    "Ahmed", "Fatima", "Omar", "Aisha", "Yusuf", "Leila", "Ivan", "Olga", "Dmitri", "Natalia",
    "Kevin", "Ashley", "Brian", "Jessica", "Jason", "Amanda", "Tyler", "Brittany", "Cody", "Megan",
    "Emmanuel", "Chioma", "Kwame", "Abena", "Tomás", "Lucía", "Andrés", "Valentina", "Mateo", "Camila",
    "Sean", "Kayla", "Dustin", "Heather", "Travis", "Crystal", "Shane", "Amber", "Derek", "Tiffany",
)
LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernández", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Pérez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramírez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "O'Brien", "McCarthy", "Kowalski", "Novak", "Ivanova", "Petrov", "Chen", "Wang", "Kim", "Patel",
    "Singh", "Okafor", "Mensah", "Diallo", "Haddad", "Khan", "Tran", "Pham", "Yamamoto", "Sato",
    "Washington", "Jefferson", "Brooks", "Price", "Bennett", "Wood", "Barnes", "Ross", "Henderson", "Coleman",
)

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org", "mail.example.com")
# Local parts end in the worker's sequence number, so generated addresses never collide.
EMAIL_PATTERNS: tuple[str, ...] = ("{first}.{last}{n}", "{f}{last}{n}", "{first}{n}", "{first}_{last}{n}")

# How recruiters actually type numbers; all of them parse as the same North American number.
PHONE_FORMATS: tuple[str, ...] = (
    "({area}) {exchange}-{line}",
    "{area}.{exchange}.{line}",
    "+1 {area} {exchange} {line}",
    "{area}{exchange}{line}",
    "{area}-{exchange}-{line}",
    "1-{area}-{exchange}-{line}",
    "+1{area}{exchange}{line}",
)
UNPARSEABLE_PHONES: tuple[str, ...] = ("{exchange}-{line}", "{area}-{exchange}-{short}", "call after 5pm", "n/a")
# 555 is the exchange set aside for fiction: synthetic workers must never carry a real subscriber's number.
FICTIONAL_EXCHANGE = "555"

# Role-specific bio material: where they worked, and something a coordinator would want to know.
ROLE_BIO: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "forklift_operator": (
        ("distribution centers", "cold-storage warehouses", "third-party logistics sites", "big-box retail warehouses"),
        ("keeps a clean safety record on sit-down and stand-up forklifts", "loads and unloads trailers quickly and carefully",
         "is comfortable working at height on a reach truck", "trains new drivers on pre-shift inspections"),
    ),
    "warehouse_associate": (
        ("e-commerce fulfillment centers", "grocery distribution warehouses", "parcel hubs", "retail distribution centers"),
        ("hits pick rates consistently during peak season", "keeps inventory counts accurate",
         "moves between receiving, putaway and shipping as needed", "is careful with fragile freight"),
    ),
    "picker_packer": (
        ("e-commerce fulfillment centers", "pharmacy distribution", "apparel warehouses", "subscription-box packing lines"),
        ("packs orders fast without mistakes", "follows pick-to-light and scanner workflows easily",
         "catches mislabeled items before they ship", "keeps up on high-volume peak nights"),
    ),
    "shipping_receiving_clerk": (
        ("manufacturing plants", "regional distribution centers", "auto parts warehouses", "food distributors"),
        ("checks inbound freight against bills of lading", "keeps the WMS accurate",
         "coordinates carrier pickups and dock schedules", "handles damaged-freight claims"),
    ),
    "machine_operator": (
        ("injection molding plants", "CNC machine shops", "packaging lines", "metal stamping plants"),
        ("sets up and runs machines to spec", "checks parts with calipers and gauges",
         "spots tooling problems before they cause scrap", "keeps production logs complete"),
    ),
    "production_assembler": (
        ("electronics assembly lines", "automotive suppliers", "appliance plants", "medical device cleanrooms"),
        ("builds assemblies from work instructions", "solders and inspects small components",
         "keeps a steady pace on a moving line", "flags quality issues early"),
    ),
    "welder": (
        ("structural steel shops", "heavy equipment manufacturers", "pipe fabrication yards", "trailer plants"),
        ("lays clean MIG and TIG welds", "reads blueprints and weld symbols",
         "passes visual and bend tests", "fabricates and fits parts from drawings"),
    ),
    "electrician_helper": (
        ("commercial construction sites", "industrial maintenance crews", "residential new builds", "data center projects"),
        ("bends conduit and pulls wire", "keeps the job site organized for the journeyman",
         "follows lockout/tagout procedures", "is working toward an apprenticeship"),
    ),
    "maintenance_technician": (
        ("food processing plants", "distribution centers", "bottling lines", "automotive plants"),
        ("troubleshoots conveyors, hydraulics and PLCs", "runs preventive maintenance schedules",
         "keeps downtime low on night shifts", "repairs motors, pumps and gearboxes"),
    ),
    "general_laborer": (
        ("warehouses", "event setups", "landscaping crews", "manufacturing plants"),
        ("is willing to take on any task", "lifts 50 lbs repeatedly without trouble",
         "keeps work areas clean and safe", "learns new tasks quickly"),
    ),
    "construction_laborer": (
        ("commercial job sites", "road crews", "residential framing crews", "demolition projects"),
        ("supports framing and concrete crews", "sets up scaffolding safely",
         "handles site cleanup and material staging", "operates jackhammers and power tools"),
    ),
    "cdl_driver": (
        ("regional freight routes", "local delivery routes", "tanker fleets", "flatbed carriers"),
        ("has a clean driving record", "completes thorough pre-trip inspections",
         "delivers on time in city traffic", "keeps ELD logs compliant"),
    ),
    "cna": (
        ("skilled nursing facilities", "hospital med-surg floors", "memory care units", "assisted living communities"),
        ("is patient and calm with residents", "takes accurate vital signs and charts them",
         "handles transfers and mobility safely", "has experience with dementia care"),
    ),
    "home_health_aide": (
        ("private homes", "hospice care", "senior living", "disability support programs"),
        ("builds trust with clients and families", "helps with personal care and meals",
         "keeps clients on their medication schedule", "is reliable for early-morning visits"),
    ),
    "line_cook": (
        ("high-volume restaurants", "hotel kitchens", "stadium concessions", "catering kitchens"),
        ("runs the grill and saute stations", "keeps tickets moving during rush",
         "plates consistently to spec", "keeps a clean, organized station"),
    ),
    "prep_cook": (
        ("hospital kitchens", "restaurant groups", "commissary kitchens", "school cafeterias"),
        ("has fast, precise knife skills", "preps sauces and portions to recipe",
         "follows food safety and labeling rules", "rotates stock first in, first out"),
    ),
    "dishwasher": (
        ("busy restaurants", "hotel banquet kitchens", "university dining halls", "hospital kitchens"),
        ("keeps the dish pit moving at peak", "runs the dish machine and checks sanitizer levels",
         "helps with kitchen cleanup at close", "is dependable on weekend shifts"),
    ),
    "housekeeper": (
        ("hotels", "hospitals", "senior living communities", "vacation rentals"),
        ("turns rooms over quickly and thoroughly", "pays attention to detail",
         "handles laundry and linen rooms", "works well with front-desk teams"),
    ),
    "custodian": (
        ("office buildings", "schools", "hospitals", "manufacturing plants"),
        ("strips, waxes and buffs floors", "keeps restrooms and common areas spotless",
         "handles cleaning chemicals safely", "works independently on overnight shifts"),
    ),
    "security_officer": (
        ("corporate campuses", "warehouses", "hospitals", "event venues"),
        ("writes clear incident reports", "de-escalates conflicts calmly",
         "monitors CCTV and access control", "runs regular patrols"),
    ),
}
# A bio is one role sentence (template × role phrases) plus one to three personal details.
BIO_TEMPLATES: tuple[str, ...] = (
    "{Title} with {experience} in {setting}. {Highlight}.",
    "{first} {highlight} and has worked in {setting}.",
    "Experienced in {setting} and {highlight}. Prefers {shifts} shifts.",
    "{Experience} as {a_title}, mostly in {setting}.",
    "Dependable {title} based in {city}. {Highlight}.",
    "{first} is {a_title} who {highlight}.",
    "{Title} ({experience}) who {highlight}; background in {setting}.",
)
BIO_DETAILS: tuple[str, ...] = (
    "Has reliable transportation and can commute up to {miles} miles.",
    "Open to temp-to-hire and long-term assignments.",
    "Happy to pick up overtime when needed.",
    "Speaks English and Spanish.",
    "Lives about {minutes} minutes from downtown {city}.",
    "Looking for steady full-time hours.",
    "Completed a safety refresher in {year}.",
    "Has finished {assignments} assignments through the agency.",
    "Prefers assignments close to public transit.",
    "Supervisors note that {first} shows up early.",
    "Can start with {days} days' notice.",
    "Previously worked {months} months on a single long-term placement.",
    "Comfortable on their feet for a full shift.",
    "Interested in cross-training for new roles.",
)

_CITY_CUM_WEIGHTS = tuple(accumulate(c.weight for c in vocab.CITIES))
_ROLE_CUM_WEIGHTS = tuple(accumulate(vocab.ROLE_WEIGHTS[role] for role in vocab.ROLES))
_STATUS_CUM_WEIGHTS = tuple(accumulate(STATUS_WEIGHTS[s] for s in vocab.STATUSES))
_SHIFT_WEIGHTS = tuple(SHIFT_SHARES[s] for s in vocab.SHIFTS)
_STATE_NAMES = {"OH": "Ohio", "TX": "Texas", "FL": "Florida", "CA": "California", "NY": "New York"}
# The line number of a phone steps through 0000–9999 in a scrambled order (7919 is coprime to
# 10,000), so numbers within one area code are unique until it has handed out 10,000 of them.
_PHONE_LINE_STRIDE = 7919


def generate_workers(count: int, seed: int, dirty: bool = False) -> Iterator[dict[str, Any]]:
    """Yield `count` worker source rows (SPEC §3.1 columns), deterministic per seed.

    Rows are produced lazily, so 100k rows never sit in memory at once. The clean content of every
    row is the same with and without ``dirty``; a dirty run only corrupts the planned rows.
    """
    if count < 0:
        raise ValueError(f"count must be ≥ 0, got {count}")
    rng = random.Random(seed)
    phone_counters: dict[str, int] = {}
    phone_offset = rng.randrange(10_000)
    defects = _DefectPlan(seed) if dirty else None
    for index in range(count):
        row = _clean_row(rng, index, phone_counters, phone_offset)
        if defects is not None:
            defects.apply(index, row)
        yield row


def planned_defects(count: int, seed: int) -> dict[int, str]:
    """Map 0-based row index → defect kind for ``generate_workers(count, seed, dirty=True)``."""
    plan = _DefectPlan(seed)
    defects = {}
    for block in range((count + DEFECT_EVERY - 1) // DEFECT_EVERY):
        index, kind, _ = plan.for_block(block)
        if index < count:
            defects[index] = kind
    return defects


# --- rows -------------------------------------------------------------------------------------------------------


def _clean_row(rng: random.Random, index: int, phone_counters: dict[str, int], phone_offset: int) -> dict[str, Any]:
    city = rng.choices(vocab.CITIES, cum_weights=_CITY_CUM_WEIGHTS)[0]
    role = rng.choices(vocab.ROLES, cum_weights=_ROLE_CUM_WEIGHTS)[0]
    first_name = rng.choice(FIRST_NAMES)
    last_name = rng.choice(LAST_NAMES)
    years = min(35, int(rng.expovariate(1 / 6)))
    shifts = [shift for shift in vocab.SHIFTS if rng.random() < SHIFT_SHARES[shift]]
    if not shifts:
        shifts = rng.choices(vocab.SHIFTS, weights=_SHIFT_WEIGHTS)
    low, high = ROLE_PAY[role]
    # Experience earns a premium, capped: a 30-year dishwasher is not paid like a welder.
    hourly_rate = round(rng.uniform(low, high) + 0.2 * min(years, 20), 2)
    available_from = None
    if rng.random() >= AVAILABLE_NOW_SHARE:
        available_from = (AVAILABILITY_EPOCH + timedelta(days=rng.randrange(AVAILABILITY_WINDOW_DAYS))).isoformat()
    # A few exports spell the state out; the normalizer maps names back to codes.
    state = city.state
    if rng.random() < 0.01 and city.state in _STATE_NAMES:
        state = _STATE_NAMES[city.state]
    return {
        "worker_id": f"W-{index + 1:06d}",
        "first_name": first_name,
        "last_name": last_name,
        "email": _email(rng, index, first_name, last_name),
        "phone": _phone(rng, city, phone_counters, phone_offset),
        "city": city.name,
        "state": state,
        "zip": rng.choice(city.zips),
        "role": role,
        "skills": _skills(rng, role),
        "certifications": _certifications(rng, role),
        "shift_preference": shifts,
        "available_from": available_from,
        "years_experience": years,
        "hourly_rate": hourly_rate,
        "reliability": round(rng.betavariate(8, 2), 3),
        "status": rng.choices(vocab.STATUSES, cum_weights=_STATUS_CUM_WEIGHTS)[0],
        "sms_opt_out": rng.random() < SMS_OPT_OUT_SHARE,
        "bio": _bio(rng, role, city.name, first_name, years, shifts),
    }


def _email(rng: random.Random, index: int, first_name: str, last_name: str) -> str:
    if rng.random() < EMAIL_MISSING_SHARE:
        return ""
    first, last = _ascii_slug(first_name), _ascii_slug(last_name)
    local = rng.choice(EMAIL_PATTERNS).format(first=first, last=last, f=first[0], n=index + 1)
    email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
    roll = rng.random()
    if roll < 0.1:  # typed with capitals, as people do; the normalizer lower-cases
        return email.replace(first, first.capitalize(), 1).replace("example", "Example")
    if roll < 0.12:  # pasted with stray spaces
        return f" {email} "
    return email


def _ascii_slug(name: str) -> str:
    """'Hernández' → 'hernandez', "O'Brien" → 'obrien' (e-mail local parts are plain ASCII)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())


def _phone(rng: random.Random, city: vocab.City, counters: dict[str, int], offset: int) -> str:
    area = rng.choice(city.area_codes)
    sequence = counters.get(area, 0)
    counters[area] = sequence + 1
    # Offset by area code too, so the first numbers of different area codes don't share a line number.
    line = f"{(sequence * _PHONE_LINE_STRIDE + offset + int(area) * 3571) % 10_000:04d}"
    roll = rng.random()
    if roll < PHONE_MISSING_SHARE:
        return ""
    if roll < PHONE_MISSING_SHARE + PHONE_UNPARSEABLE_SHARE:
        return rng.choice(UNPARSEABLE_PHONES).format(area=area, exchange=FICTIONAL_EXCHANGE, line=line, short=line[:3])
    return rng.choice(PHONE_FORMATS).format(area=area, exchange=FICTIONAL_EXCHANGE, line=line)


def _skills(rng: random.Random, role: str) -> list[str]:
    role_skills = vocab.ROLE_SKILLS[role]
    skills = rng.sample(role_skills, rng.randint(2, min(5, len(role_skills))))
    if rng.random() < 0.25:
        skills.append(rng.choice(vocab.GENERAL_SKILLS))
    if rng.random() < 0.03:  # some exports capitalize; the normalizer lower-cases
        skills = [skill.title() for skill in skills]
    return skills


def _certifications(rng: random.Random, role: str) -> list[str]:
    role_certifications = vocab.ROLE_CERTIFICATIONS[role]
    return rng.sample(role_certifications, rng.randint(0, min(3, len(role_certifications))))


def _bio(rng: random.Random, role: str, city: str, first_name: str, years: int, shifts: list[str]) -> str:
    settings, highlights = ROLE_BIO[role]
    title = vocab.ROLE_TITLES[role]
    highlight = rng.choice(highlights)
    if years == 0:
        experience = "less than a year of experience"
    elif years == 1:
        experience = "one year of experience"
    else:
        experience = f"{years} years of experience"
    numbers = {
        "miles": rng.choice((10, 15, 20, 25, 30, 40)),
        "minutes": rng.choice((10, 15, 20, 25, 30, 45)),
        "year": rng.choice((2022, 2023, 2024, 2025, 2026)),
        "assignments": rng.randint(2, 40),
        "days": rng.choice((2, 3, 5, 7, 14)),
        "months": rng.randint(3, 30),
        "city": city,
        "first": first_name,
    }
    sentence = rng.choice(BIO_TEMPLATES).format(
        Title=_capitalize(title),
        title=title,
        a_title=f"an {title}" if title[0] in "aeiou" else f"a {title}",
        Experience=_capitalize(experience),
        experience=experience,
        setting=rng.choice(settings),
        Highlight=_capitalize(highlight),
        highlight=highlight,
        first=first_name,
        city=city,
        shifts=" or ".join(shifts),
    )
    details = [detail.format(**numbers) for detail in rng.sample(BIO_DETAILS, rng.randint(1, 3))]
    return " ".join([sentence, *details])


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


class _DefectPlan:
    """Where the defects of a dirty corpus go: one per block, at a seeded offset, kinds in rotation."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        # The current block's defect, so each block's RNG is built once, not once per row.
        self._block = -1
        self._index = -1
        self._kind = ""
        self._rng = random.Random()

    def for_block(self, block: int) -> tuple[int, str, random.Random]:
        # Seeded from a string: random.Random hashes it with SHA-512, stable across processes
        # (unlike hash()), and independent of the clean-row stream.
        rng = random.Random(f"lakehouse-defects:{self.seed}:{block}")
        index = block * DEFECT_EVERY + rng.randrange(DEFECT_EVERY)
        return index, DIRTY_KINDS[block % len(DIRTY_KINDS)], rng

    def is_defect(self, index: int) -> bool:
        return self.for_block(index // DEFECT_EVERY)[0] == index

    def apply(self, index: int, row: dict[str, Any]) -> None:
        block = index // DEFECT_EVERY
        if block != self._block:
            self._block = block
            self._index, self._kind, self._rng = self.for_block(block)
        if index != self._index:
            return
        column = _DEFECT_COLUMN[self._kind]
        if self._kind == "duplicate_worker_id":
            # Repeat the id of an earlier row that kept its own id intact.
            earlier = self._rng.randrange(index)
            while self.is_defect(earlier):
                earlier = self._rng.randrange(index)
            row[column] = f"W-{earlier + 1:06d}"
        else:
            row[column] = self._rng.choice(_DEFECT_VALUES[self._kind])
