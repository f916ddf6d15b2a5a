"""Geo commands (Redis geo.c): GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS[BYMEMBER][_RO],
GEOSEARCH, GEOSEARCHSTORE, on top of sorted sets.

A geo set is a zset whose scores are 52-bit geohashes (storage/geo.py has the math). GEOADD
turns each position into a score and is then exactly ZADD (same options, same reply). The
searches follow georadiusGeneric step by step, because their error precedence is part of
the interface: the source key's type first, then the center and radius of the
GEORADIUS forms, then the options left to right (each parsed as it comes), then the
incompatibilities, and only then the search. A search reads the (up to) 9 geohash boxes
of the plan as score ranges of the zset, keeps the points inside the shape, and orders
them as Redis does: box order then score order when unsorted, a stable sort for ASC/DESC,
and Redis's own partial quicksort when COUNT cuts the list (so ties come out the same).

Number formatting is Redis's: distances '%.4f' (always bulk strings), coordinates
ld2string('%.17Lf' trimmed) as bulk strings in RESP2 and doubles in RESP3, hashes as
integers.
"""

from __future__ import annotations

from pikadb import errors
from pikadb.commands.args import int_arg, syntax_error
from pikadb.commands.table import command
from pikadb.commands.zsets import parse_double, zset_limits
from pikadb.errors import CommandError
from pikadb.protocol import NULL_ARRAY, RawReply
from pikadb.storage import geo
from pikadb.storage.geo import (
    CIRCULAR,
    GEO_LAT_MAX,
    GEO_LAT_MIN,
    GEO_LONG_MAX,
    GEO_LONG_MIN,
    RECTANGLE,
    Shape,
)
from pikadb.storage.zsets import Source

UNSUPPORTED_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
NOT_DECODED = "ERR could not decode requested zset member"

# georadiusGeneric flags
RADIUS_COORDS = 1
RADIUS_MEMBER = 2
RADIUS_NOSTORE = 4
GEOSEARCH = 8
GEOSEARCHSTORE = 16

SORT_NONE, SORT_ASC, SORT_DESC = 0, 1, 2


# ---- argument helpers ----


def extract_lonlat(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    """extractLongLatOrReply."""
    lon = parse_double(lon_arg)
    lat = parse_double(lat_arg)
    if lon < GEO_LONG_MIN or lon > GEO_LONG_MAX or lat < GEO_LAT_MIN or lat > GEO_LAT_MAX:
        raise errors.err(f"invalid longitude,latitude pair {lon:f},{lat:f}")
    return lon, lat


def extract_unit(arg: bytes) -> float:
    """extractUnitOrReply: meters per unit."""
    unit = geo.UNITS.get(arg.lower())
    if unit is None:
        raise CommandError(UNSUPPORTED_UNIT)
    return unit


def extract_distance(radius_arg: bytes, unit_arg: bytes) -> tuple[float, float]:
    """extractDistanceOrReply -> (radius, meters per unit)."""
    radius = parse_double(radius_arg, "ERR need numeric radius")
    if radius < 0:
        raise errors.err("radius cannot be negative")
    return radius, extract_unit(unit_arg)


def extract_box(w_arg: bytes, h_arg: bytes, unit_arg: bytes) -> tuple[float, float, float]:
    """extractBoxOrReply -> (width, height, meters per unit)."""
    w = parse_double(w_arg, "ERR need numeric width")
    h = parse_double(h_arg, "ERR need numeric height")
    if h < 0 or w < 0:
        raise errors.err("height or width cannot be negative")
    return w, h, extract_unit(unit_arg)


def coord_reply(c, d: float) -> object:
    """addReplyHumanLongDouble: bulk text in RESP2, a double with the same text in RESP3."""
    text = geo.format_coord(d)
    return RawReply(b"," + text + b"\r\n") if c.proto > 2 else text


# ---- GEOADD ----


@command("geoadd", arity=-5, flags="write denyoom", keys=(1, 1, 1), group="geo")
def geoadd(c, argv):
    """GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]"""
    nx = xx = ch = False
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].lower()
        if opt == b"nx":
            nx = True
        elif opt == b"xx":
            xx = True
        elif opt == b"ch":
            ch = True
        else:
            break
        i += 1
    if (n - i) % 3 or (xx and nx):
        raise syntax_error()
    pairs = []
    for j in range(i, n, 3):
        lon, lat = extract_lonlat(argv[j], argv[j + 1])
        pairs.append((float(geo.score_of(lon, lat)), argv[j + 2]))
    if not pairs:  # ZADD with no score/member pair
        raise syntax_error()
    added, updated, _, _ = c.db.zadd(argv[1], pairs, c.now, nx=nx, xx=xx, limits=zset_limits(c))
    return added + updated if ch else added


