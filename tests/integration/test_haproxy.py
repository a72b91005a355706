"""A real HAProxy (mode tcp, send-proxy-v2, SOCKS-level health checks that send the PROXY header
too) in front of two socks5d processes that trust it (--proxy-protocol-from): curl works
through it, each record shows curl's own address and port (not HAProxy's), connections spread
over both; once one socks5d is killed and HAProxy marks it down, no new connection fails and
the survivor's metrics account for every byte moved."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import TEST_USER, TEST_PASSWORD, AdminClient, Socks5dProcess
from test_proxy_protocol import connection_rows, wait_until

CLIENT = "127.0.0.3"      # curl and the test's clients connect to HAProxy from here
BALANCER = "127.0.0.1"    # HAProxy connects to socks5d from here
CURL_TIMEOUT = 20
CHECK_INTERVAL_MS = 200
START_ATTEMPTS = 5        # HAProxy's port is picked free, then bound by HAProxy: retry a race
TUNNELS_AFTER_KILL = 40
BYTES_PER_TUNNEL = 64 * 1024

HAPROXY_CONFIG = """
global
    maxconn 2000
    stats socket {stats} mode 600 level admin

defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch

listen socks
    bind {client_host}:{port}
    balance roundrobin
    # A health check is a SOCKS5 greeting offering username/password, answered 05 02; it is
    # sent behind a PROXY v2 header (LOCAL: the check is HAProxy's own connection), because
    # socks5d requires one from a trusted source.
    option tcp-check
    tcp-check send-binary 050102
    tcp-check expect binary 0502
    default-server send-proxy-v2 check check-send-proxy inter {inter}ms fastinter {inter}ms fall 2 rise 1
{servers}
"""


def haproxy_binary():
    path = shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    if path is None:
        raise AssertionError("haproxy is not installed: add its package to `scripts/deps test`")
    return path


def free_port(host):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class HAProxy:
    """haproxy -db (foreground) with a config written to a private directory."""

    def __init__(self, backends):
        self.binary = haproxy_binary()
        self.backends = backends  # [(name, port)]
        self.directory = tempfile.mkdtemp(prefix="socks5d-haproxy-")
        self.stats_path = os.path.join(self.directory, "stats.sock")
        self.config_path = os.path.join(self.directory, "haproxy.cfg")
        self.log_path = os.path.join(self.directory, "haproxy.log")
        self.process = None
        self.port = None

    def start(self):
        servers = "\n".join("    server %s %s:%d" % (name, BALANCER, port)
                            for name, port in self.backends)
        for _ in range(START_ATTEMPTS):
            self.port = free_port(CLIENT)
            with open(self.config_path, "w") as handle:
                handle.write(HAPROXY_CONFIG.format(stats=self.stats_path, client_host=CLIENT,
                                                   port=self.port, inter=CHECK_INTERVAL_MS,
                                                   servers=servers))
            check = subprocess.run([self.binary, "-c", "-f", self.config_path],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
            if check.returncode != 0:
                raise AssertionError("haproxy -c refused the config:\n%s" % check.stdout.decode())
            log = open(self.log_path, "wb")
            self.process = subprocess.Popen([self.binary, "-db", "-f", self.config_path],
                                            stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT)
            log.close()
            if self._wait_listening():
                return self
            self.stop()
        raise AssertionError("haproxy did not start; log:\n%s" % self.log())

    def _wait_listening(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            try:
                self.command("show info")
                with socket.create_connection((CLIENT, self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def command(self, text):
        """A line for the stats socket (the runtime API); its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(self.stats_path)
            sock.sendall(text.encode() + b"\n")
            return harness.recv_until_eof(sock).decode()

    def server_status(self):
        """{server name: status} from `show stat` (UP, DOWN, ...)."""
        lines = self.command("show stat").splitlines()
        columns = lines[0].lstrip("# ").split(",")
        statuses = {}
        for line in lines[1:]:
            row = dict(zip(columns, line.split(",")))
            if row.get("pxname") == "socks" and row.get("svname") not in ("FRONTEND", "BACKEND"):
                statuses[row["svname"]] = row["status"]
        return statuses

    def wait_status(self, wanted, timeout=15.0):
        deadline = time.monotonic() + timeout
        while True:
            status = self.server_status()
            if all(status.get(name, "").startswith(state) for name, state in wanted.items()):
                return status
            if time.monotonic() > deadline:
                raise AssertionError("haproxy servers %r, wanted %r; log:\n%s"
                                     % (status, wanted, self.log()))
            time.sleep(0.05)

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def run_curl(proxy_port, url):
    """curl from CLIENT through HAProxy's SOCKS5 port; (completed process, curl's local port)."""
    args = ["curl", "--silent", "--show-error", "--max-time", "10", "--noproxy", "",
            "--interface", CLIENT, "--proxy-user", "%s:%s" % (TEST_USER, TEST_PASSWORD),
            "--socks5-hostname", "%s:%d" % (CLIENT, proxy_port),
            "--write-out", "\n%{local_ip} %{local_port}", url]
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin"}  # no *_proxy variables from the caller
    result = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=CURL_TIMEOUT, env=env)
    body, _, where = result.stdout.rpartition(b"\n")
    return result, body, where.decode().split()


def echo_through(proxy_port, echo_port, payload):
    """A CONNECT to the echo server through HAProxy from CLIENT; what came back."""
    sock = socket.create_connection((CLIENT, proxy_port), timeout=harness.SOCKET_TIMEOUT,
                                    source_address=(CLIENT, 0))
    with sock:
        sock.settimeout(harness.SOCKET_TIMEOUT)
        harness.negotiate(sock)
        sock.sendall(harness.request("127.0.0.1", echo_port))
        reply = harness.read_reply(sock)
        if reply[1] != harness.REP_SUCCESS:
            raise AssertionError("CONNECT through HAProxy: REP %d" % reply[1])
        sock.sendall(payload)
        return harness.recv_exact(sock, len(payload))


