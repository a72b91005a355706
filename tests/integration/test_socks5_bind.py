"""BIND (RFC 1928 section 6) against the real server: a raw client asks for a rendezvous and a
peer on loopback connects to it — both replies, data both ways, half-close each way, a peer
from the wrong host refused while the right one is still accepted, the 0x06 timeout, the
client leaving while it waits, and every descriptor given back; the connection shows as kind
`bind` in the access log, the admin's connections table and socks5ctl's listing."""

import os
import socket
import struct
import subprocess
import time
import unittest

import harness
from harness import recv_exact, read_reply, REP_SUCCESS, TEST_USER

REP_NOT_ALLOWED = 0x02
REP_TTL_EXPIRED = 0x06
CONNECT_TIMEOUT_S = 2
ADMIN_CMD_CONNECTIONS = 0x05
CONNECTIONS_LIVE = 0x00


def open_descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def ipv6_loopback_usable():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::1", 0))
        return True
    except OSError:
        return False


def admin_connections_table(server):
    """Every live connection as {column: text}, read with the connections command (8.9)."""
    with harness.AdminClient(server) as admin:
        body = bytes([0, CONNECTIONS_LIVE]) + struct.pack("!II", 0, 0)
        status, text = admin.request(ADMIN_CMD_CONNECTIONS, body)
        if status != harness.ADMIN_STATUS_OK:
            raise AssertionError("connections: status %d %r" % (status, text))
    _, _, table = text.decode().partition("\n\n")
    header, *rows = table.rstrip("\n").split("\n")
    names = header.split("\t")
    return [dict(zip(names, row.split("\t"))) for row in rows]


