"""Crash safety of the users file: an admin adds, removes and re-roles users while socks5d is
killed with SIGKILL at random moments — right after an acknowledged change, in the middle of a
request, with half a request sent, or at a random time while changes stream in. After every
kill the file must still parse (the server restarts on it), every change the server
acknowledged must be there, and a change it never acknowledged may or may not be.

Seeded (CRASH_SAFETY_SEED), so a failure can be replayed; CRASH_SAFETY_ITERATIONS sets the
number of kills (at least 100 by default)."""

import os
import random
import re
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest

import harness
from harness import (admin_login_request, admin_request, read_admin_login_reply,
                     read_admin_response, ADMIN_VERSION, ADMIN_STATUS_OK)

SEED = int(os.environ.get("CRASH_SAFETY_SEED", "1928"))
ITERATIONS = int(os.environ.get("CRASH_SAFETY_ITERATIONS", "100"))

ROOT, ROOT_PASSWORD = "root", "rootpw"
# Few names, reused: every add-user costs a password hash (~70 ms).
NAMES = ["u%d" % i for i in range(6)]

CMD_USERS, CMD_ADD_USER, CMD_REMOVE_USER, CMD_SET_ROLE = 0x06, 0x07, 0x08, 0x09
STATUS_NOT_FOUND, STATUS_ALREADY_EXISTS = 0x05, 0x06
ROLE_USER, ROLE_ADMIN = 0x00, 0x01
ROLE_TEXT = {ROLE_USER: "user", ROLE_ADMIN: "admin"}

FILE_LINE_RE = re.compile(r"^([^:\n]+):(admin|user):(\$[!-9;-~]{3,})$")  # no ':' in the hash
RESPONSE_AFTER_KILL_TIMEOUT = 2.0
OPS_DEADLINE = 15.0  # a kill that ends no request within this long is a test failure


def str8(text):
    data = text.encode()
    return bytes([len(data)]) + data


# A user's state: None (absent) or (role, password).

class Op:
    """One admin request and what it does to the users if the server applies it."""

    def __init__(self, command, body, name, after, expected_status, description):
        self.frame = admin_request(command, body)
        self.name = name
        self.after = after  # the user's state once applied
        self.expected_status = expected_status
        self.description = description


class UsersModel:
    """What the users must be: one state per name, plus, for the one request in flight at a
    kill, the states the name may be in (before or after)."""

    def __init__(self):
        self.state = {name: None for name in NAMES}
        self.uncertain = {}  # name -> list of allowed states
        self.password_counter = 0

    def allowed(self, name):
        return self.uncertain.get(name, [self.state[name]])

    def next_op(self, rng):
        """A request whose answer the model knows: mostly changes, sometimes a refused one."""
        name = rng.choice(NAMES)
        current = self.state[name]
        if rng.random() < 0.1:  # refused requests must leave everything as it is
            if current is None:
                return Op(CMD_REMOVE_USER, str8(name), name, current, STATUS_NOT_FOUND,
                          "remove-user %s (absent)" % name)
            return Op(CMD_ADD_USER, str8(name) + str8("other") + bytes([ROLE_USER]), name,
                      current, STATUS_ALREADY_EXISTS, "add-user %s (exists)" % name)
        if current is None:
            self.password_counter += 1
            password = "pw-%s-%d" % (name, self.password_counter)
            role = rng.choice((ROLE_USER, ROLE_ADMIN))
            return Op(CMD_ADD_USER, str8(name) + str8(password) + bytes([role]), name,
                      (role, password), ADMIN_STATUS_OK, "add-user %s %s" % (name, ROLE_TEXT[role]))
        if rng.random() < 0.4:
            return Op(CMD_REMOVE_USER, str8(name), name, None, ADMIN_STATUS_OK,
                      "remove-user %s" % name)
        role = rng.choice((ROLE_USER, ROLE_ADMIN))
        return Op(CMD_SET_ROLE, str8(name) + bytes([role]), name, (role, current[1]),
                  ADMIN_STATUS_OK, "set-role %s %s" % (name, ROLE_TEXT[role]))

    def acknowledged(self, op):
        self.state[op.name] = op.after

    def in_flight(self, op):
        """op was sent (whole) but its answer never came: either state is fine."""
        self.uncertain[op.name] = [self.state[op.name], op.after]

    def check(self, observed, where):
        """observed: name -> role text for every user. Returns the names whose state was
        uncertain, resolved to what was observed."""
        extra = set(observed) - set(NAMES) - {ROOT}
        if extra:
            raise AssertionError("%s: unexpected users %s" % (where, sorted(extra)))
        if observed.get(ROOT) != "admin":
            raise AssertionError("%s: %s is %r, not admin" % (where, ROOT, observed.get(ROOT)))
        resolved = {}
        for name in NAMES:
            seen = observed.get(name)
            matching = [state for state in self.allowed(name)
                        if (state is None and seen is None)
                        or (state is not None and ROLE_TEXT[state[0]] == seen)]
            if not matching:
                raise AssertionError("%s: user %s is %s; allowed: %s"
                                     % (where, name, seen or "absent",
                                        " or ".join(describe(s) for s in self.allowed(name))))
            resolved[name] = matching[0]
        return resolved

    def resolve(self, resolved):
        for name in self.uncertain:
            self.state[name] = resolved[name]
        changed = [name for name in self.uncertain]
        self.uncertain = {}
        return changed


