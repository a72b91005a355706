"""Every RFC 1928 reply socks5d can give, provoked with a raw client against loopback upstreams:
success (BND = the proxy's outbound address), refused, host unreachable, unsupported command,
unsupported address type, bad version; the access line's status for each, and the counters
each failure's cause bumps."""

import errno
import socket
import unittest

import harness
from harness import (request, request_domain, recv_exact, peer_closed,
                     REP_SUCCESS, REP_GENERAL_FAILURE, REP_HOST_UNREACHABLE,
                     REP_NETWORK_UNREACHABLE, REP_CONNECTION_REFUSED, REP_COMMAND_NOT_SUPPORTED,
                     REP_ADDRESS_TYPE_NOT_SUPPORTED, ATYP_IPV4, ATYP_IPV6)


class Replies(harness.ServerTestCase):

    def expect_reply(self, raw_request, expected_rep, closes=True):
        reply, sock = harness.request_reply(self.server, raw_request)
        with sock:
            version, rep, reserved = reply[:3]
            self.assertEqual(version, 5, "reply VER")
            self.assertEqual(reserved, 0, "reply RSV")
            self.assertEqual(rep, expected_rep, "reply REP for request %s" % raw_request.hex(" "))
            if closes:
                self.assertTrue(peer_closed(sock), "connection not closed after REP %d" % rep)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["status"], expected_rep, entry["line"])
        self.assertEqual((entry["up"], entry["down"]), (0, 0), entry["line"])
        return reply, entry

    # -- success ---------------------------------------------------------------------------

    def check_success(self, host, expected_atyp, expected_dest):
        sock, reply = harness.open_tunnel(self.server, host, self.echo.port)
        with sock:
            message = ("hello via %s\n" % host).encode()
            sock.sendall(message)
            self.assertEqual(recv_exact(sock, len(message)), message)
            _, rep, reserved, atyp, bnd_host, bnd_port = reply
            self.assertEqual((rep, reserved), (REP_SUCCESS, 0))
            self.assertEqual(atyp, expected_atyp, "BND ATYP")
            # BND.ADDR/BND.PORT must be the outbound socket's local address, i.e. exactly the
            # peer address the upstream saw.
            self.assertTrue(self.echo.saw_peer(bnd_host, bnd_port),
                            "BND %s:%d is not a peer the upstream saw: %r"
                            % (bnd_host, bnd_port, self.echo.peers[-5:]))
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["dest"], expected_dest)
        self.assertEqual(entry["status"], 0)
        self.assertEqual((entry["up"], entry["down"]), (len(message), len(message)))
        self.assertEqual(entry["dest_addr"], harness.format_endpoint(
            "::1" if atyp == ATYP_IPV6 else "127.0.0.1", self.echo.port))

    def test_success_ipv4_literal(self):
        self.check_success("127.0.0.1", ATYP_IPV4, "127.0.0.1:%d" % self.echo.port)

    def test_success_ipv6_literal(self):
        self.check_success("::1", ATYP_IPV6, "[::1]:%d" % self.echo.port)

    def test_success_domain_localhost(self):
        sock, reply = harness.open_tunnel(self.server, "localhost", self.echo.port)
        with sock:
            sock.sendall(b"by name")
            self.assertEqual(recv_exact(sock, 7), b"by name")
            self.assertIn(reply[3], (ATYP_IPV4, ATYP_IPV6))
            self.assertTrue(self.echo.saw_peer(reply[4], reply[5]),
                            "BND %s:%d is not a peer the upstream saw" % (reply[4], reply[5]))
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["dest"], "localhost:%d" % self.echo.port)

    # -- failures ----------------------------------------------------------------------------

    def test_refused_ipv4(self):
        self.expect_reply(request("127.0.0.1", harness.closed_port()), REP_CONNECTION_REFUSED)

    def test_refused_ipv6(self):
        self.expect_reply(request("::1", harness.closed_port("::1")), REP_CONNECTION_REFUSED)

    def test_refused_by_name(self):
        port, listeners = harness.bind_dual_loopback()
        for listener in listeners:
            listener.close()  # neither family listens on this port now
        self.expect_reply(request("localhost", port), REP_CONNECTION_REFUSED)

    def test_unresolvable_name(self):
        _, entry = self.expect_reply(request(harness.UNRESOLVABLE_NAME, 80), REP_HOST_UNREACHABLE)
        self.assertEqual(entry["dest"], "%s:80" % harness.UNRESOLVABLE_NAME)
        self.assertEqual(entry["dest_addr"], "-")

    def test_empty_domain(self):
        self.expect_reply(request_domain(b"", 80), REP_HOST_UNREACHABLE)

    def test_domain_with_nul(self):
        self.expect_reply(request_domain(b"local\x00host", self.echo.port), REP_HOST_UNREACHABLE)

    def test_unknown_command_not_supported(self):
        self.expect_reply(request("127.0.0.1", self.echo.port, command=0x09),
                          REP_COMMAND_NOT_SUPPORTED)

    def test_unknown_address_type(self):
        # Nothing after ATYP: the server cannot know the address length, so it must answer now.
        self.expect_reply(bytes([5, 1, 0, 0x05]), REP_ADDRESS_TYPE_NOT_SUPPORTED)

    def test_address_type_zero(self):
        self.expect_reply(bytes([5, 1, 0, 0x00]), REP_ADDRESS_TYPE_NOT_SUPPORTED)

    def test_bad_version_in_request(self):
        raw = bytearray(request("127.0.0.1", self.echo.port))
        raw[0] = 4
        self.expect_reply(bytes(raw), REP_GENERAL_FAILURE)

    def test_network_unreachable(self):
        # Only where no route exists: a UDP connect() sends nothing, it only consults routes.
        target = "2001:db8::1"
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        try:
            probe.connect((target, 9))
            self.skipTest("this machine has a route to %s; cannot provoke ENETUNREACH "
                          "without sending packets" % target)
        except OSError as error:
            if error.errno != errno.ENETUNREACH:
                self.skipTest("route lookup for %s gave %s" % (target, harness.errno_name(error)))
        finally:
            probe.close()
        self.expect_reply(request(target, 9), REP_NETWORK_UNREACHABLE)

    def test_reply_addresses_are_well_formed_on_failure(self):
        reply, sock = harness.request_reply(self.server,
                                            request("127.0.0.1", harness.closed_port()))
        sock.close()
        self.assertIn(reply[3], (ATYP_IPV4, ATYP_IPV6))


