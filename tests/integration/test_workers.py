"""Workers (--workers N, one event loop per thread, each with its own SO_REUSEPORT listener) with
the count given explicitly, so the cross-worker paths are exercised whatever the machine's CPU
count: tunnels spread over the workers; the admin's connections listing, metrics,
close-connection and close-user-connections reach every worker, and so do its setting changes
(allow-no-auth, require-auth, set-buffer-size), seen per worker thread with strace; a second
socks5d cannot share the port; --workers 0 and bad values."""

import os
import re
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (AdminClient, EchoTestCase, Socks5dProcess, check_stopped_cleanly,
                     echo_roundtrip, open_tunnel, ADMIN_STATUS_OK, TEST_USER)

WORKERS = 4
TUNNELS = 40
# Distinct sizes per tunnel, several over the 16 KiB relay buffer: a row matched to the wrong
# tunnel, or bytes counted twice or not at all, shows as a wrong number.
PAYLOAD_BASE, PAYLOAD_STEP = 3000, 1013
EXCHANGE_TIMEOUT = 10.0
CLOSE_SEEN_TIMEOUT = 2.0   # "promptly": the close is done before the admin's response
SETTLE_TIMEOUT = 3.0       # a worker adds its counts just after its send(): poll this long
USAGE_ERROR_TIMEOUT = 10.0

CMD_USER_METRICS = 0x04
CMD_CONNECTIONS = 0x05
CMD_SET_NO_AUTH = 0x0B
CMD_SET_BUFFER_SIZE = 0x0D
CMD_CLOSE_CONNECTION = 0x0E
CMD_CLOSE_USER_CONNECTIONS = 0x0F
WHICH_LIVE, WHICH_RECENT = 0x00, 0x01
STATUS_NOT_FOUND = 0x05
EXIT_USAGE = 64

READY_RE = re.compile(r"socks5d ready: .*\b(\d+) workers?\s*$", re.MULTILINE)
# strace -f -o FILE: "123 recvfrom(9, ""..., 4099, 0, NULL, NULL) = 3" (123: the thread), or the
# call split in an "<unfinished ...>" line and a "<... recvfrom resumed>" one with the length.
RECVFROM_RE = re.compile(r"^(\d+) +(?:recvfrom\(|<\.\.\. recvfrom resumed>)"
                         r".*, (\d+), \d+, NULL, NULL\)", re.MULTILINE)
STRACE_ATTACHED_RE = re.compile(r"Process \d+ attached")
# After refusing a client the session drains what it still sends into a fixed buffer of this
# size, not a relay buffer (socks/session.c): the one other length a worker's recvfrom asks for.
REFUSAL_DRAIN_READ = 4096
GREETINGS_PER_ROUND = 16
GREETING_ROUNDS = 8
EPOLL_TARGET_RE = re.compile(r"^tfd:\s*\d+\s.*\bino:([0-9a-f]+)", re.MULTILINE)
TCP_LISTEN_STATE = "0A"


# ---------------------------------------------------------------------------------------------
# Admin requests this test needs beyond harness.AdminClient (PROTOCOL.md 7.6, 7.15, 7.16)

def str8(text):
    data = text.encode()
    return bytes([len(data)]) + data


def unescape(field):
    """Undoes PROTOCOL.md 8.3 escaping."""
    out, i = [], 0
    simple = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    while i < len(field):
        if field[i] == "\\" and i + 1 < len(field):
            if field[i + 1] in simple:
                out.append(simple[field[i + 1]])
                i += 2
                continue
            if field[i + 1] == "x" and i + 3 < len(field):
                out.append(chr(int(field[i + 2:i + 4], 16)))
                i += 4
                continue
        out.append(field[i])
        i += 1
    return "".join(out)


def parse_table(body):
    """A table body (PROTOCOL.md 8.2): (record dict, rows as dicts by column name); u64 fields
    become ints."""
    text = body.decode("utf-8", "replace")
    record_part, _, table_part = text.partition("\n\n")
    record = harness.parse_admin_record((record_part + "\n").encode())
    lines = table_part.split("\n")
    if not lines or lines[-1] != "":
        raise AssertionError("table body does not end in LF: %r" % text[-200:])
    header = lines[0].split("\t")
    rows = []
    for line in lines[1:-1]:
        fields = [unescape(f) for f in line.split("\t")]
        if len(fields) != len(header):
            raise AssertionError("row %r has %d fields, header %d"
                                 % (line, len(fields), len(header)))
        rows.append({name: int(value) if value.isdigit() else value
                     for name, value in zip(header, fields)})
    return record, rows


