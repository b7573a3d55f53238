"""The text embedded for a worker (apps/workers/profile.py, SPEC §4.2). No database."""

from __future__ import annotations

from apps.providers.embeddings import HashEmbedder
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


def test_hash_ranks_forklift_operator_in_columbus_first() -> None:
    """SPEC §4.2: the default embedder over these profile texts ranks forklift operators first."""
    profiles = {
        "forklift_columbus": worker(
            "forklift_operator", "Columbus", "OH", ["pallet jack", "rf scanner"], ["OSHA-10", "Forklift"],
            ["night", "weekend"], 6, "Reliable operator who keeps the dock moving.",
        ),
        "forklift_denver": worker(
            "forklift_operator", "Denver", "CO", ["pallet jack", "inventory"], ["Forklift"], ["night"], 9,
            "Experienced on reach trucks and order pickers.",
        ),
        "cook_columbus": worker(
            "line_cook", "Columbus", "OH", ["knife skills", "food safety"], ["ServSafe"], ["night", "weekend"],
            4, "Works the night shift grill at a busy diner in Columbus.",
        ),
        "warehouse_columbus": worker(
            "warehouse_associate", "Columbus", "OH", ["forklift", "shipping"], ["Forklift"], ["day"], 3,
            "Loads trucks and runs the forklift when needed.",
        ),
        "cna_columbus": worker(
            "cna", "Columbus", "OH", ["patient care", "vital signs"], ["CNA License", "CPR"], ["night"], 5,
            "Night shift caregiver.",
        ),
        "forklift_phoenix": worker(
            "forklift_operator", "Phoenix", "AZ", ["pallet jack"], ["OSHA-10"], ["day"], 2, "",
        ),
    }
    embedder = HashEmbedder(dim=768)
    names = list(profiles)
    matrix = embedder.embed([profile_text(profiles[name]) for name in names])
    query = embedder.embed(["forklift operator night shift Columbus"])[0]
    scores = dict(zip(names, (matrix @ query).tolist()))
    ranking = sorted(names, key=scores.get, reverse=True)

    assert ranking[0] == "forklift_columbus"
    # "ranks forklift operators first": every forklift operator above every other role
    assert set(ranking[:3]) == {"forklift_columbus", "forklift_denver", "forklift_phoenix"}
    assert scores["forklift_denver"] > scores["cook_columbus"]
    assert scores["forklift_columbus"] > scores["warehouse_columbus"]
