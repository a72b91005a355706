"""Destination rules end to end (README "Destinations", PROTOCOL.md 7.17 and 8.13): socks5d
started with a configuration file (-C) whose `rules` section names each field alone — user,
role, from, to, domain, port and port range, command — and a few combined; first-match order;
the safe defaults, which only an allow rule whose `to` holds the address lifts; reload.

Every denial is checked the whole way: REP 0x02, no connection reached the listener the request
named, a log line naming the rule's number and name, and one more in the global `rule_denials`,
in the user's user-metrics `rule_denials` and in that rule's `hits` (and in no other rule's).
Real clients besides the raw ones: curl --socks5-hostname, PySocks, socks5ctl. No name is ever
looked up by a DNS server: names that no rule denies are localhost (from /etc/hosts) or carry a
label over 63 characters, which glibc refuses before sending any query."""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import (ADMIN_PASSWORD, ADMIN_STATUS_OK, ADMIN_USER, CMD_BIND, CMD_CONNECT,
                     CMD_UDP_ASSOCIATE, REP_CONNECTION_REFUSED, REP_HOST_UNREACHABLE,
                     REP_SUCCESS, TEST_PASSWORD, TEST_USER, AdminClient, EchoServer, HttpServer,
                     Socks5dProcess)
from test_socks5_udp import UdpEchoServer, parse_udp_reply, udp_header

try:
    import socks
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")  # python3-socks, seen from any python3
    import socks

REP_NOT_ALLOWED = 0x02
ADMIN_CMD_USER_METRICS = 0x04
ADMIN_CMD_RULES = 0x10
# bob and carol are regular users beside alice; root (SOCKS5D_ADMIN) has the admin role.
BOB, BOB_PASSWORD = "bob", "bob-pass-1"
CAROL, CAROL_PASSWORD = "carol", "carol-pass-1"
USERS = ((TEST_USER, TEST_PASSWORD), (BOB, BOB_PASSWORD), (CAROL, CAROL_PASSWORD))
PASSWORDS = dict(USERS + ((ADMIN_USER, ADMIN_PASSWORD),))
# Under a denied suffix; without a rule its lookup fails locally (the label is over 63).
LONG_LABEL = "a" * 70
QUIET = 0.5  # how long "nothing arrives" is waited for (UDP)
SETTLE = 0.05  # a connect the server made would be accepted by then (it precedes the reply)
LOG_TIMEOUT = 10.0


