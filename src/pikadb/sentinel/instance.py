"""What the sentinel knows about each instance: masters, their replicas, the other sentinels.

One Instance class serves the three kinds, as Redis's sentinelRedisInstance does: the kind is
a flag, and the fields of the other kinds stay at their defaults. A master owns its replicas
(keyed "ip:port") and the other sentinels watching it (keyed by run id); replicas and
sentinels point back to it. Flags are Redis's SRI_* bits and print with Redis's names
(`master,s_down,o_down,disconnected`), because clients parse them: redis-py's Sentinel client
skips masters flagged s_down/o_down.

parse_info() reads the fields of an INFO reply the sentinel cares about; what to do with them
(discovering replicas, noticing a promotion) is monitor.py's job. InstanceError is what
creating one (Sentinel.create_instance, create_address) raises.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from pikadb.sentinel.config import DEFAULT_FAILOVER_TIMEOUT, DEFAULT_PARALLEL_SYNCS, addr_name
from pikadb.sentinel.link import InstanceLink, mstime

DEFAULT_SLAVE_PRIORITY = 100


class InstanceError(Exception):
    """Creating an instance failed; str() is Redis's reason text."""


class Flag(enum.IntFlag):
    MASTER = 1 << 0
    SLAVE = 1 << 1
    SENTINEL = 1 << 2
    S_DOWN = 1 << 3  # subjectively down: no valid PING reply for down-after-milliseconds
    O_DOWN = 1 << 4  # objectively down: a quorum of sentinels agrees
    MASTER_DOWN = 1 << 5  # (on a sentinel) it told us it sees the master down
    FAILOVER_IN_PROGRESS = 1 << 6
    PROMOTED = 1 << 7  # the replica chosen for promotion
    RECONF_SENT = 1 << 8  # SLAVEOF <new master> sent
    RECONF_INPROG = 1 << 9  # it reports the new master, sync in progress
    RECONF_DONE = 1 << 10  # its link with the new master is up
    FORCE_FAILOVER = 1 << 11  # SENTINEL FAILOVER: no election needed
    SCRIPT_KILL_SENT = 1 << 12
    MASTER_REBOOT = 1 << 13
    FENCED = 1 << 14  # pika-sentinel: the old master was write-paused for this failover


# The order Redis prints them in (addReplySentinelRedisInstance); "disconnected" comes from the
# link and is inserted after "sentinel".
_FLAG_NAMES_BEFORE = (
    (Flag.S_DOWN, "s_down"),
    (Flag.O_DOWN, "o_down"),
    (Flag.MASTER, "master"),
    (Flag.SLAVE, "slave"),
    (Flag.SENTINEL, "sentinel"),
)
_FLAG_NAMES_AFTER = (
    (Flag.MASTER_DOWN, "master_down"),
    (Flag.FAILOVER_IN_PROGRESS, "failover_in_progress"),
    (Flag.PROMOTED, "promoted"),
    (Flag.RECONF_SENT, "reconf_sent"),
    (Flag.RECONF_INPROG, "reconf_inprog"),
    (Flag.RECONF_DONE, "reconf_done"),
    (Flag.FORCE_FAILOVER, "force_failover"),
    (Flag.SCRIPT_KILL_SENT, "script_kill_sent"),
)


class FailoverState(enum.IntEnum):
    NONE = 0  # no failover in progress
    WAIT_START = 1  # waiting for the start time, then for the election
    SELECT_SLAVE = 2  # choosing the replica to promote
    FENCE_MASTER = 3  # pika-sentinel: write-pausing the reachable old master
    WAIT_FENCE_SYNC = 4  # pika-sentinel: waiting for the replica to reach the master's offset
    SEND_SLAVEOF_NOONE = 5  # promoting it
    WAIT_PROMOTION = 6  # waiting for its INFO to say role:master
    RECONF_SLAVES = 7  # pointing the other replicas at it
    UPDATE_CONFIG = 8  # done: switch the master's address to the promoted replica

    @property
    def text(self) -> str:
        return self.name.lower()