def connections(admin, which, user=""):
    """One consistent page (limit 0) of the connections table: (total, rows)."""
    status, body = admin.request(CMD_CONNECTIONS,
                                 str8(user) + bytes([which]) + struct.pack("!II", 0, 0))
    if status != ADMIN_STATUS_OK:
        raise AssertionError("connections: status %d %r" % (status, body))
    record, rows = parse_table(body)
    if record.get("total") != len(rows):
        raise AssertionError("connections: total %r but %d rows" % (record.get("total"), len(rows)))
    return record["total"], rows


def close_connection(admin, connection_id):
    return admin.request(CMD_CLOSE_CONNECTION, struct.pack("!Q", connection_id))


def client_port(row):
    host, _, port = row["client"].rpartition(":")
    if host != "127.0.0.1":
        raise AssertionError("unexpected client address in row %r" % row)
    return int(port)


# ---------------------------------------------------------------------------------------------
# Where the tunnels live: each worker's epoll instance, read from /proc (Linux). Each worker has
# one epoll holding its own listening socket; an accepted client socket is watched by the epoll
# of the worker that accepted it.

def _tcp_sockets(pid):
    """{inode: (local port, remote port, state)} of the server's network namespace's IPv4 TCP
    sockets."""
    sockets = {}
    with open("/proc/%d/net/tcp" % pid) as table:
        next(table)
        for line in table:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            sockets[int(fields[9])] = (local_port, remote_port, fields[3])
    return sockets


def _epoll_targets(pid):
    """One set of target inodes per epoll descriptor the process holds."""
    targets = []
    fd_dir = "/proc/%d/fd" % pid
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) != "anon_inode:[eventpoll]":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as info:
                text = info.read()
        except OSError:
            continue  # closed meanwhile
        targets.append({int(ino, 16) for ino in EPOLL_TARGET_RE.findall(text)})
    return targets


def worker_spread(server, socks_port, client_ports):
    """Per worker (an epoll watching a listening socket on socks_port): (listening sockets,
    client connections from client_ports) it watches."""
    sockets = _tcp_sockets(server.process.pid)
    wanted = set(client_ports)
    spread = []
    for inodes in _epoll_targets(server.process.pid):
        listeners = clients = 0
        for inode in inodes:
            local, remote, state = sockets.get(inode, (None, None, None))
            if local != socks_port:
                continue
            if state == TCP_LISTEN_STATE:
                listeners += 1
            elif remote in wanted:
                clients += 1
        if listeners:
            spread.append((listeners, clients))
    return spread


def listening_sockets_on(pid, port):
    return sum(1 for local, _, state in _tcp_sockets(pid).values()
               if local == port and state == TCP_LISTEN_STATE)


# ---------------------------------------------------------------------------------------------
# Which worker did what: strace on every thread of the server, each thread known by its name
# (socks5d-wN). Every read a worker makes from a SOCKS client goes into a relay buffer and asks
# for that buffer's whole size (handshakes included), so the lengths its recvfrom calls ask for
# are the buffer size that worker uses.

def thread_names(pid):
    names = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as comm:
                names[int(tid)] = comm.read().strip()
        except FileNotFoundError:
            continue
    return names


class ThreadTrace:
    """strace -f on the server while the with-block runs; reads() then gives, per thread name,
    the set of lengths its recvfrom calls asked for."""

    def __init__(self, server):
        self.server = server
        self.directory = tempfile.mkdtemp(prefix="socks5d-strace-")
        self.output = os.path.join(self.directory, "trace")
        self.messages = os.path.join(self.directory, "messages")

    def __enter__(self):
        pid = self.server.process.pid
        self.names = thread_names(pid)
        with open(self.messages, "w") as messages:
            self.process = subprocess.Popen(
                [harness.require_tool("strace"), "-f", "-p", str(pid), "-e", "trace=recvfrom",
                 "-e", "signal=none", "-s", "0", "-o", self.output],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=messages)
        deadline = time.monotonic() + USAGE_ERROR_TIMEOUT
        while not STRACE_ATTACHED_RE.search(self.read_messages()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("strace did not attach:\n" + self.read_messages())
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info):
        self.process.send_signal(signal.SIGINT)  # detaches, the server runs on
        self.process.wait(timeout=USAGE_ERROR_TIMEOUT)

    def read_messages(self):
        with open(self.messages) as messages:
            return messages.read()

    def reads(self):
        with open(self.output) as trace:
            text = trace.read()
        lengths = {}
        for tid, length in RECVFROM_RE.findall(text):
            name = self.names.get(int(tid), "?")
            lengths.setdefault(name, set()).add(int(length))
        shutil.rmtree(self.directory, ignore_errors=True)
        return lengths


