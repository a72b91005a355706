"""Hostile clients: slowloris, a client that never reads, a connection flood past the descriptor
limit, password guessing, admin-protocol abuse and bad users files. Every attack is bounded in
count and time, and a normal client is served while it goes on."""

import os
import selectors
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import (greeting, auth_request, recv_exact, METHOD_USERPASS, TEST_USER,
                     TEST_PASSWORD, ADMIN_VERSION, AdminClient)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# Reading the server process

def rss_kib(pid):
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


def cpu_seconds(pid):
    """utime + stime of the process (all threads), in seconds."""
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of stat(5)


def cpu_share_over(pid, seconds):
    """Fraction of one core the process used over the next `seconds`."""
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def open_descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def file_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def file_text(path):
    with open(path) as handle:
        return handle.read()


def wait_for(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def connect_from(server, source, timeout=harness.SOCKET_TIMEOUT):
    """A client socket to the SOCKS port, bound to the loopback address `source`, so the
    server sees another source address (the login throttle counts per address)."""
    host, port = server.endpoint_for(socket.AF_INET)
    return socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))


def timed_socks_login(server, source, user, password):
    """Greeting + RFC 1929 login from `source`; returns (auth reply bytes, seconds the auth
    reply took). The socket is closed."""
    with connect_from(server, source, timeout=20) as sock:
        sock.sendall(greeting(METHOD_USERPASS))
        if recv_exact(sock, 2) != bytes([5, METHOD_USERPASS]):
            raise AssertionError("method selection refused")
        start = time.monotonic()
        sock.sendall(auth_request(user, password))
        reply = recv_exact(sock, 2)
        return reply, time.monotonic() - start


def timed_admin_login(server, source, user, password):
    """An admin login from `source`; returns (4-byte reply, seconds). The socket is closed."""
    with harness.admin_connect(server, source) as sock:
        start = time.monotonic()
        sock.sendall(harness.admin_login_request(user, password))
        reply = bytes(harness.read_admin_login_reply(sock))
        return reply, time.monotonic() - start


def closed_by_peer(sock):
    """Reads once (the socket is readable): 'closed' on EOF or reset, else the bytes."""
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    return "closed" if data == b"" else data


# ---------------------------------------------------------------------------------------------
# Slowloris

SLOWLORIS_CLIENTS = 200
SLOWLORIS_WAVES = 2          # the second wave only gets slots if the first one freed them all
SLOWLORIS_TIMEOUT = 2        # -t
SLOWLORIS_BYTE_EVERY = 0.7   # seconds between two bytes of one client
CLOSE_SLACK = 3.0            # how long after the handshake timeout a close may come (ASan, load)


class Slowloris(harness.ServerTestCase):
    # -c: a slot held forever by the first wave would leave the second wave unserved.
    SERVER_ARGS = ("-t", str(SLOWLORIS_TIMEOUT), "-c", str(SLOWLORIS_CLIENTS + 10))

    def run_wave(self, established):
        """SLOWLORIS_CLIENTS clients trickle a handshake one byte at a time; returns the
        seconds from connect to close of each, and checks a normal client meanwhile."""
        handshake = greeting(METHOD_USERPASS) + auth_request("u" * 200, "p" * 200)
        selector = selectors.DefaultSelector()
        clients = {}
        try:
            for _ in range(SLOWLORIS_CLIENTS):
                sock = harness.connect_proxy(self.server)
                sock.setblocking(False)
                clients[sock] = {"start": time.monotonic(), "sent": 0, "next": 0.0,
                                 "closed": None}
                selector.register(sock, selectors.EVENT_READ)
            normal_checked = False
            deadline = time.monotonic() + SLOWLORIS_TIMEOUT + CLOSE_SLACK + 1
            while time.monotonic() < deadline and any(c["closed"] is None
                                                      for c in clients.values()):
                now = time.monotonic()
                for sock, client in clients.items():
                    if client["closed"] is None and now >= client["next"]:
                        try:
                            sock.send(handshake[client["sent"]:client["sent"] + 1])
                            client["sent"] += 1
                        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                            pass
                        client["next"] = now + SLOWLORIS_BYTE_EVERY
                for key, _ in selector.select(timeout=0.05):
                    client = clients[key.fileobj]
                    if closed_by_peer(key.fileobj) == "closed":
                        client["closed"] = time.monotonic() - client["start"]
                        selector.unregister(key.fileobj)
                if not normal_checked and time.monotonic() - min(
                        c["start"] for c in clients.values()) > 1.0:
                    # Mid-attack: a new client and an established tunnel are both served.
                    start = time.monotonic()
                    message = b"served during slowloris\n"
                    self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message),
                                     message)
                    self.normal_latencies.append(time.monotonic() - start)
                    established.sendall(message)
                    self.assertEqual(recv_exact(established, len(message)), message)
                    normal_checked = True
            self.assertTrue(normal_checked)
            return [client["closed"] for client in clients.values()]
        finally:
            selector.close()
            for sock in clients:
                sock.close()

    def test_trickling_clients_are_closed_at_the_handshake_timeout(self):
        self.normal_latencies = []
        established, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with established, AdminClient(self.server) as admin:
            for wave in range(SLOWLORIS_WAVES):
                lifetimes = self.run_wave(established)
                still_open = sum(1 for lifetime in lifetimes if lifetime is None)
                self.assertEqual(still_open, 0, "wave %d: %d slow clients never closed"
                                 % (wave, still_open))
                print("\n  slowloris wave %d: %d clients closed after %.2f .. %.2f s (-t %d)"
                      % (wave, len(lifetimes), min(lifetimes), max(lifetimes),
                         SLOWLORIS_TIMEOUT), end="")
                self.assertGreaterEqual(min(lifetimes), SLOWLORIS_TIMEOUT * 0.8,
                                        "a trickling client was closed before the timeout")
                self.assertLess(max(lifetimes), SLOWLORIS_TIMEOUT + CLOSE_SLACK,
                                "a trickling client outlived the handshake timeout")
                # Every slot is free again: only the established tunnel is left.
                self.assertTrue(wait_for(lambda: admin.metrics()["connections_current"] == 1,
                                         3.0), "slots still held: %r" % admin.metrics())
            print(" normal client round trips during the attack: %s s"
                  % ", ".join("%.3f" % t for t in self.normal_latencies), end="")
            for latency in self.normal_latencies:
                self.assertLess(latency, 2.0, "a normal client waited behind the slow ones")
        never_authenticated = [e for e in self.server.access_lines()
                               if "malformed" not in e and e["user"] == "-"]
        self.assertEqual(len(never_authenticated), SLOWLORIS_CLIENTS * SLOWLORIS_WAVES)


