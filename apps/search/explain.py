"""Why a worker ranks where it does (SPEC §4.3 `"explain": true`) — pure: a result and the request in,
the explanation out."""

from __future__ import annotations

from typing import Any

from apps.workers.search import SearchFilters


def explain_result(result: dict[str, Any], filters: SearchFilters, playbook_ids: list[int]) -> dict[str, Any]:
    """The parts of a result's score and what it matched.

    `similarity` is the cosine similarity of the query and the worker profile (the semantic part of the
    score); `playbook_boost` and `playbooks` are what the playbook memory added and which playbooks did.
    `matched` lists the requested skills and certifications the worker has, and whether the requested
    shift is one they prefer (false when the request names no shift). `miles` (the great-circle
    distance from the `near` ZIP) is there only for a radius search. With hybrid ranking `similarity`
    is the fused score and `similarity_parts` holds the lexical and semantic cosine similarities.
    """
    worker = result["worker"]
    skills = set(worker.get("skills") or ())
    certifications = set(worker.get("certifications") or ())
    explanation = {
        "similarity": round(1.0 - result["distance"], 6),
        "playbook_boost": result["playbook_boost"],
        "playbooks": list(playbook_ids),
        "matched": {
            "skills": [s for s in filters.skills if s in skills],
            "certifications": [c for c in filters.certifications if c in certifications],
            "shift": bool(filters.shift) and filters.shift in (worker.get("shift_preference") or ()),
        },
        "reliability": worker.get("reliability"),
    }
    if "similarity_parts" in result:  # hybrid: the fused score above, and each ranking's cosine
        explanation["similarity_parts"] = result["similarity_parts"]
    if "miles" in result:
        explanation["miles"] = result["miles"]
    return explanation
