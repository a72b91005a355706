#!/usr/bin/env python3
"""assets/socks5d.service, checked where systemd cannot run it (it is not PID 1 here):
`systemd-analyze verify` has nothing to say about it, its offline security exposure is at most
2.0, and socks5d, put through the work it does in production under strace, makes no call the
unit's sandbox would refuse: no system call outside SystemCallFilter, no socket family outside
RestrictAddressFamilies, no write outside the state directory, nothing ProtectHome,
PrivateDevices, ProtectKernelTunables, ProcSubset/ProtectProc, MemoryDenyWriteExecute or
RestrictNamespaces would stop. That last check is what tells that the hardened unit will not break the daemon."""

import collections
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from harness import (NotifySocket, ADMIN_CMD_METRICS, ADMIN_ROLE_ADMIN, ADMIN_STATUS_OK, REP_SUCCESS,
                     CMD_UDP_ASSOCIATE,
                     SANITIZER_MARKERS, SOCKET_TIMEOUT, STOP_TIMEOUT, AdminClient,
                     EchoTestCase, Socks5dProcess, connect_proxy, negotiate, open_tunnel,
                     read_reply, recv_exact, request, require_tool, server_binary)

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNIT = os.path.join(SOURCE_ROOT, "assets", "socks5d.service")
UNIT_NAME = os.path.basename(UNIT)
MAX_EXPOSURE = 2.0
TOOL_TIMEOUT = 60
# Enough bytes, one way and back, that the relay's reads fill whole buffers and it moves the
# stream with splice(2), as it does for any download.
BULK_BYTES = 4 << 20
CMD_ADD_USER = 0x07  # PROTOCOL.md 7.8
INITIAL_PASSWORD_FILE = "initial-admin-password"
# Not in /etc/hosts: glibc asks the configured DNS server (or 127.0.0.1 without one), so the
# lookup threads go through the DNS client's socket calls. .invalid is never delegated.
DNS_NAME = "socks5d-syscall-check.invalid"


def unit_settings(path, section):
    """[(key, value)] of one section, in file order: continuation lines joined, comments out."""
    settings = []
    current = None
    pending = ""
    with open(path, encoding="utf-8") as handle:
        for raw in handle:
            line = pending + raw.strip()
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                current = line[1:-1]
                continue
            if current == section and "=" in line:
                key, value = line.split("=", 1)
                settings.append((key.strip(), value.strip()))
    return settings


def values_of(settings, key):
    return [value for name, value in settings if name == key]


def run_tool(argv, **kwargs):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TOOL_TIMEOUT, **kwargs)


def verify_root(directory, binary):
    """A file system root holding what `systemd-analyze verify --root` looks for: the unit, the
    programs its Exec lines name (socks5d from this build, the rest from this machine), its
    man pages (from assets/) and the stock targets its default dependencies name. Returns
    (root, unit path inside it, environment for systemd-analyze)."""
    root = os.path.join(directory, "root")
    unit_dir = os.path.join(root, "lib", "systemd", "system")
    os.makedirs(unit_dir)
    shutil.copy(UNIT, unit_dir)
    for target in glob.glob("/lib/systemd/system/*.target") + \
            glob.glob("/usr/lib/systemd/system/*.target"):
        if not os.path.exists(os.path.join(unit_dir, os.path.basename(target))):
            shutil.copy(target, unit_dir)
    settings = unit_settings(UNIT, "Service")
    for key, value in settings:
        if not key.startswith("Exec"):
            continue
        program = value.split()[0].lstrip("-@:+!")
        source = binary if os.path.basename(program) == "socks5d" else program
        if not os.path.exists(source):
            raise AssertionError("%s (the unit's %s) is not installed here" % (source, key))
        destination = root + program
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy(source, destination)
    man_root = os.path.join(root, "usr", "share", "man")
    for documentation in values_of(unit_settings(UNIT, "Unit"), "Documentation"):
        for page in documentation.split():
            match = re.fullmatch(r"man:([\w.-]+)\((\d)\)", page)
            if match is None:
                continue
            name, number = match.groups()
            section_dir = os.path.join(man_root, "man" + number)
            os.makedirs(section_dir, exist_ok=True)
            shutil.copy(os.path.join(SOURCE_ROOT, "assets", "%s.%s" % (name, number)),
                        section_dir)
    env = dict(os.environ, MANPATH=man_root, SYSTEMD_PAGER="", SYSTEMD_COLORS="0")
    return root, "/lib/systemd/system/" + UNIT_NAME, env


