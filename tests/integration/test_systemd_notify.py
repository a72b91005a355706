#!/usr/bin/env python3
"""socks5d as a systemd Type=notify service, against a fake NOTIFY_SOCKET (a datagram socket
the test binds and reads): READY=1 once both ports serve; a STATUS line that follows tunnels,
users and admin sessions; RELOADING=1 (with MONOTONIC_USEC) and READY=1 around SIGHUP, also
when the users file is refused; STOPPING=1 when SIGTERM begins the graceful stop; watchdog
pings at half WATCHDOG_USEC, none when WATCHDOG_PID names another process, and none while one
worker thread or the admin thread is frozen (ptrace), resuming once it runs again. Also:
journal priority prefixes when JOURNAL_STREAM names stderr, and the first admin's password kept
out of a log that is not a terminal."""

import contextlib
import ctypes
import os
import pty
import re
import select
import shutil
import signal
import socket
import stat
import statistics
import subprocess
import sys
import tempfile
import time
import unittest

from harness import (NotifySocket, assignments, AdminClient, EchoTestCase, Socks5dProcess, check_stopped_cleanly,
                     echo_roundtrip, isolated_env, negotiate, connect_proxy, open_tunnel,
                     recv_exact, server_binary, START_TIMEOUT, STOP_TIMEOUT, TIMESTAMP_RE,
                     TEST_USER, ADMIN_ROLE_ADMIN, ADMIN_ROLE_USER, ADMIN_STATUS_OK,
                     admin_connect, admin_login_request, read_admin_login_reply)

READY_TIMEOUT = START_TIMEOUT
STATUS_TIMEOUT = 5.0          # the STATUS line is refreshed once a second
WATCHDOG_USEC = 400000
PING_S = WATCHDOG_USEC / 2e6  # socks5d pings at half the interval
# Variables systemd sets that a test runner may itself have inherited from a unit.
SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")
INITIAL_PASSWORD_FILE = "initial-admin-password"
CMD_ADD_USER = 0x07  # PROTOCOL.md 7.8


def str8(text):
    data = text.encode()
    return bytes([len(data)]) + data


def server_under_systemd(*args, notify=None, env=None):
    """A Socks5dProcess (not started) whose environment has none of systemd's variables but
    NOTIFY_SOCKET (when notify is given) and env."""
    server = Socks5dProcess(*args)
    for name in SYSTEMD_VARIABLES:
        server.env.pop(name, None)
    if notify is not None:
        server.env["NOTIFY_SOCKET"] = notify.path
    server.env.update(env or {})
    return server


def is_ready(message):
    return message.get("READY") == "1"


def status_says(pattern):
    return lambda message: "STATUS" in message and re.search(pattern, message["STATUS"])


class NotifyTestCase(EchoTestCase):
    def start_notified(self, *args, env=None):
        notify = NotifySocket()
        self.addCleanup(notify.close)
        server = server_under_systemd(*args, notify=notify, env=env)
        server.start()
        self.addCleanup(server.kill)
        return server, notify

    def print_transcript(self, notify):
        """The datagrams as the test saw them (-v shows them in the ctest log)."""
        print("\n  notify datagrams (%s):\n%s" % (self.id().rsplit(".", 1)[-1],
                                                 notify.transcript()), file=sys.stderr)


# ---------------------------------------------------------------------------------------------