def greet(server, method):
    """A greeting offering only method; the method the server chose (0xFF: none)."""
    with harness.connect_proxy(server) as sock:
        sock.sendall(harness.greeting(method))
        return harness.recv_exact(sock, 2)


def greet_every_worker(server, method):
    """Greetings (each on a new connection) until every worker thread has read one: the replies
    and, per worker thread, the recvfrom lengths it asked for."""
    replies, lengths = [], {}
    workers = {"socks5d-w%d" % i for i in range(WORKERS)}
    for _ in range(GREETING_ROUNDS):
        with ThreadTrace(server) as trace:
            replies += [greet(server, method) for _ in range(GREETINGS_PER_ROUND)]
        for name, seen in trace.reads().items():
            lengths.setdefault(name, set()).update(seen)
        if workers <= set(lengths):
            break
    return replies, lengths


# ---------------------------------------------------------------------------------------------

def wait_ready(server, timeout=10.0):
    """The worker count from the 'socks5d ready: ... N workers' line."""
    deadline = time.monotonic() + timeout
    while True:
        match = READY_RE.search(server.stderr_text())
        if match:
            return int(match.group(1))
        if time.monotonic() > deadline or server.process.poll() is not None:
            raise AssertionError("no 'socks5d ready: ... N workers' line:\n" + server.stderr_text())
        time.sleep(0.02)


def exchange(socks, payloads, timeout=EXCHANGE_TIMEOUT):
    """Sends each payload on its socket and reads its echo, all tunnels at once; returns the
    sockets whose echo did not come back intact."""
    selector = selectors.DefaultSelector()
    state = {}
    for sock, payload in zip(socks, payloads):
        sock.setblocking(False)
        state[sock] = {"out": memoryview(payload), "in": bytearray(), "want": payload}
        selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
    pending = len(socks)
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            for key, events in selector.select(timeout=0.2):
                sock, entry = key.fileobj, state[key.fileobj]
                if events & selectors.EVENT_WRITE and entry["out"]:
                    sent = sock.send(entry["out"])
                    entry["out"] = entry["out"][sent:]
                    if not entry["out"]:
                        selector.modify(sock, selectors.EVENT_READ)
                if events & selectors.EVENT_READ:
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    if not data:
                        selector.unregister(sock)
                        pending -= 1
                        continue
                    entry["in"] += data
                    if len(entry["in"]) >= len(entry["want"]):
                        selector.unregister(sock)
                        pending -= 1
    finally:
        selector.close()
        for sock in socks:
            sock.setblocking(True)
            sock.settimeout(harness.SOCKET_TIMEOUT)
    return [sock for sock in socks if bytes(state[sock]["in"]) != state[sock]["want"]]


def poll_until(read, done, timeout=SETTLE_TIMEOUT):
    """Calls read() until done(value) or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(0.02)


def seen_closed(sock, timeout=CLOSE_SEEN_TIMEOUT):
    """True when the proxy's end closes (EOF or reset) within timeout."""
    sock.settimeout(timeout)
    try:
        return sock.recv(4096) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


class WorkersTestCase(EchoTestCase):
    def open_tunnels(self, server, count):
        """count tunnels to the echo server, each established before the next connects (so
        their connection ids ascend in this order); all closed at cleanup."""
        tunnels = []
        self.addCleanup(lambda: [sock.close() for sock in tunnels])
        for _ in range(count):
            sock, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
            tunnels.append(sock)
        return tunnels

    def assert_spread(self, server, ports):
        """Every worker has its own listener, and the tunnels landed on more than one worker
        (else the cross-worker checks that follow would prove nothing)."""
        spread = poll_until(lambda: worker_spread(server, server.port, ports),
                            lambda s: sum(c for _, c in s) == len(ports))
        self.assertEqual([listeners for listeners, _ in spread], [1] * WORKERS,
                         "one listening socket per worker's loop, got %r" % (spread,))
        clients = sorted((c for _, c in spread), reverse=True)
        self.assertEqual(sum(clients), len(ports), "tunnels found in the workers' loops: %r"
                         % (spread,))
        # 40 connections hashed over 4 listeners: all on one is a 4**-39 chance.
        self.assertGreaterEqual(sum(1 for c in clients if c), 2,
                                "all tunnels on one worker: %r" % (clients,))
        if os.environ.get("VERBOSE_SPREAD"):
            print("tunnels per worker:", clients)


