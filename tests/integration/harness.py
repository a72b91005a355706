"""harness: runs the real socks5d on loopback and provides the upstream servers and the raw
SOCKS5 client pieces the integration tests drive it with (Python 3 stdlib only)."""

import errno
import hashlib
import http.server
import ipaddress
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import weakref

SOCKET_TIMEOUT = 10.0
START_TIMEOUT = 10.0
STOP_TIMEOUT = 20.0  # ASan's leak check at exit is slow on a busy 2-core machine

TEST_USER = "alice"
TEST_PASSWORD = "s3cret-pass"
# An admin from the environment, so the server does not invent one and print its password.
ADMIN_ENV = "root:admin-pass"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer",
                     "ERROR: ThreadSanitizer", "WARNING: ThreadSanitizer")

LISTEN_RE = re.compile(r"listening for (socks5|admin) on (\[[0-9a-fA-F:.]+\]|[0-9.]+):(\d+)\s*$")
TIMESTAMP_RE = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"
ACCESS_RE = re.compile(
    r"^(?P<time>" + TIMESTAMP_RE + r") access"
    r" user=(?P<user>\S+) client=(?P<client>\S+) dest=(?P<dest>\S+)"
    r" dest_addr=(?P<dest_addr>\S+) up=(?P<up>\d+) down=(?P<down>\d+) status=(?P<status>\d+)"
    r" kind=(?P<kind>connect|udp|bind)"
    r"(?: datagrams_up=(?P<datagrams_up>\d+) datagrams_down=(?P<datagrams_down>\d+))?$")

# SOCKS5 constants (RFC 1928 / RFC 1929)
METHOD_NO_AUTH = 0x00
METHOD_USERPASS = 0x02
METHOD_NONE_ACCEPTABLE = 0xFF
CMD_CONNECT, CMD_BIND, CMD_UDP_ASSOCIATE = 1, 2, 3
ATYP_IPV4, ATYP_DOMAIN, ATYP_IPV6 = 1, 3, 4
REP_SUCCESS = 0x00
REP_GENERAL_FAILURE = 0x01
REP_NETWORK_UNREACHABLE = 0x03
REP_HOST_UNREACHABLE = 0x04
REP_CONNECTION_REFUSED = 0x05
REP_COMMAND_NOT_SUPPORTED = 0x07
REP_ADDRESS_TYPE_NOT_SUPPORTED = 0x08

# A name glibc rejects before sending any query: its first label is over 63 characters.
UNRESOLVABLE_NAME = "a" * 70 + ".invalid"


def server_binary():
    path = os.environ.get("SOCKS5D")
    if not path:
        build = os.environ.get("SOCKS5D_BUILD_DIR")
        if build:
            path = os.path.join(build, "server", "socks5d")
    if not path or not os.path.exists(path):
        raise unittest.SkipTest("SOCKS5D (path to the socks5d binary) is not set or does not exist")
    return path


def require_tool(name):
    """The path of a command a test runs. A missing one fails the test instead of skipping it:
    `scripts/deps test` installs every tool the suite runs, and a silent skip would hide a gap
    in that list (scripts/test runs the suite seeing only what it installs)."""
    path = shutil.which(name)
    if path is None:
        raise AssertionError("%s is not installed: add its package to `scripts/deps test`" % name)
    return path


def isolated_env(state_dir):
    """Environment for a socks5d child: an admin from SOCKS5D_ADMIN (so no random password is
    printed) and state/home directories inside state_dir (so no users file outside it)."""
    env = dict(os.environ)
    env["SOCKS5D_ADMIN"] = ADMIN_ENV
    env["STATE_DIRECTORY"] = state_dir
    env["XDG_STATE_HOME"] = state_dir
    env["HOME"] = state_dir
    return env


