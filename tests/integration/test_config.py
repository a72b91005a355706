"""The configuration file: socks5d started with -C, the command line over it, --check-config on
good and bad files (the message names the line), the packaged file, and reload — by SIGHUP and
by the admin's reload command — where a bad file changes nothing and a good one applies to new
connections while an established tunnel keeps running."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import (ADMIN_STATUS_OK, TEST_USER, AdminClient, EchoTestCase, Socks5dProcess, check_stopped_cleanly, echo_roundtrip,
                     open_tunnel, parse_admin_record, recv_exact, request, request_reply,
                     server_binary)

SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGED_CONFIG = os.path.join(SOURCE_DIR, "packaging", "socks5d.conf")

ADMIN_CMD_SERVER_INFO = 0x02
ADMIN_CMD_GET_BUFFER_SIZE = 0x0C
ADMIN_CMD_RELOAD = 0x11
ADMIN_STATUS_INVALID_CONFIG = 0x0A
REP_NOT_ALLOWED = 0x02  # RFC 1928: connection not allowed by ruleset
LOG_TIMEOUT = 10.0

STARTING_CONFIG = """// what the server starts with
buffer-size = 32768;
handshake-timeout = 7;
workers = 1;
port = 1;   // the command line's -p 0 wins
"""


def wait_for(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class ConfigDirectoryTest(EchoTestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-config-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.path = os.path.join(self.directory, "socks5d.conf")

    def write(self, text, path=None):
        with open(path or self.path, "w") as handle:
            handle.write(text)

    def check_config(self, *args):
        """(exit code, output) of socks5d --check-config ARGS."""
        result = subprocess.run([server_binary(), "--check-config"] + list(args),
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=30, env=dict(os.environ, HOME=self.directory,
                                                     STATE_DIRECTORY=self.directory))
        return result.returncode, result.stdout + result.stderr


class CheckConfig(ConfigDirectoryTest):
    def test_a_good_file_with_its_users_file_exits_0(self):
        users = os.path.join(self.directory, "users")
        self.write("root:admin:$y$j9T$abcdefgh$0123456789012345678901234567890123456789012\n",
                   users)
        self.write('listen = [ "127.0.0.1", "::1" ];\nport = 1080;\nno-auth = true;\n'
                   'users-file = "%s";\nlog-level = "debug";\n' % users)
        code, output = self.check_config("-C", self.path)
        self.assertEqual(code, 0, output)
        self.assertIn("users file %s: 1 users" % users, output)
        self.assertIn("configuration %s is good" % self.path, output)

    def test_a_bad_file_exits_1_naming_each_line(self):
        self.write("port = 1080;\n\nbuffer-size = 12;\nbogus = true;\n")
        code, output = self.check_config("-C", self.path)
        self.assertEqual(code, 1, output)
        self.assertIn("%s:3: buffer-size: '12' is not a number of bytes" % self.path, output)
        self.assertIn("%s:4: unknown key 'bogus'" % self.path, output)
        print("\n  " + output.strip().replace("\n", "\n  "), end="")

    def test_a_syntax_error_names_its_line(self):
        self.write("port = 1080;\nworkers = ;\n")
        code, output = self.check_config("-C", self.path)
        self.assertEqual(code, 1, output)
        self.assertIn("%s:2: syntax error" % self.path, output)

    def test_a_bad_users_file_fails_the_check(self):
        users = os.path.join(self.directory, "users")
        self.write("not a users file\n", users)
        self.write('users-file = "%s";\n' % users)
        code, output = self.check_config("-C", self.path)
        self.assertEqual(code, 1, output)
        self.assertIn("%s: line 1:" % users, output)

    def test_a_missing_file_and_a_bad_command_line_exit_1(self):
        code, output = self.check_config("-C", os.path.join(self.directory, "absent.conf"))
        self.assertEqual(code, 1, output)
        self.assertIn("absent.conf: No such file or directory", output)
        code, output = self.check_config("--no-such-option")
        self.assertEqual(code, 1, output)

    def test_a_bad_file_stops_a_start_with_78(self):
        self.write("port = 1080;\nidle-timeout = \"long\";\n")
        result = subprocess.run([server_binary(), "-C", self.path, "-f", "off"],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=30)
        self.assertEqual(result.returncode, 78, result.stderr)
        self.assertIn("%s:2: idle-timeout: expected a number" % self.path, result.stderr)

    def test_the_packaged_file_is_good_as_shipped_and_with_every_example_used(self):
        code, output = self.check_config("-C", PACKAGED_CONFIG, "-f", "off")
        self.assertEqual(code, 0, output)
        # Every "#" line is an example setting (prose uses //): all of them used at once.
        with open(PACKAGED_CONFIG) as handle:
            text = handle.read()
        examples = [line for line in text.splitlines() if line.startswith("#")]
        self.assertGreater(len(examples), 10, "the packaged file shows its keys")
        for section in ("#rules = (", "#limits = {"):
            self.assertIn(section, examples)
        # The example's certificate and key are files --check-config reads: a throwaway pair
        # made here stands in for them.
        certificate = os.path.join(self.directory, "admin.pem")
        key = os.path.join(self.directory, "admin.key")
        made = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out",
             certificate], capture_output=True, text=True, timeout=60)
        self.assertEqual(made.returncode, 0, made.stderr)
        uncommented = "\n".join(line[1:] if line.startswith("#") else line
                                for line in text.splitlines()) + "\n"
        for key_name, path in (("admin-tls-cert", certificate), ("admin-tls-key", key)):
            lines = [line for line in uncommented.splitlines()
                     if line.startswith(key_name + " =")]
            self.assertEqual(len(lines), 1, "the packaged file shows %s once" % key_name)
            uncommented = uncommented.replace(lines[0], '%s = "%s";' % (key_name, path))
        self.write(uncommented)
        code, output = self.check_config("-C", self.path, "-f", "off")
        self.assertEqual(code, 0, output)


class ConfiguredServer(ConfigDirectoryTest):
    """A server started with -C (and the harness's own command-line options over it)."""

    def setUp(self):
        super().setUp()
        self.write(STARTING_CONFIG)
        self.server = Socks5dProcess("-C", self.path)
        self.server.start()
        self.addCleanup(self.server.kill)

    def settings(self):
        with AdminClient(self.server) as admin:
            status, body = admin.request(ADMIN_CMD_GET_BUFFER_SIZE)
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            buffer_size = parse_admin_record(body)["buffer_size"]
            status, body = admin.request(ADMIN_CMD_SERVER_INFO)
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            info = parse_admin_record(body)
        return buffer_size, info["handshake_timeout_seconds"]

    def reload(self):
        """(status, message or record) of the admin's reload command."""
        with AdminClient(self.server) as admin:
            status, body = admin.request(ADMIN_CMD_RELOAD)
        if status == ADMIN_STATUS_OK:
            return status, parse_admin_record(body)
        return status, body.decode("utf-8", "replace").rstrip("\n")

    def sighup(self, marker):
        """SIGHUP, then the log's next line holding marker."""
        before = self.server.stderr_text().count(marker)
        os.kill(self.server.process.pid, signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.server.stderr_text().count(marker) > before,
                                 LOG_TIMEOUT), "no '%s' after SIGHUP:\n%s"
                        % (marker, self.server.stderr_text()[-3000:]))
        return [line for line in self.server.stderr_text().splitlines() if marker in line][-1]

    def test_the_file_is_applied_under_the_command_line(self):
        self.assertEqual(self.settings(), (32768, 7))
        self.assertNotEqual(self.server.port, 1)  # -p 0 on the command line won
        self.assertIn("1 worker", self.server.stderr_text())
        check_stopped_cleanly(self, self.server)

    def test_a_bad_file_changes_nothing_by_sighup_or_reload(self):
        self.write("buffer-size = 65536;\nhandshake-timeout = 9;\nworkers = \"two\";\n")
        line = self.sighup("SIGHUP: refused")
        self.assertIn("keeping the running configuration", line)
        self.assertIn("%s:3: workers: expected a number" % self.path,
                      self.server.stderr_text())
        self.assertEqual(self.settings(), (32768, 7))

        status, message = self.reload()
        self.assertEqual(status, ADMIN_STATUS_INVALID_CONFIG, message)
        self.assertEqual(message, "%s:3: workers: expected a number (0-256)" % self.path)
        self.assertEqual(self.settings(), (32768, 7))
        print("\n  reload answered: " + message, end="")
        self.assertEqual(echo_roundtrip(self.server, self.echo, b"kept\n"), b"kept\n")
        check_stopped_cleanly(self, self.server)

    def test_a_bad_users_file_changes_nothing_either(self):
        users = os.path.join(self.server.state_dir, "users")
        with open(users) as handle:
            good_users = handle.read()
        self.write(STARTING_CONFIG.replace("32768", "65536"))
        with open(users, "w") as handle:
            handle.write(good_users + "broken line\n")
        status, message = self.reload()
        self.assertEqual(status, ADMIN_STATUS_INVALID_CONFIG, message)
        self.assertIn("users file %s: line" % users, message)
        self.assertEqual(self.settings(), (32768, 7))
        with open(users, "w") as handle:
            handle.write(good_users)
        check_stopped_cleanly(self, self.server)

    def test_a_good_file_applies_to_new_connections_while_a_tunnel_keeps_running(self):
        tunnel, _ = open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with tunnel:
            tunnel.sendall(b"before\n")
            self.assertEqual(recv_exact(tunnel, 7), b"before\n")
            self.write(STARTING_CONFIG.replace("32768", "65536").replace("= 7", "= 9"))
            status, record = self.reload()
            self.assertEqual(status, ADMIN_STATUS_OK, record)
            self.assertEqual(record, {"restart_needed": ""})
            self.assertEqual(self.settings(), (65536, 9))
            # The established tunnel runs on.
            tunnel.sendall(b"after\n")
            self.assertEqual(recv_exact(tunnel, 6), b"after\n")
        self.assertEqual(echo_roundtrip(self.server, self.echo, b"new\n"), b"new\n")

        # SIGHUP too, back to the first file.
        self.write(STARTING_CONFIG)
        line = self.sighup("SIGHUP: configuration %s reloaded" % self.path)
        self.assertEqual(self.settings(), (32768, 7))
        print("\n  " + line, end="")
        check_stopped_cleanly(self, self.server)

    def connect_reply(self):
        reply, sock = request_reply(self.server, request("127.0.0.1", self.echo.port))
        sock.close()
        return reply[1]

    def test_rules_apply_to_new_connections_and_a_bad_rule_keeps_them(self):
        tunnel, _ = open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with tunnel:
            deny_echo = STARTING_CONFIG + (
                'rules = (\n  { name = "no-echo"; action = "deny"; to = "127.0.0.0/8";\n'
                '    port = %d; }\n);\n' % self.echo.port)
            self.write(deny_echo)
            status, record = self.reload()
            self.assertEqual(status, ADMIN_STATUS_OK, record)
            self.assertEqual(self.connect_reply(), REP_NOT_ALLOWED)
            # The tunnel opened before the rule runs on.
            tunnel.sendall(b"still\n")
            self.assertEqual(recv_exact(tunnel, 6), b"still\n")

        # A bad rule (line 9) is refused whole: the buffer size and the rule stay.
        self.write(deny_echo.replace("32768", "65536").replace(
            "port = %d; }" % self.echo.port, "port = %d;\n    from = \"10.0.0.0/40\"; }"
            % self.echo.port))
        status, message = self.reload()
        self.assertEqual(status, ADMIN_STATUS_INVALID_CONFIG, message)
        self.assertTrue(message.startswith("%s:9: rule 1: from:" % self.path), message)
        self.assertEqual(self.settings()[0], 32768)
        self.assertEqual(self.connect_reply(), REP_NOT_ALLOWED)

        # Back to no rules, by SIGHUP.
        self.write(STARTING_CONFIG)
        self.sighup("SIGHUP: configuration %s reloaded" % self.path)
        self.assertEqual(self.connect_reply(), 0)
        check_stopped_cleanly(self, self.server)

    def test_limits_from_a_reload_hold_for_new_connections(self):
        first, _ = open_tunnel(self.server, "127.0.0.1", self.echo.port)
        second, _ = open_tunnel(self.server, "127.0.0.1", self.echo.port)
        with first, second:
            self.write(STARTING_CONFIG + 'limits = {\n  users = ( { name = "%s";\n'
                       '    max-connections = 2; } );\n};\n' % TEST_USER)
            status, record = self.reload()
            self.assertEqual(status, ADMIN_STATUS_OK, record)
            # Two live already: the third is over the new limit; the two run on.
            self.assertEqual(self.connect_reply(), REP_NOT_ALLOWED)
            for tunnel in (first, second):
                tunnel.sendall(b"on\n")
                self.assertEqual(recv_exact(tunnel, 3), b"on\n")
        # Closed: a slot is free again (the server sees the ends in its own time).
        self.assertTrue(wait_for(lambda: self.connect_reply() == 0, LOG_TIMEOUT))
        self.write(STARTING_CONFIG + 'limits = { users = (\n { name = "%s"; '
                   'max-connections = "two"; } ); };\n' % TEST_USER)
        status, message = self.reload()
        self.assertEqual(status, ADMIN_STATUS_INVALID_CONFIG, message)
        self.assertTrue(message.startswith("%s:7: limits: user %s: max-connections:"
                                           % (self.path, TEST_USER)), message)
        check_stopped_cleanly(self, self.server)

    def test_a_key_only_a_restart_applies_is_kept_and_named(self):
        self.write(STARTING_CONFIG.replace("workers = 1", "workers = 2")
                   .replace("port = 1;", "port = 2;") + "admin-sessions = 5;\n")
        status, record = self.reload()
        self.assertEqual(status, ADMIN_STATUS_OK, record)
        # port changed in the file, but the command line's -p 0 still decides it
        self.assertEqual(record, {"restart_needed": "workers, admin-sessions"})
        self.assertIn("reload: changed, but kept until a restart: workers, admin-sessions",
                      self.server.stderr_text())
        line = self.sighup("SIGHUP: changed, but kept until a restart")
        self.assertTrue(line.endswith("workers, admin-sessions"), line)
        self.assertEqual(echo_roundtrip(self.server, self.echo, b"one worker\n"),
                         b"one worker\n")
        check_stopped_cleanly(self, self.server)


if __name__ == "__main__":
    unittest.main()
