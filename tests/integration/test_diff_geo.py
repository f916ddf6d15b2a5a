"""Geo commands, pikad against redis-server.

GEOADD GEODIST GEOHASH GEOPOS GEORADIUS GEORADIUS_RO GEORADIUSBYMEMBER GEORADIUSBYMEMBER_RO
GEOSEARCH GEOSEARCHSTORE.

Everything is compared byte for byte: the scores GEOADD stores, the coordinates GEOPOS
decodes (RESP2 bulk, RESP3 double), '%.4f' distances, the order of unsorted results (box
order, then score order) and of sorted ones, ties included (Redis's partial quicksort when
COUNT cuts the result).
"""

from __future__ import annotations

import random

from integration.diff import transform

SICILY = [
    ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
    ["GEOADD", "g", "13.583333", "37.316667", "Agrigento", "12.758489", "38.788135", "edge1"],
    ["GEOADD", "g", "15.554", "38.193", "Messina", "14.015", "37.490", "Caltanissetta"],
]
WRONGTYPE_SETUP = [["SET", "str", "x"]]


def _points(seed: int, n: int, lon: tuple[float, float], lat: tuple[float, float]) -> list:
    rng = random.Random(seed)
    args = []
    for i in range(n):
        args += [f"{rng.uniform(*lon):.6f}", f"{rng.uniform(*lat):.6f}", f"p{i}"]
    return args


def test_geoadd(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["ZRANGE", "g", "0", "-1", "WITHSCORES"],
            ["GEOADD", "g", "13.361389", "38.115556", "Palermo"],
            ["GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo", "1", "1", "new"],
            ["GEOADD", "g", "CH", "13.4", "38.1", "Palermo"],
            ["GEOADD", "g", "NX", "CH", "0", "0", "Palermo", "2", "2", "nx"],
            ["GEOADD", "g", "XX", "CH", "0", "0", "Palermo", "3", "3", "xx"],
            ["GEOADD", "g", "xx", "ch", "nx", "0", "0", "a"],
            ["GEOADD", "g", "ch", "ch", "ch"],
            ["GEOADD", "g", "GT", "1", "1", "a"],
            ["GEOADD", "g", "INCR", "1", "1", "a"],
            ["GEOADD", "g", "1", "1"],
            ["GEOADD", "g", "1", "1", "a", "2"],
            ["GEOADD", "g", "181", "10", "a"],
            ["GEOADD", "g", "-180.0001", "10", "a"],
            ["GEOADD", "g", "10", "85.05112879", "a"],
            ["GEOADD", "g", "10", "-86", "a"],
            ["GEOADD", "g", "10", "10", "ok", "200", "10", "bad"],
            ["GEOADD", "g", "inf", "10", "a"],
            ["GEOADD", "g", "x", "10", "a"],
            ["GEOADD", "g", "10", "y", "a"],
            ["GEOADD", "g", "10", "nan", "a"],
            ["EXISTS", "g", "ok"],
            ["GEOADD", "str", "1", "1", "a"],
            ["GEOADD", "str", "200", "1", "a"],
            ["GEOADD", "edges", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw"],
            ["GEOADD", "edges", "0", "0", "zero", "-0", "-0", "negzero", "179.9999999", "0", "e"],
            ["ZRANGE", "edges", "0", "-1", "WITHSCORES"],
            ["GEOPOS", "edges", "ne", "sw", "zero", "negzero", "e"],
            ["GEOHASH", "edges", "ne", "sw", "zero", "negzero", "e"],
            ["OBJECT", "ENCODING", "g"],
            ["GEOADD", "long", "1", "1", "x" * 70],
            ["OBJECT", "ENCODING", "long"],
        ]
    )


