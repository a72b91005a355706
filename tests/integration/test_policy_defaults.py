"""The safe defaults (README "Destinations", PROTOCOL.md 7.17): without --allow-loopback every
spelling of loopback, unspecified, link-local, multicast and broadcast destinations is answered
0x02 and no connection is attempted — loopback listeners see nothing and strace sees no
connect(2) on any worker — and each denial is counted (metrics, the user's user-metrics) and
logged with its reason; with --allow-loopback the loopback spellings reach loopback listeners
while the rest stay denied; `rules` reports the defaults and the loopback setting."""

import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (AdminClient, Socks5dProcess, check_stopped_cleanly, connect_proxy,
                     negotiate, read_reply, request, request_domain, ADMIN_STATUS_OK, TEST_USER)

REP_NOT_ALLOWED = 0x02
ADMIN_CMD_USER_METRICS = 0x04
ADMIN_CMD_RULES = 0x10
ACCEPT_TIMEOUT = 5.0
# Long enough for a connect that was going to be made to show up in the listeners' queues and
# in strace's output after its reply was read (the connect comes before any reply).
SETTLE_SECONDS = 0.3
STRACE_ATTACHED_RE = re.compile(r"Process \d+ attached")
# strace -f -o FILE: "123 connect(7, {sa_family=AF_INET, ..." (123: the thread).
CONNECT_RE = re.compile(r"^(\d+) +connect\(\d+, \{sa_family=(AF_INET6?)\b.*$", re.MULTILINE)

