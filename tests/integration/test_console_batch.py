"""socks5ctl in batch mode against the real socks5d: every command, the one-letter
action flags, commands on stdin, the output formats, a server restart between two commands,
and every exit code (including the ones only a misbehaving server can cause, from a fake one).
Last, the prompt in a real terminal (tmux): completion, history, and a server restart."""

import json
import os
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from harness import TEST_USER, TEST_PASSWORD

ADMIN_USER, ADMIN_PASSWORD = harness.ADMIN_ENV.split(":", 1)
RUN_TIMEOUT = 60  # a Debug (ASan) build on a busy 2-core machine is slow

EXIT_OK = 0
EXIT_SERVER_ERROR = 1
EXIT_REFUSED = 2
EXIT_FORBIDDEN = 3
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


def closed_port():
    """A loopback port nobody listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Result:
    def __init__(self, completed):
        self.code = completed.returncode
        self.out = completed.stdout
        self.err = completed.stderr

    def __repr__(self):
        return "exit %d\n--- stdout\n%s--- stderr\n%s" % (self.code, self.out, self.err)


class Console:
    """Runs socks5ctl as a child: no controlling terminal (so it can never sit waiting on a
    password prompt), password from SOCKS5CTL_PASSWORD, history under a private HOME."""

    def __init__(self, test, port, host="127.0.0.1"):
        self.test = test
        self.binary = socks5ctl_binary()
        self.port = port
        self.host = host
        self.home = tempfile.mkdtemp(prefix="socks5ctl-home-")
        test.addCleanup(lambda: subprocess.run(["rm", "-rf", self.home]))

    def env(self, password):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
               "ASAN_OPTIONS": "detect_leaks=1", "UBSAN_OPTIONS": "print_stacktrace=1"}
        if password is not None:
            env["SOCKS5CTL_PASSWORD"] = password
        return env

    def argv(self, args, user):
        argv = [self.binary, "-a", self.host, "-p", str(self.port), "-t", "20"]
        if user is not None:
            argv += ["-l", user]
        return argv + list(args)

    def run(self, *args, user=ADMIN_USER, password=ADMIN_PASSWORD, stdin="", expect=None):
        """stdin: the text to write to socks5ctl's stdin, or None for /dev/null."""
        feed = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
        completed = subprocess.run(self.argv(args, user), capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT, env=self.env(password),
                                   start_new_session=True, **feed)
        result = Result(completed)
        for marker in harness.SANITIZER_MARKERS:
            self.test.assertNotIn(marker, result.err, "sanitizer report from socks5ctl:\n%r"
                                  % result)
        if expect is not None:
            self.test.assertEqual(result.code, expect, "socks5ctl %s: %r" % (" ".join(args),
                                                                              result))
        return result

    def json(self, *args, **kwargs):
        """Runs with -o json; returns the list of objects, one per output line."""
        result = self.run("-o", "json", *args, expect=EXIT_OK, **kwargs)
        return [json.loads(line) for line in result.out.splitlines()]


