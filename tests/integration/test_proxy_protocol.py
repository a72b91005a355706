"""The PROXY protocol on the SOCKS listener (--proxy-protocol-from), driven with raw v1 and v2
headers: from a trusted source the header's client is the connection's client (records, access
log, per-address limit, rules' `from`, login throttle, UDP ASSOCIATE's client check) and the
SOCKS bytes pipelined behind it are kept; a header from an untrusted source, none from a trusted
one, a malformed, truncated or slow one are refused without an answer and counted by cause."""

import ipaddress
import os
import shutil
import signal
import socket
import struct
import tempfile
import threading
import time
import unittest

import harness
from harness import TEST_USER, TEST_PASSWORD, AdminClient, Socks5dProcess

TRUSTED = "127.0.0.1"      # the balancer
UNTRUSTED = "127.0.0.2"    # anyone else on the host
HANDSHAKE_TIMEOUT = 2      # seconds, so that the slow-header tests are short
CLOSE_SLACK = 4.0          # a refused connection is closed within this (ASan, busy machine)
ADMIN_CMD_CONNECTIONS = 0x05  # PROTOCOL.md 7.6
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v1_header(client, client_port, proxy="127.0.0.1", proxy_port=1080):
    family = "TCP6" if ":" in client else "TCP4"
    return ("PROXY %s %s %s %d %d\r\n" % (family, client, proxy, client_port,
                                          proxy_port)).encode()


def v2_header(client=None, client_port=0, proxy=None, proxy_port=1080, command=0x1,
              tlvs=b""):
    """A v2 header; client None: AF_UNSPEC (with command 0x0, a LOCAL health check)."""
    if client is None:
        return V2_SIGNATURE + bytes([0x20 | command, 0x00]) + struct.pack("!H", len(tlvs)) + tlvs
    source = ipaddress.ip_address(client)
    destination = ipaddress.ip_address(proxy or ("::1" if source.version == 6 else "127.0.0.1"))
    family = 0x11 if source.version == 4 else 0x21
    block = source.packed + destination.packed + struct.pack("!HH", client_port, proxy_port)
    block += tlvs
    return V2_SIGNATURE + bytes([0x20 | command, family]) + struct.pack("!H", len(block)) + block


def socks_handshake(host, port, user=TEST_USER, password=TEST_PASSWORD):
    """Greeting, RFC 1929 login and CONNECT request, all in one piece."""
    return (harness.greeting(harness.METHOD_USERPASS) + harness.auth_request(user, password)
            + harness.request(host, port))


def connect_from(server, source):
    sock = socket.create_connection((server.host, server.port), timeout=harness.SOCKET_TIMEOUT,
                                    source_address=(source, 0))
    sock.settimeout(harness.SOCKET_TIMEOUT)
    return sock


def read_handshake_replies(sock):
    """The method choice and login replies, then the request's reply tuple."""
    method = harness.recv_exact(sock, 2)
    if method != bytes([5, harness.METHOD_USERPASS]):
        raise AssertionError("method selection: got %s" % method.hex(" "))
    login = harness.recv_exact(sock, 2)
    if login != b"\x01\x00":
        raise AssertionError("login: got %s" % login.hex(" "))
    return harness.read_reply(sock)


def str8(text):
    data = text.encode()
    return bytes([len(data)]) + data


def connection_rows(admin, which=0):
    """The connections table (PROTOCOL.md 8.9): live (0), recent (1) or both (2), as dicts."""
    status, body = admin.request(ADMIN_CMD_CONNECTIONS,
                                 str8("") + bytes([which]) + struct.pack("!II", 0, 10000))
    if status != harness.ADMIN_STATUS_OK:
        raise AssertionError("connections: status %d %r" % (status, body))
    lines = body.decode("utf-8", "replace").split("\n")
    blank = lines.index("")
    columns = lines[blank + 1].split("\t")
    return [dict(zip(columns, line.split("\t"))) for line in lines[blank + 2:] if line]


