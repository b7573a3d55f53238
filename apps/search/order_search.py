"""The candidate search of an order (SPEC §4.8a step 1), built from the order as a plain dict.

Pure: the orders app (or its console) passes the order's fields and the ids it must exclude
(already proposed, accepted or double-booked workers) and runs the result through
`apps.search.services.search_and_log`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Iterable, Mapping

from apps.workers.search import SearchRequest, search_request_from_dict


def order_search_request(
    order: Mapping[str, Any],
    *,
    exclude_ids: Iterable[str] = (),
    radius_miles: float | None = None,
    k: int = 10,
    use_playbook: bool = True,
    explain: bool = True,
) -> SearchRequest:
    """Role, shift, start date and required certifications become filters; the query is the role and
    shift in words (what the embedding ranks on).

    With a `site_zip` the search is `near` it within `radius_miles` (default ORDER_RADIUS_MILES) and
    neither city nor state is matched: a radius crosses city and state lines (a Cincinnati order
    reaches Covington, KY). Without one, the order's city and state are matched exactly.
    """
    from django.conf import settings  # read at call time so an override in tests applies

    role = str(order.get("role") or "").strip()
    shift = order.get("shift") or None
    certifications = list(order.get("required_certifications") or ())
    start = order.get("start_date")
    filters: dict[str, Any] = {
        "role": role or None,
        "shift": shift,
        "certifications": certifications,
        "available_on": start.isoformat() if isinstance(start, date) else start,
    }
    data: dict[str, Any] = {
        "query": " ".join(part for part in (role.replace("_", " "), f"{shift} shift" if shift else "", *certifications) if part) or "worker",
        "k": k,
        "exclude_ids": list(exclude_ids),
        "use_playbook": use_playbook,
        "explain": explain,
    }
    site_zip = str(order.get("site_zip") or "").strip()
    if site_zip:
        data["near"] = {"zip": site_zip, "radius_miles": radius_miles or settings.ORDER_RADIUS_MILES}
    else:
        filters.update(city=order.get("city") or None, state=order.get("state") or None)
    data["filters"] = {key: value for key, value in filters.items() if value}
    return search_request_from_dict(data)
