"""Geo math (storage/geo.py): encoding, decoding, distances, the search plan and Redis's
partial quicksort, against values Redis 7.0.15 prints."""

from __future__ import annotations

import functools
import random

from pikadb.storage import geo


def test_interleave_roundtrip():
    rng = random.Random(3)
    for _ in range(1000):
        x, y = rng.getrandbits(32), rng.getrandbits(32)
        v = geo.interleave64(x, y)
        assert geo.deinterleave64(v) == x | (y << 32)


def test_scores_match_redis():
    # GEOADD g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania; ZSCORE
    assert geo.score_of(13.361389, 38.115556) == 3479099956230698
    assert geo.score_of(15.087269, 37.502669) == 3479447370796909


def test_decode_matches_redis():
    assert geo.format_coord(geo.decode_score(3479099956230698)[0]) == b"13.36138933897018433"
    assert geo.format_coord(geo.decode_score(3479099956230698)[1]) == b"38.11555639549629859"
    # Scores GEOADD never writes decode as Redis's C casts make them.
    lon, lat = geo.decode_score(-1.0)
    assert (geo.format_coord(lon), geo.format_coord(lat)) == (b"180", b"85.0511287799999991")
    lon, lat = geo.decode_score(1e20)
    assert geo.format_coord(lon) == b"-179.99999731779098511"
    assert geo.format_coord(lat) == b"-85.05112751263942528"


def test_geohash_and_distance():
    assert geo.geohash_string(3479099956230698) == b"sqc8b49rny0"
    assert geo.geohash_string(3479447370796909) == b"sqdtr74hyu0"
    assert geo.geohash_string(-1.0) == b"bp05b5048p0"
    p = geo.decode_score(3479099956230698)
    c = geo.decode_score(3479447370796909)
    assert geo.format_distance(geo.distance(*p, *c)) == b"166274.1516"
    assert geo.format_distance(geo.distance(*p, *c) / 1000) == b"166.2742"


def test_format_coord():
    assert geo.format_coord(1.0) == b"1"
    assert geo.format_coord(-0.0) == b"0"
    assert geo.format_coord(0.5) == b"0.5"
    assert geo.format_coord(-180.0) == b"-180"


def test_plan_covers_the_circle():
    rng = random.Random(5)
    for _ in range(200):
        shape = geo.Shape(
            kind=geo.CIRCULAR,
            lon=rng.uniform(-179, 179),
            lat=rng.uniform(-80, 80),
            radius=rng.choice([100.0, 5000.0, 200000.0, 2000000.0]),
        )
        boxes = [b for b in geo.areas_for_shape(shape) if b != (0, 0)]
        assert boxes
        ranges = [geo.box_score_range(b) for b in boxes]
        # every point in the circle lies in one of the boxes' score ranges
        for _ in range(20):
            lon = shape.lon + rng.uniform(-1, 1) * shape.radius / 111_000
            lat = shape.lat + rng.uniform(-1, 1) * shape.radius / 111_000
            if not (-180 <= lon <= 180 and -85 <= lat <= 85):
                continue
            score = geo.score_of(lon, lat)
            if geo.within_shape(shape, score) is None:
                continue
            assert any(lo <= score < hi for lo, hi in ranges)


def test_pqsort_sorts_the_wanted_range():
    rng = random.Random(9)

    def cmp(a: float, b: float) -> int:
        return (a > b) - (a < b)

    for _ in range(300):
        n = rng.randint(1, 120)
        data = [rng.choice([1.0, 2.0, 3.0, rng.random()]) for _ in range(n)]
        hi = rng.randint(0, n - 1)
        got = list(data)
        geo.pqsort(got, cmp, 0, hi)
        assert got[: hi + 1] == sorted(data)[: hi + 1]
        assert sorted(got) == sorted(data)
        full = list(data)
        geo.pqsort(full, cmp, 0, n - 1)
        assert full == sorted(data, key=functools.cmp_to_key(cmp))
