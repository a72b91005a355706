"""The Prometheus endpoint (--metrics-listen): a real scrape passes `promtool check metrics`, a
real Prometheus server scrapes socks5d on loopback and its HTTP API shows the bytes the test
moved, a scrape equals the admin protocol's metrics taken at the same quiet moment, and the
HTTP edge cases get their status codes (404, 405, 400, 431, 505, 408, the connection bound)."""

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (  # noqa: E402
    ADMIN_STATUS_OK, TEST_USER, AdminClient, EchoTestCase, SinkServer, Socks5dProcess,
    SourceServer, check_stopped_cleanly, open_tunnel, parse_admin_record, recv_until_eof, require_tool)

METRICS_RE = re.compile(r"listening for metrics on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)\s*$")
ADMIN_CMD_USER_METRICS = 0x04  # PROTOCOL.md 7.5
REQUEST_TIMEOUT = 5.0  # METRICS_REQUEST_TIMEOUT_MS in server/daemon/admin_thread.c
MAX_CONNECTIONS = 16   # METRICS_MAX_CONNECTIONS there
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')

# The admin metrics record's keys whose Prometheus series is not simply socks5d_<key>, with
# _total for counters (prometheus_text.c's series_overrides).
SERIES_OF_KEY = {
    "connections_current": "socks5d_connections_live",
    "bytes_up": 'socks5d_bytes_total{direction="up"}',
    "bytes_down": 'socks5d_bytes_total{direction="down"}',
    "send_errors": 'socks5d_errors_total{cause="send"}',
    "receive_errors": 'socks5d_errors_total{cause="receive"}',
    "dns_errors": 'socks5d_errors_total{cause="dns"}',
    "server_errors": 'socks5d_errors_total{cause="server"}',
    "unsupported_input": 'socks5d_errors_total{cause="unsupported_input"}',
    "ipv4_connections": 'socks5d_upstream_connections_total{family="ipv4"}',
    "ipv6_connections": 'socks5d_upstream_connections_total{family="ipv6"}',
    "auth_errors": "socks5d_auth_failures_total",
    "accept_paused": "socks5d_accept_pauses_total",
    "udp_datagrams_up": 'socks5d_udp_datagrams_total{direction="up"}',
    "udp_datagrams_down": 'socks5d_udp_datagrams_total{direction="down"}',
    "udp_bytes_up": 'socks5d_udp_bytes_total{direction="up"}',
    "udp_bytes_down": 'socks5d_udp_bytes_total{direction="down"}',
}
GAUGE_KEYS = {"connections_current", "listeners_paused"}


def series_of_key(key):
    if key in SERIES_OF_KEY:
        return SERIES_OF_KEY[key]
    if key.startswith("udp_dropped_"):
        return 'socks5d_udp_dropped_total{cause="%s"}' % key[len("udp_dropped_"):]
    if key in GAUGE_KEYS or key.endswith("_total"):
        return "socks5d_" + key
    return "socks5d_%s_total" % key