# ---------------------------------------------------------------------------------------------
# A client that never reads

FLOOD_CHUNK = b"\xa5" * 65536
FLOOD_CAP = 256 * 1024 * 1024   # what an unbounded proxy would let the upstream push
STALL_SECONDS = 1.5             # no progress for this long = the upstream's send is stalled
RSS_GROWTH_BOUND_KIB = 4 * 1024
SPLICE_PIPE_BYTES = 256 * 1024  # daemon/worker.c SPLICE_PIPE_SIZE


def push_bound():
    """The most the kernel can hold between an upstream that writes and a client that does not
    read, when the proxy itself holds back: the client's receive buffer (64 KiB asked, doubled),
    the proxy's send buffer toward the client and the upstream's send buffer (each at most
    tcp_wmem max), the proxy's receive buffer from the upstream (at most tcp_rmem max, it
    autotunes) and one splice pipe; plus 1 MiB of slack. Anything over it sits in the proxy."""
    def sysctl_max(name):
        with open("/proc/sys/net/ipv4/" + name) as handle:
            return int(handle.read().split()[2])
    return (2 * 65536 + 2 * sysctl_max("tcp_wmem") + sysctl_max("tcp_rmem")
            + SPLICE_PIPE_BYTES + 1024 * 1024)


class FloodUpstream(harness._ThreadedServer):
    """Sends without pause until its send stalls for STALL_SECONDS (or FLOOD_CAP is reached);
    then keeps sending on whenever it can, counting, until the peer goes or stop()."""

    def __init__(self):
        super().__init__(dual=False)
        self.pushed = 0
        self.stalled = threading.Event()

    def serve(self, conn):
        conn.setblocking(False)
        last_progress = time.monotonic()
        with selectors.DefaultSelector() as selector:
            selector.register(conn, selectors.EVENT_WRITE)
            while not self.stopping.is_set() and self.pushed < FLOOD_CAP:
                if selector.select(timeout=0.1):
                    try:
                        sent = conn.send(FLOOD_CHUNK)
                    except BlockingIOError:
                        sent = 0
                    if sent:
                        with self.lock:
                            self.pushed += sent
                        last_progress = time.monotonic()
                if time.monotonic() - last_progress > STALL_SECONDS:
                    self.stalled.set()
        self.stalled.set()

    def total(self):
        with self.lock:
            return self.pushed


