"""The monitoring half: links, PING / INFO / hello cadence, and what their replies teach us.

Per instance and tick (Redis's sentinelReconnectInstance + sentinelSendPeriodicCommands):

* reconnect a missing link at most once per ping period; a new command link sends AUTH (if
  configured), CLIENT SETNAME sentinel-<first 8 of myid>-cmd and a PING at once; a new
  pub/sub link to a master or replica sends AUTH, CLIENT SETNAME ...-pubsub and SUBSCRIBE
  __sentinel__:hello;
* INFO to masters and replicas every info-period (10 s), every second for replicas of a master
  that is ODOWN or failing over, or that report their master link down;
* PING when the last reply is older than the ping period (1 s, or down-after-milliseconds if
  that is smaller), at most twice per period;
* a hello every publish-period (2 s) to masters, replicas and sentinels:
  `<ip>,<port>,<myid>,<current_epoch>,<master name>,<master ip>,<master port>,<config epoch>`.

INFO replies update the instance (run id, role, replication fields) and drive the reactions
Redis has there: discovering replicas (+slave), noticing the promoted replica turned master
(promotion_observed: +promoted-slave, the failover goes on to reconf_slaves), converting a
replica that claims to be a master back (+convert-to-slave), re-pointing a replica at the
wrong master (+fix-slave-config), and tracking replicas being reconfigured
(+slave-reconf-inprog, +slave-reconf-done).
Hello messages discover other sentinels (+sentinel), spread newer epochs (+new-epoch) and
newer master configurations (+config-update-from, +switch-master).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pikadb.replies import ReplyError
from pikadb.sentinel.events import NOTICE, VERBOSE, WARNING
from pikadb.sentinel.instance import Addr, FailoverState, Flag, Instance, InstanceError, parse_info
from pikadb.sentinel.link import mstime

if TYPE_CHECKING:
    from pikadb.sentinel.core import Sentinel

HELLO_CHANNEL = "__sentinel__:hello"
MAX_PENDING_COMMANDS = 100


def _connect_timeout(s: Sentinel) -> float:
    # Redis relies on the kernel's connect timeout; a stuck connect is given the time the link
    # recycling rule gives an idle link.
    return s.timings.min_link_reconnect_period / 1000.0


# ---- links ----


def _send_auth_if_needed(s: Sentinel, ri: Instance, conn) -> None:
    if ri.is_master:
        password, user = ri.auth_pass, ri.auth_user
    elif ri.is_slave:
        assert ri.master is not None
        password, user = ri.master.auth_pass, ri.master.auth_user
    elif s.sentinel_auth_pass:
        password, user = s.sentinel_auth_pass, s.sentinel_auth_user or None
    else:
        # Compatibility with old configs: requirepass authenticates both ways.
        password, user = s.requirepass or None, None
    if not password:
        return
    args = (
        [ri.map_command("AUTH"), password] if not user else [ri.map_command("AUTH"), user, password]
    )
    _counted_send(ri, conn, args)


def _counted_send(ri: Instance, conn, args: list, callback=None) -> None:
    link = ri.link
    if conn is link.cc:
        link.command(args, callback)
    else:
        conn.send(args, callback)


def _client_name(s: Sentinel, kind: str) -> str:
    return f"sentinel-{s.myid[:8]}-{kind}"


def reconnect_instance(s: Sentinel, ri: Instance) -> None:
    link = ri.link
    if not link.disconnected or ri.addr.port == 0:
        return
    now = mstime()
    if now - link.last_reconn_time < s.timings.ping_period:
        return
    link.last_reconn_time = now
    timeout = _connect_timeout(s)
    if link.cc is None:
        if s.resolve_hostnames:
            try:
                ri.addr = s.create_address(ri.addr.hostname, ri.addr.port, False)
            except InstanceError:  # keep the old address when it does not resolve
                pass
        cc = link.open_cc(ri.addr.ip, ri.addr.port, timeout)
        _send_auth_if_needed(s, ri, cc)
        link.command([ri.map_command("CLIENT"), "SETNAME", _client_name(s, "cmd")])
        send_ping(s, ri)
    if ri.flags & (Flag.MASTER | Flag.SLAVE) and link.pc is None:

        def on_message(reply: Any, ri: Instance = ri) -> None:
            receive_hello_message(s, ri, reply)

        pc = link.open_pc(ri.addr.ip, ri.addr.port, timeout, on_message)
        _send_auth_if_needed(s, ri, pc)
        pc.send([ri.map_command("CLIENT"), "SETNAME", _client_name(s, "pubsub")])
        pc.send([ri.map_command("SUBSCRIBE"), HELLO_CHANNEL])
    if link.cc is not None and (ri.is_sentinel or link.pc is not None):
        link.disconnected = False


# ---- periodic commands ----


def send_ping(s: Sentinel, ri: Instance) -> bool:
    def on_reply(reply: Any) -> None:
        ping_reply(s, ri, reply)

    if not ri.link.command([ri.map_command("PING")], on_reply):
        return False
    link = ri.link
    link.last_ping_time = mstime()
    # While a PING is unanswered we keep measuring from the first one.
    if link.act_ping_time == 0:
        link.act_ping_time = link.last_ping_time
    return True


def ping_reply(s: Sentinel, ri: Instance, reply: Any) -> None:
    link = ri.link
    if isinstance(reply, str):  # a status or an error
        if reply.startswith(("PONG", "LOADING", "MASTERDOWN")):
            link.last_avail_time = mstime()
            link.act_ping_time = 0
            if ri.flags & Flag.MASTER_REBOOT and reply.startswith("PONG"):
                ri.flags &= ~Flag.MASTER_REBOOT
        elif (
            isinstance(reply, ReplyError)
            and reply.startswith("BUSY")
            and ri.flags & Flag.S_DOWN
            and not ri.flags & Flag.SCRIPT_KILL_SENT
        ):
            # Down because of a busy script: try to unblock it, once.
            link.command([ri.map_command("SCRIPT"), "KILL"])
            ri.flags |= Flag.SCRIPT_KILL_SENT
    link.last_pong_time = mstime()


def send_periodic_commands(s: Sentinel, ri: Instance) -> None:
    link = ri.link
    if link.disconnected:
        return
    if link.pending_commands >= MAX_PENDING_COMMANDS * link.refcount:
        return
    now = mstime()
    t = s.timings
    master = ri.master
    if (
        ri.is_slave
        and master is not None
        and (
            master.flags & (Flag.O_DOWN | Flag.FAILOVER_IN_PROGRESS)
            or ri.master_link_down_time != 0
        )
    ):
        info_period = 1000
    else:
        info_period = t.info_period
    ping_period = min(ri.down_after_period, t.ping_period)
    if not ri.is_sentinel and (ri.info_refresh == 0 or now - ri.info_refresh > info_period):
        send_info(s, ri)
    if now - link.last_pong_time > ping_period and now - link.last_ping_time > ping_period / 2:
        send_ping(s, ri)
    # A write-paused (fenced) master would block PUBLISH, and every command queued behind it
    # on this link, the demotion included: no hello to it until the failover moves on.
    if now - ri.last_pub_time > t.publish_period and not ri.flags & Flag.FENCED:
        send_hello(s, ri)


def send_info(s: Sentinel, ri: Instance) -> bool:
    def on_reply(reply: Any) -> None:
        if isinstance(reply, bytes):
            refresh_instance_info(s, ri, reply.decode("utf-8", "replace"))

    return ri.link.command([ri.map_command("INFO")], on_reply)


# ---- INFO ----


def refresh_instance_info(s: Sentinel, ri: Instance, info: str) -> None:
    """sentinelRefreshInstanceInfo: the monitoring half, then (outside TILT) the acting half."""
    ri.info = info
    rep = parse_info(info)
    ri.master_link_down_time = 0
    if rep.run_id is not None:
        if ri.runid is None:
            ri.runid = rep.run_id
        elif ri.runid != rep.run_id:
            s.emit(NOTICE, "+reboot", ri)
            if ri.is_master and ri.master_reboot_down_after_period != 0:
                ri.flags |= Flag.MASTER_REBOOT
                ri.master_reboot_since_time = mstime()
            ri.runid = rep.run_id
    if ri.is_master:
        for ip, port in rep.replicas:
            if s.lookup_slave(ri, ip, port) is None:
                try:
                    slave = s.create_instance(None, Flag.SLAVE, ip, port, ri.quorum, ri)
                except InstanceError:  # an unresolvable address is skipped
                    continue
                s.emit(NOTICE, "+slave", slave)
                s.flush_config()
    ri.master_link_down_time = rep.master_link_down_time
    if rep.master_repl_offset is not None:
        ri.master_repl_offset = rep.master_repl_offset
    role = rep.role
    if role == Flag.SLAVE:
        if rep.master_host is not None and (
            ri.slave_master_host is None or rep.master_host.lower() != ri.slave_master_host.lower()
        ):
            ri.slave_master_host = rep.master_host
            ri.slave_conf_change_time = mstime()
        if rep.master_port is not None and rep.master_port != ri.slave_master_port:
            ri.slave_master_port = rep.master_port
            ri.slave_conf_change_time = mstime()
        if rep.master_link_up is not None:
            ri.slave_master_link_up = rep.master_link_up
        if rep.slave_priority is not None:
            ri.slave_priority = rep.slave_priority
        if rep.slave_repl_offset is not None:
            ri.slave_repl_offset = rep.slave_repl_offset
        if rep.replica_announced is not None:
            ri.replica_announced = rep.replica_announced
    ri.info_refresh = mstime()

    # ---- acting half ----
    if role != ri.role_reported:
        ri.role_reported_time = mstime()
        ri.role_reported = role
        if role == Flag.SLAVE:
            ri.slave_conf_change_time = mstime()
        coherent = (ri.flags & (Flag.MASTER | Flag.SLAVE)) == role
        s.emit(
            VERBOSE,
            "+role-change" if coherent else "-role-change",
            ri,
            f"%@ new reported role is {'master' if role == Flag.MASTER else 'slave'}",
        )
    if s.tilt:
        return
    master = ri.master
    # A master claiming to be a replica needs nothing here: it is seen as down eventually.
    if ri.is_slave and role == Flag.MASTER and master is not None:
        if (
            ri.flags & Flag.PROMOTED
            and master.flags & Flag.FAILOVER_IN_PROGRESS
            and master.failover_state == FailoverState.WAIT_PROMOTION
        ):
            promotion_observed(s, master, ri)
        else:
            # A replica turned master on its own: after a while, if our master looks fine,
            # make it a replica again (other sentinels may still tell us of a newer config).
            wait = s.timings.publish_period * 4
            if (
                not ri.flags & Flag.PROMOTED
                and master.looks_sane(s.timings.info_period)
                and ri.no_down_for(wait)
                and mstime() - ri.role_reported_time > wait
                and send_slaveof(s, ri, master.addr)
            ):
                s.emit(NOTICE, "+convert-to-slave", ri)
    if (
        ri.is_slave
        and role == Flag.SLAVE
        and master is not None
        and (
            ri.slave_master_port != master.addr.port
            or not addr_equals_hostname(s, master.addr, ri.slave_master_host)
        )
    ):
        wait = master.failover_timeout
        if (
            master.looks_sane(s.timings.info_period)
            and ri.no_down_for(wait)
            and mstime() - ri.slave_conf_change_time > wait
            and send_slaveof(s, ri, master.addr)
        ):
            s.emit(NOTICE, "+fix-slave-config", ri)
    if (
        ri.is_slave
        and role == Flag.SLAVE
        and master is not None
        and ri.flags & (Flag.RECONF_SENT | Flag.RECONF_INPROG)
    ):
        promoted = master.promoted_slave
        if (
            ri.flags & Flag.RECONF_SENT
            and promoted is not None
            and ri.slave_master_host
            and addr_equals_hostname(s, promoted.addr, ri.slave_master_host)
            and ri.slave_master_port == promoted.addr.port
        ):
            ri.flags &= ~Flag.RECONF_SENT
            ri.flags |= Flag.RECONF_INPROG
            s.emit(NOTICE, "+slave-reconf-inprog", ri)
        if ri.flags & Flag.RECONF_INPROG and ri.slave_master_link_up:
            ri.flags &= ~Flag.RECONF_INPROG
            ri.flags |= Flag.RECONF_DONE
            s.emit(NOTICE, "+slave-reconf-done", ri)


def promotion_observed(s: Sentinel, master: Instance, slave: Instance) -> None:
    """The promoted replica reports role:master: our epoch becomes the master's config
    epoch (the other sentinels will follow it) and we reconfigure the rest."""
    master.config_epoch = master.failover_epoch
    master.set_failover_state(FailoverState.RECONF_SLAVES)
    s.flush_config()
    s.emit(WARNING, "+promoted-slave", slave)
    if s.simfailure_flags & 2:  # crash-after-promotion
        s.sim_failure_crash()
    s.emit(WARNING, "+failover-state-reconf-slaves", master)
    if master.flags & Flag.FENCED and send_slaveof(s, master, slave.addr, unpause=True):
        s.emit(
            WARNING,
            "+demote-old-master",
            master,
            f"%@ #replicaof {s.announce_addr(slave.addr)} {slave.addr.port}",
        )
    s.events.client_reconfig(
        master,
        True,
        "start",
        (s.announce_addr(master.addr), master.addr.port),
        (s.announce_addr(slave.addr), slave.addr.port),
    )
    force_hello_update(s, master)


def addr_equals_hostname(s: Sentinel, addr: Addr, hostname: str | None) -> bool:
    if hostname is None:
        return False
    try:
        other = s.create_address(hostname, addr.port, False)
    except InstanceError:
        return False
    return addr.ip.lower() == other.ip.lower()


# ---- SLAVEOF ----


def send_slaveof(s: Sentinel, ri: Instance, addr: Addr | None, unpause: bool = False) -> bool:
    """Reconfigure an instance in one transaction, as Redis does: SLAVEOF (NO ONE when addr
    is None), CONFIG REWRITE, and CLIENT KILL TYPE normal / pubsub so that clients reconnect
    and ask the sentinels for the master again. Replies are ignored: INFO shows the effect.
    unpause (a fenced old master) ends its write pause in the same transaction: from then on
    it is a replica and refuses writes by itself."""
    if addr is None:
        host, port = "NO", "ONE"
    else:
        host, port = s.announce_addr(addr), str(addr.port)
    link = ri.link
    if link.cc is None or link.cc.closed:
        return False
    link.command([ri.map_command("MULTI")])
    link.command([ri.map_command("SLAVEOF"), host, port])
    link.command([ri.map_command("CONFIG"), "REWRITE"])
    for kind in ("normal", "pubsub"):
        link.command([ri.map_command("CLIENT"), "KILL", "TYPE", kind])
    if unpause:
        link.command([ri.map_command("CLIENT"), "UNPAUSE"])
    link.command([ri.map_command("EXEC")])
    return True


# ---- hello messages ----


def send_hello(s: Sentinel, ri: Instance) -> bool:
    master = ri if ri.is_master else ri.master
    assert master is not None
    link = ri.link
    if link.disconnected or link.cc is None:
        return False
    if s.announce_ip:
        ip = s.announce_ip
    else:
        ip = link.cc.local_ip
        if ip is None:
            return False
    port = s.announce_port or s.port
    maddr = master.current_address()
    payload = (
        f"{ip},{port},{s.myid},{s.current_epoch},"
        f"{master.name},{s.announce_addr(maddr)},{maddr.port},{master.config_epoch}"
    )

    def on_reply(reply: Any) -> None:
        # Only a delivered hello counts; on error we retry on the next tick.
        if not isinstance(reply, ReplyError):
            ri.last_pub_time = mstime()

    return link.command([ri.map_command("PUBLISH"), HELLO_CHANNEL, payload], on_reply)


def force_hello_update(s: Sentinel, master: Instance) -> None:
    """Make the next tick send hellos for master everywhere (a new config spreads faster)."""
    if not master.is_master:
        return
    step = s.timings.publish_period + 1
    for ri in [master, *master.sentinels.values(), *master.slaves.values()]:
        if ri.last_pub_time >= step:
            ri.last_pub_time -= step


def receive_hello_message(s: Sentinel, ri: Instance, reply: Any) -> None:
    ri.link.pc_last_activity = mstime()
    if (
        not isinstance(reply, list)
        or len(reply) != 3
        or not all(isinstance(x, bytes) for x in reply)
        or reply[0] != b"message"
    ):
        return
    text = reply[2].decode("utf-8", "surrogateescape")
    if s.myid in text:
        return  # our own hello
    process_hello(s, text)


def process_hello(s: Sentinel, hello: str) -> None:
    """sentinelProcessHelloMessage: 8 comma-separated tokens, else ignored."""
    token = hello.split(",")
    if len(token) != 8:
        return
    master = s.get_master(token[4])
    if master is None:
        return
    from pikadb.sentinel.config import atoi, strtoull

    port = atoi(token[1])
    master_port = atoi(token[6])
    si = s.sentinel_by_addr_and_runid(master.sentinels, token[0], port, token[2])
    current_epoch = strtoull(token[3])
    master_config_epoch = strtoull(token[7])
    if si is None:
        # A known run id at a new address: drop the old entry, re-add with the new address.
        removed = _remove_sentinel_by_runid(master, token[2])
        if removed:
            s.emit(
                NOTICE,
                "+sentinel-address-switch",
                master,
                f"%@ ip {token[0]} port {port} for {token[2]}",
            )
        else:
            other = s.sentinel_by_addr_and_runid(master.sentinels, token[0], port, None)
            if other is not None:
                # Another run id at that address: it is gone (restarted with a new id).
                s.emit(NOTICE, "+sentinel-invalid-addr", other)
                obsolete = other.runid
                if obsolete is not None:
                    for m in s.masters.values():
                        _remove_sentinel_by_runid(m, obsolete)
        try:
            si = s.create_instance(token[2], Flag.SENTINEL, token[0], port, master.quorum, master)
        except InstanceError:
            si = None
        if si is not None:
            if not removed:
                s.emit(NOTICE, "+sentinel", si)
            si.runid = token[2]
            if removed:
                _update_sentinel_address_in_all_masters(s, si)
            s.flush_config()
    if current_epoch > s.current_epoch:
        s.current_epoch = current_epoch
        s.flush_config()
        s.emit(WARNING, "+new-epoch", master, str(s.current_epoch))
    if si is not None and master.config_epoch < master_config_epoch:
        master.config_epoch = master_config_epoch
        if master_port != master.addr.port or not addr_equals_hostname(s, master.addr, token[5]):
            s.emit(WARNING, "+config-update-from", si)
            s.emit(
                WARNING,
                "+switch-master",
                master,
                f"{master.name} {s.announce_addr(master.addr)} {master.addr.port} "
                f"{token[5]} {master_port}",
            )
            old = (s.announce_addr(master.addr), master.addr.port)
            s.reset_master_and_change_address(master, token[5], master_port)
            s.events.client_reconfig(
                master, False, "start", old, (s.announce_addr(master.addr), master.addr.port)
            )
    if si is not None:
        si.last_hello_time = mstime()


def _remove_sentinel_by_runid(master: Instance, runid: str | None) -> int:
    if runid is None:
        return 0
    removed = 0
    for name, ri in list(master.sentinels.items()):
        if ri.runid == runid:
            ri.link.close()
            del master.sentinels[name]
            removed += 1
    return removed


def _update_sentinel_address_in_all_masters(s: Sentinel, ri: Instance) -> None:
    reconfigured = 0
    for master in s.masters.values():
        match = s.sentinel_by_addr_and_runid(master.sentinels, None, 0, ri.runid)
        if match is None:
            continue
        match.link.close()
        if match is ri:
            continue
        match.addr = Addr(ri.addr.hostname, ri.addr.ip, ri.addr.port)
        reconfigured += 1
    if reconfigured:
        s.emit(
            NOTICE,
            "+sentinel-address-update",
            ri,
            f"%@ {reconfigured} additional matching instances",
        )