def test_geopos_geohash_geodist(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["GEOPOS", "g", "Palermo", "Catania", "nope"],
            ["GEOPOS", "g"],
            ["GEOPOS", "nokey", "a", "b"],
            ["GEOPOS", "str", "a"],
            ["GEOHASH", "g", "Palermo", "Catania", "Messina", "nope"],
            ["GEOHASH", "g"],
            ["GEOHASH", "nokey", "a"],
            ["GEOHASH", "str", "a"],
            ["GEODIST", "g", "Palermo", "Catania"],
            ["GEODIST", "g", "Palermo", "Catania", "km"],
            ["GEODIST", "g", "Palermo", "Catania", "MI"],
            ["GEODIST", "g", "Palermo", "Catania", "ft"],
            ["GEODIST", "g", "Palermo", "Catania", "m"],
            ["GEODIST", "g", "Palermo", "Palermo"],
            ["GEODIST", "g", "Palermo", "nope"],
            ["GEODIST", "g", "nope", "Palermo", "km"],
            ["GEODIST", "g", "Palermo", "Catania", "parsec"],
            ["GEODIST", "g", "nope", "nope", "parsec"],
            ["GEODIST", "nokey", "a", "b", "parsec"],
            ["GEODIST", "g", "Palermo", "Catania", "km", "extra"],
            ["GEODIST", "nokey", "a", "b"],
            ["GEODIST", "str", "a", "b"],
            ["GEODIST", "str", "a", "b", "foo"],
            ["GEODIST", "g", "a"],
        ]
    )
    diff(
        [
            *SICILY,
            ["GEOPOS", "g", "Palermo", "nope", "Messina"],
            ["GEOPOS", "nokey", "x"],
            ["GEOHASH", "g", "Palermo", "nope"],
            ["GEODIST", "g", "Palermo", "Catania"],
            ["GEODIST", "g", "Palermo", "nope"],
        ],
        proto=3,
    )


def test_same_meridian_and_antipodes(diff):
    diff(
        [
            ["GEOADD", "m", "10", "0", "a", "10", "45", "b", "10", "-45", "c", "-170", "0", "d"],
            ["GEOADD", "m", "179.999", "1", "e", "-179.999", "1", "f", "0", "85", "n"],
            ["GEODIST", "m", "a", "b"],
            ["GEODIST", "m", "b", "c", "km"],
            ["GEODIST", "m", "a", "d"],
            ["GEODIST", "m", "e", "f"],
            ["GEODIST", "m", "n", "c", "mi"],
        ]
    )


def test_non_geo_scores(diff):
    # Scores a geo command would never write: Redis decodes them anyway (C casts and all).
    diff(
        [
            ["ZADD", "z", "-1", "neg", "1e20", "big", "4503599627370496", "b52", "0", "zero"],
            ["ZADD", "z", "inf", "pinf", "-inf", "ninf", "0.5", "half", "-1e30", "nbig"],
            ["ZADD", "z", "4503599627370495", "max", "123.75", "frac", "9.3e18", "huge"],
            ["GEOPOS", "z", "neg", "big", "b52", "zero", "pinf", "ninf", "half", "nbig"],
            ["GEOPOS", "z", "max", "frac", "huge"],
            ["GEOHASH", "z", "neg", "big", "b52", "zero", "pinf", "ninf", "half", "nbig"],
            ["GEOHASH", "z", "max", "frac", "huge"],
            ["GEODIST", "z", "neg", "zero"],
            ["GEODIST", "z", "max", "half", "km"],
            ["GEORADIUS", "z", "0", "0", "20000", "km", "WITHHASH", "ASC"],
            ["GEORADIUSBYMEMBER", "z", "neg", "100", "km", "WITHCOORD"],
        ]
    )


def test_georadius(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["GEORADIUS", "g", "15", "37", "200", "km"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "withhash"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "ASC"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "DESC", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "2"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "2", "DESC"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "2", "ANY"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "1", "ANY", "ASC"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "COUNT", "100"],
            ["GEORADIUS", "g", "15", "37", "200000", "m", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "124", "mi", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "656168", "FT", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "0", "km"],
            ["GEORADIUS", "g", "13.361389", "38.115556", "0", "m", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "1", "km"],
            ["GEORADIUS", "g", "-120", "-45", "100", "km"],
            ["GEORADIUS", "nokey", "15", "37", "200", "km"],
            ["GEORADIUS", "nokey", "200", "37", "200", "km"],
            ["GEORADIUS", "str", "200", "37", "200", "km"],
            ["GEORADIUS", "g", "200", "37", "200", "km"],
            ["GEORADIUS", "g", "x", "37", "200", "km"],
            ["GEORADIUS", "g", "15", "37", "-1", "km"],
            ["GEORADIUS", "g", "15", "37", "x", "km"],
            ["GEORADIUS", "g", "15", "37", "1", "parsec"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "COUNT", "0"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "COUNT", "-3"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "COUNT", "x"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "COUNT"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "ANY"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "FOO"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "STORE"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "STORE", "d", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "STOREDIST", "d", "WITHCOORD"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "FROMLONLAT", "1", "1"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "BYRADIUS", "1", "km"],
            ["GEORADIUS", "g", "15", "37", "1"],
            ["GEORADIUS_RO", "g", "15", "37", "200", "km", "WITHDIST", "ASC"],
            ["GEORADIUS_RO", "g", "15", "37", "200", "km", "STORE", "d"],
            ["GEORADIUS_RO", "g", "15", "37", "200", "km", "STOREDIST", "d"],
            ["GEORADIUS_RO", "nokey", "15", "37", "200", "km"],
        ]
    )
    diff(
        [
            *SICILY,
            ["GEORADIUS", "g", "15", "37", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "WITHCOORD", "ASC", "COUNT", "2"],
            ["GEORADIUS", "g", "15", "37", "200", "km"],
            ["GEORADIUS", "g", "15", "37", "1", "km"],
        ],
        proto=3,
    )


