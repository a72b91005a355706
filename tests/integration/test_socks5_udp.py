"""UDP ASSOCIATE (RFC 1928 sections 6 and 7) against the real socks5d: PySocks and raw clients
through the relay to a UDP echo server on loopback — IPv4, IPv6, names, what is dropped and
counted, the association's end, many associations, a burst and the largest datagram."""

import ipaddress
import os
import selectors
import socket
import struct
import sys
import threading
import time
import unittest

import harness
from harness import CMD_UDP_ASSOCIATE, REP_SUCCESS, TEST_PASSWORD, TEST_USER

try:
    import socks
except ImportError:
    # python3-socks installs PySocks for Debian's python3; an interpreter of its own (pyenv,
    # a venv) does not see it there, and the module is plain Python.
    sys.path.append("/usr/lib/python3/dist-packages")
    import socks

ADMIN_CMD_USER_METRICS = 0x04  # PROTOCOL.md 7.5
ADMIN_CMD_CONNECTIONS = 0x05  # PROTOCOL.md 7.6
QUIET = 0.5  # how long "no answer" is waited for
IPV4_MAX_PAYLOAD = 65507  # the largest UDP payload over IPv4
IPV6_MAX_PAYLOAD = 65527  # ... over IPv6 (no jumbograms)


def udp_header(host, port, fragment=0):
    """RSV RSV FRAG ATYP DST.ADDR DST.PORT for an IP literal or a name (str/bytes)."""
    if isinstance(host, bytes):
        address = bytes([harness.ATYP_DOMAIN, len(host)]) + host
    else:
        ip = ipaddress.ip_address(host)
        atyp = harness.ATYP_IPV4 if ip.version == 4 else harness.ATYP_IPV6
        address = bytes([atyp]) + ip.packed
    return bytes([0, 0, fragment]) + address + struct.pack("!H", port)


def parse_udp_reply(datagram):
    """(host, port, payload) of a datagram the relay sent back."""
    if datagram[:3] != b"\0\0\0":
        raise AssertionError("reply header starts %s" % datagram[:3].hex(" "))
    atyp = datagram[3]
    if atyp == harness.ATYP_IPV4:
        host, rest = socket.inet_ntop(socket.AF_INET, datagram[4:8]), datagram[8:]
    elif atyp == harness.ATYP_IPV6:
        host, rest = socket.inet_ntop(socket.AF_INET6, datagram[4:20]), datagram[20:]
    else:
        raise AssertionError("reply header with ATYP %d" % atyp)
    return host, struct.unpack("!H", rest[:2])[0], rest[2:]


def hosts_file_names(address):
    """The names /etc/hosts gives address (so a lookup of them never asks a DNS server)."""
    names = set()
    try:
        with open("/etc/hosts") as hosts:
            for line in hosts:
                fields = line.split("#", 1)[0].split()
                if len(fields) >= 2 and fields[0] == address:
                    names.update(fields[1:])
    except OSError:
        pass
    return names


