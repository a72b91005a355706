#!/usr/bin/env python3
"""Upgrades that drop nothing: a new socks5d started with --take-over receives the running
one's listening sockets over its upgrade socket and serves on them; the running one stops
accepting, lets its tunnels finish and exits by itself. A client opening 100 tunnels a second
through the whole upgrade sees no failure, and every tunnel is logged by exactly one of the two;
a 256 MiB download begun before the upgrade completes through the old process with the right
checksum. A take-over whose addresses do not match is refused and the running server keeps
serving (and can still be taken over). Under systemd (a fake NOTIFY_SOCKET) the new process
sends MAINPID= with READY=1 and the old one falls silent."""

import concurrent.futures
import hashlib
import os
import re
import signal
import struct
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (METHOD_NO_AUTH, REP_SUCCESS, SANITIZER_MARKERS, SOCKET_TIMEOUT,
                     START_TIMEOUT, STOP_TIMEOUT, EchoTestCase, Socks5dProcess,
                     assignments, check_stopped_cleanly, closed_port, echo_roundtrip, greeting,
                     read_reply, recv_exact, request)

TUNNELS_PER_SECOND = 100
DOWNLOAD_BYTES = 256 << 20
CHUNK = 1 << 20
GRACE_S = 120  # the old process's: far longer than the download needs
EXIT_TIMEOUT = 60.0


class DownloadServer:
    """One connection at a time gets DOWNLOAD_BYTES made at run time (a random block, each
    copy numbered, so a lost or repeated chunk changes the sum); the SHA-256 of what was sent
    is kept for the client to compare with."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.block = os.urandom(CHUNK)
        self.sent_digest = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.listener.accept()
        digest = hashlib.sha256()
        with conn:
            for index in range(DOWNLOAD_BYTES // CHUNK):
                chunk = index.to_bytes(8, "big") + self.block[8:]
                digest.update(chunk)
                conn.sendall(chunk)
        self.sent_digest = digest.hexdigest()
        self.done.set()

    def close(self):
        self.listener.close()


def socks_connect(port, host, target_port):
    """A tunnel through socks5d on 127.0.0.1:port (no authentication) to host:target_port."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
    try:
        sock.sendall(greeting(METHOD_NO_AUTH))
        if recv_exact(sock, 2) != bytes([5, METHOD_NO_AUTH]):
            raise AssertionError("greeting refused")
        sock.sendall(request(host, target_port))
        reply = read_reply(sock)
        if reply[1] != REP_SUCCESS:
            raise AssertionError("reply %d" % reply[1])
        return sock
    except BaseException:
        sock.close()
        raise


class TunnelLoad:
    """Opens TUNNELS_PER_SECOND tunnels a second (a scheduler thread and a pool: a slow tunnel
    does not delay the next), each one a round trip through the echo server."""

    def __init__(self, port, echo_port):
        self.port = port
        self.echo_port = echo_port
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)
        self.futures = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._schedule, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def _schedule(self):
        start = time.monotonic()
        index = 0
        while not self.stopping.is_set():
            due = start + index / TUNNELS_PER_SECOND
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            self.futures.append(self.pool.submit(self._tunnel, index))
            index += 1

    def _tunnel(self, index):
        message = b"tunnel %d\n" % index
        with socks_connect(self.port, "127.0.0.1", self.echo_port) as sock:
            sock.sendall(message)
            if recv_exact(sock, len(message)) != message:
                raise AssertionError("echo differs")

    def stop(self):
        """Stops scheduling, waits for every tunnel; returns (attempted, failures)."""
        self.stopping.set()
        self.thread.join()
        self.pool.shutdown(wait=True)
        failures = [future.exception() for future in self.futures if future.exception()]
        return len(self.futures), failures


