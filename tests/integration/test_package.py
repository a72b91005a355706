#!/usr/bin/env python3
"""The Debian package and the installed layout. The package comes from a tree of its own,
built by packaging/build-deb in a temporary directory (RelWithDebInfo for /usr, tests off,
Debian's hardening flags), whatever tree runs the tests: a Debug tree's sanitizer runtime must
never reach a package, and this also proves a tests-off build packages. Checked: lintian finds
no error or warning; the files, control fields, conffiles and maintainer scripts; Depends
covers every library the programs link; the extracted programs run; `cmake --install` into a
DESTDIR gives the same files as the package, and the GNU layout under another prefix."""

import gzip
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

from harness import require_tool

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT_SOURCE = os.path.join(SOURCE_ROOT, "assets", "socks5d.service")
BUILD_TIMEOUT = 240  # ~15 s on 2 cores when nothing else runs
TOOL_TIMEOUT = 120
DOC = "usr/share/doc/socks5d/"
PROGRAMS = ("usr/sbin/socks5d", "usr/bin/socks5ctl")


def project_version():
    with open(os.path.join(SOURCE_ROOT, "CMakeLists.txt"), encoding="utf-8") as handle:
        return re.search(r"project\(socks5d VERSION ([0-9.]+)", handle.read()).group(1)


def run(argv, timeout=TOOL_TIMEOUT, **kwargs):
    """A command's CompletedProcess (text); fails the test, with its output, if it fails."""
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    if result.returncode != 0:
        raise AssertionError("%s exited %d:\n%s\n%s" % (" ".join(argv), result.returncode,
                                                         result.stdout[-6000:],
                                                         result.stderr[-6000:]))
    return result


def unit_directory():
    """Where the package puts the unit: this distribution's systemd unit directory."""
    result = subprocess.run(["pkg-config", "--variable=systemdsystemunitdir", "systemd"],
                            capture_output=True, text=True)
    return (result.stdout.strip() or "/lib/systemd/system").lstrip("/") + "/"


def owning_package(path):
    """The package that ships a library, found by its real file: with /usr merged, dpkg knows
    it under /lib or /usr/lib, whichever the package used."""
    real = os.path.realpath(path)
    for line in run(["dpkg", "-S", "*/" + os.path.basename(real)]).stdout.splitlines():
        package, _, owned = line.partition(": ")
        if os.path.realpath(owned) == real:
            return package.split(":")[0]
    raise AssertionError("no package ships %s" % real)


def enclosing_conditions(script):
    """[(line, [the conditions of the if blocks around it])] of a shell script."""
    stack, lines = [], []
    for line in script.splitlines():
        word = line.strip()
        if word.startswith("if "):
            stack.append(word)
        elif word == "fi" and stack:
            stack.pop()
        lines.append((word, list(stack)))
    return lines


def expected_files(unit_dir):
    return {
        "usr/sbin/socks5d", "usr/bin/socks5ctl",
        "usr/share/man/man8/socks5d.8.gz", "usr/share/man/man1/socks5ctl.1.gz",
        unit_dir + "socks5d.service", "etc/default/socks5d", "etc/socks5d/socks5d.conf",
        DOC + "copyright", DOC + "changelog.gz", DOC + "examples/users.example",
    }


def files_under(root):
    """Regular files under root, as paths relative to it."""
    found = set()
    for directory, _, names in os.walk(root):
        for name in names:
            found.add(os.path.relpath(os.path.join(directory, name), root))
    return found