class NeverReadingClient(harness.ServerTestCase):

    def test_remote_is_back_pressured_and_memory_bounded(self):
        upstream = FloodUpstream().start()
        self.addCleanup(upstream.stop)
        pid = self.server.process.pid
        with AdminClient(self.server) as admin:
            # Warm up the relay path once so the baseline includes its pools.
            harness.echo_roundtrip(self.server, self.echo, b"x" * 100000)
            rss_before = rss_kib(pid)
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sock.settimeout(harness.SOCKET_TIMEOUT)
            sock.connect(self.server.endpoint_for(socket.AF_INET))
            with sock:
                harness.negotiate(sock)
                sock.sendall(harness.request("127.0.0.1", upstream.port))
                self.assertEqual(harness.read_reply(sock)[1], harness.REP_SUCCESS)
                # From here on the client reads nothing.
                self.assertTrue(upstream.stalled.wait(30), "the upstream never stalled: "
                                "pushed %d bytes" % upstream.total())
                message = b"served while another client does not read\n"
                self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message),
                                 message)
                pushed = upstream.total()
                relayed = admin.metrics()["bytes_down"]
                time.sleep(1.0)
                rss_after = rss_kib(pid)
                pushed_later, relayed_later = upstream.total(), admin.metrics()["bytes_down"]
                print("\n  upstream pushed %.1f MiB before stalling (%.1f MiB a second later; "
                      "kernel buffers hold at most %.1f MiB); proxy relayed %.1f MiB to the "
                      "client; VmRSS %d -> %d KiB (%+d)"
                      % (pushed / 2**20, pushed_later / 2**20, push_bound() / 2**20,
                         relayed / 2**20, rss_before, rss_after, rss_after - rss_before), end="")
                # Back-pressure: the proxy stops reading from the remote, so the remote's send
                # stalls once the kernel buffers on the way are full — far below FLOOD_CAP.
                self.assertLess(pushed, push_bound(), "more pushed than kernel buffers hold")
                # What still moves is what already sat in the proxy's socket buffers, trickling
                # as the kernel grows the send buffer toward the client (slowly, on a loaded
                # machine): bounded, like the upstream's progress below.
                self.assertLess(relayed_later - relayed, 1024 * 1024, "the proxy kept relaying "
                                "to a client that does not read")
                self.assertLess(pushed_later - pushed, 1024 * 1024)
                self.assertLess(rss_after - rss_before, RSS_GROWTH_BOUND_KIB,
                                "proxy memory grew with the data it could not deliver")
                # The tunnel is only stalled, not broken: once the client reads, data flows.
                sock.settimeout(0.5)
                drained, deadline = 0, time.monotonic() + 3
                while time.monotonic() < deadline and upstream.total() <= pushed_later:
                    try:
                        drained += len(sock.recv(1 << 20))
                    except socket.timeout:
                        pass
                self.assertGreater(upstream.total(), pushed_later,
                                   "the upstream did not resume once the client read")
                self.assertGreater(drained, 0)
                upstream.stopping.set()


# ---------------------------------------------------------------------------------------------
# Connection flood past the descriptor limit

FD_LIMIT = 256
FLOOD_CONNECTIONS = 400
SATURATED_CPU_BOUND = 0.15  # of one core; a busy accept loop would use about 1.0
TUNNELS_DURING_FLOOD = 4


def open_idle_connections(server, count):
    """count TCP connections to the SOCKS port that send nothing (they complete in the kernel
    whether or not the server accepts them)."""
    sockets = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(server.endpoint_for(socket.AF_INET),
                                                    timeout=5))
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def big_echo(sock, size):
    """Sends size bytes through an echo tunnel while reading them back; returns what came."""
    payload = os.urandom(1024) * (size // 1024)
    sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
    sender.start()
    received = recv_exact(sock, len(payload))
    sender.join(timeout=10)
    return received == payload


class FloodPastDescriptorLimit(harness.ServerTestCase):
    # -c far above what FD_LIMIT allows: descriptors, not slots, run out first. -t long enough
    # that no idle flood connection times out during the test.
    SERVER_ARGS = ("-c", "2000", "-t", "60")

    def setUp(self):
        harness.require_tool("prlimit")
        self.server = harness.Socks5dProcess(*self.SERVER_ARGS)
        # prlimit execs socks5d, so the pid stays the server's. The server raises soft to hard:
        # set both.
        self.server.args = ["prlimit", "--nofile=%d:%d" % (FD_LIMIT, FD_LIMIT), "--"] \
            + self.server.args
        self.server.start()
        self.addCleanup(self.server.kill)

    def test_accept_pauses_tunnels_move_and_accept_resumes(self):
        pid = self.server.process.pid
        with open("/proc/%d/limits" % pid) as handle:
            self.assertRegex(handle.read(), r"Max open files\s+%d\s+%d\s" % (FD_LIMIT, FD_LIMIT))
        admin = AdminClient(self.server)  # logged in first: its descriptor is already there
        tunnels = [harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)[0]
                   for _ in range(TUNNELS_DURING_FLOOD)]
        flood, probe = [], None
        try:
            flood = open_idle_connections(self.server, FLOOD_CONNECTIONS)
            self.assertTrue(wait_for(lambda: "accept paused" in self.server.stderr_text(), 10),
                            "no 'accept paused' warning with %d connections and %d descriptors"
                            % (FLOOD_CONNECTIONS, FD_LIMIT))
            descriptors = open_descriptors(pid)
            # A new client now waits in the kernel's accept queue: nobody answers it.
            probe = harness.connect_proxy(self.server)
            self.addCleanup(probe.close)
            probe.sendall(greeting(METHOD_USERPASS))
            probe.settimeout(0.5)
            with self.assertRaises(socket.timeout, msg="served although out of descriptors"):
                probe.recv(2)
            cpu = cpu_share_over(pid, 2.0)
            # Established tunnels keep moving, small messages and a streamed megabyte alike
            # (a stream wants a splice pipe, which cannot be had now).
            for index, tunnel in enumerate(tunnels):
                message = b"tunnel %d still moves\n" % index
                tunnel.sendall(message)
                self.assertEqual(recv_exact(tunnel, len(message)), message)
            self.assertTrue(big_echo(tunnels[0], 1 << 20), "1 MiB through a tunnel mangled")
            metrics = admin.metrics()
            print("\n  saturated: %d descriptors open (limit %d), %d connections, CPU %.1f%% "
                  "of a core over 2 s, accept_paused %d"
                  % (descriptors, FD_LIMIT, metrics["connections_current"], 100 * cpu,
                     metrics["accept_paused"]), end="")
            self.assertGreaterEqual(descriptors, FD_LIMIT - 8)
            self.assertLess(cpu, SATURATED_CPU_BOUND, "busy loop while out of descriptors")
        finally:
            for sock in flood:
                sock.close()
            for tunnel in tunnels:
                tunnel.close()
            admin.close()
        # Descriptors free up: the waiting client is answered, and new ones are served.
        probe.settimeout(10)
        start = time.monotonic()
        with probe:
            self.assertEqual(recv_exact(probe, 2), bytes([5, METHOD_USERPASS]),
                             "the queued client was never served")
        print(" resumed after %.2f s" % (time.monotonic() - start), end="")
        message = b"served after the flood\n"
        self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)
        self.assertGreaterEqual(metrics["accept_paused"], 1,
                                "metrics do not count the paused accepting")


