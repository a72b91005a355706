#!/usr/bin/env python3
"""Accounting in SQLite end to end (issue #19): lifetime usage per user and globally survives a
SIGTERM and a restart to the byte; a kill -9 loses at most the last batch interval; the history
command's filters (user, destination prefix or CIDR, since/until, status, keyset paging) and who
may use them; reset-usage; retention by rows and by age; a database that is refused at start
(newer schema, garbage) and --accounting-optional; a full disk at run time (a private tmpfs)
with automatic recovery; and socks5ctl's history-backed `connections`.

Every server here keeps its users file and database in a directory the test owns, so a restart
finds them. A finished connection reaches the database within one batch interval (1 s): the
tests wait for it with a bound, never assume it."""

import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import (ADMIN_STATUS_BAD_REQUEST, ADMIN_STATUS_FORBIDDEN,  # noqa: E402
                     ADMIN_STATUS_NOT_FOUND, ADMIN_STATUS_OK, ADMIN_STATUS_UNAVAILABLE,
                     TEST_PASSWORD, TEST_USER, AdminClient, parse_admin_record,
                     parse_admin_table, recv_exact)
from test_console_batch import Console  # noqa: E402 (a class, not its tests)

ADMIN_CMD_SERVER_INFO = 0x02
ADMIN_CMD_USER_METRICS = 0x04
ADMIN_CMD_USERS = 0x06
ADMIN_CMD_ADD_USER = 0x07
ADMIN_CMD_REMOVE_USER = 0x08
ROLE_USER = 0x00
REP_NOT_ALLOWED = 0x02
REP_CONNECTION_REFUSED = 0x05
OTHER_USER, OTHER_PASSWORD = "bob", "bob-pass-1"
USERS = ((TEST_USER, TEST_PASSWORD), (OTHER_USER, OTHER_PASSWORD))
BATCH_WAIT = 10.0  # bound for a finished connection to be stored (one batch is 1 s)
DENIED_DESTINATION = "169.254.1.2"  # link-local: refused by the safe defaults, never dialled
TIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
DAY_MS = 24 * 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


