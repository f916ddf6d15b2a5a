"""Geo math: Redis 7.0's geohash encoding, distances and the 9-box search plan, bit for bit.

Pure functions, no storage. A geo set is a sorted set whose scores are 52-bit interleaved
geohashes (26 bits of latitude in the even positions, 26 of longitude in the odd ones, over
latitude [-85.05112878, 85.05112878] and longitude [-180, 180]), so GEOADD scores, GEOPOS
coordinates and GEODIST/GEORADIUS distances must be computed exactly as Redis does to print
the same bytes. Everything here is a transcription of Redis 7.0's geohash.c,
geohash_helper.c and the helpers of geo.c, with C's integer widths made explicit:

* doubles are IEEE doubles in Python too, and sin/cos/asin/sqrt are the same libm calls,
  evaluated in the same order, so distances agree to the last bit;
* C casts are emulated where they matter: double -> uint32 truncation when encoding, and
  double -> uint64 (x86-64 cvttsd2si semantics) when a score that is not a geohash is
  decoded (GEOPOS on a member added with ZADD), as well as uint32 wrap-around in decode;
* the distance is the 7.0 haversine (no longitude-equal shortcut, which came in 7.2), and
  the rectangle test is 7.0's (both distances computed, then compared).

The search plan (areas_for_shape) yields up to 9 geohash boxes; each box is a score range
[min, max) of the sorted set, read with a range iteration, and every candidate is checked
with within_shape(). Result ordering (unsorted: box order then score order; ASC/DESC: a
stable sort, or Redis's partial quicksort when COUNT cuts the result) is in commands/geo.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GEO_STEP_MAX = 26  # 26 * 2 = 52 bits
GEO_LAT_MIN = -85.05112878
GEO_LAT_MAX = 85.05112878
GEO_LONG_MIN = -180.0
GEO_LONG_MAX = 180.0

D_R = math.pi / 180.0
EARTH_RADIUS_IN_METERS = 6372797.560856
MERCATOR_MAX = 20037726.37

_U64 = (1 << 64) - 1
_U32 = (1 << 32) - 1

CIRCULAR = 1
RECTANGLE = 2

# Unit name (lower case) -> meters per unit (extractUnitOrReply).
UNITS: dict[bytes, float] = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}

_GEOALPHABET = b"0123456789bcdefghjkmnpqrstuvwxyz"


# ---- bit interleaving (geohash.c) ----


def interleave64(xlo: int, ylo: int) -> int:
    """Bits of x (latitude) in the even positions, bits of y (longitude) in the odd ones."""
    x = xlo & _U32
    y = ylo & _U32
    x = (x | (x << 16)) & 0x0000FFFF0000FFFF
    y = (y | (y << 16)) & 0x0000FFFF0000FFFF
    x = (x | (x << 8)) & 0x00FF00FF00FF00FF
    y = (y | (y << 8)) & 0x00FF00FF00FF00FF
    x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y << 4)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x << 2)) & 0x3333333333333333
    y = (y | (y << 2)) & 0x3333333333333333
    x = (x | (x << 1)) & 0x5555555555555555
    y = (y | (y << 1)) & 0x5555555555555555
    return (x | (y << 1)) & _U64


def deinterleave64(interleaved: int) -> int:
    """The inverse: latitude bits in the low 32, longitude bits in the high 32."""
    x = interleaved & _U64
    y = interleaved >> 1
    x = x & 0x5555555555555555
    y = y & 0x5555555555555555
    x = (x | (x >> 1)) & 0x3333333333333333
    y = (y | (y >> 1)) & 0x3333333333333333
    x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0F
    y = (y | (y >> 2)) & 0x0F0F0F0F0F0F0F0F
    x = (x | (x >> 4)) & 0x00FF00FF00FF00FF
    y = (y | (y >> 4)) & 0x00FF00FF00FF00FF
    x = (x | (x >> 8)) & 0x0000FFFF0000FFFF
    y = (y | (y >> 8)) & 0x0000FFFF0000FFFF
    x = (x | (x >> 16)) & 0x00000000FFFFFFFF
    y = (y | (y >> 16)) & 0x00000000FFFFFFFF
    return (x | (y << 32)) & _U64


# ---- encode / decode ----

WGS84_LONG = (GEO_LONG_MIN, GEO_LONG_MAX)
WGS84_LAT = (GEO_LAT_MIN, GEO_LAT_MAX)
STANDARD_LONG = (-180.0, 180.0)
STANDARD_LAT = (-90.0, 90.0)


def encode(
    longitude: float,
    latitude: float,
    step: int,
    long_range: tuple[float, float] = WGS84_LONG,
    lat_range: tuple[float, float] = WGS84_LAT,
) -> int | None:
    """geohashEncode: the `step`*2-bit hash, None where Redis returns 0 (out of range)."""
    if step > 32 or step == 0:
        return None
    if (
        longitude > GEO_LONG_MAX
        or longitude < GEO_LONG_MIN
        or latitude > GEO_LAT_MAX
        or latitude < GEO_LAT_MIN
    ):
        return None
    lat_min, lat_max = lat_range
    long_min, long_max = long_range
    if latitude < lat_min or latitude > lat_max or longitude < long_min or longitude > long_max:
        return None
    lat_offset = (latitude - lat_min) / (lat_max - lat_min)
    long_offset = (longitude - long_min) / (long_max - long_min)
    lat_offset *= float(1 << step)
    long_offset *= float(1 << step)
    # interleave64 takes uint32_t: the C conversion truncates toward zero.
    return interleave64(int(lat_offset), int(long_offset))


def align52(bits: int, step: int) -> int:
    """geohashAlign52Bits."""
    return (bits << (52 - step * 2)) & _U64


def score_of(longitude: float, latitude: float) -> int:
    """The sorted-set score GEOADD gives a (validated) position."""
    bits = encode(longitude, latitude, GEO_STEP_MAX)
    return align52(bits or 0, GEO_STEP_MAX)


@dataclass(frozen=True)
class Area:
    lat_min: float
    lat_max: float
    long_min: float
    long_max: float


def decode(
    bits: int,
    step: int,
    long_range: tuple[float, float] = WGS84_LONG,
    lat_range: tuple[float, float] = WGS84_LAT,
) -> Area:
    """geohashDecode (callers never pass the all-zero hash)."""
    hash_sep = deinterleave64(bits)
    lat_scale = lat_range[1] - lat_range[0]
    long_scale = long_range[1] - long_range[0]
    ilato = hash_sep & _U32
    ilono = (hash_sep >> 32) & _U32
    div = float(1 << step)
    # (ilato + 1) is uint32_t arithmetic in C: it wraps.
    return Area(
        lat_min=lat_range[0] + (ilato * 1.0 / div) * lat_scale,
        lat_max=lat_range[0] + (((ilato + 1) & _U32) * 1.0 / div) * lat_scale,
        long_min=long_range[0] + (ilono * 1.0 / div) * long_scale,
        long_max=long_range[0] + (((ilono + 1) & _U32) * 1.0 / div) * long_scale,
    )


def _double_to_u64(d: float) -> int:
    """C's (uint64_t)d as gcc compiles it on x86-64 (cvttsd2si; out of range -> 2^63)."""

    def cvtt(x: float) -> int:
        if x != x or x >= 9223372036854775808.0 or x < -9223372036854775808.0:
            return 1 << 63
        return int(x) & _U64

    if d >= 9223372036854775808.0:
        return cvtt(d - 9223372036854775808.0) ^ (1 << 63)
    return cvtt(d)