class FloodPastConnectionLimit(harness.ServerTestCase):
    MAX_CONNECTIONS = 20
    SERVER_ARGS = ("-c", str(MAX_CONNECTIONS))

    def test_slots_pause_accepting_until_one_frees(self):
        pid = self.server.process.pid
        tunnels = [harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)[0]
                   for _ in range(2)]
        idle = open_idle_connections(self.server, self.MAX_CONNECTIONS - len(tunnels))
        probe = None
        try:
            with AdminClient(self.server) as admin:
                self.assertTrue(wait_for(lambda: admin.metrics()["connections_current"]
                                         == self.MAX_CONNECTIONS, 5))
                probe = harness.connect_proxy(self.server)
                probe.sendall(greeting(METHOD_USERPASS))
                probe.settimeout(0.5)
                with self.assertRaises(socket.timeout, msg="served past -c"):
                    probe.recv(2)
                cpu = cpu_share_over(pid, 1.0)
                for tunnel in tunnels:
                    tunnel.sendall(b"moving")
                    self.assertEqual(recv_exact(tunnel, 6), b"moving")
                metrics = admin.metrics()
                print("\n  %d of %d slots used, CPU %.1f%%, accept_paused %d"
                      % (metrics["connections_current"], self.MAX_CONNECTIONS, 100 * cpu,
                         metrics["accept_paused"]), end="")
                self.assertEqual(metrics["connections_current"], self.MAX_CONNECTIONS)
                self.assertLess(cpu, SATURATED_CPU_BOUND)
            idle.pop().close()
            probe.settimeout(5)
            self.assertEqual(recv_exact(probe, 2), bytes([5, METHOD_USERPASS]),
                             "a freed slot did not resume accepting")
            self.assertGreaterEqual(metrics["accept_paused"], 1,
                                    "metrics do not count the paused accepting")
        finally:
            for sock in idle + tunnels + ([probe] if probe else []):
                sock.close()


# ---------------------------------------------------------------------------------------------
# Password guessing

def expected_penalty(failure_number):
    """PROTOCOL.md 4.4: 0 for the first 3 failures, then 250 ms doubling up to 8 s."""
    if failure_number <= 3:
        return 0.0
    return min(0.25 * 2 ** (failure_number - 4), 8.0)


PENALTY_SLACK = 1.0   # crypt(3) on a loaded machine, scheduling; the penalty itself is exact
AT_ONCE = 0.75        # a login that is not throttled (crypt under ASan included)


