"""The controlled vocabulary of the worker corpus.

One source of truth for the synthetic generator, the ingest normalizer, the relevance benchmark and
the load harness: cities (with skewed weights), roles with their skills and certifications, shifts
and statuses. Plain data only — no Django, no I/O — so every consumer can import it cheaply.
"""

from typing import NamedTuple

# Columns of a worker source file (SPEC §3.1), in the order the generator writes them.
SOURCE_COLUMNS: tuple[str, ...] = (
    "worker_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "city",
    "state",
    "zip",
    "role",
    "skills",
    "certifications",
    "shift_preference",
    "available_from",
    "years_experience",
    "hourly_rate",
    "reliability",
    "status",
    "sms_opt_out",
    "bio",
)
# Columns holding lists: arrays in Parquet/JSON Lines, ";"-separated text in CSV.
LIST_COLUMNS: tuple[str, ...] = ("skills", "certifications", "shift_preference")
LIST_SEPARATOR = ";"

SHIFTS: tuple[str, ...] = ("day", "swing", "night", "weekend")
STATUSES: tuple[str, ...] = ("active", "inactive", "do_not_contact")
DEFAULT_STATUS = "active"


class City(NamedTuple):
    """A metro the agency staffs, with its share of the corpus and real ZIP codes / area codes."""

    name: str
    state: str
    weight: float  # percent of generated rows; the weights add up to 100
    zips: tuple[str, ...]  # STANDARD ZIP codes of the city (checked against `zipcodes` in tests)
    area_codes: tuple[str, ...]


# Skewed on purpose: five metros carry half the corpus and the long tail sits at 0.5–1 %, like a
# real agency's footprint. Selective filters (one small city) and broad ones (New York) both occur.
CITIES: tuple[City, ...] = (
    City("New York", "NY", 14.0, ("10001", "10018", "10034", "10103", "10128", "10173"), ("212", "718", "917", "646")),
    City("Los Angeles", "CA", 12.0, ("90001", "90012", "90023", "90034", "90045", "90062"), ("213", "323", "310")),
    City("Chicago", "IL", 10.0, ("60601", "60610", "60620", "60631", "60641", "60653"), ("312", "773", "872")),
    City("Houston", "TX", 8.0, ("77002", "77018", "77034", "77050", "77067", "77083"), ("713", "281", "346")),
    City("Dallas", "TX", 6.0, ("75201", "75209", "75219", "75230", "75238", "75249"), ("214", "469", "972")),
    City("Atlanta", "GA", 5.0, ("30303", "30309", "30316", "30328", "30339", "30349"), ("404", "678", "470")),
    City("Phoenix", "AZ", 4.5, ("85003", "85013", "85021", "85031", "85040", "85051"), ("602", "623", "480")),
    City("Philadelphia", "PA", 4.5, ("19102", "19112", "19121", "19130", "19138", "19146"), ("215", "267")),
    City("Miami", "FL", 3.5, ("33122", "33133", "33146", "33165", "33176", "33185"), ("305", "786")),
    City("Columbus", "OH", 3.0, ("43085", "43205", "43211", "43217", "43223", "43230"), ("614", "380")),
    City("Indianapolis", "IN", 2.5, ("46201", "46214", "46221", "46229", "46239", "46259"), ("317", "463")),
    City("Charlotte", "NC", 2.5, ("28202", "28207", "28213", "28226", "28269", "28280"), ("704", "980")),
    City("Denver", "CO", 2.0, ("80202", "80210", "80220", "80228", "80236", "80260"), ("303", "720")),
    City("Nashville", "TN", 2.0, ("37201", "37205", "37209", "37213", "37216", "37220"), ("615", "629")),
    City("Memphis", "TN", 1.5, ("38103", "38107", "38114", "38119", "38127", "38134"), ("901",)),
    City("Detroit", "MI", 1.5, ("48201", "48206", "48211", "48217", "48224", "48234"), ("313",)),
    City("Seattle", "WA", 1.5, ("98101", "98107", "98118", "98131", "98154", "98168"), ("206",)),
    City("Las Vegas", "NV", 1.5, ("89101", "89109", "89121", "89134", "89144", "89161"), ("702", "725")),
    City("Kansas City", "MO", 1.2, ("64101", "64112", "64123", "64132", "64146", "64156"), ("816",)),
    City("Louisville", "KY", 1.2, ("40202", "40207", "40212", "40218", "40228", "40245"), ("502",)),
    City("Cincinnati", "OH", 1.2, ("45202", "45209", "45218", "45229", "45237", "45245"), ("513",)),
    City("Cleveland", "OH", 1.0, ("44102", "44106", "44112", "44119", "44125", "44130"), ("216",)),
    City("Jacksonville", "FL", 1.0, ("32099", "32207", "32212", "32220", "32225", "32246"), ("904",)),
    City("San Antonio", "TX", 1.0, ("78201", "78211", "78222", "78232", "78245", "78256"), ("210", "726")),
    City("Salt Lake City", "UT", 1.0, ("84101", "84105", "84109", "84114", "84118", "84129"), ("801", "385")),
    City("Milwaukee", "WI", 1.0, ("53202", "53206", "53211", "53216", "53220", "53225"), ("414",)),
    City("Minneapolis", "MN", 1.0, ("55401", "55409", "55418", "55426", "55435", "55444"), ("612",)),
    City("Omaha", "NE", 0.8, ("68102", "68108", "68116", "68127", "68135", "68144"), ("402", "531")),
    City("Oklahoma City", "OK", 0.8, ("73102", "73109", "73118", "73130", "73142", "73163"), ("405",)),
    City("Tulsa", "OK", 0.6, ("74103", "74107", "74115", "74126", "74131", "74136"), ("918", "539")),
    City("Albuquerque", "NM", 0.6, ("87101", "87105", "87108", "87111", "87114", "87120"), ("505",)),
    City("Boise", "ID", 0.6, ("83702", "83703", "83705", "83708", "83709", "83713"), ("208",)),
    City("Richmond", "VA", 0.5, ("23219", "23221", "23224", "23227", "23234", "23237"), ("804",)),
    City("Reno", "NV", 0.5, ("89501", "89503", "89508", "89510", "89512", "89521"), ("775",)),
    City("Des Moines", "IA", 0.5, ("50307", "50309", "50312", "50314", "50317", "50320"), ("515",)),
)
CITY_WEIGHTS: dict[tuple[str, str], float] = {(c.name, c.state): c.weight for c in CITIES}