# ---- GEODIST / GEOHASH / GEOPOS ----


@command("geodist", arity=-4, flags="readonly", keys=(1, 1, 1), group="geo")
def geodist(c, argv):
    """GEODIST key member1 member2 [M | KM | FT | MI]"""
    to_meter = 1.0
    if len(argv) == 5:
        to_meter = extract_unit(argv[4])
    elif len(argv) > 5:
        raise syntax_error()
    src = c.db.zsource(argv[1], c.now)
    if src is None:
        return None
    s1 = src.score_of(argv[2])
    s2 = src.score_of(argv[3]) if s1 is not None else None
    if s1 is None or s2 is None:
        return None
    lon1, lat1 = geo.decode_score(s1)
    lon2, lat2 = geo.decode_score(s2)
    return geo.format_distance(geo.distance(lon1, lat1, lon2, lat2) / to_meter)


@command("geohash", arity=-2, flags="readonly", keys=(1, 1, 1), group="geo")
def geohash(c, argv):
    """GEOHASH key [member [member ...]]"""
    src = c.db.zsource(argv[1], c.now)
    out: list = []
    for m in argv[2:]:
        score = src.score_of(m) if src is not None else None
        out.append(None if score is None else geo.geohash_string(score))
    return out


@command("geopos", arity=-2, flags="readonly", keys=(1, 1, 1), group="geo")
def geopos(c, argv):
    """GEOPOS key [member [member ...]]"""
    src = c.db.zsource(argv[1], c.now)
    out: list = []
    for m in argv[2:]:
        score = src.score_of(m) if src is not None else None
        if score is None:
            out.append(NULL_ARRAY)
            continue
        lon, lat = geo.decode_score(score)
        out.append([coord_reply(c, lon), coord_reply(c, lat)])
    return out


# ---- GEORADIUS / GEOSEARCH (georadiusGeneric) ----


class _Point:
    __slots__ = ("dist", "lat", "lon", "member", "score")

    def __init__(self, dist: float, lon: float, lat: float, member: bytes, score: float) -> None:
        self.dist = dist
        self.lon = lon
        self.lat = lat
        self.member = member
        self.score = score


def _cmp_asc(a: _Point, b: _Point) -> int:
    if a.dist > b.dist:
        return 1
    if a.dist == b.dist:
        return 0
    return -1


def _cmp_desc(a: _Point, b: _Point) -> int:
    return -_cmp_asc(a, b)


def _points_in_shape(c, src: Source, shape: Shape, limit: int) -> list[_Point]:
    """membersOfAllNeighbors: the points of the plan's boxes inside the shape, in box order
    then score order; with limit (ANY), stop as soon as there are that many."""
    boxes = geo.areas_for_shape(shape)
    out: list[_Point] = []
    last_processed = 0
    db = c.db
    for i, box in enumerate(boxes):
        if box == (0, 0):
            continue  # excluded by the plan
        # Huge radii make adjacent boxes equal: skip a repeat of the previous one (Redis
        # compares with the last processed index only when it is not the center's 0).
        if last_processed and box == boxes[last_processed]:
            continue
        if out and limit and len(out) >= limit:
            break
        lo, hi = geo.box_score_range(box)
        for member, score in db.zscore_range(src, float(lo), float(hi)):
            hit = geo.within_shape(shape, score)
            if hit is not None:
                out.append(_Point(hit[0], hit[1], hit[2], member, score))
            if out and limit and len(out) >= limit:
                break
        last_processed = i
    return out


