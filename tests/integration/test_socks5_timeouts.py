"""Timeouts: a client that stalls during the handshake is closed after -t seconds (and not long
after); an established tunnel is not subject to it; --idle-timeout closes quiet tunnels only."""

import socket
import time
import unittest

import harness
from harness import greeting, auth_request, recv_exact, METHOD_USERPASS

HANDSHAKE_TIMEOUT = 1  # seconds, passed as -t
UPPER_BOUND = 5.0      # generous for ASan on a busy 2-core machine, but bounded


class HandshakeTimeout(harness.ServerTestCase):
    SERVER_ARGS = ("-t", str(HANDSHAKE_TIMEOUT))

    def time_until_closed(self, sock):
        start = time.monotonic()
        sock.settimeout(UPPER_BOUND + 2)
        try:
            while True:
                data = sock.recv(4096)
                if data == b"":
                    break
        except ConnectionResetError:
            pass
        except socket.timeout:
            self.fail("connection still open %.1f s after the handshake stalled"
                      % (UPPER_BOUND + 2))
        return time.monotonic() - start

    def assert_closed_in_time(self, elapsed):
        self.assertGreaterEqual(elapsed, HANDSHAKE_TIMEOUT * 0.8,
                                "closed before the handshake timeout")
        self.assertLess(elapsed, UPPER_BOUND, "closed too long after the handshake timeout")

    def test_silent_client_is_closed(self):
        with harness.connect_proxy(self.server) as sock:
            self.assert_closed_in_time(self.time_until_closed(sock))
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["user"], entry["dest"], entry["dest_addr"]), ("-", "-", "-"))
        self.assertEqual((entry["up"], entry["down"]), (0, 0))

    def test_partial_greeting_is_closed(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(b"\x05")
            self.assert_closed_in_time(self.time_until_closed(sock))

    def test_stalled_after_auth_is_closed(self):
        with harness.connect_proxy(self.server) as sock:
            start = time.monotonic()
            sock.sendall(greeting(METHOD_USERPASS) + auth_request())
            self.assertEqual(recv_exact(sock, 4), bytes([5, METHOD_USERPASS, 1, 0]))
            self.time_until_closed(sock)
            elapsed = time.monotonic() - start
            self.assert_closed_in_time(elapsed)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["user"], entry["dest"]), (harness.TEST_USER, "-"))

    def test_trickling_client_is_still_bounded(self):
        # The timeout covers the whole handshake, not each read: one byte every 0.3 s never
        # finishes a handshake with a long user name within 1 s.
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(greeting(METHOD_USERPASS))
            recv_exact(sock, 2)
            start = time.monotonic()
            closed = False
            for byte in auth_request("u" * 40, "p" * 40):
                try:
                    sock.send(bytes([byte]))
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
                    break
                time.sleep(0.3)
                if time.monotonic() - start > UPPER_BOUND:
                    break
            if not closed:
                closed = harness.peer_closed(sock, timeout=1.0)
            self.assertTrue(closed, "a trickling handshake was never timed out")
            self.assertLess(time.monotonic() - start, UPPER_BOUND + 1.5)

    def test_many_silent_clients_are_all_closed(self):
        sockets = [harness.connect_proxy(self.server) for _ in range(50)]
        try:
            deadline = time.monotonic() + UPPER_BOUND
            for sock in sockets:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    self.assertEqual(sock.recv(10), b"")
                except ConnectionResetError:
                    pass
        finally:
            for sock in sockets:
                sock.close()

    def test_established_tunnel_outlives_handshake_timeout(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with sock:
            time.sleep(HANDSHAKE_TIMEOUT * 2.5)
            sock.sendall(b"still here")
            self.assertEqual(recv_exact(sock, 10), b"still here")


class IdleTimeout(harness.ServerTestCase):
    SERVER_ARGS = ("--idle-timeout", "1")

    def test_idle_tunnel_is_closed(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with sock:
            sock.sendall(b"x")
            recv_exact(sock, 1)
            start = time.monotonic()
            self.assertTrue(harness.peer_closed(sock, timeout=UPPER_BOUND),
                            "idle tunnel not closed")
            self.assertGreaterEqual(time.monotonic() - start, 0.8)

    def test_busy_tunnel_is_kept(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with sock:
            for index in range(8):  # 2.4 s of traffic, never 1 s quiet
                message = b"tick %d" % index
                sock.sendall(message)
                self.assertEqual(recv_exact(sock, len(message)), message)
                time.sleep(0.3)


if __name__ == "__main__":
    unittest.main()
