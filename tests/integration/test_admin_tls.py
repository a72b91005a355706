"""The admin protocol over TLS, with a throwaway CA made by the `openssl` command: socks5ctl
--tls/--ca against a good certificate, refusals that name their cause (wrong name, unknown CA,
expired), a plaintext client on a TLS port and --tls on a plaintext port (clear errors, no
hang), the options' checks, the warning for a plaintext admin port off loopback, requests
pipelined in one TLS record, and an upgrade that hands the TLS listener over."""

import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import time
import unittest

import harness
from harness import Socks5dProcess, START_TIMEOUT
from test_console_batch import (Console, ADMIN_USER, ADMIN_PASSWORD, EXIT_OK, EXIT_USAGE,
                                EXIT_UNAVAILABLE)

# A refused handshake or a dropped plaintext login is answered at once: seconds allow for a
# busy Debug (ASan) build, and stay far below the 10 s login deadline a hang would meet.
QUICK_S = 5.0


class ThrowawayCA:
    """A CA and certificates signed by it, made by the openssl command in a temporary
    directory: P-256 keys (fast to make), every certificate for 127.0.0.1 unless told."""

    def __init__(self, directory, name):
        self.directory = directory
        self.openssl = harness.require_tool("openssl")
        self.key = self.path(name + ".key")
        self.pem = self.path(name + ".pem")
        self.run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", self.key, "-out", self.pem, "-days", "2",
                 "-subj", "/CN=socks5d test CA " + name)

    def path(self, name):
        return os.path.join(self.directory, name)

    def run(self, *args):
        subprocess.run([self.openssl] + list(args), check=True, capture_output=True,
                       timeout=60)

    def issue(self, name, alt_names="IP:127.0.0.1,DNS:localhost", days=1):
        """(certificate, key) paths; days -1 makes one that has already expired."""
        key, csr = self.path(name + ".key"), self.path(name + ".csr")
        pem, extensions = self.path(name + ".pem"), self.path(name + ".ext")
        with open(extensions, "w") as file:
            file.write("subjectAltName=%s\n" % alt_names)
        self.run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        self.run("x509", "-req", "-in", csr, "-CA", self.pem, "-CAkey", self.key,
                 "-CAcreateserial", "-out", pem, "-days", str(days), "-extfile", extensions)
        return pem, key


def localhost_in_hosts():
    """Whether /etc/hosts names localhost 127.0.0.1 (then no resolver is asked for it)."""
    try:
        with open("/etc/hosts") as hosts:
            return any(re.match(r"\s*127\.0\.0\.1\s.*\blocalhost\b", line) for line in hosts)
    except OSError:
        return False


def login_frame(user=ADMIN_USER, password=ADMIN_PASSWORD):
    user, password = user.encode(), password.encode()
    return bytes([2, 0, len(user)]) + user + bytes([len(password)]) + password


PING = bytes([2, 0, 0x01]) + struct.pack(">I", 0)


def read_response(sock):
    status, length = struct.unpack(">xxBI", harness.recv_exact(sock, 7))
    return status, harness.recv_exact(sock, length)


class AdminTlsTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.directory = tempfile.mkdtemp(prefix="socks5d-tls-")
        cls.ca = ThrowawayCA(cls.directory, "ca")
        cls.other_ca = ThrowawayCA(cls.directory, "other-ca")
        cls.good = cls.ca.issue("good")
        cls.wrong_name = cls.ca.issue("wrong-name", alt_names="DNS:elsewhere.invalid")
        cls.expired = cls.ca.issue("expired", days=-1)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory, ignore_errors=True)

    def server(self, *args, certificate=None):
        """A started socks5d; with certificate (cert, key), its admin port speaks TLS."""
        if certificate is not None:
            args = ("--admin-tls-cert", certificate[0], "--admin-tls-key", certificate[1]
                    ) + args
        server = Socks5dProcess("--accounting-db", "off", *args)
        self.addCleanup(server.stop)
        server.start()
        port = server.wait_admin_listener()[0][1]
        return server, port

    def console(self, port, *tls_flags):
        console = Console(self, port)
        base = console.argv

        def argv(args, user):
            full = base(args, user)
            return full[:1] + list(tls_flags) + full[1:]
        console.argv = argv
        return console

    def assert_quick_refusal(self, port, flags, pattern):
        started = time.monotonic()
        result = self.console(port, *flags).run("whoami", expect=EXIT_UNAVAILABLE)
        self.assertLess(time.monotonic() - started, QUICK_S, result)
        self.assertRegex(result.err, pattern, result)
        self.assertEqual(result.out, "")
        return result