def decode_score(score: float) -> tuple[float, float]:
    """decodeGeohash + geohashDecodeAreaToLongLat: (longitude, latitude) of a score."""
    area = decode(_double_to_u64(score), GEO_STEP_MAX)
    lon = (area.long_min + area.long_max) / 2
    if lon > GEO_LONG_MAX:
        lon = GEO_LONG_MAX
    if lon < GEO_LONG_MIN:
        lon = GEO_LONG_MIN
    lat = (area.lat_min + area.lat_max) / 2
    if lat > GEO_LAT_MAX:
        lat = GEO_LAT_MAX
    if lat < GEO_LAT_MIN:
        lat = GEO_LAT_MIN
    return lon, lat


def geohash_string(score: float) -> bytes:
    """GEOHASH: the standard 11-character geohash (re-encoded over [-90, 90] latitude)."""
    lon, lat = decode_score(score)
    bits = encode(lon, lat, 26, STANDARD_LONG, STANDARD_LAT) or 0
    out = bytearray()
    for i in range(11):
        # 52 bits give 10 characters; the 11th is '0' for compatibility, as in Redis.
        idx = 0 if i == 10 else (bits >> (52 - (i + 1) * 5)) & 0x1F
        out.append(_GEOALPHABET[idx])
    return bytes(out)


