"""Basic socks5d behaviour with real clients: curl through the proxy (auth and no-auth), method
selection, RFC 1929 failures, the command line, and the access-log line format."""

import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (TEST_USER, TEST_PASSWORD, METHOD_NO_AUTH, METHOD_USERPASS,
                     METHOD_NONE_ACCEPTABLE, recv_exact, peer_closed)

CURL_TIMEOUT = 20


def run_curl(proxy_port, url, proxy_user=None):
    args = ["curl", "--silent", "--show-error", "--max-time", "10", "--noproxy", "",
            "--socks5-hostname", "127.0.0.1:%d" % proxy_port, url]
    if proxy_user is not None:
        args[1:1] = ["--proxy-user", proxy_user]
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin"}  # no *_proxy variables from the caller
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=CURL_TIMEOUT, env=env)


class CurlWithAuth(harness.ServerTestCase):
    """Server requires username/password (no -n)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = harness.HttpServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.http.stop()
        super().tearDownClass()

    def test_curl_by_name_localhost(self):
        result = run_curl(self.server.port, "http://localhost:%d/page" % self.http.port,
                          "%s:%s" % (TEST_USER, TEST_PASSWORD))
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, harness.PageHandler.BODY)
        entry = self.server.wait_access_line(
            lambda e: e["dest"] == "localhost:%d" % self.http.port)
        self.assertEqual(entry["user"], TEST_USER)
        self.assertEqual(entry["status"], 0)
        self.assertIn(entry["dest_addr"], ("127.0.0.1:%d" % self.http.port,
                                           "[::1]:%d" % self.http.port))
        self.assertGreater(entry["down"], len(harness.PageHandler.BODY))
        self.assertGreater(entry["up"], 0)

    def test_curl_by_ipv4(self):
        result = run_curl(self.server.port, "http://127.0.0.1:%d/" % self.http.port,
                          "%s:%s" % (TEST_USER, TEST_PASSWORD))
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, harness.PageHandler.BODY)
        entry = self.server.wait_access_line(
            lambda e: e["dest"] == "127.0.0.1:%d" % self.http.port)
        self.assertEqual(entry["dest_addr"], "127.0.0.1:%d" % self.http.port)
        self.assertEqual((entry["user"], entry["status"]), (TEST_USER, 0))

    def test_curl_by_ipv6(self):
        result = run_curl(self.server.port, "http://[::1]:%d/" % self.http.port,
                          "%s:%s" % (TEST_USER, TEST_PASSWORD))
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, harness.PageHandler.BODY)

    def test_curl_without_credentials_is_rejected(self):
        # curl then offers only method 0x00; the server must answer 05 FF and close.
        result = run_curl(self.server.port, "http://127.0.0.1:%d/" % self.http.port)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, b"")

    def test_curl_wrong_password_is_rejected(self):
        result = run_curl(self.server.port, "http://127.0.0.1:%d/" % self.http.port,
                          "%s:wrong-password" % TEST_USER)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, b"")


class CurlNoAuth(harness.ServerTestCase):
    """Server started with -n: clients offering only 0x00 are accepted."""

    SERVER_ARGS = ("-n",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = harness.HttpServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.http.stop()
        super().tearDownClass()

    def test_curl_without_proxy_user(self):
        result = run_curl(self.server.port, "http://localhost:%d/x" % self.http.port)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, harness.PageHandler.BODY)
        entry = self.server.wait_access_line(
            lambda e: e["dest"] == "localhost:%d" % self.http.port)
        self.assertEqual(entry["user"], "anonymous")
        self.assertEqual(entry["status"], 0)

    def test_curl_with_proxy_user_still_authenticates(self):
        result = run_curl(self.server.port, "http://127.0.0.1:%d/" % self.http.port,
                          "%s:%s" % (TEST_USER, TEST_PASSWORD))
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        entry = self.server.wait_access_line(
            lambda e: e["dest"] == "127.0.0.1:%d" % self.http.port)
        self.assertEqual(entry["user"], TEST_USER)

    def test_userpass_chosen_when_both_offered(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_NO_AUTH, METHOD_USERPASS))
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_USERPASS]))

    def test_raw_no_auth_tunnel(self):
        message = b"anonymous echo"
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port, user=None)
        with sock:
            sock.sendall(message)
            self.assertEqual(recv_exact(sock, len(message)), message)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["user"], "anonymous")


class MethodAndAuth(harness.ServerTestCase):
    """Method selection and RFC 1929 on a server that requires auth."""

    def test_only_no_auth_offered_gets_ff_and_close(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_NO_AUTH))
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_NONE_ACCEPTABLE]))
            self.assertTrue(peer_closed(sock), "connection not closed after 05 FF")

    def test_unknown_methods_only_gets_ff_and_close(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(0x01, 0x80, 0xFE))
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_NONE_ACCEPTABLE]))
            self.assertTrue(peer_closed(sock), "connection not closed after 05 FF")

    def test_userpass_chosen_among_many(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_NO_AUTH, 0x01, METHOD_USERPASS, 0x80))
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_USERPASS]))

    def test_wrong_password_gets_0101_and_close(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_USERPASS))
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_USERPASS]))
            sock.sendall(harness.auth_request(TEST_USER, "not-the-password"))
            self.assertEqual(recv_exact(sock, 2), b"\x01\x01")
            self.assertTrue(peer_closed(sock), "connection not closed after 01 01")
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["user"], "-")
        self.assertEqual(entry["dest"], "-")
        self.assertEqual(entry["dest_addr"], "-")
        self.assertEqual((entry["up"], entry["down"]), (0, 0))

    def test_unknown_user_gets_0101_and_close(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_USERPASS))
            recv_exact(sock, 2)
            sock.sendall(harness.auth_request("mallory", TEST_PASSWORD))
            self.assertEqual(recv_exact(sock, 2), b"\x01\x01")
            self.assertTrue(peer_closed(sock), "connection not closed after 01 01")

    def test_empty_password_gets_0101(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_USERPASS))
            recv_exact(sock, 2)
            sock.sendall(harness.auth_request(TEST_USER, ""))
            self.assertEqual(recv_exact(sock, 2), b"\x01\x01")
            self.assertTrue(peer_closed(sock), "connection not closed after 01 01")

    def test_password_never_logged(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(harness.greeting(METHOD_USERPASS))
            recv_exact(sock, 2)
            sock.sendall(harness.auth_request(TEST_USER, "wrong-Pa55-marker"))
            recv_exact(sock, 2)
        echo_sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        echo_sock.close()
        self.server.wait_access_line_for_client(echo_sock)
        text = self.server.stderr_text()
        self.assertNotIn("wrong-Pa55-marker", text)
        self.assertNotIn(TEST_PASSWORD, text)

    def test_bad_version_in_greeting_is_closed(self):
        with harness.connect_proxy(self.server) as sock:
            sock.sendall(bytes([4, 1, 0]))
            self.assertTrue(peer_closed(sock), "SOCKS4-looking greeting not closed")


class AccessLogFormat(harness.ServerTestCase):

    def test_line_format_and_fields_ipv4(self):
        message = b"12345"
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with sock:
            sock.sendall(message)
            self.assertEqual(recv_exact(sock, 5), message)
            local = sock.getsockname()
        entry = self.server.wait_access_line_for_client(sock)
        self.assertRegex(entry["line"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z access user=\S+ client=\S+ "
                         r"dest=\S+ dest_addr=\S+ up=\d+ down=\d+ status=\d+ kind=connect$")
        self.assertEqual(entry["user"], TEST_USER)
        self.assertEqual(entry["client"], "127.0.0.1:%d" % local[1])
        self.assertEqual(entry["dest"], "127.0.0.1:%d" % self.echo.port)
        self.assertEqual(entry["dest_addr"], "127.0.0.1:%d" % self.echo.port)
        self.assertEqual((entry["up"], entry["down"], entry["status"]), (5, 5, 0))

    def test_fields_domain(self):
        sock, _ = harness.open_tunnel(self.server, "localhost", self.echo.port)
        with sock:
            sock.sendall(b"abc")
            recv_exact(sock, 3)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["dest"], "localhost:%d" % self.echo.port)
        self.assertIn(entry["dest_addr"], ("127.0.0.1:%d" % self.echo.port,
                                           "[::1]:%d" % self.echo.port))
        self.assertEqual((entry["up"], entry["down"], entry["status"]), (3, 3, 0))

    def test_fields_ipv6(self):
        sock, _ = harness.open_tunnel(self.server, "::1", self.echo.port)
        with sock:
            sock.sendall(b"v6")
            recv_exact(sock, 2)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["dest"], "[::1]:%d" % self.echo.port)
        self.assertEqual(entry["dest_addr"], "[::1]:%d" % self.echo.port)
        self.assertEqual((entry["up"], entry["down"], entry["status"]), (2, 2, 0))

    def test_fields_refused(self):
        port = harness.closed_port()
        reply, sock = harness.request_reply(self.server, harness.request("127.0.0.1", port))
        sock.close()
        self.assertEqual(reply[1], harness.REP_CONNECTION_REFUSED)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["dest"], "127.0.0.1:%d" % port)
        self.assertEqual(entry["dest_addr"], "-")
        self.assertEqual((entry["up"], entry["down"], entry["status"]), (0, 0, 5))

    def test_fields_no_request(self):
        with harness.connect_proxy(self.server) as sock:
            harness.negotiate(sock)
            local = sock.getsockname()
        entry = self.server.wait_access_line(
            lambda e: e["client"] == "127.0.0.1:%d" % local[1])
        self.assertEqual(entry["user"], TEST_USER)
        self.assertEqual(entry["dest"], "-")
        self.assertEqual(entry["dest_addr"], "-")

    def test_one_line_per_connection(self):
        sockets = []
        for _ in range(5):
            sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
            sockets.append(sock)
        for sock in sockets:
            sock.close()
        for sock in sockets:
            self.server.wait_access_line_for_client(sock)
        time.sleep(0.2)
        clients = [e["client"] for e in self.server.access_lines() if "client" in e]
        self.assertEqual(len(clients), len(set(clients)), "duplicate access lines")
        malformed = [e["malformed"] for e in self.server.access_lines() if "malformed" in e]
        self.assertEqual(malformed, [])

    def test_every_log_line_is_timestamped(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        sock.close()
        self.server.wait_access_line_for_client(sock)
        for line in self.server.stderr_text().splitlines():
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z "
                                   r"(error|warn|info|debug|access) ")


class AccessLogOff(harness.ServerTestCase):
    SERVER_ARGS = ("--access-log", "off")

    def test_no_access_lines(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with sock:
            sock.sendall(b"x")
            recv_exact(sock, 1)
        time.sleep(0.3)
        self.assertEqual(self.server.access_lines(), [])


class IPv6Listener(harness.ServerTestCase):
    SERVER_LISTEN = ("127.0.0.1", "::1")

    def test_both_listeners_announced(self):
        hosts = sorted(host for host, _ in self.server.socks_endpoints)
        self.assertEqual(hosts, ["127.0.0.1", "::1"])

    def test_one_listen_line_per_listener(self):
        # Exactly one line per SOCKS listener and one for the admin listener (-P 0: a real port).
        self.server.wait_admin_listener()
        lines = [line for line in self.server.stderr_text().splitlines()
                 if " listening for " in line]
        self.assertEqual(len([line for line in lines if "for socks5 on" in line]), 2, lines)
        self.assertEqual(len(self.server.admin_endpoints), 1, lines)
        self.assertEqual(self.server.admin_endpoints[0][0], "127.0.0.1")
        self.assertNotEqual(self.server.admin_endpoints[0][1], 0)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info listening for "
                                   r"(socks5|admin) on (\[[0-9a-f:]+\]|[0-9.]+):\d+$")

    def test_client_over_ipv6(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port,
                                      family=socket.AF_INET6)
        with sock:
            sock.sendall(b"hello over v6")
            self.assertEqual(recv_exact(sock, 13), b"hello over v6")
            local = sock.getsockname()
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual(entry["client"], "[::1]:%d" % local[1])


class CommandLine(unittest.TestCase):

    def run_server(self, *args):
        binary = harness.server_binary()
        with tempfile.TemporaryDirectory(prefix="socks5d-state-") as state_dir:
            try:
                return subprocess.run([binary] + list(args), stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      timeout=8, env=harness.isolated_env(state_dir))
            except subprocess.TimeoutExpired as expired:
                self.fail("socks5d %r still running after 8 s instead of exiting; stderr: %r"
                          % (list(args), expired.stderr))

    def assert_usage_error(self, args, *mentions):
        """Exit 64 with one line on stderr that names the flag or the bad value."""
        result = self.run_server(*args)
        stderr = result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, 64, "args %r: stderr %r" % (args, stderr))
        lines = [line for line in stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, "args %r: expected a one-line message, got %r"
                         % (args, stderr))
        self.assertTrue(any(mention in lines[0] for mention in mentions),
                        "args %r: message %r should name the problem (one of %r)"
                        % (args, lines[0], mentions))

    def test_help(self):
        for flag in ("-h", "--help"):
            result = self.run_server(flag)
            self.assertEqual(result.returncode, 0)
            self.assertIn(b"-p", result.stdout + result.stderr)

    def test_version(self):
        for flag in ("-v", "--version"):
            result = self.run_server(flag)
            self.assertEqual(result.returncode, 0)
            output = (result.stdout + result.stderr).decode()
            self.assertRegex(output.splitlines()[0], r"^socks5d \d+\.\d+\.\d+$")
            self.assertGreaterEqual(len(output.strip().splitlines()), 2,
                                    "version output should include a line on its origin")

    def test_bad_flag(self):
        self.assert_usage_error(["--no-such-flag"], "no-such-flag")
        self.assert_usage_error(["-Z"], "Z")

    def test_missing_argument(self):
        self.assert_usage_error(["-p"], "-p")

    def test_bad_port(self):
        self.assert_usage_error(["-p", "99999"], "-p", "99999")
        self.assert_usage_error(["-p", "http"], "-p", "http")
        self.assert_usage_error(["-p", "-1"], "-p", "-1")
        self.assert_usage_error(["-P", "70000"], "-P", "70000")

    def test_bad_listen_address(self):
        self.assert_usage_error(["-p", "0", "-P", "0", "-l", "1.2.3"], "1.2.3")

    def test_listen_address_must_be_literal(self):
        self.assert_usage_error(["-p", "0", "-P", "0", "-l", "localhost"], "localhost")

    def test_bad_admin_address(self):
        self.assert_usage_error(["-p", "0", "-P", "0", "-L", "::g"], "::g")

    def test_bad_numbers(self):
        self.assert_usage_error(["-b", "100"], "-b", "100", "buffer")
        self.assert_usage_error(["-b", "99999999"], "-b", "99999999", "buffer")
        self.assert_usage_error(["-t", "soon"], "-t", "soon")
        self.assert_usage_error(["-d", "loud"], "-d", "loud")
        self.assert_usage_error(["-c", "lots"], "-c", "lots")

    def test_bad_user_spec(self):
        self.assert_usage_error(["-u", "no-colon"], "-u", "no-colon")


if __name__ == "__main__":
    unittest.main()
