"""The sentinel's state: masters, epochs, TILT, config persistence.

Sentinel holds what one sentinel process knows (its masters with their replicas and the other
sentinels, the current epoch, the TILT flag, the timings) and the operations on it that the
rest of the package shares: creating and looking up instances, resets and the address switch
of +switch-master, events. The periodic tick that drives monitoring, detection and failover
is timer.py (sentinel.c's sentinelTimer).

Every change that must survive a restart (myid, epochs, votes, discovered replicas and
sentinels, a new master address) is followed by flush_config(), which rewrites the config
file through config.rewrite_file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from pikadb.glob import stringmatch
from pikadb.log import log
from pikadb.sentinel import config as cfg
from pikadb.sentinel.events import NOTICE, WARNING, Events
from pikadb.sentinel.instance import Addr, FailoverState, Flag, Instance, InstanceError
from pikadb.sentinel.link import mstime

SIMFAILURE_CRASH_AFTER_ELECTION = 1 << 0
SIMFAILURE_CRASH_AFTER_PROMOTION = 1 << 1

RESET_NO_SENTINELS = 1 << 0
GENERATE_EVENT = 1 << 16


@dataclass
class Timings:
    """Sentinel's internal periods in milliseconds (SENTINEL DEBUG shows and sets them)."""

    info_period: int = 10000
    ping_period: int = 1000
    ask_period: int = 1000
    publish_period: int = 2000
    default_down_after: int = cfg.DEFAULT_DOWN_AFTER
    default_failover_timeout: int = cfg.DEFAULT_FAILOVER_TIMEOUT
    tilt_trigger: int = 2000
    tilt_period: int = 30000
    slave_reconf_timeout: int = 10000
    min_link_reconnect_period: int = 15000
    election_timeout: int = 10000
    script_max_runtime: int = 60000
    script_retry_delay: int = 30000

    def items(self) -> list[tuple[str, int]]:
        """(SENTINEL DEBUG name, value) in Redis's order."""
        return [(f.name.upper().replace("_", "-"), getattr(self, f.name)) for f in fields(self)]

    def set(self, name: str, value: int) -> bool:
        attr = name.lower().replace("-", "_")
        if attr not in {f.name for f in fields(self)}:
            return False
        setattr(self, attr, value)
        return True