class CredentialGuessing(harness.ServerTestCase):
    GUESSER = "127.0.0.2"
    OTHER = "127.0.0.3"

    def assert_penalties(self, timings):
        for number, elapsed in enumerate(timings, start=1):
            wanted = expected_penalty(number)
            self.assertGreaterEqual(elapsed, wanted * 0.9,
                                    "failure %d answered after %.3f s, before its %.2f s "
                                    "penalty" % (number, elapsed, wanted))
            self.assertLess(elapsed, wanted + PENALTY_SLACK,
                            "failure %d answered after %.3f s (penalty %.2f s)"
                            % (number, elapsed, wanted))
        for number in range(4, len(timings)):
            self.assertGreater(timings[number], timings[number - 1],
                               "failures %d and %d not answered later and later"
                               % (number, number + 1))

    def test_socks_guessing_is_throttled_per_source(self):
        guesses, timings, others = 7, [], []

        def guess():
            for number in range(guesses):
                reply, elapsed = timed_socks_login(self.server, self.GUESSER, TEST_USER,
                                                   "wrong-%d" % number)
                timings.append((reply, elapsed))

        guesser = threading.Thread(target=guess, daemon=True)
        guesser.start()
        # While the guesser waits out its penalties, alice logs in from elsewhere at once.
        while guesser.is_alive():
            reply, elapsed = timed_socks_login(self.server, "127.0.0.1", TEST_USER,
                                               TEST_PASSWORD)
            self.assertEqual(reply, b"\x01\x00")
            others.append(elapsed)
            message = b"alice tunnels while someone guesses\n"
            self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)
            time.sleep(0.3)
        guesser.join()
        print("\n  guesses answered after: %s s; alice meanwhile: %d logins, slowest %.3f s"
              % (", ".join("%.3f" % t for _, t in timings), len(others), max(others)), end="")
        self.assertEqual([reply for reply, _ in timings], [b"\x01\x01"] * guesses)
        self.assert_penalties([elapsed for _, elapsed in timings])
        self.assertGreaterEqual(len(others), 3)
        self.assertLess(max(others), AT_ONCE, "a correct login waited behind the guesser")
        # A success from the guessing address is answered at once and forgives its failures.
        reply, elapsed = timed_socks_login(self.server, self.GUESSER, TEST_USER, TEST_PASSWORD)
        self.assertEqual(reply, b"\x01\x00")
        self.assertLess(elapsed, AT_ONCE)
        reply, elapsed = timed_socks_login(self.server, self.GUESSER, TEST_USER, "wrong-again")
        self.assertEqual(reply, b"\x01\x01")
        self.assertLess(elapsed, AT_ONCE, "a success did not reset the failure count")
        metrics = harness.metrics_of(self.server)
        self.assertEqual(metrics["auth_errors"], guesses + 1)

    def test_admin_and_socks_failures_share_one_counter(self):
        # Failures alternate between the two ports; the penalty follows their total.
        plan = ["socks", "socks", "admin", "admin", "socks", "admin"]
        timings = []
        with AdminClient(self.server) as admin:
            for number, port in enumerate(plan, start=1):
                if port == "socks":
                    reply, elapsed = timed_socks_login(self.server, self.GUESSER, TEST_USER,
                                                       "guess-%d" % number)
                    self.assertEqual(reply, b"\x01\x01")
                else:
                    reply, elapsed = timed_admin_login(self.server, self.GUESSER,
                                                       harness.ADMIN_USER, "guess-%d" % number)
                    self.assertEqual(reply, bytes([ADMIN_VERSION, 0,
                                                   harness.ADMIN_STATUS_UNAUTHENTICATED, 0]))
                timings.append(elapsed)
                # The real admin's session and a new admin login elsewhere are not slowed.
                start = time.monotonic()
                admin.ping()
                reply, other = timed_admin_login(self.server, self.OTHER, harness.ADMIN_USER,
                                                 harness.ADMIN_PASSWORD)
                self.assertEqual(reply, bytes([ADMIN_VERSION, 0, 0, harness.ADMIN_ROLE_ADMIN]))
                self.assertLess(time.monotonic() - start, AT_ONCE)
            metrics = admin.metrics()
        print("\n  failures (%s) answered after: %s s; auth_errors %d"
              % (" ".join(plan), ", ".join("%.3f" % t for t in timings),
                 metrics["auth_errors"]), end="")
        self.assert_penalties(timings)
        self.assertEqual(metrics["auth_errors"], len(plan))


# ---------------------------------------------------------------------------------------------
# Admin protocol abuse

ADMIN_AUTH_TIMEOUT = 10.0
IDLE_ADMIN_CONNECTIONS = 300


def admin_answer_then_close(sock, timeout=5.0):
    """Everything the server sends until it closes (fails if it does not close in time)."""
    sock.settimeout(timeout)
    data = bytearray()
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return bytes(data)
            data += chunk
    except ConnectionResetError:
        return bytes(data)


def error_frame(status, message):
    body = message.encode() + b"\n"
    return bytes([ADMIN_VERSION, 0, status]) + struct.pack("!I", len(body)) + body