def raw_admin_login(port, user=ADMIN_USER, password=ADMIN_PASSWORD):
    """An admin session opened by hand (PROTOCOL.md 4.1); returns (socket, login reply)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=harness.SOCKET_TIMEOUT)
    user_bytes, password_bytes = user.encode(), password.encode()
    sock.sendall(bytes([2, 0, len(user_bytes)]) + user_bytes + bytes([len(password_bytes)])
                 + password_bytes)
    return sock, harness.recv_exact(sock, 4)


class ConsoleTestCase(harness.ServerTestCase):
    # The console's answers without an accounting database ("-" lifetime figures, history and
    # reset-usage unavailable); test_accounting.py drives the console against one.
    SERVER_ARGS = ("--accounting-db", "off")

    def setUp(self):
        super().setUp()
        self.admin_port = self.server.wait_admin_listener()[0][1]
        self.ctl = Console(self, self.admin_port)

    def users(self):
        """{name: role} from `users -o json`."""
        (users,) = self.ctl.json("users")
        return {row["user"]: row["role"] for row in users["rows"]}


class ReadCommandsTest(ConsoleTestCase):
    def test_help_and_version_need_no_server(self):
        console = Console(self, closed_port())
        result = console.run("-h", user=None, expect=EXIT_OK)
        for needle in ("visible to other", "SOCKS5CTL_PASSWORD", "  77  login failed",
                       "  add-user NAME [PASSWORD] [admin|user]", "  dashboard [SECONDS]"):
            self.assertIn(needle, result.out)
        self.assertRegex(console.run("-v", user=None, expect=EXIT_OK).out, r"^socks5ctl \d+\.")

    def test_ping_and_whoami(self):
        self.assertRegex(self.ctl.run("ping", expect=EXIT_OK).out,
                         r"^pong from 127\.0\.0\.1:%d in \d+\.\d ms\n$" % self.admin_port)
        (me,) = self.ctl.json("whoami")
        self.assertEqual(me, {"command": "whoami", "record": {
            "user": ADMIN_USER, "role": "admin", "connections_live": 0, "connections_total": 0,
            "bytes_up": 0, "bytes_down": 0, "rule_denials": 0, "datagrams_up": 0,
            "datagrams_down": 0, "max_connections": 0, "upload_limit": 0,
            "download_limit": 0, "limit_refusals": 0, "runtime_limits": None,
            # accounting is off in this server: every lifetime figure is "-"
            "lifetime_connections_total": None, "lifetime_bytes_up": None,
            "lifetime_bytes_down": None, "lifetime_datagrams_up": None,
            "lifetime_datagrams_down": None, "lifetime_rule_denials": None,
            "lifetime_limit_refusals": None, "lifetime_failures": None, "first_seen": "-",
            "last_seen": "-", "usage_reset": "-", "usage_reset_by": "-"}})

    def test_history_and_reset_usage_without_accounting(self):
        # This server runs without an accounting database: both say so (status 0x0B, exit 69)
        # after their arguments were checked.
        result = self.ctl.run("connections", "--since", "2h", "--status", "failed",
                              expect=EXIT_UNAVAILABLE)
        self.assertRegex(result.err, r"^connections: accounting is off \(unavailable\)\n$")
        result = self.ctl.run("-o", "json", "connections", TEST_USER, "--history",
                              expect=EXIT_UNAVAILABLE)
        self.assertEqual(result.out, "")
        self.ctl.run("reset-usage", TEST_USER, expect=EXIT_UNAVAILABLE)
        self.ctl.run("reset-usage", expect=EXIT_UNAVAILABLE)
        result = self.ctl.run("reset-usage", "nobody", expect=EXIT_REFUSED)
        self.assertIn("no such user", result.err)
        result = self.ctl.run("connections", "--since", "tomorrow", expect=EXIT_USAGE)
        self.assertIn("--since expected a date", result.err)
        result = self.ctl.run("connections", "--history", "--live", expect=EXIT_USAGE)
        self.assertIn("do not apply", result.err)
        (info,) = self.ctl.json("server-info")
        self.assertEqual(info["record"]["accounting"], "off")
        self.assertEqual(info["record"]["accounting_db"], "-")
        self.assertIsNone(info["record"]["history_rows"])
        (metrics,) = self.ctl.json("metrics")
        self.assertEqual(metrics["record"]["accounting_dropped"], 0)
        self.assertIsNone(metrics["record"]["lifetime_connections_total"])
        self.assertEqual(metrics["record"]["lifetime_since"], "-")

    def test_rules_lists_the_safe_defaults(self):
        (rules,) = self.ctl.json("rules")
        self.assertEqual(rules["command"], "rules")
        self.assertEqual(rules["record"]["total"], 0)
        self.assertEqual(rules["record"]["allow_loopback"], "yes")
        self.assertTrue(rules["record"]["safe_defaults"].startswith("loopback 127.0.0.0/8 ::1/128"))
        self.assertEqual(rules["rows"], [])
        text = self.ctl.run("rules", expect=EXIT_OK).out
        self.assertRegex(text, r"(?m)^allow_loopback: +yes$")
        self.assertRegex(text, r"(?m)^number +name +action +rule +hits$")
        refused = self.ctl.run("rules", user=TEST_USER, password=TEST_PASSWORD)
        self.assertNotEqual(refused.code, EXIT_OK)
        self.assertIn("admin", refused.err)

    def test_server_info_metrics_and_buffer_size(self):
        (info,) = self.ctl.json("server-info")
        self.assertEqual(info["record"]["protocol_version"], 2)
        self.assertEqual(info["record"]["admin_listeners"], "127.0.0.1:%d" % self.admin_port)
        self.assertEqual(info["record"]["auth_mode"], "password")
        (metrics,) = self.ctl.json("metrics")
        self.assertIn("connections_total", metrics["record"])
        self.assertIsInstance(metrics["record"]["bytes_up"], int)
        table = self.ctl.run("get-buffer-size", expect=EXIT_OK).out
        self.assertEqual(table, "buffer_size: 16384 (16.0 KiB)\n")
        self.assertEqual(self.ctl.run("-o", "tsv", "get-buffer-size", expect=EXIT_OK).out,
                         "key\tvalue\nbuffer_size\t16384\n")

    def test_users_in_every_format(self):
        table = self.ctl.run("users", expect=EXIT_OK).out.splitlines()
        self.assertEqual(table[0], "total: 2")
        self.assertEqual(table[1], "")
        self.assertRegex(table[2], r"^user +role +connections_live +connections_total +bytes_up"
                                   r" +bytes_down +max_connections +upload_limit +download_limit"
                                   r" +limit_refusals +lifetime_connections_total"
                                   r" +lifetime_bytes_up +lifetime_bytes_down$")
        self.assertRegex(table[3], r"^alice +user +0 +0 +0 B +0 B +0 +0 +0 +0 +- +- +-$")
        self.assertRegex(table[4], r"^root +admin +0 +0 +0 B +0 B +0 +0 +0 +0 +- +- +-$")
        tsv = self.ctl.run("-o", "tsv", "users", expect=EXIT_OK).out
        self.assertEqual(tsv, "user\trole\tconnections_live\tconnections_total\tbytes_up\t"
                              "bytes_down\tmax_connections\tupload_limit\tdownload_limit\t"
                              "limit_refusals\tlifetime_connections_total\t"
                              "lifetime_bytes_up\tlifetime_bytes_down\n"
                              "alice\tuser\t0\t0\t0\t0\t0\t0\t0\t0\t-\t-\t-\n"
                              "root\tadmin\t0\t0\t0\t0\t0\t0\t0\t0\t-\t-\t-\n")
        self.assertEqual(self.users(), {"alice": "user", "root": "admin"})

    def test_user_metrics_and_connections_after_traffic(self):
        message = b"counted by the console\n"
        self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)
        deadline = time.monotonic() + 10
        while True:  # the tunnel's counters land when the server sees it close
            (alice,) = self.ctl.json("user-metrics", TEST_USER)
            if alice["record"]["connections_total"] == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(alice["record"]["user"], TEST_USER)
        self.assertEqual(alice["record"]["bytes_up"], len(message))
        self.assertEqual(alice["record"]["bytes_down"], len(message))
        (page,) = self.ctl.json("connections", TEST_USER, "--recent")
        self.assertEqual(page["record"]["total"], 1)
        (row,) = page["rows"]
        self.assertEqual((row["state"], row["user"], row["status"], row["bytes_up"]),
                         ("closed", TEST_USER, 0, len(message)))
        self.assertEqual(row["destination"], "127.0.0.1:%d" % self.echo.port)
        self.assertEqual(row["kind"], "connect")
        table = self.ctl.run("connections", expect=EXIT_OK).out
        self.assertRegex(table, r"(?m)^id .*\bkind\b")
        self.assertIn("127.0.0.1:%d" % self.echo.port, table)
        self.assertIn("%d B" % len(message), table)
        (empty,) = self.ctl.json("connections", "--live")
        self.assertEqual((empty["record"]["total"], empty["rows"]), (0, []))
        (paged,) = self.ctl.json("connections", "--all", "--offset", "1", "--limit", "5")
        self.assertEqual((paged["record"]["offset"], paged["rows"]), (1, []))

    def test_global_and_stats_flags(self):
        objects = self.ctl.json("-G")
        self.assertEqual([o["command"] for o in objects], ["metrics", "connections"])
        objects = self.ctl.json("-s", TEST_USER)
        self.assertEqual([o["command"] for o in objects], ["user-metrics", "connections"])
        self.assertEqual(objects[0]["record"]["user"], TEST_USER)
        own = self.ctl.json("-s", "")
        self.assertEqual(own[0]["record"]["user"], ADMIN_USER)


class LiveConnectionsTest(ConsoleTestCase):
    def live_rows(self, user=""):
        (page,) = self.ctl.json("connections", user, "--live")
        return page["rows"]

    def test_close_connection_and_close_user_connections(self):
        first, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        second, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with first, second:
            rows = self.live_rows(TEST_USER)
            self.assertEqual(len(rows), 2)
            self.assertTrue(all(r["state"] == "live" for r in rows))
            first_id = min(r["id"] for r in rows)
            self.assertEqual(self.ctl.run("close-connection", str(first_id), expect=EXIT_OK).out,
                             "closed connection %d\n" % first_id)
            self.assertTrue(harness.peer_closed(first))
            result = self.ctl.run("close-connection", str(first_id), expect=EXIT_REFUSED)
            self.assertIn("(not found)", result.err)
            self.assertEqual(self.ctl.run("close-user-connections", TEST_USER,
                                          expect=EXIT_OK).out, "closed: 1\n")
            self.assertTrue(harness.peer_closed(second))
        self.assertEqual(self.live_rows(), [])


class ChangesTest(ConsoleTestCase):
    def test_action_flags_run_in_order_in_one_session(self):
        result = self.ctl.run("-u", "bob:bob-pass", "-m", "bob", "-b", "2000", "-n",
                              expect=EXIT_OK)
        self.assertEqual(result.out, "added user bob (user)\nbob is now admin\n"
                                     "new connections get 2000-byte buffers\n"
                                     "SOCKS clients without authentication are now accepted "
                                     "(as anonymous)\n")
        # One session for all four: the server logged in one admin session for them.
        self.assertEqual(self.server.stderr_text().count("logged in as %s" % ADMIN_USER), 1)
        self.assertEqual(self.users()["bob"], "admin")
        self.assertIn("buffer_size: 2000", self.ctl.run("get-buffer-size", expect=EXIT_OK).out)
        result = self.ctl.run("-M", "bob", "-N", "-r", "bob", expect=EXIT_OK)
        self.assertEqual(result.out, "bob is now user\nSOCKS clients must now authenticate\n"
                                     "removed user bob\n")
        self.assertNotIn("bob", self.users())

    def test_first_failure_stops_the_run(self):
        result = self.ctl.run("-u", "bob:pw", "-r", "nobody", "-u", "carol:pw",
                              expect=EXIT_REFUSED)
        self.assertEqual(result.out, "added user bob (user)\n")
        self.assertEqual(result.err, "remove-user: nobody: no such user (not found)\n")
        self.assertEqual(set(self.users()), {"alice", "bob", "root"})

    def test_a_usage_error_changes_nothing(self):
        result = self.ctl.run("-u", "bob:pw", "-b", "lots", expect=EXIT_USAGE)
        self.assertIn("set-buffer-size: expected a whole number", result.err)
        self.assertNotIn("bob", self.users())

    def test_add_user_roles_and_passwords(self):
        self.ctl.run("add-user", "dave", "dave-pass", "admin", expect=EXIT_OK)
        self.assertEqual(self.users()["dave"], "admin")
        # The new admin can log in; then changes a password, which the next login needs.
        self.ctl.run("ping", user="dave", password="dave-pass", expect=EXIT_OK)
        self.assertEqual(self.ctl.run("set-password", "dave", "n3w-pass", expect=EXIT_OK).out,
                         "changed the password of dave\n")
        self.ctl.run("ping", user="dave", password="dave-pass", expect=EXIT_LOGIN_FAILED)
        self.ctl.run("ping", user="dave", password="n3w-pass", expect=EXIT_OK)
        self.assertEqual(self.ctl.run("set-password", "", "3rd-pass", user="dave",
                                      password="n3w-pass", expect=EXIT_OK).out,
                         "changed your password\n")
        self.ctl.run("whoami", user="dave", password="3rd-pass", expect=EXIT_OK)
        # SOCKS logins use the same password.
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port, "dave", "3rd-pass")
        sock.close()

    def test_no_password_and_no_terminal_is_a_usage_error(self):
        result = self.ctl.run("add-user", "erin", expect=EXIT_USAGE)
        self.assertIn("no terminal", result.err)
        self.assertNotIn("erin", self.users())
        result = self.ctl.run("ping", password=None, expect=EXIT_USAGE)
        self.assertIn("SOCKS5CTL_PASSWORD", result.err)

    def test_no_auth_flags_change_the_socks_methods(self):
        def method_for_no_auth():
            with harness.connect_proxy(self.server) as sock:
                sock.sendall(harness.greeting(harness.METHOD_NO_AUTH))
                return harness.recv_exact(sock, 2)[1]

        self.assertEqual(method_for_no_auth(), harness.METHOD_NONE_ACCEPTABLE)
        self.ctl.run("allow-no-auth", expect=EXIT_OK)
        self.assertEqual(method_for_no_auth(), harness.METHOD_NO_AUTH)
        (info,) = self.ctl.json("server-info")
        self.assertEqual(info["record"]["auth_mode"], "password_or_none")
        self.ctl.run("-N", expect=EXIT_OK)
        self.assertEqual(method_for_no_auth(), harness.METHOD_NONE_ACCEPTABLE)

    def test_refusals_exit_2(self):
        cases = [
            (("add-user", TEST_USER, "pw"), "(already exists)"),
            (("remove-user", "nobody"), "(not found)"),
            (("remove-user", ADMIN_USER), "(conflict)"),
            (("set-role", ADMIN_USER, "user"), "(conflict)"),
            (("set-buffer-size", "100"), "(bad request)"),
            (("user-metrics", "nobody"), "(not found)"),
            (("close-user-connections", "nobody"), "(not found)"),
            (("add-user", "anonymous", "pw"), "(bad request)"),
        ]
        for args, status in cases:
            result = self.ctl.run(*args, expect=EXIT_REFUSED)
            self.assertEqual(result.out, "")
            self.assertTrue(result.err.startswith(args[0] + ": "), result)
            self.assertTrue(result.err.endswith(status + "\n"), result)
            self.assertEqual(result.err.count("\n"), 1, result)


class StdinTest(ConsoleTestCase):
    def test_commands_from_stdin_run_in_order(self):
        result = self.ctl.run(stdin="# a comment\nping\n\nadd-user bob pw\nusers\n",
                              expect=EXIT_OK)
        lines = result.out.splitlines()
        self.assertTrue(lines[0].startswith("pong from"))
        self.assertEqual(lines[1], "added user bob (user)")
        self.assertIn("total: 3", lines)

    def test_stdin_stops_at_the_first_failure(self):
        result = self.ctl.run(stdin="remove-user nobody\nadd-user bob pw\n", expect=EXIT_REFUSED)
        self.assertNotIn("bob", self.users())
        result = self.ctl.run(stdin="add-user \"bob\nadd-user bob pw\n", expect=EXIT_USAGE)
        self.assertEqual(result.err, "unterminated quote\n")
        result = self.ctl.run(stdin="quit\nadd-user bob pw\n", expect=EXIT_OK)
        self.assertNotIn("bob", self.users())

    def test_empty_stdin_prints_own_metrics(self):
        """Logging in with no command shows the user's own usage first."""
        result = self.ctl.run(user=TEST_USER, password=TEST_PASSWORD, expect=EXIT_OK)
        self.assertRegex(result.out, r"^user: +alice\nrole: +user\n")
        objects = self.ctl.json(user=TEST_USER, password=TEST_PASSWORD, stdin="")
        self.assertEqual(objects[0]["command"], "whoami")

    def test_json_from_stdin_is_one_object_per_command(self):
        objects = self.ctl.json(stdin="ping\nget-buffer-size\nusers\n")
        self.assertEqual(objects[0], {"command": "ping"})
        self.assertEqual(objects[1], {"command": "get-buffer-size",
                                      "record": {"buffer_size": 16384}})
        self.assertEqual(objects[2]["command"], "users")