def unit_setting(text, key):
    values = re.findall(r"^%s=(.*)$" % re.escape(key), text, re.MULTILINE)
    return values[-1] if values else None


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("cmake", "cpack", "dpkg-deb", "dpkg-shlibdeps", "lintian", "pkg-config",
                     "readelf"):
            require_tool(tool)
        cls.directory = tempfile.mkdtemp(prefix="socks5d-package-")
        try:
            cls.build = os.path.join(cls.directory, "build")
            run([os.path.join(SOURCE_ROOT, "packaging", "build-deb"), cls.build],
                timeout=BUILD_TIMEOUT)
            architecture = run(["dpkg", "--print-architecture"]).stdout.strip()
            cls.version = project_version()
            cls.deb = os.path.join(cls.build, "socks5d_%s_%s.deb" % (cls.version, architecture))
            if not os.path.exists(cls.deb):
                raise AssertionError("no %s; the build made: %s"
                                     % (cls.deb, sorted(os.listdir(cls.build))))
            cls.architecture = architecture
            cls.root = os.path.join(cls.directory, "root")
            run(["dpkg-deb", "-x", cls.deb, cls.root])
            cls.control = os.path.join(cls.directory, "control")
            run(["dpkg-deb", "-e", cls.deb, cls.control])
        except BaseException:
            shutil.rmtree(cls.directory, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.directory, ignore_errors=True)

    def field(self, name):
        return run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()

    def test_lintian_finds_no_errors_or_warnings(self):
        result = subprocess.run(["lintian", "--display-info", "--pedantic",
                                 "--display-experimental", self.deb],
                                capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        print("lintian (exit %d):\n%s%s" % (result.returncode, result.stdout, result.stderr),
              file=sys.stderr)
        # Warnings fail too: the package has none, so a new one is a regression to look at.
        problems = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
        self.assertEqual(problems, [])

    def test_files(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout.splitlines()
        modes = {}
        for line in listing:
            mode, _, _, _, _, path = line.split(None, 5)
            if not mode.startswith("d"):
                modes[os.path.normpath(path)] = mode
        self.assertEqual(set(modes), expected_files(unit_directory()), "\n".join(listing))
        for path, mode in modes.items():
            self.assertEqual(mode, "-rwxr-xr-x" if path in PROGRAMS else "-rw-r--r--", path)

    def test_compressed_as_debian_wants(self):
        """gzip -9n: maximum compression, no file name, no time stamp (reproducible)."""
        for path in ("usr/share/man/man8/socks5d.8.gz", "usr/share/man/man1/socks5ctl.1.gz",
                     DOC + "changelog.gz"):
            with open(os.path.join(self.root, path), "rb") as handle:
                header = handle.read(10)
            self.assertEqual(header[:3], b"\x1f\x8b\x08", path)
            self.assertEqual(header[3] & 0x08, 0, path + " keeps a file name")
            self.assertEqual(header[4:8], b"\0\0\0\0", path + " keeps a time stamp")
            self.assertEqual(header[8], 2, path + " is not compressed with -9")
        with gzip.open(os.path.join(self.root, DOC + "changelog.gz"), "rt") as handle:
            self.assertTrue(handle.readline().startswith("socks5d (%s) " % self.version))

    def test_control_fields(self):
        self.assertEqual(self.field("Package"), "socks5d")
        self.assertEqual(self.field("Version"), self.version)
        self.assertEqual(self.field("Architecture"), self.architecture)
        self.assertEqual(self.field("Section"), "net")
        self.assertEqual(self.field("Priority"), "optional")
        self.assertRegex(self.field("Maintainer"), r"^[^<>]+ <[^@<>\s]+@[^@<>\s]+>$")
        description = self.field("Description").splitlines()
        self.assertGreater(len(description), 2, "a synopsis and a long description")

    def test_depends_covers_every_linked_library(self):
        """Each library the programs link (NEEDED) belongs to a package Depends names, as
        dpkg-shlibdeps computed it."""
        depends = {entry.split()[0] for entry in self.field("Depends").split(", ")}
        print("Depends: " + self.field("Depends"), file=sys.stderr)
        self.assertTrue({"libc6", "libcrypt1", "procps"} <= depends, depends)
        for program in PROGRAMS:
            path = os.path.join(self.root, program)
            dynamic = run(["readelf", "-d", path]).stdout
            needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
            resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", path]).stdout,
                                       re.MULTILINE))
            for soname in needed:
                self.assertIn(soname, resolved, "%s: ldd does not find %s" % (program, soname))
                package = owning_package(resolved[soname])
                self.assertIn(package, depends, "%s links %s (%s)" % (program, soname, package))

    def test_conffiles_and_maintainer_scripts(self):
        with open(os.path.join(self.control, "conffiles")) as handle:
            conffiles = handle.read().split()
        shipped_in_etc = sorted("/" + path for path in files_under(self.root)
                                if path.startswith("etc/"))
        self.assertEqual(sorted(conffiles), shipped_in_etc, "every file in /etc is a conffile")
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o755, script)
            with open(path) as handle:
                text = handle.read()
            self.assertTrue(text.startswith("#!/bin/sh\n"), script)
            self.assertRegex(text, r"(?m)^set -e$", script)
            self.assertIn("'socks5d.service'", text, script)
            run(["sh", "-n", path])
            # Services start and stop only where systemd runs: not in a chroot or an image.
            for line, conditions in enclosing_conditions(text):
                if line.startswith(("deb-systemd-invoke", "systemctl")):
                    self.assertTrue(any("[ -d /run/systemd/system ]" in condition
                                        for condition in conditions), script + ": " + line)

    def test_unit_and_defaults_as_in_the_source(self):
        """The packaged unit is assets/socks5d.service unchanged (the package's prefix is the
        unit's), and /etc/default/socks5d starts socks5d as the unit does without it."""
        with open(os.path.join(self.root, unit_directory(), "socks5d.service")) as handle:
            packaged = handle.read()
        with open(UNIT_SOURCE) as handle:
            self.assertEqual(packaged, handle.read())
        default_file = os.path.join(self.root, "etc", "default", "socks5d")
        from_file = run(["sh", "-c", '. "$1"; printf %s "$SOCKS5D_OPTS"', "sh",
                         default_file]).stdout
        environment = unit_setting(packaged, "Environment")
        self.assertEqual('"SOCKS5D_OPTS=%s"' % from_file, environment)
        self.assertIn("EnvironmentFile=-/etc/default/socks5d", packaged.splitlines())

    def test_extracted_programs_run(self):
        for program in PROGRAMS:
            result = run([os.path.join(self.root, program), "-v"], timeout=10)
            expected = "%s %s" % (os.path.basename(program), self.version)
            self.assertTrue(result.stdout.startswith(expected), result.stdout)

    def test_cmake_install_gives_the_package_files(self):
        destination = os.path.join(self.directory, "destdir-usr")
        run(["cmake", "--install", self.build], env=dict(os.environ, DESTDIR=destination))
        self.assertEqual(files_under(destination), expected_files(unit_directory()))