def parse_samples(text):
    """{'name{labels}': float} of an exposition."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE_RE.match(line)
        if not match:
            raise AssertionError("not a sample line: %r" % line)
        samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def free_port():
    """A port the kernel just gave out and took back: only a hint (another process may take it
    first), so whatever binds it must be retried on failure."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    """A real Prometheus on loopback scraping one target every second, its TSDB in a temp dir."""

    def __init__(self, target):
        self.binary = require_tool("prometheus")
        self.directory = tempfile.mkdtemp(prefix="socks5d-prometheus-")
        self.config = os.path.join(self.directory, "prometheus.yml")
        with open(self.config, "w") as out:
            out.write("global:\n"
                      "  scrape_interval: 1s\n"
                      "  scrape_timeout: 1s\n"
                      "scrape_configs:\n"
                      "  - job_name: socks5d\n"
                      "    static_configs:\n"
                      "      - targets: ['%s']\n" % target)
        self.process = None
        self.port = None
        self.log = None

    def start(self, attempts=5):
        for _ in range(attempts):
            self.port = free_port()
            self.log = open(os.path.join(self.directory, "prometheus.log"), "w+")
            self.process = subprocess.Popen(
                [self.binary, "--config.file=" + self.config,
                 "--storage.tsdb.path=" + os.path.join(self.directory, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
                stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    with urllib.request.urlopen(self.url("/-/ready"), timeout=2) as answer:
                        if answer.status == 200:
                            return self
                except OSError:
                    time.sleep(0.2)
            self.stop()  # the port was taken meanwhile, or it never got ready: try another
        raise AssertionError("prometheus did not start; its log:\n" + self.log_text())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def query(self, expression):
        """The instant vector of expression as {labels-as-tuple: float}."""
        url = self.url("/api/v1/query?" + urllib.parse.urlencode({"query": expression}))
        with urllib.request.urlopen(url, timeout=5) as answer:
            reply = json.load(answer)
        if reply.get("status") != "success":
            raise AssertionError("query %s: %r" % (expression, reply))
        return {tuple(sorted(item["metric"].items())): float(item["value"][1])
                for item in reply["data"]["result"]}

    def log_text(self):
        if self.log is None:
            return ""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if self.log is not None:
            self.log.close()
            self.log = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class PrometheusEndpointTest(EchoTestCase):

    def setUp(self):
        self.server = self.start_server("--metrics-listen", "127.0.0.1:0")
        self.metrics_endpoint = self.wait_metrics_endpoint()

    def tearDown(self):
        check_stopped_cleanly(self, self.server)

    def wait_metrics_endpoint(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for line in self.server.stderr_text().splitlines():
                match = METRICS_RE.search(line)
                if match:
                    return match.group(1).strip("[]"), int(match.group(2))
            time.sleep(0.02)
        self.fail("no 'listening for metrics' line:\n" + self.server.stderr_text())

    def http(self, method, path, headers=None):
        """(status, headers, body) of one request."""
        connection = http.client.HTTPConnection(*self.metrics_endpoint, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            answer = connection.getresponse()
            return answer.status, dict(answer.getheaders()), answer.read()
        finally:
            connection.close()

    def raw(self, data, timeout=10.0):
        """What the endpoint answers to raw bytes, read to EOF."""
        with socket.create_connection(self.metrics_endpoint, timeout=timeout) as sock:
            sock.sendall(data)
            return recv_until_eof(sock)

    def scrape(self):
        status, headers, body = self.http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertEqual(int(headers["Content-Length"]), len(body))
        return body.decode("utf-8")

    def move_bytes(self, upload, download):
        """Sends upload bytes to a sink and reads download bytes from a source, through the
        proxy; returns the bytes relayed each way (the sink's answer line counts as down)."""
        sink = SinkServer().start()
        source = SourceServer(b"d" * download).start()
        self.addCleanup(sink.stop)
        self.addCleanup(source.stop)
        sock, _ = open_tunnel(self.server, "127.0.0.1", sink.port)
        with sock:
            sock.sendall(b"u" * upload)
            sock.shutdown(socket.SHUT_WR)
            answer = recv_until_eof(sock)
        self.assertTrue(answer.startswith(b"%d " % upload), answer)
        sock, _ = open_tunnel(self.server, "127.0.0.1", source.port)
        with sock:
            self.assertEqual(len(recv_until_eof(sock)), download)
        return upload, download + len(answer)

    def wait_quiet(self, admin):
        """The metrics record once no connection is open (both tunnels closed)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            record = admin.metrics()
            if record["connections_current"] == 0:
                return record
            time.sleep(0.05)
        self.fail("connections still open: %r" % record)

    # -- the exposition ----------------------------------------------------------------------

    def test_promtool_accepts_a_real_scrape(self):
        self.move_bytes(1000, 2000)
        text = self.scrape()
        result = subprocess.run([require_tool("promtool"), "check", "metrics"], input=text,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0,
                         "promtool check metrics:\n%s%s" % (result.stdout, result.stderr))
        self.assertEqual(result.stdout + result.stderr, "", "promtool had remarks")
        samples = parse_samples(text)
        self.assertEqual(samples['socks5d_user_connections_total{user="%s"}' % TEST_USER], 2)
        self.assertEqual(samples["socks5d_handshake_seconds_count"], 2)
        self.assertEqual(samples["socks5d_connect_seconds_count"], 2)
        self.assertEqual(samples['socks5d_handshake_seconds_bucket{le="+Inf"}'], 2)

    def test_scrape_equals_the_admin_metrics_at_a_quiet_moment(self):
        self.move_bytes(12345, 54321)
        name = TEST_USER.encode()
        with AdminClient(self.server) as admin:
            before = self.wait_quiet(admin)
            status, body = admin.request(ADMIN_CMD_USER_METRICS, bytes([len(name)]) + name)
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            user = parse_admin_record(body)
            samples = parse_samples(self.scrape())
            after = admin.metrics()
        before.pop("uptime_seconds")
        after.pop("uptime_seconds")
        self.assertEqual(before, after, "not quiet: the figures moved during the scrape")
        for key, value in before.items():
            if key.startswith("lifetime_"):
                continue  # the accounting database's figures across runs: not exported
            series = series_of_key(key)
            self.assertIn(series, samples, "admin key %s has no series %s" % (key, series))
            self.assertEqual(samples[series], value, "%s (%s)" % (key, series))
        # The user's series are its user-metrics record, and the users add up to the server.
        label = 'user="%s"' % TEST_USER
        self.assertEqual(samples['socks5d_user_bytes_total{%s,direction="up"}' % label],
                         user["bytes_up"])
        self.assertEqual(samples['socks5d_user_bytes_total{%s,direction="down"}' % label],
                         user["bytes_down"])
        self.assertEqual(samples["socks5d_user_connections_total{%s}" % label],
                         user["connections_total"])
        self.assertEqual(samples["socks5d_user_connections_live{%s}" % label],
                         user["connections_live"])
        for direction in ("up", "down"):
            users = sum(value for name, value in samples.items()
                        if name.startswith("socks5d_user_bytes_total{")
                        and 'direction="%s"' % direction in name)
            self.assertEqual(users, before["bytes_" + direction])
        self.assertEqual(samples["socks5d_users"], 2)  # alice and the admin from the env
        self.assertEqual(samples["socks5d_admin_sessions"], 1)  # the one reading before

    def test_users_past_the_limit_are_summed_as_other(self):
        self.server.kill()
        self.server = self.start_server("--metrics-listen", "127.0.0.1:0",
                                        "--metrics-max-users", "1")
        self.metrics_endpoint = self.wait_metrics_endpoint()
        up, down = self.move_bytes(5000, 100)
        samples = parse_samples(self.scrape())
        # alice moved bytes and the admin none: alice keeps her series, the admin is "other".
        self.assertEqual(samples['socks5d_user_bytes_total{user="%s",direction="up"}' % TEST_USER],
                         up)
        self.assertEqual(samples['socks5d_user_bytes_total{user="other",direction="up"}'], 0)
        self.assertNotIn('socks5d_user_connections_total{user="root"}', samples)

    # -- a real Prometheus -------------------------------------------------------------------

    def test_a_real_prometheus_scrapes_the_bytes_moved(self):
        host, port = self.metrics_endpoint
        prometheus = PrometheusServer("%s:%d" % (host, port)).start()
        self.addCleanup(prometheus.remove)
        up, down = self.move_bytes(300001, 700003)
        expected = {"up": up, "down": down}
        deadline = time.monotonic() + 30
        seen = None
        while time.monotonic() < deadline:
            result = prometheus.query("socks5d_bytes_total")
            seen = {dict(labels).get("direction"): value for labels, value in result.items()}
            if seen == expected:
                break
            time.sleep(0.5)
        self.assertEqual(seen, expected, "Prometheus's socks5d_bytes_total; log:\n"
                         + prometheus.log_text())
        up_series = prometheus.query('up{job="socks5d"}')
        self.assertEqual(list(up_series.values()), [1.0])
        user = prometheus.query('socks5d_user_bytes_total{user="%s"}' % TEST_USER)
        self.assertEqual(sorted(user.values()), sorted([float(up), float(down)]))
        self.assertEqual(list(prometheus.query("socks5d_connect_seconds_count").values()), [2.0])

    # -- HTTP at the edges -------------------------------------------------------------------

    def test_head_has_the_length_but_no_body(self):
        get_length = len(self.scrape().encode())
        status, headers, body = self.http("HEAD", "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(body, b"")
        # The figures do not move between the two: the same length.
        self.assertEqual(int(headers["Content-Length"]), get_length)

    def test_other_paths_are_not_found(self):
        for path in ("/", "/metrics/", "/metricsx", "/favicon.ico"):
            status, _, _ = self.http("GET", path)
            self.assertEqual(status, 404, path)
        status, _, _ = self.http("GET", "/metrics?name[]=socks5d_bytes_total")
        self.assertEqual(status, 200)

    def test_other_methods_are_not_allowed(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            status, headers, _ = self.http(method, "/metrics")
            self.assertEqual(status, 405, method)
            self.assertEqual(headers["Allow"], "GET, HEAD")

    def test_malformed_requests(self):
        answers = {
            b"GARBAGE\r\n\r\n": b"HTTP/1.1 400 ",
            b"GET /metrics HTTP/1.1\r\n\r\n": b"HTTP/1.1 400 ",  # HTTP/1.1 without Host
            b"GET /metrics HTTP/1.0\r\nBad Field: x\r\n\r\n": b"HTTP/1.1 400 ",
            b"\x05\x01\x00": None,  # a SOCKS client at the wrong port: closed at the timeout
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": b"HTTP/1.1 505 ",
            b"GET /metrics HTTP/1.0\r\nX: " + b"x" * 9000 + b"\r\n\r\n": b"HTTP/1.1 431 ",
        }
        for request, start in answers.items():
            if start is None:
                continue
            answer = self.raw(request)
            self.assertTrue(answer.startswith(start), (request[:40], answer[:80]))
            self.assertIn(b"\r\nConnection: close\r\n", answer)
        # HTTP/1.0 needs no Host.
        self.assertTrue(self.raw(b"GET /metrics HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200 "))

    def test_slow_and_silent_clients_time_out(self):
        slow = socket.create_connection(self.metrics_endpoint, timeout=REQUEST_TIMEOUT + 5)
        silent = socket.create_connection(self.metrics_endpoint, timeout=REQUEST_TIMEOUT + 5)
        with slow, silent:
            started = time.monotonic()
            slow.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # and never the empty line
            answer = recv_until_eof(slow)
            elapsed = time.monotonic() - started
            self.assertTrue(answer.startswith(b"HTTP/1.1 408 "), answer[:80])
            self.assertGreater(elapsed, REQUEST_TIMEOUT - 1)
            self.assertEqual(recv_until_eof(silent), b"")  # closed without a word
            # Meanwhile scrapes were served: neither held the endpoint.
            self.scrape()

    def test_connections_are_bounded(self):
        idle = [socket.create_connection(self.metrics_endpoint, timeout=10)
                for _ in range(MAX_CONNECTIONS)]
        try:
            # Each idle one holds a slot: the next is accepted by the kernel, served later.
            waiting = socket.create_connection(self.metrics_endpoint, timeout=10)
            with waiting:
                waiting.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
                waiting.settimeout(1.0)
                with self.assertRaises(socket.timeout):
                    waiting.recv(1)
                idle.pop().close()
                waiting.settimeout(10)
                self.assertTrue(recv_until_eof(waiting).startswith(b"HTTP/1.1 200 "))
        finally:
            for sock in idle:
                sock.close()



class MetricsListenErrors(unittest.TestCase):
    """A --metrics-listen that cannot be served stops the start with a message naming it."""

    def run_server(self, *args):
        server = Socks5dProcess(*args)
        server.process = subprocess.Popen(server.args, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                          env=server.env, text=True)
        try:
            _, stderr = server.process.communicate(timeout=30)
        finally:
            shutil.rmtree(server.state_dir, ignore_errors=True)
        return server.process.returncode, stderr

    def test_not_an_address_and_port_is_a_usage_error(self):
        for value in ("127.0.0.1", "::1:9150", "localhost:9150", "127.0.0.1:65536"):
            code, stderr = self.run_server("--metrics-listen", value)
            self.assertEqual(code, 64, stderr)
            self.assertIn("--metrics-listen: '%s' is not an address and port" % value, stderr)

    def test_a_port_in_use_stops_the_start(self):
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            endpoint = "127.0.0.1:%d" % taken.getsockname()[1]
            code, stderr = self.run_server("--metrics-listen", endpoint)
        self.assertEqual(code, 1, stderr)
        self.assertIn("cannot listen for metrics on %s: Address already in use" % endpoint, stderr)


if __name__ == "__main__":
    unittest.main()