def raise_fd_limit(wanted=8192):
    """Raise this process's descriptor limit (children, i.e. the server, inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def format_endpoint(host, port):
    """host:port the way the server logs it: IPv6 literals in brackets."""
    if ":" in host:
        return "[%s]:%d" % (host, port)
    return "%s:%d" % (host, port)


# ---------------------------------------------------------------------------------------------
# The server under test

class Socks5dProcess:
    """One socks5d child: started with -p 0 -P 0, stderr captured to a temporary file.

    allow_loopback (default on) passes --allow-loopback: the tests' echo and upstream servers
    listen on loopback, which socks5d denies by default."""

    def __init__(self, *extra_args, listen=None, users=((TEST_USER, TEST_PASSWORD),), env=None,
                 allow_loopback=True):
        self.binary = server_binary()
        self.listen = list(listen) if listen else ["127.0.0.1"]
        self.args = [self.binary, "-p", "0", "-P", "0"]
        if allow_loopback:
            self.args.append("--allow-loopback")
        for address in self.listen:
            self.args += ["-l", address]
        for user, password in users:
            self.args += ["-u", "%s:%s" % (user, password)]
        self.args += list(extra_args)
        # A private state directory, so the default users file never touches the real one.
        self.state_dir = tempfile.mkdtemp(prefix="socks5d-state-")
        self.env = isolated_env(self.state_dir)
        # Make sanitizer reports certain to be written, and leak checks on (Debug builds).
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        if env:
            self.env.update(env)
        self.process = None
        self.stderr_file = None
        self.socks_endpoints = []  # [(host, port)] in log order
        self.admin_endpoints = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        self.stderr_file = tempfile.NamedTemporaryFile(prefix="socks5d-stderr-", suffix=".log",
                                                       delete=False)
        self.process = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.stderr_file,
                                        env=self.env)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._parse_listen_lines()
            # The listeners are bound (and logged) before the start is over: the accounting
            # database opens after privileges drop. "socks5d ready" ends it, so descriptors
            # counted from here on are the running server's.
            if (len(self.socks_endpoints) >= len(self.listen)
                    and "socks5d ready" in self.stderr_text()):
                return self
            if self.process.poll() is not None:
                raise AssertionError("socks5d exited with %d while starting; stderr:\n%s"
                                     % (self.process.returncode, self.stderr_text()))
            time.sleep(0.02)
        self.kill()
        raise AssertionError("socks5d did not print its 'listening for socks5' line(s) and "
                             "'socks5d ready' within %.0f s; stderr:\n%s"
                             % (START_TIMEOUT, self.stderr_text()))

    def wait_admin_listener(self, timeout=START_TIMEOUT):
        """The admin listeners once the admin line is printed (it may follow the SOCKS ones)."""
        deadline = time.monotonic() + timeout
        while not self.admin_endpoints and time.monotonic() < deadline:
            time.sleep(0.02)
            self._parse_listen_lines()
        return self.admin_endpoints

    def _parse_listen_lines(self):
        socks, admin = [], []
        for line in self.stderr_text().splitlines():
            match = LISTEN_RE.search(line)
            if not match:
                continue
            host = match.group(2).strip("[]")
            entry = (host, int(match.group(3)))
            (socks if match.group(1) == "socks5" else admin).append(entry)
        self.socks_endpoints, self.admin_endpoints = socks, admin

    @property
    def port(self):
        """The port of the first SOCKS listener."""
        return self.socks_endpoints[0][1]

    @property
    def host(self):
        return self.socks_endpoints[0][0]

    def endpoint_for(self, family):
        for host, port in self.socks_endpoints:
            if (":" in host) == (family == socket.AF_INET6):
                return host, port
        raise AssertionError("no SOCKS listener of family %s in %r" % (family, self.socks_endpoints))

    def stop(self):
        """SIGTERM, wait (bounded); returns (exit code, stderr text)."""
        if self.process is None:
            return None, ""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                text = self.stderr_text()
                self.kill()
                raise AssertionError("socks5d did not exit within %.0f s of SIGTERM; stderr:\n%s"
                                     % (STOP_TIMEOUT, text[-4000:]))
        code = self.process.returncode
        text = self.stderr_text()
        self._cleanup_file()
        return code, text

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)
        self._cleanup_file()

    def _cleanup_file(self):
        shutil.rmtree(self.state_dir, ignore_errors=True)
        if self.stderr_file is not None:
            name = self.stderr_file.name
            self.stderr_file.close()
            try:
                os.unlink(name)
            except OSError:
                pass
            self.stderr_file = None

    def stderr_text(self):
        if self.stderr_file is None:
            return ""
        with open(self.stderr_file.name, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()

    # -- access log --------------------------------------------------------------------------

    def access_lines(self):
        """Every access line so far, parsed into dicts (ints for up/down/status)."""
        entries = []
        for line in self.stderr_text().splitlines():
            if " access " not in line:
                continue
            match = ACCESS_RE.match(line)
            if match is None:
                entries.append({"malformed": line})
                continue
            entry = match.groupdict()
            for key in ("up", "down", "status", "datagrams_up", "datagrams_down"):
                if entry[key] is not None:
                    entry[key] = int(entry[key])
            entry["line"] = line
            entries.append(entry)
        return entries

    def wait_access_line(self, predicate, timeout=10.0):
        """The first access line for which predicate(entry) holds; fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.access_lines():
                if "malformed" not in entry and predicate(entry):
                    return entry
            if time.monotonic() >= deadline:
                raise AssertionError("no matching access line within %.0f s; access lines:\n%s"
                                     % (timeout, "\n".join(e.get("line", e.get("malformed", ""))
                                                           for e in self.access_lines())))
            time.sleep(0.02)

    def wait_access_line_for_client(self, client_socket, timeout=10.0):
        """The access line of the connection whose client end is client_socket."""
        wanted = client_name(client_socket)
        return self.wait_access_line(lambda entry: entry["client"] == wanted, timeout)