class Readiness(NotifyTestCase):
    def test_ready_once_both_ports_serve(self):
        server, notify = self.start_notified()
        ready_at, ready = notify.wait_for(is_ready, READY_TIMEOUT)
        # Right after READY=1: a SOCKS client is served and the admin port logs one in.
        self.assertEqual(echo_roundtrip(server, self.echo, b"ready?\n"), b"ready?\n")
        with AdminClient(server) as admin:
            admin.ping()
        text = server.stderr_text()
        self.assertIn("listening for admin", text)
        self.assertIn("socks5d ready", text)
        self.assertEqual(assignments(ready).get("STATUS"), "0 tunnels, 2 users, 0 admin sessions")
        earlier = [message for arrived, message in notify.received() if arrived < ready_at]
        self.assertEqual(earlier, [], "messages before READY=1")
        self.assertEqual(notify.pings(), [], "watchdog pings without WATCHDOG_USEC")
        check_stopped_cleanly(self, server)
        self.print_transcript(notify)

    def test_status_follows_tunnels_users_and_admin_sessions(self):
        server, notify = self.start_notified()
        notify.wait_for(is_ready, READY_TIMEOUT)
        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
        with tunnel:
            notify.wait_for(status_says(r"^1 tunnel, 2 users, 0 admin sessions$"), STATUS_TIMEOUT)
            with AdminClient(server) as admin:
                notify.wait_for(status_says(r"^1 tunnel, 2 users, 1 admin session$"),
                                STATUS_TIMEOUT)
                status, body = admin.request(CMD_ADD_USER, str8("bob") + str8("bob-pass")
                                             + bytes([ADMIN_ROLE_USER]))
                self.assertEqual(status, ADMIN_STATUS_OK, body)
                notify.wait_for(status_says(r"^1 tunnel, 3 users, 1 admin session$"),
                                STATUS_TIMEOUT)
        notify.wait_for(status_says(r"^0 tunnels, 3 users, 0 admin sessions$"), STATUS_TIMEOUT)
        # A line only when it changed, and at most about once a second.
        statuses = [text for _, text in notify.received() if "STATUS=" in text]
        self.assertEqual(len(statuses), len(set(statuses)), notify.transcript())
        elapsed = time.monotonic() - notify.created
        self.assertLessEqual(len(statuses), elapsed + 2, notify.transcript())
        check_stopped_cleanly(self, server)
        self.print_transcript(notify)


class Reload(NotifyTestCase):
    def test_sighup_reloading_then_ready_and_a_refused_file_says_why(self):
        server, notify = self.start_notified()
        notify.wait_for(is_ready, READY_TIMEOUT)
        users_file = os.path.join(server.state_dir, "users")
        with open(users_file) as handle:
            good = handle.read()

        before_us = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        sent = time.monotonic()
        server.process.send_signal(signal.SIGHUP)
        reloading_at, reloading = notify.wait_for(lambda m: m.get("RELOADING") == "1",
                                                  READY_TIMEOUT, since=sent)
        after_us = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        stamp = int(assignments(reloading)["MONOTONIC_USEC"])
        self.assertTrue(before_us <= stamp <= after_us, (before_us, stamp, after_us))
        _, ready = notify.wait_for(is_ready, READY_TIMEOUT, since=reloading_at)
        self.assertNotIn("reload failed", assignments(ready)["STATUS"])

        with open(users_file, "w") as handle:
            handle.write("this is not a users file\n")
        sent = time.monotonic()
        server.process.send_signal(signal.SIGHUP)
        reloading_at, _ = notify.wait_for(lambda m: m.get("RELOADING") == "1", READY_TIMEOUT,
                                          since=sent)
        _, ready = notify.wait_for(is_ready, READY_TIMEOUT, since=reloading_at)
        self.assertRegex(assignments(ready)["STATUS"],
                         r"^reload failed: users file .*/users: line 1: .*; 0 tunnels, 2 users, "
                         r"0 admin sessions$")
        # The users in memory still serve.
        self.assertEqual(echo_roundtrip(server, self.echo, b"kept\n"), b"kept\n")

        with open(users_file, "w") as handle:
            handle.write(good)
        sent = time.monotonic()
        server.process.send_signal(signal.SIGHUP)
        reloading_at, _ = notify.wait_for(lambda m: m.get("RELOADING") == "1", READY_TIMEOUT,
                                          since=sent)
        _, ready = notify.wait_for(is_ready, READY_TIMEOUT, since=reloading_at)
        # The echo's tunnel may not have been seen to close yet: any tunnel count will do.
        self.assertRegex(assignments(ready)["STATUS"],
                         r"^\d+ tunnels?, 2 users, 0 admin sessions$")
        check_stopped_cleanly(self, server)
        self.print_transcript(notify)