# ---- neighbors ----


def _move_x(bits: int, step: int, d: int) -> int:
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0x5555555555555555 >> (64 - step * 2)
    if d > 0:
        x = (x + (zz + 1)) & _U64
    else:
        x = x | zz
        x = (x - (zz + 1)) & _U64
    x &= 0xAAAAAAAAAAAAAAAA >> (64 - step * 2)
    return x | y


def _move_y(bits: int, step: int, d: int) -> int:
    x = bits & 0xAAAAAAAAAAAAAAAA
    y = bits & 0x5555555555555555
    zz = 0xAAAAAAAAAAAAAAAA >> (64 - step * 2)
    if d > 0:
        y = (y + (zz + 1)) & _U64
    else:
        y = y | zz
        y = (y - (zz + 1)) & _U64
    y &= 0x5555555555555555 >> (64 - step * 2)
    return x | y


def _neighbor(bits: int, step: int, dx: int, dy: int) -> int:
    if dx:
        bits = _move_x(bits, step, dx)
    if dy:
        bits = _move_y(bits, step, dy)
    return bits


# ---- libm as C sees it ----
# Python's math raises where C's libm returns NaN (sin(inf), asin(1.0000001), sqrt(-1)); a
# radius of "inf" or a rounding just past 1 must give Redis's NaN-driven results instead.

_NAN = float("nan")


def _sin(x: float) -> float:
    try:
        return math.sin(x)
    except ValueError:
        return _NAN


def _cos(x: float) -> float:
    try:
        return math.cos(x)
    except ValueError:
        return _NAN


def _asin(x: float) -> float:
    try:
        return math.asin(x)
    except ValueError:
        return _NAN


def _sqrt(x: float) -> float:
    try:
        return math.sqrt(x)
    except ValueError:
        return _NAN


# ---- distances (geohash_helper.c, 7.0) ----


def distance(lon1d: float, lat1d: float, lon2d: float, lat2d: float) -> float:
    """geohashGetDistance: haversine great-circle distance in meters."""
    lat1r = lat1d * D_R
    lon1r = lon1d * D_R
    lat2r = lat2d * D_R
    lon2r = lon2d * D_R
    try:
        u = math.sin((lat2r - lat1r) / 2)
        v = math.sin((lon2r - lon1r) / 2)
        a = math.asin(math.sqrt(u * u + math.cos(lat1r) * math.cos(lat2r) * v * v))
    except ValueError:
        u = _sin((lat2r - lat1r) / 2)
        v = _sin((lon2r - lon1r) / 2)
        a = _asin(_sqrt(u * u + _cos(lat1r) * _cos(lat2r) * v * v))
    return 2.0 * EARTH_RADIUS_IN_METERS * a


def estimate_steps_by_radius(range_meters: float, lat: float) -> int:
    if range_meters == 0:
        return 26
    step = 1
    while range_meters < MERCATOR_MAX:
        range_meters *= 2
        step += 1
    step -= 2  # make sure the range is included in most of the base cases
    # Wider range towards the poles.
    if lat > 66 or lat < -66:
        step -= 1
        if lat > 80 or lat < -80:
            step -= 1
    if step < 1:
        step = 1
    if step > 26:
        step = 26
    return step


# ---- shapes and the search plan ----


@dataclass
class Shape:
    """GeoShape: a circle (radius) or an axis-aligned box (width, height) around xy, in the
    request's unit; `conversion` is meters per unit."""

    kind: int = 0
    lon: float = 0.0
    lat: float = 0.0
    conversion: float = 1.0
    radius: float = 0.0
    width: float = 0.0
    height: float = 0.0
    bounds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0, 0.0])