def stop_class_server(server):
    """For tearDownClass, where no test is at hand: stop server (killed whatever happens);
    AssertionError unless it exited 0 with no sanitizer report."""
    try:
        code, text = server.stop()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError("sanitizer report in socks5d stderr:\n" + text[-6000:])
        if code != 0:
            raise AssertionError("socks5d exited %r; stderr tail:\n%s" % (code, text[-3000:]))
    finally:
        server.kill()


def check_stopped_cleanly(test, server):
    """Stop server; the test fails unless it exited 0 with no sanitizer report."""
    code, text = server.stop()
    for marker in SANITIZER_MARKERS:
        test.assertNotIn(marker, text, "sanitizer report in socks5d stderr:\n" + text[-6000:])
    test.assertEqual(code, 0, "socks5d exit code after SIGTERM; stderr tail:\n" + text[-3000:])


# ---------------------------------------------------------------------------------------------
# Upstream servers (loopback, threads)

def _bind_listener(family, host, port=0):
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind((host, port))
    sock.listen(1024)
    return sock


def bind_dual_loopback(attempts=50):
    """Listening sockets on 127.0.0.1 and ::1 with the same port, so 'localhost' works whichever
    address the server's resolver returns first."""
    last_error = None
    for _ in range(attempts):
        v4 = _bind_listener(socket.AF_INET, "127.0.0.1")
        port = v4.getsockname()[1]
        try:
            v6 = _bind_listener(socket.AF_INET6, "::1", port)
        except OSError as error:
            last_error = error
            v4.close()
            continue
        return port, [v4, v6]
    raise OSError("could not bind 127.0.0.1 and ::1 to one port: %s" % last_error)