def describe(state):
    return "absent" if state is None else ROLE_TEXT[state[0]]


# ---------------------------------------------------------------------------------------------
# Talking to the server

def admin_endpoint(server):
    endpoints = server.wait_admin_listener()
    if not endpoints:
        raise AssertionError("socks5d printed no 'listening for admin' line")
    return endpoints[0]


def admin_login(server, user, password):
    """A connected socket and the login reply (VER, RSV, STATUS, ROLE)."""
    sock = socket.create_connection(admin_endpoint(server), timeout=harness.ADMIN_LOGIN_TIMEOUT)
    try:
        sock.sendall(admin_login_request(user, password))
        return sock, read_admin_login_reply(sock)
    except BaseException:
        sock.close()
        raise


def users_table(sock):
    """The users command's table as name -> role text."""
    sock.sendall(admin_request(CMD_USERS))
    status, body = read_admin_response(sock)
    if status != ADMIN_STATUS_OK:
        raise AssertionError("users: status %d %r" % (status, body))
    lines = body.decode().split("\n")
    header = lines[lines.index("") + 1].split("\t")
    user_column, role_column = header.index("user"), header.index("role")
    table = {}
    for line in lines[lines.index("") + 2:]:
        if not line:
            break
        fields = line.split("\t")
        table[fields[user_column]] = fields[role_column]
    return table