def time_ms(text):
    """A protocol `time` (2026-11-25T09:20:01.123Z) as milliseconds since the epoch."""
    moment = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return int(moment.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def wait_until(predicate, what, timeout=BATCH_WAIT, interval=0.1):
    """predicate()'s first true value; fails naming what (and the last value) after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s (last: %r)"
                                 % (timeout, what, value))
        time.sleep(interval)


def at_most(value, bound):
    """True when value is a number no larger than bound (not '-' or missing)."""
    return isinstance(value, int) and value <= bound


# ---- admin requests --------------------------------------------------------------------------

def record_of(admin, command, body=b"", what=""):
    status, answer = admin.request(command, body)
    if status != ADMIN_STATUS_OK:
        raise AssertionError("%s: status 0x%02x %r" % (what or "command 0x%02x" % command,
                                                       status, answer))
    return parse_admin_record(answer)


def server_info(admin):
    return record_of(admin, ADMIN_CMD_SERVER_INFO, what="server-info")


def user_metrics(admin, user):
    return record_of(admin, ADMIN_CMD_USER_METRICS, harness.admin_str8(user),
                     "user-metrics %s" % user)


def users_table(admin):
    status, body = admin.request(ADMIN_CMD_USERS)
    if status != ADMIN_STATUS_OK:
        raise AssertionError("users: status 0x%02x %r" % (status, body))
    return {row["user"]: row for row in parse_admin_table(body)[1]}


def history(admin, **filters):
    """(record part, rows) of a history request that must succeed."""
    status, body = admin.history(**filters)
    if status != ADMIN_STATUS_OK:
        raise AssertionError("history %r: status 0x%02x %r (0x08 = the server has no history "
                             "command yet, 0x0B = accounting off or failing)"
                             % (filters, status, body))
    return parse_admin_table(body)


def history_all(admin, page=0, **filters):
    """Every matching row, newest first, paging with `before` while `more` says yes."""
    rows, before = [], 0
    for _ in range(10000):
        record, chunk = history(admin, before=before, limit=page, **filters)
        rows += chunk
        if record.get("more") != "yes" or not chunk:
            return rows
        before = chunk[-1]["history_id"]
    raise AssertionError("history kept answering more=yes")


def history_status(admin, **filters):
    return admin.history(**filters)[0]


def stored_clients(admin, **filters):
    return [row["client"] for row in history_all(admin, **filters)]


def wait_stored(admin, clients, what="the connections in the history", **filters):
    """Waits until every client address in clients has a row; returns all rows."""
    wanted = set(clients)

    def stored():
        rows = history_all(admin, **filters)
        return rows if wanted <= {row["client"] for row in rows} else None
    return wait_until(stored, what)


# ---- traffic ---------------------------------------------------------------------------------

def move_bytes(server, port, size, user=TEST_USER, password=TEST_PASSWORD, host="127.0.0.1"):
    """A tunnel to the echo server that sends size bytes and reads them back, then closes;
    returns its client address as the server logs it, once the server has logged its end."""
    sock, _ = harness.open_tunnel(server, host, port, user, password)
    with sock:
        name = harness.client_name(sock)
        block = b"a" * 65536
        left = size
        while left:
            chunk = block[:min(left, len(block))]
            sock.sendall(chunk)
            recv_exact(sock, len(chunk))
            left -= len(chunk)
    entry = server.wait_access_line(lambda e: e["client"] == name)
    if (entry["up"], entry["down"]) != (size, size):
        raise AssertionError("access line of a %d-byte echo: %s" % (size, entry["line"]))
    return name


def failed_request(server, host, port, expected_rep, user=TEST_USER, password=TEST_PASSWORD):
    """A CONNECT answered expected_rep; returns its client address once logged."""
    reply, sock = harness.request_reply(server, harness.request(host, port), user, password)
    with sock:
        name = harness.client_name(sock)
        if reply[1] != expected_rep:
            raise AssertionError("CONNECT %s:%d: expected REP %d, got %d"
                                 % (host, port, expected_rep, reply[1]))
    server.wait_access_line(lambda e: e["client"] == name)
    return name


# ---- the server, its directory, and its database ---------------------------------------------

class AccountingTestCase(harness.EchoTestCase):
    """A directory holding the users file and (by default) the database, kept across the
    servers a test starts in it."""

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-accounting-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.users_file = os.path.join(self.directory, "users")
        self.database = os.path.join(self.directory, "accounting.db")
        self.started_before = False

    def make_server(self, *args, database=True):
        """A Socks5dProcess on this directory (not started). database: True = the explicit
        path self.database, None = no --accounting-db (the default place), False = off."""
        extra = ["-f", self.users_file]
        if database is True:
            extra += ["--accounting-db", self.database]
        elif database is False:
            extra += ["--accounting-db", "off"]
        users = () if self.started_before else USERS
        self.started_before = True
        server = harness.Socks5dProcess(*extra, *args, users=users)
        self.addCleanup(server.kill)
        return server

    def start(self, *args, database=True):
        return self.make_server(*args, database=database).start()

    def stop(self, server):
        harness.check_stopped_cleanly(self, server)

    def kill9(self, server):
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=harness.STOP_TIMEOUT)

    def connection_table(self, connection):
        """The table of stored connections (the one with started_ms and ended_ms columns)."""
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'"):
            columns = {row[1] for row in connection.execute("PRAGMA table_info(%s)" % name)}
            if {"started_ms", "ended_ms"} <= columns:
                return name
        schema = "\n".join(sql for (sql,) in connection.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        self.fail("no table with started_ms and ended_ms columns in %s; schema:\n%s"
                  % (self.database, schema))

    def open_database(self):
        """A connection to the database file (closed on leaving the with block)."""
        return contextlib.closing(sqlite3.connect(self.database, timeout=10))

    def integrity(self):
        with self.open_database() as connection:
            return connection.execute("PRAGMA integrity_check").fetchone()[0]


# ---- lifetime usage across restarts -----------------------------------------------------------

class LifetimeTest(AccountingTestCase):

    def test_lifetime_usage_survives_sigterm_and_restart_to_the_byte(self):
        server = self.start(database=None)  # the default place: beside the users file
        sizes = (100000, 250000, 7)
        for size in sizes:
            move_bytes(server, self.echo.port, size)
        move_bytes(server, self.echo.port, 4321, OTHER_USER, OTHER_PASSWORD)
        failed_request(server, "127.0.0.1", harness.closed_port(), REP_CONNECTION_REFUSED)
        with AdminClient(server) as admin:
            info = server_info(admin)
            self.assertEqual(info.get("accounting"), "ok", info)
            with self.subTest("server-info accounting_db"):
                self.assertEqual(info.get("accounting_db"), self.database,
                                 "server-info: the database in the default place beside the "
                                 "users file; got %r" % info)
            before = admin.metrics()
            alice_before = user_metrics(admin, TEST_USER)
        self.assertEqual((alice_before["bytes_up"], alice_before["bytes_down"]),
                         (sum(sizes), sum(sizes)))
        self.assertGreaterEqual(alice_before["connections_total"], len(sizes))
        self.stop(server)
        self.assertTrue(os.path.exists(self.database), "no database at the default place %s"
                        % self.database)

        restarted = self.start(database=None)
        with AdminClient(restarted) as admin:
            alice = user_metrics(admin, TEST_USER)
            bob = user_metrics(admin, OTHER_USER)
            metrics = admin.metrics()
            users = users_table(admin)
        self.assertEqual((alice["connections_total"], alice["bytes_up"], alice["bytes_down"]),
                         (0, 0, 0), "since-start figures after the restart: %r" % alice)
        self.assertEqual((alice.get("lifetime_connections_total"), alice.get("lifetime_bytes_up"),
                          alice.get("lifetime_bytes_down")),
                         (alice_before["connections_total"], sum(sizes), sum(sizes)),
                         "alice's lifetime after SIGTERM and restart: %r" % alice)
        self.assertEqual(alice.get("lifetime_failures"), "5=1", alice)
        for key in ("first_seen", "last_seen"):
            self.assertRegex(str(alice.get(key)), TIME_RE, "%s: %r" % (key, alice))
        self.assertLessEqual(time_ms(alice["first_seen"]), time_ms(alice["last_seen"]))
        with self.subTest("usage_reset before any reset-usage"):
            self.assertEqual((alice.get("usage_reset"), alice.get("usage_reset_by")), ("-", "-"),
                             "nobody ran reset-usage: usage_reset and usage_reset_by are '-' "
                             "(the database's creation is the metrics' lifetime_since, not a "
                             "reset)")
        self.assertEqual((bob.get("lifetime_connections_total"), bob.get("lifetime_bytes_up"),
                          bob.get("lifetime_bytes_down"), bob.get("lifetime_failures")),
                         (1, 4321, 4321, ""), "bob's lifetime: %r" % bob)
        for name in ("connections_total", "bytes_up", "bytes_down", "connection_refused"):
            self.assertEqual(metrics.get("lifetime_" + name), before[name],
                             "global lifetime_%s after the restart = the first run's %s"
                             % (name, name))
        self.assertEqual((metrics["bytes_up"], metrics["connections_total"]), (0, 0))
        self.assertRegex(str(metrics.get("lifetime_since")), TIME_RE)
        self.assertEqual((users[TEST_USER].get("lifetime_connections_total"),
                          users[TEST_USER].get("lifetime_bytes_up"),
                          users[TEST_USER].get("lifetime_bytes_down")),
                         (alice_before["connections_total"], sum(sizes), sum(sizes)),
                         "users table: %r" % users[TEST_USER])

        # A second run adds to the first.
        move_bytes(restarted, self.echo.port, 1000)
        with AdminClient(restarted) as admin:
            wait_until(lambda: user_metrics(admin, TEST_USER).get("lifetime_bytes_up")
                       == sum(sizes) + 1000, "alice's lifetime to count the second run")
        self.stop(restarted)

    def test_a_user_removed_and_added_again_keeps_counting(self):
        """Lifetime figures follow the name: bob removed and added again (his since-start
        counters start from 0 in a new table entry) adds to what he moved before, and a restart
        keeps the sum."""
        server = self.start()
        first = move_bytes(server, self.echo.port, 5000, OTHER_USER, OTHER_PASSWORD)
        with AdminClient(server) as admin:
            wait_stored(admin, [first], user=OTHER_USER)  # a batch has sampled bob's 5000
            self.assertEqual(admin.request(ADMIN_CMD_REMOVE_USER,
                                           harness.admin_str8(OTHER_USER))[0], ADMIN_STATUS_OK)
            self.assertEqual(admin.request(ADMIN_CMD_ADD_USER,
                                           harness.admin_str8(OTHER_USER)
                                           + harness.admin_str8(OTHER_PASSWORD)
                                           + bytes([ROLE_USER]))[0], ADMIN_STATUS_OK)
            second = move_bytes(server, self.echo.port, 300, OTHER_USER, OTHER_PASSWORD)
            wait_stored(admin, [second], user=OTHER_USER)
            wait_until(lambda: user_metrics(admin, OTHER_USER).get("lifetime_bytes_up") == 5300,
                       "bob's lifetime_bytes_up to be 5000 + 300")
        self.stop(server)
        restarted = self.start()
        with AdminClient(restarted) as admin:
            self.assertEqual(user_metrics(admin, OTHER_USER).get("lifetime_bytes_up"), 5300)
        self.stop(restarted)

    def test_sigterm_right_after_the_last_close_loses_nothing(self):
        server = self.start()
        clients = [move_bytes(server, self.echo.port, 100 + i) for i in range(20)]
        self.stop(server)  # at once: the last ones are still in the writer's queue
        restarted = self.start()
        with AdminClient(restarted) as admin:
            rows = history_all(admin, user=TEST_USER)
        by_client = {row["client"]: row for row in rows}
        missing = [c for c in clients if c not in by_client]
        self.assertEqual(missing, [], "connections missing from the history after SIGTERM "
                                      "(%d rows stored)" % len(rows))
        for i, client in enumerate(clients):
            row = by_client[client]
            self.assertEqual((row["bytes_up"], row["bytes_down"], row["status"], row["state"]),
                             (100 + i, 100 + i, 0, "closed"), row)
        self.stop(restarted)
        self.assertEqual(self.integrity(), "ok")

    def test_kill_9_loses_at_most_the_last_batch_interval(self):
        server = self.start()
        clients = [move_bytes(server, self.echo.port, 10) for _ in range(8)]
        time.sleep(2.0)  # more than one batch interval (1 s) since the last close
        self.kill9(server)
        self.assertEqual(self.integrity(), "ok", "PRAGMA integrity_check after kill -9")
        restarted = self.start()
        with AdminClient(restarted) as admin:
            stored = set(stored_clients(admin, user=TEST_USER))
            alice = user_metrics(admin, TEST_USER)
        missing = [c for c in clients if c not in stored]
        self.assertEqual(missing, [], "connections finished 2 s before kill -9 are missing")
        self.assertEqual(alice.get("lifetime_connections_total"), len(clients),
                         "lifetime connections after kill -9: %r" % alice)
        self.stop(restarted)

    def test_kill_9_under_load_loses_only_the_last_batch_interval(self):
        server = self.start()
        stopping = threading.Event()

        def load():
            while not stopping.is_set():
                try:
                    sock, _ = harness.open_tunnel(server, "127.0.0.1", self.echo.port)
                    with sock:
                        sock.sendall(b"x")
                        recv_exact(sock, 1)
                except (OSError, EOFError, AssertionError):
                    return  # the server is gone
        threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(4.0)
        killed_at = now_ms()
        self.kill9(server)
        stopping.set()
        for thread in threads:
            thread.join(timeout=harness.SOCKET_TIMEOUT)
        finished = [(time_ms(e["time"]), e["client"]) for e in server.access_lines()
                    if "malformed" not in e]
        # One batch interval (1 s), and as long again for the commit in flight: the debug
        # build's SQLite under AddressSanitizer, on a loaded disk, takes that at a checkpoint.
        old_enough = [client for at, client in finished if at < killed_at - 2500]
        self.assertGreater(len(old_enough), 10, "too little load to judge: %d connections "
                           "finished over 2.5 s before the kill" % len(old_enough))
        self.assertEqual(self.integrity(), "ok", "PRAGMA integrity_check after kill -9")
        restarted = self.start()
        with AdminClient(restarted) as admin:
            stored = set(stored_clients(admin, user=TEST_USER))
        missing = [client for client in old_enough if client not in stored]
        self.assertEqual(missing, [], "of %d connections that finished over 2.5 s before kill "
                         "-9, these are not in the history (%d of %d finished in all stored)"
                         % (len(old_enough), len(stored), len(finished)))
        self.stop(restarted)


# ---- history: filters, paging, access -------------------------------------------------------

class HistoryTest(AccountingTestCase):

    def test_filters_paging_and_access(self):
        server = self.start()
        port = self.echo.port
        early = [move_bytes(server, port, 11), move_bytes(server, port, 12)]
        time.sleep(0.05)
        middle = now_ms()
        time.sleep(0.05)
        late = [move_bytes(server, port, 13),
                move_bytes(server, port, 14, host="localhost")]
        refused = failed_request(server, "127.0.0.1", harness.closed_port(),
                                 REP_CONNECTION_REFUSED)
        denied = failed_request(server, DENIED_DESTINATION, 80, REP_NOT_ALLOWED)
        bob = [move_bytes(server, port, 15, OTHER_USER, OTHER_PASSWORD),
               move_bytes(server, port, 16, OTHER_USER, OTHER_PASSWORD)]
        alice_clients = early + late + [refused, denied]

        with AdminClient(server) as admin:
            everything = wait_stored(admin, alice_clients + bob)
            self.assertEqual(len(everything), 8, everything)
            wait_until(lambda: server_info(admin).get("history_rows") == 8,
                       "server-info history_rows to be 8")
            ids = [row["history_id"] for row in everything]
            self.assertEqual(ids, sorted(ids, reverse=True), "rows newest first")
            for row in everything:
                self.assertEqual((row["state"], row["kind"]), ("closed", "connect"), row)
                self.assertRegex(row["ended"], TIME_RE)
                self.assertLessEqual(time_ms(row["started"]), time_ms(row["ended"]), row)

            def clients(**filters):
                return sorted(stored_clients(admin, **filters))

            # user
            self.assertEqual(clients(user=TEST_USER), sorted(alice_clients))
            self.assertEqual(clients(user=OTHER_USER), sorted(bob))
            self.assertEqual(clients(user="anonymous"), [])
            # destination: a prefix of the text sent, a name, a CIDR on the connected address
            self.assertEqual(clients(destination="localhost"), [late[1]])
            self.assertEqual(clients(destination="127.0.0.1:%d" % port),
                             sorted(early + late[:1] + bob))
            self.assertEqual(clients(destination="127.0.0.1:"),
                             sorted(early + late[:1] + bob + [refused]))
            self.assertEqual(clients(destination=DENIED_DESTINATION + ":"), [denied])
            in_loopback = sorted(row["client"] for row in everything
                                 if row["destination_address"].startswith("127."))
            self.assertGreaterEqual(len(in_loopback), 5, everything)
            self.assertEqual(clients(destination="127.0.0.0/8"), in_loopback)
            self.assertEqual(clients(destination="10.0.0.0/8"), [],
                             "no connection reached 10.0.0.0/8 (the denied one was never "
                             "connected: a CIDR matches the connected address)")
            # status
            self.assertEqual(clients(status="5"), [refused])
            self.assertEqual(clients(status="2"), [denied])
            self.assertEqual(clients(status="failed"), sorted([refused, denied]))
            self.assertEqual(clients(status="0"), sorted(early + late + bob))
            # time: connections that started in [since, until)
            self.assertEqual(clients(until=middle), sorted(early))
            self.assertEqual(clients(since=middle), sorted(late + [refused, denied] + bob))
            self.assertEqual(clients(since=middle, until=now_ms() + 60000, user=OTHER_USER),
                             sorted(bob))
            self.assertEqual(clients(since=now_ms() + 60000), [])
            # combined
            self.assertEqual(clients(user=TEST_USER, status="failed", destination="127.0.0.1:"),
                             [refused])

            # paging with before: three pages of 3, 3, 2
            record, first = history(admin, limit=3)
            self.assertEqual((len(first), record.get("more")), (3, "yes"), record)
            record, second = history(admin, limit=3, before=first[-1]["history_id"])
            self.assertEqual((len(second), record.get("more")), (3, "yes"), record)
            record, third = history(admin, limit=3, before=second[-1]["history_id"])
            self.assertEqual((len(third), record.get("more")), (2, "no"), record)
            self.assertEqual([r["history_id"] for r in first + second + third], ids)
            record, exact = history(admin, limit=8)
            self.assertEqual((len(exact), record.get("more")), (8, "no"), record)

            # bad arguments
            for bad in ({"destination": "10.0.0.0/33"}, {"destination": "::1/129"},
                        {"status": "fail"}, {"status": "256"}):
                self.assertEqual(history_status(admin, **bad), ADMIN_STATUS_BAD_REQUEST,
                                 "history %r must be a bad request" % bad)
            status, body = admin.request(harness.ADMIN_CMD_HISTORY,
                                         harness.history_body()[:-1])
            self.assertEqual(status, ADMIN_STATUS_BAD_REQUEST, "a short history body: %r" % body)

            # the failures are in the lifetime figures too
            wait_until(lambda: user_metrics(admin, TEST_USER).get("lifetime_failures")
                       == "2=1,5=1", "alice's lifetime_failures to be 2=1,5=1")

        # a regular user sees only their own
        with AdminClient(server, TEST_USER, TEST_PASSWORD) as own:
            self.assertEqual(sorted(r["client"] for r in history_all(own)), sorted(alice_clients))
            self.assertEqual(sorted(r["client"] for r in history_all(own, user=TEST_USER)),
                             sorted(alice_clients))
            self.assertEqual(history_status(own, user=OTHER_USER), ADMIN_STATUS_FORBIDDEN)
        self.stop(server)

    def test_anonymous_is_the_no_auth_clients(self):
        server = self.start("--no-auth")
        anonymous = move_bytes(server, self.echo.port, 9, user=None)
        named = move_bytes(server, self.echo.port, 9)
        with AdminClient(server) as admin:
            wait_stored(admin, [anonymous, named])
            record, rows = history(admin, user="anonymous")
            self.assertEqual([(row["client"], row["user"]) for row in rows],
                             [(anonymous, "anonymous")], rows)
            self.assertEqual(stored_clients(admin, user=TEST_USER), [named])
            wait_until(lambda: user_metrics(admin, "anonymous").get("lifetime_bytes_up") == 9,
                       "anonymous's lifetime_bytes_up to be 9")
        self.stop(server)

    def test_accounting_off_answers_unavailable(self):
        server = self.start(database=False)
        move_bytes(server, self.echo.port, 5)
        with AdminClient(server) as admin:
            info = server_info(admin)
            self.assertEqual((info.get("accounting"), info.get("accounting_db"),
                              info.get("history_rows")), ("off", "-", "-"), info)
            status, body = admin.history()
            self.assertEqual(status, ADMIN_STATUS_UNAVAILABLE,
                             "history with --accounting-db off: %r" % body)
            self.assertEqual(admin.reset_usage(TEST_USER)[0], ADMIN_STATUS_UNAVAILABLE)
            alice = user_metrics(admin, TEST_USER)
            self.assertEqual((alice.get("lifetime_bytes_up"), alice.get("usage_reset")),
                             ("-", "-"), alice)
            self.assertEqual(admin.metrics().get("lifetime_bytes_up"), "-")
            self.assertEqual(users_table(admin)[TEST_USER].get("lifetime_bytes_up"), "-")
        self.assertFalse(os.path.exists(self.database))
        self.stop(server)


# ---- reset-usage ------------------------------------------------------------------------------

class ResetUsageTest(AccountingTestCase):

    def test_reset_one_user_then_everybody(self):
        server = self.start()
        move_bytes(server, self.echo.port, 3000)
        move_bytes(server, self.echo.port, 500, OTHER_USER, OTHER_PASSWORD)
        with AdminClient(server) as admin:
            wait_until(lambda: user_metrics(admin, TEST_USER).get("lifetime_bytes_up") == 3000,
                       "alice's lifetime_bytes_up to be 3000")
            wait_until(lambda: user_metrics(admin, OTHER_USER).get("lifetime_bytes_up") == 500,
                       "bob's lifetime_bytes_up to be 500")
            asked = now_ms()
            status, body = admin.reset_usage(TEST_USER)
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            answer = parse_admin_record(body)
            self.assertEqual(answer.get("user"), TEST_USER, answer)
            self.assertRegex(str(answer.get("reset_at")), TIME_RE)
            self.assertGreaterEqual(time_ms(answer["reset_at"]) + 1000, asked)
            alice = wait_until(lambda: (lambda r: r if r.get("lifetime_bytes_up") == 0 else None)(
                user_metrics(admin, TEST_USER)), "alice's lifetime to be reset")
            self.assertEqual((alice.get("lifetime_connections_total"),
                              alice.get("lifetime_bytes_down")), (0, 0), alice)
            self.assertEqual((alice.get("usage_reset"), alice.get("usage_reset_by")),
                             (answer["reset_at"], harness.ADMIN_USER), alice)
            bob = user_metrics(admin, OTHER_USER)
            self.assertEqual((bob.get("lifetime_bytes_up"), bob.get("lifetime_connections_total")),
                             (500, 1), "bob untouched: %r" % bob)
            with self.subTest("usage_reset of a user nobody reset"):
                self.assertEqual((bob.get("usage_reset"), bob.get("usage_reset_by")), ("-", "-"),
                                 "bob was never reset (the database's creation is not a reset)")
            self.assertEqual(admin.reset_usage("nobody")[0], ADMIN_STATUS_NOT_FOUND)
            self.assertEqual(admin.reset_usage("anonymous")[0], ADMIN_STATUS_OK)

        # usage after the reset counts from zero; the reset survives a restart
        move_bytes(server, self.echo.port, 77)
        with AdminClient(server) as admin:
            wait_until(lambda: user_metrics(admin, TEST_USER).get("lifetime_bytes_up") == 77,
                       "alice's lifetime to count only what followed the reset")
        self.stop(server)
        server = self.start()
        with AdminClient(server) as admin:
            alice = user_metrics(admin, TEST_USER)
            self.assertEqual((alice.get("lifetime_bytes_up"), alice.get("usage_reset_by")),
                             (77, harness.ADMIN_USER), "after a restart: %r" % alice)

            with AdminClient(server, TEST_USER, TEST_PASSWORD) as regular:
                self.assertEqual(regular.reset_usage(TEST_USER)[0], ADMIN_STATUS_FORBIDDEN)
                self.assertEqual(regular.reset_usage("")[0], ADMIN_STATUS_FORBIDDEN)

            status, body = admin.reset_usage("")
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            answer = parse_admin_record(body)
            self.assertEqual(answer.get("user"), "-", answer)
            for user in (TEST_USER, OTHER_USER):
                wait_until(lambda: user_metrics(admin, user).get("lifetime_bytes_up") == 0,
                           "%s's lifetime to be reset by reset-usage ''" % user)
            metrics = wait_until(lambda: (lambda m: m if m.get("lifetime_bytes_up") == 0
                                          else None)(admin.metrics()),
                                 "the global lifetime_bytes_up to be reset")
            self.assertEqual(metrics.get("lifetime_connections_total"), 0, metrics)
            self.assertEqual(metrics.get("lifetime_since"), answer["reset_at"], metrics)
            self.assertEqual(user_metrics(admin, OTHER_USER).get("usage_reset_by"),
                             harness.ADMIN_USER)
        self.stop(server)


# ---- retention --------------------------------------------------------------------------------

class RetentionTest(AccountingTestCase):

    def test_max_rows_keeps_the_newest(self):
        server = self.start("--history-max-rows", "50")
        clients = [move_bytes(server, self.echo.port, 1) for _ in range(120)]
        with AdminClient(server) as admin:
            with self.subTest("server-info history_max_rows"):
                self.assertEqual(server_info(admin).get("history_max_rows"), 50)
            # the newest is stored, and pruning brings the rest down to 50
            wait_stored(admin, clients[-1:], "the last connection in the history")
            rows = wait_until(lambda: (lambda r: r if len(r) <= 50 else None)(
                history_all(admin)), "at most 50 rows in the history (--history-max-rows 50)")
            wait_until(lambda: at_most(server_info(admin).get("history_rows"), 50),
                       "server-info history_rows to be at most 50")
        self.assertEqual(rows[0]["client"], clients[-1], "the newest row is the last connection")
        stored = [row["client"] for row in rows]
        self.assertEqual(stored, list(reversed(clients))[:len(stored)],
                         "what remains is the newest connections")
        self.stop(server)
        with self.open_database() as connection:
            table = self.connection_table(connection)
            count = connection.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
        self.assertLessEqual(count, 50, "rows in the database file after the pruning")

    def test_history_days_prunes_older_rows(self):
        server = self.start()
        clients = [move_bytes(server, self.echo.port, 1) for _ in range(6)]
        with AdminClient(server) as admin:
            wait_stored(admin, clients)
        self.stop(server)

        with self.open_database() as connection, connection:
            table = self.connection_table(connection)
            rowids = [r for (r,) in connection.execute(
                "SELECT rowid FROM %s ORDER BY rowid" % table)]
            self.assertEqual(len(rowids), 6)
            connection.executemany(
                "UPDATE %s SET started_ms = started_ms - ?, ended_ms = ended_ms - ? "
                "WHERE rowid = ?" % table, [(3 * DAY_MS, 3 * DAY_MS, r) for r in rowids[:3]])
        old, recent = clients[:3], clients[3:]

        server = self.start("--history-days", "1")
        with AdminClient(server) as admin:
            with self.subTest("server-info history_days"):
                self.assertEqual(server_info(admin).get("history_days"), 1)
            newest = move_bytes(server, self.echo.port, 1)  # work for the writer, if it waits
            rows = wait_until(lambda: (lambda r: r if not set(old) & {x["client"] for x in r}
                                       and newest in {x["client"] for x in r} else None)(
                history_all(admin)), "the rows backdated 3 days to be pruned (--history-days 1)")
        self.assertEqual(sorted(row["client"] for row in rows), sorted(recent + [newest]))
        self.stop(server)


# ---- faults at start -------------------------------------------------------------------------

class StartFaultsTest(AccountingTestCase):

    def run_to_exit(self, *args):
        """(exit code, stderr) of a socks5d on this directory that must exit by itself."""
        command = [harness.server_binary(), "-p", "0", "-P", "0", "-l", "127.0.0.1",
                   "-f", self.users_file, "--accounting-db", self.database] + list(args)
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=errors,
                                       env=harness.isolated_env(self.directory))
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                code = None
            errors.seek(0)
            text = errors.read().decode("utf-8", "replace")
        self.assertIsNotNone(code, "socks5d kept running with a database it must refuse; "
                                   "stderr:\n" + text)
        return code, text

    def write_future_database(self):
        with self.open_database() as connection, connection:
            connection.execute("CREATE TABLE from_the_future (x)")
            connection.execute("PRAGMA user_version = 99")
        with open(self.database, "rb") as handle:
            return handle.read()

    def assert_unchanged(self, original):
        with open(self.database, "rb") as handle:
            self.assertTrue(handle.read() == original, "the database file was rewritten")
        with self.open_database() as connection:
            self.assertEqual(connection.execute("PRAGMA user_version").fetchone()[0], 99)

    def test_newer_schema_is_refused_and_left_alone(self):
        original = self.write_future_database()
        code, text = self.run_to_exit()
        self.assertNotEqual(code, 0, text)
        self.assertIn(self.database, text, "the message names the file")
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, text)
        self.assert_unchanged(original)

    def test_garbage_is_refused(self):
        garbage = b"this is not an SQLite database\n" * 300
        with open(self.database, "wb") as handle:
            handle.write(garbage)
        code, text = self.run_to_exit()
        self.assertNotEqual(code, 0, text)
        self.assertIn(self.database, text, "the message names the file")
        with open(self.database, "rb") as handle:
            self.assertTrue(handle.read() == garbage, "the garbage file was rewritten")

    def test_accounting_optional_starts_without_it(self):
        original = self.write_future_database()
        server = self.start("--accounting-optional")
        self.assertEqual(harness.echo_roundtrip(server, self.echo, b"hi\n"), b"hi\n")
        with AdminClient(server) as admin:
            self.assertEqual(server_info(admin).get("accounting"), "off")
            self.assertEqual(admin.history()[0], ADMIN_STATUS_UNAVAILABLE)
        self.assertIn(self.database, server.stderr_text(), "a warning naming the file")
        self.stop(server)
        self.assert_unchanged(original)

        with open(self.database, "wb") as handle:
            handle.write(b"garbage, not a database\n" * 300)
        server = self.start("--accounting-optional")
        with AdminClient(server) as admin:
            self.assertEqual(server_info(admin).get("accounting"), "off")
        self.assertIn(self.database, server.stderr_text(), "a warning naming the file")
        self.stop(server)


# ---- a full disk at run time -------------------------------------------------------------------

TMPFS_SIZE = 8 << 20
REP_HOST_UNREACHABLE = 0x04
# 251 bytes, refused by glibc before any DNS query (its first label is over 63 characters).
LONG_UNRESOLVABLE_NAME = ".".join(("a" * 70, "b" * 60, "c" * 60, "d" * 50, "invalid"))


class DiskFullTest(AccountingTestCase):
    """socks5d in a private mount namespace whose state directory is a small tmpfs; the test
    reaches it through /proc/PID/root (the directory is empty from outside)."""

    def setUp(self):
        super().setUp()
        self.state = os.path.join(self.directory, "state")
        os.mkdir(self.state)
        unshare = harness.require_tool("unshare")
        harness.require_tool("mount")
        probe = subprocess.run([unshare, "-m", "--propagation", "private", "sh", "-c",
                                'mount -t tmpfs -o size=1m tmpfs "$0"', self.state],
                               capture_output=True, text=True, timeout=30)
        if probe.returncode != 0:
            self.skipTest("cannot mount a tmpfs in a private mount namespace: %s"
                          % probe.stderr.strip())
        self.unshare = unshare
        self.database = os.path.join(self.state, "accounting.db")

    def fill(self, path):
        """Writes path until the file system has no byte left."""
        with open(path, "wb", buffering=0) as handle:
            for size in (1 << 20, 4096, 1):
                block = b"\0" * size
                try:
                    while True:
                        handle.write(block)
                except OSError as error:
                    if error.errno != 28:  # ENOSPC
                        raise

    def test_full_disk_keeps_proxying_counts_drops_and_recovers(self):
        server = self.make_server()
        server.args = [self.unshare, "-m", "--propagation", "private", "sh", "-c",
                       'mount -t tmpfs -o size=%d tmpfs "$0" && exec "$@"' % TMPFS_SIZE,
                       self.state] + server.args
        server.start()
        inside = "/proc/%d/root%s" % (server.process.pid, self.state)
        usage = os.statvfs(inside)
        self.assertLessEqual(usage.f_blocks * usage.f_frsize, TMPFS_SIZE,
                             "%s is not the server's tmpfs" % inside)
        port = self.echo.port
        with AdminClient(server) as admin:
            self.assertEqual(server_info(admin).get("accounting"), "ok")
            wait_stored(admin, [move_bytes(server, port, 10)])

            filler = os.path.join(inside, "filler")
            self.fill(filler)
            failed_at = time.monotonic()

            def failing():
                move_bytes(server, port, 10)  # proxying goes on
                # Long rows, so each batch needs room past what the database already holds.
                for _ in range(10):
                    failed_request(server, LONG_UNRESOLVABLE_NAME, 80, REP_HOST_UNREACHABLE)
                info = server_info(admin)
                return info if info.get("accounting") == "failing" else None
            info = wait_until(failing, "server-info to say accounting: failing on a full disk",
                              timeout=20, interval=0.3)
            self.assertNotIn(info.get("accounting_error"), (None, "", "-"), info)
            dropped = admin.metrics().get("accounting_dropped")
            self.assertIsInstance(dropped, int)
            self.assertGreater(dropped, 0, "accounting_dropped on a full disk")
            for _ in range(3):
                move_bytes(server, port, 10)
            wait_until(lambda: admin.metrics().get("accounting_dropped") > dropped,
                       "accounting_dropped to grow while the disk is full")
            self.assertEqual(harness.echo_roundtrip(server, self.echo, b"full\n"), b"full\n")
            failing_for = time.monotonic() - failed_at

            os.unlink(filler)

            def recovered():
                move_bytes(server, port, 10)
                info = server_info(admin)
                return info if info.get("accounting") == "ok" else None
            info = wait_until(recovered, "accounting: ok after the disk has room again",
                              timeout=20, interval=0.3)
            self.assertEqual(info.get("accounting_error"), "-", info)
            after = move_bytes(server, port, 10)
            wait_stored(admin, [after], "a connection made after the recovery to be stored")

        lines = server.stderr_text().splitlines()
        about_it = [line for line in lines if "accounting" in line.lower()
                    and ("full" in line.lower() or "disk" in line.lower())]
        self.assertTrue(about_it, "no log line about the full disk; stderr:\n"
                        + "\n".join(lines[-40:]))
        if failing_for < 55:  # logged once per minute, not once per batch
            def message(line):  # without its timestamp and the batch's count
                return re.sub(r"\(\d+ in this batch\)", "", line.split(" ", 1)[-1])
            repeats = [line for line in about_it if message(line) == message(about_it[0])]
            self.assertLessEqual(len(repeats), 2, "the error is logged once a minute:\n%s"
                                 % "\n".join(about_it))
        self.stop(server)


# ---- the console --------------------------------------------------------------------------

class ConsoleHistoryTest(AccountingTestCase):

    def test_connections_since_reads_the_history(self):
        server = self.start()
        clients = [move_bytes(server, self.echo.port, 20 + i) for i in range(3)]
        other = move_bytes(server, self.echo.port, 5, OTHER_USER, OTHER_PASSWORD)
        with AdminClient(server) as admin:
            wait_stored(admin, clients + [other])
        console = Console(self, server.wait_admin_listener()[0][1])

        def rows_of(*args):
            # The user is the positional USER of `connections`, as without the history.
            result = console.run("-o", "json", "connections", *args)
            self.assertEqual(result.code, 0, result)
            objects = [json.loads(line) for line in result.out.splitlines()]
            self.assertEqual(len(objects), 1, result)
            return objects[0].get("rows", [])
        rows = rows_of(TEST_USER, "--since", "1h")
        self.assertEqual(sorted(row["client"] for row in rows), sorted(clients), rows)
        for row in rows:
            self.assertEqual((row["user"], row["state"]), (TEST_USER, "closed"), row)
            self.assertIn("history_id", row)
        rows = rows_of("--destination", "127.0.0.1:%d" % self.echo.port, "--since", "1h")
        self.assertEqual(sorted(row["client"] for row in rows), sorted(clients + [other]))
        self.assertEqual(rows_of(TEST_USER, "--since", "1h", "--status", "failed"), [])
        self.assertEqual(rows_of("--until", "2000-01-01"), [])
        self.stop(server)


if __name__ == "__main__":
    unittest.main()