class GoodCertificate(AdminTlsTestCase):
    def setUp(self):
        self.socks5d, self.port = self.server(certificate=self.good)

    def test_batch_commands_over_tls(self):
        ctl = self.console(self.port, "--ca", self.ca.pem)
        (me,) = ctl.json("whoami")
        self.assertEqual((me["record"]["user"], me["record"]["role"]), (ADMIN_USER, "admin"))
        # A change and its effect, in one session: commands on stdin.
        ctl.run(stdin="add-user tlsuser secret-1 user\nusers\n", expect=EXIT_OK)
        self.assertIn("tlsuser", ctl.run("users", expect=EXIT_OK).out)
        self.assertIn("admin port speaks TLS", self.socks5d.stderr_text())
        self.assertRegex(self.socks5d.stderr_text(), r"admin 127\.0\.0\.1:\d+: logged in as")
        harness.check_stopped_cleanly(self, self.socks5d)

    def test_tls_flag_alone_uses_the_system_store(self):
        # --tls without --ca trusts the system's CAs, which never include this throwaway one.
        self.assert_quick_refusal(self.port, ["--tls"],
                                  r"certificate verify failed: unable to get local issuer")

    def test_unknown_ca_refused(self):
        self.assert_quick_refusal(
            self.port, ["--ca", self.other_ca.pem],
            r"^socks5ctl: cannot connect to 127\.0\.0\.1:%d over TLS: certificate verify "
            r"failed: unable to get local issuer certificate \(127\.0\.0\.1\): its CA is not "
            r"trusted" % self.port)

    def test_ca_file_that_cannot_be_read(self):
        missing = os.path.join(self.directory, "missing.pem")
        self.assert_quick_refusal(self.port, ["--ca", missing],
                                  r"--ca %s: No such file or directory" % re.escape(missing))
        not_pem = self.ca.path("good.ext")
        self.assert_quick_refusal(self.port, ["--ca", not_pem],
                                  r"--ca %s: no PEM certificate in it" % re.escape(not_pem))

    def test_plaintext_client_gets_a_clean_error(self):
        # By hand: the login bytes are no TLS record; the server drops the connection at once.
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=QUICK_S) as sock:
            sock.sendall(login_frame())
            try:
                self.assertEqual(sock.recv(100), b"")
            except ConnectionResetError:
                pass
        self.assertLess(time.monotonic() - started, QUICK_S)
        self.assertRegex(self.socks5d.stderr_text(),
                         r"TLS with 127\.0\.0\.1:\d+: the handshake failed: wrong version number")
        # socks5ctl without --tls says what to do.
        self.assert_quick_refusal(self.port, [], r"no login reply from 127\.0\.0\.1:%d: .*"
                                                 r"\(if its admin port speaks TLS: add --tls\)"
                                  % self.port)

    def test_stalled_handshake_ends_at_the_login_deadline(self):
        """Half a ClientHello, then nothing: the 10 s login deadline covers the handshake."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(b"\x16\x03\x01\x00\xc8\x01\x00")
            started = time.monotonic()
            # Meanwhile the admin's loop serves others: it never waits on a handshake.
            self.console(self.port, "--ca", self.ca.pem).run("whoami", expect=EXIT_OK)
            self.assertLess(time.monotonic() - started, 8.0)
            try:
                self.assertEqual(sock.recv(100), b"")
            except ConnectionResetError:
                pass
            elapsed = time.monotonic() - started
        self.assertGreater(elapsed, 8.0)
        self.assertLess(elapsed, 20.0)
        self.assertIn("login timed out", self.socks5d.stderr_text())

    def test_pipelined_requests_in_one_record(self):
        """Many requests in one TLS record: the server reads them 4 KiB at a time, the rest
        waiting decrypted inside OpenSSL where no readiness of the socket announces them."""
        context = ssl.create_default_context(cafile=self.ca.pem)
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
            self.assertIn(sock.version(), ("TLSv1.2", "TLSv1.3"))
            sock.sendall(login_frame())
            self.assertEqual(harness.recv_exact(sock, 4), bytes([2, 0, 0, 1]))
            count = 1500  # 7.5 KB of requests: one record, read in two halves at least
            sock.sendall(PING * count)
            for _ in range(count):
                self.assertEqual(read_response(sock)[0], 0)
        harness.check_stopped_cleanly(self, self.socks5d)

    def s_client(self, *flags):
        completed = subprocess.run(
            [self.ca.openssl, "s_client", "-connect", "127.0.0.1:%d" % self.port,
             "-CAfile", self.ca.pem] + list(flags),
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        return completed.stdout + completed.stderr

    def test_tls_1_2_taken_and_1_1_refused(self):
        self.assertRegex(self.s_client("-tls1_2"), r"Protocol\s*: TLSv1\.2")
        # At the lowest security level, so that refusing it is the server's doing.
        output = self.s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertIn("alert protocol version", output)
        self.assertRegex(self.socks5d.stderr_text(),
                         r"TLS with 127\.0\.0\.1:\d+: the handshake failed: unsupported protocol")

    def test_name_checked_through_sni(self):
        """-a with a name: checked against the certificate's DNS names. Only where
        /etc/hosts names localhost, so that no resolver is asked."""
        if not localhost_in_hosts():
            self.skipTest("/etc/hosts does not name localhost 127.0.0.1")
        console = self.console(self.port, "--ca", self.ca.pem)
        console.host = "localhost"
        console.run("whoami", expect=EXIT_OK)


class RefusedCertificates(AdminTlsTestCase):
    def test_a_name_the_certificate_lacks_is_refused(self):
        """-a localhost against a certificate for the address alone: the name, not the
        address it resolves to, must be in the certificate."""
        if not localhost_in_hosts():
            self.skipTest("/etc/hosts does not name localhost 127.0.0.1")
        _, port = self.server(certificate=self.ca.issue("address-only",
                                                        alt_names="IP:127.0.0.1"))
        started = time.monotonic()
        console = self.console(port, "--ca", self.ca.pem)
        console.host = "localhost"
        result = console.run("whoami", expect=EXIT_UNAVAILABLE)
        self.assertLess(time.monotonic() - started, QUICK_S, result)
        self.assertRegex(result.err, r"certificate verify failed: hostname mismatch", result)

    def test_wrong_name_refused(self):
        _, port = self.server(certificate=self.wrong_name)
        self.assert_quick_refusal(port, ["--ca", self.ca.pem],
                                  r"certificate verify failed: IP address mismatch "
                                  r"\(127\.0\.0\.1\): the certificate is not for the name")

    def test_expired_refused_and_warned(self):
        server, port = self.server(certificate=self.expired)
        self.assertIn("the certificate has expired: clients will refuse it",
                      server.stderr_text())
        self.assert_quick_refusal(port, ["--ca", self.ca.pem],
                                  r"certificate verify failed: certificate has expired")

    def test_tls_client_on_a_plaintext_port(self):
        server, port = self.server()
        self.assert_quick_refusal(port, ["--ca", self.ca.pem],
                                  r"TLS handshake failed: .*: the server answered without TLS "
                                  r"\(a plaintext admin port\? then leave out --tls\)")
        # The server saw a bad login (a ClientHello's first byte is no version 2) and goes on.
        self.console(port).run("whoami", expect=EXIT_OK)


class Options(AdminTlsTestCase):
    def start_failing(self, *args):
        server = Socks5dProcess(*args)
        self.addCleanup(server.kill)
        completed = subprocess.run(server.args, env=server.env, capture_output=True, text=True,
                                   timeout=START_TIMEOUT)
        self.assertNotEqual(completed.returncode, 0, completed.stderr)
        return completed

    def test_cert_without_key_is_a_usage_error(self):
        completed = self.start_failing("--admin-tls-cert", self.good[0])
        self.assertEqual(completed.returncode, EXIT_USAGE)
        self.assertIn("--admin-tls-key is needed with --admin-tls-cert", completed.stderr)
        completed = self.start_failing("--admin-tls-key", self.good[1])
        self.assertIn("--admin-tls-cert is needed with --admin-tls-key", completed.stderr)

    def test_bad_files_named(self):
        missing = os.path.join(self.directory, "missing.key")
        completed = self.start_failing("--admin-tls-cert", self.good[0],
                                       "--admin-tls-key", missing)
        self.assertIn("admin TLS: %s: cannot read the private key: No such file or directory"
                      % missing, completed.stderr)
        completed = self.start_failing("--admin-tls-cert", self.good[1],
                                       "--admin-tls-key", self.good[1])
        self.assertIn("%s: not a PEM certificate chain" % self.good[1], completed.stderr)
        completed = self.start_failing("--admin-tls-cert", self.good[0],
                                       "--admin-tls-key", self.wrong_name[1])
        self.assertIn("%s: not the key of the certificate in %s"
                      % (self.wrong_name[1], self.good[0]), completed.stderr)

    def test_check_config_reads_the_files(self):
        completed = self.start_failing("--check-config", "--admin-tls-cert", self.good[0],
                                       "--admin-tls-key", self.ca.pem)
        self.assertIn("%s: not a PEM private key" % self.ca.pem, completed.stdout
                      + completed.stderr)
        server = Socks5dProcess("--check-config", "--admin-tls-cert", self.good[0],
                                "--admin-tls-key", self.good[1])
        completed = subprocess.run(server.args, env=server.env, capture_output=True,
                                   text=True, timeout=START_TIMEOUT)
        self.assertEqual(completed.returncode, 0, completed.stdout + completed.stderr)

    def test_plaintext_off_loopback_warns(self):
        warning = "is plaintext: passwords and commands cross the network readable"
        server, _ = self.server()
        self.assertNotIn(warning, server.stderr_text())
        server, _ = self.server("-L", "0.0.0.0")
        self.assertIn("the admin port on 0.0.0.0 %s" % warning, server.stderr_text())
        server, port = self.server("-L", "0.0.0.0", certificate=self.good)
        self.assertNotIn(warning, server.stderr_text())
        self.console(port, "--ca", self.ca.pem).run("whoami", expect=EXIT_OK)


class Upgrade(AdminTlsTestCase):
    def test_tls_listener_handed_over(self):
        """The successor takes the admin socket and reads the certificate again itself."""
        upgrade = os.path.join(self.directory, "upgrade-%d.sock" % os.getpid())
        tls = ("--admin-tls-cert", self.good[0], "--admin-tls-key", self.good[1],
               "--shutdown-grace", "0")
        old, port = self.server("--upgrade-socket", upgrade, *tls)
        ctl = self.console(port, "--ca", self.ca.pem)
        ctl.run("whoami", expect=EXIT_OK)
        new = Socks5dProcess("--accounting-db", "off", "--take-over", upgrade, *tls)
        self.addCleanup(new.stop)
        new.start()
        deadline = time.monotonic() + START_TIMEOUT
        while old.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIsNotNone(old.process.poll(), "the old socks5d still runs")
        self.assertIn("took over from socks5d pid %d" % old.process.pid, new.stderr_text())
        self.assertIn("admin port speaks TLS", new.stderr_text())
        ctl.run("whoami", expect=EXIT_OK)


if __name__ == "__main__":
    unittest.main()