def table_rows(text):
    """The rows of the aligned table in text (after its header line starting with "id "), as
    dicts by column name; cells are at least two spaces apart and hold no two spaces."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("id ")]
    if len(starts) != 1:
        raise AssertionError("expected one table header in:\n%s" % text)
    header = lines[starts[0]].split()
    rows = []
    for line in lines[starts[0] + 1:]:
        cells = re.split(r" {2,}", line.strip())
        if len(cells) != len(header):
            raise AssertionError("row %r does not fit header %r" % (line, header))
        rows.append(dict(zip(header, cells)))
    return rows


def tsv_tables(text):
    """TSV output split at each header line ("key\tvalue" or "id\t..."): a list of tables,
    each a list of dicts by column name."""
    tables = []
    header = None
    for line in text.splitlines():
        fields = line.split("\t")
        if fields[0] in ("key", "id"):
            header = fields
            tables.append([])
            continue
        if header is None or len(fields) != len(header):
            raise AssertionError("line %r out of place in:\n%s" % (line, text))
        tables[-1].append(dict(zip(header, fields)))
    return tables


class OwnActivityTest(ConsoleTestCase):
    """-l USER with nothing to run (stdin /dev/null, empty, or only blanks and comments): the
    user's own usage, then their own live and recent connections, for a user and an admin
    alike; nobody else's connection, even for an admin."""

    ACCOUNTS = ((TEST_USER, TEST_PASSWORD, "user"), (ADMIN_USER, ADMIN_PASSWORD, "admin"))
    NOTHING_TO_RUN = (None, "", "# nothing to run\n\n")

    def setUp(self):
        super().setUp()
        self.live_tunnels = []
        # Each user's live and finished tunnel goes to a destination port of its own, so a row
        # tells whose connection it is and which one.
        self.ports = {}
        for user, password, _role in self.ACCOUNTS:
            live_echo, done_echo = harness.EchoServer().start(), harness.EchoServer().start()
            self.addCleanup(live_echo.stop)
            self.addCleanup(done_echo.stop)
            message = ("finished tunnel of %s\n" % user).encode()
            self.assertEqual(harness.echo_roundtrip(self.server, done_echo, message, user,
                                                    password), message)
            live, _ = harness.open_tunnel(self.server, "127.0.0.1", live_echo.port, user,
                                          password)
            self.live_tunnels.append(live)
            self.ports[user] = {"live": live_echo.port, "closed": done_echo.port}
        self.ids = {user: self.wait_both_listed(user) for user, _, _ in self.ACCOUNTS}

    def tearDown(self):
        # Closed before the server stops, which would otherwise wait its grace time for them.
        for live in self.live_tunnels:
            live.close()
        super().tearDown()

    def wait_both_listed(self, user):
        """{state: id} of user's two connections, seen by the admin once the finished one is in
        the history (it lands when the server sees the tunnel close)."""
        deadline = time.monotonic() + 10
        while True:
            (page,) = self.ctl.json("connections", user, "--all")
            found = {row["state"]: row["id"] for row in page["rows"]}
            if len(found) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(set(found), {"live", "closed"}, page)
        return found

    def expected_rows(self, user):
        """(id, state, user, destination) of user's own two connections."""
        return {(self.ids[user][state], state, user, "127.0.0.1:%d" % self.ports[user][state])
                for state in ("live", "closed")}

    def others_ports(self, user):
        return {"127.0.0.1:%d" % port for other, ports in self.ports.items() if other != user
                for port in ports.values()}

    def test_an_admin_listing_everybody_would_show_the_others(self):
        """The premise of the tests below: an admin's plain `connections` shows every user's
        tunnels, so a test that finds only the admin's own has checked something."""
        (page,) = self.ctl.json("connections", "--all")
        destinations = {row["destination"] for row in page["rows"]}
        self.assertTrue(self.others_ports(ADMIN_USER) <= destinations, page)

    def test_table_shows_own_usage_then_own_connections(self):
        for user, password, role in self.ACCOUNTS:
            for stdin in self.NOTHING_TO_RUN:
                with self.subTest(user=user, stdin=stdin):
                    result = self.ctl.run(user=user, password=password, stdin=stdin,
                                          expect=EXIT_OK)
                    self.assertEqual(result.err, "")
                    usage, page = result.out.split("\n\n", 1)
                    self.assertRegex(usage, r"^user: +%s\nrole: +%s\nconnections_live: +1\n"
                                            r"connections_total: +2\nbytes_up: +\d+\n"
                                            r"bytes_down: +\d+\nrule_denials: +0\n"
                                            r"datagrams_up: +0\ndatagrams_down: +0\n"
                                            r"max_connections: +0\n"
                                            r"upload_limit: +0\ndownload_limit: +0\n"
                                            r"limit_refusals: +0\nruntime_limits: +-\n"
                                            r"lifetime_connections_total: +-\n(.*\n)*"
                                            r"usage_reset_by: +-$"
                                            % (user, role))
                    self.assertRegex(page, r"^total: +2\noffset: +0\n\nid +state +started ")
                    rows = table_rows(page)
                    self.assertEqual({(int(r["id"]), r["state"], r["user"], r["destination"])
                                      for r in rows}, self.expected_rows(user), result)
                    for other in self.others_ports(user):
                        self.assertNotIn(other, result.out)

    def test_json_is_one_object_per_command(self):
        for user, password, role in self.ACCOUNTS:
            for stdin in self.NOTHING_TO_RUN:
                with self.subTest(user=user, stdin=stdin):
                    usage, page = self.ctl.json(user=user, password=password, stdin=stdin)
                    self.assertEqual(usage["command"], "whoami")
                    self.assertEqual(usage["record"]["user"], user)
                    self.assertEqual(usage["record"]["role"], role)
                    self.assertEqual((usage["record"]["connections_live"],
                                      usage["record"]["connections_total"]), (1, 2))
                    self.assertEqual(page["command"], "connections")
                    self.assertEqual(page["record"], {"total": 2, "offset": 0})
                    self.assertEqual({(r["id"], r["state"], r["user"], r["destination"])
                                      for r in page["rows"]}, self.expected_rows(user))

    def test_tsv_is_the_two_commands_tables(self):
        for user, password, role in self.ACCOUNTS:
            with self.subTest(user=user):
                result = self.ctl.run("-o", "tsv", user=user, password=password, stdin=None,
                                      expect=EXIT_OK)
                usage, rows = tsv_tables(result.out)
                self.assertEqual({r["key"]: r["value"] for r in usage}["user"], user)
                self.assertEqual({r["key"]: r["value"] for r in usage}["role"], role)
                self.assertEqual({(int(r["id"]), r["state"], r["user"], r["destination"])
                                  for r in rows}, self.expected_rows(user))

    def test_a_command_on_stdin_runs_alone(self):
        result = self.ctl.run(user=TEST_USER, password=TEST_PASSWORD, stdin="ping\n",
                              expect=EXIT_OK)
        self.assertRegex(result.out, r"^pong from [^\n]*\n$")

    def test_a_failed_login_shows_nothing(self):
        result = self.ctl.run(user="nobody", password="x", stdin=None, expect=EXIT_LOGIN_FAILED)
        self.assertEqual(result.out, "")