# The city carrying ≈3 % of rows: the natural pick for the "one-city filter" search benchmark
# (SPEC §7) and the SPEC's own example order ("2 forklift operators in Columbus, OH").
BENCHMARK_CITY: tuple[str, str] = ("Columbus", "OH")

ROLES: tuple[str, ...] = (
    "forklift_operator",
    "warehouse_associate",
    "picker_packer",
    "shipping_receiving_clerk",
    "machine_operator",
    "production_assembler",
    "welder",
    "electrician_helper",
    "maintenance_technician",
    "general_laborer",
    "construction_laborer",
    "cdl_driver",
    "cna",
    "home_health_aide",
    "line_cook",
    "prep_cook",
    "dishwasher",
    "housekeeper",
    "custodian",
    "security_officer",
)

# Human wording of each role, for bios and profile text ("cna" alone embeds poorly).
ROLE_TITLES: dict[str, str] = {
    "forklift_operator": "forklift operator",
    "warehouse_associate": "warehouse associate",
    "picker_packer": "picker/packer",
    "shipping_receiving_clerk": "shipping and receiving clerk",
    "machine_operator": "machine operator",
    "production_assembler": "production assembler",
    "welder": "welder",
    "electrician_helper": "electrician helper",
    "maintenance_technician": "maintenance technician",
    "general_laborer": "general laborer",
    "construction_laborer": "construction laborer",
    "cdl_driver": "CDL driver",
    "cna": "certified nursing assistant (CNA)",
    "home_health_aide": "home health aide",
    "line_cook": "line cook",
    "prep_cook": "prep cook",
    "dishwasher": "dishwasher",
    "housekeeper": "housekeeper",
    "custodian": "custodian",
    "security_officer": "security officer",
}


def role_title(role: str) -> str:
    """A role in running text ("a night shift as forklift operator"); an unknown role (ingest keeps
    them) reads as its words."""
    return ROLE_TITLES.get(role) or role.replace("_", " ")


def role_label(role: str) -> str:
    """A role as the console labels it, where it stands alone (a title, a column, a select):
    "Forklift operator", "CDL driver", "Certified nursing assistant (CNA)". Only the first letter is
    raised, so acronyms keep their case."""
    title = role_title(role)
    return title[:1].upper() + title[1:]

# Relative demand per role (light industrial dominates a staffing agency's bench).
ROLE_WEIGHTS: dict[str, float] = {
    "forklift_operator": 9,
    "warehouse_associate": 12,
    "picker_packer": 10,
    "shipping_receiving_clerk": 4,
    "machine_operator": 6,
    "production_assembler": 6,
    "welder": 4,
    "electrician_helper": 3,
    "maintenance_technician": 3,
    "general_laborer": 8,
    "construction_laborer": 4,
    "cdl_driver": 4,
    "cna": 5,
    "home_health_aide": 4,
    "line_cook": 4,
    "prep_cook": 3,
    "dishwasher": 3,
    "housekeeper": 3,
    "custodian": 3,
    "security_officer": 2,
}