class Stopping(NotifyTestCase):
    def test_stopping_when_sigterm_begins_the_graceful_stop(self):
        server, notify = self.start_notified("--shutdown-grace", "20")
        notify.wait_for(is_ready, READY_TIMEOUT)
        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
        with tunnel:
            sent = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            _, stopping = notify.wait_for(lambda m: m.get("STOPPING") == "1", READY_TIMEOUT,
                                          since=sent)
            self.assertIsNone(server.process.poll(), "exited while a tunnel was live")
            self.assertEqual(assignments(stopping)["STATUS"],
                             "stopping; 1 tunnel, 2 users, 0 admin sessions")
            tunnel.sendall(b"draining\n")
            self.assertEqual(recv_exact(tunnel, 9), b"draining\n")
        server.process.wait(timeout=STOP_TIMEOUT)
        stops = [text for _, text in notify.received() if "STOPPING=1" in text]
        self.assertEqual(len(stops), 1, notify.transcript())
        check_stopped_cleanly(self, server)
        self.print_transcript(notify)


# ---------------------------------------------------------------------------------------------
# Watchdog

PTRACE_DETACH = 17
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
WAIT_ALL = 0x40000000  # __WALL: wait for a thread of another process we trace

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.restype = ctypes.c_long
_libc.ptrace.argtypes = (ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p)


def ptrace(request, tid):
    if _libc.ptrace(request, tid, None, None) < 0:
        error = ctypes.get_errno()
        raise OSError(error, "ptrace(%#x, %d): %s" % (request, tid, os.strerror(error)))


@contextlib.contextmanager
def frozen_thread(tid, timeout=5.0):
    """Stops one thread of another process (the rest run on) and yields the time it was seen
    stopped; it runs again on leaving. PTRACE_SEIZE + PTRACE_INTERRUPT stop that thread only,
    unlike SIGSTOP, which stops every thread of the process."""
    try:
        ptrace(PTRACE_SEIZE, tid)
    except PermissionError as error:
        raise unittest.SkipTest("ptrace is not permitted here: %s" % error)
    try:
        ptrace(PTRACE_INTERRUPT, tid)
        deadline = time.monotonic() + timeout
        while True:
            waited, status = os.waitpid(tid, WAIT_ALL | os.WNOHANG)
            if waited == tid:
                if not os.WIFSTOPPED(status):
                    raise AssertionError("thread %d did not stop: status %#x" % (tid, status))
                break
            if time.monotonic() > deadline:
                raise AssertionError("thread %d did not stop within %.0f s" % (tid, timeout))
            time.sleep(0.005)
        yield time.monotonic()
    finally:
        ptrace(PTRACE_DETACH, tid)


def thread_named(pid, name, timeout=READY_TIMEOUT):
    """The tid of the thread of pid whose comm is name."""
    deadline = time.monotonic() + timeout
    while True:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as comm:
                    if comm.read().strip() == name:
                        return int(tid)
            except FileNotFoundError:
                continue
        if time.monotonic() > deadline:
            raise AssertionError("no thread named %s in process %d" % (name, pid))
        time.sleep(0.02)


