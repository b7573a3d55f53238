"""Outreach validation (SPEC §4.4): is this email or SMS draft safe and lawful to send?

``EmailValidator().validate(kind, subject, body, recipient, context)`` returns a ``Verdict`` whose
``to_dict()`` is the API response body. It never raises on any text (any Unicode, ``None`` subject or
body); an unknown ``kind`` is a caller bug and raises ``ValueError`` (the API answers 400 first).

Findings in the body carry ``start``/``end`` character offsets into the body. Findings in an email
subject carry no offsets and say "subject" in their message. Messages never repeat the PII they
report, because verdicts are stored in interaction logs and evidence.

Discriminatory-language policy (``DISCRIMINATORY_LANGUAGE``)
------------------------------------------------------------
A phrase is flagged when it states a requirement or preference about a protected class — age, sex,
race/color, religion, national origin, disability, pregnancy — not when it merely mentions one.

* Age: "young" / "younger" / "youthful" is flagged when it qualifies people ("young workers",
  "young, energetic crew", "young professionals wanted", "must be young", "someone young") and not
  otherwise: "young professionals program" (or network, group, club, event…) names a program,
  "Youngstown" is a city, "the night is young" describes no one. Upper age limits are flagged ("no
  older than", "must be under 40", "ages 18-35", "over 50 need not apply", "age limit"); minimum ages
  that the law sets are not ("must be at least 18", "18+", "workers under 18 cannot operate the
  forklift"). Age proxies are flagged: "recent graduates only/preferred", "digital natives",
  "Gen Z only", "how old are you"; "recent graduates welcome" is inclusive and passes.
* Sex: "female only", "men preferred", "must be a woman", "no women", "strong men", "only hiring
  guys"; "men's and women's restrooms", "man the front desk", "female connector" pass.
* Pregnancy: "no pregnant…", "must not be pregnant", "pregnancy test", "are you pregnant",
  "planning to have kids"; "pregnancy and parental leave benefits" passes.
* Race, color, national origin: "<group> workers only/preferred", "no immigrants", "native English
  speaker", "no accents", "born in the US", "English as a first language"; colors without people
  ("black steel-toe boots only", "white hard hat") and language skills ("fluent English required",
  "bilingual Spanish a plus") pass. Citizenship requirements ("US citizens only") are not flagged:
  some contracts lawfully require them, so that call belongs to a human.
* Religion: "Christians only", "must be churchgoing", "no hijabs"; holidays and street names pass.
* Disability: "able-bodied", "no disabled", "must have no medical conditions", "perfect health";
  essential physical requirements ("must be able to lift 50 lbs", "stand for 8 hours") pass.

Other decisions
---------------
* Opt-out language: "reply/text/txt/send/respond STOP" (also UNSUBSCRIBE, or END, QUIT, CANCEL in
  capitals), any "opt out"/"opt-out", "unsubscribe", or an upper-case "STOP to end"/"STOP2END". An
  empty SMS gets ``EMPTY_BODY`` only.
* Recipients: ``do_not_contact`` blocks every kind, ``sms_opt_out`` blocks SMS only (one
  ``RECIPIENT_OPTED_OUT`` either way); ``inactive`` workers may be contacted. ``found: False`` gives
  ``UNKNOWN_RECIPIENT`` and nothing else about the recipient.
* Another worker's contact: a phone/email in the text whose owners (``worker_contacts`` maps a
  contact to one id or several) do not include the recipient, and that is neither the recipient's
  nor the agency's. A household phone shared with the recipient is not flagged. With no recipient,
  any worker's contact is someone else's.
* SMS has no subject line: a subject passed with ``kind="sms"`` is never sent and not checked.
* Placeholders: ``{{…}}``, ``{%…%}``, ``{name}``/``{0}``/``{}``, ``${name}``, ``$first_name``, ``%s``/
  ``%d``/``%(name)s``, ``__NAME__``; ``[…]``/``<…>`` only when the content looks like a field
  (a known field word such as NAME/First Name/start date, a snake_case identifier, "insert …", XXX),
  so "[URGENT]", "[sic]", "[1]", HTML tags and ``<jobs@example.com>`` pass.
* Warnings: ≥3 "!" in a row or ≥4 in total; a run of ≥3 all-caps words with ≥12 letters, or ≥70 %
  capitals over ≥20 letters; any well-known link shortener host.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apps.core.detectors import Span, find_cards, find_emails, find_phones, find_ssns, normalize_email, normalize_phone
from apps.validation.sms import GSM7_SINGLE_SEGMENT, UCS2_SINGLE_SEGMENT, sms_stats

__all__ = [
    "BODY_TOO_LONG",
    "DISCRIMINATORY_LANGUAGE",
    "EMAIL_BODY_MAX_CHARS",
    "EMAIL_MISSING_SUBJECT",
    "EMPTY_BODY",
    "EmailValidator",
    "KINDS",
    "PII_CARD",
    "PII_OTHER_WORKER",
    "PII_SSN",
    "RECIPIENT_OPTED_OUT",
    "SMS_MISSING_OPT_OUT",
    "SMS_TOO_LONG",
    "UNKNOWN_RECIPIENT",
    "UNRESOLVED_PLACEHOLDER",
    "Verdict",
    "WARN_ALL_CAPS",
    "WARN_EXCLAMATION_OVERLOAD",
    "WARN_LINK_SHORTENER",
]

KINDS = ("email", "sms")
EMAIL_BODY_MAX_CHARS = 10_000

# Stable error codes (SPEC §4.4).
PII_SSN = "PII_SSN"
PII_CARD = "PII_CARD"
PII_OTHER_WORKER = "PII_OTHER_WORKER"
SMS_TOO_LONG = "SMS_TOO_LONG"
SMS_MISSING_OPT_OUT = "SMS_MISSING_OPT_OUT"
RECIPIENT_OPTED_OUT = "RECIPIENT_OPTED_OUT"
UNKNOWN_RECIPIENT = "UNKNOWN_RECIPIENT"
EMAIL_MISSING_SUBJECT = "EMAIL_MISSING_SUBJECT"
EMPTY_BODY = "EMPTY_BODY"
UNRESOLVED_PLACEHOLDER = "UNRESOLVED_PLACEHOLDER"
DISCRIMINATORY_LANGUAGE = "DISCRIMINATORY_LANGUAGE"
BODY_TOO_LONG = "BODY_TOO_LONG"

# Warning codes: reported, never fail a draft.
WARN_EXCLAMATION_OVERLOAD = "EXCLAMATION_OVERLOAD"
WARN_ALL_CAPS = "ALL_CAPS"
WARN_LINK_SHORTENER = "LINK_SHORTENER"

Finding = dict[str, Any]


@dataclass
class Verdict:
    """Outcome of one outreach validation."""

    ok: bool
    kind: str
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def error_codes(self) -> set[str]:
        return {error["code"] for error in self.errors}

    def to_dict(self) -> dict[str, Any]:
        """The SPEC §4.4 response body."""
        return {
            "ok": self.ok,
            "kind": self.kind,
            "errors": [dict(error) for error in self.errors],
            "warnings": [dict(warning) for warning in self.warnings],
            "stats": dict(self.stats),
        }


def _finding(code: str, message: str, span: tuple[int, int] | None = None) -> Finding:
    finding: Finding = {"code": code, "message": message}
    if span is not None:
        finding["start"], finding["end"] = span
    return finding


# --- SMS opt-out language -------------------------------------------------------------------------

_OPT_OUT_RE = re.compile(
    r"(?=[a-z])"  # lets sre skip non-letters before trying the alternatives
    r"(?:\b(?:reply|replying|text|txt|send|respond(?:\s+with)?|msg|message)\s+[\"'“‘]?"
    # END/QUIT/CANCEL only as upper-case keywords: "text end time to Maria" is no opt-out.
    r"(?:stop|stopall|unsubscribe|(?-i:END|QUIT|CANCEL))\b"
    r"|\bopt(?:[\s\-]*)out\b"
    r"|\bunsubscribe\b"
    # "STOP to end", "STOP2END": only the upper-case keyword, "we stop to end the shift" is no opt-out.
    r"|\b(?-i:STOP)\s*(?:to|2)\s*(?:end|quit|cancel|unsubscribe|opt|stop)\b)",
    re.IGNORECASE,
)

# --- placeholders ---------------------------------------------------------------------------------

# One regex per opening character: each starts with a literal, so sre scans for it quickly, and it
# only runs when that character occurs at all. A single alternation was ~10x slower.
_PLACEHOLDER_SHAPES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("{", "template", re.compile(r"\{\{[^{}\n]{0,80}\}\}|\{%[^{}\n]{0,80}%\}")),
    # "{first_name}", "{0}", "{}" — but not the inside of "{{...}}" or "${...}".
    ("{", "brace", re.compile(r"\{(?<!\{\{)(?<!\$\{)\s*(?:[A-Za-z_][\w.\- ]{0,40}|[0-9]{0,2})\s*\}(?!\})")),
    ("$", "dollar", re.compile(r"\$\{[^{}\s]{1,40}\}|\$(?<![\w$]\$)[A-Za-z]+_[A-Za-z0-9_]+\b")),
    ("%", "printf", re.compile(r"%(?<![%\w]%)(?:\([A-Za-z_]\w{0,40}\))?[sd](?![A-Za-z0-9])")),
    ("__", "dunder", re.compile(r"__(?<!\w__)[A-Za-z][A-Za-z0-9_]*__(?!\w)")),
    # Bracketed words are placeholders only when their content looks like one (checked below).
    ("[", "square", re.compile(r"\[\[?[^\[\]\n]{1,40}\]\]?")),
    ("<", "angle", re.compile(r"<<?[^<>\n]{1,40}>>?")),
)
_PLACEHOLDER_WORDS = frozenset(
    phrase
    for line in """
        name|first name|firstname|last name|lastname|full name|fname|lname|worker|worker name
        candidate|candidate name|recipient|recipient name|client|client name|company|company name
        employer|customer|city|state|zip|zip code|address|location|site|work site|worksite
        facility|date|start date|end date|time|start time|end time|shift|shift time|shift date
        day|phone|phone number|number|email|email address|role|position|job|job title|title|rate
        pay|pay rate|hourly rate|wage|salary|recruiter|recruiter name|coordinator
        coordinator name|agency|agency name|manager|manager name|supervisor|contact|contact name
        link|url|order|order id|order number|amount|sender|signature|your name|my name|placeholder
    """.split("\n")
    for phrase in (part.strip() for part in line.split("|"))
    if phrase
)
_PLACEHOLDER_PREFIXES = ("insert ", "enter ", "add ", "your ", "worker ", "candidate ", "client ", "recruiter ")
_SNAKE_IDENTIFIER = re.compile(r"[A-Za-z]+(?:_[A-Za-z0-9]+)+")
_FILLER = re.compile(r"x{2,}|X{2,}|_{2,}|\.{3,}|…|\?{2,}")
# Lower-case HTML tag names that are also placeholder words: "<address>" in an email is markup.
_HTML_TAGS_IN_VOCABULARY = frozenset({"address", "time", "title", "link"})


def _looks_like_placeholder(content: str, *, angle: bool) -> bool:
    stripped = content.strip()
    if not stripped:
        return False
    if angle and stripped in _HTML_TAGS_IN_VOCABULARY:
        return False
    if _SNAKE_IDENTIFIER.fullmatch(stripped) or _FILLER.fullmatch(stripped):
        return True
    normalized = " ".join(stripped.lower().replace("_", " ").replace("-", " ").split())
    if normalized in _PLACEHOLDER_WORDS:
        return True
    for prefix in _PLACEHOLDER_PREFIXES:
        if normalized.startswith(prefix):
            rest = normalized[len(prefix) :]
            # "insert date", "enter name" are placeholders whatever follows; "your city" needs a word.
            return prefix in ("insert ", "enter ") or rest in _PLACEHOLDER_WORDS
    return False


def _placeholder_spans(text: str) -> list[tuple[int, int, str]]:
    spans = []
    for opener, shape, pattern in _PLACEHOLDER_SHAPES:
        if opener not in text:
            continue
        for match in pattern.finditer(text):
            raw = match.group()
            if shape in ("square", "angle") and not _looks_like_placeholder(raw.strip("[]<>"), angle=shape == "angle"):
                continue
            spans.append((match.start(), match.end(), raw))
    return _without_overlaps(spans)


def _without_overlaps(spans: list[Any]) -> list[Any]:
    """Spans (start, end, ...) sorted by start, dropping any that overlaps one kept before it."""
    spans.sort(key=lambda span: (span[0], -span[1]))
    kept: list[Any] = []
    for span in spans:
        if kept and span[0] < kept[-1][1]:
            continue
        kept.append(span)
    return kept


# --- discriminatory language ----------------------------------------------------------------------

_PEOPLE = (
    r"(?:people|persons?|workers?|candidates?|applicants?|men|women|guys|gals|girls|boys|ladies|adults"
    r"|talent|staff(?:ers)?|team(?:\s+members?)?|crews?|folks|individuals?|hires?|employees?|associates?"
    r"|operators?|drivers?|cooks?|nurses?|labou?rers?|blood|faces?|personnel|professionals?|grads?"
    r"|graduates?|hands|helpers?|pickers?|packers?|movers?|loaders?)"
)
# Nouns that turn "young professionals" into the name of a program rather than a requirement.
_ORGANIZATION_NOUN = (
    r"(?:program(?:me)?s?|networks?|groups?|clubs?|associations?|society|societies|chapters?|events?"
    r"|mixers?|meetups?|conferences?|leagues?|initiatives?|fellowships?|awards?|committees?|councils?"
    r"|summits?|forums?|nights?|series|academy|academies|cohorts?|circles?)"
)
_APPLY_REFUSAL = (
    r"(?:need\s+not|should\s+not|shouldn['’]t|cannot|can['’]t|can\s+not|may\s+not|do\s+not|don['’]t)\s+apply"
)
_WOMEN_MEN = r"(?:(?:fe)?males?|(?:wo)?men|ladies|girls|guys|gentlemen|gals|boys)"
_RACE = (
    r"(?:white|black|asian|hispanic|latino|latina|latinx|caucasian|african[\s\-]american|arab|mexican"
    r"|indian|chinese|european|american|immigrant|foreign(?:[\s\-]born)?)s?"
)
_RELIGION = (
    r"(?:christians?|muslims?|jews|jewish|catholics?|protestants?|hindus?|sikhs?|buddhists?|mormons?"
    r"|atheists?|evangelicals?)"
)
_PEOPLE_SHORT = r"(?:people|persons|candidates?|applicants?|workers?|men|women|guys|girls|folks|staff|employees)"

_DISCRIMINATION_PATTERNS: dict[str, list[str]] = {
    "age": [
        r"\b(?:young(?:er)?|youthful)(?:\s*(?:,|and|&)\s*[a-z]+|\s+[a-z]+)?\s+" + _PEOPLE + r"\b"
        r"(?!['’]s)(?!\s+" + _ORGANIZATION_NOUN + r"\b)",
        r"\b(?:someone|somebody|people|candidates?|applicants?|workers?)\s+(?:who|that)\s+(?:is|are)\s+"
        r"(?:young|youthful)\b",
        r"\bsomeone\s+young\b",
        r"\b(?:looking\s+for|seeking|hiring|prefer(?:ring)?)\s+young\b",
        r"\byoung(?:er)?\s+(?:and|&)\s+(?:energetic|fresh|hungry|dynamic|vibrant|fit|attractive)\b",
        r"\b(?:must|should|needs?\s+to|has\s+to|have\s+to)\s+be\s+(?:young|youthful"
        r"|(?:under|below|younger\s+than)\s+(?:the\s+age\s+of\s+)?\d{2}|no\s+older\s+than"
        r"|between\s+(?:the\s+ages\s+of\s+)?\d{2}\s*(?:-|–|and|to)\s*\d{2})",
        r"\b(?:no|not)\s+older\s+than\b",
        r"\b(?:no\s*one|nobody|no\s+(?:applicants?|candidates?|workers?|people))\s+(?:over|above|older\s+than)"
        r"\s+(?:the\s+age\s+of\s+)?\d{2}\b",
        r"\b(?:over|above)\s+(?:the\s+age\s+of\s+)?\d{2}s?\s+" + _APPLY_REFUSAL + r"\b",
        # Upper limits only: "under 18" is a child-labour rule, not a screen.
        r"\b(?:under|below|younger\s+than)\s+(?:the\s+age\s+of\s+)?(?:2[5-9]|[3-9]\d)\s+(?:only|preferred"
        r"|years\s+(?:old\s+)?only)\b",
        r"\bonly\s+(?:[a-z]+\s+)?(?:under|below|younger\s+than)\s+(?:2[5-9]|[3-9]\d)\b",
        r"\bages?d?\s*:?\s*(?:1[6-9]|[2-9]\d)\s*(?:-|–|to)\s*[2-9]\d\b",
        r"\bbetween\s+the\s+ages\s+of\b",
        r"\b(?:maximum|max\.?|upper)\s+age\b|\bage\s+(?:limit|cap|cut-?off)\b",
        r"\brecent\s+(?:college\s+|high\s+school\s+|university\s+)?grad(?:uate)?s?\s+(?:only|preferred|wanted"
        r"|required)\b",
        r"\bonly\s+recent\s+(?:college\s+|high\s+school\s+)?grad",
        r"\bmust\s+be\s+a\s+recent\s+(?:college\s+)?grad",
        r"\bdigital\s+natives?\b",
        r"\b(?:millennials?|gen(?:eration)?[\s\-]*[zy])\s+(?:only|preferred|wanted)\b",
        r"\b(?:retirees|seniors|older\s+(?:workers|people|applicants|candidates|folks)|(?:baby\s+)?boomers)\s+"
        + _APPLY_REFUSAL
        + r"\b",
        r"\bno\s+(?:retirees|seniors|older\s+(?:workers|people|applicants|candidates)|(?:baby\s+)?boomers)\b",
        r"\b(?:you(?:['’]re|\s+are)|applicants?\s+(?:are|is)|candidates?\s+(?:are|is))\s+(?:not\s+)?too\s+old\b",
        r"\bhow\s+old\s+are\s+you\b",
    ],
    "sex": [
        r"\b" + _WOMEN_MEN + r"\s+only\b",
        r"\b(?:wo)?man\s+only\b",
        r"\bonly\s+(?:hiring\s+|accepting\s+|considering\s+|looking\s+for\s+|wants?\s+|seeking\s+)?"
        + _WOMEN_MEN
        + r"\b(?!['’]s)",
        r"\b" + _WOMEN_MEN + r"\s+(?:preferred|wanted|needed|required|(?:applicants?|candidates?|workers?)\s+only"
        r"|only\s+please)\b",
        r"\bmust\s+be\s+(?:a\s+)?(?:(?:fe)?male|(?:wo)?man|lady|girl|guy)\b",
        r"\bno\s+(?:women|females|ladies|girls|men|males|guys|moms|mothers|single\s+(?:mothers|moms))\b(?!['’]s)",
        r"\b(?:strong|pretty|attractive|good[\s\-]looking|hot)\s+" + _WOMEN_MEN + r"\b(?!['’]s)",
    ],
    "pregnancy": [
        r"\b(?:no|not|non-?)\s*pregnan(?:t|cy)\b",
        r"\b(?:not|never)\s+be\s+pregnant\b",
        r"\bpregnancy\s+(?:test|testing|screen(?:ing)?|status)\b",
        r"\b(?:are|is)\s+(?:you|she)\s+(?:currently\s+)?pregnant\b",
        r"\bpregnant\s+(?:(?:women|workers|applicants|candidates|people|ladies|girls|moms|mothers)\s+)?"
        r"(?:need\s+not|should\s+not|shouldn['’]t|cannot|can['’]t|may\s+not|are\s+not\s+eligible)\b",
        r"\b(?:plan(?:ning)?|intend(?:ing)?)\s+(?:to|on)\s+(?:get(?:ting)?\s+pregnant"
        r"|hav(?:e|ing)\s+(?:a\s+baby|babies|kids|children))\b",
        r"\bno\s+expecting\s+(?:mothers|moms|parents)\b",
    ],
    "race or national origin": [
        r"\b" + _RACE + r"\s+" + _PEOPLE_SHORT + r"\s+(?:only|preferred|wanted|" + _APPLY_REFUSAL + r")\b",
        r"\b(?:hispanic|latino|latina|latinx|caucasian|asian|african[\s\-]american|mexican|arab|american)s?"
        r"\s+(?:only|preferred)\b",
        r"\bonly\s+(?:hiring\s+|accepting\s+)?(?:white|black|asian|hispanic|latino|caucasian|american|mexican)s?"
        r"\s+" + _PEOPLE_SHORT + r"\b",
        r"\bno\s+(?:blacks|whites|asians|hispanics|latinos|mexicans|immigrants|foreigners|arabs|africans"
        r"|indians|chinese|orientals|non-?citizens|green\s+card\s+holders)\b",
        r"(?<!non-)(?<!non )\bnative(?:[\s\-]+[a-z]+)?[\s\-]+speakers?\b",
        r"\benglish\s+(?:as\s+(?:a|your|the)\s+)?(?:first|native|mother)\s+(?:language|tongue)\b",
        r"\b(?:first|native|mother)\s+(?:language|tongue)\s+(?:must\s+be|is|should\s+be)\s+english\b",
        r"\b(?:no\s+|without\s+(?:an?\s+)?)(?:heavy\s+|thick\s+|foreign\s+|strong\s+)?accents?\b",
        r"\b(?:american|u\.?s\.?a?)[\s\-]born\b",
        r"\bborn\s+in\s+(?:the\s+)?(?:us|u\.s\.|usa|united\s+states|america)\b",
    ],
    "religion": [
        r"\b" + _RELIGION + r"\s+(?:only|preferred|" + _APPLY_REFUSAL + r"|" + _PEOPLE_SHORT
        + r"\s+(?:only|preferred))\b",
        r"\bmust\s+be\s+(?:a\s+)?(?:christian|muslim|jewish|catholic|protestant|hindu|sikh|buddhist|mormon"
        r"|religious|church[\s\-]?going|believer)\b",
        r"\bchurch[\s\-]?going\b|\bgod[\s\-]?fearing\b",
        r"\bno\s+(?:muslims|jews|christians|catholics|hindus|sikhs|atheists|hijabs?|turbans?"
        r"|head\s*scar(?:f|fs|ves)|yarmulkes?|burqas?)\b",
        r"\bwhat\s+(?:is\s+your\s+religion|church\s+do\s+you\s+attend)\b",
    ],
    "disability": [
        r"\bable[\s\-]bodied\b",
        r"\bno\s+(?:disabled|handicapped|disabilit(?:y|ies)|wheelchairs?|mental(?:ly\s+ill|\s+illness(?:es)?)"
        r"|psychiatric\s+(?:history|conditions?)|medical\s+conditions|health\s+(?:problems|issues|conditions))\b",
        r"\b(?:disabled|handicapped)\s+(?:(?:people|persons|applicants|candidates|workers)\s+)?" + _APPLY_REFUSAL
        + r"\b",
        r"\bmust\s+(?:not\s+(?:be|have)\s+(?:a\s+|any\s+)?(?:disabled|handicapped|disabilit(?:y|ies)"
        r"|medical\s+conditions?)|have\s+no\s+(?:disabilit(?:y|ies)|handicaps?|medical\s+conditions?"
        r"|health\s+(?:issues|problems|conditions)))\b",
        r"\b(?:free\s+(?:of|from)|without)\s+(?:any\s+)?(?:disabilit(?:y|ies)|handicaps?)\b",
        r"\bperfect\s+(?:physical\s+)?health\b",
    ],
}
# Every pattern of a category contains one of its trigger words; a category's regex only runs when
# the draft contains one (a word-set intersection), which keeps typical drafts at a few µs instead of
# running ~80 alternatives at every position.
_DISCRIMINATION_TRIGGERS: dict[str, str] = {
    "age": """
        young younger youthful someone old older age ages aged grad grads graduate graduates natives
        native millennial millennials gen genz geny generation retirees seniors boomers under below
        over above than between
    """,
    "sex": """
        female females male males woman women man men lady ladies girl girls guy guys gentlemen gal
        gals boy boys mom moms mother mothers
    """,
    "pregnancy": "pregnant pregnancy nonpregnant expecting kids children baby babies",
    "race or national origin": """
        white whites black blacks asian asians hispanic hispanics latino latinos latina latinas latinx
        caucasian caucasians african africans american americans arab arabs mexican mexicans indian
        indians chinese european europeans immigrant immigrants foreign foreigners citizens noncitizens
        non green orientals native speaker speakers english language tongue accent accents born
    """,
    "religion": """
        christian christians muslim muslims jews jewish catholic catholics protestant protestants hindu
        hindus sikh sikhs buddhist buddhists mormon mormons atheist atheists evangelical evangelicals
        religious religion believer church churchgoing god godfearing hijab hijabs turban turbans
        headscarf headscarfs headscarves scarf scarfs scarves yarmulke yarmulkes burqa burqas
    """,
    "disability": """
        able bodied disabled handicapped handicap handicaps disability disabilities wheelchair
        wheelchairs mental mentally psychiatric medical health
    """,
}
_DISCRIMINATION_CATEGORIES: tuple[tuple[str, frozenset[str], re.Pattern[str]], ...] = tuple(
    (
        category,
        frozenset(_DISCRIMINATION_TRIGGERS[category].split()),
        # The look-ahead lets sre skip positions that cannot start a word before trying alternatives.
        re.compile(r"(?=[a-z])(?:" + "|".join(patterns) + ")", re.IGNORECASE),
    )
    for category, patterns in _DISCRIMINATION_PATTERNS.items()
)
_WORD_RE = re.compile(r"[a-z]+")
_DIGIT_RE = re.compile(r"[0-9]")
_TITLE_BEFORE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Coach)\.?\s+$")


def _discrimination_spans(text: str) -> list[tuple[int, int, str, str]]:
    words = set(_WORD_RE.findall(text.lower()))
    spans = []
    for category, triggers, pattern in _DISCRIMINATION_CATEGORIES:
        if words.isdisjoint(triggers):
            continue
        for match in pattern.finditer(text):
            start, end = match.span()
            # "Ms. Young's crew": a surname after a title, not an age screen.
            if text.startswith("Young", start) and _TITLE_BEFORE.search(text, max(0, start - 8), start):
                continue
            spans.append((start, end, category, match.group()))
    return _without_overlaps(spans)


# --- warnings -------------------------------------------------------------------------------------

_SHORTENER_HOSTS = (
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly",
    "cutt.ly", "shorturl.at", "rb.gy", "tiny.cc", "bl.ink", "lnkd.in", "t.ly", "v.gd", "s.id",
    "shorte.st", "adf.ly", "tr.im", "qr.ae", "x.co", "soo.gd", "short.io", "tiny.one",
)  # fmt: skip
_SHORTENER_RE = re.compile(
    r"(?<![\w.\-@/])(?:https?://)?(?:www\.)?"
    r"(?P<host>" + "|".join(re.escape(host) for host in _SHORTENER_HOSTS) + r")"
    r"(?![\w\-]|\.[A-Za-z])(?:/\S*)?",
    re.IGNORECASE,
)
_EXCLAMATION_RUN_RE = re.compile(r"!{2,}")
_EXCLAMATION_RUN_LIMIT = 3  # "!!!" is overload; "Great!!" alone is enthusiasm
_EXCLAMATION_TOTAL_LIMIT = 4
# Three or more all-caps words in a row; starting with the character class lets sre skip ahead fast.
_CAPS_RUN_RE = re.compile(r"[A-Z]{2}(?<![\w][A-Z]{2})[A-Z]*(?:[^\w\n]{1,3}[A-Z]{2,}){2,}(?!\w)")
_CAPS_RUN_MIN_LETTERS = 12  # three short acronyms in a row ("CNA, RN, LPN") are not shouting
_CAPS_RATIO_MIN_LETTERS = 20
_CAPS_RATIO = 0.7


def _exclamation_warning(text: str, where: str, with_spans: bool) -> Finding | None:
    bangs = text.count("!")
    if bangs < _EXCLAMATION_RUN_LIMIT:
        return None
    runs = list(_EXCLAMATION_RUN_RE.finditer(text))
    long_run = next((run for run in runs if len(run.group()) >= _EXCLAMATION_RUN_LIMIT), None)
    if long_run is None and bangs < _EXCLAMATION_TOTAL_LIMIT:
        return None
    span = long_run.span() if long_run is not None else None
    return _finding(
        WARN_EXCLAMATION_OVERLOAD,
        f"{bangs} exclamation marks in the {where}; it reads as spam.",
        span if with_spans else None,
    )


def _shouting_warning(text: str, where: str, with_spans: bool) -> Finding | None:
    uppercase = sum(map(str.isupper, text))
    if uppercase < _CAPS_RUN_MIN_LETTERS:  # both rules below need at least this many capitals
        return None
    for run in _CAPS_RUN_RE.finditer(text):
        if sum(map(str.isalpha, run.group())) >= _CAPS_RUN_MIN_LETTERS:
            span = run.span() if with_spans else None
            return _finding(WARN_ALL_CAPS, f"All-caps run in the {where} reads as shouting.", span)
    letters = sum(map(str.isalpha, text))
    if letters >= _CAPS_RATIO_MIN_LETTERS and uppercase >= _CAPS_RATIO * letters:
        return _finding(WARN_ALL_CAPS, f"The {where} is mostly capital letters; it reads as shouting.")
    return None


def _shortener_warnings(text: str, where: str, with_spans: bool) -> list[Finding]:
    lowered = text.lower()
    if not any(host in lowered for host in _SHORTENER_HOSTS):
        return []
    return [
        _finding(
            WARN_LINK_SHORTENER,
            f"Link shortener {link.group('host').lower()} in the {where}; carriers and spam filters "
            "distrust them, use the full link.",
            link.span() if with_spans else None,
        )
        for link in _SHORTENER_RE.finditer(text)
    ]


def _warning_findings(text: str, *, with_spans: bool, where: str) -> list[Finding]:
    warnings = [
        warning
        for warning in (_exclamation_warning(text, where, with_spans), _shouting_warning(text, where, with_spans))
        if warning is not None
    ]
    warnings += _shortener_warnings(text, where, with_spans)
    if with_spans:
        warnings.sort(key=lambda warning: warning.get("start", len(text)))
    return warnings


# --- PII ------------------------------------------------------------------------------------------

def _contact_owner_index(worker_contacts: Any) -> dict[str, frozenset[str]]:
    """Normalize the caller's contact → owner map (owners may be one id or several)."""
    index: dict[str, frozenset[str]] = {}
    if not isinstance(worker_contacts, Mapping):
        return index
    for contact, owners in worker_contacts.items():
        if not isinstance(contact, str):
            continue
        key = normalize_email(contact) if "@" in contact else (normalize_phone(contact) or contact.strip())
        if isinstance(owners, str):
            owner_ids = frozenset({owners})
        elif isinstance(owners, Iterable):
            owner_ids = frozenset(str(owner) for owner in owners)
        else:
            owner_ids = frozenset({str(owners)})
        index[key] = index.get(key, frozenset()) | owner_ids
    return index