class HAProxyInFront(unittest.TestCase):

    def setUp(self):
        harness.raise_fd_limit()
        self.http = harness.HttpServer().start()
        self.addCleanup(self.http.stop)
        self.echo = harness.EchoServer().start()
        self.addCleanup(self.echo.stop)
        self.servers = {}
        for name in ("s1", "s2"):
            server = Socks5dProcess("--proxy-protocol-from", BALANCER, "--workers", "1")
            server.start()
            self.addCleanup(server.kill)
            self.servers[name] = server
        self.haproxy = HAProxy([(name, server.port) for name, server in self.servers.items()])
        self.addCleanup(self.haproxy.cleanup)
        self.haproxy.start()
        self.haproxy.wait_status({"s1": "UP", "s2": "UP"})

    def curl_rows(self, name):
        """The finished connections of CLIENT on server name."""
        with AdminClient(self.servers[name]) as admin:
            return [row for row in connection_rows(admin, which=1)
                    if row["client"].startswith(CLIENT + ":")]

    def test_curl_through_haproxy_and_a_server_killed(self):
        url = "http://127.0.0.1:%d/page" % self.http.port
        seen = {}
        for _ in range(6):
            result, body, (local_ip, local_port) = run_curl(self.haproxy.port, url)
            self.assertEqual(result.returncode, 0, result.stderr.decode())
            self.assertEqual(body, harness.PageHandler.BODY)
            self.assertEqual(local_ip, CLIENT)
            seen["%s:%s" % (local_ip, local_port)] = None
        # Each curl is recorded once, under its own address and port, by one of the two.
        rows = {}
        wait_until(lambda: sum(len(self.curl_rows(name)) for name in self.servers) == 6,
                   what="6 curl connections recorded")
        for name in self.servers:
            rows[name] = self.curl_rows(name)
            for row in rows[name]:
                self.assertEqual((row["user"], row["status"]), (TEST_USER, "0"))
        recorded = sorted(row["client"] for name in rows for row in rows[name])
        self.assertEqual(recorded, sorted(seen))
        self.assertEqual({name: len(rows[name]) for name in rows}, {"s1": 3, "s2": 3},
                         "roundrobin spreads the connections evenly")
        # The health checks come as LOCAL headers: counted beside the 3 curls (one check every
        # 2 s: within a few seconds there is one).
        for server in self.servers.values():
            wait_until(lambda: harness.metrics_of(server)["proxy_headers"] > 3,
                       what="a health check's LOCAL header counted")
            metrics = harness.metrics_of(server)
            self.assertEqual(metrics["proxy_header_missing"] + metrics["proxy_header_malformed"]
                             + metrics["proxy_header_untrusted"], 0)

        # s1 dies; once HAProxy has it down, every new connection goes to s2 and works.
        self.servers["s1"].kill()
        self.haproxy.wait_status({"s1": "DOWN", "s2": "UP"})
        survivor = self.servers["s2"]
        before = harness.metrics_of(survivor)
        payload = os.urandom(BYTES_PER_TUNNEL)
        failures = 0
        for _ in range(TUNNELS_AFTER_KILL):
            try:
                if echo_through(self.haproxy.port, self.echo.port, payload) != payload:
                    failures += 1
            except (OSError, EOFError, AssertionError):
                failures += 1
        result, body, (local_ip, local_port) = run_curl(self.haproxy.port, url)
        self.assertEqual((result.returncode, body), (0, harness.PageHandler.BODY),
                         result.stderr.decode())
        self.assertEqual(failures, 0, "%d of %d tunnels failed after the server was marked down"
                         % (failures, TUNNELS_AFTER_KILL))
        # Every byte of those tunnels and of that curl passed through the survivor, and was
        # counted there.
        after = wait_until(lambda: self._settled(survivor),
                           what="the survivor's client connections closed")
        self.assertEqual(after["connections_total"] - before["connections_total"] >=
                         TUNNELS_AFTER_KILL + 1, True)
        (curl_row,) = [row for row in self.curl_rows("s2")
                       if row["client"] == "%s:%s" % (local_ip, local_port)
                       and int(row["id"]) > max(int(r["id"]) for r in rows["s2"])]
        moved = TUNNELS_AFTER_KILL * BYTES_PER_TUNNEL
        self.assertEqual(after["bytes_up"] - before["bytes_up"],
                         moved + int(curl_row["bytes_up"]))
        self.assertEqual(after["bytes_down"] - before["bytes_down"],
                         moved + int(curl_row["bytes_down"]))
        self.assertEqual(int(curl_row["bytes_down"]) > len(harness.PageHandler.BODY), True)
        print("\n  after the kill: %d tunnels of %d KiB and a curl through the survivor, %d "
              "failed; its bytes_up grew %d" % (TUNNELS_AFTER_KILL, BYTES_PER_TUNNEL // 1024,
                                                failures, after["bytes_up"] - before["bytes_up"]),
              end="")

    def _settled(self, server):
        """The metrics once no client connection is open (health checks come and go)."""
        with AdminClient(server) as admin:
            live = [row for row in connection_rows(admin, which=0)
                    if row["client"].startswith(CLIENT + ":")]
            return admin.metrics() if not live else None

    def tearDown(self):
        self.haproxy.stop()
        for name, server in self.servers.items():
            if name == "s1":
                continue  # killed by the test
            harness.check_stopped_cleanly(self, server)


if __name__ == "__main__":
    unittest.main()