class Watchdog(NotifyTestCase):
    def start_watched(self, *args, env=None):
        environment = {"WATCHDOG_USEC": str(WATCHDOG_USEC)}
        environment.update(env or {})
        server, notify = self.start_notified(*args, env=environment)
        notify.wait_for(is_ready, READY_TIMEOUT)
        return server, notify

    def test_pings_at_half_the_interval(self):
        server, notify = self.start_watched()
        first, _ = notify.wait_for(lambda m: m.get("WATCHDOG") == "1", READY_TIMEOUT)
        time.sleep(2.5)
        pings = notify.pings(since=first)
        gaps = [later - earlier for earlier, later in zip(pings, pings[1:])]
        self.assertGreaterEqual(len(gaps), 8, notify.transcript())
        self.assertTrue(0.75 * PING_S <= statistics.median(gaps) <= 1.3 * PING_S, gaps)
        # systemd acts when a whole interval passes without one.
        self.assertLess(max(gaps), 2 * PING_S, gaps)
        check_stopped_cleanly(self, server)
        self.print_transcript(notify)

    def test_no_pings_when_the_watchdog_is_meant_for_another_process(self):
        server, notify = self.start_watched(env={"WATCHDOG_PID": str(os.getpid())})
        time.sleep(6 * PING_S)
        self.assertEqual(notify.pings(), [], notify.transcript())
        check_stopped_cleanly(self, server)

    def freeze_and_thaw(self, thread, log_name, while_frozen):
        """Freezes the server's thread named thread for 10 pings' time, during which no ping may
        come (but for one earned just before) and while_frozen(server) runs; then the pings
        resume, and the log named the loop (log_name) both ways."""
        server, notify = self.start_watched("--workers", "2")
        notify.wait_for(lambda m: m.get("WATCHDOG") == "1", READY_TIMEOUT)
        # The main thread sends the pings; every worker and the admin have threads of their own.
        tid = thread_named(server.process.pid, thread)
        self.assertNotEqual(tid, server.process.pid)
        with frozen_thread(tid) as frozen_at:
            time.sleep(10 * PING_S)
            # A beat just before the freeze may still earn one ping; none after that.
            late = notify.pings(since=frozen_at + 3 * PING_S)
            self.assertEqual(late, [], "pings while %s was frozen:\n" % thread
                             + notify.transcript())
            while_frozen(server)
            thawed_at = time.monotonic()
        resumed, _ = notify.wait_for(lambda m: m.get("WATCHDOG") == "1", 3 * PING_S + 1.0,
                                     since=thawed_at)
        self.assertLess(resumed - thawed_at, 3 * PING_S + 1.0)
        notify.wait_for(lambda m: m.get("WATCHDOG") == "1", 3 * PING_S + 1.0,
                        since=resumed + 0.001)
        text = server.stderr_text()
        self.assertIn("watchdog: %s's event loop has not run" % log_name, text)
        self.assertIn("watchdog: %s's event loop runs again" % log_name, text)
        for _ in range(4):  # whichever worker the kernel hands them to
            self.assertEqual(echo_roundtrip(server, self.echo, b"thawed\n"), b"thawed\n")
        check_stopped_cleanly(self, server)
        self.print_transcript(notify)
        print("  frozen at %.3f, thawed at %.3f" % (frozen_at - notify.created,
                                                   thawed_at - notify.created), file=sys.stderr)

    def test_a_frozen_worker_loop_stops_the_pings_until_it_runs_again(self):
        def admin_still_serves(server):
            # The rest of the process runs on: the admin's own loop still serves its port.
            with AdminClient(server) as admin:
                admin.ping()
        self.freeze_and_thaw("socks5d-w1", "worker 1", admin_still_serves)

    def test_a_frozen_admin_loop_stops_the_pings_until_it_runs_again(self):
        def workers_still_serve(server):
            # The workers run on: SOCKS clients are served while the admin port is not.
            for _ in range(4):
                self.assertEqual(echo_roundtrip(server, self.echo, b"frozen admin\n"),
                                 b"frozen admin\n")
        self.freeze_and_thaw("socks5d-admin", "admin", workers_still_serve)


# ---------------------------------------------------------------------------------------------
# The journal

