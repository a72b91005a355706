"""The socks5ctl dashboard over a fleet of three real socks5d under tmux: the header sums the
servers and says how many are up, users are merged by name with each server's share on
expansion, a killed server is shown down with its reason while the other two keep updating
every second, it is shown up again once restarted on the same port, and closing a connection
goes to the server that holds it."""

import os
import re
import shutil
import socket
import tempfile
import time
import unittest

import harness
from harness import TEST_USER
import test_console_dashboard as single  # its DashboardTest is not imported: not run twice

ADMIN_USER, ADMIN_PASSWORD = harness.ADMIN_ENV.split(":", 1)
CLOCK_RE = re.compile(r"every 1s  (\d\d:\d\d:\d\d)")


class FleetDashboardTest(unittest.TestCase):
    """Three socks5d (alice on each, bob on the second only), an echo server for held tunnels,
    and a tmux terminal running `socks5ctl -a S1 -a S2 -a S3 -d`."""

    # The single-server test's screen helpers work on self.terminal and self.directory.
    wait_screen = single.DashboardTest.wait_screen
    wait_gone = single.DashboardTest.wait_gone
    console_stderr = single.DashboardTest.console_stderr
    read = single.DashboardTest.read
    quit_and_check = single.DashboardTest.quit_and_check

    @classmethod
    def setUpClass(cls):
        harness.require_tool("tmux")
        cls.socks5ctl = single.socks5ctl_binary()
        harness.raise_fd_limit()
        cls.echo = harness.EchoServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()

    def start_server(self, *extra, users=((harness.TEST_USER, harness.TEST_PASSWORD),)):
        server = harness.Socks5dProcess(*extra, users=users)
        server.start()
        self.addCleanup(server.kill)
        admin = server.wait_admin_listener()
        self.assertTrue(admin, "no 'listening for admin' line:\n" + server.stderr_text())
        return server, admin[0]

    def setUp(self):
        self.servers, self.admins = [], []
        for index in range(3):
            users = [(harness.TEST_USER, harness.TEST_PASSWORD)]
            if index == 1:
                users.append(("bob", "bob-password"))
            server, admin = self.start_server(users=users)
            self.servers.append(server)
            self.admins.append(admin)
        self.names = ["%s:%d" % admin for admin in self.admins]
        self.directory = tempfile.mkdtemp(prefix="socks5ctl-fleet-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.terminal = single.Terminal(self.directory)
        self.addCleanup(self.terminal.stop)

    def start_dashboard(self, width=130, height=40, flags=""):
        wrapper = os.path.join(self.directory, "run-dashboard.sh")
        with open(wrapper, "w") as handle:
            handle.write(
                '#!/bin/sh\n'
                'cd "$DASHBOARD_DIR"\n'
                "trap 'true' INT\n"
                'stty -g > stty-before\n'
                '"$SOCKS5CTL" $SERVERS -l "$ADMIN_USER" -d 2> stderr\n'
                'echo $? > exit-code.tmp\n'
                'stty -g > stty-after\n'
                'mv exit-code.tmp exit-code\n'
                'echo "dashboard exited"\n'
                'exec sleep 120\n')
        os.chmod(wrapper, 0o755)
        environment = dict(os.environ)
        environment.update({
            "DASHBOARD_DIR": self.directory,
            "SOCKS5CTL": self.socks5ctl,
            "SERVERS": " ".join(["-a %s" % name for name in self.names] + [flags]),
            "ADMIN_USER": ADMIN_USER,
            "SOCKS5CTL_PASSWORD": ADMIN_PASSWORD,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
            "UBSAN_OPTIONS": "print_stacktrace=1",
        })
        environment.pop("TMUX", None)
        self.terminal.start(wrapper, width, height, environment)

    def hold_tunnel(self, server, user=TEST_USER, password=harness.TEST_PASSWORD):
        sock, _ = harness.open_tunnel(server, "127.0.0.1", self.echo.port, user=user,
                                      password=password)
        self.addCleanup(sock.close)
        sock.sendall(b"fleet\n")
        self.assertEqual(harness.recv_exact(sock, 6), b"fleet\n")
        return sock

    def clocks_seen(self, seconds):
        """The distinct refresh clocks the message line showed over that many seconds."""
        seen = set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            match = CLOCK_RE.search(self.terminal.screen())
            if match:
                seen.add(match.group(1))
            time.sleep(0.1)
        return seen

    def test_three_servers_one_killed_and_restarted(self):
        # alice: 1 tunnel on the first server, 2 on the second, none on the third; bob: 1 on
        # the second.
        self.hold_tunnel(self.servers[0])
        self.hold_tunnel(self.servers[1])
        self.hold_tunnel(self.servers[1])
        self.hold_tunnel(self.servers[1], "bob", "bob-password")
        self.start_dashboard()

        self.wait_screen(r"^socks5d fleet  servers 3/3 up  admin %s  fetch [\d.]+ms" % ADMIN_USER)
        self.wait_screen(r"^Conns 4 live\s+4 total")
        self.wait_screen(r"^Up \S+\s+\S+/s\s+Down \S+\s+\S+/s\s+Users 3\b")  # alice, bob, root
        self.wait_screen(r"^ \S alice\s+user\s+3\s+3\s")
        self.wait_screen(r"^ \S bob\s+user\s+1\s+1\s")

        # Enter expands alice (first by name): a line per server with its share, then the tree
        # whose rows say their server.
        self.terminal.keys("Enter")
        for name, live in zip(self.names, (1, 2, 0)):
            self.wait_screen(r"^\s+%s\s+user\s+%d\s+%d\s" % (re.escape(name), live, live))
        self.wait_screen(r"^\s+SERVER\s+TIME\s+KIND\s+ORIGIN\s+DESTINATION\s.*STATUS")
        for name, live in zip(self.names, (1, 2, 0)):
            rows = re.findall(r"(?m)^\s+\S+ %s\s+\d\d:\d\d:\d\d connect .*127\.0\.0\.1:%d\s+live\s"
                              % (re.escape(name), self.echo.port), self.terminal.screen())
            self.assertEqual(len(rows), live, "%s: %r" % (name, self.terminal.screen()))

        # The second server dies: shown down with its reason and next retry; the header sums
        # the two left.
        dead_port = self.admins[1][1]
        self.servers[1].kill()
        self.wait_screen(r"^socks5d fleet  servers 2/3 up")
        self.wait_screen(r"^down %s\s+.*(refused|closed|broke|lost|reset).*; retry in \d+s"
                         % re.escape(self.names[1]))
        self.wait_screen(r"^Conns 1 live\s+1 total")
        # The others keep updating every second: the refresh clock changes each second, and a
        # tunnel opened on the third server shows at once.
        seen = self.clocks_seen(4.5)
        self.assertGreaterEqual(len(seen), 3, "refresh clocks seen: %r" % sorted(seen))
        self.hold_tunnel(self.servers[2])
        self.wait_screen(r"^Conns 2 live\s+2 total", timeout=5)
        self.wait_screen(r"^\s+%s\s+user\s+1\s+1\s" % re.escape(self.names[2]), timeout=5)
        self.assertRegex(self.terminal.screen(), r"(?m)^down %s" % re.escape(self.names[1]))

        # Restarted on the same admin port: up again (the retry comes within the back-off).
        restarted, admin = self.start_server("-P", str(dead_port))
        self.assertEqual(admin[1], dead_port)
        self.servers[1] = restarted
        self.wait_screen(r"^socks5d fleet  servers 3/3 up", timeout=40)
        self.wait_gone(r"^down ")

        # Closing a connection on the second server goes there. Its tunnel comes after the
        # first server's live row in alice's tree (live rows server by server).
        tunnel = self.hold_tunnel(restarted)
        self.wait_screen(r"^\s+%s\s+user\s+1\s+1\s" % re.escape(self.names[1]))
        first_server_tunnel = self.hold_tunnel(self.servers[0])
        self.wait_screen(r"^\s+%s\s+user\s+2\s+2\s" % re.escape(self.names[0]))
        self.terminal.keys("j", "j", "j")  # alice's two rows on the first server, then this
        self.terminal.keys("Enter")  # its details name its server
        self.wait_screen(r"server\s+%s\b" % re.escape(self.names[1]))
        self.terminal.keys("Escape")
        self.wait_gone(r"server\s+%s\b" % re.escape(self.names[1]))
        self.terminal.keys("x")
        question = self.wait_screen(r"close connection (\d+) on %s\? \(y/n\)"
                                    % re.escape(self.names[1]))
        self.terminal.keys("y")
        self.wait_screen(r"%s: connection %s closed" % (re.escape(self.names[1]),
                                                        question.group(1)))
        self.assertTrue(harness.peer_closed(tunnel, timeout=5), "the tunnel is still open")
        first_server_tunnel.sendall(b"still\n")
        self.assertEqual(harness.recv_exact(first_server_tunnel, 6), b"still\n")
        self.wait_screen(r"^\s+%s\s+user\s+0\s+1\s" % re.escape(self.names[1]))
        self.quit_and_check()

    def test_a_command_waiting_on_a_silent_server_freezes_nothing(self):
        # A fourth "server" takes connections (its backlog) and never says a word: the login
        # and every call to it wait for -t.
        silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        self.names.append("127.0.0.1:%d" % silent.getsockname()[1])
        self.start_dashboard(flags="-t 3")
        self.wait_screen(r"^socks5d fleet  servers 3/4 up", timeout=20)
        self.wait_screen(r"^down %s\s+.*timed out" % re.escape(self.names[3]), timeout=20)
        # A typed command runs while the screen goes on: the refresh clock keeps moving.
        self.terminal.keys(":", "u", "s", "e", "r", "s", "Enter")
        self.wait_screen(r"running :users")
        seen = self.clocks_seen(2.5)
        self.assertGreaterEqual(len(seen), 2, "refresh clocks seen: %r" % sorted(seen))
        # Its answer comes once the silent server timed out: the three others' rows.
        self.wait_screen(r":users \(failed\)", timeout=20)
        for name in self.names[:3]:
            self.wait_screen(r"%s\s+%s\s" % (re.escape(name), TEST_USER))
        self.terminal.keys("Escape")
        self.wait_gone(r":users \(failed\)")
        self.quit_and_check()


if __name__ == "__main__":
    unittest.main()
