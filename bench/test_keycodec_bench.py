"""pytest-benchmark suite for the compiled key codec (the storage hot path of every command).

    python -m pytest bench/test_keycodec_bench.py --benchmark-enable --benchmark-autosave
    python -m pytest bench/test_keycodec_bench.py --benchmark-enable --benchmark-compare

Runs as plain tests (benchmarks disabled) in `make test`, so the calls stay valid.
"""

from pikadb import keycodec as k

KEY = b"user:1000:profile"
VALUE = b"x" * 100
NOW = 1_800_000_000_000


def test_key_slot(benchmark):
    assert benchmark(k.key_slot, KEY) == k.key_slot(KEY)


def test_key_slot_hash_tag(benchmark):
    assert benchmark(k.key_slot, b"{user1000}.following") == k.key_slot(b"{user1000}.followers")


def test_shard_index(benchmark):
    benchmark(k.shard_index, KEY, 8)


def test_meta_key(benchmark):
    assert benchmark(k.meta_key, 3, KEY).endswith(KEY)


def test_encode_string(benchmark):
    benchmark(k.encode_string, VALUE, 0, 0)


def test_string_value_live(benchmark):
    rec = k.encode_string(VALUE, 0, 0)
    assert benchmark(k.string_value, rec, NOW) == VALUE


def test_string_value_expired(benchmark):
    rec = k.encode_string(VALUE, NOW - 1, 0)
    assert benchmark(k.string_value, rec, NOW) is None


def test_decode_meta(benchmark):
    rec = k.encode_string(VALUE, NOW + 1000, 0)
    meta = benchmark(k.decode_meta, rec)
    assert meta.type == k.T_STRING


def test_data_key(benchmark):
    benchmark(k.data_key, 0, KEY, 12345, b"field")


def test_expire_key(benchmark):
    benchmark(k.expire_key, 0, NOW, KEY)