def closed_port(host="127.0.0.1"):
    """A port nothing listens on (bound, noted, closed)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class _ThreadedServer:
    """Base: accepts on loopback listeners in a thread, one handler thread per connection."""

    def __init__(self, dual=True):
        if dual:
            self.port, self.listeners = bind_dual_loopback()
        else:
            listener = _bind_listener(socket.AF_INET, "127.0.0.1")
            self.port, self.listeners = listener.getsockname()[1], [listener]
        self.peers = []  # peer addresses (host, port) of accepted connections
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.accept_thread = threading.Thread(target=self._accept_loop, daemon=True)

    def start(self):
        self.accept_thread.start()
        return self

    def _accept_loop(self):
        selector = selectors.DefaultSelector()
        for listener in self.listeners:
            listener.setblocking(False)
            selector.register(listener, selectors.EVENT_READ)
        while not self.stopping.is_set():
            for key, _ in selector.select(timeout=0.1):
                try:
                    conn, peer = key.fileobj.accept()
                except (BlockingIOError, OSError):
                    continue
                conn.setblocking(True)
                conn.settimeout(SOCKET_TIMEOUT)
                with self.lock:
                    self.peers.append((peer[0], peer[1]))
                thread = threading.Thread(target=self._serve_safely, args=(conn,), daemon=True)
                thread.start()
                self.threads.append(thread)
        selector.close()

    def _serve_safely(self, conn):
        try:
            self.serve(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def serve(self, conn):
        raise NotImplementedError

    def saw_peer(self, host, port):
        with self.lock:
            return (host, port) in self.peers

    def stop(self):
        self.stopping.set()
        self.accept_thread.join(timeout=5)
        for listener in self.listeners:
            listener.close()
        for thread in self.threads:
            thread.join(timeout=5)


class EchoServer:
    """Echoes everything; on EOF from the peer, flushes and closes. One selector thread, so it
    holds thousands of connections. Listens on 127.0.0.1 and ::1 with one port."""

    def __init__(self):
        self.port, self.listeners = bind_dual_loopback()
        self.peers = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.selector = selectors.DefaultSelector()

    def start(self):
        for listener in self.listeners:
            listener.setblocking(False)
            self.selector.register(listener, selectors.EVENT_READ, None)
        self.thread.start()
        return self

    def saw_peer(self, host, port):
        with self.lock:
            return (host, port) in self.peers

    def _loop(self):
        pending = {}  # conn -> bytearray of data not yet echoed
        while not self.stopping.is_set():
            for key, events in self.selector.select(timeout=0.1):
                if key.data is None:
                    self._accept(key.fileobj, pending)
                    continue
                conn = key.fileobj
                state = key.data
                if events & selectors.EVENT_READ and not state["eof"]:
                    try:
                        data = conn.recv(65536)
                    except BlockingIOError:
                        data = None
                    except OSError:
                        self._drop(conn, pending)
                        continue
                    if data == b"":
                        state["eof"] = True
                    elif data:
                        pending[conn] += data
                if pending[conn]:
                    try:
                        sent = conn.send(pending[conn])
                        del pending[conn][:sent]
                    except BlockingIOError:
                        pass
                    except OSError:
                        self._drop(conn, pending)
                        continue
                if state["eof"] and not pending[conn]:
                    self._drop(conn, pending)
                    continue
                wanted = 0 if state["eof"] else selectors.EVENT_READ
                if pending[conn]:
                    wanted |= selectors.EVENT_WRITE
                self.selector.modify(conn, wanted, state)
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()

    def _accept(self, listener, pending):
        while True:
            try:
                conn, peer = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            with self.lock:
                self.peers.append((peer[0], peer[1]))
            pending[conn] = bytearray()
            self.selector.register(conn, selectors.EVENT_READ, {"eof": False})

    def _drop(self, conn, pending):
        self.selector.unregister(conn)
        pending.pop(conn, None)
        conn.close()

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)


class SinkServer(_ThreadedServer):
    """Reads until EOF, then answers '<byte count> <sha256 hex>\\n' and closes (also the
    half-close upstream: it can still answer after the client's FIN)."""

    def __init__(self, dual=True):
        super().__init__(dual)
        self.results = []

    def serve(self, conn):
        digest = hashlib.sha256()
        count = 0
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        while True:
            n = conn.recv_into(buffer)
            if n == 0:
                break
            digest.update(view[:n])
            count += n
        with self.lock:
            self.results.append((count, digest.hexdigest()))
        conn.sendall(("%d %s\n" % (count, digest.hexdigest())).encode())
        conn.shutdown(socket.SHUT_WR)
        # Wait for the client's close so the proxy sees an orderly end on both sides.
        while conn.recv(4096):
            pass


class SourceServer(_ThreadedServer):
    """Sends a fixed payload, shuts down its write side, drains until the peer closes."""

    def __init__(self, payload, dual=True):
        super().__init__(dual)
        self.payload = payload

    def serve(self, conn):
        conn.sendall(self.payload)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass


class WriteCloseThenReadServer(_ThreadedServer):
    """Sends a greeting, shuts down its write side, then records what the client sends after
    that (until EOF): checks half-close from the upstream side."""

    GREETING = b"upstream says hello and shuts down its write side\n"

    def __init__(self):
        super().__init__(dual=True)
        self.received = []  # bytes received per connection, appended at EOF
        self.done = threading.Condition(self.lock)

    def serve(self, conn):
        conn.sendall(self.GREETING)
        conn.shutdown(socket.SHUT_WR)
        data = bytearray()
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        with self.done:
            self.received.append(bytes(data))
            self.done.notify_all()

    def wait_received(self, count=1, timeout=SOCKET_TIMEOUT):
        with self.done:
            self.done.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)