class RolesAndExitCodesTest(ConsoleTestCase):
    def test_regular_user(self):
        result = self.ctl.run("users", user=TEST_USER, password=TEST_PASSWORD,
                              expect=EXIT_FORBIDDEN)
        self.assertEqual(result.err, "users: admin role required (forbidden)\n")
        self.ctl.run("user-metrics", ADMIN_USER, user=TEST_USER, password=TEST_PASSWORD,
                     expect=EXIT_FORBIDDEN)
        self.ctl.run("-n", user=TEST_USER, password=TEST_PASSWORD, expect=EXIT_FORBIDDEN)
        objects = self.ctl.json("-s", "", user=TEST_USER, password=TEST_PASSWORD)
        self.assertEqual(objects[0]["record"]["user"], TEST_USER)
        self.ctl.run("ping", user=TEST_USER, password=TEST_PASSWORD, expect=EXIT_OK)

    def test_usage_errors_exit_64(self):
        for args in (("-x",), ("-p", "0"), ("-o", "yaml"), ("frobnicate",), ("users", "extra"),
                     ("set-role", "bob", "king"), ("connections", "--sideways")):
            result = self.ctl.run(*args, expect=EXIT_USAGE)
            self.assertEqual(result.out, "")
        result = self.ctl.run("ping", user=None, expect=EXIT_USAGE)
        self.assertIn("-l USER", result.err)
        # Nothing above reached the server: usage errors are found before logging in.
        self.assertNotIn("logged in", self.server.stderr_text())

    def test_wrong_password_exits_77(self):
        result = self.ctl.run("ping", password="wrong", expect=EXIT_LOGIN_FAILED)
        self.assertIn("wrong user name or password", result.err)
        self.ctl.run("ping", user="nobody", password="x", expect=EXIT_LOGIN_FAILED)

    def test_no_server_exits_69(self):
        result = Console(self, closed_port()).run("ping", expect=EXIT_UNAVAILABLE)
        self.assertIn("cannot connect", result.err)
        self.assertIn("Connection refused", result.err)