class UdpEchoServer:
    """Echoes every datagram back to its sender, on 127.0.0.1 and ::1 with one port."""

    def __init__(self):
        self.sockets = []
        for _ in range(50):
            v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            v4.bind(("127.0.0.1", 0))
            self.port = v4.getsockname()[1]
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            try:
                v6.bind(("::1", self.port))
            except OSError:
                v4.close()
                v6.close()
                continue
            self.sockets = [v4, v6]
            break
        if not self.sockets:
            raise OSError("no UDP port free on both 127.0.0.1 and ::1")
        for sock in self.sockets:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.received = 0
        self.stop_reading, self.wake = socket.socketpair()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _loop(self):
        selector = selectors.DefaultSelector()
        for sock in self.sockets:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ)
        selector.register(self.wake, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select():
                if key.fileobj is self.wake:
                    selector.close()
                    return
                while True:
                    try:
                        data, peer = key.fileobj.recvfrom(70000)
                    except BlockingIOError:
                        break
                    self.received += 1
                    try:
                        key.fileobj.sendto(data, peer)
                    except OSError:
                        pass

    def stop(self):
        self.stop_reading.send(b"x")
        self.thread.join(5)
        for sock in self.sockets + [self.stop_reading, self.wake]:
            sock.close()


class Association:
    """A raw UDP ASSOCIATE: the TCP control connection, the relay's address, a UDP socket."""

    def __init__(self, server, family=socket.AF_INET, named=None, udp_source=None,
                 user=harness.TEST_USER, password=harness.TEST_PASSWORD):
        self.control = harness.connect_proxy(server, family)
        harness.negotiate(self.control, user, password)
        self.udp = socket.socket(family, socket.SOCK_DGRAM)
        self.udp.bind((udp_source or self.control.getsockname()[0], 0))
        self.udp.settimeout(harness.SOCKET_TIMEOUT)
        host, port = named if named is not None else (
            "0.0.0.0" if family == socket.AF_INET else "::", 0)
        self.control.sendall(harness.request(host, port, command=CMD_UDP_ASSOCIATE))
        self.reply = harness.read_reply(self.control)
        self.relay = (self.reply[4], self.reply[5])

    def send(self, host, port, payload, sock=None):
        (sock or self.udp).sendto(udp_header(host, port) + payload, self.relay)

    def receive(self, timeout=harness.SOCKET_TIMEOUT):
        self.udp.settimeout(timeout)
        datagram, source = self.udp.recvfrom(70000)
        if source[:2] != self.relay:
            raise AssertionError("reply from %r, not the relay %r" % (source, self.relay))
        return parse_udp_reply(datagram)

    def nothing_arrives(self, timeout=QUIET):
        try:
            self.receive(timeout)
        except socket.timeout:
            return True
        return False

    def close(self):
        self.control.close()
        self.udp.close()


class UdpTestCase(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.udp_echo = UdpEchoServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.udp_echo.stop()
        super().tearDownClass()

    def associate(self, *args, **kwargs):
        association = Association(self.server, *args, **kwargs)
        self.addCleanup(association.close)
        self.assertEqual(association.reply[1], REP_SUCCESS)
        return association

    def metrics(self):
        return harness.metrics_of(self.server)

    def wait_metric(self, name, value, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            metrics = self.metrics()
            if metrics[name] >= value or time.monotonic() > deadline:
                self.assertEqual(metrics[name], value, name)
                return metrics
            time.sleep(0.05)

    def server_fds(self):
        return len(os.listdir("/proc/%d/fd" % self.server.process.pid))

    def wait_fds(self, wanted, timeout=10.0):
        # Until one reading equals it: the accounting writer may hold a descriptor for an
        # instant while it commits, which a second reading would catch; a leak stays.
        deadline = time.monotonic() + timeout
        count = self.server_fds()
        while count != wanted and time.monotonic() < deadline:
            time.sleep(0.05)
            count = self.server_fds()
        self.assertEqual(count, wanted, "server descriptors after the associations")


class PySocksTest(UdpTestCase):
    """A real client library sends UDP through the proxy (it wraps and unwraps the headers)."""
    SERVER_LISTEN = ["127.0.0.1", "::1"]

    def pysocks_roundtrip(self, family, proxy_host, proxy_port, destination):
        client = socks.socksocket(family, socket.SOCK_DGRAM)
        self.addCleanup(client.close)
        client.set_proxy(socks.SOCKS5, proxy_host, proxy_port, username=TEST_USER,
                         password=TEST_PASSWORD)
        client.settimeout(harness.SOCKET_TIMEOUT)
        for message in (b"first datagram", b"second", b""):
            client.sendto(message, (destination, self.udp_echo.port))
            data, source = client.recvfrom(70000)
            self.assertEqual(data, message)
            self.assertEqual(source[:2], (destination, self.udp_echo.port))

    def test_ipv4(self):
        host, port = self.server.endpoint_for(socket.AF_INET)
        self.pysocks_roundtrip(socket.AF_INET, host, port, "127.0.0.1")
        metrics = self.metrics()
        self.assertEqual(metrics["udp_associations"], 1)
        self.assertEqual(metrics["udp_datagrams_up"], 3)
        self.assertEqual(metrics["udp_datagrams_down"], 3)
        length = len(b"first datagram" + b"second")
        self.assertEqual((metrics["udp_bytes_up"], metrics["udp_bytes_down"]), (length, length))

    def test_ipv6_destination(self):
        # PySocks 1.7.1 cannot make its own UDP socket IPv6 (it unpacks getsockname() as a
        # pair): an IPv6 relay is the raw tests' (RelayTest), the IPv6 destination is this.
        host, port = self.server.endpoint_for(socket.AF_INET)
        self.pysocks_roundtrip(socket.AF_INET, host, port, "::1")


class RelayTest(UdpTestCase):
    SERVER_LISTEN = ["127.0.0.1", "::1"]

    def test_reply_names_the_address_the_client_reached(self):
        association = self.associate()
        self.assertEqual(association.relay[0], "127.0.0.1")
        self.assertNotEqual(association.relay[1], 0)
        association6 = self.associate(socket.AF_INET6)
        self.assertEqual(association6.reply[3], harness.ATYP_IPV6)
        self.assertEqual(association6.relay[0], "::1")

    def test_each_family_from_either_relay(self):
        for association in (self.associate(), self.associate(socket.AF_INET6)):
            for destination in ("127.0.0.1", "::1"):
                association.send(destination, self.udp_echo.port, b"to " + destination.encode())
                self.assertEqual(association.receive(),
                                 (destination, self.udp_echo.port,
                                  b"to " + destination.encode()))

    def test_ipv4_mapped_destination_goes_over_ipv4(self):
        association = self.associate()
        association.send("::ffff:127.0.0.1", self.udp_echo.port, b"mapped")
        self.assertEqual(association.receive(), ("127.0.0.1", self.udp_echo.port, b"mapped"))

    def test_domain_from_hosts_file(self):
        names = sorted(hosts_file_names("127.0.0.1") | hosts_file_names("::1"))
        if "localhost" not in names:
            self.skipTest("/etc/hosts does not name localhost: its lookup could reach DNS")
        association = self.associate()
        for message in (b"by name", b"by name again"):
            association.send(b"localhost", self.udp_echo.port, message)
            host, port, payload = association.receive()
            self.assertIn(host, ("127.0.0.1", "::1"))
            self.assertEqual((port, payload), (self.udp_echo.port, message))
        self.assertEqual(self.metrics()["udp_dropped_lookup"], 0)

    def test_unresolvable_name_is_dropped_and_counted(self):
        association = self.associate()
        association.send(harness.UNRESOLVABLE_NAME.encode(), self.udp_echo.port, b"lost")
        self.wait_metric("udp_dropped_lookup", 1)
        self.assertTrue(association.nothing_arrives())
        # The failure is remembered a while: the next datagram needs no lookup to be dropped.
        association.send(harness.UNRESOLVABLE_NAME.encode(), self.udp_echo.port, b"lost too")
        self.wait_metric("udp_dropped_lookup", 2)
        self.assertEqual(self.metrics()["dns_errors"], 1)
        association.send("127.0.0.1", self.udp_echo.port, b"still relaying")
        self.assertEqual(association.receive()[2], b"still relaying")

    def test_largest_datagrams(self):
        association = self.associate()
        payload = os.urandom(IPV4_MAX_PAYLOAD - 10)
        association.send("127.0.0.1", self.udp_echo.port, payload)
        self.assertEqual(association.receive(), ("127.0.0.1", self.udp_echo.port, payload))
        association6 = self.associate(socket.AF_INET6)
        payload6 = os.urandom(IPV6_MAX_PAYLOAD - 22)
        association6.send("::1", self.udp_echo.port, payload6)
        self.assertEqual(association6.receive(), ("::1", self.udp_echo.port, payload6))
        self.assertEqual(self.metrics()["udp_dropped_send"], 0)

    def test_records_metrics_and_access_log(self):
        association = self.associate()
        for i in range(5):
            association.send("127.0.0.1", self.udp_echo.port, b"%d" % i)
            association.receive()
        usage_before = self.user_metrics()
        client = harness.client_name(association.control)
        association.close()
        entry = self.server.wait_access_line(lambda e: e["client"] == client)
        self.assertEqual((entry["datagrams_up"], entry["datagrams_down"]), (5, 5))
        self.assertEqual((entry["up"], entry["down"]), (5, 5))
        self.assertEqual(entry["user"], TEST_USER)
        self.assertEqual(entry["dest_addr"], "127.0.0.1:%d" % self.udp_echo.port)
        self.assertEqual((entry["status"], entry["kind"]), (0, "udp"))
        self.assertEqual((usage_before["datagrams_up"], usage_before["datagrams_down"]), (5, 5))
        self.assertEqual(usage_before["bytes_up"], 5)

    def test_connections_row_has_kind_and_datagram_counts(self):
        association = self.associate()
        for i in range(3):
            association.send("127.0.0.1", self.udp_echo.port, b"row %d" % i)
            association.receive()
        plain, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        self.addCleanup(plain.close)
        with harness.AdminClient(self.server) as admin:
            status, body = admin.request(ADMIN_CMD_CONNECTIONS,
                                         bytes([0, 0]) + struct.pack("!II", 0, 0))
        self.assertEqual(status, 0)
        header, *rows = body.decode().partition("\n\n")[2].rstrip("\n").split("\n")
        rows = {row["client"]: row for row in
                (dict(zip(header.split("\t"), line.split("\t"))) for line in rows)}
        udp = rows[harness.client_name(association.control)]
        self.assertEqual((udp["kind"], udp["datagrams_up"], udp["datagrams_down"]),
                         ("udp", "3", "3"))
        tcp = rows[harness.client_name(plain)]
        self.assertEqual((tcp["kind"], tcp["datagrams_up"], tcp["datagrams_down"]),
                         ("connect", "-", "-"))

    def user_metrics(self):
        with harness.AdminClient(self.server) as admin:
            status, body = admin.request(ADMIN_CMD_USER_METRICS,
                                         bytes([len(TEST_USER)]) + TEST_USER.encode())
            self.assertEqual(status, 0)
            return harness.parse_admin_record(body)


class DropTest(UdpTestCase):
    """What is not a well-formed datagram from the client is dropped, counted, never answered."""

    def test_fragments_are_dropped(self):
        association = self.associate()
        before = self.udp_echo.received
        for fragment in (1, 0x80, 0xFF):
            association.udp.sendto(udp_header("127.0.0.1", self.udp_echo.port, fragment)
                                   + b"part", association.relay)
        self.wait_metric("udp_dropped_fragmented", 3)
        self.assertTrue(association.nothing_arrives())
        self.assertEqual(self.udp_echo.received, before)

    def test_malformed_headers_are_dropped(self):
        association = self.associate()
        port = struct.pack("!H", self.udp_echo.port)
        malformed = [
            b"",                                          # nothing at all
            b"\0\0",                                      # short: no FRAG
            b"\0\0\0\x01\x7f\0",                          # short: inside the address
            b"\x01\0\0\x01\x7f\0\0\x01" + port,           # RSV not zero
            b"\0\x01\0\x01\x7f\0\0\x01" + port,           # RSV not zero
            b"\0\0\0\x02\x7f\0\0\x01" + port + b"x",      # ATYP 2
            b"\0\0\0\x05" + bytes(16) + port,             # ATYP 5
            b"\0\0\0\x03\x00" + port + b"x",              # empty name
            b"\0\0\0\x03\x03a\0b" + port + b"x",          # a NUL in the name
        ]
        before = self.udp_echo.received
        for datagram in malformed:
            association.udp.sendto(datagram, association.relay)
        self.wait_metric("udp_dropped_malformed", len(malformed))
        self.assertTrue(association.nothing_arrives())
        self.assertEqual(self.udp_echo.received, before)
        garbage = [os.urandom(n) for n in (1, 7, 64, 300)]
        for datagram in garbage:
            association.udp.sendto(b"\x07" + datagram, association.relay)  # RSV never 0x07
        self.wait_metric("udp_dropped_malformed", len(malformed) + len(garbage))
        association.send("127.0.0.1", self.udp_echo.port, b"after the garbage")
        self.assertEqual(association.receive()[2], b"after the garbage")

    def test_foreign_source_is_dropped(self):
        association = self.associate()
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(stranger.close)
        try:
            stranger.bind(("127.0.0.2", 0))
        except OSError as error:
            self.skipTest("cannot bind 127.0.0.2: %s" % error)
        stranger.settimeout(QUIET)
        before = self.udp_echo.received
        stranger.sendto(udp_header("127.0.0.1", self.udp_echo.port) + b"spoof", association.relay)
        self.wait_metric("udp_dropped_foreign", 1)
        with self.assertRaises(socket.timeout):
            stranger.recvfrom(70000)
        self.assertEqual(self.udp_echo.received, before)
        association.send("127.0.0.1", self.udp_echo.port, b"the client's own")
        self.assertEqual(association.receive()[2], b"the client's own")

    def test_named_source_port_is_held_to(self):
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(sender.close)
        sender.bind(("127.0.0.1", 0))
        association = self.associate(named=("127.0.0.1", sender.getsockname()[1]))
        association.send("127.0.0.1", self.udp_echo.port, b"other port")
        self.wait_metric("udp_dropped_foreign", 1)
        association.send("127.0.0.1", self.udp_echo.port, b"named port", sock=sender)
        sender.settimeout(harness.SOCKET_TIMEOUT)
        datagram, _ = sender.recvfrom(70000)
        self.assertEqual(parse_udp_reply(datagram)[2], b"named port")


class PolicyTest(harness.EchoTestCase):
    """Each UDP destination goes through the destination policy once: here the safe default
    that denies loopback (no --allow-loopback)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.udp_echo = UdpEchoServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.udp_echo.stop()
        super().tearDownClass()

    def test_loopback_destinations_are_denied_by_default(self):
        server = harness.Socks5dProcess(allow_loopback=False).start()
        self.addCleanup(server.kill)
        association = Association(server)
        self.addCleanup(association.close)
        self.assertEqual(association.reply[1], REP_SUCCESS)
        for _ in range(2):
            association.send("127.0.0.1", self.udp_echo.port, b"denied")
        association.send("::1", self.udp_echo.port, b"denied")
        association.send(b"localhost", self.udp_echo.port, b"denied by name")
        deadline = time.monotonic() + 5
        while harness.metrics_of(server)["udp_dropped_policy"] < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        metrics = harness.metrics_of(server)
        self.assertEqual(metrics["udp_dropped_policy"], 4)
        # Judged once per destination: 127.0.0.1 twice is one denial.
        self.assertEqual(metrics["rule_denials"], 3)
        self.assertEqual(metrics["udp_datagrams_up"], 0)
        self.assertTrue(association.nothing_arrives())
        self.assertEqual(self.udp_echo.received, 0)
        code, text = server.stop()
        self.assertEqual(code, 0, text[-3000:])
        self.assertIn("denied by default", text)

    def test_denials_past_the_first_few_are_counted_not_logged(self):
        """A client naming many forbidden destinations cannot flood the log: the association's
        first 8 denials are logged at info, every one is counted."""
        server = harness.Socks5dProcess(allow_loopback=False).start()
        self.addCleanup(server.kill)
        association = Association(server)
        self.addCleanup(association.close)
        destinations = ["127.0.0.%d" % host for host in range(2, 22)]
        for host in destinations:
            association.send(host, self.udp_echo.port, b"denied")
        deadline = time.monotonic() + 5
        while (harness.metrics_of(server)["rule_denials"] < len(destinations)
               and time.monotonic() < deadline):
            time.sleep(0.05)
        self.assertEqual(harness.metrics_of(server)["rule_denials"], len(destinations))
        code, text = server.stop()
        self.assertEqual(code, 0, text[-3000:])
        self.assertEqual(text.count("denied by default"), 8, text[-3000:])


class LifetimeTest(UdpTestCase):
    def test_association_ends_with_its_tcp_connection(self):
        baseline = self.server_fds()
        association = self.associate()
        association.send("127.0.0.1", self.udp_echo.port, b"alive")
        self.assertEqual(association.receive()[2], b"alive")
        association6 = self.associate()
        association6.send("::1", self.udp_echo.port, b"alive too")
        self.assertEqual(association6.receive()[2], b"alive too")
        self.assertGreaterEqual(self.server_fds(), baseline + 5)  # 2 TCP, 2 relays, 2 remotes
        association.control.close()
        association6.control.close()
        self.wait_fds(baseline)
        before = self.udp_echo.received
        association.send("127.0.0.1", self.udp_echo.port, b"too late")
        self.assertTrue(association.nothing_arrives())
        self.assertEqual(self.udp_echo.received, before)

    def test_idle_association_is_closed(self):
        server = self.start_server("--idle-timeout", "1")
        association = Association(server)
        self.addCleanup(association.close)
        association.send("127.0.0.1", self.udp_echo.port, b"once")
        self.assertEqual(association.receive()[2], b"once")
        association.control.settimeout(10)
        started = time.monotonic()
        self.assertTrue(harness.peer_closed(association.control, timeout=10))
        self.assertGreaterEqual(time.monotonic() - started, 0.5)

    def test_thousand_associations_at_once(self):
        count = 1000
        if harness.raise_fd_limit(8192) < 3 * count:
            self.skipTest("needs %d descriptors" % (3 * count))
        baseline = self.server_fds()
        associations = []
        try:
            for _ in range(count):
                associations.append(Association(self.server))
            self.assertTrue(all(a.reply[1] == REP_SUCCESS for a in associations))
            self.assertEqual(len({a.relay for a in associations}), count)
            selector = selectors.DefaultSelector()
            for index, association in enumerate(associations):
                association.udp.setblocking(False)
                selector.register(association.udp, selectors.EVENT_READ, index)
                association.send("127.0.0.1", self.udp_echo.port, b"%d" % index)
            answered = set()
            deadline = time.monotonic() + 30
            while len(answered) < count and time.monotonic() < deadline:
                for key, _ in selector.select(timeout=1):
                    datagram = key.fileobj.recv(70000)
                    self.assertEqual(parse_udp_reply(datagram)[2], b"%d" % key.data)
                    answered.add(key.data)
            selector.close()
            # Loopback loses nothing here: every association answered.
            self.assertEqual(len(answered), count)
            self.assertEqual(self.metrics()["udp_associations"], count)
        finally:
            for association in associations:
                association.close()
        self.wait_fds(baseline, timeout=30)

    def test_burst_of_a_thousand_datagrams(self):
        association = self.associate()
        association.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        count = 1000
        for index in range(count):
            association.send("127.0.0.1", self.udp_echo.port, struct.pack("!I", index) * 16)
        received = set()
        try:
            while len(received) < count:
                host, port, payload = association.receive(timeout=2)
                received.add(struct.unpack("!I", payload[:4])[0])
        except socket.timeout:
            pass
        metrics = self.metrics()
        lost = count - len(received)
        # Whatever was lost was lost in a socket buffer (the client's, the relay's, the echo
        # server's), never in the relay's own accounting: what it counted is what went through.
        self.assertLessEqual(lost, count // 20, "lost %d of %d on loopback; %r, echo saw %d"
                             % (lost, count, metrics, self.udp_echo.received))
        self.assertGreaterEqual(metrics["udp_datagrams_down"], len(received))
        self.assertGreaterEqual(metrics["udp_datagrams_up"], len(received))


if __name__ == "__main__":
    unittest.main()