class ResetServer(_ThreadedServer):
    """Reads one line, then closes with SO_LINGER 0 so the kernel sends RST."""

    def __init__(self):
        super().__init__(dual=True)
        self.resets_seen = []

    def serve(self, conn):
        line = conn.recv(4096)
        if line == b"reset-me\n":
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        # Otherwise: wait to observe what the client's reset does to us.
        try:
            while conn.recv(4096):
                pass
            outcome = "eof"
        except ConnectionResetError:
            outcome = "reset"
        except socket.timeout:
            outcome = "timeout"
        with self.lock:
            self.resets_seen.append(outcome)


class PageHandler(http.server.BaseHTTPRequestHandler):
    BODY = (b"<html><body>socks5d integration page " + b"x" * 3000 + b"</body></html>\n")

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    def log_message(self, format, *args):  # keep test output quiet
        pass


class _DualStackHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True


class HttpServer:
    """http.server on 127.0.0.1 and ::1 (same port), serving PageHandler.BODY at any path."""

    def __init__(self):
        self.port, listeners = bind_dual_loopback()
        for listener in listeners:
            listener.close()
        self.servers = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            server_class = type("HTTPServer%d" % family, (_DualStackHTTPServer,),
                                {"address_family": family, "allow_reuse_address": True})
            self.servers.append(server_class((host, self.port), PageHandler))
        self.threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.1},
                                         daemon=True) for s in self.servers]

    def start(self):
        for thread in self.threads:
            thread.start()
        return self

    def stop(self):
        for server in self.servers:
            server.shutdown()
            server.server_close()
        for thread in self.threads:
            thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# Raw SOCKS5 client pieces

def greeting(*methods, version=5):
    return bytes([version, len(methods)] + list(methods))


def auth_request(user=TEST_USER, password=TEST_PASSWORD, version=1):
    user_bytes = user.encode() if isinstance(user, str) else user
    password_bytes = password.encode() if isinstance(password, str) else password
    return (bytes([version, len(user_bytes)]) + user_bytes
            + bytes([len(password_bytes)]) + password_bytes)


def request(host, port, command=CMD_CONNECT, version=5):
    """A request for host (IPv4/IPv6 literal, or a domain name as str/bytes) and port."""
    if isinstance(host, bytes):
        return request_domain(host, port, command, version)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return request_domain(host.encode(), port, command, version)
    atyp = ATYP_IPV4 if address.version == 4 else ATYP_IPV6
    return bytes([version, command, 0, atyp]) + address.packed + struct.pack("!H", port)


def request_domain(name, port, command=CMD_CONNECT, version=5):
    return bytes([version, command, 0, ATYP_DOMAIN, len(name)]) + name + struct.pack("!H", port)


def recv_exact(sock, count):
    data = bytearray()
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes (got %r)"
                           % (len(data), count, bytes(data)))
        data += chunk
    return bytes(data)


def recv_until_eof(sock, limit=1 << 24):
    data = bytearray()
    while len(data) <= limit:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(data)
        data += chunk
    raise AssertionError("more than %d bytes before EOF" % limit)


def read_reply(sock):
    """Reads a SOCKS5 reply; returns (ver, rep, rsv, atyp, host, port)."""
    version, rep, reserved, atyp = recv_exact(sock, 4)
    if atyp == ATYP_IPV4:
        host = socket.inet_ntop(socket.AF_INET, recv_exact(sock, 4))
    elif atyp == ATYP_IPV6:
        host = socket.inet_ntop(socket.AF_INET6, recv_exact(sock, 16))
    elif atyp == ATYP_DOMAIN:
        host = recv_exact(sock, recv_exact(sock, 1)[0]).decode("latin-1")
    else:
        raise AssertionError("reply with unknown ATYP %d" % atyp)
    port = struct.unpack("!H", recv_exact(sock, 2))[0]
    return version, rep, reserved, atyp, host, port


# Local address of each client socket, kept so the access line can be found after close().
_CLIENT_NAMES = weakref.WeakKeyDictionary()


