#!/usr/bin/env python3
"""Users from PAM (--auth pam[:SERVICE]): SOCKS and admin logins checked by a real PAM stack.

Each test writes a private PAM configuration directory (--pam-config-dir, pam_start_confdir)
whose service authenticates with pam_pwdfile against a password file of crypt(3) hashes made
here, and pam_permit for the account: the machine's /etc/pam.d is never read.
"""
import concurrent.futures
import ctypes
import ctypes.util
import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (ADMIN_PASSWORD, ADMIN_USER, auth_request, connect_proxy,  # noqa: E402
                     greeting, recv_exact, METHOD_USERPASS)
from test_console_batch import Console  # noqa: E402 (a class, not its tests)

SERVICE = "socks5d-test"
PAM_USER, PAM_PASSWORD = "carol", "carol-directory-pass"
PAM_ADMIN, PAM_ADMIN_PASSWORD = "dave", "dave-directory-pass"
ADMIN_GROUP = "socks5d-pam-admins"
EXIT_OK, EXIT_REFUSED, EXIT_FORBIDDEN, EXIT_LOGIN_FAILED = 0, 2, 3, 77
CURL_TIMEOUT = 20


def pam_module(name):
    for pattern in ("/lib/*/security/%s", "/usr/lib/*/security/%s", "/lib/security/%s",
                    "/usr/lib/security/%s"):
        found = glob.glob(pattern % name)
        if found:
            return found[0]
    return None


def crypt_hash(password):
    """A SHA-512 crypt(3) hash of password, made by libcrypt (what pam_pwdfile checks with)."""
    library = ctypes.CDLL(ctypes.util.find_library("crypt") or "libcrypt.so.1")
    library.crypt.restype = ctypes.c_char_p
    library.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    salt = "$6$%s$" % secrets.token_hex(8)
    return library.crypt(password.encode(), salt.encode()).decode()


def socks_login(server, user, password):
    """The RFC 1929 status byte the server answers (0 = success), and the seconds it took."""
    sock = connect_proxy(server)
    with sock:
        sock.sendall(greeting(METHOD_USERPASS))
        if recv_exact(sock, 2) != bytes([5, METHOD_USERPASS]):
            raise AssertionError("the server did not choose username/password")
        started = time.monotonic()
        sock.sendall(auth_request(user, password))
        status = recv_exact(sock, 2)[1]
        return status, time.monotonic() - started


class PamTestCase(harness.EchoTestCase):
    @classmethod
    def setUpClass(cls):
        if pam_module("pam_pwdfile.so") is None or pam_module("pam_permit.so") is None:
            raise unittest.SkipTest("pam_pwdfile.so (libpam-pwdfile) or pam_permit.so missing")
        super().setUpClass()
        cls.web = harness.HttpServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.web.stop()
        super().tearDownClass()

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-pam-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.pam_dir = os.path.join(self.directory, "pam.d")
        os.mkdir(self.pam_dir)
        self.passwords = os.path.join(self.directory, "passwd")
        self.write_passwords({PAM_USER: PAM_PASSWORD, PAM_ADMIN: PAM_ADMIN_PASSWORD})
        with open(os.path.join(self.pam_dir, SERVICE), "w") as service:
            service.write("auth required %s pwdfile=%s\naccount required %s\n"
                          % (pam_module("pam_pwdfile.so"), self.passwords,
                             pam_module("pam_permit.so")))

    def write_passwords(self, users):
        """Rewrites the password file in place (its inode stays: pam_pwdfile reads it anew)."""
        with open(self.passwords, "w") as handle:
            for name, password in users.items():
                handle.write("%s:%s\n" % (name, crypt_hash(password)))

    def pam_args(self, *extra):
        return ("--auth", "pam:" + SERVICE, "--pam-config-dir", self.pam_dir,
                "--accounting-db", "off") + extra

    def start(self, *extra, users=((harness.TEST_USER, harness.TEST_PASSWORD),), prefix=()):
        server = harness.Socks5dProcess(*self.pam_args(*extra), users=users)
        server.args = list(prefix) + server.args
        server.start()
        self.addCleanup(server.kill)
        self.addCleanup(self.check_clean_stop, server)
        self.ctl = Console(self, server.wait_admin_listener()[0][1])
        return server

    def check_clean_stop(self, server):
        code, text = server.stop()
        self.assertEqual(code, 0, text[-3000:])
        for marker in harness.SANITIZER_MARKERS:
            self.assertNotIn(marker, text)
        self.assertNotIn(PAM_PASSWORD, text)

    def curl(self, server, user, password):
        proxy = "socks5h://%s:%s@127.0.0.1:%d" % (user, password, server.port)
        return subprocess.run(["curl", "-sS", "--max-time", "10", "--proxy", proxy,
                               "http://127.0.0.1:%d/" % self.web.port],
                              capture_output=True, text=True, timeout=CURL_TIMEOUT)

    def record(self, *args, **kwargs):
        """The record of a command run with -o json."""
        (answer,) = self.ctl.json(*args, **kwargs)
        return answer["record"]

    def roles(self):
        """{name: role} from `users -o json`, as the built-in admin sees them."""
        (users,) = self.ctl.json("users")
        return {row["user"]: row["role"] for row in users["rows"]}