class Sentinel:
    """One sentinel process's whole state."""

    def __init__(self, settings: cfg.SentinelSettings, config_path: str) -> None:
        self.config_path = config_path
        self.timings = Timings()
        self.port = settings.port
        self.bind = settings.bind
        self.requirepass = settings.requirepass
        self.myid = settings.myid
        self.current_epoch = settings.current_epoch
        self.announce_ip = settings.announce_ip
        self.announce_port = settings.announce_port
        self.announce_hostnames = settings.announce_hostnames
        self.resolve_hostnames = settings.resolve_hostnames
        self.deny_scripts_reconfig = settings.deny_scripts_reconfig
        self.sentinel_auth_user = settings.sentinel_user
        self.sentinel_auth_pass = settings.sentinel_pass
        self.masters: dict[str, Instance] = {}
        self.tilt = False
        self.tilt_start_time = 0
        self.previous_time = mstime()
        self.simfailure_flags = 0
        self.publisher = _NoPublisher()
        self.events = Events(self._publish, self.timings, lambda: self.announce_hostnames)
        self.stopping = False  # stop() was called: the timer (timer.run) ends
        for m in settings.masters.values():
            self._load_master(m)

    # ---- wiring ----

    def _publish(self, channel: str, message: str) -> None:
        self.publisher.publish(channel.encode(), message.encode("utf-8", "surrogateescape"))

    def emit(self, level: int, type_: str, ri: Instance | None, text: str = "%@") -> None:
        self.events.emit(level, type_, ri, text)

    # ---- instances ----

    def create_address(self, hostname: str, port: int, accept_unresolved: bool) -> Addr:
        if not 0 <= port <= 65535:
            raise InstanceError("Invalid port number.")
        ip = cfg.resolve(hostname, self.resolve_hostnames)
        if ip is None:
            log.warning(f"Failed to resolve hostname '{hostname}'")
            if self.resolve_hostnames and accept_unresolved:
                ip = ""
            else:
                raise InstanceError("Can't resolve instance hostname.")
        return Addr(hostname, ip, port)

    def create_instance(
        self,
        name: str | None,
        flags: Flag,
        hostname: str,
        port: int,
        quorum: int,
        master: Instance | None,
    ) -> Instance:
        """createSentinelRedisInstance: add a master, or a replica/sentinel of `master`.
        Replicas are named ip:port. Raises InstanceError with Redis's texts."""
        addr = self.create_address(hostname, port, True)
        if flags & Flag.SLAVE:
            name = Addr(hostname, self._announce(addr), port).name
        assert name is not None
        if flags & Flag.MASTER:
            table = self.masters
            dup = "Duplicate master name."
        elif flags & Flag.SLAVE:
            assert master is not None
            table = master.slaves
            dup = "Duplicate hostname and port for replica."
        else:
            assert master is not None
            table = master.sentinels
            dup = "Duplicate runid for sentinel."
        if name in table:
            raise InstanceError(dup)
        ri = Instance(
            name,
            flags,
            addr,
            quorum=quorum,
            master=master,
            down_after=self.timings.default_down_after,
        )
        ri.failover_timeout = self.timings.default_failover_timeout
        table[name] = ri
        return ri

    def _announce(self, addr: Addr) -> str:
        return addr.hostname if self.announce_hostnames else addr.ip

    def announce_addr(self, addr: Addr) -> str:
        return self._announce(addr)

    def _load_master(self, m: cfg.MasterSettings) -> None:
        ri = self.create_instance(m.name, Flag.MASTER, m.host, m.port, m.quorum, None)
        ri.down_after_period = m.down_after
        ri.failover_timeout = m.failover_timeout
        ri.parallel_syncs = m.parallel_syncs
        ri.notification_script = m.notification_script
        ri.client_reconfig_script = m.client_reconfig_script
        ri.auth_pass = m.auth_pass
        ri.auth_user = m.auth_user
        ri.master_reboot_down_after_period = m.master_reboot_down_after_period
        ri.config_epoch = m.config_epoch
        ri.leader_epoch = m.leader_epoch
        ri.renamed_commands = dict(m.renamed_commands)
        for host, port in m.known_replicas:
            self.create_instance(None, Flag.SLAVE, host, port, ri.quorum, ri)
        for host, port, runid in m.known_sentinels:
            si = self.create_instance(runid, Flag.SENTINEL, host, port, ri.quorum, ri)
            si.runid = runid

    def get_master(self, name: str) -> Instance | None:
        return self.masters.get(name)

    def lookup_slave(self, master: Instance, ip: str, port: int) -> Instance | None:
        try:
            addr = self.create_address(ip, port, False)
        except InstanceError:
            return None
        return master.slaves.get(Addr(ip, self._announce(addr), port).name)

    def sentinel_by_addr_and_runid(
        self, instances: dict[str, Instance], ip: str | None, port: int, runid: str | None
    ) -> Instance | None:
        """getSentinelRedisInstanceByAddrAndRunID: match by run id and/or address."""
        want: Addr | None = None
        if ip is not None:
            try:
                want = self.create_address(ip, port, True)
            except InstanceError:
                return None
        for ri in instances.values():
            if runid is not None and ri.runid is None:
                continue
            if runid is not None and ri.runid != runid:
                continue
            if want is not None and not (
                ri.addr.port == want.port
                and (ri.addr.ip == want.ip or ri.addr.hostname.lower() == want.hostname.lower())
            ):
                continue
            return ri
        return None

    def propagate_down_after_period(self, master: Instance) -> None:
        for ri in [*master.slaves.values(), *master.sentinels.values()]:
            ri.down_after_period = master.down_after_period

    def remove_master(self, master: Instance) -> None:
        self.masters.pop(master.name, None)
        self._release(master)

    def _release(self, ri: Instance) -> None:
        for child in [*ri.slaves.values(), *ri.sentinels.values()]:
            child.link.close()
        ri.slaves.clear()
        ri.sentinels.clear()
        ri.link.close()

    # ---- resets and address switch ----

    def reset_master(self, ri: Instance, flags: int) -> None:
        """sentinelResetMaster: forget replicas (and sentinels unless RESET_NO_SENTINELS),
        runtime flags and failover state, and reconnect."""
        for slave in ri.slaves.values():
            slave.link.close()
        ri.slaves = {}
        if not flags & RESET_NO_SENTINELS:
            for si in ri.sentinels.values():
                si.link.close()
            ri.sentinels = {}
        else:
            # What the other sentinels said (down, their leader) was about this master as
            # it was: kept, those votes would make one +sdown of the new master an instant
            # +odown (Redis clears them only after 5 ask periods without a reply).
            for si in ri.sentinels.values():
                si.flags &= ~Flag.MASTER_DOWN
                si.leader = None
        ri.link.close()
        ri.flags &= Flag.MASTER
        ri.leader = None
        ri.failover_state = FailoverState.NONE
        ri.failover_state_change_time = 0
        ri.failover_start_time = 0  # we can fail over again at once
        ri.promoted_slave = None
        ri.runid = None
        ri.slave_master_host = None
        ri.link.reset_times()
        ri.role_reported_time = mstime()
        ri.role_reported = Flag.MASTER
        if flags & GENERATE_EVENT:
            self.emit(WARNING, "+reset-master", ri)

    def reset_masters_by_pattern(self, pattern: bytes, flags: int) -> int:
        count = 0
        for ri in list(self.masters.values()):
            if stringmatch(pattern, ri.name.encode("utf-8", "surrogateescape")):
                self.reset_master(ri, flags)
                count += 1
        return count

    def reset_master_and_change_address(self, master: Instance, hostname: str, port: int) -> bool:
        """Used on +switch-master: same name, new address; every known replica except the
        new master, plus the old master, comes back as a replica."""
        try:
            newaddr = self.create_address(hostname, port, False)
        except InstanceError:
            return False
        keep = [
            Addr(s.addr.hostname, s.addr.ip, s.addr.port)
            for s in master.slaves.values()
            if not s.addr.same(newaddr)
        ]
        if not newaddr.same(master.addr):
            keep.append(Addr(master.addr.hostname, master.addr.ip, master.addr.port))
        self.reset_master(master, RESET_NO_SENTINELS)
        master.addr = newaddr
        master.o_down_since_time = 0
        master.s_down_since_time = 0
        for a in keep:
            try:
                slave = self.create_instance(
                    None, Flag.SLAVE, a.hostname, a.port, master.quorum, master
                )
            except InstanceError:
                continue
            self.emit(NOTICE, "+slave", slave)
        self.flush_config()
        return True

    # ---- config persistence ----

    def to_settings(self) -> cfg.SentinelSettings:
        s = cfg.SentinelSettings(
            port=self.port,
            myid=self.myid,
            current_epoch=self.current_epoch,
            announce_ip=self.announce_ip,
            announce_port=self.announce_port,
            announce_hostnames=self.announce_hostnames,
            resolve_hostnames=self.resolve_hostnames,
            deny_scripts_reconfig=self.deny_scripts_reconfig,
            sentinel_user=self.sentinel_auth_user,
            sentinel_pass=self.sentinel_auth_pass,
        )
        for master in self.masters.values():
            addr = master.current_address()
            m = cfg.MasterSettings(
                master.name,
                self._announce(addr),
                addr.port,
                master.quorum,
                down_after=master.down_after_period,
                failover_timeout=master.failover_timeout,
                parallel_syncs=master.parallel_syncs,
                notification_script=master.notification_script,
                client_reconfig_script=master.client_reconfig_script,
                auth_pass=master.auth_pass,
                auth_user=master.auth_user,
                master_reboot_down_after_period=master.master_reboot_down_after_period,
                config_epoch=master.config_epoch,
                leader_epoch=master.leader_epoch,
                renamed_commands=dict(master.renamed_commands),
            )
            for slave in master.slaves.values():
                # The promoted replica, during a failover, is saved under the old master's
                # address: the master line already carries the new one.
                a = master.addr if slave.addr.same(addr) else slave.addr
                m.known_replicas.append((self._announce(a), a.port))
            for si in master.sentinels.values():
                if si.runid is not None:
                    m.known_sentinels.append((self._announce(si.addr), si.addr.port, si.runid))
            s.masters[master.name] = m
        return s

    def flush_config(self) -> bool:
        try:
            cfg.rewrite_file(self.config_path, self.to_settings())
        except OSError as e:
            log.warning(
                "WARNING: Sentinel was not able to save the new configuration on disk!!!: "
                f"{e.strerror or e}"
            )
            return False
        log.notice("Sentinel new configuration saved on disk")
        return True

    # ---- startup and shutdown ----

    def start(self) -> None:
        """sentinelIsRunning: pick and persist an ID on first start, announce the masters."""
        if not self.myid:
            self.myid = os.urandom(20).hex()
            self.flush_config()
        log.warning(f"Sentinel ID is {self.myid}")
        for ri in self.masters.values():
            self.emit(WARNING, "+monitor", ri, f"%@ quorum {ri.quorum}")

    def stop(self) -> None:
        self.stopping = True
        for master in self.masters.values():
            self._release(master)

    def sim_failure_crash(self) -> None:
        log.warning("Sentinel CRASH because of SENTINEL simulate-failure")
        os._exit(99)


class _NoPublisher:
    def publish(self, channel: bytes, message: bytes) -> int:
        return 0