def build_tree_prefix(build):
    with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as handle:
        return re.search(r"^CMAKE_INSTALL_PREFIX:PATH=(.*)$", handle.read(), re.M).group(1)


class InstallFromSource(unittest.TestCase):
    """`cmake --install` of the tree that runs the tests (configured for its own prefix,
    /usr/local by default): the GNU layout under that prefix, a unit that names the programs
    and options file there, and an options file that a reinstall leaves as edited."""

    def setUp(self):
        self.build = os.environ.get("SOCKS5D_BUILD_DIR")
        if not self.build or not os.path.exists(os.path.join(self.build, "CMakeCache.txt")):
            raise unittest.SkipTest("SOCKS5D_BUILD_DIR is not a configured build tree")
        require_tool("cmake")
        self.destination = tempfile.mkdtemp(prefix="socks5d-destdir-")
        self.addCleanup(shutil.rmtree, self.destination, ignore_errors=True)

    def install(self):
        return run(["cmake", "--install", self.build],
                   env=dict(os.environ, DESTDIR=self.destination)).stdout

    def test_layout_under_the_prefix(self):
        prefix = build_tree_prefix(self.build)
        self.install()
        # GNUInstallDirs: /usr's configuration lives in /etc, any other prefix's in prefix/etc.
        etc = "etc" if prefix == "/usr" else os.path.join(prefix, "etc").lstrip("/")
        unit_dir = unit_directory() if prefix == "/usr" \
            else os.path.join(prefix, "lib", "systemd", "system").lstrip("/") + "/"
        base = prefix.lstrip("/") + "/"
        self.assertEqual(files_under(self.destination), {
            base + "sbin/socks5d", base + "bin/socks5ctl",
            base + "share/man/man8/socks5d.8.gz", base + "share/man/man1/socks5ctl.1.gz",
            unit_dir + "socks5d.service", etc + "/default/socks5d",
            etc + "/socks5d/socks5d.conf",
            base + "share/doc/socks5d/copyright", base + "share/doc/socks5d/changelog.gz",
            base + "share/doc/socks5d/examples/users.example",
        })
        with open(os.path.join(self.destination, unit_dir, "socks5d.service")) as handle:
            unit = handle.read()
        self.assertEqual(unit_setting(unit, "ExecStart").split()[0],
                         os.path.join(prefix, "sbin", "socks5d"))
        self.assertEqual(unit_setting(unit, "EnvironmentFile"),
                         "-/" + etc + "/default/socks5d")
        self.assertIn(" -C /%s/socks5d/socks5d.conf " % etc, unit_setting(unit, "ExecStart"))

    def test_reinstall_keeps_the_edited_options_file(self):
        self.install()
        etc_default = [path for path in files_under(self.destination)
                       if path.endswith("etc/default/socks5d")]
        self.assertEqual(len(etc_default), 1, etc_default)
        path = os.path.join(self.destination, etc_default[0])
        with open(path, "w") as handle:
            handle.write('SOCKS5D_OPTS="-l 192.0.2.1"\n')
        self.assertIn("Keeping: ", self.install())
        with open(path) as handle:
            self.assertEqual(handle.read(), 'SOCKS5D_OPTS="-l 192.0.2.1"\n')


if __name__ == "__main__":
    unittest.main()