@dataclass
class Addr:
    """An instance address: hostname as configured, ip as resolved, port."""

    hostname: str
    ip: str
    port: int

    @property
    def name(self) -> str:
        return addr_name(self.ip, self.port)

    def same(self, other: Addr) -> bool:
        return self.port == other.port and self.ip.lower() == other.ip.lower()


@dataclass
class InfoReport:
    """The INFO fields the sentinel uses (sentinelRefreshInstanceInfo)."""

    run_id: str | None = None
    role: Flag | None = None  # MASTER or SLAVE, None if INFO says neither
    replicas: list[tuple[str, int]] = field(default_factory=list)
    master_link_down_time: int = 0
    master_host: str | None = None
    master_port: int | None = None
    master_link_up: bool | None = None
    slave_priority: int | None = None
    slave_repl_offset: int | None = None
    replica_announced: int | None = None
    master_repl_offset: int | None = None


def _atoi(s: str) -> int:
    digits = ""
    for i, ch in enumerate(s):
        if ch.isdigit() or (i == 0 and ch in "+-"):
            digits += ch
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


def parse_info(text: str) -> InfoReport:
    """Parse an INFO reply the way Redis Sentinel does, old replica line format included."""
    rep = InfoReport()
    role: Flag | None = None
    for line in text.split("\r\n"):
        if len(line) >= 47 and line.startswith("run_id:"):
            rep.run_id = line[7:47]
        if len(line) >= 7 and line.startswith("slave") and line[5:6].isdigit():
            # new: slave0:ip=127.0.0.1,port=9999,...  old: slave0:<ip>,<port>,<state>
            if "ip=" in line:
                ip = line[line.index("ip=") + 3 :].split(",", 1)[0]
                if "port=" not in line:
                    continue
                port = line[line.index("port=") + 5 :].split(",", 1)[0]
            else:
                parts = line.split(":", 1)[-1].split(",")
                if len(parts) < 3:
                    continue
                ip, port = parts[0], parts[1]
            rep.replicas.append((ip, _atoi(port)))
        if len(line) >= 32 and line.startswith("master_link_down_since_seconds"):
            rep.master_link_down_time = _atoi(line[31:]) * 1000
        if line.startswith("master_repl_offset:"):
            rep.master_repl_offset = _atoi(line[19:])
        if line.startswith("role:master"):
            role = Flag.MASTER
        elif line.startswith("role:slave"):
            role = Flag.SLAVE
        if role == Flag.SLAVE:
            if line.startswith("master_host:"):
                rep.master_host = line[12:]
            elif line.startswith("master_port:"):
                rep.master_port = _atoi(line[12:])
            elif line.startswith("master_link_status:"):
                rep.master_link_up = line[19:].lower() == "up"
            elif line.startswith("slave_priority:"):
                rep.slave_priority = _atoi(line[15:])
            elif line.startswith("slave_repl_offset:"):
                rep.slave_repl_offset = _atoi(line[18:])
            elif line.startswith("replica_announced:"):
                rep.replica_announced = _atoi(line[18:])
    rep.role = role
    return rep