class BusyServerTest(ConsoleTestCase):
    SERVER_ARGS = ConsoleTestCase.SERVER_ARGS + ("--admin-sessions", "1")

    def test_session_limit_exits_69(self):
        sock, reply = raw_admin_login(self.admin_port)
        with sock:
            self.assertEqual(reply, b"\x02\x00\x00\x01")
            result = self.ctl.run("ping", expect=EXIT_UNAVAILABLE)
            self.assertIn("try again later", result.err)
        deadline = time.monotonic() + 10
        while self.ctl.run("ping").code != EXIT_OK:
            self.assertLess(time.monotonic(), deadline, "the freed session slot never came back")
            time.sleep(0.2)


class RestartTest(unittest.TestCase):
    """The session breaks when the server restarts; the next command logs in again."""

    def test_next_command_after_a_restart_logs_in_again(self):
        port = closed_port()
        first = harness.Socks5dProcess("-P", str(port), "-f", "off").start()
        self.addCleanup(first.kill)
        first.wait_admin_listener()
        console = Console(self, port)
        child = subprocess.Popen(console.argv([], ADMIN_USER), stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=console.env(ADMIN_PASSWORD), start_new_session=True)
        self.addCleanup(lambda: child.poll() is None and child.kill())
        child.stdin.write("ping\n")
        child.stdin.flush()
        self.assertTrue(child.stdout.readline().startswith("pong from"))
        harness.check_stopped_cleanly(self, first)

        second = harness.Socks5dProcess("-P", str(port), "-f", "off").start()
        self.addCleanup(second.kill)
        self.assertEqual(second.wait_admin_listener()[0][1], port)
        out, err = child.communicate("ping\nwhoami\n", timeout=RUN_TIMEOUT)
        self.assertEqual(child.returncode, EXIT_OK, err)
        self.assertTrue(out.startswith("pong from"), out)
        self.assertIn("user:", out)
        self.assertEqual(second.stderr_text().count("logged in as %s" % ADMIN_USER), 1)
        harness.check_stopped_cleanly(self, second)


