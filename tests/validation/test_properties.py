"""Property tests: phones are never SSNs, valid SSNs are always caught, nothing ever raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.validation.email_validator import EmailValidator
from apps.validation.fill_validator import FillValidator
from apps.core.detectors import find_cards, find_emails, find_phones, find_ssns, mask_pii
from apps.validation.sms import GSM7_EXTENSION, is_gsm7, sms_stats

BOUNDED = settings(max_examples=200, deadline=None, database=None)
VALIDATOR = EmailValidator()

# Ordinary words: no digits, no reference labels ("order", "PO", "zip"…) and no upper-case state
# codes, which are the documented reasons nine bare digits are not read as an SSN.
WORDS = st.sampled_from(
    "Hi Ana your number is please confirm SSN social security on file call me thanks the shift "
    "Monday at Dock and for new hire form text soon Maria Lopez tomorrow".split()
)
PHONE_FORMATS = (
    "{a}-{e}-{l}", "({a}) {e}-{l}", "({a}){e}-{l}", "{a}.{e}.{l}", "{a} {e} {l}", "{a}{e}{l}",
    "+1 {a} {e} {l}", "+1-{a}-{e}-{l}", "+1{a}{e}{l}", "1-{a}-{e}-{l}", "1 ({a}) {e}-{l}",
    "+1 ({a}) {e}-{l}", "1.{a}.{e}.{l}", "+1.{a}.{e}.{l}", "{a}-{e}-{l} ext. 12", "1{a}{e}{l}",
)  # fmt: skip
SSN_SHAPES = ("{a}-{g}-{s}", "{a} {g} {s}", "{a}{g}{s}", "{a}–{g}–{s}")


@st.composite
def sentences_around(draw: st.DrawFn, needle: str) -> tuple[str, int]:
    """``needle`` between random words and punctuation; returns the text and the needle's offset."""
    before = " ".join(draw(st.lists(WORDS, max_size=6)))
    after = " ".join(draw(st.lists(WORDS, max_size=6)))
    # Something must separate the needle from a word before it: "Ana219-09-9999" is an identifier.
    opener = draw(st.sampled_from([" ", ": ", " (", ", ", "\n"] if before else ["", "("]))
    closer = draw(st.sampled_from(["", ".", ",", "!", "?", ")", ";", " "]))
    prefix = before + opener
    return prefix + needle + closer + (" " + after if after else ""), len(prefix)


@st.composite
def us_phones(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.integers(200, 999))
    exchange = draw(st.integers(0, 999))
    line = draw(st.integers(0, 9999))
    layout = draw(st.sampled_from(PHONE_FORMATS))
    text = layout.format(a=f"{area:03d}", e=f"{exchange:03d}", l=f"{line:04d}")
    return text, f"+1{area:03d}{exchange:03d}{line:04d}"


@st.composite
def valid_ssns(draw: st.DrawFn) -> tuple[str, str]:
    area = draw(st.integers(1, 899).filter(lambda n: n != 666))
    group = draw(st.integers(1, 99))
    serial = draw(st.integers(1, 9999))
    shape = draw(st.sampled_from(SSN_SHAPES))
    text = shape.format(a=f"{area:03d}", g=f"{group:02d}", s=f"{serial:04d}")
    return text, f"{area:03d}-{group:02d}-{serial:04d}"


@BOUNDED
@given(data=st.data(), phone=us_phones())
def test_no_us_phone_is_ever_an_ssn(data: st.DataObject, phone: tuple[str, str]) -> None:
    phone_text, e164 = phone
    text, offset = data.draw(sentences_around(phone_text))
    assert find_ssns(text) == []
    for kind in ("sms", "email"):
        codes = {error["code"] for error in VALIDATOR.validate(kind, "Shift", text, None, None).errors}
        assert "PII_SSN" not in codes
    [span] = find_phones(text)
    assert span.value == e164
    assert span.start == offset