def http_get_metrics(port):
    """The body of GET /metrics on 127.0.0.1:port (the endpoint closes after answering)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


class UpgradeTestCase(EchoTestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-upgrade-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.upgrade_path = os.path.join(self.directory, "upgrade.sock")
        self.users_path = os.path.join(self.directory, "users")

    def server(self, *args, env=None):
        """A socks5d (not started) on the test's users file and upgrade socket."""
        server = Socks5dProcess("-n", "-f", self.users_path, "--upgrade-socket",
                                self.upgrade_path, "--shutdown-grace", str(GRACE_S), *args)
        server.env.pop("NOTIFY_SOCKET", None)
        server.env.update(env or {})
        self.addCleanup(server.kill)
        return server

    def running(self, server):
        """server started, and past its setup (the upgrade socket is opened after the
        listeners are logged)."""
        server.start()
        self.wait_log(server, "socks5d ready")
        return server

    def successor(self, old, *args, env=None):
        """A socks5d taking over from old: the same addresses (port 0: the running one's)."""
        return self.server("--take-over", self.upgrade_path, *args, env=env)

    def wait_exit(self, server, timeout=EXIT_TIMEOUT):
        """server must end by itself; returns (exit code, stderr)."""
        try:
            server.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.fail("socks5d pid %d still runs %.0f s after being taken over; stderr:\n%s"
                      % (server.process.pid, timeout, server.stderr_text()[-3000:]))
        text = server.stderr_text()
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, text, "sanitizer report:\n" + text[-6000:])
        return server.process.returncode, text

    def wait_log(self, server, text, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in server.stderr_text():
            if time.monotonic() > deadline:
                self.fail("no %r in the log within %.0f s:\n%s"
                          % (text, timeout, server.stderr_text()[-3000:]))
            time.sleep(0.02)

    def echo_lines(self, server):
        return [entry for entry in server.access_lines()
                if entry.get("dest") == "127.0.0.1:%d" % self.echo.port]


class Upgrade(UpgradeTestCase):
    def test_nothing_dropped_while_taken_over(self):
        old = self.running(self.server("--workers", "2"))
        old.wait_admin_listener()
        self.assertEqual(stat.S_IMODE(os.stat(self.upgrade_path).st_mode), 0o600)
        download = DownloadServer()
        self.addCleanup(download.close)
        load = TunnelLoad(old.port, self.echo.port).start()
        time.sleep(1.0)

        # The download starts through the old process and is still running when it is
        # taken over: 16 MiB read, the rest waiting in the sender's and socks5d's buffers.
        fetch = socks_connect(old.port, "127.0.0.1", download.port)
        self.addCleanup(fetch.close)
        digest = hashlib.sha256()
        received = 0
        while received < 16 * CHUNK:
            data = fetch.recv(1 << 16)
            self.assertTrue(data, "download ended early")
            digest.update(data)
            received += len(data)

        # Three workers where the old one had two: its two sockets keep their queues, and a
        # worker shares one of them.
        new = self.running(self.successor(old, "--workers", "3"))
        self.wait_log(new, "took over from socks5d pid %d" % old.process.pid)
        self.wait_log(old, "taken over by socks5d pid %d" % new.process.pid)
        self.assertEqual(new.socks_endpoints, old.socks_endpoints)
        self.assertEqual(new.wait_admin_listener(), old.wait_admin_listener())
        time.sleep(1.0)
        attempted, failures = load.stop()
        print("\n  tunnels through the upgrade: %d attempted, %d failed"
              % (attempted, len(failures)), file=sys.stderr)
        self.assertGreaterEqual(attempted, 2 * TUNNELS_PER_SECOND)
        self.assertEqual(failures, [], "tunnels failed during the upgrade")

        # The old process still carries the download to its end, then exits by itself.
        self.assertIsNone(old.process.poll(), "the old process left before its tunnel ended")
        fetch.settimeout(60)
        while True:
            data = fetch.recv(1 << 20)
            if not data:
                break
            digest.update(data)
            received += len(data)
        fetch.close()
        self.assertTrue(download.done.wait(10))
        self.assertEqual(received, DOWNLOAD_BYTES)
        self.assertEqual(digest.hexdigest(), download.sent_digest)
        code, text = self.wait_exit(old)
        self.assertEqual(code, 0, text[-3000:])
        self.assertIn("all tunnels finished", text)

        # Every tunnel was served once, by one of the two; the new one took its share.
        old_count = len(self.echo_lines(old))
        deadline = time.monotonic() + 10
        # The new process logs a tunnel once it has seen the client's end, a moment later.
        while (new_count := len(self.echo_lines(new))) < attempted - old_count:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        print("  served by the old process: %d, by the new one: %d" % (old_count, new_count),
              file=sys.stderr)
        self.assertEqual(old_count + new_count, attempted)
        self.assertGreater(new_count, 0)
        self.assertGreater(old_count, 0)
        self.assertEqual(echo_roundtrip(new, self.echo, user=None), b"still serving?\n")

        # The new process answers the next upgrade on the same path.
        newer = self.running(self.successor(new))
        self.wait_log(newer, "took over from socks5d pid %d" % new.process.pid)
        code, _ = self.wait_exit(new)
        self.assertEqual(code, 0)
        self.assertEqual(echo_roundtrip(newer, self.echo, user=None), b"still serving?\n")
        check_stopped_cleanly(self, newer)
        self.assertFalse(os.path.exists(self.upgrade_path), "the last process left its socket")

    def refused(self, old, *args):
        """Starts a take-over meant to fail; returns its stderr (it must exit 1)."""
        new = self.successor(old, *args)
        process = subprocess.run(new.args, env=new.env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=START_TIMEOUT * 3)
        shutil.rmtree(new.state_dir, ignore_errors=True)
        self.assertEqual(process.returncode, 1, process.stderr)
        return process.stderr

    def test_mismatched_addresses_refused_and_old_keeps_serving(self):
        old = self.running(self.server())
        old.wait_admin_listener()
        other_port = closed_port()
        text = self.refused(old, "-p", str(other_port))
        self.assertIn("the running socks5d does not listen for socks5 on 127.0.0.1:%d"
                      % other_port, text)
        self.wait_log(old, "refused by the new process: the running socks5d does not listen")
        # One address more, and one fewer, than the running process has.
        text = self.refused(old, "-l", "::1")
        self.assertIn("does not listen for socks5 on [::1]", text)
        text = self.refused(old, "-L", "::1")
        self.assertIn("does not listen for admin on [::1]", text)
        self.assertIsNone(old.process.poll())
        self.assertNotIn("taken over by", old.stderr_text())
        self.assertEqual(echo_roundtrip(old, self.echo, user=None), b"still serving?\n")

        # Still its own upgrade socket's owner: a matching take-over succeeds afterwards.
        new = self.running(self.successor(old))
        self.wait_log(new, "took over from socks5d pid %d" % old.process.pid)
        code, _ = self.wait_exit(old)
        self.assertEqual(code, 0)
        check_stopped_cleanly(self, new)

    def test_metrics_endpoint_is_taken_over(self):
        """The Prometheus endpoint's socket passes on too: the successor could not bind its
        port while the running process holds it."""
        port = closed_port()
        endpoint = "127.0.0.1:%d" % port
        old = self.running(self.server("--metrics-listen", endpoint))
        self.assertIn(b"socks5d_connections_total", http_get_metrics(port))
        new = self.running(self.successor(old, "--metrics-listen", endpoint))
        self.wait_log(new, "took over from socks5d pid %d" % old.process.pid)
        code, _ = self.wait_exit(old)
        self.assertEqual(code, 0)
        self.assertIn(b"socks5d_connections_total", http_get_metrics(port))
        check_stopped_cleanly(self, new)

    def test_take_over_with_nothing_running(self):
        stale = self.server()
        text = self.refused(stale)
        self.assertIn("cannot reach the running socks5d", text)

    def test_a_path_in_use_is_not_taken(self):
        old = self.running(self.server())
        old.wait_admin_listener()
        # A second server asking for the same upgrade socket must not start.
        second = self.server("-P", "0")
        process = subprocess.run(second.args, env=second.env, stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True, timeout=START_TIMEOUT * 3)
        shutil.rmtree(second.state_dir, ignore_errors=True)
        self.assertEqual(process.returncode, 1)
        self.assertIn("another process serves upgrades there", process.stderr)
        self.assertTrue(os.path.exists(self.upgrade_path))
        check_stopped_cleanly(self, old)


class SenderNotifySocket:
    """A fake NOTIFY_SOCKET that learns each datagram's sender as systemd does (SO_PASSCRED):
    a list of (arrival, pid, assignments)."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-notify-")
        self.path = os.path.join(self.directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.lock = threading.Lock()
        self.messages = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        credentials = struct.calcsize("3i")
        while not self.stopping.is_set():
            try:
                data, ancillary, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(credentials))
            except socket.timeout:
                continue
            except OSError:
                return
            pid = None
            for level, kind, value in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", value[:credentials])[0]
            with self.lock:
                self.messages.append((time.monotonic(), pid,
                                      assignments(data.decode("utf-8", "replace"))))

    def received(self, since=0.0):
        with self.lock:
            return [entry for entry in self.messages if entry[0] >= since]

    def wait_for(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.received():
                if predicate(entry[1], entry[2]):
                    return entry
            if time.monotonic() > deadline:
                raise AssertionError("no such notify message within %.0f s:\n%s"
                                     % (timeout, self.transcript()))
            time.sleep(0.01)

    def transcript(self):
        return "\n".join("%.3f pid %s %r" % entry for entry in self.received())

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def process_gone(pid):
    """Exited (a zombie of whoever adopted it counts) or reaped."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


class Sigusr2UnderSystemd(UpgradeTestCase):
    """systemctl kill -s USR2: the running process starts its successor itself (so that under
    systemd it is in the service's control group), which becomes the main process."""

    def test_successor_becomes_main_process(self):
        notify = SenderNotifySocket()
        self.addCleanup(notify.close)
        old = self.server(env={"NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"})
        # systemd names the main process in WATCHDOG_PID: socks5d's own pid (exec keeps it).
        old.args = ["/bin/sh", "-c", 'WATCHDOG_PID=$$; export WATCHDOG_PID; exec "$@"',
                    "sh"] + old.args
        self.running(old)
        old_pid = old.process.pid
        notify.wait_for(lambda pid, message: pid == old_pid and message.get("READY") == "1",
                        START_TIMEOUT)
        tunnel = socks_connect(old.port, "127.0.0.1", self.echo.port)
        self.addCleanup(tunnel.close)

        os.kill(old_pid, signal.SIGUSR2)
        started = re.compile(r"SIGUSR2: started (\S+) \(pid (\d+)\) to take over")
        deadline = time.monotonic() + START_TIMEOUT
        while not (match := started.search(old.stderr_text())):
            self.assertLess(time.monotonic(), deadline, old.stderr_text())
            time.sleep(0.02)
        new_pid = int(match.group(2))
        self.addCleanup(lambda: process_gone(new_pid) or os.kill(new_pid, signal.SIGKILL))
        self.assertEqual(os.path.realpath(match.group(1)), os.path.realpath(old.binary))
        # The successor logs to the same stderr (inherited).
        self.wait_log(old, "took over from socks5d pid %d" % old_pid)
        self.wait_log(old, "taken over by socks5d pid %d" % new_pid)

        taken_at, _, message = notify.wait_for(
            lambda pid, message: pid == new_pid and message.get("MAINPID") == str(new_pid),
            START_TIMEOUT)
        self.assertEqual(message.get("READY"), "1")
        # The watchdog the old process fed is the successor's now.
        time.sleep(1.0)
        pings = [entry for entry in notify.received(taken_at)
                 if entry[1] == new_pid and entry[2].get("WATCHDOG") == "1"]
        self.assertGreaterEqual(len(pings), 2, notify.transcript())
        # The old process fell silent (a moment's overlap aside): above all no STOPPING=1,
        # which systemd would take for the service stopping.
        late = [entry for entry in notify.received(taken_at + 0.5) if entry[1] == old_pid]
        self.assertEqual(late, [], notify.transcript())
        self.assertEqual(echo_roundtrip(old, self.echo, user=None), b"still serving?\n")
        self.assertIsNone(old.process.poll(), "the old process left before its tunnel ended")
        tunnel.close()
        code, _ = self.wait_exit(old)
        self.assertEqual(code, 0)
        stops = [entry for entry in notify.received() if entry[2].get("STOPPING") == "1"]
        self.assertEqual(stops, [], notify.transcript())

        # The successor, started without -u (the users are in the users file), serves alone.
        self.assertEqual(echo_roundtrip(old, self.echo), b"still serving?\n")
        os.kill(new_pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while not process_gone(new_pid):
            self.assertLess(time.monotonic(), deadline, "the successor did not stop")
            time.sleep(0.05)
        text = old.stderr_text()
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, text, text[-6000:])
        self.assertFalse(os.path.exists(self.upgrade_path))

    def test_sigusr2_without_upgrade_socket(self):
        server = Socks5dProcess("--upgrade-socket", "off")
        self.addCleanup(server.kill)
        self.running(server)
        os.kill(server.process.pid, signal.SIGUSR2)
        self.wait_log(server, "SIGUSR2: no upgrade socket")
        self.assertEqual(echo_roundtrip(server, self.echo), b"still serving?\n")
        check_stopped_cleanly(self, server)

    def test_successor_that_cannot_start_leaves_old_serving(self):
        config = os.path.join(self.directory, "socks5d.conf")
        with open(config, "w") as handle:
            handle.write('log-level = "info";\n')
        old = self.running(self.server("-C", config))
        old.wait_admin_listener()
        # The deploy broke the configuration file: the successor cannot start (78).
        with open(config, "w") as handle:
            handle.write("this is not a configuration\n")
        os.kill(old.process.pid, signal.SIGUSR2)
        self.wait_log(old, "exited with status 78; still serving")
        self.assertIsNone(old.process.poll())
        self.assertNotIn("taken over by", old.stderr_text())
        self.assertEqual(echo_roundtrip(old, self.echo), b"still serving?\n")
        check_stopped_cleanly(self, old)


if __name__ == "__main__":
    unittest.main()