class FakeAdminServer:
    """Answers the login with `login_reply`, then every request with `response` bytes: for
    the exit codes only a broken or failing server can cause."""

    def __init__(self, login_reply=b"\x02\x00\x00\x01", response=b""):
        self.login_reply = login_reply
        self.response = response
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.listener.settimeout(RUN_TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve_one, daemon=True)
        self.thread.start()

    def serve_one(self):
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(harness.SOCKET_TIMEOUT)
            try:
                _version, _reserved, user_length = harness.recv_exact(conn, 3)
                harness.recv_exact(conn, user_length)
                harness.recv_exact(conn, harness.recv_exact(conn, 1)[0])
                conn.sendall(self.login_reply)
                if self.login_reply[2] != 0:
                    return
                _v, _r, _command, body_length = struct.unpack("!BBBI", harness.recv_exact(conn, 7))
                harness.recv_exact(conn, body_length)
                conn.sendall(self.response)
                conn.recv(1)  # wait for the client to close
            except (OSError, EOFError):
                pass

    def close(self):
        self.listener.close()
        self.thread.join(timeout=5)


class MisbehavingServerTest(unittest.TestCase):
    def run_against(self, fake, *args):
        self.addCleanup(fake.close)
        return Console(self, fake.port).run(*args)

    def test_status_0x01_exits_1(self):
        result = self.run_against(FakeAdminServer(response=b"\x02\x00\x01\x00\x00\x00\x05oops\n"),
                                  "users")
        self.assertEqual(result.code, EXIT_SERVER_ERROR, result)
        self.assertEqual(result.err, "users: oops (server error)\n")

    def test_a_reply_that_is_not_protocol_v2_exits_1(self):
        result = self.run_against(FakeAdminServer(response=b"\x03\x00\x00\x00\x00\x00\x00"),
                                  "ping")
        self.assertEqual(result.code, EXIT_SERVER_ERROR, result)
        self.assertIn("not admin protocol v2: unsupported protocol version", result.err)

    def test_a_login_reply_with_another_version_exits_1(self):
        result = self.run_against(FakeAdminServer(login_reply=b"\x02\x00\x07\x00"), "ping")
        self.assertEqual(result.code, EXIT_SERVER_ERROR, result)
        self.assertIn("does not speak admin protocol v2", result.err)

    def test_unknown_status_is_a_failure_with_its_message(self):
        result = self.run_against(FakeAdminServer(response=b"\x02\x00\x42\x00\x00\x00\x04new\n"),
                                  "ping")
        self.assertEqual(result.code, EXIT_SERVER_ERROR, result)
        self.assertEqual(result.err, "ping: new (unknown status)\n")

    def test_unsupported_command_is_refused(self):
        result = self.run_against(
            FakeAdminServer(response=b"\x02\x00\x08\x00\x00\x00\x19unsupported command 0x0f\n"),
            "close-user-connections", "bob")
        self.assertEqual(result.code, EXIT_REFUSED, result)