def _normalized_contacts(phones: Any, emails: Any) -> set[str]:
    contacts: set[str] = set()
    for raw in _iterable(phones):
        if isinstance(raw, str):
            contacts.add(normalize_phone(raw) or raw.strip())
    for raw in _iterable(emails):
        if isinstance(raw, str):
            contacts.add(normalize_email(raw))
    contacts.discard("")
    return contacts


def _iterable(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return value if isinstance(value, Iterable) else ()


@dataclass(frozen=True)
class _TextFinding:
    code: str
    message: str
    start: int
    end: int


class EmailValidator:
    """Validates email and SMS outreach drafts (SPEC §4.4). Stateless and thread-safe."""

    def validate(
        self,
        kind: str,
        subject: str | None,
        body: str | None,
        recipient: Mapping[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> Verdict:
        """Check one draft; see the module docstring for the rules."""
        kind = kind.strip().lower() if isinstance(kind, str) else kind
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        subject_text = _as_text(subject)
        body_text = _as_text(body)
        recipient = recipient if isinstance(recipient, Mapping) else None
        context = context if isinstance(context, Mapping) else {}

        errors: list[Finding] = []
        errors += self._recipient_errors(kind, recipient)

        body_is_empty = not body_text.strip()
        if body_is_empty:
            errors.append(_finding(EMPTY_BODY, "The message body is empty."))
        if kind == "email":
            stats: dict[str, Any] = {"chars": len(body_text)}
            if not subject_text.strip():
                errors.append(_finding(EMAIL_MISSING_SUBJECT, "An email needs a subject."))
            if len(body_text) > EMAIL_BODY_MAX_CHARS:
                errors.append(
                    _finding(
                        BODY_TOO_LONG,
                        f"Email body is {len(body_text)} characters; the limit is {EMAIL_BODY_MAX_CHARS}.",
                    )
                )
        else:
            stats = dict(sms_stats(body_text))
            limit = GSM7_SINGLE_SEGMENT if stats["encoding"] == "GSM-7" else UCS2_SINGLE_SEGMENT
            if stats["chars"] > limit:
                errors.append(
                    _finding(
                        SMS_TOO_LONG,
                        f"SMS is {stats['chars']} {stats['encoding']} characters ({stats['segments']} segments); "
                        f"one message holds {limit}.",
                    )
                )
            # An empty SMS already fails EMPTY_BODY; asking it for opt-out language adds nothing.
            if not body_is_empty and not _OPT_OUT_RE.search(body_text):
                errors.append(
                    _finding(SMS_MISSING_OPT_OUT, 'SMS needs opt-out language such as "Reply STOP to opt out".')
                )

        owner_index = _contact_owner_index(context.get("worker_contacts"))
        allowed_contacts = _normalized_contacts(context.get("agency_phones"), context.get("agency_emails"))
        recipient_id = None
        if recipient is not None:
            recipient_id = None if recipient.get("worker_id") is None else str(recipient.get("worker_id"))
            allowed_contacts |= _normalized_contacts(recipient.get("phone"), recipient.get("email"))

        warnings: list[Finding] = []
        # SMS has no subject line; anything passed as one is never sent, so it is not checked.
        if kind == "email" and subject_text:
            for found in self._text_findings(subject_text, owner_index, allowed_contacts, recipient_id):
                errors.append(_finding(found.code, f"Subject: {found.message}"))
            warnings += _warning_findings(subject_text, with_spans=False, where="subject")
        for found in self._text_findings(body_text, owner_index, allowed_contacts, recipient_id):
            errors.append(_finding(found.code, found.message, (found.start, found.end)))
        warnings += _warning_findings(body_text, with_spans=True, where="body")

        return Verdict(ok=not errors, kind=kind, errors=errors, warnings=warnings, stats=stats)

    @staticmethod
    def _recipient_errors(kind: str, recipient: Mapping[str, Any] | None) -> list[Finding]:
        if recipient is None:
            return []
        worker_id = recipient.get("worker_id")
        if not recipient.get("found", True):
            return [_finding(UNKNOWN_RECIPIENT, f"Worker {worker_id} does not exist.")]
        errors = []
        status = recipient.get("status")
        if isinstance(status, str) and status.strip().lower() == "do_not_contact":
            errors.append(_finding(RECIPIENT_OPTED_OUT, f"Worker {worker_id} is marked do-not-contact."))
        elif kind == "sms" and recipient.get("sms_opt_out"):
            errors.append(_finding(RECIPIENT_OPTED_OUT, f"Worker {worker_id} opted out of SMS."))
        return errors

    @staticmethod
    def _text_findings(
        text: str,
        owner_index: Mapping[str, frozenset[str]],
        allowed_contacts: set[str],
        recipient_id: str | None,
    ) -> list[_TextFinding]:
        found: list[_TextFinding] = []
        if _DIGIT_RE.search(text):
            for span in find_ssns(text):
                found.append(_TextFinding(PII_SSN, "Contains a US Social Security number.", span.start, span.end))
            for span in find_cards(text):
                found.append(_TextFinding(PII_CARD, "Contains a payment card number.", span.start, span.end))
        if owner_index:
            contact_spans: list[Span] = find_phones(text) + find_emails(text)
            for span in contact_spans:
                if span.value in allowed_contacts:
                    continue
                owners = owner_index.get(span.value)
                if not owners or recipient_id in owners:
                    continue
                what = "phone number" if span.kind == "phone" else "email address"
                found.append(
                    _TextFinding(
                        PII_OTHER_WORKER,
                        f"Contains the {what} of another worker ({', '.join(sorted(owners))}).",
                        span.start,
                        span.end,
                    )
                )
        for start, end, raw in _placeholder_spans(text):
            found.append(_TextFinding(UNRESOLVED_PLACEHOLDER, f"Unresolved template placeholder {raw!r}.", start, end))
        for start, end, category, phrase in _discrimination_spans(text):
            found.append(
                _TextFinding(
                    DISCRIMINATORY_LANGUAGE,
                    f"{phrase!r} screens candidates by {category}; describe the job's requirements instead.",
                    start,
                    end,
                )
            )
        found.sort(key=lambda finding: (finding.start, finding.end, finding.code))
        return found


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)
