"""Upstream faults: a reset in mid-stream, an upstream that never answers, one whose accept queue
is full (connect timeout), and a name whose first address refuses. Each gets the right RFC 1928
reply or a clean close, is counted in the right metric, and normal clients stay served."""

import json
import os
import select
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import recv_exact, AdminClient

RESET_PAYLOAD = os.urandom(1024) * 256      # 256 KiB, read whole before the reset
BURST_BEFORE_RESET = os.urandom(1024) * 4096  # 4 MiB, reset while it is still on its way
UPPER_BOUND = 5.0


def end_of_stream(sock, timeout=UPPER_BOUND):
    """Reads until the connection ends: 'reset', 'eof', or 'open' if it did not end in time;
    returns (outcome, bytes read)."""
    sock.settimeout(0.25)
    deadline, count = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return "reset", count
        if not chunk:
            return "eof", count
        count += len(chunk)
    return "open", count


def send_message(sock, message=b"hello upstream?\n"):
    sock.sendall(message)
    return message


# ---------------------------------------------------------------------------------------------
# An upstream that resets in mid-stream

class MidStreamResetUpstream(harness._ThreadedServer):
    """On 'wait\\n': sends RESET_PAYLOAD, waits until told (the client has read it), then resets.
    On 'burst\\n': sends what it can of BURST_BEFORE_RESET for 0.3 s, then resets at once."""

    def __init__(self):
        super().__init__(dual=True)
        self.may_reset = threading.Event()

    def serve(self, conn):
        command = conn.recv(64)
        if command == b"wait\n":
            conn.sendall(RESET_PAYLOAD)
            self.may_reset.wait(UPPER_BOUND)
        elif command == b"burst\n":
            conn.settimeout(0.3)
            try:
                conn.sendall(BURST_BEFORE_RESET)
            except socket.timeout:
                pass
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class UpstreamResets(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.upstream = MidStreamResetUpstream().start()

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.upstream.may_reset.clear()

    def test_reset_after_data_reaches_client_and_counts(self):
        with AdminClient(self.server) as admin:
            before = admin.metrics()
            sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.upstream.port)
            with sock:
                sock.sendall(b"wait\n")
                self.assertEqual(recv_exact(sock, len(RESET_PAYLOAD)), RESET_PAYLOAD)
                self.upstream.may_reset.set()
                outcome, extra = end_of_stream(sock)
            entry = self.server.wait_access_line_for_client(sock)
            after = admin.metrics()
        print("\n  client saw: %s; receive_errors %d -> %d; access: status=%d down=%d"
              % (outcome, before["receive_errors"], after["receive_errors"], entry["status"],
                 entry["down"]), end="")
        self.assertEqual(outcome, "reset", "the upstream's reset should reach the client")
        self.assertEqual(extra, 0)
        self.assertEqual(after["receive_errors"] - before["receive_errors"], 1)
        self.assertEqual(after["send_errors"], before["send_errors"])
        self.assertEqual((entry["status"], entry["up"], entry["down"]),
                         (0, 5, len(RESET_PAYLOAD)))

    def test_reset_during_a_burst_ends_the_tunnel(self):
        with AdminClient(self.server) as admin:
            before = admin.metrics()
            sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.upstream.port)
            with sock:
                sock.sendall(b"burst\n")
                outcome, received = end_of_stream(sock)
            entry = self.server.wait_access_line_for_client(sock)
            after = admin.metrics()
        print("\n  client saw %d bytes then: %s; receive_errors %d -> %d"
              % (received, outcome, before["receive_errors"], after["receive_errors"]), end="")
        self.assertIn(outcome, ("reset", "eof"), "the tunnel did not end after the reset")
        self.assertLessEqual(received, len(BURST_BEFORE_RESET))
        self.assertGreaterEqual(entry["down"], received)
        self.assertEqual(after["receive_errors"] - before["receive_errors"], 1)


# ---------------------------------------------------------------------------------------------
# An upstream that accepts and never answers

class SilentUpstream(harness._ThreadedServer):
    """Accepts, never sends a byte; notes how each connection ended ('eof' or 'reset')."""

    def __init__(self):
        super().__init__(dual=True)
        self.endings = []

    def serve(self, conn):
        conn.settimeout(30)
        try:
            while conn.recv(4096):
                pass
            ending = "eof"
        except ConnectionResetError:
            ending = "reset"
        except socket.timeout:
            ending = "timeout"
        with self.lock:
            self.endings.append(ending)

    def wait_endings(self, count, timeout=UPPER_BOUND):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.endings) >= count:
                    return list(self.endings)
            time.sleep(0.02)
        with self.lock:
            return list(self.endings)