# What systemd does before it starts a service whose stderr is the journal: name that stream.
EXEC_WITH_JOURNAL_STREAM = (
    "import os, sys\n"
    "status = os.fstat(2)\n"
    "os.environ['JOURNAL_STREAM'] = '%d:%d' % (status.st_dev, status.st_ino)\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n")
JOURNAL_LINE_RE = re.compile(r"^<(?P<priority>[3467])>(?P<tag>error|warn|info|debug|access) ")
LEVEL_PRIORITIES = {"error": "3", "warn": "4", "info": "6", "debug": "7", "access": "6"}


class Journal(EchoTestCase):
    def run_logging_server(self, journal_stream_of_stderr, env=None):
        """A server that logs a line of every priority (info and access lines, a warning for
        an admin session over the limit, a debug line when an admin session closes, an error
        for a refused reload); returns its stderr."""
        directory = tempfile.mkdtemp(prefix="socks5d-journal-")
        self.addCleanup(shutil.rmtree, directory, True)
        users_file = os.path.join(directory, "users")
        server = server_under_systemd("-f", users_file, "--admin-sessions", "1", "-d", "debug",
                                      env=env)
        if journal_stream_of_stderr:
            server.args = [sys.executable, "-c", EXEC_WITH_JOURNAL_STREAM] + server.args
        server.start()
        self.addCleanup(server.kill)
        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port)
        tunnel.close()
        with AdminClient(server):
            with admin_connect(server) as second:
                second.sendall(admin_login_request())
                self.assertNotEqual(read_admin_login_reply(second)[2], ADMIN_STATUS_OK)
        with open(users_file, "w") as handle:
            handle.write("not a users file\n")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + STATUS_TIMEOUT
        while not all(word in server.stderr_text() for word in ("SIGHUP", "access", "closed")):
            self.assertLess(time.monotonic(), deadline, server.stderr_text())
            time.sleep(0.02)
        text = server.stderr_text()
        check_stopped_cleanly(self, server)
        return text

    def test_priority_prefix_and_no_timestamp_when_stderr_is_the_journal(self):
        text = self.run_logging_server(journal_stream_of_stderr=True)
        lines = text.splitlines()
        for line in lines:
            match = JOURNAL_LINE_RE.match(line)
            self.assertIsNotNone(match, "not a journal line: %r\n%s" % (line, text))
            self.assertEqual(match.group("priority"), LEVEL_PRIORITIES[match.group("tag")], line)
            self.assertIsNone(re.search(TIMESTAMP_RE, line), line)
        seen = {JOURNAL_LINE_RE.match(line).group("tag") for line in lines}
        self.assertEqual(seen, set(LEVEL_PRIORITIES), text)
        self.assertTrue(any(line.startswith("<6>access user=%s " % TEST_USER) for line in lines),
                        text)
        self.assertTrue(any(line.startswith("<3>error SIGHUP: users file") for line in lines),
                        text)
        print("\n  journal lines:\n    " + "\n    ".join(lines[:6]), file=sys.stderr)

    def test_timestamps_stay_when_stderr_is_not_the_journal(self):
        # A JOURNAL_STREAM inherited by a process whose stderr went elsewhere names another file.
        with tempfile.NamedTemporaryFile() as other:
            status = os.fstat(other.fileno())
            text = self.run_logging_server(
                journal_stream_of_stderr=False,
                env={"JOURNAL_STREAM": "%d:%d" % (status.st_dev, status.st_ino)})
        for line in text.splitlines():
            self.assertRegex(line, r"^" + TIMESTAMP_RE + r" (error|warn|info|debug|access) ")


# ---------------------------------------------------------------------------------------------
# The first admin's password