# Skills are lower case (the normalizer lower-cases them); none contains LIST_SEPARATOR.
ROLE_SKILLS: dict[str, tuple[str, ...]] = {
    "forklift_operator": ("pallet jack", "rf scanner", "reach truck", "sit-down forklift", "order picker", "cycle counting", "loading dock"),
    "warehouse_associate": ("rf scanner", "pallet jack", "inventory", "shrink wrapping", "loading dock", "cycle counting", "labeling"),
    "picker_packer": ("rf scanner", "order picking", "packing", "labeling", "quality checks", "pick to light"),
    "shipping_receiving_clerk": ("bills of lading", "rf scanner", "inventory", "wms software", "data entry", "freight inspection"),
    "machine_operator": ("cnc", "machine setup", "blueprint reading", "calipers", "quality checks", "preventive maintenance"),
    "production_assembler": ("hand tools", "power tools", "soldering", "blueprint reading", "quality checks", "torque tools"),
    "welder": ("mig welding", "tig welding", "stick welding", "flux core", "blueprint reading", "grinding", "fabrication"),
    "electrician_helper": ("conduit bending", "wire pulling", "hand tools", "power tools", "blueprint reading", "troubleshooting"),
    "maintenance_technician": ("preventive maintenance", "troubleshooting", "plc", "hydraulics", "pneumatics", "electrical", "welding"),
    "general_laborer": ("hand tools", "power tools", "lifting 50 lbs", "cleanup", "material handling", "landscaping"),
    "construction_laborer": ("framing", "concrete", "demolition", "scaffolding", "power tools", "site cleanup", "drywall"),
    "cdl_driver": ("class a", "class b", "hazmat", "tanker", "pre-trip inspection", "eld logs", "flatbed"),
    "cna": ("vital signs", "patient transfers", "bathing and grooming", "charting", "dementia care", "feeding assistance"),
    "home_health_aide": ("personal care", "meal preparation", "medication reminders", "companionship", "light housekeeping", "mobility assistance"),
    "line_cook": ("grill", "saute", "fryer", "food prep", "knife skills", "expo", "high volume"),
    "prep_cook": ("knife skills", "food prep", "portioning", "sauces", "food safety", "inventory rotation"),
    "dishwasher": ("dish machine", "pot washing", "sanitation", "kitchen cleanup", "food safety"),
    "housekeeper": ("room turnover", "laundry", "deep cleaning", "linen handling", "floor care"),
    "custodian": ("floor care", "buffing", "restroom sanitation", "trash removal", "carpet extraction", "chemical handling"),
    "security_officer": ("access control", "patrol", "incident reports", "cctv monitoring", "de-escalation", "customer service"),
}

# Skills any worker may list in addition to their role's.
GENERAL_SKILLS: tuple[str, ...] = (
    "bilingual spanish",
    "customer service",
    "microsoft excel",
    "team lead",
    "training new hires",
    "reliable transportation",
)

# Certifications keep their conventional spelling (the normalizer keeps their case).
ROLE_CERTIFICATIONS: dict[str, tuple[str, ...]] = {
    "forklift_operator": ("OSHA-10", "Forklift", "Reach Truck", "First Aid"),
    "warehouse_associate": ("OSHA-10", "Forklift", "First Aid"),
    "picker_packer": ("OSHA-10", "Forklift"),
    "shipping_receiving_clerk": ("OSHA-10", "Forklift", "Hazmat Awareness"),
    "machine_operator": ("OSHA-10", "NIMS Level I", "Forklift"),
    "production_assembler": ("OSHA-10", "IPC-A-610", "First Aid"),
    "welder": ("AWS D1.1", "OSHA-10", "OSHA-30", "Confined Space"),
    "electrician_helper": ("OSHA-10", "OSHA-30", "NFPA 70E", "First Aid"),
    "maintenance_technician": ("OSHA-30", "EPA 608", "NFPA 70E", "Lockout/Tagout"),
    "general_laborer": ("OSHA-10", "First Aid", "Flagger"),
    "construction_laborer": ("OSHA-10", "OSHA-30", "Flagger", "Scaffold"),
    "cdl_driver": ("CDL-A", "CDL-B", "Hazmat Endorsement", "DOT Medical Card", "TWIC"),
    "cna": ("CNA License", "BLS", "CPR", "First Aid"),
    "home_health_aide": ("HHA Certificate", "CPR", "First Aid", "BLS"),
    "line_cook": ("ServSafe Food Handler", "ServSafe Manager"),
    "prep_cook": ("ServSafe Food Handler",),
    "dishwasher": ("ServSafe Food Handler",),
    "housekeeper": ("Bloodborne Pathogens",),
    "custodian": ("Bloodborne Pathogens", "OSHA-10"),
    "security_officer": ("Guard Card", "CPR", "First Aid"),
}

# Every skill and certification the vocabulary knows, for the console's suggestions and filters.
ALL_SKILLS: tuple[str, ...] = tuple(sorted({s for skills in ROLE_SKILLS.values() for s in skills} | set(GENERAL_SKILLS)))
ALL_CERTIFICATIONS: tuple[str, ...] = tuple(sorted({c for certs in ROLE_CERTIFICATIONS.values() for c in certs}))