def bounding_box(shape: Shape) -> list[float]:
    """geohashBoundingBox: [min lon, min lat, max lon, max lat]."""
    longitude, latitude = shape.lon, shape.lat
    circ = shape.kind == CIRCULAR
    height = shape.conversion * (shape.radius if circ else shape.height / 2)
    width = shape.conversion * (shape.radius if circ else shape.width / 2)
    lat_delta = (height / EARTH_RADIUS_IN_METERS) / D_R
    long_delta_top = (width / EARTH_RADIUS_IN_METERS / _cos((latitude + lat_delta) * D_R)) / D_R
    long_delta_bottom = (width / EARTH_RADIUS_IN_METERS / _cos((latitude - lat_delta) * D_R)) / D_R
    southern = latitude < 0
    return [
        longitude - long_delta_bottom if southern else longitude - long_delta_top,
        latitude - lat_delta,
        longitude + long_delta_bottom if southern else longitude + long_delta_top,
        latitude + lat_delta,
    ]


# A box of the plan: (bits, step); (0, 0) is Redis's GZERO'd (skipped) neighbor.
Box = tuple[int, int]


def areas_for_shape(shape: Shape) -> list[Box]:
    """geohashCalculateAreasByShapeWGS84 + the neighbor order of membersOfAllNeighbors:
    center, north, south, east, west, north-east, north-west, south-east, south-west."""
    shape.bounds = bounds = bounding_box(shape)
    min_lon, min_lat, max_lon, max_lat = bounds
    longitude, latitude = shape.lon, shape.lat
    if shape.kind == CIRCULAR:
        radius_meters = shape.radius
    else:
        radius_meters = _sqrt(
            (shape.width / 2) * (shape.width / 2) + (shape.height / 2) * (shape.height / 2)
        )
    radius_meters *= shape.conversion

    steps = estimate_steps_by_radius(radius_meters, latitude)
    hash_bits = encode(longitude, latitude, steps) or 0
    area = decode(hash_bits, steps)

    north = decode(_neighbor(hash_bits, steps, 0, 1), steps)
    south = decode(_neighbor(hash_bits, steps, 0, -1), steps)
    east = decode(_neighbor(hash_bits, steps, 1, 0), steps)
    west = decode(_neighbor(hash_bits, steps, -1, 0), steps)
    decrease_step = (
        north.lat_max < max_lat
        or south.lat_min > min_lat
        or east.long_max < max_lon
        or west.long_min > min_lon
    )
    if steps > 1 and decrease_step:
        steps -= 1
        hash_bits = encode(longitude, latitude, steps) or 0
        area = decode(hash_bits, steps)

    nb = {
        name: (_neighbor(hash_bits, steps, dx, dy), steps)
        for name, dx, dy in (
            ("n", 0, 1),
            ("s", 0, -1),
            ("e", 1, 0),
            ("w", -1, 0),
            ("ne", 1, 1),
            ("nw", -1, 1),
            ("se", 1, -1),
            ("sw", -1, -1),
        )
    }
    # Exclude the search areas that are useless.
    if steps >= 2:
        zero = (0, 0)
        if area.lat_min < min_lat:
            nb["s"] = nb["sw"] = nb["se"] = zero
        if area.lat_max > max_lat:
            nb["n"] = nb["ne"] = nb["nw"] = zero
        if area.long_min < min_lon:
            nb["w"] = nb["sw"] = nb["nw"] = zero
        if area.long_max > max_lon:
            nb["e"] = nb["se"] = nb["ne"] = zero
    return [
        (hash_bits, steps),
        nb["n"],
        nb["s"],
        nb["e"],
        nb["w"],
        nb["ne"],
        nb["nw"],
        nb["se"],
        nb["sw"],
    ]


def box_score_range(box: Box) -> tuple[int, int]:
    """scoresOfGeoHashBox: the scores [min, max) of every point inside the box."""
    bits, step = box
    return align52(bits, step), align52(bits + 1, step)


