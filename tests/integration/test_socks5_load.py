"""Load: 1,000 tunnels open at the same time, each echoing its own message twice (once while
they are being opened, once when all are open), driven by one non-blocking selector client."""

import errno
import selectors
import socket
import time
import unittest

import harness
from harness import greeting, auth_request, request, METHOD_USERPASS

TUNNELS = 1000
IN_FLIGHT = 200    # handshakes under way at once (keeps the listen backlog comfortable)
DEADLINE = 90.0    # whole test, ASan included


def reply_length(buffer):
    """Bytes in a SOCKS5 reply once its ATYP is known, else None."""
    if len(buffer) < 4:
        return None
    return {1: 10, 4: 22}.get(buffer[3], 10)


class Tunnel:
    def __init__(self, index, target_host, target_port):
        self.index = index
        self.message = b"tunnel %05d says %s\n" % (index, b"%x" % (index * 7919))
        self.steps = [
            (greeting(METHOD_USERPASS), lambda b: 2, bytes([5, METHOD_USERPASS])),
            (auth_request(), lambda b: 2, b"\x01\x00"),
            (request(target_host, target_port), reply_length, b"\x05\x00\x00"),
            (self.message, lambda b: len(self.message), self.message),
        ]
        self.step = 0
        self.out = bytearray()
        self.inp = bytearray()
        self.sock = None
        self.connecting = True
        self.error = None