class AdminAbuse(harness.ServerTestCase):
    # Room for every idle connection (twice the sessions may be logging in at once), so the
    # real admin's new login is not queued behind them; AdminConnectionLimit tests the queue.
    SERVER_ARGS = ("--admin-sessions", str(IDLE_ADMIN_CONNECTIONS // 2 + 10))

    def login_reply_to(self, raw):
        with harness.admin_connect(self.server) as sock:
            sock.sendall(raw)
            return admin_answer_then_close(sock)

    def check_malformed_logins(self):
        unsupported = bytes([ADMIN_VERSION, 0, harness.ADMIN_STATUS_UNSUPPORTED_VERSION, 0])
        bad = bytes([ADMIN_VERSION, 0, harness.ADMIN_STATUS_BAD_REQUEST, 0])
        cases = [
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", unsupported),
            (b"\xff\xfe\xfd\xfc" * 64, unsupported),
            (harness.admin_login_request(version=1), unsupported),
            (harness.admin_login_request(reserved=1), bad),
            (bytes([2, 0, 0, 4]) + b"pass", bad),                      # ULEN 0
            (bytes([2, 0, 4]) + b"ro\x00t" + bytes([4]) + b"pass", bad),  # NUL in the name
        ]
        for raw, wanted in cases:
            self.assertEqual(self.login_reply_to(raw), wanted, "login %r" % raw[:16])

    def check_malformed_requests(self, user, password):
        def session():
            client = AdminClient(self.server, user, password)
            client.sock.settimeout(5)
            return client

        closing = [
            (harness.admin_request(harness.ADMIN_CMD_METRICS, body_length=0xFFFFFFFF),
             error_frame(harness.ADMIN_STATUS_BAD_REQUEST, "body length over the maximum")),
            (harness.admin_request(harness.ADMIN_CMD_METRICS, body_length=4097),
             error_frame(harness.ADMIN_STATUS_BAD_REQUEST, "body length over the maximum")),
            (harness.admin_request(harness.ADMIN_CMD_PING, version=3),
             error_frame(harness.ADMIN_STATUS_UNSUPPORTED_VERSION,
                         "unsupported protocol version")),
            (harness.admin_request(harness.ADMIN_CMD_PING, reserved=9),
             error_frame(harness.ADMIN_STATUS_BAD_REQUEST, "reserved byte is not zero")),
        ]
        for raw, wanted in closing:
            with session() as client:
                client.sock.sendall(raw)
                self.assertEqual(admin_answer_then_close(client.sock), wanted, "request %r" % raw)
        # Errors inside a well-framed request: answered, and the session goes on.
        with session() as client:
            client.sock.sendall(harness.admin_request(0x7F, b"z" * 4096))
            status, body = harness.read_admin_response(client.sock)
            self.assertEqual(status, harness.ADMIN_STATUS_UNSUPPORTED_COMMAND)
            self.assertTrue(body.endswith(b"\n") and body.count(b"\n") == 1, body)
            status, _ = client.request(harness.ADMIN_CMD_METRICS, b"\x00")
            self.assertEqual(status, harness.ADMIN_STATUS_BAD_REQUEST)
            client.ping()
        # A login and a request, each written one byte at a time.
        with harness.admin_connect(self.server) as sock:
            for byte in harness.admin_login_request(user, password) + harness.admin_request(
                    harness.ADMIN_CMD_METRICS):
                sock.sendall(bytes([byte]))
                time.sleep(0.002)
            self.assertEqual(bytes(harness.read_admin_login_reply(sock)),
                             bytes([ADMIN_VERSION, 0, 0, harness.ADMIN_ROLE_ADMIN]))
            status, body = harness.read_admin_response(sock)
            self.assertEqual(status, harness.ADMIN_STATUS_OK)
            self.assertIn("connections_total", harness.parse_admin_record(body))

    def test_abuse_gets_documented_answers_while_an_admin_works(self):
        admin = AdminClient(self.server)
        self.addCleanup(admin.close)
        before = admin.metrics()
        # Hundreds of connections that never finish a login: silent ones, and ones that send
        # part of a login (a login never finished).
        idle = []
        for index in range(IDLE_ADMIN_CONNECTIONS):
            sock = harness.admin_connect(self.server)
            if index % 3 == 0:
                sock.sendall(bytes([ADMIN_VERSION, 0, 4]) + b"ro")
            idle.append((sock, time.monotonic()))
        self.addCleanup(lambda: [sock.close() for sock, _ in idle])
        # Meanwhile: garbage and malformed frames, each answered as PROTOCOL.md says.
        self.check_malformed_logins()
        self.check_malformed_requests(harness.ADMIN_USER, harness.ADMIN_PASSWORD)
        # The real admin's session works, and a new admin logs in at once.
        start = time.monotonic()
        during = admin.metrics()
        with AdminClient(self.server) as newcomer:
            newcomer.ping()
        newcomer_seconds = time.monotonic() - start
        message = b"socks served during admin abuse\n"
        self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)
        # Every unfinished login is closed, without a reply, at the auth timeout.
        selector = selectors.DefaultSelector()
        lifetimes, leftovers = [], {}
        for sock, opened in idle:
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, opened)
        deadline = time.monotonic() + ADMIN_AUTH_TIMEOUT + 5
        while len(lifetimes) + len(leftovers) < len(idle) and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=1.0):
                outcome = closed_by_peer(key.fileobj)
                selector.unregister(key.fileobj)
                if outcome == "closed":
                    lifetimes.append(time.monotonic() - key.data)
                else:
                    leftovers[key.fileobj] = outcome
            admin.ping()
        selector.close()
        after = admin.metrics()
        print("\n  %d unfinished logins closed after %.2f .. %.2f s; new admin login + ping "
              "%.3f s; unsupported_input %d -> %d"
              % (len(lifetimes), min(lifetimes or [0]), max(lifetimes or [0]), newcomer_seconds,
                 before["unsupported_input"], after["unsupported_input"]), end="")
        self.assertEqual(leftovers, {}, "an unfinished login got an answer")
        self.assertEqual(len(lifetimes), len(idle), "unfinished logins still open")
        self.assertGreaterEqual(min(lifetimes), ADMIN_AUTH_TIMEOUT - 0.5)
        self.assertLess(max(lifetimes), ADMIN_AUTH_TIMEOUT + 4)
        self.assertLess(newcomer_seconds, 2.0)
        self.assertGreater(during["uptime_seconds"] + 1, before["uptime_seconds"])
        # PROTOCOL.md 8.7: unsupported_input counts SOCKS input only, and auth_errors failed
        # logins, which malformed ones (answered 0x02/0x07 at once, 4.4) are not.
        self.assertEqual(after["unsupported_input"], before["unsupported_input"])
        self.assertEqual(after["auth_errors"], 0, "malformed logins are not failed logins")


    def test_unknown_command_answer_is_the_protocol_example(self):
        # PROTOCOL.md 12.4: "An unknown command 0x7f (02 00 7f 00 00 00 00); the session stays
        # open", answered byte for byte as below.
        with AdminClient(self.server) as client:
            client.sock.sendall(bytes.fromhex("02 00 7f 00 00 00 00"))
            self.assertEqual(harness.read_admin_response(client.sock),
                             (harness.ADMIN_STATUS_UNSUPPORTED_COMMAND,
                              b"unsupported command 0x7f\n"))
            client.ping()