def within_shape(shape: Shape, score: float) -> tuple[float, float, float] | None:
    """geoAppendIfWithinShape's test: (distance in meters, lon, lat) if the point of `score`
    is inside the shape, else None."""
    lon, lat = decode_score(score)
    if shape.kind == CIRCULAR:
        d = distance(shape.lon, shape.lat, lon, lat)
        if d > shape.radius * shape.conversion:
            return None
        return d, lon, lat
    width_m = shape.width * shape.conversion
    height_m = shape.height * shape.conversion
    lon_distance = distance(lon, lat, shape.lon, lat)
    lat_distance = distance(lon, lat, lon, shape.lat)
    if lon_distance > width_m / 2 or lat_distance > height_m / 2:
        return None
    return distance(shape.lon, shape.lat, lon, lat), lon, lat


# ---- reply formatting ----


def format_coord(d: float) -> bytes:
    """ld2string(LD_STR_HUMAN) of a double: '%.17f' without trailing zeros (and '.')."""
    s = b"%.17f" % d
    if b"." in s:
        s = s.rstrip(b"0").rstrip(b".")
    if s == b"-0":
        s = b"0"
    return s


def format_distance(d: float) -> bytes:
    """addReplyDoubleDistance: '%.4f'."""
    return b"%.4f" % d


# ---- Redis's partial quicksort (pqsort.c), for COUNT without ANY ----


def pqsort(a: list, cmp, lrange: int, rrange: int) -> None:
    """Sort a[lrange..rrange] into place the way Redis's pqsort (NetBSD qsort, pruned to the
    wanted range) does, so elements comparing equal end up in Redis's order too."""
    # Positions are in half-element units so Redis's byte-pointer tests ("the last byte of
    # element i") keep their meaning: element i spans [2i, 2i+1].
    lo = 2 * lrange
    hi = 2 * (rrange + 1) - 1

    def swap(i: int, j: int) -> None:
        a[i], a[j] = a[j], a[i]

    def vecswap(i: int, j: int, n: int) -> None:
        for k in range(n):
            swap(i + k, j + k)

    def med3(i: int, j: int, k: int) -> int:
        if cmp(a[i], a[j]) < 0:
            if cmp(a[j], a[k]) < 0:
                return j
            return k if cmp(a[i], a[k]) < 0 else i
        if cmp(a[j], a[k]) > 0:
            return j
        return i if cmp(a[i], a[k]) < 0 else k

    def insertion(base: int, n: int) -> None:
        for pm in range(base + 1, base + n):
            pl = pm
            while pl > base and cmp(a[pl - 1], a[pl]) > 0:
                swap(pl, pl - 1)
                pl -= 1

    def run(base: int, n: int) -> None:
        while True:
            swap_cnt = 0
            if n < 7:
                insertion(base, n)
                return
            pm = base + n // 2
            if n > 7:
                pl = base
                pn = base + n - 1
                if n > 40:
                    d = n // 8
                    pl = med3(pl, pl + d, pl + 2 * d)
                    pm = med3(pm - d, pm, pm + d)
                    pn = med3(pn - 2 * d, pn - d, pn)
                pm = med3(pl, pm, pn)
            swap(base, pm)
            pa = pb = base + 1
            pc = pd = base + n - 1
            while True:
                while pb <= pc:
                    r = cmp(a[pb], a[base])
                    if r > 0:
                        break
                    if r == 0:
                        swap_cnt = 1
                        swap(pa, pb)
                        pa += 1
                    pb += 1
                while pb <= pc:
                    r = cmp(a[pc], a[base])
                    if r < 0:
                        break
                    if r == 0:
                        swap_cnt = 1
                        swap(pc, pd)
                        pd -= 1
                    pc -= 1
                if pb > pc:
                    break
                swap(pb, pc)
                swap_cnt = 1
                pb += 1
                pc -= 1
            if swap_cnt == 0:
                insertion(base, n)
                return
            pn = base + n
            r = min(pa - base, pb - pa)
            vecswap(base, pb - r, r)
            r = min(pd - pc, pn - pd - 1)
            vecswap(pb, pn - r, r)
            r = pb - pa
            if r > 1:
                left, right = 2 * base, 2 * (base + r) - 1
                if not ((lo < left and hi < left) or (lo > right and hi > right)):
                    run(base, r)
            r = pd - pc
            if r > 1:
                base = pn - r
                n = r
                left, right = 2 * base, 2 * (base + r) - 1
                if not ((lo < left and hi < left) or (lo > right and hi > right)):
                    continue
            return

    run(0, len(a))