class PamLoginTest(PamTestCase):
    def test_socks_logins_through_pam(self):
        users_file = os.path.join(self.directory, "users")
        server = self.start("-f", users_file)
        good = self.curl(server, PAM_USER, PAM_PASSWORD)
        self.assertEqual(good.returncode, 0, good.stderr)
        self.assertEqual(good.stdout, harness.PageHandler.BODY.decode())
        bad = self.curl(server, PAM_USER, "not-the-password")
        self.assertNotEqual(bad.returncode, 0, bad.stdout)
        self.assertEqual(bad.stdout, "")
        self.assertEqual(socks_login(server, "nobody-in-pam", PAM_PASSWORD)[0], 1)
        # A PAM user is a user of the server (listed, counted) that the users file never holds.
        self.assertEqual(self.roles()[PAM_USER], "user")
        deadline = time.monotonic() + 10
        while True:  # the tunnel is counted once the server has seen it close
            metrics = self.record("user-metrics", PAM_USER)
            if metrics["bytes_down"] > 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(metrics["connections_total"], 1)
        self.assertGreater(metrics["bytes_down"], len(harness.PageHandler.BODY))
        with open(users_file) as handle:
            self.assertNotIn(PAM_USER, handle.read())
        self.assertIn("PAM service %s" % SERVICE, server.stderr_text())

    def test_admin_protocol_login_through_pam(self):
        self.start()
        whoami = self.record("whoami", user=PAM_USER, password=PAM_PASSWORD)
        self.assertEqual((whoami["user"], whoami["role"]), (PAM_USER, "user"))
        self.ctl.run("users", user=PAM_USER, password=PAM_PASSWORD, expect=EXIT_FORBIDDEN)
        self.ctl.run("whoami", user=PAM_USER, password="wrong", expect=EXIT_LOGIN_FAILED)

    def test_a_slow_directory_holds_up_no_loop(self):
        # The stack first runs a 4 s command (a directory that answers slowly).
        with open(os.path.join(self.pam_dir, SERVICE), "r+") as service:
            text = service.read()
            service.seek(0)
            service.write("auth optional %s quiet %s 4\n%s"
                          % (pam_module("pam_exec.so"), shutil.which("sleep"), text))
        server = self.start()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(socks_login, server, PAM_USER, PAM_PASSWORD)
            time.sleep(0.3)  # the PAM check has started on the work pool
            # Meanwhile every loop answers: local logins, tunnels and the admin port.
            for _ in range(4):
                self.assertEqual(harness.echo_roundtrip(server, self.echo), b"still serving?\n")
            self.ctl.run("ping", expect=EXIT_OK)
            self.assertFalse(pending.done(), "the PAM check ended before the others were served")
            self.assertEqual(pending.result(timeout=20)[0], 0)

    def test_a_slow_directory_delays_no_local_login_and_leaving_clients_harm_nothing(self):
        # A users-file user known by its hash only (crypt runs on the work pool), while PAM
        # conversations that fork a 3 s helper (pam_exec) queue up for unknown names whose
        # clients give up: the local login is not queued behind them, and sockets closed while
        # a helper holds forked copies of them are never reported again (the debug build's
        # AddressSanitizer watches; check_clean_stop reads its report).
        with open(os.path.join(self.pam_dir, SERVICE), "r+") as service:
            text = service.read()
            service.seek(0)
            service.write("auth optional %s quiet %s 3\n%s"
                          % (pam_module("pam_exec.so"), shutil.which("sleep"), text))
        users_file = os.path.join(self.directory, "users")
        with open(users_file, "w") as handle:
            handle.write("root:admin:%s\nerin:user:%s\n"
                         % (crypt_hash("root-local-pass"), crypt_hash("erin-local-pass")))
        server = self.start("-f", users_file, "--workers", "1", users=())

        def leave_early(index):
            sock = connect_proxy(server)
            with sock:
                sock.sendall(greeting(METHOD_USERPASS))
                recv_exact(sock, 2)
                sock.sendall(auth_request("nobody%d" % index, "wrong"))
                time.sleep(0.2 * index)

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
            leaving = [pool.submit(leave_early, index) for index in range(4)]
            time.sleep(0.5)  # the first conversation sleeps in its helper
            status, seconds = socks_login(server, "erin", "erin-local-pass")
            self.assertEqual(status, 0)
            self.assertLess(seconds, 2.0, "the local login waited for the directory")
            for future in leaving:
                future.result(timeout=30)
        self.assertEqual(harness.echo_roundtrip(server, self.echo, user="erin",
                                                password="erin-local-pass"),
                         b"still serving?\n")

    def test_modules_see_the_client_address(self):
        # pam_exec passes PAM_RHOST to its command's environment: a script records it.
        record = os.path.join(self.directory, "rhost")
        script = os.path.join(self.directory, "record-rhost.sh")
        with open(script, "w") as handle:
            handle.write('#!/bin/sh\necho "$PAM_USER $PAM_RHOST" >> %s\n' % record)
        os.chmod(script, 0o755)
        with open(os.path.join(self.pam_dir, SERVICE), "r+") as service:
            text = service.read()
            service.seek(0)
            service.write("auth optional %s quiet %s\n%s"
                          % (pam_module("pam_exec.so"), script, text))
        server = self.start()
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        with open(record) as handle:
            self.assertEqual(handle.read(), "%s 127.0.0.1\n" % PAM_USER)

    def test_the_config_file_key(self):
        config = os.path.join(self.directory, "socks5d.conf")
        with open(config, "w") as handle:
            handle.write('auth = "pam:%s";\npam-config-dir = "%s";\n' % (SERVICE, self.pam_dir))
        server = harness.Socks5dProcess("-C", config, "--accounting-db", "off")
        server.start()
        self.addCleanup(server.kill)
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        self.assertEqual(server.stop()[0], 0)

    def test_bad_methods_are_usage_errors(self):
        for args, message in ((("--auth", "ldap"), "--auth"),
                              (("--auth", "pam:../etc/x"), "PAM service"),
                              (("--admin-group", "wheel"), "needs --auth pam")):
            completed = subprocess.run([harness.server_binary(), "-f", "off"] + list(args),
                                       capture_output=True, text=True, timeout=30,
                                       stdin=subprocess.DEVNULL)
            self.assertEqual(completed.returncode, 64, completed.stderr)
            self.assertIn(message, completed.stderr)


