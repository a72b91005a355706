#!/usr/bin/env python3
"""socks5d's lifecycle: SIGTERM lets live tunnels finish within the grace time and refuses new
clients meanwhile; a second SIGTERM or the end of the grace time closes them; --run-as drops
root after binding."""
import os
import signal
import socket
import time
import unittest

from harness import (EchoServer, EchoTestCase, Socks5dProcess, check_stopped_cleanly,
                     connect_proxy, open_tunnel, recv_exact, STOP_TIMEOUT)


class GracefulShutdown(EchoTestCase):
    def test_live_tunnel_finishes_after_sigterm_and_new_clients_are_refused(self):
        server = self.start_server("--shutdown-grace", "20")
        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
        with tunnel:
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertIsNone(server.process.poll(), "exited while a tunnel was live")
            # The listener is closed: a new client is refused at the TCP level.
            with self.assertRaises(ConnectionRefusedError):
                connect_proxy(server).close()
            tunnel.sendall(b"still moving\n")
            self.assertEqual(recv_exact(tunnel, 13), b"still moving\n")
        # The last tunnel ended: the server exits at once, well before the grace time.
        started = time.monotonic()
        server.process.wait(timeout=STOP_TIMEOUT)
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertIn("all tunnels finished", server.stderr_text())
        check_stopped_cleanly(self, server)

    def test_grace_time_runs_out(self):
        server = self.start_server("--shutdown-grace", "1")
        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
        with tunnel:
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=STOP_TIMEOUT)
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            tunnel.settimeout(5)
            try:
                self.assertEqual(tunnel.recv(1), b"", "tunnel closed when the grace time ran out")
            except ConnectionResetError:
                pass
        check_stopped_cleanly(self, server)

    def test_second_sigterm_stops_at_once(self):
        server = self.start_server("--shutdown-grace", "60")
        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
        with tunnel:
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            server.process.wait(timeout=STOP_TIMEOUT)
            self.assertLess(time.monotonic() - started, 5.0)
        check_stopped_cleanly(self, server)


def wait_ready(server, timeout=10.0):
    """Privileges drop after binding: wait for the line that says the server is ready."""
    deadline = time.monotonic() + timeout
    while "socks5d ready" not in server.stderr_text():
        if time.monotonic() > deadline:
            raise AssertionError("no 'socks5d ready' line:\n" + server.stderr_text())
        time.sleep(0.02)


@unittest.skipUnless(os.geteuid() == 0, "dropping privileges needs root")
class RunAs(unittest.TestCase):
    def test_drops_to_nobody_after_binding_and_still_serves(self):
        echo = EchoServer().start()
        self.addCleanup(echo.stop)
        server = Socks5dProcess("--run-as", "nobody")
        # The users file lives where nobody may write it.
        os.chmod(server.state_dir, 0o777)
        server.start()
        self.addCleanup(server.kill)
        wait_ready(server)
        with open("/proc/%d/status" % server.process.pid) as status:
            uid_line = next(line for line in status if line.startswith("Uid:"))
        self.assertEqual(set(uid_line.split()[1:]), {"65534"}, uid_line)
        tunnel, _ = open_tunnel(server, "127.0.0.1", echo.port)
        with tunnel:
            tunnel.sendall(b"ping\n")
            self.assertEqual(recv_exact(tunnel, 5), b"ping\n")
        check_stopped_cleanly(self, server)

    def test_unknown_account_fails_to_start(self):
        server = Socks5dProcess("--run-as", "no-such-account-here")
        self.addCleanup(server.kill)
        try:
            server.start()  # may see the listening lines before the failure
        except AssertionError:
            pass
        self.assertEqual(server.process.wait(timeout=STOP_TIMEOUT), 1)
        self.assertIn("--run-as no-such-account-here: no such account", server.stderr_text())


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    unittest.main()
