"""socks5ctl over three real socks5d at once: listings with a server column, counters per server
and summed, a change on every server (and on one where it is already done: an error for that
server and a non-zero exit), a server stopped (reported down while the others answer), and
--servers files (comments, a bad line named by file and line); last, the prompt in a real
terminal (tmux) telling which sessions are down and which logged in again."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness

ADMIN_USER, ADMIN_PASSWORD = harness.ADMIN_ENV.split(":", 1)
RUN_TIMEOUT = 60  # a Debug (ASan) build on a busy 2-core machine is slow
SCREEN_TIMEOUT = 30
SERVERS = 3

EXIT_OK = 0
EXIT_REFUSED = 2
EXIT_USAGE = 64
EXIT_UNAVAILABLE = 69
EXIT_LOGIN_FAILED = 77


def socks5ctl_binary():
    build = os.environ.get("SOCKS5D_BUILD_DIR")
    if not build:
        server = os.environ.get("SOCKS5D", "")
        build = os.path.dirname(os.path.dirname(server)) if server else ""
    path = os.path.join(build, "console", "socks5ctl") if build else ""
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("socks5ctl not found under SOCKS5D_BUILD_DIR (%r)" % path)
    return path


class FleetConsoleTest(harness.EchoTestCase):
    def setUp(self):
        self.binary = socks5ctl_binary()
        self.servers = []
        for _ in range(SERVERS):
            # Each with its accounting database in its private state directory (the history).
            server = harness.Socks5dProcess("-P", "0").start()
            self.addCleanup(server.kill)
            self.servers.append(server)
        self.names = ["127.0.0.1:%d" % server.wait_admin_listener()[0][1]
                      for server in self.servers]
        self.home = tempfile.mkdtemp(prefix="socks5ctl-home-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.home]))
        self.stopped = set()

    def tearDown(self):
        for index, server in enumerate(self.servers):
            if index not in self.stopped:
                harness.check_stopped_cleanly(self, server)

    def argv(self, servers=None):
        argv = [self.binary, "-l", ADMIN_USER, "-t", "5"]
        for name in self.names if servers is None else servers:
            argv += ["-a", name]
        return argv

    def env(self, password=ADMIN_PASSWORD):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                "SOCKS5CTL_PASSWORD": password, "ASAN_OPTIONS": "detect_leaks=1",
                "UBSAN_OPTIONS": "print_stacktrace=1"}

    def run_ctl(self, *args, servers=None, password=ADMIN_PASSWORD, expect=None):
        """socks5ctl -a for each of servers (default: all three), then args."""
        completed = subprocess.run(self.argv(servers) + list(args), capture_output=True,
                                   text=True, timeout=RUN_TIMEOUT, env=self.env(password),
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, completed.stderr, "sanitizer report from socks5ctl")
        if expect is not None:
            self.assertEqual(completed.returncode, expect,
                             "socks5ctl %s\n--- stdout\n%s--- stderr\n%s"
                             % (" ".join(args), completed.stdout, completed.stderr))
        return completed

    def json_rows(self, *args, **kwargs):
        completed = self.run_ctl("-o", "json", *args, **kwargs)
        (line,) = completed.stdout.splitlines()
        return json.loads(line)["rows"]

    def stop_server(self, index):
        harness.check_stopped_cleanly(self, self.servers[index])
        self.stopped.add(index)

    # -- listings ---------------------------------------------------------------------------

    def test_listing_has_a_server_column_in_every_format(self):
        rows = self.json_rows("users", expect=EXIT_OK)
        by_server = {}
        for row in rows:
            by_server.setdefault(row["server"], set()).add(row["user"])
        self.assertEqual(sorted(by_server), sorted(self.names))
        for users in by_server.values():
            self.assertEqual(users, {ADMIN_USER, harness.TEST_USER})

        tsv = self.run_ctl("-o", "tsv", "users", expect=EXIT_OK).stdout.splitlines()
        self.assertTrue(tsv[0].startswith("server\tuser\t"), tsv[0])
        self.assertEqual(sorted({line.split("\t")[0] for line in tsv[1:]}), sorted(self.names))

        table = self.run_ctl("users", expect=EXIT_OK).stdout.splitlines()
        self.assertEqual(table[0], "total: %d" % (2 * SERVERS))
        header = table[2].split()
        self.assertEqual(header[:2], ["server", "user"])
        self.assertEqual(sum(1 for line in table[3:] if line.split()[0] in self.names),
                         2 * SERVERS)

    def test_one_server_looks_as_it_always_did(self):
        tsv = self.run_ctl("-o", "tsv", "users", servers=self.names[:1],
                           expect=EXIT_OK).stdout.splitlines()
        self.assertTrue(tsv[0].startswith("user\t"), tsv[0])
        out = self.run_ctl("add-user", "solo", "pw-solo-1", servers=self.names[:1],
                           expect=EXIT_OK).stdout
        self.assertEqual(out, "added user solo (user)\n")

    # -- counters ---------------------------------------------------------------------------

    def test_counters_per_server_and_summed(self):
        # A different amount of traffic through each server: 0, 1 and 2 tunnels.
        message = b"fleet traffic\n"
        for index, server in enumerate(self.servers):
            for _ in range(index):
                self.assertEqual(harness.echo_roundtrip(server, self.echo, message), message)
        rows = self.json_rows("metrics", expect=EXIT_OK)
        self.assertEqual([row["server"] for row in rows], self.names + ["total"])
        per_server, total = rows[:SERVERS], rows[SERVERS]
        self.assertEqual([row["connections_total"] for row in per_server], [0, 1, 2])
        for key in ("connections_total", "bytes_up", "bytes_down", "connections_current",
                    "auth_errors"):
            self.assertEqual(total[key], sum(row[key] for row in per_server), key)
        self.assertEqual(total["bytes_up"], 3 * len(message))
        # Not a sum: the uptime of a fleet means nothing.
        self.assertIsNone(total["uptime_seconds"])
        self.assertGreaterEqual(min(row["uptime_seconds"] for row in per_server), 0)

        # A user's own figures too: whoami is a record per server and their total.
        tsv = self.run_ctl("-o", "tsv", "user-metrics", harness.TEST_USER,
                           expect=EXIT_OK).stdout.splitlines()
        header = tsv[0].split("\t")
        self.assertEqual(header[0], "server")
        total_row = dict(zip(header, tsv[-1].split("\t")))
        self.assertEqual(total_row["server"], "total")
        self.assertEqual(total_row["connections_total"], "3")
        self.assertEqual(total_row["max_connections"], "-")

    def test_history_and_own_activity_from_every_server(self):
        message = b"for the history\n"
        for server in self.servers[1:]:
            self.assertEqual(harness.echo_roundtrip(server, self.echo, message), message)
        # The accounting writer stores a batch a second: wait for both servers' rows.
        deadline = time.monotonic() + 20
        while True:
            rows = self.json_rows("connections", "--history", harness.TEST_USER)
            servers = sorted(row["server"] for row in rows)
            if servers == sorted(self.names[1:]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(servers, sorted(self.names[1:]))
        self.assertTrue(all(row["bytes_up"] == len(message) for row in rows), rows)

        # Nothing to run: whoami and one's own connections, each from every server.
        out = self.run_ctl(expect=EXIT_OK).stdout
        whoami, connections = out.split("\n\n", 1)
        self.assertEqual(whoami.splitlines()[0].split()[:2], ["server", "user"])
        self.assertEqual([line.split()[0] for line in whoami.splitlines()[1:]],
                         self.names + ["total"])
        self.assertIn("\nserver ", "\n" + connections)

    # -- changes ----------------------------------------------------------------------------

    def test_add_user_on_every_server_and_where_it_exists(self):
        out = self.run_ctl("add-user", "fleet-a", "pw-fleet-a", expect=EXIT_OK).stdout
        self.assertEqual(out, "".join("%s: ok\n" % name for name in self.names))
        for row in self.json_rows("user-metrics", "fleet-a", expect=EXIT_OK):
            self.assertEqual(row["user"], "fleet-a" if row["server"] != "total" else "-")

        # On the second server only first; then everywhere: that server says why.
        self.run_ctl("add-user", "fleet-b", "pw-fleet-b", servers=[self.names[1]],
                     expect=EXIT_OK)
        completed = self.run_ctl("add-user", "fleet-b", "pw-fleet-b", expect=EXIT_REFUSED)
        lines = completed.stdout.splitlines()
        self.assertEqual(lines[0], "%s: ok" % self.names[0])
        self.assertRegex(lines[1], "^%s: error: .*already exists" % self.names[1])
        self.assertEqual(lines[2], "%s: ok" % self.names[2])
        users = {(row["server"], row["user"]) for row in self.json_rows("users")}
        for name in self.names:
            self.assertIn((name, "fleet-b"), users)

        # JSON: one row per server with its result.
        rows = self.json_rows("remove-user", "fleet-b", expect=EXIT_OK)
        self.assertEqual([(row["server"], row["result"], row["error"]) for row in rows],
                         [(name, "ok", None) for name in self.names])

    # -- a server down ----------------------------------------------------------------------

    def test_server_stopped_is_reported_and_the_others_answer(self):
        self.stop_server(2)
        started = time.monotonic()
        completed = self.run_ctl("-o", "json", "users", expect=EXIT_UNAVAILABLE)
        self.assertLess(time.monotonic() - started, RUN_TIMEOUT / 2)
        (line,) = completed.stdout.splitlines()
        servers = {row["server"] for row in json.loads(line)["rows"]}
        self.assertEqual(servers, set(self.names[:2]))
        self.assertIn("%s: cannot connect" % self.names[2], completed.stderr)

        completed = self.run_ctl("add-user", "while-down", "pw-down", expect=EXIT_UNAVAILABLE)
        lines = completed.stdout.splitlines()
        self.assertEqual(lines[:2], ["%s: ok" % name for name in self.names[:2]])
        self.assertRegex(lines[2], "^%s: error: cannot connect" % self.names[2])

        # The worst exit code wins: refused on two servers (2), unavailable on one (69).
        self.run_ctl("add-user", "while-down", "pw-down", expect=EXIT_UNAVAILABLE)

    def test_wrong_password_everywhere(self):
        completed = self.run_ctl("users", password="not-the-password", expect=EXIT_LOGIN_FAILED)
        self.assertEqual(completed.stdout, "")
        for name in self.names:
            self.assertIn(name, completed.stderr)

    # -- --servers files --------------------------------------------------------------------

    def write_file(self, text):
        handle, path = tempfile.mkstemp(prefix="servers-", suffix=".txt")
        with os.fdopen(handle, "w") as file:
            file.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def test_servers_file_with_comments(self):
        path = self.write_file("# the fleet\n\n%s   # first\n  %s\n# %s is given by -a\n"
                               % (self.names[0], self.names[1], self.names[2]))
        rows = self.json_rows("--servers", path, "users", servers=[self.names[2]],
                              expect=EXIT_OK)
        self.assertEqual({row["server"] for row in rows}, set(self.names))

    def test_servers_file_with_a_bad_line(self):
        path = self.write_file("# the fleet\n%s\n%s:0\n" % (self.names[0], "127.0.0.1"))
        completed = self.run_ctl("--servers", path, "users", servers=[], expect=EXIT_USAGE)
        self.assertIn("%s:3: the port must be 1 to 65535" % path, completed.stderr)
        self.assertEqual(completed.stdout, "")

        missing = path + ".missing"
        completed = self.run_ctl("--servers", missing, "users", servers=[], expect=EXIT_USAGE)
        self.assertIn(missing, completed.stderr)


    # -- the prompt -------------------------------------------------------------------------

    def test_prompt_tells_which_servers_are_down(self):
        harness.require_tool("tmux")
        tmux_dir = tempfile.mkdtemp(prefix="socks5ctl-tmux-")
        self.addCleanup(lambda: shutil.rmtree(tmux_dir, ignore_errors=True))
        tmux = ["tmux", "-S", os.path.join(tmux_dir, "socket"), "-f", "/dev/null"]
        self.addCleanup(lambda: subprocess.run(tmux + ["kill-server"], capture_output=True,
                                               timeout=10))
        command = " ".join(self.argv()) + "; echo EXIT=$?; sleep 60"
        subprocess.run(tmux + ["new-session", "-d", "-x", "160", "-y", "40", "-s", "fleet",
                               command], check=True, timeout=10,
                       env=dict(self.env(), TERM="xterm"))

        def keys(*typed):
            subprocess.run(tmux + ["send-keys", "-t", "fleet"] + list(typed), check=True,
                           timeout=10)

        def wait_screen(pattern):
            deadline = time.monotonic() + SCREEN_TIMEOUT
            while True:
                text = subprocess.run(tmux + ["capture-pane", "-p", "-t", "fleet", "-S", "-100"],
                                      capture_output=True, text=True, timeout=10).stdout
                if re.search(pattern, text, re.MULTILINE):
                    return text
                if time.monotonic() > deadline:
                    self.fail("no %r on the screen within %.0f s:\n%s"
                              % (pattern, SCREEN_TIMEOUT, text))
                time.sleep(0.1)

        prompt = re.escape("%s@%d servers" % (ADMIN_USER, SERVERS))
        down = re.escape(self.names[1])
        wait_screen(prompt + "#\\s*$")
        port = self.servers[1].wait_admin_listener()[0][1]
        self.stop_server(1)
        wait_screen("^%s closed the session; the next command logs in again$" % down)
        wait_screen(prompt + " \\(down: %s\\)#\\s*$" % down)
        keys("ping", "Enter")
        wait_screen("^%s: error: cannot connect" % down)
        wait_screen("^%s: ok$" % re.escape(self.names[2]))

        # Back on the same port: the next command logs in again, and the prompt says so.
        self.servers[1] = harness.Socks5dProcess("-P", str(port)).start()
        self.addCleanup(self.servers[1].kill)
        self.stopped.discard(1)
        self.servers[1].wait_admin_listener()
        keys("whoami", "Enter")
        # The prompt drawn after that line names no server down.
        wait_screen("^\\(logged in again to %s\\)\\n%s#\\s*$" % (down, prompt))
        keys("quit", "Enter")
        wait_screen("^EXIT=0$")


if __name__ == "__main__":
    unittest.main()