# Requests that reach this host's loopback: (what the client sends, address type, the loopback
# address the connection lands on). bytes = a domain-name request (ATYP 3) with that text.
LOOPBACK_SPELLINGS = (
    ("127.0.0.1", "127.0.0.1"),
    ("127.0.0.2", "127.0.0.2"),
    (b"127.1", "127.0.0.1"),
    (b"2130706433", "127.0.0.1"),
    (b"0x7f.0.0.1", "127.0.0.1"),
    (b"localhost", None),  # 127.0.0.1 or ::1, as /etc/hosts has it
    ("::ffff:127.0.0.1", "127.0.0.1"),
    (b"::ffff:127.0.0.1", "127.0.0.1"),
    ("::1", "::1"),
)
# Denied whatever --allow-loopback says: (what the client sends, the reason the log gives).
OTHER_DEFAULTS = (
    ("0.0.0.0", "unspecified"),
    (b"0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("169.254.169.254", "link-local"),
    (b"169.254.169.254", "link-local"),
    ("::ffff:169.254.169.254", "link-local"),
    ("fe80::1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("255.255.255.255", "broadcast"),
)


def spelled(target):
    """The destination as the server's log and records write it."""
    if isinstance(target, bytes):
        return target.decode()
    return "[%s]" % target if ":" in target else target


def raw_request(target, port):
    return request_domain(target, port) if isinstance(target, bytes) else request(target, port)


def bind_loopback_listeners(attempts=50):
    """Listeners on 127.0.0.1, 127.0.0.2 and ::1 with one port: {host: socket}, port."""
    last_error = None
    for _ in range(attempts):
        listeners = {}
        try:
            for host in ("127.0.0.1", "127.0.0.2", "::1"):
                family = socket.AF_INET6 if ":" in host else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                listeners[host] = sock
                port = listeners["127.0.0.1"].getsockname()[1] if len(listeners) > 1 else 0
                sock.bind((host, port))
                sock.listen(64)
            return listeners, listeners["127.0.0.1"].getsockname()[1]
        except OSError as error:
            last_error = error
            for sock in listeners.values():
                sock.close()
    raise OSError("could not bind 127.0.0.1, 127.0.0.2 and ::1 to one port: %s" % last_error)


def pending_connections(listeners):
    """The hosts whose listener has a connection waiting."""
    ready, _, _ = select.select(list(listeners.values()), [], [], 0)
    return sorted(host for host, sock in listeners.items() if sock in ready)


def thread_names(pid):
    names = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as comm:
                names[int(tid)] = comm.read().strip()
        except FileNotFoundError:
            continue
    return names


class ConnectTrace:
    """strace -f on the server while the with-block runs; worker_connects() then lists the
    IPv4/IPv6 connect(2) calls its workers made. Only the workers' calls count: the resolver's
    getaddrinfo connects UDP sockets to choose among addresses, which sends nothing."""

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
                [harness.require_tool("strace"), "-f", "-p", str(pid), "-e", "trace=connect",
                 "-e", "signal=none", "-o", self.output],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=messages)
        deadline = time.monotonic() + harness.START_TIMEOUT
        while not STRACE_ATTACHED_RE.search(self.read_messages()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("strace did not attach:\n" + self.read_messages())
            time.sleep(0.02)
        return self

    def __exit__(self, *exc_info):
        time.sleep(SETTLE_SECONDS)
        self.process.send_signal(signal.SIGINT)  # detaches, the server runs on
        self.process.wait(timeout=harness.STOP_TIMEOUT)

    def read_messages(self):
        with open(self.messages) as messages:
            return messages.read()

    def worker_connects(self):
        with open(self.output) as trace:
            text = trace.read()
        shutil.rmtree(self.directory, ignore_errors=True)
        return [match.group(0) for match in CONNECT_RE.finditer(text)
                if self.names.get(int(match.group(1)), "").startswith("socks5d-w")]


class DefaultsTestCase(unittest.TestCase):
    ALLOW_LOOPBACK = False

    def setUp(self):
        harness.require_tool("strace")
        self.listeners, self.port = bind_loopback_listeners()
        for sock in self.listeners.values():
            self.addCleanup(sock.close)
        self.server = Socks5dProcess(allow_loopback=self.ALLOW_LOOPBACK).start()
        self.addCleanup(self.server.kill)
        self.admin = AdminClient(self.server)
        self.addCleanup(self.admin.close)

    def tearDown(self):
        self.admin.close()
        check_stopped_cleanly(self, self.server)

    def reply_to(self, target):
        """The REP code for a CONNECT to target:port; the client socket (caller closes)."""
        sock = connect_proxy(self.server)
        negotiate(sock)
        sock.sendall(raw_request(target, self.port))
        return read_reply(sock)[1], sock

    def assert_denied(self, targets):
        for target in targets:
            with self.subTest(target=target):
                rep, sock = self.reply_to(target)
                sock.close()
                self.assertEqual(rep, REP_NOT_ALLOWED, "%r answered %d" % (target, rep))

    def user_denials(self):
        body = bytes([len(TEST_USER)]) + TEST_USER.encode()
        status, body = self.admin.request(ADMIN_CMD_USER_METRICS, body)
        self.assertEqual(status, ADMIN_STATUS_OK, body)
        return harness.parse_admin_record(body)["rule_denials"]

    def rules_record(self):
        status, body = self.admin.request(ADMIN_CMD_RULES)
        self.assertEqual(status, ADMIN_STATUS_OK, body)
        return harness.parse_admin_record(body)

    def assert_logged(self, target, reason):
        line = re.compile(r"connection \d+: user %s to %s:%d at \S+ denied by default \(%s\)"
                          % (TEST_USER, re.escape(spelled(target)), self.port, reason))
        deadline = time.monotonic() + harness.SOCKET_TIMEOUT
        while not line.search(self.server.stderr_text()):
            if time.monotonic() > deadline:
                self.fail("no log line matching %r; stderr:\n%s"
                          % (line.pattern, self.server.stderr_text()))
            time.sleep(0.02)


class WithoutAllowLoopback(DefaultsTestCase):

    def test_every_spelling_is_denied_without_a_connect(self):
        targets = [target for target, _ in LOOPBACK_SPELLINGS + OTHER_DEFAULTS]
        before = self.admin.metrics()["rule_denials"]
        user_before = self.user_denials()
        with ConnectTrace(self.server) as trace:
            self.assert_denied(targets)
        self.assertEqual(trace.worker_connects(), [], "a denied request was connected")
        self.assertEqual(pending_connections(self.listeners), [],
                         "a loopback listener was reached")
        self.assertEqual(self.admin.metrics()["rule_denials"] - before, len(targets))
        self.assertEqual(self.user_denials() - user_before, len(targets))
        for target, reason in OTHER_DEFAULTS:
            self.assert_logged(target, reason)
        for target, _ in LOOPBACK_SPELLINGS:
            self.assert_logged(target, "loopback")

    def test_rules_lists_the_defaults(self):
        record = self.rules_record()
        self.assertEqual(record["total"], 0)
        self.assertEqual(record["allow_loopback"], "no")
        self.assertEqual(record["safe_defaults"],
                         "loopback 127.0.0.0/8 ::1/128, unspecified 0.0.0.0/8 ::/128, "
                         "link-local 169.254.0.0/16 fe80::/10, multicast 224.0.0.0/4 ff00::/8, "
                         "broadcast 255.255.255.255/32")

    def test_a_user_may_not_list_rules(self):
        status, _ = self.admin.request(ADMIN_CMD_RULES)
        self.assertEqual(status, ADMIN_STATUS_OK)
        with AdminClient(self.server, TEST_USER, harness.TEST_PASSWORD) as user:
            status, body = user.request(ADMIN_CMD_RULES)
        self.assertEqual(status, harness.ADMIN_STATUS_FORBIDDEN, body)


class WithAllowLoopback(DefaultsTestCase):
    ALLOW_LOOPBACK = True

    def exchange(self, sock, landed_on):
        """A byte stream through the tunnel both ways, to the listener it landed on."""
        ready, _, _ = select.select(list(self.listeners.values()), [], [], ACCEPT_TIMEOUT)
        self.assertTrue(ready, "no loopback listener was reached")
        host = next(host for host, listener in self.listeners.items() if listener in ready)
        if landed_on is not None:
            self.assertEqual(host, landed_on)
        accepted, _ = self.listeners[host].accept()
        with accepted:
            accepted.settimeout(harness.SOCKET_TIMEOUT)
            sock.sendall(b"ping\n")
            self.assertEqual(harness.recv_exact(accepted, 5), b"ping\n")
            accepted.sendall(b"pong\n")
            self.assertEqual(harness.recv_exact(sock, 5), b"pong\n")

    def test_loopback_spellings_reach_loopback(self):
        before = self.admin.metrics()["rule_denials"]
        with ConnectTrace(self.server) as trace:
            for target, landed_on in LOOPBACK_SPELLINGS:
                with self.subTest(target=target):
                    rep, sock = self.reply_to(target)
                    with sock:
                        self.assertEqual(rep, harness.REP_SUCCESS, "%r answered %d" % (target, rep))
                        self.exchange(sock, landed_on)
        # the same trace that sees nothing for denied requests sees these connects
        self.assertGreaterEqual(len(trace.worker_connects()), len(LOOPBACK_SPELLINGS))
        self.assertEqual(self.admin.metrics()["rule_denials"], before)

    def test_the_rest_stays_denied(self):
        targets = [target for target, _ in OTHER_DEFAULTS]
        before = self.admin.metrics()["rule_denials"]
        with ConnectTrace(self.server) as trace:
            self.assert_denied(targets)
        self.assertEqual(trace.worker_connects(), [])
        self.assertEqual(self.admin.metrics()["rule_denials"] - before, len(targets))
        self.assertEqual(self.rules_record()["allow_loopback"], "yes")
        for target, reason in OTHER_DEFAULTS:
            self.assert_logged(target, reason)


if __name__ == "__main__":
    unittest.main()
