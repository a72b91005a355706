"""The socks5ctl dashboard in a real terminal: runs it under tmux against the real socks5d,
makes traffic with curl and a held tunnel, and reads the screen with `tmux capture-pane`:
counters and connections appear, a resize redraws, `q` exits 0 with the terminal restored."""

import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from harness import TEST_USER, TEST_PASSWORD

ADMIN_USER, ADMIN_PASSWORD = harness.ADMIN_ENV.split(":", 1)
SCREEN_TIMEOUT = 20.0  # a Debug (ASan) build on a busy 2-core machine is slow to start
EXIT_TIMEOUT = 15.0
CURL_TIMEOUT = 20


def socks5ctl_binary():
    build = os.environ.get("SOCKS5D_BUILD_DIR")
    if not build:
        server = os.environ.get("SOCKS5D", "")
        build = os.path.dirname(os.path.dirname(server)) if server else ""
    path = os.path.join(build, "console", "socks5ctl") if build else ""
    if not path or not os.path.exists(path):
        raise AssertionError("socks5ctl not found: set SOCKS5D_BUILD_DIR to the build directory "
                             "(looked for %r)" % path)
    return path


def run_curl(proxy_port, url, user=TEST_USER, password=TEST_PASSWORD):
    args = ["curl", "--silent", "--show-error", "--max-time", "10", "--noproxy", "",
            "--socks5-hostname", "127.0.0.1:%d" % proxy_port,
            "--proxy-user", "%s:%s" % (user, password), url]
    env = {"PATH": "/usr/bin:/bin:/usr/local/bin"}
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=CURL_TIMEOUT, env=env)


COLOR_PARAMETERS = set(range(30, 38)) | set(range(40, 48)) | {38, 48} | set(range(90, 98)) \
    | set(range(100, 108))
SGR_RE = re.compile(r"\x1b\[([0-9;]*)m")


def uses_color(escaped_screen):
    """True when the screen (capture-pane -e) sets a foreground or background color."""
    for match in SGR_RE.finditer(escaped_screen):
        for parameter in match.group(1).split(";"):
            if parameter.isdigit() and int(parameter) in COLOR_PARAMETERS:
                return True
    return False


class Terminal:
    """A private tmux server (its own socket, no configuration file) running one command in a
    window of a given size."""

    def __init__(self, directory):
        self.socket = os.path.join(directory, "tmux.socket")
        self.target = "dashboard"

    def tmux(self, *args, check=True):
        return subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null"] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                              check=check, text=True)

    def start(self, command, width, height, env):
        # The tmux server copies this environment into the window: the password travels in
        # SOCKS5CTL_PASSWORD, never on a command line.
        subprocess.run(["tmux", "-S", self.socket, "-f", "/dev/null", "new-session", "-d",
                        "-x", str(width), "-y", str(height), "-s", self.target, command],
                       check=True, timeout=10, env=env)

    def keys(self, *keys, literal=False):
        self.tmux("send-keys", "-t", self.target, *(("-l",) if literal else ()), *keys)

    def screen(self, escapes=False):
        args = ["capture-pane", "-p", "-t", self.target] + (["-e"] if escapes else [])
        return self.tmux(*args).stdout

    def value(self, name):
        return self.tmux("display-message", "-p", "-t", self.target, "#{%s}" % name).stdout.strip()

    def resize(self, width, height):
        self.tmux("resize-window", "-t", self.target, "-x", str(width), "-y", str(height))

    def stop(self):
        self.tmux("kill-server", check=False)