class ConcurrentTunnels(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        limit = harness.raise_fd_limit(8192)
        if limit < 3 * TUNNELS + 200:
            raise unittest.SkipTest("descriptor limit %d too low for %d tunnels"
                                    % (limit, TUNNELS))
        super().setUpClass()

    def drive(self, selector, tunnels, deadline, on_done):
        """Runs registered tunnels until each finished its steps (or failed)."""
        active = sum(1 for t in tunnels if t.sock is not None and t.error is None
                     and t.step < len(t.steps))
        while active and time.monotonic() < deadline:
            for key, events in selector.select(timeout=0.5):
                if self.handle_event(selector, key.data, events, on_done):
                    active -= 1
        return active

    def handle_event(self, selector, tunnel, events, on_done):
        """Advances one tunnel; True when it has finished its steps or failed."""
        self.advance(tunnel, events)
        if tunnel.error is not None or tunnel.step == len(tunnel.steps):
            selector.unregister(tunnel.sock)
            on_done(tunnel)
            return True
        wanted = selectors.EVENT_WRITE if (tunnel.connecting or tunnel.out) \
            else selectors.EVENT_READ
        selector.modify(tunnel.sock, wanted, tunnel)
        return False

    def advance(self, tunnel, events):
        sock = tunnel.sock
        try:
            if tunnel.connecting:
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise OSError(error, "connect: " + errno.errorcode.get(error, "?"))
                tunnel.connecting = False
                tunnel.out += tunnel.steps[tunnel.step][0]
            if tunnel.out:
                sent = sock.send(tunnel.out)
                del tunnel.out[:sent]
                return
            if events & selectors.EVENT_READ:
                data = sock.recv(4096)
                if not data:
                    raise EOFError("EOF at step %d after %r" % (tunnel.step, bytes(tunnel.inp)))
                tunnel.inp += data
                _, length_of, expected = tunnel.steps[tunnel.step]
                need = length_of(tunnel.inp)
                if need is None or len(tunnel.inp) < need:
                    return
                answer = bytes(tunnel.inp[:need])
                del tunnel.inp[:need]
                if not answer.startswith(expected):
                    raise AssertionError("step %d: expected %r, got %r"
                                         % (tunnel.step, expected, answer))
                if tunnel.inp:
                    raise AssertionError("step %d: unexpected extra bytes %r"
                                         % (tunnel.step, bytes(tunnel.inp)))
                tunnel.step += 1
                if tunnel.step < len(tunnel.steps):
                    tunnel.out += tunnel.steps[tunnel.step][0]
        except BlockingIOError:
            return
        except (OSError, EOFError, AssertionError) as error:
            tunnel.error = "tunnel %d: %s" % (tunnel.index, error)

    def start_tunnel(self, selector, tunnel, proxy):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        tunnel.sock = sock
        result = sock.connect_ex(proxy)
        if result not in (0, errno.EINPROGRESS):
            tunnel.error = "tunnel %d: connect: %s" % (tunnel.index, errno.errorcode.get(result))
            return False
        selector.register(sock, selectors.EVENT_WRITE, tunnel)
        return True

    def test_thousand_concurrent_tunnels(self):
        deadline = time.monotonic() + DEADLINE
        proxy = (self.server.host, self.server.port)
        # One in ten by name, so the resolver sees concurrency too.
        tunnels = [Tunnel(i, "localhost" if i % 10 == 0 else "127.0.0.1", self.echo.port)
                   for i in range(TUNNELS)]
        selector = selectors.DefaultSelector()
        waiting = list(reversed(tunnels))
        in_flight = [0]
        failures = []

        def on_done(tunnel):
            in_flight[0] -= 1
            if tunnel.error:
                failures.append(tunnel.error)

        try:
            # Phase 1: open all, at most IN_FLIGHT handshakes at once; finished tunnels stay open.
            while (waiting or in_flight[0]) and time.monotonic() < deadline and not failures:
                while waiting and in_flight[0] < IN_FLIGHT:
                    tunnel = waiting.pop()
                    if self.start_tunnel(selector, tunnel, proxy):
                        in_flight[0] += 1
                    else:
                        failures.append(tunnel.error)
                for key, events in selector.select(timeout=0.5):
                    self.handle_event(selector, key.data, events, on_done)
            self.assertEqual(failures[:5], [], "%d tunnels failed" % len(failures))
            done = [t for t in tunnels if t.step == len(t.steps)]
            self.assertEqual(len(done), TUNNELS, "tunnels finished before the deadline")

            # Phase 2: all 1,000 are open at once; each echoes a second, different message.
            for tunnel in tunnels:
                tunnel.message = b"second round %05d\n" % tunnel.index
                tunnel.steps.append((tunnel.message, lambda b, t=tunnel: len(t.message),
                                     tunnel.message))
                tunnel.out += tunnel.message
                selector.register(tunnel.sock, selectors.EVENT_WRITE, tunnel)
            left = self.drive(selector, tunnels, deadline, on_done)
            self.assertEqual(failures[:5], [], "%d tunnels failed in round two" % len(failures))
            self.assertEqual(left, 0, "tunnels still unfinished at the deadline")
        finally:
            for tunnel in tunnels:
                if tunnel.sock is not None:
                    tunnel.sock.close()
            selector.close()

        # Every tunnel's access line arrives, with its bytes counted.
        remaining = max(5.0, deadline - time.monotonic())
        end = time.monotonic() + remaining
        while time.monotonic() < end:
            lines = [e for e in self.server.access_lines()
                     if e.get("dest", "").endswith(":%d" % self.echo.port)
                     and e.get("status") == 0]
            if len(lines) >= TUNNELS:
                break
            time.sleep(0.1)
        self.assertEqual(len(lines), TUNNELS, "access lines for the tunnels")
        sizes = {len(b"tunnel %05d says %s\n" % (i, b"%x" % (i * 7919)))
                 + len(b"second round %05d\n" % i) for i in range(TUNNELS)}
        for entry in lines:
            self.assertEqual(entry["up"], entry["down"], entry["line"])
            self.assertIn(entry["up"], sizes, entry["line"])

    def test_many_sequential_connections(self):
        # Churn: 300 short tunnels one after another; slots and buffers are reused.
        for index in range(300):
            message = b"seq %d" % index
            self.assertEqual(harness.echo_roundtrip(self.server, self.echo, message), message)


if __name__ == "__main__":
    unittest.main()