class AdminConnectionLimit(harness.ServerTestCase):
    """--admin-sessions 1: two connections may be open (PROTOCOL.md 4.5); a third waits in the
    accept queue until one ends, and a login past the session limit is told 'server error'."""
    SERVER_ARGS = ("--admin-sessions", "1")

    def test_queued_then_refused_then_served(self):
        admin = AdminClient(self.server)
        idle = harness.admin_connect(self.server)
        queued = harness.admin_connect(self.server)
        try:
            queued.sendall(harness.admin_login_request())
            queued.settimeout(1.0)
            with self.assertRaises(socket.timeout, msg="answered past the connection limit"):
                queued.recv(4)
            admin.ping()                      # the logged-in session is unaffected
            idle.close()                      # a connection slot frees: the queued one goes on
            queued.settimeout(5)
            self.assertEqual(admin_answer_then_close(queued),
                             bytes([ADMIN_VERSION, 0, harness.ADMIN_STATUS_SERVER_ERROR, 0]),
                             "a login past the session limit")
            admin.ping()
            admin.close()                     # the session frees: the next login succeeds
            with AdminClient(self.server) as again:
                again.ping()
        finally:
            for sock in (idle, queued, admin.sock):
                sock.close()


# ---------------------------------------------------------------------------------------------
# Bad users files

