"""Config file / command-line parsing and CONFIG SET validation (texts from Redis 7.0)."""

import pytest

from pikadb.config import (
    Config,
    ConfigError,
    ConfigSetError,
    parse_command_line,
    parse_memory,
    split_config_line,
)


def test_defaults_are_pikadb_ones():
    cfg = Config()
    assert cfg.get("port") == "9221"
    assert cfg.get("bind") == "127.0.0.1"
    assert cfg.get("dir") == "./pikadb-data"
    assert cfg.get("databases") == "16"
    assert cfg.get("daemonize") == "no"
    assert cfg.get("requirepass") == ""


@pytest.mark.parametrize(
    ("text", "value"),
    [("1gb", 1024**3), ("1g", 10**9), ("512mb", 512 * 1024**2), ("100", 100), ("4KB", 4096)],
)
def test_parse_memory(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1xb", "-5mb", "1.5gb"])
def test_parse_memory_rejects(text):
    assert parse_memory(text) is None


def test_split_config_line_quotes_and_comments():
    assert split_config_line("# comment") == []
    assert split_config_line("   ") == []
    assert split_config_line('save ""') == ["save", ""]
    assert split_config_line('requirepass "a b\\n"') == ["requirepass", "a b\n"]
    assert split_config_line("bind 127.0.0.1 ::1") == ["bind", "127.0.0.1", "::1"]
    assert split_config_line("x 'it\\'s'") == ["x", "it's"]
    assert split_config_line('x "unterminated') is None


def test_command_line_takes_words_until_next_flag():
    file, overrides = parse_command_line(
        ["my.conf", "--port", "7000", "--save", "3600", "1", "--bind", "127.0.0.1"]
    )
    assert file == "my.conf"
    assert overrides == [("port", ["7000"]), ("save", ["3600", "1"]), ("bind", ["127.0.0.1"])]


def test_file_then_flags_flag_wins(tmp_path):
    f = tmp_path / "pikadb.conf"
    f.write_text("# test\nport 7001\nmaxmemory 1gb\nhash-max-ziplist-entries 64\n")
    cfg = Config.load(str(f), [("port", ["7002"])])
    assert cfg.get("port") == "7002"
    assert cfg.get("maxmemory") == str(1024**3)
    assert cfg.get("hash-max-listpack-entries") == "64"  # alias written through
    assert cfg.get("hash-max-ziplist-entries") == "64"


def test_unknown_directive_is_fatal(tmp_path):
    f = tmp_path / "pikadb.conf"
    f.write_text("port 7001\nnosuchthing 1\n")
    with pytest.raises(ConfigError) as e:
        Config.load(str(f), [])
    assert "at line 2" in str(e.value)
    assert "Bad directive or wrong number of arguments" in str(e.value)


@pytest.mark.parametrize(
    ("pairs", "text"),
    [
        (
            [("maxmemory", "abc")],
            "CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
        ),
        (
            [("port", "abc")],
            "CONFIG SET failed (possibly related to argument 'port') - argument couldn't be parsed into an integer",
        ),
        (
            [("daemonize", "yes")],
            "CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
        ),
        (
            [("appendonly", "maybe")],
            "CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'",
        ),
        (
            [("hz", "1"), ("hz", "2")],
            "CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter",
        ),
        (
            [("timeout", "-1")],
            "CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive",
        ),
        (
            [("maxmemory", "1mb"), ("foo", "2")],
            "Unknown option or number of arguments for CONFIG SET - 'foo'",
        ),
        (
            [("dir", "/tmp")],
            "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config",
        ),
        (
            [("loglevel", "foo")],
            "CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning",
        ),
    ],
)
def test_config_set_errors_match_redis(pairs, text):
    cfg = Config()
    before = dict(cfg.values)
    with pytest.raises(ConfigSetError) as e:
        cfg.set_many(pairs)
    assert str(e.value) == text
    assert cfg.values == before  # all or nothing


def test_config_set_is_atomic_and_notifies():
    cfg = Config()
    seen = []
    cfg.on_change("maxmemory", seen.append)
    cfg.set_many([("maxmemory", "2mb"), ("hz", "20")])
    assert cfg.get("maxmemory") == str(2 * 1024**2)
    assert cfg.get_int("hz") == 20
    assert seen == [str(2 * 1024**2)]


def test_matching_globs_include_aliases():
    cfg = Config()
    names = dict(cfg.matching(b"*max-*-entries*"))
    assert "hash-max-listpack-entries" in names
    assert "hash-max-ziplist-entries" in names
    assert dict(cfg.matching(b"PORT")) == {"PORT": "9221"}  # echoed as spelled, like Redis


def test_rewrite_keeps_comments_and_updates(tmp_path):
    f = tmp_path / "pikadb.conf"
    f.write_text("# my comment\nport 7001\nhz 10\n")
    cfg = Config.load(str(f), [])
    cfg.set_many([("hz", "50"), ("maxmemory", "1mb")])
    cfg.rewrite()
    text = f.read_text()
    assert "# my comment" in text
    assert "port 7001" in text
    assert "hz 50" in text
    assert "maxmemory 1048576" in text
    again = Config.load(str(f), [])
    assert again.get("hz") == "50"


def test_rewrite_without_file():
    with pytest.raises(ConfigSetError, match="running without a config file"):
        Config().rewrite()