class UnitFile(unittest.TestCase):
    def setUp(self):
        self.analyze = require_tool("systemd-analyze")
        self.directory = tempfile.mkdtemp(prefix="socks5d-unit-")
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)

    def test_verify_says_nothing(self):
        root, unit, env = verify_root(self.directory, server_binary())
        result = run_tool([self.analyze, "verify", "--root=" + root, unit], env=env)
        output = (result.stdout + result.stderr).strip()
        print("systemd-analyze verify: exit %d, %s" % (result.returncode,
              "no output" if not output else "output:\n" + output), file=sys.stderr)
        # Strict: verify exits 0 even for unknown keys and bad values, which it only prints.
        self.assertEqual(output, "", "systemd-analyze verify " + UNIT_NAME)
        self.assertEqual(result.returncode, 0)

    def test_security_exposure(self):
        result = run_tool([self.analyze, "security", "--offline=true", "--no-pager", UNIT],
                          env=dict(os.environ, SYSTEMD_COLORS="0"))
        print(result.stdout + result.stderr, file=sys.stderr)
        match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
        self.assertIsNotNone(match, "no overall exposure line")
        self.assertLessEqual(float(match.group(1)), MAX_EXPOSURE,
                             "exposure of %s; the table above says what counts" % UNIT_NAME)


# ---- the syscall check ----

def syscall_groups(analyze):
    """{"@group": [member, ...]} as this systemd defines them (members: syscalls or @groups)."""
    result = run_tool([analyze, "syscall-filter", "--no-pager"])
    if result.returncode != 0:
        raise AssertionError("systemd-analyze syscall-filter: " + result.stderr)
    groups = {}
    current = None
    for line in result.stdout.splitlines():
        if not line.strip():
            continue
        if not line[0].isspace():
            # A group's name, or a trailing note ("# Unlisted system calls ...") that ends it.
            current = line.strip() if line.startswith("@") else None
            if current is not None:
                groups[current] = []
            continue
        entry = line.strip()
        if current is not None and not entry.startswith("#"):
            groups[current].append(entry)
    return groups


def expand(names, groups):
    syscalls = set()
    for name in names:
        if name.startswith("@"):
            if name not in groups:
                raise AssertionError("unknown syscall group %s" % name)
            syscalls |= expand(groups[name], groups)
        else:
            syscalls.add(name)
    return syscalls


def allowed_syscalls(filters, groups):
    """Applies SystemCallFilter= lines the way systemd does: the first line's kind (allow list,
    or ~ deny list) sets the default, later lines add to or take from it, an empty one resets.
    Returns (allow_list, set): the allowed set for an allow list, else the denied set."""
    allow_list = None
    names = set()
    for value in filters:
        if not value:
            allow_list, names = None, set()
            continue
        deny = value.startswith("~")
        # "name:errno" gives one call its own error; what matters here is that it is refused.
        listed = expand([entry.split(":")[0] for entry in value.lstrip("~").split()], groups)
        if allow_list is None:
            allow_list = not deny
        if deny == (not allow_list):
            names |= listed
        else:
            names -= listed
    return allow_list, names