def wait_until(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("%s not reached within %.0f s" % (what, timeout))
        time.sleep(0.05)


def closed_without_answer(sock, timeout=CLOSE_SLACK):
    """True when the server closes sock without sending a byte (EOF or reset) in time."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return data == b""


class ServerCase(unittest.TestCase):
    """One socks5d for the class, trusting TRUSTED's headers, and a shared echo server."""

    EXTRA_ARGS = ()
    CONFIG = None  # text of a -C file

    @classmethod
    def setUpClass(cls):
        harness.raise_fd_limit()
        cls.echo = harness.EchoServer().start()
        cls.directory = tempfile.mkdtemp(prefix="socks5d-proxy-protocol-")
        args = ["--proxy-protocol-from", TRUSTED + "/32", "--handshake-timeout",
                str(HANDSHAKE_TIMEOUT), "-d", "debug"] + list(cls.EXTRA_ARGS)
        if cls.CONFIG is not None:
            path = os.path.join(cls.directory, "socks5d.conf")
            with open(path, "w") as handle:
                handle.write(cls.CONFIG)
            args += ["-C", path]
        cls.server = Socks5dProcess(*args)
        try:
            cls.server.start()
        except BaseException:
            cls.echo.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            harness.stop_class_server(cls.server)
        finally:
            cls.echo.stop()
            shutil.rmtree(cls.directory, ignore_errors=True)

    def setUp(self):
        self.admin = AdminClient(self.server)
        self.addCleanup(self.admin.close)
        self.before = self.admin.metrics()

    def counted(self, key):
        return self.admin.metrics()[key] - self.before[key]

    def tunnel(self, header, source=TRUSTED, user=TEST_USER, password=TEST_PASSWORD,
               payload=b""):
        """header + the whole SOCKS handshake (+ payload) in one send; (socket, reply)."""
        sock = connect_from(self.server, source)
        self.addCleanup(sock.close)
        sock.sendall(header + socks_handshake("127.0.0.1", self.echo.port, user, password)
                     + payload)
        return sock, read_handshake_replies(sock)

    def refused(self, data, source=TRUSTED, half_close=False):
        """Sends data; asserts the server closes without a byte of answer."""
        sock = connect_from(self.server, source)
        with sock:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            self.assertTrue(closed_without_answer(sock),
                            "the server answered or kept %r open" % data[:60])


class HeaderTest(ServerCase):

    def test_v1_header_with_everything_pipelined_behind_it(self):
        payload = b"sent with the header\n"
        sock, reply = self.tunnel(v1_header("203.0.113.9", 4242), payload=payload)
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        self.assertEqual(harness.recv_exact(sock, len(payload)), payload)
        (row,) = [row for row in connection_rows(self.admin) if row["client"] ==
                  "203.0.113.9:4242"]
        self.assertEqual((row["user"], row["destination"]),
                         (TEST_USER, "127.0.0.1:%d" % self.echo.port))
        sock.close()
        entry = self.server.wait_access_line(lambda e: e["client"] == "203.0.113.9:4242")
        self.assertEqual((entry["up"], entry["down"]), (len(payload), len(payload)))
        self.assertEqual(self.counted("proxy_headers"), 1)
        self.assertIn("PROXY header: client 203.0.113.9:4242", self.server.stderr_text())

    def test_v2_tcp6_header_with_tlvs(self):
        authority = b"socks.example"
        tlvs = bytes([0x02]) + struct.pack("!H", len(authority)) + authority
        tlvs += bytes([0x04, 0x00, 0x03, 0, 0, 0])  # PP2_TYPE_NOOP padding
        sock, reply = self.tunnel(v2_header("2001:db8::5", 6000, tlvs=tlvs))
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        sock.sendall(b"ping\n")
        self.assertEqual(harness.recv_exact(sock, 5), b"ping\n")
        clients = [row["client"] for row in connection_rows(self.admin)]
        self.assertIn("[2001:db8::5]:6000", clients)

    def test_v2_tcp4_header_sent_byte_by_byte(self):
        sock = connect_from(self.server, TRUSTED)
        self.addCleanup(sock.close)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for byte in v2_header("192.0.2.33", 33333):
            sock.send(bytes([byte]))
            time.sleep(0.002)
        sock.sendall(socks_handshake("127.0.0.1", self.echo.port))
        self.assertEqual(read_handshake_replies(sock)[1], harness.REP_SUCCESS)
        self.assertIn("192.0.2.33:33333", [row["client"] for row in connection_rows(self.admin)])

    def test_local_and_unknown_headers_keep_the_balancers_address(self):
        for header in (v2_header(None, command=0x0), b"PROXY UNKNOWN\r\n",
                       v2_header("192.0.2.1", 1, command=0x0)):
            sock, reply = self.tunnel(header)
            self.assertEqual(reply[1], harness.REP_SUCCESS)
            own = harness.format_endpoint(*sock.getsockname()[:2])
            self.assertIn(own, [row["client"] for row in connection_rows(self.admin)])
            sock.close()
        self.assertEqual(self.counted("proxy_headers"), 3)

    def test_a_header_from_an_untrusted_source_is_refused(self):
        self.refused(v1_header("203.0.113.10", 1000) + socks_handshake("127.0.0.1", 9),
                     source=UNTRUSTED)
        self.refused(v2_header("203.0.113.10", 1000), source=UNTRUSTED)
        self.assertEqual(self.counted("proxy_header_untrusted"), 2)
        self.assertEqual(self.counted("unsupported_input"), 0)
        # Plain SOCKS from there goes on as usual, without a header.
        sock, reply = self.tunnel(b"", source=UNTRUSTED)
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        self.assertIn(harness.format_endpoint(*sock.getsockname()[:2]),
                      [row["client"] for row in connection_rows(self.admin)])

    def test_no_header_from_a_trusted_source_is_refused(self):
        self.refused(socks_handshake("127.0.0.1", self.echo.port))
        self.refused(b"GET / HTTP/1.0\r\n\r\n")
        self.assertEqual(self.counted("proxy_header_missing"), 2)

    def test_malformed_headers_are_refused(self):
        bad = [
            b"PROXY TCP4 203.0.113.9 127.0.0.1 4242 1080\n",          # no CR
            b"PROXY TCP4 203.0.113.9 127.0.0.1 4242 99999\r\n",       # port
            b"PROXY TCP4 2001:db8::1 127.0.0.1 4242 1080\r\n",        # family
            b"PROXY TCP4 203.0.113.9  127.0.0.1 4242 1080\r\n",       # two spaces
            b"PROXY UNKNOWN " + b"x" * 100 + b"\r\n",                  # over 107 bytes
            V2_SIGNATURE + b"\x11\x11\x00\x0c" + bytes(12),            # version 1
            V2_SIGNATURE + b"\x23\x11\x00\x0c" + bytes(12),            # command 3
            V2_SIGNATURE + b"\x21\x51\x00\x0c" + bytes(12),            # family 5
            V2_SIGNATURE + b"\x21\x21\x00\x0c" + bytes(12),            # too short for IPv6
            V2_SIGNATURE + b"\x21\x11\xff\xff",                        # over 2048 bytes
        ]
        for header in bad:
            self.refused(header + socks_handshake("127.0.0.1", self.echo.port))
        self.assertEqual(self.counted("proxy_header_malformed"), len(bad))
        self.assertEqual(self.counted("proxy_headers"), 0)
        self.assertIn("PROXY header refused: v1: no CRLF within 107 bytes",
                      self.server.stderr_text())

    def test_a_header_cut_short_is_refused(self):
        full = v1_header("203.0.113.11", 1111)
        self.refused(full[:20], half_close=True)
        self.refused(v2_header("203.0.113.11", 1111)[:14], half_close=True)
        wait_until(lambda: self.counted("proxy_header_truncated") == 2, what="2 truncated")
        # A balancer's plain TCP check (connect, close) is not a header cut short.
        self.refused(b"", half_close=True)
        time.sleep(0.3)
        self.assertEqual(self.counted("proxy_header_truncated"), 2)

    def test_slow_headers_are_refused_within_the_handshake_timeout(self):
        header = v1_header("203.0.113.12", 1212)
        results = {}

        def dribble():
            # A byte every 0.25 s: the header would take 12 s, the timeout does not restart.
            sock = connect_from(self.server, TRUSTED)
            start = time.monotonic()
            with sock:
                try:
                    for byte in header:
                        sock.send(bytes([byte]))
                        time.sleep(0.25)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                results["dribble"] = (closed_without_answer(sock, 1.0),
                                      time.monotonic() - start)

        thread = threading.Thread(target=dribble, daemon=True)
        thread.start()
        sock = connect_from(self.server, TRUSTED)
        with sock:
            start = time.monotonic()
            sock.sendall(header[:10])
            self.assertTrue(closed_without_answer(sock, HANDSHAKE_TIMEOUT + CLOSE_SLACK))
            elapsed = time.monotonic() - start
        thread.join(30)
        self.assertGreaterEqual(elapsed, HANDSHAKE_TIMEOUT * 0.9)
        self.assertLess(elapsed, HANDSHAKE_TIMEOUT + CLOSE_SLACK)
        closed, dribble_elapsed = results["dribble"]
        self.assertTrue(closed)
        self.assertLess(dribble_elapsed, len(header) * 0.25)
        self.assertEqual(self.counted("proxy_header_slow"), 2)
        self.assertEqual(self.counted("proxy_headers"), 0)


CLIENT_ADDRESS_RULES = """
rules = (
  { name = "no-documentation-net"; action = "deny"; from = "198.51.100.0/24"; }
);
"""


class ClientAddressTest(ServerCase):
    """The header's client is what the per-address limit, the rules, the login throttle and
    the UDP relay see, though every connection comes from the same balancer."""

    EXTRA_ARGS = ("--max-connections-per-address", "1")
    CONFIG = CLIENT_ADDRESS_RULES

    def test_the_per_address_limit_counts_header_clients(self):
        first, reply = self.tunnel(v1_header("192.0.2.10", 1))
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        second, reply = self.tunnel(v1_header("192.0.2.10", 2))
        self.assertEqual(reply[1], 0x02)  # not allowed: that client is at its limit
        third, reply = self.tunnel(v1_header("192.0.2.11", 1))
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        self.assertEqual(self.counted("limit_refusals"), 1)
        self.assertIn("client 192.0.2.10:2 is at max-connections-per-address=1",
                      self.server.stderr_text())

    def test_rules_from_match_the_header_client(self):
        sock, reply = self.tunnel(v2_header("198.51.100.7", 7))
        self.assertEqual(reply[1], 0x02)
        sock, reply = self.tunnel(v2_header("203.0.113.7", 7))
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        self.assertEqual(self.counted("rule_denials"), 1)

    def failed_login(self, client):
        """A wrong password behind a header naming client; seconds until the answer."""
        sock = connect_from(self.server, TRUSTED)
        with sock:
            sock.sendall(v1_header(client, 5555) + harness.greeting(harness.METHOD_USERPASS))
            self.assertEqual(harness.recv_exact(sock, 2), bytes([5, harness.METHOD_USERPASS]))
            start = time.monotonic()
            sock.sendall(harness.auth_request(TEST_USER, "wrong"))
            self.assertEqual(harness.recv_exact(sock, 2), b"\x01\x01")
            return time.monotonic() - start

    def test_the_login_throttle_counts_header_clients(self):
        # Failures 4, 5, 6 from one client wait 0.25, 0.5, 1 s (PROTOCOL.md 4.4) ...
        timings = [self.failed_login("192.0.2.20") for _ in range(6)]
        self.assertGreaterEqual(timings[5], 0.9, timings)
        # ... while another client behind the same balancer is answered at once.
        self.assertLess(self.failed_login("192.0.2.21"), 0.75)

    def test_udp_associate_accepts_the_header_clients_datagrams_only(self):
        udp_echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_echo.bind(("127.0.0.1", 0))
        self.addCleanup(udp_echo.close)
        udp_echo.settimeout(harness.SOCKET_TIMEOUT)
        client_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        client_udp.bind(("127.0.0.1", 0))
        self.addCleanup(client_udp.close)
        datagram_header = (b"\x00\x00\x00\x01" + socket.inet_aton("127.0.0.1")
                           + struct.pack("!H", udp_echo.getsockname()[1]))

        def associate(header):
            sock = connect_from(self.server, TRUSTED)
            self.addCleanup(sock.close)
            sock.sendall(header + harness.greeting(harness.METHOD_USERPASS)
                         + harness.auth_request()
                         + harness.request("0.0.0.0", 0, command=harness.CMD_UDP_ASSOCIATE))
            reply = read_handshake_replies(sock)
            self.assertEqual(reply[1], harness.REP_SUCCESS)
            return sock, (reply[4], reply[5])

        # The header names this host (the client's UDP socket's address): datagrams pass.
        control, relay = associate(v1_header("127.0.0.1", 40000))
        client_udp.sendto(datagram_header + b"through", relay)
        self.assertEqual(udp_echo.recvfrom(100)[0], b"through")
        control.close()
        # The header names another host: the same datagrams are foreign.
        control, relay = associate(v1_header("192.0.2.30", 40000))
        client_udp.sendto(datagram_header + b"foreign", relay)
        wait_until(lambda: self.counted("udp_dropped_foreign") == 1, what="a foreign drop")
        udp_echo.settimeout(0.3)
        with self.assertRaises(socket.timeout):
            udp_echo.recvfrom(100)


class ReloadTest(unittest.TestCase):
    """The trusted sources come from the configuration file, and a reload changes them for
    new connections."""

    def test_a_reload_changes_the_trusted_sources(self):
        harness.raise_fd_limit()
        echo = harness.EchoServer().start()
        self.addCleanup(echo.stop)
        directory = tempfile.mkdtemp(prefix="socks5d-proxy-reload-")
        self.addCleanup(shutil.rmtree, directory, True)
        config = os.path.join(directory, "socks5d.conf")
        with open(config, "w") as handle:
            handle.write('proxy-protocol-from = [ "10.9.9.9", "%s/32" ];\n' % TRUSTED)
        server = Socks5dProcess("-C", config)
        server.start()
        self.addCleanup(server.kill)
        handshake = socks_handshake("127.0.0.1", echo.port)
        with connect_from(server, TRUSTED) as sock:
            sock.sendall(v1_header("203.0.113.40", 40) + handshake)
            self.assertEqual(read_handshake_replies(sock)[1], harness.REP_SUCCESS)
        with open(config, "w") as handle:
            handle.write('proxy-protocol-from = [ "10.9.9.9" ];\n')
        server.process.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded; new connections get it" in server.stderr_text(),
                   what="the reload")
        with connect_from(server, TRUSTED) as sock:
            sock.sendall(v1_header("203.0.113.40", 41) + handshake)
            self.assertTrue(closed_without_answer(sock))
        with connect_from(server, TRUSTED) as sock:
            sock.sendall(handshake)
            self.assertEqual(read_handshake_replies(sock)[1], harness.REP_SUCCESS)
        self.assertEqual(harness.metrics_of(server)["proxy_header_untrusted"], 1)
        harness.check_stopped_cleanly(self, server)


if __name__ == "__main__":
    unittest.main()