class FirstAdminPassword(EchoTestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-first-run-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.users_file = os.path.join(self.directory, "users")
        self.password_file = os.path.join(self.directory, INITIAL_PASSWORD_FILE)

    def start_without_admin(self, users_file):
        server = server_under_systemd("-f", users_file, env={"SOCKS5D_ADMIN": ""})
        server.start()
        self.addCleanup(server.kill)
        server.wait_admin_listener()
        return server

    def read_password_file(self):
        mode = os.lstat(self.password_file).st_mode
        self.assertTrue(stat.S_ISREG(mode))
        self.assertEqual(stat.S_IMODE(mode), 0o600)
        with open(self.password_file) as handle:
            password = handle.read()
        self.assertRegex(password, r"^[A-Za-z0-9]{20}\n$")
        return password.strip()

    def assert_logs_in(self, server, password):
        with AdminClient(server, "admin", password) as admin:
            self.assertEqual(admin.role, ADMIN_ROLE_ADMIN)
        sock = connect_proxy(server)
        with sock:
            negotiate(sock, "admin", password)

    def test_not_a_terminal_puts_the_password_in_a_private_file(self):
        server = self.start_without_admin(self.users_file)
        password = self.read_password_file()
        text = server.stderr_text()
        self.assertNotIn(password, text)
        self.assertIn("its password is in %s" % self.password_file, text)
        self.assert_logs_in(server, password)
        check_stopped_cleanly(self, server)

        # The admin is in the users file now: the next start neither makes nor reveals one.
        server = self.start_without_admin(self.users_file)
        self.assertNotIn("no admin configured", server.stderr_text())
        self.assertEqual(self.read_password_file(), password)
        self.assert_logs_in(server, password)
        check_stopped_cleanly(self, server)

        # A users file that is gone takes its admin along: the old password file is replaced.
        os.unlink(self.users_file)
        server = self.start_without_admin(self.users_file)
        replaced = self.read_password_file()
        self.assertNotEqual(replaced, password)
        text = server.stderr_text()
        self.assertIn("replacing %s" % self.password_file, text)
        self.assertNotIn(replaced, text)
        self.assert_logs_in(server, replaced)
        check_stopped_cleanly(self, server)

    def test_a_link_in_place_of_the_file_is_not_written_through(self):
        target = os.path.join(self.directory, "elsewhere")
        with open(target, "w") as handle:
            handle.write("untouched\n")
        os.symlink(target, self.password_file)
        server = self.start_without_admin(self.users_file)
        password = self.read_password_file()  # a regular file now, not the link
        with open(target) as handle:
            self.assertEqual(handle.read(), "untouched\n")
        self.assert_logs_in(server, password)
        check_stopped_cleanly(self, server)

    def test_memory_only_logs_it_for_want_of_anywhere_else(self):
        server = self.start_without_admin("off")
        match = re.search(r"created user 'admin' with password '([A-Za-z0-9]{20})' \(logged "
                          r"because -f off", server.stderr_text())
        self.assertIsNotNone(match, server.stderr_text())
        self.assert_logs_in(server, match.group(1))
        check_stopped_cleanly(self, server)
        self.assertFalse(os.path.exists(self.password_file))

    def test_a_terminal_is_shown_the_password(self):
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        env = isolated_env(self.directory)
        env["SOCKS5D_ADMIN"] = ""
        for name in SYSTEMD_VARIABLES:
            env.pop(name, None)
        process = subprocess.Popen([server_binary(), "-p", "0", "-P", "0", "-f",
                                    self.users_file], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=slave, env=env)
        os.close(slave)

        def kill():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT)
        self.addCleanup(kill)
        output = b""
        deadline = time.monotonic() + READY_TIMEOUT
        while b"socks5d ready" not in output:
            self.assertLess(time.monotonic(), deadline, output)
            if select.select([master], [], [], 0.1)[0]:
                output += os.read(master, 65536)
        self.assertRegex(output.decode(), r"created user 'admin' with password '[A-Za-z0-9]{20}' "
                                          r"\(shown once")
        self.assertFalse(os.path.exists(self.password_file))
        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=STOP_TIMEOUT), 0)


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    unittest.main()