def address_families(values):
    """(allow_list, families) of RestrictAddressFamilies= lines (same rules as above)."""
    allow_list = None
    families = set()
    for value in values:
        if not value or value == "none":
            allow_list, families = (True, set()) if value == "none" else (None, set())
            continue
        deny = value.startswith("~")
        listed = set(value.lstrip("~").split())
        if allow_list is None:
            allow_list = not deny
        if deny == (not allow_list):
            families |= listed
        else:
            families -= listed
    return allow_list, families


TRACE_LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. )?([a-z_][a-z0-9_]*)(?:\((.*)| resumed>(.*))$")
# A path argument as strace -y shows it: "path", or a directory descriptor and a path relative
# to it (AT_FDCWD</cwd>, "name" or 3</dir>, "name").
PATH_ARGUMENT = re.compile(r'\s*(?:(AT_FDCWD|-?\d+)(?:<([^>]*)>)?,\s*)?"((?:[^"\\]|\\.)*)"')
# Calls whose first argument, or first two, name files (by path).
PATH_CALLS = {name: 1 for name in (
    "open", "openat", "openat2", "creat", "access", "faccessat", "faccessat2", "stat", "lstat",
    "newfstatat", "statx", "statfs", "readlink", "readlinkat", "execve", "execveat", "chdir",
    "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "chmod", "fchmodat", "chown", "lchown",
    "fchownat", "truncate", "mknod", "mknodat", "utimensat", "inotify_add_watch")}
PATH_CALLS.update({name: 2 for name in ("rename", "renameat", "renameat2", "link", "linkat")})
WRITING_CALLS = {"creat", "unlink", "unlinkat", "mkdir", "mkdirat", "rmdir", "chmod",
                 "fchmodat", "chown", "lchown", "fchownat", "truncate", "mknod", "mknodat",
                 "utimensat", "rename", "renameat", "renameat2", "link", "linkat"}
WRITING_FLAGS = re.compile(r"\bO_(?:WRONLY|RDWR|CREAT|TRUNC)\b")


def call_paths(name, arguments):
    """The paths a traced call names, made absolute through a directory descriptor; one
    relative to the working directory stays relative (the test's is not the service's)."""
    paths, position = [], 0
    for _ in range(PATH_CALLS.get(name, 0)):
        match = PATH_ARGUMENT.match(arguments, position)
        if match is None:
            break
        descriptor, directory, path = match.groups()
        if not path.startswith("/") and directory and descriptor != "AT_FDCWD":
            path = os.path.join(directory, path)
        paths.append(os.path.normpath(path) if path.startswith("/") else path)
        position = match.end() + 1  # past the comma
    return paths


class Trace:
    """An strace -f -y output, summed up: every call's first line, the socket families, the
    paths named (and whether to write), the pids (process and threads)."""

    def __init__(self, path):
        self.calls = collections.OrderedDict()
        self.families = collections.OrderedDict()
        self.paths = []  # (path, writes, line)
        self.lines = []  # (name, arguments, line) of calls made, for the rules below
        self.pids = set()
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.rstrip("\n")
                match = TRACE_LINE.match(line)
                if match is None:
                    continue
                pid, name, arguments, resumed = match.groups()
                self.pids.add(pid)
                self.calls.setdefault(name, line)
                if arguments is None:  # the end of a call whose start was logged already
                    continue
                self.lines.append((name, arguments, line))
                if name in ("socket", "socketpair"):
                    self.families.setdefault(arguments.split(",")[0], line)
                writes = name in WRITING_CALLS or (
                    name.startswith("open") and WRITING_FLAGS.search(arguments) is not None)
                for path in call_paths(name, arguments):
                    self.paths.append((path, writes, line))


def setting_on(settings, key):
    values = values_of(settings, key)
    return bool(values) and values[-1].lower() in ("yes", "true", "on", "1")


def inside(path, directory):
    return path == directory or path.startswith(directory.rstrip("/") + "/")


# What PrivateDevices= leaves in the service's /dev.
PRIVATE_DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                   "/dev/tty", "/dev/ptmx", "/dev/pts", "/dev/shm", "/dev/mqueue",
                   "/dev/hugepages", "/dev/log", "/dev/stdin", "/dev/stdout", "/dev/stderr",
                   "/dev/fd")