def wait_for(predicate, timeout=LOG_TIMEOUT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def spelled(target, port):
    """The destination as the server's log writes it."""
    if isinstance(target, bytes):
        return "%s:%d" % (target.decode(), port)
    return harness.format_endpoint(target, port)


def str8(text):
    data = text.encode()
    return bytes([len(data)]) + data


def bind_port_block(count=3, attempts=100):
    """Echo listeners (127.0.0.1) on count consecutive ports: [socket], first port."""
    for _ in range(attempts):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count > 65535:
            continue
        block = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                block.append(sock)
                sock.bind(("127.0.0.1", port))
                sock.listen(16)
            return block, first
        except OSError:
            for sock in block:
                sock.close()
    raise OSError("no %d consecutive free ports on 127.0.0.1" % count)


def pending(listeners):
    """How many of listeners have a connection waiting."""
    ready, _, _ = select.select(listeners, [], [], 0)
    return len(ready)


class UdpAssociation:
    """A raw UDP ASSOCIATE of one user: the control connection, the relay, a UDP socket."""

    def __init__(self, server, user, password):
        self.control = harness.connect_proxy(server)
        harness.negotiate(self.control, user, password)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.control.sendall(harness.request("0.0.0.0", 0, command=CMD_UDP_ASSOCIATE))
        reply = harness.read_reply(self.control)
        if reply[1] != REP_SUCCESS:
            self.close()
            raise AssertionError("UDP ASSOCIATE answered %d" % reply[1])
        self.relay = (reply[4], reply[5])

    def send(self, host, port, payload):
        self.udp.sendto(udp_header(host, port) + payload, self.relay)

    def receive(self, timeout):
        """(host, port, payload) of the next datagram, None if none comes within timeout."""
        self.udp.settimeout(timeout)
        try:
            datagram, _ = self.udp.recvfrom(70000)
        except socket.timeout:
            return None
        return parse_udp_reply(datagram)

    def close(self):
        self.control.close()
        self.udp.close()


class RulesServerCase(unittest.TestCase):
    """One socks5d per class, started with a configuration file whose rules RULES gives (a
    format string over the class's ports); alice, bob, carol and the admin root log in."""

    RULES = ""
    ALLOW_LOOPBACK = True

    @classmethod
    def setUpClass(cls):
        harness.raise_fd_limit()
        cls.directory = tempfile.mkdtemp(prefix="socks5d-rules-")
        cls.config = os.path.join(cls.directory, "socks5d.conf")
        cls.trap = EchoServer().start()  # 127.0.0.1 and ::1, one port
        cls.udp_echo = UdpEchoServer().start()
        cls.prepare()
        cls.write_rules(cls.RULES % cls.ports())
        cls.server = Socks5dProcess("-C", cls.config, users=USERS,
                                    allow_loopback=cls.ALLOW_LOOPBACK)
        try:
            cls.server.start()
        except BaseException:
            cls.release()
            raise

    @classmethod
    def prepare(cls):
        """More upstream servers for a class's rules."""

    @classmethod
    def ports(cls):
        return {"trap": cls.trap.port, "udp": cls.udp_echo.port}

    @classmethod
    def write_rules(cls, rules):
        with open(cls.config, "w") as handle:
            handle.write("workers = 2;\nrules = (\n%s\n);\n" % rules)

    @classmethod
    def release(cls):
        cls.trap.stop()
        cls.udp_echo.stop()
        shutil.rmtree(cls.directory, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_class_server(cls.server)
        finally:
            cls.release()

    def setUp(self):
        self.admin = AdminClient(self.server)
        self.addCleanup(self.admin.close)

    # -- what the server says -------------------------------------------------------------

    def user_denials(self, user):
        status, body = self.admin.request(ADMIN_CMD_USER_METRICS, str8(user))
        self.assertEqual(status, ADMIN_STATUS_OK, body)
        return harness.parse_admin_record(body)["rule_denials"]

    def rules(self):
        """(record, [row dict]) of the rules listing."""
        status, body = self.admin.request(ADMIN_CMD_RULES)
        self.assertEqual(status, ADMIN_STATUS_OK, body)
        record = harness.parse_admin_record(body)
        lines = body.decode().split("\n\n", 1)[1].splitlines()
        columns = lines[0].split("\t")
        rows = [dict(zip(columns, (int(c) if c.isdigit() else c for c in line.split("\t"))))
                for line in lines[1:]]
        return record, rows

    def hits(self):
        return [row["hits"] for row in self.rules()[1]]

    def counts(self, user):
        """Everything a denial moves: global metrics, the user's denials, each rule's hits."""
        return self.admin.metrics(), self.user_denials(user), self.hits()

    def log_lines(self, pattern):
        return re.findall(pattern, self.server.stderr_text(), re.MULTILINE)

    # -- requests ---------------------------------------------------------------------------

    def connect(self, user=TEST_USER, source=None, family=socket.AF_INET):
        host, port = self.server.endpoint_for(family)
        sock = socket.create_connection((host, port), timeout=harness.SOCKET_TIMEOUT,
                                        source_address=(source, 0) if source else None)
        sock.settimeout(harness.SOCKET_TIMEOUT)
        harness.negotiate(sock, user, PASSWORDS[user])
        return sock

    def reply_to(self, target, port, user=TEST_USER, source=None, command=CMD_CONNECT):
        """(REP, socket) of a request (CONNECT, BIND) for target (str literal, or bytes: a
        name); the caller closes the socket."""
        sock = self.connect(user, source)
        try:
            if isinstance(target, bytes):
                sock.sendall(harness.request_domain(target, port, command))
            else:
                sock.sendall(harness.request(target, port, command))
            return harness.read_reply(sock)[1], sock
        except BaseException:
            sock.close()
            raise

    def assert_denied(self, target, port, rule, name, user=TEST_USER, source=None,
                      listeners=(), at=None, command=CMD_CONNECT):
        """A CONNECT refused by rule number `rule` (named `name`; None: a safe default with
        that reason), and everything that says so. listeners: other sockets that must not be
        reached beside the trap; at: the address the log names (after a lookup; "" for none,
        a denial before any lookup; None: not checked)."""
        if at is None:
            at_pattern = r"(?: at \S+)?"
        else:
            at_pattern = (r" at " + re.escape(harness.format_endpoint(at, port))) if at else ""
        if name is None:
            what = r"by default \(%s\)" % re.escape(rule)
        else:
            what = r"by rule %d %s" % (rule, re.escape(name))
        line = (r"connection \d+: user %s to %s%s denied %s$"
                % (re.escape(user), re.escape(spelled(target, port)),
                   at_pattern, what))
        logged = len(self.log_lines(line))
        before_metrics, before_user, before_hits = self.counts(user)
        trap_before = len(self.trap.peers)
        rep, sock = self.reply_to(target, port, user, source, command)
        sock.close()
        self.assertEqual(rep, REP_NOT_ALLOWED, "%r:%d for %s answered %d"
                         % (target, port, user, rep))
        time.sleep(SETTLE)
        self.assertEqual(len(self.trap.peers), trap_before, "the trap was reached")
        self.assertEqual(pending(list(listeners)), 0, "a listener was reached")
        after_metrics, after_user, after_hits = self.counts(user)
        self.assertEqual(after_metrics["rule_denials"] - before_metrics["rule_denials"], 1)
        self.assertEqual(after_user - before_user, 1, "%s's rule_denials" % user)
        expected_hits = list(before_hits)
        if name is not None:
            expected_hits[rule - 1] += 1
        self.assertEqual(after_hits, expected_hits, "hits per rule")
        self.assertTrue(wait_for(lambda: len(self.log_lines(line)) > logged),
                        "no log line %r; stderr tail:\n%s"
                        % (line, self.server.stderr_text()[-3000:]))

    def assert_allowed(self, target, port, user=TEST_USER, source=None, rule=None):
        """A CONNECT to the trap that succeeds and echoes; it reached the trap. rule: the
        number of the allow rule that decided it (one more hit), else no hit moves."""
        before_metrics, before_user, before_hits = self.counts(user)
        trap_before = len(self.trap.peers)
        rep, sock = self.reply_to(target, port, user, source)
        with sock:
            self.assertEqual(rep, REP_SUCCESS, "%r:%d for %s answered %d"
                             % (target, port, user, rep))
            sock.sendall(b"allowed\n")
            self.assertEqual(harness.recv_exact(sock, 8), b"allowed\n")
        self.assertEqual(len(self.trap.peers), trap_before + 1, "the trap was not reached")
        after_metrics, after_user, after_hits = self.counts(user)
        self.assertEqual(after_metrics["rule_denials"], before_metrics["rule_denials"])
        self.assertEqual(after_user, before_user)
        expected_hits = list(before_hits)
        if rule is not None:
            expected_hits[rule - 1] += 1
        self.assertEqual(after_hits, expected_hits, "hits per rule")

    def associate(self, user=TEST_USER):
        association = UdpAssociation(self.server, user, PASSWORDS[user])
        self.addCleanup(association.close)
        return association


class EachField(RulesServerCase):
    """Each field alone (user, role, from, port, port range, command: connect, udp, bind),
    then combined, and what a name no rule denies gets (its lookup fails, locally)."""

    RULES = """
  { name = "no-bob"; action = "deny"; user = "bob"; },
  { name = "no-admins"; action = "deny"; role = "admin"; },
  { name = "not-from-2"; action = "deny"; from = "127.0.0.2/32"; },
  { name = "one-port"; action = "deny"; port = %(one)d; },
  { name = "port-range"; action = "deny"; port = "%(first)d-%(last)d"; },
  { name = "carol-connect"; action = "deny"; user = [ "carol" ]; command = "connect";
    port = %(combined)d; },
  { name = "carol-udp"; action = "allow"; user = "carol"; command = "udp"; },
  { name = "no-udp"; action = "deny"; command = "udp"; },
  { name = "carol-bind"; action = "allow"; user = "carol"; command = "bind"; },
  { name = "no-bind"; action = "deny"; command = "bind"; }"""

    @classmethod
    def prepare(cls):
        cls.one = EchoServer().start()
        cls.combined = EchoServer().start()
        cls.block, cls.first = bind_port_block()

    @classmethod
    def ports(cls):
        return dict(super().ports(), one=cls.one.port, combined=cls.combined.port,
                    first=cls.first, last=cls.first + len(cls.block) - 1)

    @classmethod
    def release(cls):
        cls.one.stop()
        cls.combined.stop()
        for sock in cls.block:
            sock.close()
        super().release()

    def test_the_rules_as_listed(self):
        record, rows = self.rules()
        self.assertEqual(record["total"], 10)
        self.assertEqual(record["allow_loopback"], "yes")
        self.assertEqual([(row["number"], row["name"], row["action"]) for row in rows[:3]],
                         [(1, "no-bob", "deny"), (2, "no-admins", "deny"),
                          (3, "not-from-2", "deny")])
        self.assertEqual(rows[0]["rule"], "deny name=no-bob user=bob")
        self.assertEqual(rows[4]["rule"], "deny name=port-range port=%d-%d"
                         % (self.first, self.first + 2))
        self.assertEqual(rows[5]["rule"], "deny name=carol-connect user=carol port=%d "
                         "command=connect" % self.combined.port)

    def test_user(self):
        self.assert_denied("127.0.0.1", self.trap.port, 1, "no-bob", user=BOB)
        self.assert_denied("::1", self.trap.port, 1, "no-bob", user=BOB)
        self.assert_allowed("127.0.0.1", self.trap.port, user=TEST_USER)
        self.assert_allowed("127.0.0.1", self.trap.port, user=CAROL)

    def test_user_through_pysocks(self):
        before = self.user_denials(BOB)
        client = socks.socksocket(socket.AF_INET, socket.SOCK_STREAM)
        client.settimeout(harness.SOCKET_TIMEOUT)
        client.set_proxy(socks.SOCKS5, self.server.host, self.server.port, username=BOB,
                         password=BOB_PASSWORD)
        with client, self.assertRaises(socks.ProxyError) as caught:
            client.connect(("127.0.0.1", self.trap.port))
        self.assertIn("0x02", str(caught.exception))
        self.assertEqual(self.user_denials(BOB), before + 1)
        allowed = socks.socksocket(socket.AF_INET, socket.SOCK_STREAM)
        allowed.settimeout(harness.SOCKET_TIMEOUT)
        allowed.set_proxy(socks.SOCKS5, self.server.host, self.server.port,
                          username=TEST_USER, password=TEST_PASSWORD)
        with allowed:
            allowed.connect(("127.0.0.1", self.trap.port))
            allowed.sendall(b"pysocks\n")
            self.assertEqual(harness.recv_exact(allowed, 8), b"pysocks\n")

    def test_role(self):
        self.assert_denied("127.0.0.1", self.trap.port, 2, "no-admins", user=ADMIN_USER)
        self.assert_allowed("127.0.0.1", self.trap.port, user=TEST_USER)

    def test_from(self):
        self.assert_denied("127.0.0.1", self.trap.port, 3, "not-from-2", source="127.0.0.2")
        self.assert_allowed("127.0.0.1", self.trap.port, source="127.0.0.1")

    def test_port(self):
        self.assert_denied("127.0.0.1", self.one.port, 4, "one-port",
                           listeners=self.one.listeners)
        self.assert_allowed("127.0.0.1", self.trap.port)

    def test_port_range_edges(self):
        last = self.first + len(self.block) - 1
        for port in range(self.first, last + 1):
            self.assert_denied("127.0.0.1", port, 5, "port-range", listeners=self.block)
        # Just outside the range the rule does not decide: nothing listens there (or
        # something does), but the verdict is the connect's, never the rule's.
        for port in (self.first - 1, last + 1):
            if port == self.trap.port:
                continue
            rep, sock = self.reply_to("127.0.0.1", port)
            sock.close()
            self.assertIn(rep, (REP_SUCCESS, REP_CONNECTION_REFUSED), "port %d" % port)

    def test_command_and_user_combined(self):
        # carol's CONNECT to that port: every field matches.
        self.assert_denied("127.0.0.1", self.combined.port, 6, "carol-connect", user=CAROL,
                           listeners=self.combined.listeners)
        # Another user, or another port: one field does not match, the rule does not decide.
        rep, sock = self.reply_to("127.0.0.1", self.combined.port, TEST_USER)
        with sock:
            self.assertEqual(rep, REP_SUCCESS)
        self.assert_allowed("127.0.0.1", self.trap.port, user=CAROL)

    def test_udp_destination_denied_per_association_and_connect_allowed(self):
        association = self.associate(TEST_USER)
        metrics, user_before, hits = self.counts(TEST_USER)
        received = self.udp_echo.received
        for payload in (b"one", b"two"):
            association.send("127.0.0.1", self.udp_echo.port, payload)
        self.assertIsNone(association.receive(QUIET), "a denied datagram was answered")
        self.assertEqual(self.udp_echo.received, received, "a denied datagram went out")
        after, user_after, hits_after = self.counts(TEST_USER)
        self.assertEqual(after["udp_dropped_policy"] - metrics["udp_dropped_policy"], 2)
        # The verdict is taken once per destination and remembered by the association.
        self.assertEqual(after["rule_denials"] - metrics["rule_denials"], 1)
        self.assertEqual(user_after - user_before, 1)
        expected = list(hits)
        expected[7] += 1
        self.assertEqual(hits_after, expected)
        line = (r"connection \d+: user alice to \S+ at 127\.0\.0\.1:%d denied by rule 8 no-udp$"
                % self.udp_echo.port)
        self.assertTrue(wait_for(lambda: self.log_lines(line)),
                        "no log line %r; stderr tail:\n%s"
                        % (line, self.server.stderr_text()[-3000:]))
        # A CONNECT to the same address is no UDP.
        self.assert_allowed("127.0.0.1", self.trap.port)

    def test_udp_allowed_by_an_earlier_rule(self):
        association = self.associate(CAROL)
        hits = self.hits()
        association.send("127.0.0.1", self.udp_echo.port, b"carol's")
        self.assertEqual(association.receive(harness.SOCKET_TIMEOUT),
                         ("127.0.0.1", self.udp_echo.port, b"carol's"))
        expected = list(hits)
        expected[6] += 1
        self.assertEqual(self.hits(), expected)

    def test_bind_denied_and_allowed_by_an_earlier_rule(self):
        self.assert_denied("127.0.0.1", 0, 10, "no-bind", command=CMD_BIND)
        # Any peer (DST.ADDR zero): no safe default applies, the rules still judge it.
        self.assert_denied("0.0.0.0", 0, 10, "no-bind", command=CMD_BIND)
        # carol's BIND is let through by rule 9: a rendezvous, a peer, bytes both ways.
        hits = self.hits()
        with self.connect(CAROL) as client:
            client.sendall(harness.request("127.0.0.1", 0, CMD_BIND))
            first = harness.read_reply(client)
            self.assertEqual(first[1], REP_SUCCESS)
            with socket.create_connection((first[4], first[5]),
                                          timeout=harness.SOCKET_TIMEOUT) as peer:
                second = harness.read_reply(client)
                self.assertEqual((second[1], second[4], second[5]),
                                 (REP_SUCCESS,) + peer.getsockname()[:2])
                peer.sendall(b"from the peer\n")
                self.assertEqual(harness.recv_exact(client, 14), b"from the peer\n")
        expected = list(hits)
        expected[8] += 1
        self.assertEqual(self.hits(), expected)

    def test_without_a_rule_a_long_label_fails_its_lookup_locally(self):
        before = self.admin.metrics()
        rep, sock = self.reply_to(("%s.blocked.test" % LONG_LABEL).encode(), 80)
        sock.close()
        self.assertEqual(rep, REP_HOST_UNREACHABLE)
        after = self.admin.metrics()
        self.assertEqual(after["dns_connections"] - before["dns_connections"], 1)
        self.assertEqual(after["dns_errors"] - before["dns_errors"], 1)
        self.assertEqual(after["rule_denials"], before["rule_denials"])

    def test_socks5ctl_lists_the_same_rules_and_hits(self):
        from test_console_batch import Console
        self.assert_denied("127.0.0.1", self.trap.port, 1, "no-bob", user=BOB)
        record, rows = self.rules()
        console = Console(self, self.server.wait_admin_listener()[0][1])
        (listing,) = console.json("rules")
        self.assertEqual(listing["record"]["total"], record["total"])
        self.assertEqual([(r["number"], r["name"], r["action"], r["rule"], r["hits"])
                          for r in listing["rows"]],
                         [(r["number"], r["name"], r["action"], r["rule"], r["hits"])
                          for r in rows])
        self.assertGreaterEqual(listing["rows"][0]["hits"], 1)


class DestinationNetwork(RulesServerCase):
    """`to` is checked against the address reached: a literal, an IPv4-mapped IPv6 address (as
    the IPv4 address it carries), each address a name resolves to, each UDP destination."""

    RULES = '  { name = "no-v4-loopback"; action = "deny"; to = "127.0.0.0/8"; }'

    def test_ipv4_and_its_spellings(self):
        for target in ("127.0.0.1", "::ffff:127.0.0.1", b"::ffff:127.0.0.1", b"127.1"):
            with self.subTest(target=target):
                self.assert_denied(target, self.trap.port, 1, "no-v4-loopback")
        self.assert_allowed("::1", self.trap.port)

    def test_a_name_resolving_into_the_network(self):
        with open("/etc/hosts") as hosts:
            if not re.search(r"(?m)^127\.0\.0\.1\s.*\blocalhost\b", hosts.read()):
                self.skipTest("/etc/hosts does not map localhost to 127.0.0.1")
        self.assert_denied(b"localhost", self.trap.port, 1, "no-v4-loopback", at="127.0.0.1")

    def test_udp_destinations(self):
        association = self.associate()
        before = self.admin.metrics()
        association.send("127.0.0.1", self.udp_echo.port, b"v4")
        association.send("::1", self.udp_echo.port, b"v6")
        self.assertEqual(association.receive(harness.SOCKET_TIMEOUT),
                         ("::1", self.udp_echo.port, b"v6"))
        self.assertIsNone(association.receive(QUIET))
        after = self.admin.metrics()
        self.assertEqual(after["udp_dropped_policy"] - before["udp_dropped_policy"], 1)
        self.assertEqual(after["rule_denials"] - before["rule_denials"], 1)


class FirstMatch(RulesServerCase):
    """The first matching rule decides: an allow before a deny lets through, a deny before an
    allow refuses."""

    RULES = """
  { name = "alice-first"; action = "allow"; user = "alice"; port = %(trap)d; },
  { name = "trap-closed"; action = "deny"; port = %(trap)d; },
  { name = "bob-first"; action = "deny"; user = "bob"; port = %(second)d; },
  { name = "second-open"; action = "allow"; port = %(second)d; }"""

    @classmethod
    def prepare(cls):
        cls.second = EchoServer().start()

    @classmethod
    def ports(cls):
        return dict(super().ports(), second=cls.second.port)

    @classmethod
    def release(cls):
        cls.second.stop()
        super().release()

    def test_allow_before_deny(self):
        self.assert_allowed("127.0.0.1", self.trap.port, user=TEST_USER, rule=1)
        self.assert_denied("127.0.0.1", self.trap.port, 2, "trap-closed", user=BOB)
        self.assert_denied("127.0.0.1", self.trap.port, 2, "trap-closed", user=CAROL)

    def test_deny_before_allow(self):
        self.assert_denied("127.0.0.1", self.second.port, 3, "bob-first", user=BOB,
                           listeners=self.second.listeners)
        hits = self.hits()
        rep, sock = self.reply_to("127.0.0.1", self.second.port, CAROL)
        with sock:
            self.assertEqual(rep, REP_SUCCESS)
        expected = list(hits)
        expected[3] += 1
        self.assertEqual(self.hits(), expected)


class DomainNames(RulesServerCase):
    """Domains, exact and *.suffix, case-insensitive, trailing dot ignored. A name a rule denies
    is never looked up; the last rule denies everything else, so no other name is either."""

    RULES = """
  { name = "blocked"; action = "deny"; domain = "*.blocked.test"; },
  { name = "exact"; action = "deny"; domain = "Exact.Test."; },
  { name = "localhost"; action = "allow"; domain = "localhost"; },
  { name = "everything-else"; action = "deny"; }"""

    @classmethod
    def prepare(cls):
        cls.http = HttpServer().start()

    @classmethod
    def release(cls):
        cls.http.stop()
        super().release()

    def assert_not_looked_up(self, before):
        after = self.admin.metrics()
        for key in ("dns_connections", "dns_errors"):
            self.assertEqual(after[key], before[key], key)

    def test_suffix_denies_without_a_lookup(self):
        before = self.admin.metrics()
        for name in ("%s.blocked.test" % LONG_LABEL, "www.blocked.test", "A.B.BLOCKED.Test",
                     "x.blocked.test."):
            with self.subTest(name=name):
                self.assert_denied(name.encode(), self.trap.port, 1, "blocked")
        self.assert_not_looked_up(before)

    def test_the_bare_suffix_is_not_a_subdomain(self):
        before = self.admin.metrics()
        self.assert_denied(b"blocked.test", self.trap.port, 4, "everything-else")
        self.assert_not_looked_up(before)

    def test_exact(self):
        before = self.admin.metrics()
        for name in (b"exact.test", b"EXACT.TEST.", b"eXact.test"):
            with self.subTest(name=name):
                self.assert_denied(name, self.trap.port, 2, "exact")
        self.assert_denied(b"www.exact.test", self.trap.port, 4, "everything-else")
        self.assert_denied(b"exact.test.example", self.trap.port, 4, "everything-else")
        self.assert_not_looked_up(before)

    def test_an_allowed_name_is_looked_up_and_reached(self):
        before = self.admin.metrics()
        self.assert_allowed(b"localhost", self.trap.port, rule=3)
        self.assertEqual(self.admin.metrics()["dns_connections"] - before["dns_connections"], 1)
        self.assert_denied("127.0.0.1", self.trap.port, 4, "everything-else")

    def curl(self, url):
        curl = harness.require_tool("curl")
        return subprocess.run(
            [curl, "--silent", "--show-error", "--max-time", "20", "--noproxy", "",
             "--socks5-hostname", "%s:%d" % (self.server.host, self.server.port),
             "--proxy-user", "%s:%s" % (TEST_USER, TEST_PASSWORD), url],
            capture_output=True, text=True, timeout=60, env={"PATH": os.environ["PATH"]})

    def test_curl(self):
        result = self.curl("http://localhost:%d/page" % self.http.port)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("socks5d integration page", result.stdout)
        before = self.admin.metrics()
        hits = self.hits()
        result = self.curl("http://%s.blocked.test/" % LONG_LABEL)
        self.assertEqual(result.returncode, 97, result.stderr)  # CURLE_PROXY
        # curl ends its message with the REP code it got
        self.assertRegex(result.stderr, r"Can't complete SOCKS5 connection to \S+\. \(2\)")
        self.assertEqual(self.hits()[0], hits[0] + 1)
        self.assertEqual(self.admin.metrics()["rule_denials"], before["rule_denials"] + 1)
        self.assert_not_looked_up(before)

    def test_udp_to_a_denied_name_is_never_looked_up(self):
        association = self.associate()
        before = self.admin.metrics()
        hits = self.hits()
        association.send(("%s.blocked.test" % LONG_LABEL).encode(), 53, b"query")
        self.assertIsNone(association.receive(QUIET))
        after = self.admin.metrics()
        self.assertEqual(after["udp_dropped_policy"] - before["udp_dropped_policy"], 1)
        self.assertEqual(after["udp_dropped_lookup"], before["udp_dropped_lookup"])
        self.assertEqual(after["rule_denials"] - before["rule_denials"], 1)
        self.assertEqual(self.hits()[0], hits[0] + 1)
        self.assert_not_looked_up(before)


class SafeDefaults(RulesServerCase):
    """Without --allow-loopback: an allow rule whose `to` holds a loopback address opens it; an
    allow rule without `to` does not, and neither opens what its `to` does not hold."""

    ALLOW_LOOPBACK = False
    RULES = """
  { name = "bob-anywhere"; action = "allow"; user = "bob"; },
  { name = "alice-v4-loopback"; action = "allow"; user = "alice"; to = "127.0.0.0/8"; }"""

    def test_an_allow_rule_naming_the_network_lifts_the_default(self):
        self.assertEqual(self.rules()[0]["allow_loopback"], "no")
        self.assert_allowed("127.0.0.1", self.trap.port, rule=2)
        self.assert_allowed("::ffff:127.0.0.1", self.trap.port, rule=2)

    def test_only_for_the_network_it_names(self):
        self.assert_denied("::1", self.trap.port, "loopback", None)
        self.assert_denied("169.254.169.254", self.trap.port, "link-local", None)

    def test_an_allow_rule_without_to_does_not(self):
        self.assert_denied("127.0.0.1", self.trap.port, "loopback", None, user=BOB)
        self.assert_denied(b"localhost", self.trap.port, "loopback", None, user=BOB,
                           at="127.0.0.1")
        self.assert_denied("::1", self.trap.port, "loopback", None, user=BOB)

    def test_no_rule_matching_leaves_the_default(self):
        self.assert_denied("127.0.0.1", self.trap.port, "loopback", None, user=CAROL)

    def test_bind(self):
        self.assert_denied("::1", 0, "loopback", None, user=BOB, command=CMD_BIND)
        # A BIND for any peer reaches nothing: the "unspecified" default is not about it.
        hits = self.hits()
        rep, sock = self.reply_to("0.0.0.0", 0, BOB, command=CMD_BIND)
        with sock:
            self.assertEqual(rep, REP_SUCCESS)
        self.assertEqual(self.hits(), [hits[0] + 1, hits[1]])


class Reload(RulesServerCase):
    """SIGHUP with other rules: new connections get the new verdict, a tunnel opened before
    keeps running; hit counts start again from 0 with every good reload (PROTOCOL.md 8.13:
    "requests this rule decided since it was loaded") and a refused reload keeps them."""

    RULES = '  { name = "trap-closed"; action = "deny"; port = %(trap)d; }'
    OPENED = """
  { name = "trap-open"; action = "allow"; port = %(trap)d; },
  { name = "trap-closed"; action = "deny"; port = %(trap)d; }"""

    def sighup(self, marker):
        before = self.server.stderr_text().count(marker)
        os.kill(self.server.process.pid, signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.server.stderr_text().count(marker) > before),
                        "no '%s' after SIGHUP:\n%s" % (marker, self.server.stderr_text()[-3000:]))

    def reload(self, rules):
        self.write_rules(rules % self.ports())
        self.sighup("SIGHUP: configuration %s reloaded" % self.config)

    def test_new_rules_for_new_connections(self):
        port = self.trap.port
        self.assert_denied("127.0.0.1", port, 1, "trap-closed")
        self.assertEqual(self.hits(), [1])

        # A bad rule: the whole file is refused; the rules and their hits stay.
        self.write_rules('  { name = "broken"; action = "deny"; port = "9-1"; }')
        self.sighup("SIGHUP: refused")
        self.assertEqual(self.hits(), [1])
        self.assert_denied("127.0.0.1", port, 1, "trap-closed")
        self.assertEqual(self.hits(), [2])

        self.reload(self.OPENED)
        self.assertEqual(self.hits(), [0, 0])
        self.assert_allowed("127.0.0.1", port, rule=1)
        tunnel, _ = harness.open_tunnel(self.server, "127.0.0.1", port)
        with tunnel:
            # Back to the first rules: the same rule as loaded at start counts from 0 again.
            self.reload(self.RULES)
            self.assertEqual(self.rules()[1][0]["rule"], "deny name=trap-closed port=%d" % port)
            self.assertEqual(self.hits(), [0])
            self.assert_denied("127.0.0.1", port, 1, "trap-closed")
            self.assertEqual(self.hits(), [1])
            tunnel.sendall(b"opened before the reload\n")
            self.assertEqual(harness.recv_exact(tunnel, 25), b"opened before the reload\n")


if __name__ == "__main__":
    unittest.main()
