"""The README's commands on a fresh machine: scripts/run builds and serves, and the test suite
runs, with only what `scripts/deps build` and `scripts/deps test` install.

This machine has far more installed than a fresh one, so every test here runs its commands
through scripts/confine, which hides each command and pkg-config file that the named packages
(with what they depend on, and Debian's base) do not provide. A package missing from
scripts/deps then fails here as it would on a bare Debian."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import harness

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_TIMEOUT = 240  # a tests-off RelWithDebInfo build of both programs on 2 cores takes ~1 min
ADMIN = ("fresh-admin", "fresh-admin-pass")


def copy_source(destination):
    """The tree as a fresh clone has it: no build folders, no git metadata."""
    def ignored(directory, names):
        if os.path.abspath(directory) == SOURCE_ROOT:
            return [name for name in names if name in (".git", "build")]
        return []
    shutil.copytree(SOURCE_ROOT, destination, ignore=ignored, symlinks=True)


def confined(mode, environment_dir, command, without=(), **kwargs):
    """Runs command under scripts/confine MODE; returns the CompletedProcess."""
    argv = [sys.executable, os.path.join(SOURCE_ROOT, "scripts", "confine")]
    for package in without:
        argv += ["--without", package]
    argv += [mode, environment_dir, "--"] + list(command)
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          **kwargs)


def command_paths(mode, environment_dir, names):
    """name -> path (or '') of each command as the confined shell finds it."""
    script = "for c in %s; do printf '%%s=%%s\\n' \"$c\" \"$(command -v \"$c\")\"; done" % \
        " ".join(names)
    result = confined(mode, environment_dir, ["sh", "-c", script], timeout=60)
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


class TemporaryDirectoryTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-fresh-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.environment_dir = os.path.join(self.directory, "confined")


class ConfinementTest(TemporaryDirectoryTest):
    """scripts/confine really hides what the packages do not provide (else the tests below
    would prove nothing)."""

    def test_build_set_has_the_compiler_and_not_the_test_tools(self):
        found = command_paths("build", self.environment_dir,
                              ["cc", "gcc", "make", "cmake", "pkg-config", "sh",
                               "python3", "curl", "tmux", "clang", "strace", "lintian"])
        for name in ("cc", "gcc", "make", "cmake", "pkg-config", "sh"):
            self.assertTrue(found[name].startswith(self.environment_dir), (name, found[name]))
        for name in ("python3", "curl", "tmux", "clang", "strace", "lintian"):
            self.assertEqual(found[name], "", "%s is visible in the build set" % name)

    def test_build_set_has_only_the_build_libraries(self):
        check = "pkg-config --exists libxcrypt ncursesw readline libsystemd libconfig sqlite3" \
                " openssl pam && echo libraries;" \
                " pkg-config --exists check && echo check; true"
        result = confined("build", self.environment_dir, ["sh", "-c", check], timeout=60)
        self.assertEqual(result.stdout.split(), ["libraries"], result.stderr)

    def test_test_set_has_every_tool_the_tests_run(self):
        tools = ["python3", "curl", "tmux", "ss", "ip", "clang", "strace", "lintian",
                 "dpkg-deb", "dpkg-shlibdeps", "systemd-analyze", "cpack", "ctest",
                 "prlimit", "unshare", "mount", "taskset", "timeout", "od", "haproxy",
                 "prometheus", "promtool", "openssl"]
        found = command_paths("test", self.environment_dir, tools)
        missing = [name for name in tools if not found.get(name)]
        self.assertEqual(missing, [], "not provided by `scripts/deps test`")
        result = confined("test", self.environment_dir,
                          ["pkg-config", "--exists", "check"], timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        # Not a command: test_pam.py's PAM module (pam_pwdfile.so), a package of the set.
        allowed = confined("test", self.environment_dir, [], timeout=60).stdout.split()
        self.assertIn("libpam-pwdfile", allowed)

    def test_a_package_left_out_fails_the_configure_step(self):
        source = os.path.join(self.directory, "source")
        copy_source(source)
        result = confined("build", self.environment_dir,
                          ["cmake", "-S", source, "-B", os.path.join(self.directory, "build"),
                           "-DBUILD_TESTING=OFF"],
                          without=["libreadline-dev"], timeout=BUILD_TIMEOUT)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("readline", result.stdout + result.stderr)

    def test_testing_on_needs_more_than_the_build_set(self):
        source = os.path.join(self.directory, "source")
        copy_source(source)
        result = confined("build", self.environment_dir,
                          ["cmake", "-S", source, "-B", os.path.join(self.directory, "build"),
                           "-DBUILD_TESTING=ON"], timeout=BUILD_TIMEOUT)
        self.assertNotEqual(result.returncode, 0, result.stdout)
        self.assertIn("check", result.stdout + result.stderr)


class ScriptsRunTest(TemporaryDirectoryTest):
    """`scripts/run` in a fresh copy of the tree, seeing only the build set: it builds both
    programs and ends in a server that answers a SOCKS5 login."""

    def test_scripts_run_builds_and_serves(self):
        source = os.path.join(self.directory, "source")
        copy_source(source)
        state = os.path.join(self.directory, "state")
        os.mkdir(state)
        environment = harness.isolated_env(state)
        environment["SOCKS5D_ADMIN"] = "%s:%s" % ADMIN
        stderr_path = os.path.join(self.directory, "run.log")
        with open(stderr_path, "w") as stderr:
            process = subprocess.Popen(
                [sys.executable, os.path.join(source, "scripts", "confine"), "build",
                 self.environment_dir, "--", "bash", os.path.join(source, "scripts", "run"),
                 "-p", "0", "-P", "0", "-f", "off"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                env=environment)
        self.addCleanup(self._stop, process)
        port = self._wait_socks_port(process, stderr_path)

        with socket.create_connection(("127.0.0.1", port), timeout=harness.SOCKET_TIMEOUT) as s:
            s.sendall(b"\x05\x01\x02")
            self.assertEqual(harness.recv_exact(s, 2), b"\x05\x02")
            user, password = (part.encode() for part in ADMIN)
            s.sendall(bytes([1, len(user)]) + user + bytes([len(password)]) + password)
            self.assertEqual(harness.recv_exact(s, 2), b"\x01\x00")

        console = os.path.join(source, "build", "release", "console", "socks5ctl")
        version = subprocess.run([console, "-v"], capture_output=True, text=True, timeout=10)
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertTrue(version.stdout.startswith("socks5ctl "), version.stdout)
        # Tests off: nothing of the test tree was configured.
        self.assertFalse(os.path.exists(os.path.join(source, "build", "release", "tests")))

        process.send_signal(signal.SIGTERM)
        self.assertEqual(process.wait(timeout=harness.STOP_TIMEOUT), 0)

    def _wait_socks_port(self, process, stderr_path):
        deadline = time.monotonic() + BUILD_TIMEOUT
        pattern = re.compile(r"listening for socks5 on 127\.0\.0\.1:(\d+)")
        while time.monotonic() < deadline:
            with open(stderr_path) as stderr:
                match = pattern.search(stderr.read())
            if match:
                return int(match.group(1))
            if process.poll() is not None:
                with open(stderr_path) as stderr:
                    self.fail("scripts/run exited with %d:\n%s" % (process.returncode,
                                                                     stderr.read()))
            time.sleep(0.2)
        self.fail("scripts/run did not start listening within %d s" % BUILD_TIMEOUT)

    @staticmethod
    def _stop(process):
        if process.poll() is None:
            process.kill()
            process.wait()


class PackageBuildTest(TemporaryDirectoryTest):
    """packaging/build-deb and lintian, seeing only the package set."""

    def test_build_deb_with_the_package_set_only(self):
        source = os.path.join(self.directory, "source")
        copy_source(source)
        build = os.path.join(self.directory, "deb")
        result = confined("package", self.environment_dir,
                          ["sh", os.path.join(source, "packaging", "build-deb"), build],
                          timeout=BUILD_TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stdout[-4000:] + result.stderr[-4000:])
        packages = [name for name in os.listdir(build) if name.endswith(".deb")]
        self.assertEqual(len(packages), 1, packages)
        lintian = confined("package", self.environment_dir,
                           ["lintian", os.path.join(build, packages[0])], timeout=BUILD_TIMEOUT)
        self.assertEqual(lintian.returncode, 0, lintian.stdout + lintian.stderr)


class SuiteConfinementTest(unittest.TestCase):
    """scripts/test runs the whole suite confined to the test set."""

    @unittest.skipUnless(os.environ.get("SOCKS5D_TEST_CONFINED"), "not run by scripts/test")
    def test_path_is_the_confined_one(self):
        entries = os.environ["PATH"].split(os.pathsep)
        self.assertEqual(len(entries), 1, entries)
        self.assertTrue(entries[0].endswith(os.path.join("confined", "bin")), entries)
        self.assertTrue(os.environ.get("PKG_CONFIG_LIBDIR", "").endswith("pkgconfig"))


if __name__ == "__main__":
    unittest.main()