class BindTest(harness.ServerTestCase):
    SERVER_ARGS = ("--connect-timeout", str(CONNECT_TIMEOUT_S))

    def setUp(self):
        super().setUp()
        # Once the server is all up (the admin's thread opens its listener after the SOCKS
        # ones are announced; a first tunnel fills what the worker sets up on first use) its
        # descriptor count settles: from there every BIND must give back all it took.
        self.server.wait_admin_listener()
        harness.echo_roundtrip(self.server, self.echo)
        pid = self.server.process.pid
        counts = [open_descriptors(pid)]
        deadline = time.monotonic() + 10
        while len(set(counts[-3:])) != 1 or len(counts) < 3:
            self.assertLess(time.monotonic(), deadline, "descriptors never settled: %r" % counts)
            time.sleep(0.1)
            counts.append(open_descriptors(pid))
        self.baseline = counts[-1]

    def assert_descriptors_back(self):
        pid = self.server.process.pid
        self.assertTrue(wait_for(lambda: open_descriptors(pid) == self.baseline, 5.0),
                        "descriptors: %d, %d before" % (open_descriptors(pid), self.baseline))

    def bind(self, host, port=0, family=socket.AF_INET):
        """A client with a BIND for host:port sent and its first reply read: (sock, reply)."""
        sock = harness.connect_proxy(self.server, family)
        self.addCleanup(sock.close)
        harness.negotiate(sock)
        sock.sendall(harness.request(host, port, command=harness.CMD_BIND))
        return sock, read_reply(sock)

    def peer(self, reply, source="127.0.0.1"):
        """A peer connected to the rendezvous the first reply named, from source."""
        family = socket.AF_INET6 if ":" in reply[4] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.settimeout(harness.SOCKET_TIMEOUT)
        sock.bind((source, 0))
        sock.connect((reply[4], reply[5]))
        return sock

    def expect_second_reply(self, client, peer):
        reply = read_reply(client)
        self.assertEqual(reply[1], REP_SUCCESS, reply)
        self.assertEqual((reply[4], reply[5]), peer.getsockname()[:2])

    # ---- the rendezvous and the relay ----

    def test_replies_name_the_rendezvous_then_the_peer_and_data_flows_both_ways(self):
        client, first = self.bind("127.0.0.1")
        self.assertEqual(first[:4], (5, REP_SUCCESS, 0, harness.ATYP_IPV4))
        self.assertEqual(first[4], "127.0.0.1", "listens where 127.0.0.1 reaches this server")
        self.assertNotEqual(first[5], 0)
        peer = self.peer(first)
        self.expect_second_reply(client, peer)
        client.sendall(b"to the peer")
        self.assertEqual(recv_exact(peer, 11), b"to the peer")
        peer.sendall(b"to the client, longer")
        self.assertEqual(recv_exact(client, 21), b"to the client, longer")
        # Half-close from the client: the peer sees EOF and can still answer.
        client.shutdown(socket.SHUT_WR)
        self.assertEqual(peer.recv(16), b"")
        peer.sendall(b"after your FIN")
        self.assertEqual(recv_exact(client, 14), b"after your FIN")
        peer_name = harness.format_endpoint(*peer.getsockname()[:2])
        peer.close()
        self.assertEqual(client.recv(16), b"")
        entry = self.server.wait_access_line_for_client(client)
        self.assertEqual((entry["kind"], entry["status"], entry["up"], entry["down"]),
                         ("bind", 0, 11, 35))
        self.assertEqual(entry["dest"], "127.0.0.1:0")
        self.assertEqual(entry["dest_addr"], peer_name)
        client.close()
        self.assert_descriptors_back()

    def test_half_close_from_the_peer(self):
        client, first = self.bind("127.0.0.1")
        peer = self.peer(first)
        self.expect_second_reply(client, peer)
        peer.sendall(b"first")
        peer.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_exact(client, 5), b"first")
        self.assertEqual(client.recv(16), b"", "the peer's FIN reaches the client")
        client.sendall(b"the client still talks")
        self.assertEqual(recv_exact(peer, 22), b"the client still talks")
        client.shutdown(socket.SHUT_WR)
        self.assertEqual(peer.recv(16), b"")
        client.close()
        peer.close()
        self.assert_descriptors_back()

    def test_peer_reset_reaches_the_client_as_a_reset(self):
        client, first = self.bind("127.0.0.1")
        peer = self.peer(first)
        self.expect_second_reply(client, peer)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        peer.close()
        with self.assertRaises(ConnectionResetError):
            client.recv(16)
        client.close()
        self.assert_descriptors_back()

    def test_bytes_the_client_sends_early_reach_the_peer(self):
        client, first = self.bind("127.0.0.1")
        client.sendall(b"sent before the peer came")
        time.sleep(0.2)  # the server sees them while it still waits
        peer = self.peer(first)
        self.expect_second_reply(client, peer)
        self.assertEqual(recv_exact(peer, 25), b"sent before the peer came")
        client.close()
        peer.close()
        self.assert_descriptors_back()

    # ---- who may connect ----

    def test_wrong_peer_is_refused_and_the_wait_goes_on(self):
        client, first = self.bind("127.0.0.2")
        wrong = self.peer(first, source="127.0.0.1")
        self.assertTrue(harness.peer_closed(wrong), "a peer from another host is closed")
        right = self.peer(first, source="127.0.0.2")
        self.expect_second_reply(client, right)
        right.sendall(b"the expected one")
        self.assertEqual(recv_exact(client, 16), b"the expected one")
        client.close()
        self.assertTrue(harness.peer_closed(right))
        right.close()
        self.assert_descriptors_back()

    def test_zero_address_takes_any_peer(self):
        # "Any peer": the rendezvous opens on the address the client's connection arrived on
        # (the safe defaults' "unspecified" is about connecting to 0.0.0.0, which a BIND does
        # not do), and a peer from another address is taken.
        client, first = self.bind("0.0.0.0")
        self.assertEqual(first[1], REP_SUCCESS)
        self.assertEqual(first[4], "127.0.0.1")
        peer = self.peer(first, source="127.0.0.2")
        self.expect_second_reply(client, peer)
        peer.sendall(b"from anywhere")
        self.assertEqual(recv_exact(client, 13), b"from anywhere")
        client.close()
        self.assertTrue(harness.peer_closed(peer))
        peer.close()
        entry = self.server.wait_access_line_for_client(client)
        self.assertEqual((entry["kind"], entry["status"]), ("bind", REP_SUCCESS))
        self.assert_descriptors_back()

    def test_name_rendezvous_takes_a_peer_from_its_address(self):
        # "localhost" comes from /etc/hosts (no DNS query): 127.0.0.1 or ::1, whichever the
        # system lists first; the listener and the expected peer follow it.
        client, first = self.bind("localhost")
        self.assertEqual(first[1], REP_SUCCESS)
        self.assertIn(first[4], ("127.0.0.1", "::1"))
        peer = self.peer(first, source=first[4])
        self.expect_second_reply(client, peer)
        entry_dest = "localhost:0"
        client.close()
        peer.close()
        self.assertEqual(self.server.wait_access_line_for_client(client)["dest"], entry_dest)
        self.assert_descriptors_back()

    @unittest.skipUnless(ipv6_loopback_usable(), "no IPv6 loopback")
    def test_ipv6_rendezvous(self):
        client, first = self.bind("::1")
        self.assertEqual((first[3], first[4]), (harness.ATYP_IPV6, "::1"))
        peer = self.peer(first, source="::1")
        self.expect_second_reply(client, peer)
        peer.sendall(b"six")
        self.assertEqual(recv_exact(client, 3), b"six")
        client.close()
        peer.close()
        self.assert_descriptors_back()

    # ---- the wait ending without a peer ----

    def test_no_peer_within_the_connect_timeout_is_ttl_expired(self):
        client, first = self.bind("127.0.0.1")
        started = time.monotonic()
        client.settimeout(CONNECT_TIMEOUT_S + 10)
        reply = read_reply(client)
        waited = time.monotonic() - started
        self.assertEqual(reply[1], REP_TTL_EXPIRED)
        self.assertGreater(waited, CONNECT_TIMEOUT_S - 0.5)
        self.assertTrue(harness.peer_closed(client))
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((first[4], first[5]), timeout=5).close()
        entry = self.server.wait_access_line_for_client(client)
        self.assertEqual((entry["kind"], entry["status"]), ("bind", REP_TTL_EXPIRED))
        client.close()
        self.assert_descriptors_back()

    def test_client_leaving_while_waiting_ends_the_bind(self):
        client, first = self.bind("127.0.0.1")
        client.close()
        # The rendezvous closes with the client, long before the timeout.
        def listener_gone():
            try:
                socket.create_connection((first[4], first[5]), timeout=5).close()
            except ConnectionRefusedError:
                return True
            return False
        self.assertTrue(wait_for(listener_gone, CONNECT_TIMEOUT_S / 2))
        self.assert_descriptors_back()

    # ---- the kind in the admin's table and the console ----

    def test_kind_bind_in_the_connections_table_and_socks5ctl(self):
        client, first = self.bind("127.0.0.1")
        peer = self.peer(first)
        self.expect_second_reply(client, peer)
        plain, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        self.addCleanup(plain.close)
        rows = admin_connections_table(self.server)
        kinds = {row["client"]: row["kind"] for row in rows}
        self.assertEqual(kinds[harness.client_name(client)], "bind")
        self.assertEqual(kinds[harness.client_name(plain)], "connect")

        import test_console_batch  # its Console runs socks5ctl as the batch tests do
        console = test_console_batch.Console(self, self.server.wait_admin_listener()[0][1])
        (page,) = console.json("connections", TEST_USER, "--live")
        kinds = {row["client"]: row["kind"] for row in page["rows"]}
        self.assertEqual(kinds[harness.client_name(client)], "bind")
        listing = console.run("connections", "--live", expect=0).out
        header = next(line for line in listing.splitlines() if line.startswith("id "))
        self.assertRegex(header, r"\bkind\b")
        line = next(line for line in listing.splitlines()
                    if harness.client_name(client) in line)
        self.assertRegex(line, r"\bbind\b")


if __name__ == "__main__":
    unittest.main()
