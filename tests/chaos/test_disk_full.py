"""A full disk: pikad's data directory on a small tmpfs that a ballast file fills. Writes
then fail with a clear -ERR and apply nothing, reads keep working, and once the ballast is
deleted writes succeed again without a restart; every acknowledged write survives a
restart. Needs root (mount); skipped otherwise.
"""

from __future__ import annotations

import os
import subprocess
import time

import pytest
import redis

from helpers.servers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.pikad_only]

SIZE_MB = 48


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("value_size", [4096, 65536, 1 << 20])
def test_full_disk_refuses_writes_keeps_reads_recovers(
    small_disk, pikad_factory, figures, value_size
):
    ballast = small_disk / "ballast"
    ballast.write_bytes(os.urandom(24 << 20))
    server = pikad_factory(dir=str(small_disk / "data"), rocksdb_write_buffer_size="4mb")
    c = server.client(socket_timeout=30)
    value = os.urandom(value_size)
    acked: list[int] = []
    error = ""
    for i in range((SIZE_MB << 20) // value_size + 10):
        try:
            c.set(f"k{i}", value)
        except redis.ConnectionError:
            c = server.client(socket_timeout=30)  # a failed group commit closes its clients
            error = error or "connection closed"
            break
        except redis.ResponseError as e:
            error = str(e)
            break
        acked.append(i)
    assert error, "the disk never filled up"
    assert "No space left on device" in error or error == "connection closed", error
    assert server.alive
    # Writes of this size keep failing, nothing of them applied; reads and others work.
    failures = 0
    for j in range(5):
        with pytest.raises((redis.ResponseError, redis.ConnectionError)):
            c = server.client(socket_timeout=30)
            c.set(f"refused{j}", value)
        failures += 1
    c = server.client(socket_timeout=30)
    assert c.exists(*(f"refused{j}" for j in range(5))) == 0
    assert c.get(f"k{acked[0]}") == value and c.get(f"k{acked[-1]}") == value
    assert c.dbsize() == len(acked)
    assert c.ping()
    # Space comes back: writes succeed again, no restart.
    ballast.unlink()
    start = time.monotonic()
    wait_until(lambda: server.client().set("after", value), 30, what="writes to succeed again")
    recovered = time.monotonic() - start
    server.stop()
    server.start()
    c = server.client(socket_timeout=30)
    missing = sum(1 for i in acked if c.get(f"k{i}") != value)
    assert missing == 0 and c.get("after") == value
    figures.append(
        f"{value_size} B values: {len(acked)} acknowledged before the disk filled "
        f"({error[:70]}), {failures} refused writes applied nothing, writes back "
        f"{recovered:.2f} s after space was freed, 0 lost after a restart"
    )