SCREEN_TIMEOUT = 20.0


class PromptTest(ConsoleTestCase):
    """The readline prompt under a private tmux server, read back with capture-pane."""

    def setUp(self):
        super().setUp()
        harness.require_tool("tmux")
        self.tmux_dir = tempfile.mkdtemp(prefix="socks5ctl-tmux-")
        self.addCleanup(lambda: shutil.rmtree(self.tmux_dir, ignore_errors=True))
        self.tmux = ["tmux", "-S", os.path.join(self.tmux_dir, "socket"), "-f", "/dev/null"]
        self.addCleanup(lambda: subprocess.run(self.tmux + ["kill-server"],
                                               capture_output=True, timeout=10))

    def start_prompt(self, session):
        self.session = session
        command = " ".join(self.ctl.argv([], ADMIN_USER)) + "; echo EXIT=$?; sleep 60"
        subprocess.run(self.tmux + ["new-session", "-d", "-x", "120", "-y", "40", "-s", session,
                                    command], check=True, timeout=10,
                       env=dict(self.ctl.env(ADMIN_PASSWORD), TERM="xterm"))

    def keys(self, *keys):
        subprocess.run(self.tmux + ["send-keys", "-t", self.session] + list(keys), check=True,
                       timeout=10)

    def screen(self):
        return subprocess.run(self.tmux + ["capture-pane", "-p", "-t", self.session, "-S", "-100"],
                              capture_output=True, text=True, timeout=10).stdout

    def wait_screen(self, pattern):
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            text = self.screen()
            if re.search(pattern, text, re.MULTILINE):
                return text
            if time.monotonic() > deadline:
                self.fail("no %r on the screen within %.0f s:\n%s" % (pattern, SCREEN_TIMEOUT,
                                                                      text))
            time.sleep(0.1)

    def test_completion_history_and_reconnect(self):
        prompt = re.escape("%s@127.0.0.1:%d" % (ADMIN_USER, self.admin_port))
        self.start_prompt("first")
        self.wait_screen(prompt + "#\\s*$")
        self.keys("add-user bob pw-of-bob", "Enter")
        self.wait_screen("^added user bob \\(user\\)$")
        # Tab completes the command's name, then the user's name (asked from the server).
        self.keys("remove-u", "Tab")
        self.wait_screen(prompt + "# remove-user\\s*$")
        self.keys("b", "Tab")
        self.wait_screen(prompt + "# remove-user bob\\s*$")
        self.keys("Enter")
        self.wait_screen("^removed user bob$")
        self.keys("frobnicate", "Enter")
        self.wait_screen("^frobnicate: unknown command \\(try help\\)$")

        history = os.path.join(self.ctl.home, ".local", "state", "socks5ctl", "history")
        with open(history, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        self.assertIn("remove-user bob", lines)
        self.assertFalse(any("pw-of-bob" in line for line in lines), lines)

        # The server goes away: the prompt says so at once; after a restart the next
        # command logs in again.
        harness.check_stopped_cleanly(self, self.server)
        self.wait_screen("the server closed the session; the next command logs in again")
        self.wait_screen(prompt + " \\(disconnected\\)>\\s*$")
        self.server = harness.Socks5dProcess("-P", str(self.admin_port)).start()
        self.addCleanup(self.server.kill)
        self.server.wait_admin_listener()
        self.keys("whoami", "Enter")
        self.wait_screen("^\\(logged in again to 127.0.0.1:%d\\)$" % self.admin_port)
        self.wait_screen(prompt + "#\\s*$")
        # History is read back by the next prompt: Up shows the last line.
        self.keys("quit", "Enter")
        self.wait_screen("^EXIT=0$")
        self.start_prompt("second")
        self.wait_screen(prompt + "#\\s*$")
        self.keys("Up", "Up")
        self.wait_screen(prompt + "# whoami$")
        self.keys("C-u", "quit", "Enter")
        self.wait_screen("^EXIT=0$")


if __name__ == "__main__":
    unittest.main()