def connect_proxy(server, family=socket.AF_INET, timeout=SOCKET_TIMEOUT):
    host, port = server.endpoint_for(family)
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.settimeout(timeout)
    _CLIENT_NAMES[sock] = sock.getsockname()
    return sock


def client_name(sock):
    """The client's host:port as the access log shows it (works after close())."""
    name = _CLIENT_NAMES.get(sock) or sock.getsockname()
    return format_endpoint(name[0], name[1])


def negotiate(sock, user=TEST_USER, password=TEST_PASSWORD):
    """Greeting + (if user) RFC 1929 auth; asserts success."""
    if user is None:
        sock.sendall(greeting(METHOD_NO_AUTH))
        answer = recv_exact(sock, 2)
        if answer != bytes([5, METHOD_NO_AUTH]):
            raise AssertionError("method selection: expected 05 00, got %s" % answer.hex(" "))
        return
    sock.sendall(greeting(METHOD_USERPASS))
    answer = recv_exact(sock, 2)
    if answer != bytes([5, METHOD_USERPASS]):
        raise AssertionError("method selection: expected 05 02, got %s" % answer.hex(" "))
    sock.sendall(auth_request(user, password))
    answer = recv_exact(sock, 2)
    if answer != b"\x01\x00":
        raise AssertionError("auth: expected 01 00, got %s" % answer.hex(" "))


def open_tunnel(server, host, port, user=TEST_USER, password=TEST_PASSWORD,
                family=socket.AF_INET, timeout=SOCKET_TIMEOUT):
    """A socket with a successful CONNECT to host:port; returns (sock, reply tuple)."""
    sock = connect_proxy(server, family, timeout)
    try:
        negotiate(sock, user, password)
        sock.sendall(request(host, port))
        reply = read_reply(sock)
        if reply[1] != REP_SUCCESS:
            raise AssertionError("CONNECT %s:%d: expected REP 0, got %d" % (host, port, reply[1]))
        return sock, reply
    except BaseException:
        sock.close()
        raise


def request_reply(server, raw_request, user=TEST_USER, password=TEST_PASSWORD):
    """Negotiates, sends raw_request, returns (reply tuple, socket) — caller closes."""
    sock = connect_proxy(server)
    negotiate(sock, user, password)
    sock.sendall(raw_request)
    return read_reply(sock), sock