class FortyTunnelsOverFourWorkers(WorkersTestCase):
    def test_listed_counted_and_closed_on_every_worker(self):
        server = self.start_server("--workers", str(WORKERS))
        self.assertEqual(wait_ready(server), WORKERS, "worker count in the ready line")

        # 1. 40 tunnels open at once, each echoing its own payload through the proxy.
        tunnels = self.open_tunnels(server, TUNNELS)
        ports = [sock.getsockname()[1] for sock in tunnels]
        sizes = [PAYLOAD_BASE + PAYLOAD_STEP * i for i in range(TUNNELS)]
        payloads = [((b"%02d" % i) * size)[:size] for i, size in enumerate(sizes)]
        failed = exchange(tunnels, payloads)
        self.assertEqual([ports[tunnels.index(s)] for s in failed], [],
                         "tunnels (client ports) whose echo did not come back intact")
        self.assert_spread(server, ports)

        with AdminClient(server) as admin:
            # 2. The live listing shows exactly these 40, in ascending id order matching the
            # order they were opened, with each one's own byte counts.
            by_port = dict(zip(ports, sizes))
            total, rows = poll_until(
                lambda: connections(admin, WHICH_LIVE),
                lambda page: all(r["bytes_up"] == by_port.get(client_port(r)) == r["bytes_down"]
                                 for r in page[1]))
            self.assertEqual(total, TUNNELS, "live connections listed")
            self.assertEqual([client_port(r) for r in rows], ports,
                             "listed client ports, in id order = the order the tunnels opened")
            ids = [r["id"] for r in rows]
            self.assertEqual(ids, sorted(set(ids)), "ids unique and ascending")
            for row in rows:
                size = by_port[client_port(row)]
                self.assertEqual((row["state"], row["user"], row["destination"], row["status"],
                                  row["bytes_up"], row["bytes_down"]),
                                 ("live", TEST_USER, "127.0.0.1:%d" % self.echo.port, 0,
                                  size, size), "row %r" % row)

            # The summed metrics: exactly the bytes moved, and 40 connections open.
            moved = sum(sizes)
            metrics = poll_until(admin.metrics, lambda m: m["bytes_up"] == m["bytes_down"] == moved)
            self.assertEqual((metrics["bytes_up"], metrics["bytes_down"]), (moved, moved),
                             "metrics bytes_up/bytes_down vs bytes moved")
            self.assertEqual(metrics["connections_current"], TUNNELS)
            self.assertEqual(metrics["connections_total"], TUNNELS)
            status, body = admin.request(CMD_USER_METRICS, str8(TEST_USER))
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            usage = harness.parse_admin_record(body)
            self.assertEqual((usage["connections_live"], usage["bytes_up"], usage["bytes_down"]),
                             (TUNNELS, moved, moved), "user-metrics of %s" % TEST_USER)

            # 3. close-connection reaches the tunnel wherever it lives; each client sees it.
            for row, sock in zip(rows, tunnels):
                status, body = close_connection(admin, row["id"])
                self.assertEqual(status, ADMIN_STATUS_OK,
                                 "close-connection %d: %r" % (row["id"], body))
                self.assertTrue(seen_closed(sock), "tunnel %d (client port %d) still open after "
                                "close-connection" % (row["id"], client_port(row)))
                status, _ = close_connection(admin, row["id"])
                self.assertEqual(status, STATUS_NOT_FOUND, "close-connection %d again" % row["id"])
            self.assertEqual(connections(admin, WHICH_LIVE), (0, []), "live after closing all")
            metrics = poll_until(admin.metrics, lambda m: m["connections_current"] == 0)
            self.assertEqual(metrics["connections_current"], 0)
            self.assertEqual((metrics["bytes_up"], metrics["bytes_down"]), (moved, moved))
            _, recent = connections(admin, WHICH_RECENT)
            self.assertEqual([(r["id"], r["state"], r["bytes_up"]) for r in recent],
                             [(r["id"], "closed", r["bytes_up"]) for r in rows],
                             "the closed tunnels among the recent ones")

        self.assertEqual(echo_roundtrip(server, self.echo), b"still serving?\n")
        check_stopped_cleanly(self, server)

    def test_close_user_connections_reaches_every_worker(self):
        server = self.start_server("--workers", str(WORKERS))
        wait_ready(server)
        tunnels = self.open_tunnels(server, TUNNELS)
        self.assert_spread(server, [sock.getsockname()[1] for sock in tunnels])
        with AdminClient(server) as admin:
            status, body = admin.request(CMD_CLOSE_USER_CONNECTIONS, str8(TEST_USER))
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            self.assertEqual(harness.parse_admin_record(body), {"closed": TUNNELS})
            still_open = [sock.getsockname()[1] for sock in tunnels if not seen_closed(sock)]
            self.assertEqual(still_open, [], "client ports of tunnels left open")
            self.assertEqual(connections(admin, WHICH_LIVE), (0, []))
        check_stopped_cleanly(self, server)


