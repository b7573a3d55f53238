"""Pure geography of radius search: ZIP coordinates, great-circle miles, the bounding box, the SQL."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.workers.geo import EARTH_RADIUS_MILES, bounding_box, great_circle_miles, zip_coordinates
from apps.workers.search import Near, SearchFilters, filter_sql, near_from_dict


def test_zip_coordinates_known_unknown_and_malformed():
    lat, lon = zip_coordinates("43215")  # downtown Columbus, OH
    assert 39.9 < lat < 40.1 and -83.1 < lon < -82.9
    assert zip_coordinates("43215-1234") == (lat, lon)
    assert zip_coordinates("00000") is None
    assert zip_coordinates("4321") is None and zip_coordinates("") is None and zip_coordinates(None) is None


def _zipcodes_coordinates(text: str) -> tuple[float, float] | None:
    """What `zip_coordinates` answered when it asked the `zipcodes` package itself."""
    import zipcodes

    try:
        matches = zipcodes.matching(text.strip())
    except (ValueError, TypeError):
        return None
    return next(((float(m["lat"]), float(m["long"])) for m in matches if m.get("lat") and m.get("long")), None)


def test_the_shipped_zip_table_is_the_installed_zipcodes_data():
    import gzip

    from apps.workers.geo import ZIP_TABLE_PATH, zip_table_text

    assert gzip.decompress(ZIP_TABLE_PATH.read_bytes()).decode() == zip_table_text(), "run: python -m apps.workers.geo"


def test_zip_coordinates_answer_as_the_zipcodes_package_for_every_zip_and_odd_input():
    import zipcodes

    known = [record["zip_code"] for record in zipcodes.list_all()]
    odd = ["43215-1234", "432151234", "43215-12", "43215 ", " 43215", "43215-abcd", "43215-", "4321", "4321a",
           "abcde", "432-1", "00000", "99999", "-4321", "43215\n"]
    for text in known + odd + [z[:4] + "9" for z in known[::97]]:
        assert zip_coordinates(text) == _zipcodes_coordinates(text), text
    assert zip_coordinates("٤٣٢١٥") is None  # non-ASCII digits: the package itself panics on them


def test_columbus_to_dublin_ohio_is_about_twelve_miles():
    miles = great_circle_miles(*zip_coordinates("43215"), *zip_coordinates("43017"))
    assert 9 < miles < 13
    assert great_circle_miles(40.0, -83.0, 40.0, -83.0) == 0.0


def _destination(lat: float, lon: float, bearing: float, miles: float) -> tuple[float, float]:
    """The point `miles` away along `bearing` (spherical direct problem)."""
    d = miles / EARTH_RADIUS_MILES
    phi, lam, theta = math.radians(lat), math.radians(lon), math.radians(bearing)
    phi2 = math.asin(math.sin(phi) * math.cos(d) + math.cos(phi) * math.sin(d) * math.cos(theta))
    lam2 = lam + math.atan2(math.sin(theta) * math.sin(d) * math.cos(phi), math.cos(d) - math.sin(phi) * math.sin(phi2))
    return math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180


@given(
    lat=st.floats(min_value=18, max_value=71),  # the US, Hawaii to Alaska
    lon=st.floats(min_value=-170, max_value=-66),
    radius=st.floats(min_value=1, max_value=250),
    bearing=st.floats(min_value=0, max_value=360),
    fraction=st.floats(min_value=0, max_value=0.999),
)
def test_the_box_contains_every_point_of_the_circle(lat, lon, radius, bearing, fraction):
    box = bounding_box(lat, lon, radius)
    plat, plon = _destination(lat, lon, bearing, radius * fraction)
    assert great_circle_miles(lat, lon, plat, plon) == pytest.approx(radius * fraction, abs=1e-6)
    assert box.min_lat - 1e-9 <= plat <= box.max_lat + 1e-9
    if box.min_lon is not None:
        assert box.min_lon - 1e-9 <= plon <= box.max_lon + 1e-9


def test_near_replaces_the_city_match_and_keeps_the_other_filters():
    near = near_from_dict({"zip": "43215", "radius_miles": 25})
    where, params = filter_sql(SearchFilters(city="Columbus", state="OH", role="welder"), (), near)
    assert "city" not in where and "state = %s" in where and "role = %s" in where
    assert "latitude BETWEEN" in where and "longitude BETWEEN" in where and "asin" in where
    assert params[-1] == 25 and "Columbus" not in params
    assert near.miles_to(*zip_coordinates("43017")) == pytest.approx(great_circle_miles(near.latitude, near.longitude, *zip_coordinates("43017")), abs=0.05)
    assert near.miles_to(None, None) is None


@pytest.mark.parametrize("data", [{"zip": "00000", "radius_miles": 10}, {"zip": "43215", "radius_miles": 0}, {"zip": "43215", "radius_miles": 251}])
def test_near_from_dict_refuses_unknown_zips_and_radii_out_of_range(data):
    with pytest.raises(ValueError):
        near_from_dict(data)
    assert near_from_dict(None) is None
    assert isinstance(near_from_dict({"zip": "43215", "radius_miles": 250}), Near)