class DashboardTest(unittest.TestCase):
    """Each test: a fresh socks5d with the regular user alice (and the harness's admin), an
    HTTP server for curl, an echo server for a tunnel held open, and a tmux terminal."""

    @classmethod
    def setUpClass(cls):
        harness.require_tool("tmux")
        cls.socks5ctl = socks5ctl_binary()
        harness.raise_fd_limit()
        cls.http = harness.HttpServer().start()
        cls.echo = harness.EchoServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.http.stop()
        cls.echo.stop()

    def setUp(self):
        self.server = harness.Socks5dProcess()
        self.server.start()
        self.addCleanup(self.server.kill)
        admin = self.server.wait_admin_listener()
        self.assertTrue(admin, "no 'listening for admin' line:\n" + self.server.stderr_text())
        self.admin_host, self.admin_port = admin[0]
        self.directory = tempfile.mkdtemp(prefix="socks5ctl-dashboard-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.terminal = Terminal(self.directory)
        self.addCleanup(self.terminal.stop)

    # -- helpers -----------------------------------------------------------------------------

    def start_dashboard(self, user, password, width=100, height=30, env=None, mode="-d"):
        """Runs `socks5ctl ... -d` (or, with mode "", its prompt) in the terminal through a
        wrapper that records the terminal settings before and after, and the exit code."""
        wrapper = os.path.join(self.directory, "run-dashboard.sh")
        with open(wrapper, "w") as handle:
            handle.write(
                '#!/bin/sh\n'
                'cd "$DASHBOARD_DIR"\n'
                # Ctrl-C goes to the whole foreground group: the wrapper must outlive it.
                "trap 'true' INT\n"
                'stty -g > stty-before\n'
                '"$SOCKS5CTL" -a "$ADMIN_HOST" -p "$ADMIN_PORT" -l "$ADMIN_USER" $MODE 2> stderr\n'
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
            "ADMIN_HOST": self.admin_host,
            "ADMIN_PORT": str(self.admin_port),
            "ADMIN_USER": user,
            "MODE": mode,
            "SOCKS5CTL_PASSWORD": password,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
            "UBSAN_OPTIONS": "print_stacktrace=1",
        })
        environment.pop("NO_COLOR", None)
        environment.pop("TMUX", None)
        if env:
            environment.update(env)
        self.terminal.start(wrapper, width, height, environment)

    def wait_screen(self, pattern, timeout=SCREEN_TIMEOUT, flags=re.MULTILINE):
        """The first match of pattern on the screen; fails with the screen after timeout."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern, flags)
        while True:
            screen = self.terminal.screen()
            match = regex.search(screen)
            if match:
                return match
            if time.monotonic() >= deadline:
                self.fail("%r not on screen within %.0f s; screen:\n%s\nstderr:\n%s"
                          % (pattern, timeout, screen, self.console_stderr()))
            time.sleep(0.2)

    def wait_gone(self, pattern, timeout=SCREEN_TIMEOUT):
        deadline = time.monotonic() + timeout
        while re.search(pattern, self.terminal.screen(), re.MULTILINE):
            if time.monotonic() >= deadline:
                self.fail("%r still on screen after %.0f s:\n%s"
                          % (pattern, timeout, self.terminal.screen()))
            time.sleep(0.2)

    def console_stderr(self):
        try:
            with open(os.path.join(self.directory, "stderr"), errors="replace") as handle:
                return handle.read()
        except OSError:
            return ""

    def read(self, name):
        with open(os.path.join(self.directory, name)) as handle:
            return handle.read()

    def quit_and_check(self, key="q"):
        """q: the dashboard exits 0, leaves the alternate screen, and restores the terminal."""
        self.terminal.keys(key)
        deadline = time.monotonic() + EXIT_TIMEOUT
        exit_path = os.path.join(self.directory, "exit-code")
        while not os.path.exists(exit_path):
            if time.monotonic() >= deadline:
                self.fail("the dashboard did not exit within %.0f s of q; screen:\n%s"
                          % (EXIT_TIMEOUT, self.terminal.screen()))
            time.sleep(0.1)
        stderr = self.console_stderr()
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, stderr, "sanitizer report from socks5ctl:\n" + stderr)
        self.assertEqual(self.read("exit-code").strip(), "0", "exit code; stderr:\n" + stderr)
        self.assertEqual(self.read("stty-after"), self.read("stty-before"),
                         "terminal settings differ after the dashboard")
        self.wait_screen(r"^dashboard exited$", timeout=5)
        self.assertEqual(self.terminal.value("alternate_on"), "0", "still in the alternate screen")
        self.assertNotRegex(self.terminal.screen(), r"q quit")

    def hold_tunnel(self):
        """alice's tunnel to the echo server, kept open, some bytes through it."""
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        self.addCleanup(sock.close)
        sock.sendall(b"held open by the dashboard test\n")
        self.assertEqual(harness.recv_exact(sock, 32), b"held open by the dashboard test\n")
        return sock

    def curl_page(self):
        result = run_curl(self.server.port, "http://localhost:%d/page" % self.http.port)
        self.assertEqual(result.returncode, 0, result.stderr.decode(errors="replace"))
        self.assertEqual(result.stdout, harness.PageHandler.BODY)

    # -- tests -------------------------------------------------------------------------------

    def test_admin_sees_counters_connections_resize_and_quits(self):
        self.curl_page()
        tunnel = self.hold_tunnel()
        tunnel_origin = "127.0.0.1:%d" % tunnel.getsockname()[1]
        self.start_dashboard(ADMIN_USER, ADMIN_PASSWORD)

        # Header with the server's counters, and alice in the users pane: 1 live, 2 in all.
        # The first screen may be drawn before the first answer (all zeros): wait for the data.
        match = self.wait_screen(r"^Conns (\d+) live\s+([2-9]|\d\d+) total")
        self.assertGreaterEqual(int(match.group(2)), 2)
        self.wait_screen(r"^ \S alice\s+user\s+1\s+2\s")
        self.wait_screen(r"^ \S root\s+admin\s")
        self.wait_screen(r"^\s+USER\s+ROLE\s+LIVE\s+TOTAL\s+UP\s+DOWN\s+UP/s\s+DOWN/s\s+LIMIT\s*$")
        # t: the lifetime figures (the accounting database beside the users file: this run's
        # two connections, and their bytes); t again.
        self.terminal.keys("t")
        self.wait_screen(r"^\s+USER\s+ROLE\s+LIVE\s+LIFE#\s+LIFE UP\s+LIFE DN\s+UP/s")
        self.wait_screen(r"^ \S alice\s+user\s+1\s+2\s+[1-9][0-9.]*K?\s+[1-9][0-9.]*K?\s")
        self.terminal.keys("t")
        self.wait_screen(r"^\s+USER\s+ROLE\s+LIVE\s+TOTAL\s+UP\s+DOWN\s+UP/s\s+DOWN/s\s+LIMIT\s*$")
        self.assertEqual(self.terminal.value("alternate_on"), "1", "not a full-screen program")
        self.assertTrue(uses_color(self.terminal.screen(escapes=True)), "no colors without NO_COLOR")

        # Enter expands alice (first by name): the live tunnel first, then the curl history.
        self.terminal.keys("Enter")
        self.wait_screen(r"^\s+TIME\s+KIND\s+ORIGIN\s+DESTINATION\s+STATUS\s+UP\s+DOWN\s+DUR\s*$")
        live = self.wait_screen(r"^\s+\S+ \d\d:\d\d:\d\d connect %s\s+127\.0\.0\.1:%d\s+live\s"
                                % (re.escape(tunnel_origin), self.echo.port))
        recent = self.wait_screen(r"^\s+\S+ \d\d:\d\d:\d\d connect 127\.0\.0\.1:\d+\s+localhost:%d\s+ok\s+"
                                  r"\d+(\.\d)?K?\s+\d+(\.\d)?K\s" % self.http.port)
        self.assertLess(live.start(), recent.start(), "live connections come first")

        # Live: another request shows up without a key press.
        self.curl_page()
        self.wait_screen(r"^ \S alice\s+user\s+1\s+3\s")
        match = self.wait_screen(r"^Conns (\d+) live\s+([3-9]|\d\d+) total")
        self.assertGreaterEqual(int(match.group(2)), 3)

        # Help and a command from ':'.
        self.terminal.keys("?")
        self.wait_screen(r"socks5ctl dashboard")
        self.terminal.keys("Escape")
        self.wait_gone(r"socks5ctl dashboard")
        self.terminal.keys(":")
        self.terminal.keys("users", literal=True)
        self.terminal.keys("Enter")
        # Its output opens in a box over the list (or, if one line, on the message line).
        self.wait_screen(r"(\u2502|\|).*\balice\b.*(\u2502|\|)\s*$|^\S.*\balice\b.*every")
        self.terminal.keys("Escape")
        self.wait_gone(r"(\u2502|\|).*\balice\b.*(\u2502|\|)\s*$")

        # A resize redraws for the new size: 80x24, the status line at the bottom, the tree
        # without the KIND and DUR (duration) columns that need 88 and 96 columns.
        self.terminal.resize(80, 24)
        self.wait_screen(r"^\s+TIME\s+ORIGIN\s+DESTINATION\s+STATUS\s+UP\s+DOWN\s*$")
        lines = self.terminal.screen().split("\n")
        self.assertEqual(self.terminal.value("window_width"), "80")
        self.assertTrue(lines[23].startswith("q quit"), "status line not at the bottom: %r"
                        % lines[23])
        self.assertTrue(any(re.match(r"^ \S alice\s+user", line) for line in lines), lines)
        self.assertTrue(all(len(line) <= 80 for line in lines))

        self.quit_and_check()

    def test_regular_user_sees_only_own_connections_without_color(self):
        self.curl_page()
        self.hold_tunnel()
        self.start_dashboard(TEST_USER, TEST_PASSWORD, width=80, height=24,
                             env={"NO_COLOR": "1"})
        # The server-wide records are admin-only: the header shows the user's own counters.
        self.wait_screen(r"^Conns 1 live\s+2 total")
        self.wait_screen(r"need the admin role")
        self.wait_screen(r"^ \S alice\s+user\s+1\s+2\s")
        # Their only user comes expanded.
        self.wait_screen(r"^\s+\S+ \d\d:\d\d:\d\d 127\.0\.0\.1:\d+\s+127\.0\.0\.1:%d\s+live\s"
                         % self.echo.port)
        self.wait_screen(r"localhost:%d\s+ok\s" % self.http.port)
        screen = self.terminal.screen()
        self.assertNotRegex(screen, r"(?m)^ \S root\s")
        self.assertFalse(uses_color(self.terminal.screen(escapes=True)), "colors with NO_COLOR")
        self.quit_and_check()

    def test_session_drop_shows_disconnected_and_keeps_running(self):
        self.start_dashboard(ADMIN_USER, ADMIN_PASSWORD)
        self.wait_screen(r"^ \S alice\s+user\s")
        harness.check_stopped_cleanly(self, self.server)
        self.wait_screen(r"disconnected \S retrying")
        self.terminal.keys("j")  # keys still work while the server is away
        self.quit_and_check("C-c")  # SIGINT quits as cleanly as q

    def test_dashboard_command_from_the_prompt_resizes_and_returns(self):
        self.start_dashboard(ADMIN_USER, ADMIN_PASSWORD, width=100, height=30, mode="")
        self.wait_screen(r"^%s@\S+[#>]\s*$" % ADMIN_USER)
        self.terminal.keys("dashboard 0.5", literal=True)
        self.terminal.keys("Enter")
        self.wait_screen(r"^ \S alice\s+user\s")
        self.wait_screen(r"every 0\.5s")
        # The prompt has its own SIGWINCH handler; the dashboard must still follow the size.
        self.terminal.resize(80, 24)
        self.wait_screen(r"^   USER {15}ROLE")  # the 80-column layout: a shorter name column
        lines = self.terminal.screen().split("\n")
        self.assertTrue(lines[23].startswith("q quit"), lines)
        self.terminal.keys("q")
        self.wait_gone(r"q quit")
        self.assertEqual(self.terminal.value("alternate_on"), "0")
        self.terminal.keys("ping", literal=True)
        self.terminal.keys("Enter")
        self.wait_screen(r"^pong from ")
        self.terminal.keys("quit", literal=True)
        self.terminal.keys("Enter")
        deadline = time.monotonic() + EXIT_TIMEOUT
        while not os.path.exists(os.path.join(self.directory, "exit-code")):
            self.assertLess(time.monotonic(), deadline, "the prompt did not exit after quit")
            time.sleep(0.1)
        self.assertEqual(self.read("exit-code").strip(), "0", self.console_stderr())
        self.assertEqual(self.read("stty-after"), self.read("stty-before"))


if __name__ == "__main__":
    unittest.main()