class PamCacheTest(PamTestCase):
    def test_a_second_login_is_served_from_the_cache(self):
        server = self.start()
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        metrics = harness.metrics_of(server)
        self.assertEqual((metrics["pam_checks"], metrics["pam_cache_hits"]), (1, 0))
        # The directory changes the password: the cache still knows the old one...
        self.write_passwords({PAM_USER: "changed-in-the-directory"})
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        metrics = harness.metrics_of(server)
        self.assertEqual((metrics["pam_checks"], metrics["pam_cache_hits"]), (1, 1))
        # The admin port shares the cache.
        self.ctl.run("whoami", user=PAM_USER, password=PAM_PASSWORD, expect=EXIT_OK)
        metrics = harness.metrics_of(server)
        self.assertEqual((metrics["pam_checks"], metrics["pam_cache_hits"]), (1, 2))
        # ...until PAM accepts another one for that name, which replaces it.
        self.assertEqual(socks_login(server, PAM_USER, "changed-in-the-directory")[0], 0)
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 1)
        self.assertEqual(harness.metrics_of(server)["pam_checks"], 3)

    def test_no_cache_asks_pam_every_time(self):
        server = self.start("--pam-cache", "0")
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        self.write_passwords({PAM_USER: "changed-in-the-directory"})
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 1)
        self.assertEqual(socks_login(server, PAM_USER, "changed-in-the-directory")[0], 0)

    def test_failures_are_throttled(self):
        server = self.start()
        # The throttle forgives three failures, then answers later and later (250 ms, 500 ms).
        times = [socks_login(server, PAM_USER, "guess-%d" % i) for i in range(5)]
        self.assertEqual([status for status, _ in times], [1] * 5)
        self.assertGreaterEqual(times[4][1], 0.45, times)
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)


