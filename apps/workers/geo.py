"""Geography for radius search (SPEC §4.3 `near`): ZIP → coordinates, great-circle miles, and the
latitude/longitude box that contains a circle (the B-tree prefilter). Pure: no database.

Coordinates come from the `zipcodes` package, which ships its data (no download). A ZIP it does not
know has no coordinates; callers decide what that means (a warning at ingest, a 400 in a request).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import zipcodes

EARTH_RADIUS_MILES = 3958.7613
MILES_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_MILES / 180.0


@lru_cache(maxsize=65536)  # ~42k US ZIPs: every lookup after the first is a dict hit
def zip_coordinates(zip_code: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP (`#####` or `#####-####`), or None when unknown or malformed."""
    text = (zip_code or "").strip()
    if not text:
        return None
    try:
        matches = zipcodes.matching(text)
    except (ValueError, TypeError):  # malformed: the package raises rather than returning nothing
        return None
    for match in matches:
        try:
            return float(match["lat"]), float(match["long"])
        except (KeyError, TypeError, ValueError):  # a record without coordinates
            continue
    return None


def great_circle_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in statute miles (the same formula as `great_circle_sql`)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class BoundingBox:
    min_lat: float
    max_lat: float
    min_lon: float | None  # None: the box spans every longitude (near a pole or across ±180°)
    max_lon: float | None


def bounding_box(lat: float, lon: float, radius_miles: float) -> BoundingBox:
    """The smallest latitude/longitude box that contains every point within `radius_miles`.

    Latitude: radius / miles-per-degree. Longitude: the circle's widest extent is at the latitude where
    a meridian-crossing great circle is tangent to it, asin(sin(r)/cos(lat)) (Bronshtein / Matuschek);
    a slightly loose box is harmless because the exact distance is checked after it, a tight one would
    lose workers. Near a pole or across the antimeridian no longitude bound is used.
    """
    angular = radius_miles / EARTH_RADIUS_MILES
    delta_lat = math.degrees(angular)
    min_lat, max_lat = max(-90.0, lat - delta_lat), min(90.0, lat + delta_lat)
    ratio = math.sin(angular) / max(math.cos(math.radians(lat)), 1e-12)
    if ratio >= 1.0 or min_lat <= -90.0 or max_lat >= 90.0:
        return BoundingBox(min_lat, max_lat, None, None)
    delta_lon = math.degrees(math.asin(ratio))
    min_lon, max_lon = lon - delta_lon, lon + delta_lon
    if min_lon < -180.0 or max_lon > 180.0:
        return BoundingBox(min_lat, max_lat, None, None)
    return BoundingBox(min_lat, max_lat, min_lon, max_lon)


def great_circle_sql(lat_column: str, lon_column: str) -> str:
    """SQL for the haversine miles from (lat, lon) bound parameters to the row's columns.

    Parameters, in order: latitude, latitude, longitude. `least(1, …)` guards asin against rounding.
    """
    return (
        f"(2 * {EARTH_RADIUS_MILES} * asin(least(1.0, sqrt("
        f"power(sin(radians({lat_column} - %s) / 2), 2) + "
        f"cos(radians(%s)) * cos(radians({lat_column})) * power(sin(radians({lon_column} - %s) / 2), 2)))))"
    )
