"""Network namespaces that a test creates for itself (root only): a namespace joined to the
host by a veth pair, so that a process inside reaches the host from a non-loopback address,
and the link can be cut (a partition) and restored. Nothing else on the machine is touched;
every namespace is deleted at the end (its veth goes with it).
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_counter = itertools.count(1)


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, text=True)


def available() -> str:
    """'' when namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"pkprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ""


@dataclass
class Namespace:
    name: str
    host_if: str
    host_ip: str  # the host's end of the veth: listen here
    ns_ip: str  # the namespace's own address

    def command(self, *argv: str) -> list[str]:
        """argv run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*argv), capture_output=True, timeout=timeout)

    def cut(self) -> None:
        """Partition: the link goes down; packets are dropped, no reset is sent."""
        _run("ip", "link", "set", self.host_if, "down")

    def heal(self) -> None:
        _run("ip", "link", "set", self.host_if, "up")


@contextmanager
def namespace() -> Iterator[Namespace]:
    n = next(_counter)
    tag = f"{os.getpid() % 10000}x{n}"
    name, host_if, ns_if = f"pk{tag}", f"pkh{tag}", f"pkn{tag}"
    subnet = (os.getpid() + n * 7) % 250 + 1
    host_ip, ns_ip = f"10.231.{subnet}.1", f"10.231.{subnet}.2"
    _run("ip", "netns", "add", name)
    try:
        _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        _run("ip", "link", "set", ns_if, "netns", name)
        _run("ip", "addr", "add", f"{host_ip}/30", "dev", host_if)
        _run("ip", "link", "set", host_if, "up")
        _run("ip", "netns", "exec", name, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if)
        _run("ip", "netns", "exec", name, "ip", "link", "set", ns_if, "up")
        _run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield Namespace(name, host_if, host_ip, ns_ip)
    finally:
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