class BadUsersFile(unittest.TestCase):
    """Starts with a users file that is missing, empty, truncated, has a duplicate or a bad hash,
    or cannot be read; and SIGHUP with a bad file. A bad file stops the start (exit 1, a message
    naming the line) and is never rewritten."""

    @classmethod
    def setUpClass(cls):
        harness.raise_fd_limit()
        cls.echo = harness.EchoServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-users-")
        self.addCleanup(subprocess.call, ["rm", "-rf", self.directory])
        self.path = os.path.join(self.directory, "users")

    def start(self, path, users=((TEST_USER, TEST_PASSWORD),)):
        server = harness.Socks5dProcess("-f", path, users=users)
        server.start()
        self.addCleanup(server.kill)
        return server

    def stop(self, server):
        harness.check_stopped_cleanly(self, server)

    def failed_start(self, path):
        """Runs socks5d on a bad file; returns its stderr after asserting exit code 1."""
        state = tempfile.mkdtemp(prefix="socks5d-state-")
        self.addCleanup(subprocess.call, ["rm", "-rf", state])
        env = harness.isolated_env(state)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        result = subprocess.run([harness.server_binary(), "-p", "0", "-P", "0", "-f", path,
                                 "-u", "%s:%s" % (TEST_USER, TEST_PASSWORD)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env, timeout=30)
        text = result.stderr.decode("utf-8", "replace")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, text)
        self.assertEqual(result.returncode, 1, "exit code on a bad users file; stderr:\n" + text)
        self.assertNotIn("listening for", text, "started listening with a bad users file")
        return text

    def good_file(self):
        """A users file written by socks5d itself (alice and the admin root), then a second
        user 'bob' added by hand with alice's hash (so bob's password is alice's)."""
        server = self.start(self.path)
        self.stop(server)
        with open(self.path) as handle:
            lines = handle.read().splitlines()
        alice = next(line for line in lines if line.startswith(TEST_USER + ":"))
        lines.append("bob:user:" + alice.split(":", 2)[2])
        text = "\n".join(lines) + "\n"
        with open(self.path, "w") as handle:
            handle.write(text)
        return text

    def assert_login(self, server, user, password, works=True):
        with harness.connect_proxy(server) as sock:
            sock.sendall(greeting(METHOD_USERPASS) + auth_request(user, password))
            self.assertEqual(recv_exact(sock, 4)[2:], b"\x01\x00" if works else b"\x01\x01",
                             "login of %s" % user)
        if works:
            message = b"%s is served\n" % user.encode()
            self.assertEqual(harness.echo_roundtrip(server, self.echo, message, user, password),
                             message)

    def assert_refused_unchanged(self, text, wanted_messages):
        with open(self.path, "w") as handle:
            handle.write(text)
        before = file_bytes(self.path)
        stderr = self.failed_start(self.path)
        for wanted in wanted_messages:
            self.assertIn(wanted, stderr)
        self.assertEqual(file_bytes(self.path), before, "the bad file was rewritten")
        # The accounting database beside it is an earlier start's (a started server makes it).
        left = [name for name in os.listdir(self.directory) if not name.startswith("accounting.db")]
        self.assertEqual(sorted(left), ["users"], "a temp file was left")
        print("\n  " + [line for line in stderr.splitlines() if " error " in line][0], end="")

    def test_missing_file_is_created(self):
        server = self.start(self.path)
        self.assert_login(server, TEST_USER, TEST_PASSWORD)
        self.stop(server)
        with open(self.path) as handle:
            names = [line.split(":")[0] for line in handle if not line.startswith("#")]
        self.assertEqual(sorted(names), sorted([TEST_USER, harness.ADMIN_USER]))
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)

    def test_empty_file_starts_with_the_flag_users(self):
        open(self.path, "w").close()
        server = self.start(self.path)
        self.assert_login(server, TEST_USER, TEST_PASSWORD)
        self.stop(server)
        with open(self.path) as handle:
            self.assertIn(TEST_USER + ":user:$", handle.read())

    def test_truncated_file_is_refused(self):
        text = self.good_file()
        self.assert_refused_unchanged(text[:-10], [self.path, "line 4", "truncated"])

    def test_duplicate_name_is_refused(self):
        lines = self.good_file().splitlines()
        text = "\n".join(lines + [lines[-1]]) + "\n"
        self.assert_refused_unchanged(text, [self.path, "line 5", "'bob' is listed twice"])

    def test_bad_hash_is_refused(self):
        lines = self.good_file().splitlines()
        lines[2] = lines[2].split(":")[0] + ":user:plaintext-password"
        self.assert_refused_unchanged("\n".join(lines) + "\n",
                                      [self.path, "line 3", "not a crypt(3) password hash"])

    def test_directory_is_refused(self):
        os.mkdir(self.path)
        stderr = self.failed_start(self.path)
        self.assertIn(self.path, stderr)
        self.assertEqual(os.listdir(self.path), [])
        print("\n  " + [line for line in stderr.splitlines() if " error " in line][0], end="")

    def test_path_under_a_file_is_refused(self):
        with open(self.path, "w") as handle:
            handle.write("# not a directory\n")
        path = os.path.join(self.path, "users")
        stderr = self.failed_start(path)
        self.assertIn(path, stderr)
        self.assertIn("Not a directory", stderr)
        self.assertEqual(file_text(self.path), "# not a directory\n")

    def test_sighup_with_a_bad_file_keeps_the_users(self):
        self.good_file()
        server = self.start(self.path, users=())
        self.assert_login(server, "bob", TEST_PASSWORD)
        # The server rewrote the file at start (in its own order): number the lines now.
        good = file_text(self.path)
        lines = good.splitlines()
        bob_line = 1 + next(i for i, line in enumerate(lines) if line.startswith("bob:"))
        bad_files = [
            ("truncated", good[:-1], "line %d: truncated" % len(lines)),
            ("duplicate", good + "bob:user:$y$x$y\n",
             "line %d: user 'bob' is listed twice" % (len(lines) + 1)),
            ("bad hash", good.replace("bob:user:$", "bob:user:"),
             "line %d: not a crypt(3) password hash" % bob_line),
        ]
        for name, text, wanted in bad_files:
            with open(self.path, "w") as handle:
                handle.write(text)
            reloads = server.stderr_text().count("SIGHUP: users file")
            os.kill(server.process.pid, signal.SIGHUP)
            self.assertTrue(wait_for(lambda: server.stderr_text().count("SIGHUP: users file")
                                     > reloads, 10), "no answer to SIGHUP (%s)" % name)
            line = [l for l in server.stderr_text().splitlines() if "SIGHUP" in l][-1]
            self.assertIn(wanted, server.stderr_text(), name)
            self.assertIn("keeping the", server.stderr_text(), name)
            self.assert_login(server, "bob", TEST_PASSWORD)
            self.assert_login(server, TEST_USER, TEST_PASSWORD)
            self.assertEqual(file_text(self.path), text, "the bad file was rewritten (%s)" % name)
            print("\n  " + line, end="")
        # A good file is taken: bob removed by hand is refused from now on.
        with open(self.path, "w") as handle:
            handle.write("\n".join(l for l in good.splitlines() if not l.startswith("bob:"))
                         + "\n")
        os.kill(server.process.pid, signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reloaded" in server.stderr_text(), 10))
        self.assert_login(server, "bob", TEST_PASSWORD, works=False)
        self.assert_login(server, TEST_USER, TEST_PASSWORD)
        self.stop(server)


if __name__ == "__main__":
    unittest.main()