def sandbox_findings(trace, settings, state_dir):
    """{setting: [trace lines it would make fail]} for the file system, /proc, memory and
    namespace settings of the unit that socks5d's calls could run into."""
    findings = collections.defaultdict(list)
    for path, writes, line in trace.paths:
        if not path.startswith("/"):
            findings["relative path (the unit runs socks5d in /)"].append(line)
            continue
        # strict leaves the API file systems (/dev, /proc, /sys) to the settings below.
        if values_of(settings, "ProtectSystem")[-1:] == ["strict"] and writes and \
                not any(inside(path, place) for place in (state_dir, "/dev", "/proc", "/sys")):
            findings["ProtectSystem=strict (writable: StateDirectory only)"].append(line)
        if setting_on(settings, "ProtectKernelTunables") and writes and \
                (inside(path, "/proc/sys") or inside(path, "/sys")):
            findings["ProtectKernelTunables=yes"].append(line)
        if setting_on(settings, "ProtectHome") and \
                any(inside(path, home) for home in ("/home", "/root", "/run/user")):
            findings["ProtectHome=yes"].append(line)
        if setting_on(settings, "PrivateDevices") and inside(path, "/dev") and path != "/dev" \
                and not any(inside(path, device) for device in PRIVATE_DEVICES):
            findings["PrivateDevices=yes"].append(line)
        if inside(path, "/proc") and path != "/proc":
            owner = path.split("/")[2]
            if values_of(settings, "ProcSubset")[-1:] == ["pid"] and \
                    not (owner in ("self", "thread-self") or owner.isdigit()):
                findings["ProcSubset=pid"].append(line)
            if values_of(settings, "ProtectProc")[-1:] == ["invisible"] and \
                    owner.isdigit() and owner not in trace.pids:
                findings["ProtectProc=invisible"].append(line)
    for name, arguments, line in trace.lines:
        if setting_on(settings, "MemoryDenyWriteExecute") and (
                (name in ("mmap", "mmap2") and "PROT_WRITE" in arguments
                 and "PROT_EXEC" in arguments)
                or (name in ("mprotect", "pkey_mprotect") and "PROT_EXEC" in arguments)):
            findings["MemoryDenyWriteExecute=yes"].append(line)
        if setting_on(settings, "RestrictNamespaces") and (
                name == "setns" or (name in ("clone", "clone3", "unshare")
                                    and "CLONE_NEW" in arguments)):
            findings["RestrictNamespaces=yes"].append(line)
    return findings