class SettingsOnEveryWorker(WorkersTestCase):
    def test_admin_setting_changes_apply_on_every_worker(self):
        server = self.start_server("--workers", str(WORKERS))
        wait_ready(server)
        workers = ["socks5d-w%d" % i for i in range(WORKERS)]
        with AdminClient(server) as admin:
            # Sizes no default has, each change acknowledged before the first client comes.
            for allowed, size in ((1, 4099), (0, 2053)):
                with self.subTest(no_auth=allowed, buffer_size=size):
                    status, body = admin.request(CMD_SET_NO_AUTH, bytes([allowed]))
                    self.assertEqual(status, ADMIN_STATUS_OK, body)
                    status, body = admin.request(CMD_SET_BUFFER_SIZE, struct.pack("!I", size))
                    self.assertEqual(status, ADMIN_STATUS_OK, body)
                    replies, lengths = greet_every_worker(server, harness.METHOD_NO_AUTH)
                    method = harness.METHOD_NO_AUTH if allowed else harness.METHOD_NONE_ACCEPTABLE
                    self.assertEqual(set(replies), {bytes([5, method])},
                                     "greetings offering no authentication only")
                    self.assertEqual({name: (lengths.get(name, set()) - {REFUSAL_DRAIN_READ})
                                      for name in workers},
                                     {name: {size} for name in workers},
                                     "buffer sizes each worker thread read with: %r" % lengths)
        self.assertEqual(echo_roundtrip(server, self.echo), b"still serving?\n")
        check_stopped_cleanly(self, server)


class SecondInstance(WorkersTestCase):
    def test_second_socks5d_on_the_same_port_fails_and_the_first_keeps_serving(self):
        first = self.start_server("--workers", str(WORKERS))
        wait_ready(first)
        # Same address and port (the later -p wins over the harness's -p 0), its own admin port.
        second = Socks5dProcess("-p", str(first.port), "--workers", "2")
        self.addCleanup(second.kill)
        try:
            second.start()
        except AssertionError:
            pass  # it exited while starting: wanted
        else:
            self.fail("a second socks5d started on %s:%d, sharing the port with the first:\n%s"
                      % (first.host, first.port, second.stderr_text()))
        second.process.wait(timeout=harness.STOP_TIMEOUT)
        err = second.stderr_text()
        self.assertEqual(second.process.returncode, 1, err)
        self.assertRegex(err, r"cannot listen on %s port %d" % (re.escape(first.host), first.port))
        self.assertNotIn("listening for socks5", err)
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, err)

        # The first still owns the port alone, and every new client reaches it.
        self.assertIsNone(first.process.poll(), "the first socks5d exited")
        self.assertEqual(listening_sockets_on(first.process.pid, first.port), WORKERS)
        for i in range(12):
            message = b"still the first, client %d\n" % i
            self.assertEqual(echo_roundtrip(first, self.echo, message), message)
        # Each ends in an access line (written as the proxy sees the client's close).
        lines = poll_until(first.access_lines, lambda lines: len(lines) == 12)
        self.assertEqual([line.get("status") for line in lines], [0] * 12, lines)
        check_stopped_cleanly(self, first)


class WorkerCount(WorkersTestCase):
    def test_zero_means_one_per_cpu_and_serves(self):
        server = self.start_server("--workers", "0")
        cpus = len(os.sched_getaffinity(0))  # the child inherits this process's mask
        self.assertEqual(wait_ready(server), cpus, "workers for %d CPUs in the mask" % cpus)
        self.assertEqual(listening_sockets_on(server.process.pid, server.port), cpus)
        for i in range(4):
            message = b"default workers, client %d\n" % i
            self.assertEqual(echo_roundtrip(server, self.echo, message), message)
        check_stopped_cleanly(self, server)

    def test_bad_values_exit_64_naming_the_flag(self):
        binary = harness.server_binary()
        state_dir = tempfile.mkdtemp(prefix="socks5d-state-")
        self.addCleanup(shutil.rmtree, state_dir, True)
        for value in ("257", "x", "-1", "", "4x"):
            with self.subTest(value=value):
                result = subprocess.run(
                    [binary, "-p", "0", "-P", "0", "-f", "off", "--workers", value],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    env=harness.isolated_env(state_dir), timeout=USAGE_ERROR_TIMEOUT)
                err = result.stderr.decode(errors="replace")
                self.assertEqual(result.returncode, EXIT_USAGE, err)
                self.assertIn("--workers", err)
                self.assertNotIn("listening for", err)


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    unittest.main()
