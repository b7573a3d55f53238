"""The text embedded for a worker (apps/workers/profile.py, SPEC §4.2). No database."""

from __future__ import annotations

from apps.workers.profile import profile_text


def worker(role, city, state, skills, certifications, shifts, years, bio) -> dict:
    return {
        "role": role, "city": city, "state": state, "skills": skills,
        "certifications": certifications, "shift_preference": shifts,
        "years_experience": years, "bio": bio,
    }


def test_profile_text_full_worker() -> None:
    text = profile_text(worker(
        "forklift_operator", "Columbus", "OH", ["pallet jack", "rf scanner"], ["OSHA-10", "Forklift"],
        ["night", "weekend"], 6, "  Reliable   operator. ",
    ))
    assert text == (
        "forklift operator in Columbus, OH. Skills: pallet jack, rf scanner. "
        "Certifications: OSHA-10, Forklift. Shifts: night, weekend. 6 years experience. Reliable operator."
    )


def test_profile_text_omits_missing_parts_cleanly() -> None:
    assert profile_text({"role": "cna", "city": "Denver", "state": "CO"}) == "cna in Denver, CO."
    assert profile_text({"role": "line_cook", "skills": [], "bio": None, "years_experience": 1}) == (
        "line cook. 1 year experience."
    )
    assert profile_text({"city": "Reno", "certifications": "CPR; First Aid;", "years_experience": 0}) == (
        "Reno. Certifications: CPR, First Aid. 0 years experience."
    )
    assert profile_text({}) == ""