def peer_closed(sock, timeout=5.0):
    """True when the peer closes (EOF or reset) within timeout without sending more data."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False
    return data == b""


def echo_roundtrip(server, echo, message=b"still serving?\n", user=TEST_USER,
                   password=TEST_PASSWORD, host="127.0.0.1"):
    sock, _ = open_tunnel(server, host, echo.port, user, password)
    with sock:
        sock.sendall(message)
        return recv_exact(sock, len(message))


# ---------------------------------------------------------------------------------------------
# unittest base

class EchoTestCase(unittest.TestCase):
    """A shared echo server for the class; start_server starts a socks5d killed at cleanup."""

    @classmethod
    def setUpClass(cls):
        raise_fd_limit()
        cls.echo = EchoServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.echo.stop()

    def start_server(self, *args):
        server = Socks5dProcess(*args)
        server.start()
        self.addCleanup(server.kill)
        return server


class ServerTestCase(EchoTestCase):
    """Each test gets a fresh socks5d (SERVER_ARGS) and a shared echo server; teardown proves
    the server still serves, then stops it and checks exit 0 with a clean stderr."""

    SERVER_ARGS = ()
    SERVER_LISTEN = None
    SERVER_USERS = ((TEST_USER, TEST_PASSWORD),)
    TEARDOWN_AUTH = (TEST_USER, TEST_PASSWORD)

    def setUp(self):
        self.server = Socks5dProcess(*self.SERVER_ARGS, listen=self.SERVER_LISTEN,
                                     users=self.SERVER_USERS)
        self.server.start()
        self.addCleanup(self.server.kill)

    def tearDown(self):
        try:
            user, password = self.TEARDOWN_AUTH
            message = ("still serving after %s\n" % self.id()).encode()
            self.assertEqual(echo_roundtrip(self.server, self.echo, message, user, password),
                             message, "echo through the proxy after the test")
        finally:
            check_stopped_cleanly(self, self.server)


def errno_name(error):
    return errno.errorcode.get(error.errno, str(error.errno)) if error.errno else str(error)


# ---------------------------------------------------------------------------------------------
# Admin protocol v2 client (protocol/PROTOCOL.md): just enough to log in and read metrics

ADMIN_USER, ADMIN_PASSWORD = ADMIN_ENV.split(":", 1)
ADMIN_VERSION = 0x02
ADMIN_STATUS_OK = 0x00
ADMIN_STATUS_SERVER_ERROR = 0x01
ADMIN_STATUS_BAD_REQUEST = 0x02
ADMIN_STATUS_UNAUTHENTICATED = 0x03
ADMIN_STATUS_FORBIDDEN = 0x04
ADMIN_STATUS_UNSUPPORTED_VERSION = 0x07
ADMIN_STATUS_UNSUPPORTED_COMMAND = 0x08
ADMIN_STATUS_NOT_FOUND = 0x05
ADMIN_STATUS_UNAVAILABLE = 0x0B  # the accounting database is off or failing
ADMIN_STATUS_MANAGED_BY_PAM = 0x0C  # the user comes from PAM
ADMIN_ROLE_USER, ADMIN_ROLE_ADMIN = 0x00, 0x01
ADMIN_CMD_PING = 0x01
ADMIN_CMD_SERVER_INFO = 0x02
ADMIN_CMD_METRICS = 0x03
ADMIN_CMD_RESET_USAGE = 0x13
ADMIN_CMD_HISTORY = 0x14
ADMIN_RESPONSE_BODY_MAX = 16 * 1024 * 1024
# A client waits this long for a login reply: 10 s auth timeout + up to 8 s of penalty.
ADMIN_LOGIN_TIMEOUT = 20.0


def admin_login_request(user=ADMIN_USER, password=ADMIN_PASSWORD, version=ADMIN_VERSION,
                        reserved=0):
    user_bytes = user.encode() if isinstance(user, str) else user
    password_bytes = password.encode() if isinstance(password, str) else password
    return (bytes([version, reserved, len(user_bytes)]) + user_bytes
            + bytes([len(password_bytes)]) + password_bytes)


def admin_request(command, body=b"", version=ADMIN_VERSION, reserved=0, body_length=None):
    """A request frame; body_length overrides BODYLEN (to send a lying or oversized one)."""
    length = len(body) if body_length is None else body_length
    return bytes([version, reserved, command]) + struct.pack("!I", length) + body


def read_admin_login_reply(sock):
    """(VER, RSV, STATUS, ROLE) of a login reply."""
    return tuple(recv_exact(sock, 4))


def read_admin_response(sock):
    """(STATUS, BODY) of a response frame; fails on a bad VER/RSV or an oversized BODYLEN."""
    version, reserved, status, length = struct.unpack("!BBBI", recv_exact(sock, 7))
    if version != ADMIN_VERSION or reserved != 0 or length > ADMIN_RESPONSE_BODY_MAX:
        raise AssertionError("bad admin response header: VER %d RSV %d BODYLEN %d"
                             % (version, reserved, length))
    return status, recv_exact(sock, length)


def parse_admin_record(body):
    """A record body ('key: value' lines, up to the first empty line) as a dict of str; values
    that are unsigned integers become ints."""
    record = {}
    for line in body.decode("utf-8", "replace").split("\n"):
        if not line:
            break
        key, _, value = line.partition(": ")
        record[key] = int(value) if value.isdigit() else value
    return record


def admin_str8(text):
    data = text.encode() if isinstance(text, str) else text
    return bytes([len(data)]) + data


def reset_usage_body(user=""):
    """reset-usage's arguments: str8 user ("" = everybody and the global lifetime counters)."""
    return admin_str8(user)


def history_body(user="", destination="", status="", since=0, until=0, before=0, limit=0):
    """history's arguments: str8 user, str8 destination, str8 status, u64 since, u64 until
    (milliseconds since the epoch, 0 = no bound), u64 before (a history_id, 0 = from the
    newest), u32 limit (0 = the server's default)."""
    return (admin_str8(user) + admin_str8(destination) + admin_str8(status)
            + struct.pack("!QQQI", since, until, before, limit))