def test_georadius_store(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "d"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["OBJECT", "ENCODING", "d"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "STOREDIST", "d", "COUNT", "2", "DESC"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "x", "STOREDIST", "d2", "ASC"],
            ["EXISTS", "x"],
            ["ZRANGE", "d2", "0", "-1", "WITHSCORES"],
            ["GEORADIUS", "g", "15", "37", "1", "km", "STORE", "d"],
            ["EXISTS", "d"],
            ["SET", "d", "string"],
            ["GEORADIUS", "nokey", "15", "37", "1", "km", "STORE", "d"],
            ["EXISTS", "d"],
            ["SET", "d", "string"],
            ["EXPIRE", "d", "100"],
            ["GEORADIUSBYMEMBER", "g", "Palermo", "100", "km", "STORE", "d"],
            ["TYPE", "d"],
            ["TTL", "d"],
            ["GEORADIUS", "str", "15", "37", "1", "km", "STORE", "d"],
            ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "g"],
            ["ZRANGE", "g", "0", "-1"],
        ]
    )


def test_georadiusbymember(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["GEORADIUSBYMEMBER", "g", "Palermo", "200", "km"],
            ["GEORADIUSBYMEMBER", "g", "Palermo", "200", "km", "WITHDIST", "WITHCOORD", "ASC"],
            ["GEORADIUSBYMEMBER", "g", "Catania", "1000", "km", "COUNT", "3", "DESC"],
            ["GEORADIUSBYMEMBER", "g", "Catania", "0", "km", "WITHDIST"],
            ["GEORADIUSBYMEMBER", "g", "nope", "200", "km"],
            ["GEORADIUSBYMEMBER", "g", "nope", "x", "km"],
            ["GEORADIUSBYMEMBER", "g", "Palermo", "x", "km"],
            ["GEORADIUSBYMEMBER", "g", "Palermo", "-1", "km"],
            ["GEORADIUSBYMEMBER", "g", "Palermo", "1", "lightyear"],
            ["GEORADIUSBYMEMBER", "nokey", "nope", "x", "km"],
            ["GEORADIUSBYMEMBER", "nokey", "nope", "1", "km", "FOO"],
            ["GEORADIUSBYMEMBER", "nokey", "nope", "1", "km", "STORE", "d", "WITHDIST"],
            ["GEORADIUSBYMEMBER", "nokey", "nope", "1", "km", "ANY"],
            ["GEORADIUSBYMEMBER", "nokey", "nope", "1", "km", "STORE", "d"],
            ["GEORADIUSBYMEMBER", "str", "nope", "1", "km"],
            ["GEORADIUSBYMEMBER_RO", "g", "Palermo", "200", "km", "WITHHASH"],
            ["GEORADIUSBYMEMBER_RO", "g", "Palermo", "200", "km", "STORE", "d"],
            ["GEORADIUSBYMEMBER_RO", "nokey", "x", "200", "km"],
        ]
    )


