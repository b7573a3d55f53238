"""Geography for radius search (SPEC §4.3 `near`): ZIP → coordinates, great-circle miles, and the
latitude/longitude box that contains a circle (the B-tree prefilter). Pure: no database.

Coordinates come from the `zipcodes` package's data (no download), kept as a compact table of our own
(`zip_coordinates.csv.gz`, written by `python -m apps.workers.geo`): the package holds all 42,789
records in memory after its first lookup, 36.9 MB in every web and Celery process, where the table's
arrays take under 1 MB. A ZIP it does not know has no coordinates; callers decide what that means (a
warning at ingest, a 400 in a request).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

ZIP_TABLE_PATH = Path(__file__).with_name("zip_coordinates.csv.gz")

EARTH_RADIUS_MILES = 3958.7613
MILES_PER_DEGREE_LATITUDE = math.pi * EARTH_RADIUS_MILES / 180.0


@lru_cache(maxsize=65536)  # ~42k US ZIPs: every lookup after the first is a dict hit
def zip_coordinates(zip_code: str | None) -> tuple[float, float] | None:
    """(latitude, longitude) of a US ZIP (`#####` or `#####-####`), or None when unknown or malformed.

    The `zipcodes` package's rules: at least five characters, the first five digits, the rest ignored."""
    text = (zip_code or "").strip()
    head = text[:5]
    if len(head) < 5 or not (head.isascii() and head.isdigit()):
        return None
    zips, latitudes, longitudes = _zip_table()
    key = int(head)
    at = int(np.searchsorted(zips, key))
    if at == len(zips) or zips[at] != key:
        return None
    return float(latitudes[at]), float(longitudes[at])


@cache
def _zip_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ZIPs as sorted integers and their coordinates, read once per process."""
    with gzip.open(ZIP_TABLE_PATH, "rt", newline="") as source:
        rows = list(csv.reader(source))[1:]
    return (
        np.array([int(z) for z, _, _ in rows], dtype=np.int32),
        np.array([float(lat) for _, lat, _ in rows]),
        np.array([float(lon) for _, _, lon in rows]),
    )


def zip_table_text() -> str:
    """The table's CSV, from the installed `zipcodes` package: every ZIP with coordinates, sorted."""
    import zipcodes  # only to write the table (and in its test): its records cost 37 MB in memory

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["zip", "lat", "long"])
    for record in sorted(zipcodes.list_all(), key=lambda r: r["zip_code"]):
        if record.get("lat") and record.get("long"):
            writer.writerow([record["zip_code"], record["lat"], record["long"]])
    return out.getvalue()


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


if __name__ == "__main__":  # python -m apps.workers.geo: rewrite the ZIP table after a `zipcodes` upgrade
    ZIP_TABLE_PATH.write_bytes(gzip.compress(zip_table_text().encode(), mtime=0))
    print(f"wrote {ZIP_TABLE_PATH}", file=sys.stderr)