class FailureCounters(harness.ServerTestCase):
    """Counters follow the cause of a refusal, not the REP byte: an unreachable host counts in
    host_unreachable whether it was a name that failed to resolve or one no host can have; a
    failed lookup counts as a DNS error too; refusals for other causes leave it alone."""

    COUNTERS = ("host_unreachable", "connection_refused", "dns_errors", "unsupported_input",
                "server_errors")

    def counted(self, raw_request, expected_rep):
        with harness.AdminClient(self.server) as admin:
            before = admin.metrics()
            reply, sock = harness.request_reply(self.server, raw_request)
            with sock:
                self.assertEqual(reply[1], expected_rep, "REP for %s" % raw_request.hex(" "))
                self.assertTrue(peer_closed(sock))
            after = admin.metrics()
        return {name: after[name] - before[name] for name in self.COUNTERS}

    def expect_counted(self, raw_request, expected_rep, **expected):
        deltas = self.counted(raw_request, expected_rep)
        wanted = {name: expected.get(name, 0) for name in self.COUNTERS}
        self.assertEqual(deltas, wanted)

    def test_lookup_failure_counts_dns_and_unreachable_host(self):
        self.expect_counted(request(harness.UNRESOLVABLE_NAME, 80), REP_HOST_UNREACHABLE,
                            host_unreachable=1, dns_errors=1)

    def test_unusable_name_counts_unreachable_host_only(self):
        self.expect_counted(request_domain(b"", 80), REP_HOST_UNREACHABLE, host_unreachable=1)
        self.expect_counted(request_domain(b"local\x00host", 80), REP_HOST_UNREACHABLE,
                            host_unreachable=1)

    def test_refused_counts_refused_only(self):
        self.expect_counted(request("127.0.0.1", harness.closed_port()), REP_CONNECTION_REFUSED,
                            connection_refused=1)

    def test_unsupported_command_counts_unsupported_input_only(self):
        self.expect_counted(request("127.0.0.1", self.echo.port, command=0x09),
                            REP_COMMAND_NOT_SUPPORTED, unsupported_input=1)

    def test_malformed_requests_count_unsupported_input_only(self):
        self.expect_counted(bytes([5, 1, 0, 0x05]), REP_ADDRESS_TYPE_NOT_SUPPORTED,
                            unsupported_input=1)
        raw = bytearray(request("127.0.0.1", self.echo.port))
        raw[0] = 4
        self.expect_counted(bytes(raw), REP_GENERAL_FAILURE, unsupported_input=1)


class RepliesNoAuth(harness.ServerTestCase):
    """The same request phase reached without authentication (-n)."""
    SERVER_ARGS = ("-n",)

    def test_refused_without_auth(self):
        reply, sock = harness.request_reply(self.server,
                                            request("127.0.0.1", harness.closed_port()),
                                            user=None)
        with sock:
            self.assertEqual(reply[1], REP_CONNECTION_REFUSED)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["user"], entry["status"]), ("anonymous", 5))


if __name__ == "__main__":
    unittest.main()