def test_geosearch(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC"],
            ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "WITHDIST"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "200", "400", "km", "WITHCOORD"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "400", "100", "km"],
            ["GEOSEARCH", "g", "FROMMEMBER", "Catania", "BYBOX", "250", "250", "km", "DESC"],
            [
                "GEOSEARCH",
                "g",
                "BYBOX",
                "300",
                "300",
                "km",
                "FROMMEMBER",
                "Messina",
                "WITHHASH",
                "COUNT",
                "2",
            ],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "500", "km", "COUNT", "2"],
            [
                "GEOSEARCH",
                "g",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "500",
                "km",
                "COUNT",
                "2",
                "ANY",
            ],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "0", "0", "km"],
            ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYBOX", "0", "0", "m", "WITHDIST"],
            ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "km"],
            ["GEOSEARCH", "nokey", "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "km"],
            ["GEOSEARCH", "str", "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "km"],
            # errors, in Redis's order
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200"],
            ["GEOSEARCH", "g", "FROMMEMBER", "nope", "BYRADIUS", "200", "km"],
            [
                "GEOSEARCH",
                "g",
                "FROMMEMBER",
                "Palermo",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
            ],
            [
                "GEOSEARCH",
                "g",
                "FROMLONLAT",
                "1",
                "1",
                "FROMMEMBER",
                "Palermo",
                "BYRADIUS",
                "1",
                "km",
            ],
            [
                "GEOSEARCH",
                "g",
                "FROMLONLAT",
                "1",
                "1",
                "BYRADIUS",
                "1",
                "km",
                "BYBOX",
                "1",
                "1",
                "km",
            ],
            [
                "GEOSEARCH",
                "g",
                "FROMLONLAT",
                "1",
                "1",
                "BYBOX",
                "1",
                "1",
                "km",
                "BYRADIUS",
                "1",
                "km",
            ],
            [
                "GEOSEARCH",
                "g",
                "FROMLONLAT",
                "1",
                "1",
                "FROMLONLAT",
                "2",
                "2",
                "BYRADIUS",
                "1",
                "km",
            ],
            ["GEOSEARCH", "g", "BYRADIUS", "1", "km", "WITHDIST", "ASC"],
            ["geosearch", "g", "FROMLONLAT", "1", "1", "WITHDIST", "ASC"],
            ["GeoSearch", "g", "FROMMEMBER", "x", "WITHDIST", "ASC"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "ANY"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STORE", "d"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STOREDIST"],
            ["GEOSEARCH", "g", "FROMLONLAT", "200", "1", "BYRADIUS", "1", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "x", "1", "BYRADIUS", "1", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "x", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "-1", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "x", "1", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "x", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "-1", "x", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "-1", "1", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "-1", "parsec"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "1", "parsec"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYBOX", "1", "1"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "COUNT", "0"],
            ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "BYRADIUS", "x", "km"],
            ["GEOSEARCH", "nokey", "FROMMEMBER", "x", "WITHDIST", "ASC"],
            ["GEOSEARCH", "g", "FROMLONLAT", "1", "1"],
        ]
    )
    diff(
        [
            *SICILY,
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "WITHCOORD"],
            ["GEOSEARCH", "g", "FROMMEMBER", "Palermo", "BYRADIUS", "200", "km", "WITHDIST"],
        ],
        proto=3,
    )


def test_geosearchstore(diff):
    diff(
        [
            *WRONGTYPE_SETUP,
            *SICILY,
            ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            [
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMMEMBER",
                "Palermo",
                "BYBOX",
                "300",
                "300",
                "km",
                "STOREDIST",
            ],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            [
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "500",
                "mi",
                "COUNT",
                "2",
                "DESC",
                "STOREDIST",
            ],
            ["ZRANGE", "d", "0", "-1", "WITHSCORES"],
            ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1", "m"],
            ["EXISTS", "d"],
            ["SET", "d", "x"],
            ["GEOSEARCHSTORE", "d", "nokey", "FROMMEMBER", "x", "BYRADIUS", "1", "m"],
            ["EXISTS", "d"],
            ["GEOSEARCHSTORE", "d", "str", "FROMMEMBER", "x", "BYRADIUS", "1", "m"],
            [
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "1",
                "m",
                "WITHDIST",
            ],
            [
                "GEOSEARCHSTORE",
                "d",
                "g",
                "FROMLONLAT",
                "15",
                "37",
                "BYRADIUS",
                "1",
                "m",
                "STORE",
                "x",
            ],
            ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYBOX", "1", "1"],
            ["GEOSEARCHSTORE", "d", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "1"],
            ["geosearchstore", "d", "g", "BYRADIUS", "1", "km", "STOREDIST"],
        ]
    )


def test_ties_and_count(diff):
    # Many points at the same few places: equal distances, where only Redis's exact sorting
    # algorithms give its order.
    args = []
    for i in range(60):
        lon, lat = [(10, 10), (10.01, 10), (10, 10.01), (9.99, 10)][i % 4]
        args += [str(lon), str(lat), f"t{i:02d}"]
    cmds = [["GEOADD", "t", *args]]
    for count in ("1", "3", "7", "20", "41", "59", "60", "100"):
        for order in ("ASC", "DESC"):
            cmds.append(["GEORADIUS", "t", "10", "10", "50", "km", "COUNT", count, order])
        cmds.append(["GEORADIUS", "t", "10", "10", "50", "km", "COUNT", count, "ANY"])
    cmds.append(["GEORADIUS", "t", "10", "10", "50", "km", "ASC"])
    cmds.append(["GEORADIUS", "t", "10", "10", "50", "km", "DESC", "WITHDIST"])
    cmds.append(["GEORADIUS", "t", "10", "10", "50", "km"])
    cmds.append(["GEOSEARCH", "t", "FROMMEMBER", "t01", "BYBOX", "10", "10", "km", "COUNT", "9"])
    diff(cmds)