@BOUNDED
@given(data=st.data(), ssn=valid_ssns())
def test_every_valid_ssn_is_caught(data: st.DataObject, ssn: tuple[str, str]) -> None:
    ssn_text, value = ssn
    text, offset = data.draw(sentences_around(ssn_text))
    [span] = find_ssns(text)
    assert (span.start, span.end, span.value) == (offset, offset + len(ssn_text), value)
    verdict = VALIDATOR.validate("email", "Shift", text, None, None)
    ssn_errors = [error for error in verdict.errors if error["code"] == "PII_SSN"]
    assert [(error["start"], error["end"]) for error in ssn_errors] == [(span.start, span.end)]
    masked, counts = mask_pii(text)
    assert counts["ssn"] == 1
    assert ssn_text not in masked and "[SSN]" in masked


@BOUNDED
@given(subject=st.one_of(st.none(), st.text()), body=st.one_of(st.none(), st.text()))
def test_validators_never_raise_on_arbitrary_unicode(subject: str | None, body: str | None) -> None:
    for kind in ("email", "sms"):
        payload = VALIDATOR.validate(kind, subject, body, None, None).to_dict()
        assert payload["ok"] is (not payload["errors"])
        for finding in payload["errors"] + payload["warnings"]:
            if "start" in finding:
                assert 0 <= finding["start"] < finding["end"] <= len(body or "")


@BOUNDED
@given(text=st.text())
def test_pii_functions_never_raise_and_spans_are_exact(text: str) -> None:
    for finder in (find_ssns, find_cards, find_emails, find_phones):
        for span in finder(text):
            assert text[span.start : span.end] == span.text
    masked, counts = mask_pii(text)
    assert set(counts) == {"ssn", "card", "email", "phone"}
    if not any(counts.values()):
        assert masked == text


@BOUNDED
@given(text=st.text(alphabet=st.characters(codec="utf-8")) | st.text(alphabet="0123456789 -.()+@a"))
def test_mask_pii_removes_what_the_finders_find(text: str) -> None:
    masked, counts = mask_pii(text)
    for span in find_ssns(text) + find_cards(text):
        # Each finding is masked (alone or inside a longer overlapping finding), so its text occurs
        # fewer times in the output than in the input.
        assert masked.count(span.text) < text.count(span.text)
    assert sum(counts.values()) <= len(find_ssns(text) + find_cards(text) + find_emails(text) + find_phones(text))


@BOUNDED
@given(text=st.text())
def test_sms_stats_counts_match_the_encoding(text: str) -> None:
    stats = sms_stats(text)
    if is_gsm7(text):
        assert stats["encoding"] == "GSM-7"
        assert stats["chars"] == len(text) + sum(char in GSM7_EXTENSION for char in text)
        single, multi = 160, 153
    else:
        assert stats["encoding"] == "UCS-2"
        assert stats["chars"] == len(text.encode("utf-16-le", "surrogatepass")) // 2
        single, multi = 70, 67
    if stats["chars"] == 0:
        assert stats["segments"] == 0
    elif stats["chars"] <= single:
        assert stats["segments"] == 1
    else:
        # At least ceil(chars / multi); at most one more per split two-unit character.
        assert stats["segments"] >= -(-stats["chars"] // multi)
        assert stats["segments"] <= stats["chars"] // (multi - 1) + 1


@BOUNDED
@given(
    headcount=st.integers(0, 4),
    worker_ids=st.lists(st.sampled_from(["W-1", "W-2", "W-3", "W-404"]), max_size=6),
)
def test_headcount_mismatch_iff_distinct_count_differs(headcount: int, worker_ids: list[str]) -> None:
    order = {"city": "Columbus", "state": "OH", "role": "cna", "headcount": headcount, "shift": "day",
             "start_date": "2026-12-01", "required_certifications": []}  # fmt: skip
    worker = {"status": "active", "available_from": None, "shift_preference": ["day"], "city": "Columbus",
              "state": "OH", "role": "cna", "certifications": []}  # fmt: skip
    workers = {"W-1": worker, "W-2": worker, "W-3": worker}
    verdict = FillValidator().validate(order, worker_ids, workers, [])
    codes = [error["code"] for error in verdict.errors]
    assert ("HEADCOUNT_MISMATCH" in codes) is (len(set(worker_ids)) != headcount)
    assert codes.count("UNKNOWN_WORKER") == (1 if "W-404" in worker_ids else 0)
    assert codes.count("DUPLICATE_WORKER") == sum(worker_ids.count(w) > 1 for w in set(worker_ids))