class SilentUpstreamCase(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.upstream = SilentUpstream().start()

    @classmethod
    def tearDownClass(cls):
        cls.upstream.stop()
        super().tearDownClass()


class UpstreamNeverAnswers(SilentUpstreamCase):

    def test_tunnel_stays_open(self):
        endings = len(self.upstream.wait_endings(0))
        sock, reply = harness.open_tunnel(self.server, "127.0.0.1", self.upstream.port)
        with sock:
            self.assertEqual(reply[1], harness.REP_SUCCESS)
            send_message(sock)
            self.assertFalse(harness.peer_closed(sock, timeout=2.5),
                             "the tunnel to a silent upstream was closed")
            self.assertIsNone(self.server.process.poll())
            message = b"served while a tunnel waits\n"
            self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)
            # Once the echo client's session is gone, only the silent tunnel is left.
            with AdminClient(self.server) as admin:
                deadline = time.monotonic() + UPPER_BOUND
                while admin.metrics()["connections_current"] != 1 \
                        and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertEqual(admin.metrics()["connections_current"], 1)
        # The client leaves: the proxy passes its FIN on.
        self.assertEqual(self.upstream.wait_endings(endings + 1)[endings:], ["eof"])
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["status"], entry["down"]), (0, 0))


class UpstreamNeverAnswersIdleTimeout(SilentUpstreamCase):
    SERVER_ARGS = ("--idle-timeout", "1")

    def test_idle_tunnel_is_closed(self):
        endings = len(self.upstream.wait_endings(0))
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.upstream.port)
        with sock:
            message = send_message(sock)
            start = time.monotonic()
            outcome, received = end_of_stream(sock)
            elapsed = time.monotonic() - start
        print("\n  silent tunnel closed after %.2f s (%s)" % (elapsed, outcome), end="")
        self.assertEqual((outcome, received), ("eof", 0), "an idle tunnel should end cleanly")
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 4.0)
        self.assertEqual(self.upstream.wait_endings(endings + 1)[endings:], ["eof"])
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["status"], entry["up"], entry["down"]), (0, len(message), 0))


# ---------------------------------------------------------------------------------------------
# An upstream whose accept queue is full: the connect times out