def georadius_generic(c, argv: list[bytes], src_idx: int, flags: int) -> object:
    now = c.now
    src = c.db.zsource(argv[src_idx], now)
    storekey: bytes | None = None
    storedist = False
    shape = Shape()
    if flags & RADIUS_COORDS:
        base = 6
        shape.kind = CIRCULAR
        shape.lon, shape.lat = extract_lonlat(argv[2], argv[3])
        shape.radius, shape.conversion = extract_distance(argv[4], argv[5])
    elif flags & RADIUS_MEMBER and src is None:
        base = 5  # no key: parse the options anyway, to know which empty reply to give
    elif flags & RADIUS_MEMBER:
        base = 5
        shape.kind = CIRCULAR
        score = src.score_of(argv[2]) if src is not None else None
        if score is None:
            raise CommandError(NOT_DECODED)
        shape.lon, shape.lat = geo.decode_score(score)
        shape.radius, shape.conversion = extract_distance(argv[3], argv[4])
    else:
        base = 2
        if flags & GEOSEARCHSTORE:
            base = 3
            storekey = argv[1]

    withdist = withhash = withcoords = False
    frommember = fromloc = byradius = bybox = False
    sort = SORT_NONE
    any_ = False
    count = 0
    remaining = len(argv) - base
    i = 0
    while i < remaining:
        arg = argv[base + i].lower()
        if arg == b"withdist":
            withdist = True
        elif arg == b"withhash":
            withhash = True
        elif arg == b"withcoord":
            withcoords = True
        elif arg == b"any":
            any_ = True
        elif arg == b"asc":
            sort = SORT_ASC
        elif arg == b"desc":
            sort = SORT_DESC
        elif arg == b"count" and i + 1 < remaining:
            count = int_arg(argv[base + i + 1])
            if count <= 0:
                raise errors.err("COUNT must be > 0")
            i += 1
        elif (
            arg == b"store"
            and i + 1 < remaining
            and not flags & RADIUS_NOSTORE
            and not flags & GEOSEARCH
        ):
            storekey = argv[base + i + 1]
            storedist = False
            i += 1
        elif (
            arg == b"storedist"
            and i + 1 < remaining
            and not flags & RADIUS_NOSTORE
            and not flags & GEOSEARCH
        ):
            storekey = argv[base + i + 1]
            storedist = True
            i += 1
        elif arg == b"storedist" and flags & GEOSEARCH and flags & GEOSEARCHSTORE:
            storedist = True
        elif arg == b"frommember" and i + 1 < remaining and flags & GEOSEARCH and not fromloc:
            if src is not None:
                score = src.score_of(argv[base + i + 1])
                if score is None:
                    raise CommandError(NOT_DECODED)
                shape.lon, shape.lat = geo.decode_score(score)
            frommember = True
            i += 1
        elif arg == b"fromlonlat" and i + 2 < remaining and flags & GEOSEARCH and not frommember:
            shape.lon, shape.lat = extract_lonlat(argv[base + i + 1], argv[base + i + 2])
            fromloc = True
            i += 2
        elif arg == b"byradius" and i + 2 < remaining and flags & GEOSEARCH and not bybox:
            shape.radius, shape.conversion = extract_distance(
                argv[base + i + 1], argv[base + i + 2]
            )
            shape.kind = CIRCULAR
            byradius = True
            i += 2
        elif arg == b"bybox" and i + 3 < remaining and flags & GEOSEARCH and not byradius:
            shape.width, shape.height, shape.conversion = extract_box(
                argv[base + i + 1], argv[base + i + 2], argv[base + i + 3]
            )
            shape.kind = RECTANGLE
            bybox = True
            i += 3
        else:
            raise syntax_error()
        i += 1

    if storekey is not None and (withdist or withhash or withcoords):
        what = "GEOSEARCHSTORE" if flags & GEOSEARCHSTORE else "STORE option in GEORADIUS"
        raise errors.err(f"{what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    name = argv[0].decode("utf-8", "replace")
    if flags & GEOSEARCH and not (frommember or fromloc):
        raise errors.err(f"exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
    if flags & GEOSEARCH and not (byradius or bybox):
        raise errors.err(f"exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if any_ and not count:
        raise errors.err("the ANY argument requires COUNT argument")

    db = c.db
    if src is None:
        if storekey is not None:
            db.zstore(storekey, [], now)  # deletes it
            return 0
        return []

    # COUNT without an order makes no sense (the closest N are wanted): ASC, unless ANY.
    if count and sort == SORT_NONE and not any_:
        sort = SORT_ASC
    points = _points_in_shape(c, src, shape, count if any_ else 0)
    if not points and storekey is None:
        return []
    total = len(points)
    returned = total if count == 0 or total < count else count
    if sort != SORT_NONE:
        if returned == total:
            # glibc's qsort is a merge sort: stable, as Python's sort.
            points.sort(key=lambda p: p.dist, reverse=sort == SORT_DESC)
        else:
            geo.pqsort(points, _cmp_asc if sort == SORT_ASC else _cmp_desc, 0, returned - 1)
    conv = shape.conversion
    if storekey is None:
        out: list = []
        for p in points[:returned]:
            dist = p.dist / conv
            if not (withdist or withhash or withcoords):
                out.append(p.member)
                continue
            item: list = [p.member]
            if withdist:
                item.append(geo.format_distance(dist))
            if withhash:
                item.append(int(p.score))
            if withcoords:
                item.append([coord_reply(c, p.lon), coord_reply(c, p.lat)])
            out.append(item)
        return out
    stored: dict[bytes, float] = {}
    for p in points[:returned]:
        stored.setdefault(p.member, p.dist / conv if storedist else p.score)
    return db.zstore(storekey, list(stored.items()), now, limits=zset_limits(c))


def _georadius_keys(argv: list[bytes]) -> list[int]:
    """georadiusGetKeys: the source, and the last STORE/STOREDIST key if any."""
    stored = -1
    i = 5
    while i < len(argv):
        if argv[i].lower() in (b"store", b"storedist") and i + 1 < len(argv):
            stored = i + 1
            i += 1
        i += 1
    return [1] if stored == -1 else [1, stored]


_georadius_keys.legacy_range = (1, 1, 1)  # type: ignore[attr-defined]  # COMMAND INFO


@command("georadius", arity=-6, flags="write denyoom", keys=_georadius_keys, group="geo")
def georadius(c, argv):
    """GEORADIUS key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key] [STOREDIST key]"""
    return georadius_generic(c, argv, 1, RADIUS_COORDS)


@command("georadiusbymember", arity=-5, flags="write denyoom", keys=_georadius_keys, group="geo")
def georadiusbymember(c, argv):
    """GEORADIUSBYMEMBER key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC] [STORE key] [STOREDIST key]"""
    return georadius_generic(c, argv, 1, RADIUS_MEMBER)


@command("georadius_ro", arity=-6, flags="readonly", keys=(1, 1, 1), group="geo")
def georadius_ro(c, argv):
    """GEORADIUS_RO key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]"""
    return georadius_generic(c, argv, 1, RADIUS_COORDS | RADIUS_NOSTORE)


@command("georadiusbymember_ro", arity=-5, flags="readonly", keys=(1, 1, 1), group="geo")
def georadiusbymember_ro(c, argv):
    """GEORADIUSBYMEMBER_RO key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC | DESC]"""
    return georadius_generic(c, argv, 1, RADIUS_MEMBER | RADIUS_NOSTORE)


@command("geosearch", arity=-7, flags="readonly", keys=(1, 1, 1), group="geo")
def geosearch(c, argv):
    """GEOSEARCH key FROMMEMBER member | FROMLONLAT longitude latitude BYRADIUS radius M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]"""
    return georadius_generic(c, argv, 1, GEOSEARCH)


@command("geosearchstore", arity=-8, flags="write denyoom", keys=(1, 2, 1), group="geo")
def geosearchstore(c, argv):
    """GEOSEARCHSTORE destination source FROMMEMBER member | FROMLONLAT longitude latitude BYRADIUS radius M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC] [COUNT count [ANY]] [STOREDIST]"""
    return georadius_generic(c, argv, 2, GEOSEARCH | GEOSEARCHSTORE)