class Instance:
    """A master, a replica or another sentinel, from this sentinel's point of view."""

    def __init__(
        self,
        name: str,
        flags: Flag,
        addr: Addr,
        quorum: int = 0,
        master: Instance | None = None,
        down_after: int = 30000,
    ) -> None:
        now = mstime()
        self.flags = flags
        self.name = name
        self.runid: str | None = None
        self.config_epoch = 0
        self.addr = addr
        self.link = InstanceLink()
        self.last_pub_time = now
        self.last_hello_time = now
        self.last_master_down_reply_time = now
        self.s_down_since_time = 0
        self.o_down_since_time = 0
        self.down_after_period = master.down_after_period if master else down_after
        self.master_reboot_down_after_period = 0
        self.master_reboot_since_time = 0
        self.info_refresh = 0
        self.info: str | None = None
        self.renamed_commands: dict[str, str] = {}
        # role as reported by INFO, and since when
        self.role_reported: Flag | None = flags & (Flag.MASTER | Flag.SLAVE) or None
        self.role_reported_time = now
        self.slave_conf_change_time = now
        # master only
        self.sentinels: dict[str, Instance] = {}
        self.slaves: dict[str, Instance] = {}
        self.quorum = quorum
        self.parallel_syncs = DEFAULT_PARALLEL_SYNCS
        self.auth_pass: str | None = None
        self.auth_user: str | None = None
        # replica only
        self.master_link_down_time = 0
        self.slave_priority = DEFAULT_SLAVE_PRIORITY
        self.replica_announced = 1
        self.slave_reconf_sent_time = 0
        self.master = master
        self.slave_master_host: str | None = None
        self.slave_master_port = 0
        self.slave_master_link_up = False
        self.slave_repl_offset = 0
        self.master_repl_offset = 0  # pika-sentinel: from INFO replication, for fencing
        # failover (leader: on a master, the sentinel elected; on a sentinel, its vote)
        self.leader: str | None = None
        self.leader_epoch = 0
        self.failover_epoch = 0
        self.failover_state = FailoverState.NONE
        self.failover_state_change_time = 0
        self.failover_start_time = 0
        self.failover_timeout = DEFAULT_FAILOVER_TIMEOUT
        self.failover_delay_logged = 0
        self.promoted_slave: Instance | None = None
        self.fence_offset = 0  # pika-sentinel: the fenced master's final offset
        self.notification_script: str | None = None
        self.client_reconfig_script: str | None = None

    # ---- naming ----

    @property
    def is_master(self) -> bool:
        return bool(self.flags & Flag.MASTER)

    @property
    def is_slave(self) -> bool:
        return bool(self.flags & Flag.SLAVE)

    @property
    def is_sentinel(self) -> bool:
        return bool(self.flags & Flag.SENTINEL)

    def type_str(self) -> str:
        if self.flags & Flag.MASTER:
            return "master"
        if self.flags & Flag.SLAVE:
            return "slave"
        if self.flags & Flag.SENTINEL:
            return "sentinel"
        return "unknown"

    def announce_ip(self, announce_hostnames: bool = False) -> str:
        return self.addr.hostname if announce_hostnames else self.addr.ip

    def describe(self, announce_hostnames: bool = False) -> str:
        """The '%@' prefix of event messages: '<type> <name> <ip> <port>' and, for replicas and
        sentinels, ' @ <master name> <master ip> <master port>'."""
        text = (
            f"{self.type_str()} {self.name} {self.announce_ip(announce_hostnames)} {self.addr.port}"
        )
        m = self.master
        if m is not None and not self.flags & Flag.MASTER:
            text += f" @ {m.name} {m.announce_ip(announce_hostnames)} {m.addr.port}"
        return text

    def flags_str(self) -> str:
        names = [n for f, n in _FLAG_NAMES_BEFORE if self.flags & f]
        if self.link.disconnected:
            names.append("disconnected")
        names += [n for f, n in _FLAG_NAMES_AFTER if self.flags & f]
        return ",".join(names)

    # ---- master helpers ----

    def set_failover_state(self, state: FailoverState) -> None:
        """Enter a failover state; failover_state_change_time is when."""
        self.failover_state = state
        self.failover_state_change_time = mstime()

    def current_address(self) -> Addr:
        """The address clients should use: the promoted replica's once the failover reached
        reconf_slaves (the promotion is acknowledged and the new epoch is ours)."""
        p = self.promoted_slave
        if (
            self.flags & Flag.FAILOVER_IN_PROGRESS
            and p is not None
            and self.failover_state >= FailoverState.RECONF_SLAVES
        ):
            return p.addr
        return self.addr

    def no_down_for(self, ms: int) -> bool:
        """No SDOWN/ODOWN began in the last ms milliseconds."""
        recent = max(self.s_down_since_time, self.o_down_since_time)
        return recent == 0 or mstime() - recent > ms

    def looks_sane(self, info_period: int) -> bool:
        """A master we may reconfigure replicas towards (sentinelMasterLooksSane)."""
        return (
            bool(self.flags & Flag.MASTER)
            and self.role_reported == Flag.MASTER
            and not self.flags & (Flag.S_DOWN | Flag.O_DOWN)
            and mstime() - self.info_refresh < info_period * 2
        )

    def map_command(self, command: str) -> str:
        """The name to send for a command, after the master's rename-command table."""
        owner = self.master if self.master is not None else self
        return owner.renamed_commands.get(command.lower(), command)