def parse_admin_table(body):
    """A table body (PROTOCOL.md 8.2) as (record part, [row dicts]); fields that are unsigned
    integers become ints."""
    text = body.decode("utf-8", "replace")
    summary, _, table = text.partition("\n\n")
    lines = table.split("\n")
    columns = lines[0].split("\t") if lines and lines[0] else []
    rows = []
    for line in lines[1:]:
        if line:
            cells = [int(c) if c.isdigit() else c for c in line.split("\t")]
            rows.append(dict(zip(columns, cells)))
    return parse_admin_record(summary.encode()), rows


def admin_connect(server, source=None, timeout=ADMIN_LOGIN_TIMEOUT):
    """A TCP connection to the server's (first) admin listener, optionally from source host."""
    endpoints = server.wait_admin_listener()
    if not endpoints:
        raise AssertionError("socks5d printed no 'listening for admin' line")
    host, port = endpoints[0]
    return socket.create_connection((host, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


class AdminClient:
    """One logged-in admin session: request(), ping(), metrics(), reset_usage(), history().
    Fails if the login does."""

    def __init__(self, server, user=ADMIN_USER, password=ADMIN_PASSWORD, source=None,
                 timeout=ADMIN_LOGIN_TIMEOUT):
        self.sock = admin_connect(server, source, timeout)
        try:
            self.sock.sendall(admin_login_request(user, password))
            self.login_reply = read_admin_login_reply(self.sock)
            if self.login_reply[:3] != (ADMIN_VERSION, 0, ADMIN_STATUS_OK):
                raise AssertionError("admin login as %s: got %s"
                                     % (user, bytes(self.login_reply).hex(" ")))
        except BaseException:
            self.sock.close()
            raise
        self.role = self.login_reply[3]

    def request(self, command, body=b""):
        self.sock.sendall(admin_request(command, body))
        return read_admin_response(self.sock)

    def ping(self):
        status, body = self.request(ADMIN_CMD_PING)
        if status != ADMIN_STATUS_OK:
            raise AssertionError("ping: status %d %r" % (status, body))

    def metrics(self):
        """The metrics record (PROTOCOL.md 8.7) as a dict of ints."""
        status, body = self.request(ADMIN_CMD_METRICS)
        if status != ADMIN_STATUS_OK:
            raise AssertionError("metrics: status %d %r" % (status, body))
        return parse_admin_record(body)

    def reset_usage(self, user=""):
        """(status, body) of reset-usage."""
        return self.request(ADMIN_CMD_RESET_USAGE, reset_usage_body(user))

    def history(self, **filters):
        """(status, body) of history; filters are history_body's keywords."""
        return self.request(ADMIN_CMD_HISTORY, history_body(**filters))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def metrics_of(server):
    """The server's metrics record, read over a short admin session."""
    with AdminClient(server) as admin:
        return admin.metrics()


# ---------------------------------------------------------------------------------------------
# systemd's end of sd_notify

def assignments(message):
    """A notify datagram ("KEY=VALUE" lines) as a dict."""
    return dict(line.split("=", 1) for line in message.split("\n") if "=" in line)


class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket in a temporary directory. A thread
    keeps every datagram with the monotonic time it arrived."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="socks5d-notify-")
        self.path = os.path.join(self.directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.05)
        self.created = time.monotonic()
        self.lock = threading.Lock()
        self.messages = []  # (arrival time, text)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stopping.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.messages.append((time.monotonic(), data.decode("utf-8", "replace")))

    def received(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, predicate, timeout, since=0.0):
        """The first (time, text) that arrived at or after since and satisfies
        predicate(assignments); fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for arrived, text in self.received():
                if arrived >= since and predicate(assignments(text)):
                    return arrived, text
            if time.monotonic() >= deadline:
                raise AssertionError("no matching notify message within %.1f s; received:\n%s"
                                     % (timeout, self.transcript()))
            time.sleep(0.01)

    def pings(self, since=0.0):
        return [arrived for arrived, text in self.received()
                if arrived >= since and assignments(text).get("WATCHDOG") == "1"]

    def transcript(self, since=None):
        """Every datagram from since on, with its arrival in seconds after since (by default,
        after this socket was made)."""
        since = self.created if since is None else since
        return "\n".join("%8.3f %r" % (arrived - since, text)
                         for arrived, text in self.received() if arrived >= since)

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
        shutil.rmtree(self.directory, ignore_errors=True)