def test_random_points(diff):
    # Points spread over a region and over the world; many centers and radii, including
    # radii of thousands of km (coarse geohash steps, duplicated neighbor boxes) and places
    # near the poles and the antimeridian.
    cmds = [
        ["GEOADD", "r", *_points(1, 300, (5, 20), (35, 48))],
        ["GEOADD", "w", *_points(2, 300, (-180, 180), (-85, 85))],
        ["GEOADD", "p", *_points(3, 150, (-180, 180), (70, 85.05))],
        ["GEOADD", "a", *_points(4, 150, (170, 180), (-30, 30))],
        ["GEOADD", "a", *_points(5, 150, (-180, -170), (-30, 30))],
    ]
    rng = random.Random(7)
    for key, lon, lat in (("r", (5, 20), (35, 48)), ("w", (-180, 180), (-85, 85))):
        for _ in range(12):
            x, y = f"{rng.uniform(*lon):.4f}", f"{rng.uniform(*lat):.4f}"
            radius = str(rng.choice([1, 10, 50, 200, 800, 2500, 6000, 15000]))
            cmds.append(["GEORADIUS", key, x, y, radius, "km", "WITHDIST", "WITHHASH"])
            cmds.append(["GEORADIUS", key, x, y, radius, "km", "ASC", "COUNT", "5"])
            w, h = str(rng.choice([10, 100, 500, 3000])), str(rng.choice([10, 100, 500, 3000]))
            cmds.append(["GEOSEARCH", key, "FROMLONLAT", x, y, "BYBOX", w, h, "km", "WITHCOORD"])
    for key, center in (("p", ("0", "84")), ("p", ("150", "-84")), ("a", ("179.9", "0"))):
        for radius in ("100", "1000", "3000"):
            cmds.append(["GEORADIUS", key, *center, radius, "km"])
            cmds.append(["GEOSEARCH", key, "FROMLONLAT", *center, "BYBOX", radius, "50", "km"])
    cmds.append(["GEORADIUSBYMEMBER", "w", "p17", "5000", "km", "DESC", "COUNT", "10"])
    cmds.append(["GEOSEARCH", "r", "FROMMEMBER", "p3", "BYRADIUS", "300", "km", "WITHDIST"])
    cmds.append(["GEOSEARCH", "a", "FROMLONLAT", "-179.9", "-20", "BYBOX", "2000", "2000", "km"])
    cmds.append(["GEOSEARCH", "w", "FROMLONLAT", "0", "0", "BYRADIUS", "20000", "km"])
    diff(cmds)


def _core(v: object) -> object:
    return [None if e is None else [e[0], e[1], sorted(e[2]), e[3], e[4], e[5]] for e in v]


def test_command_info(diff):
    names = (
        "geoadd geodist geohash geopos georadius georadius_ro georadiusbymember"
        " georadiusbymember_ro geosearch geosearchstore"
    )
    diff([(["COMMAND", "INFO", *names.split()], transform(_core, "core and flag set"))])
    diff(
        [
            ["COMMAND", "GETKEYS", "GEORADIUS", "k", "1", "1", "1", "km", "STORE", "d"],
            ["COMMAND", "GETKEYS", "GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "1", "1"],
            ["COMMAND", "GETKEYS", "GEOADD", "k", "1", "1", "m"],
        ]
    )


def test_extreme_radii(diff):
    # inf and 1e308 radii: Redis's C math turns them into NaN bounds and a one-step plan.
    diff(
        [
            [
                "GEOADD",
                "g",
                *["13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
                *["0", "0", "zero", "179.99", "85", "ne", "-179.99", "-85", "sw"],
            ],
            ["GEORADIUS", "g", "15", "37", "inf", "km"],
            ["GEORADIUS", "g", "15", "37", "1e308", "km"],
            ["GEORADIUS", "g", "15", "37", "inf", "m", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "20037", "km", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "40000", "km", "WITHDIST"],
            ["GEORADIUS", "g", "15", "37", "1e10", "m", "WITHDIST", "ASC"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "inf", "inf", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "1e308", "1", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "15", "37", "BYBOX", "40000", "40000", "km"],
            ["GEOSEARCH", "g", "FROMLONLAT", "0", "85", "BYRADIUS", "100", "km", "WITHDIST"],
            ["GEOSEARCH", "g", "FROMLONLAT", "0", "-85", "BYBOX", "20000", "100", "km"],
            ["GEODIST", "g", "ne", "sw"],
            ["GEODIST", "g", "zero", "ne", "km"],
        ]
    )