def full_accept_queue(fillers=3):
    """A listener with backlog 0 that never accepts, its queue filled by a few connects.
    Returns (listener, filler sockets), or raises SkipTest when the kernel still completes
    new handshakes (so a connect to it would not time out)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    sockets = [listener]
    try:
        for _ in range(fillers):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            filler.connect_ex(address)
            sockets.append(filler)
        time.sleep(0.2)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sockets.append(probe)
        probe.setblocking(False)
        probe.connect_ex(address)
        _, writable, _ = select.select([], [probe], [], 1.5)
        if writable and probe.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
            raise unittest.SkipTest("the kernel completed a handshake to a listener whose "
                                    "accept queue is full (syncookies?): no connect timeout "
                                    "can be provoked on loopback")
        return listener, sockets[1:]
    except BaseException:
        for sock in sockets:
            sock.close()
        raise


class UpstreamAcceptQueueFull(harness.ServerTestCase):
    SERVER_ARGS = ("--connect-timeout", "1")

    def test_connect_timeout_is_host_unreachable(self):
        listener, fillers = full_accept_queue()
        try:
            port = listener.getsockname()[1]
            with AdminClient(self.server) as admin:
                before = admin.metrics()
                start = time.monotonic()
                reply, sock = harness.request_reply(self.server, harness.request("127.0.0.1", port))
                elapsed = time.monotonic() - start
                with sock:
                    self.assertTrue(harness.peer_closed(sock), "not closed after REP 4")
                # Meanwhile, and after, others are served.
                message = b"served beside a hanging connect\n"
                self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)
                entry = self.server.wait_access_line_for_client(sock)
                after = admin.metrics()
        finally:
            listener.close()
            for filler in fillers:
                filler.close()
        print("\n  REP %d after %.2f s (--connect-timeout 1); host_unreachable %d -> %d"
              % (reply[1], elapsed, before["host_unreachable"], after["host_unreachable"]),
              end="")
        self.assertEqual(reply[1], harness.REP_HOST_UNREACHABLE)
        self.assertGreaterEqual(elapsed, 0.9)
        self.assertLess(elapsed, 3.0)
        self.assertEqual(after["host_unreachable"] - before["host_unreachable"], 1)
        self.assertEqual(after["connection_refused"], before["connection_refused"])
        self.assertEqual((entry["status"], entry["dest"], entry["dest_addr"]),
                         (4, "127.0.0.1:%d" % port, "-"))


# ---------------------------------------------------------------------------------------------
# A name with several addresses, the first of which refuses

HOSTS_WITH_BOTH = "127.0.0.1 localhost\n::1 localhost\n"
RESOLVE_LOCALHOST = ("import json, socket; print(json.dumps([a[4][0] for a in "
                     "socket.getaddrinfo('localhost', 80, type=socket.SOCK_STREAM)]))")


def private_hosts_wrapper(hosts_path):
    """A command prefix that runs a program in a private mount namespace where hosts_path is
    mounted over /etc/hosts (the system's file is not touched). It execs, so pids stay."""
    return ["unshare", "--mount", "--", "sh", "-c",
            'mount --bind "$0" /etc/hosts && exec "$@"', hosts_path]


def localhost_addresses(wrapper=()):
    result = subprocess.run(list(wrapper) + ["python3", "-c", RESOLVE_LOCALHOST],
                            capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        return None
    return json.loads(result.stdout)


class SingleFamilyEcho(harness._ThreadedServer):
    """Echoes on one loopback address only, on a port that is free on the other one too (so a
    connect there is refused)."""

    def __init__(self, host):
        super().__init__(dual=True)
        keep = [l for l in self.listeners if l.getsockname()[0] == host]
        for listener in self.listeners:
            if listener not in keep:
                listener.close()
        self.listeners = keep

    def serve(self, conn):
        while True:
            data = conn.recv(65536)
            if not data:
                return
            conn.sendall(data)


class FirstAddressRefuses(harness.ServerTestCase):
    """'localhost' resolving to ::1 and 127.0.0.1: the upstream listens on the second address
    only. If this system's /etc/hosts lists only one, the server runs in a private mount
    namespace with a hosts file that lists both (needs root and unshare)."""

    wrapper = ()
    addresses = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        addresses = localhost_addresses()
        if addresses is None or len({":" in a for a in addresses}) < 2:
            handle = tempfile.NamedTemporaryFile("w", prefix="socks5d-hosts-", delete=False)
            handle.write(HOSTS_WITH_BOTH)
            handle.close()
            cls.hosts_path = handle.name
            cls.wrapper = tuple(private_hosts_wrapper(handle.name))
            try:
                addresses = localhost_addresses(cls.wrapper)
            except (OSError, subprocess.SubprocessError):
                addresses = None
        if addresses is None or len({":" in a for a in addresses}) < 2:
            cls.tearDownClass()
            raise unittest.SkipTest("'localhost' does not resolve to both ::1 and 127.0.0.1, "
                                    "and no private /etc/hosts could be mounted (unshare)")
        cls.addresses = addresses

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "hosts_path", None):
            os.unlink(cls.hosts_path)
            cls.hosts_path = None
        super().tearDownClass()

    def setUp(self):
        self.server = harness.Socks5dProcess(*self.SERVER_ARGS)
        self.server.args = list(self.wrapper) + self.server.args
        self.server.start()
        self.addCleanup(self.server.kill)

    def test_connect_falls_back_to_the_second_address(self):
        first, second = self.addresses[0], next(a for a in self.addresses
                                                if (":" in a) != (":" in self.addresses[0]))
        upstream = SingleFamilyEcho(second).start()
        self.addCleanup(upstream.stop)
        with socket.socket(socket.AF_INET6 if ":" in first else socket.AF_INET) as check:
            self.assertNotEqual(check.connect_ex((first, upstream.port)), 0,
                                "the first address should refuse")
        with AdminClient(self.server) as admin:
            before = admin.metrics()
            sock, reply = harness.open_tunnel(self.server, "localhost", upstream.port)
            with sock:
                message = send_message(sock, b"reached via the second address\n")
                self.assertEqual(recv_exact(sock, len(message)), message)
            entry = self.server.wait_access_line_for_client(sock)
            after = admin.metrics()
        family = "ipv6_connections" if ":" in second else "ipv4_connections"
        print("\n  localhost -> %s; upstream on %s only; access dest_addr=%s"
              % (", ".join(self.addresses), second, entry["dest_addr"]), end="")
        self.assertEqual(reply[1], harness.REP_SUCCESS)
        self.assertEqual(entry["dest"], "localhost:%d" % upstream.port)
        self.assertEqual(entry["dest_addr"], harness.format_endpoint(second, upstream.port))
        self.assertEqual(entry["status"], 0)
        self.assertEqual(after[family] - before[family], 1)
        self.assertEqual(after["dns_connections"] - before["dns_connections"], 1)
        self.assertEqual(after["connection_refused"], before["connection_refused"])

    def test_every_address_refuses(self):
        port = harness.bind_dual_loopback()
        for listener in port[1]:
            listener.close()
        port = port[0]
        with AdminClient(self.server) as admin:
            before = admin.metrics()
            reply, sock = harness.request_reply(self.server, harness.request("localhost", port))
            with sock:
                self.assertTrue(harness.peer_closed(sock))
            entry = self.server.wait_access_line_for_client(sock)
            after = admin.metrics()
        self.assertEqual(reply[1], harness.REP_CONNECTION_REFUSED)
        self.assertEqual((entry["status"], entry["dest_addr"]), (5, "-"))
        self.assertEqual(after["connection_refused"] - before["connection_refused"], 1)
        self.assertEqual(after["host_unreachable"], before["host_unreachable"])


if __name__ == "__main__":
    unittest.main()