def read_users_file(path):
    """name -> role text; fails unless every line is a comment or name:role:hash."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if text and not text.endswith("\n"):
        raise AssertionError("users file has no final newline:\n" + text)
    users = {}
    for line in text.split("\n")[:-1]:
        if not line or line.startswith("#"):
            continue
        match = FILE_LINE_RE.match(line)
        if match is None:
            raise AssertionError("users file line %r is not name:role:crypt-hash" % line)
        if match.group(1) in users:
            raise AssertionError("users file lists %s twice" % match.group(1))
        users[match.group(1)] = match.group(2)
    return users


# ---------------------------------------------------------------------------------------------

class UsersFileSurvivesSigkill(unittest.TestCase):

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-crash-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.users_file = os.path.join(self.directory, "users")
        self.rng = random.Random(SEED)
        self.model = UsersModel()
        self.server = None
        self.counts = {"kills": 0, "after_ack": 0, "mid_request": 0, "half_request": 0,
                       "timer": 0, "acknowledged": 0, "refused": 0, "in_flight": 0,
                       "in_flight_applied": 0, "file_checks": 0, "table_checks": 0,
                       "password_checks": 0}

    def tearDown(self):
        if self.server is not None:
            self.server.kill()

    # -- one server life -----------------------------------------------------------------------

    def start_server(self):
        # -a keeps an admin whatever happened to the file; the server rewrites it at start.
        server = harness.Socks5dProcess("-a", "%s:%s" % (ROOT, ROOT_PASSWORD),
                                        "-f", self.users_file, users=(),
                                        env={"SOCKS5D_ADMIN": ""})
        self.server = server
        server.start()  # fails if the file does not parse: the server refuses to start
        return server

    def sigkill(self, server):
        """SIGKILL now (from any thread); idempotent."""
        if server.process.poll() is None:
            try:
                server.process.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass

    def reap(self, server):
        """Waits for the killed server; it must have died of our SIGKILL, with a clean log."""
        self.sigkill(server)
        server.process.wait(timeout=harness.STOP_TIMEOUT)
        text = server.stderr_text()
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, text, "sanitizer report in socks5d stderr:\n" + text[-6000:])
        self.assertEqual(server.process.returncode, -signal.SIGKILL,
                         "socks5d died on its own before the kill; stderr:\n" + text[-4000:])
        server.kill()  # removes its state directory and log
        self.server = None

    def verify(self, server, where):
        """Users as the model says; resolves the in-flight change; logs in as a sample."""
        sock, reply = admin_login(server, ROOT, ROOT_PASSWORD)
        with sock:
            self.assertEqual(reply, (ADMIN_VERSION, 0, ADMIN_STATUS_OK, ROLE_ADMIN),
                             "%s: login as %s" % (where, ROOT))
            observed = users_table(sock)
        resolved = self.model.check(observed, where)
        self.counts["table_checks"] += 1
        for name in self.model.uncertain:
            if resolved[name] != self.model.state[name]:
                self.counts["in_flight_applied"] += 1
        changed = self.model.resolve(resolved)

        # Passwords: each unverified login costs a crypt, so only a sample, always including a
        # user whose in-flight add turned out to be applied.
        present = [name for name in NAMES if self.model.state[name] is not None]
        sample = [name for name in changed if self.model.state[name] is not None]
        if present and self.rng.random() < 0.5:
            sample.append(self.rng.choice(present))
        for name in sorted(set(sample)):
            role, password = self.model.state[name]
            sock, reply = admin_login(server, name, password)
            sock.close()
            self.assertEqual(reply, (ADMIN_VERSION, 0, ADMIN_STATUS_OK, role),
                             "%s: login as %s with its password" % (where, name))
            self.counts["password_checks"] += 1

    def check_file(self, where):
        """The file as the kill left it: well formed, and consistent with the model."""
        self.model.check(read_users_file(self.users_file), where + " (file on disk)")
        self.counts["file_checks"] += 1

    # -- requests ------------------------------------------------------------------------------

    def answer(self, sock, op):
        """Reads op's response; True if it was applied (acknowledged), False if refused as
        expected. Raises OSError/EOFError when the connection ends first."""
        status, body = read_admin_response(sock)
        self.assertEqual(status, op.expected_status, "%s: %r" % (op.description, body))
        if status == ADMIN_STATUS_OK:
            self.model.acknowledged(op)
            self.counts["acknowledged"] += 1
            return True
        self.counts["refused"] += 1
        return False

    def run_to_completion(self, sock, count):
        for _ in range(count):
            op = self.model.next_op(self.rng)
            sock.sendall(op.frame)
            self.answer(sock, op)

    def kill_after_ack(self, server, sock):
        """Some changes, then SIGKILL as soon as the last one is acknowledged."""
        self.run_to_completion(sock, self.rng.randint(0, 2))
        while True:
            op = self.model.next_op(self.rng)
            sock.sendall(op.frame)
            if self.answer(sock, op):
                break
        self.sigkill(server)

    def kill_mid_request(self, server, sock):
        """A whole request sent, SIGKILL a random moment later (add-user hashes for ~70 ms);
        a response that still arrives counts."""
        self.run_to_completion(sock, self.rng.randint(0, 2))
        op = self.model.next_op(self.rng)
        delay = self.rng.choice((0.0, 0.0005, 0.002, 0.005, 0.02, 0.05, 0.1)) * self.rng.random()
        sock.sendall(op.frame)
        time.sleep(delay)
        self.sigkill(server)
        sock.settimeout(RESPONSE_AFTER_KILL_TIMEOUT)
        try:
            self.answer(sock, op)
        except (OSError, EOFError):
            self.model.in_flight(op)
            self.counts["in_flight"] += 1

    def kill_half_request(self, server, sock):
        """Part of a request, then SIGKILL: the server cannot have applied it."""
        self.run_to_completion(sock, self.rng.randint(0, 2))
        op = self.model.next_op(self.rng)
        sock.sendall(op.frame[:self.rng.randint(1, len(op.frame) - 1)])
        time.sleep(self.rng.random() * 0.01)
        self.sigkill(server)

    def kill_timer(self, server, sock):
        """Changes stream in; SIGKILL at a random time, wherever the session is."""
        timer = threading.Timer(self.rng.random() * 0.8, self.sigkill, (server,))
        timer.start()
        deadline = time.monotonic() + OPS_DEADLINE
        try:
            while time.monotonic() < deadline:
                op = self.model.next_op(self.rng)
                try:
                    sock.sendall(op.frame)
                    self.answer(sock, op)
                except (OSError, EOFError):
                    self.model.in_flight(op)
                    self.counts["in_flight"] += 1
                    return
            self.fail("the session did not end within %.0f s of the kill timer" % OPS_DEADLINE)
        finally:
            timer.cancel()
            timer.join()

    # -- the test ------------------------------------------------------------------------------

    def test_acknowledged_user_changes_survive_sigkill(self):
        kinds = (["after_ack"] * 3 + ["mid_request"] * 4 + ["timer"] * 3 + ["half_request"])
        started = time.monotonic()
        for iteration in range(ITERATIONS):
            where = "iteration %d (seed %d)" % (iteration, SEED)
            if os.path.exists(self.users_file):
                self.check_file(where)
            server = self.start_server()
            self.verify(server, where)
            kind = self.rng.choice(kinds)
            sock, reply = admin_login(server, ROOT, ROOT_PASSWORD)
            with sock:
                self.assertEqual(reply[2], ADMIN_STATUS_OK, where + ": login as root")
                getattr(self, "kill_" + kind)(server, sock)
            self.reap(server)
            self.counts[kind] += 1
            self.counts["kills"] += 1

        # One last life: the file holds the model, and the server stops cleanly.
        self.check_file("after the last kill")
        server = self.start_server()
        self.verify(server, "after the last kill")
        self.server = None
        harness.check_stopped_cleanly(self, server)
        server.kill()
        print("\ncrash safety (seed %d, %.1f s): %s"
              % (SEED, time.monotonic() - started,
                 ", ".join("%s=%d" % item for item in self.counts.items())), file=sys.stderr)
        # The kills must have landed both between and inside requests.
        self.assertGreaterEqual(self.counts["acknowledged"], ITERATIONS)
        self.assertGreater(self.counts["in_flight"], 0)


if __name__ == "__main__":
    unittest.main()