def children_of(pid):
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def wait_log(server, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while text not in server.stderr_text():
        if time.monotonic() > deadline:
            raise AssertionError("no %r in socks5d's log:\n%s" % (text, server.stderr_text()))
        time.sleep(0.02)


def bulk_echo(server, port, size):
    """size bytes through a tunnel to the echo server and back, sent and read at once."""
    sock, _ = open_tunnel(server, "127.0.0.1", port)
    with sock:
        payload = os.urandom(1 << 16) * (size >> 16)
        sender = threading.Thread(target=sock.sendall, args=(payload,), daemon=True)
        sender.start()
        received = recv_exact(sock, len(payload))
        sender.join(timeout=SOCKET_TIMEOUT)
        return received == payload


def udp_roundtrip(server, destination, family=socket.AF_INET):
    """One UDP ASSOCIATE (over family) and a datagram through its relay to a socket of ours at
    destination (an IP literal), answered back through the relay: the relay's calls
    (recvmmsg, sendmmsg) under the filter. A name's lookup makes the calls CONNECT's does."""
    peer_host = "::1" if ":" in destination else "127.0.0.1"
    with connect_proxy(server, family) as control, \
            socket.socket(family, socket.SOCK_DGRAM) as client, \
            socket.socket(socket.AF_INET6 if ":" in peer_host else socket.AF_INET,
                          socket.SOCK_DGRAM) as peer:
        negotiate(control)
        client.bind((control.getsockname()[0], 0))
        client.settimeout(SOCKET_TIMEOUT)
        peer.bind((peer_host, 0))
        peer.settimeout(SOCKET_TIMEOUT)
        control.sendall(request("::" if family == socket.AF_INET6 else "0.0.0.0", 0,
                                command=CMD_UDP_ASSOCIATE))
        reply = read_reply(control)
        if reply[1] != REP_SUCCESS:
            return False
        relay = (reply[4], reply[5])
        address = bytes([4 if ":" in destination else 1]) + socket.inet_pton(
            socket.AF_INET6 if ":" in destination else socket.AF_INET, destination)
        client.sendto(b"\0\0\0" + address + peer.getsockname()[1].to_bytes(2, "big") + b"ping",
                      relay)
        data, remote = peer.recvfrom(65536)
        peer.sendto(b"pong", remote)
        answer, _ = client.recvfrom(65536)
        return data == b"ping" and answer.endswith(b"pong")


def str8(text):
    data = text.encode()
    return bytes([len(data)]) + data


# Calls this trace sees only because the test runs socks5d as root, where the unit runs it as
# its dynamic user: SQLite (the accounting database) gives a new WAL or journal file its
# database's owner with fchown when, and only when, the process is root (and ignores a refusal).
ROOT_ONLY_CALLS = {"fchown"}


class Sandbox(EchoTestCase):
    """socks5d started as the unit starts it (-f in its state directory, no admin configured,
    NOTIFY_SOCKET and WATCHDOG_USEC set), traced through its first start (which creates the
    first admin and writes the users file), SOCKS logins and tunnels over IPv4 and IPv6 to an
    address, to a name from /etc/hosts and to one the DNS is asked for, a bulk transfer (the
    splice path), an admin session that adds a user (the users file rewritten), a SIGHUP
    reload, watchdog pings, and a graceful SIGTERM with a tunnel open. A Debug build is held to
    the same rules: the sanitizers' own calls are made by the same process."""

    def test_workload_stays_inside_the_sandbox(self):
        analyze = require_tool("systemd-analyze")
        strace = require_tool("strace")
        settings = unit_settings(UNIT, "Service")
        allow_list, listed = allowed_syscalls(values_of(settings, "SystemCallFilter"),
                                              syscall_groups(analyze))
        families_allow_list, listed_families = address_families(
            values_of(settings, "RestrictAddressFamilies"))

        directory = tempfile.mkdtemp(prefix="socks5d-syscalls-")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        notify = NotifySocket()
        self.addCleanup(notify.close)
        trace = os.path.join(directory, "trace")

        server = Socks5dProcess("--connect-timeout", "5", listen=["127.0.0.1", "::1"], env={
            "SOCKS5D_ADMIN": "",
            "NOTIFY_SOCKET": notify.path,
            "WATCHDOG_USEC": "400000",
            # One quick try at the DNS server: the lookup is here for its system calls.
            "RES_OPTIONS": "timeout:1 attempts:1",
            # LeakSanitizer cannot work under ptrace; every other test runs it.
            "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
        })
        # What StateDirectory= is to the unit: the one place socks5d may write.
        server_state_dir = server.state_dir
        users_file = os.path.join(server_state_dir, "users")
        server.args[1:1] = ["-f", users_file]
        server.args[0:0] = [strace, "-f", "-qq", "-y", "-s", "256", "-o", trace, "--"]
        server.start()
        self.addCleanup(server.kill)
        strace_pid = server.process.pid
        children = children_of(strace_pid)
        self.assertEqual(len(children), 1, "socks5d under strace %d: %r" % (strace_pid, children))
        pid = children[0]
        notify.wait_for(lambda message: message.get("READY") == "1", 10.0)

        self.assertTrue(bulk_echo(server, self.echo.port, BULK_BYTES), "bulk echo differs")
        open_tunnel(server, "localhost", self.echo.port)[0].close()
        open_tunnel(server, "::1", self.echo.port, family=socket.AF_INET6)[0].close()
        self.assertTrue(udp_roundtrip(server, "127.0.0.1"), "UDP relay over IPv4")
        self.assertTrue(udp_roundtrip(server, "::1", socket.AF_INET6), "UDP relay over IPv6")
        with connect_proxy(server) as sock:
            negotiate(sock)
            sock.sendall(request(DNS_NAME, 80))
            self.assertNotEqual(read_reply(sock)[1], REP_SUCCESS)

        password_path = os.path.join(server.state_dir, INITIAL_PASSWORD_FILE)
        with open(password_path) as handle:
            password = handle.read().strip()
        with AdminClient(server, "admin", password) as admin:
            self.assertEqual(admin.role, ADMIN_ROLE_ADMIN)
            status, body = admin.request(CMD_ADD_USER, str8("bob") + str8("bob-password")
                                         + bytes([0]))
            self.assertEqual(status, ADMIN_STATUS_OK, body)
            self.assertEqual(admin.request(ADMIN_CMD_METRICS)[0], ADMIN_STATUS_OK)

        reload_sent = time.monotonic()
        os.kill(pid, signal.SIGHUP)
        wait_log(server, "SIGHUP: users file %s reloaded" % users_file)
        notify.wait_for(lambda message: message.get("READY") == "1", 10.0, since=reload_sent)
        notify.wait_for(lambda message: message.get("WATCHDOG") == "1", 10.0,
                        since=time.monotonic())

        tunnel, _ = open_tunnel(server, "127.0.0.1", self.echo.port, "bob", "bob-password")
        with tunnel:
            os.kill(pid, signal.SIGTERM)
            wait_log(server, "tunnels may finish")
            tunnel.sendall(b"draining\n")
            self.assertEqual(recv_exact(tunnel, 9), b"draining\n")
        server.process.wait(timeout=STOP_TIMEOUT)
        code, text = server.stop()
        for marker in SANITIZER_MARKERS:
            self.assertNotIn(marker, text, "sanitizer report:\n" + text[-6000:])
        self.assertEqual(code, 0, "socks5d's exit code; log:\n" + text[-3000:])

        found = Trace(trace)
        self.assertIn("execve", found.calls, "strace saw no execve: is %s a trace?" % trace)
        print("%d system calls made by socks5d: %s"
              % (len(found.calls), " ".join(sorted(found.calls))), file=sys.stderr)
        print("socket families: %s" % " ".join(sorted(found.families)), file=sys.stderr)
        with self.subTest("SystemCallFilter"):
            refused = [name for name in found.calls if (name in listed) != allow_list
                       and name not in ROOT_ONLY_CALLS]
            self.assertEqual(refused, [], "calls the unit's SystemCallFilter refuses, each with "
                             "the first trace line that made it:\n" +
                             "\n".join(found.calls[name] for name in refused))
        with self.subTest("RestrictAddressFamilies"):
            refused = [family for family in found.families
                       if (family in listed_families) != families_allow_list]
            self.assertEqual(refused, [], "socket families RestrictAddressFamilies refuses:\n" +
                             "\n".join(found.families[family] for family in refused))
        with self.subTest("file system, /proc, memory and namespace settings"):
            findings = sandbox_findings(found, settings, server_state_dir)
            self.assertEqual(dict(findings), {}, "calls the unit's sandbox would make fail:\n" +
                             "\n".join("%s:\n  %s" % (setting, "\n  ".join(lines[:10]))
                                       for setting, lines in findings.items()))


if __name__ == "__main__":
    socket.setdefaulttimeout(10)
    unittest.main()