class PamPrecedenceTest(PamTestCase):
    def test_users_file_names_are_checked_by_the_file(self):
        server = self.start(users=((PAM_USER, "local-pass"),))
        self.assertEqual(socks_login(server, PAM_USER, "local-pass")[0], 0)
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 1)
        self.assertEqual(socks_login(server, PAM_ADMIN, PAM_ADMIN_PASSWORD)[0], 0)
        # Once the local user is gone, the name is PAM's.
        self.ctl.run("remove-user", PAM_USER, expect=EXIT_OK)
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        self.assertEqual(socks_login(server, PAM_USER, "local-pass")[0], 1)

    def test_user_commands_on_pam_users_answer_managed_by_pam(self):
        server = self.start()
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        for command in (("set-password", PAM_USER, "x-new-pass"), ("remove-user", PAM_USER),
                        ("set-role", PAM_USER, "admin"), ("add-user", PAM_USER, "pw"),
                        ("set-limits", PAM_USER, "upload=1000")):
            result = self.ctl.run(*command, expect=EXIT_REFUSED)
            self.assertIn("managed by PAM", result.err, result)
        # The user logging in as itself may not change its password here either.
        result = self.ctl.run("set-password", "", "x-new-pass", user=PAM_USER,
                              password=PAM_PASSWORD, expect=EXIT_REFUSED)
        self.assertIn("managed by PAM", result.err)
        self.assertEqual(socks_login(server, PAM_USER, PAM_PASSWORD)[0], 0)
        self.assertEqual(self.roles()[PAM_USER], "user")
        # A name PAM never authenticated may still be added as a local user.
        self.ctl.run("add-user", "erin", "erin-pass", expect=EXIT_OK)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("unshare"),
                     "needs root and unshare to give socks5d a group file of its own")
class PamAdminGroupTest(PamTestCase):
    def test_members_of_the_admin_group_are_admins(self):
        group_file = os.path.join(self.directory, "group")
        with open("/etc/group") as system, open(group_file, "w") as copy:
            text = system.read()
            gids = {int(line.split(":")[2]) for line in text.splitlines() if line.count(":") >= 3}
            copy.write(text + "%s:x:%d:%s\n" % (ADMIN_GROUP, max(gids | {60000}) + 1, PAM_ADMIN))
        # A mount namespace of its own: socks5d sees the copy as /etc/group, nobody else does.
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                  'mount --bind "$0" /etc/group && exec "$@"', group_file]
        server = self.start("--admin-group", ADMIN_GROUP, "--pam-cache", "0", prefix=prefix)
        whoami = self.record("whoami", user=PAM_ADMIN, password=PAM_ADMIN_PASSWORD)
        self.assertEqual(whoami["role"], "admin")
        self.ctl.run("users", user=PAM_ADMIN, password=PAM_ADMIN_PASSWORD, expect=EXIT_OK)
        self.ctl.run("users", user=PAM_USER, password=PAM_PASSWORD, expect=EXIT_FORBIDDEN)
        self.assertEqual(socks_login(server, PAM_ADMIN, PAM_ADMIN_PASSWORD)[0], 0)
        self.assertEqual(self.roles()[PAM_ADMIN], "admin")
        # The role follows the group at each check by PAM: out of the group, a regular user.
        with open(group_file, "r+") as copy:
            copy.write(text)
            copy.truncate()
        whoami = self.record("whoami", user=PAM_ADMIN, password=PAM_ADMIN_PASSWORD)
        self.assertEqual(whoami["role"], "user")


if __name__ == "__main__":
    unittest.main()
