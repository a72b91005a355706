"""The relay: pipelined and byte-by-byte clients, half-close and resets in both directions, and
64 MiB each way with sha256 checks and exact access-log byte counts."""

import hashlib
import os
import random
import socket
import struct
import threading
import time
import unittest

import harness
from harness import (greeting, auth_request, request, read_reply, recv_exact, recv_until_eof,
                     METHOD_USERPASS, REP_SUCCESS)

BIG = 64 * 1024 * 1024
TRANSFER_TIMEOUT = 120.0


def pseudo_random_bytes(size, seed):
    """Deterministic and incompressible, so a dropped, repeated or stale chunk changes the hash."""
    return random.Random(seed).randbytes(size)


class Pipelining(harness.ServerTestCase):

    def pipelined(self, host):
        payload = b"payload sent before any reply arrived\n" * 3
        sock = harness.connect_proxy(self.server)
        with sock:
            sock.sendall(greeting(METHOD_USERPASS) + auth_request() +
                         request(host, self.echo.port) + payload)
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_USERPASS]))
            self.assertEqual(recv_exact(sock, 2), b"\x01\x00")
            reply = read_reply(sock)
            self.assertEqual(reply[1], REP_SUCCESS)
            self.assertEqual(recv_exact(sock, len(payload)), payload)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["up"], entry["down"]), (len(payload), len(payload)))

    def test_everything_in_one_write_ipv4(self):
        self.pipelined("127.0.0.1")

    def test_everything_in_one_write_domain(self):
        # The payload waits in the server while the name resolves.
        self.pipelined("localhost")

    def test_everything_in_one_write_ipv6(self):
        self.pipelined("::1")

    def test_byte_by_byte_client(self):
        payload = b"slowly\n"
        handshake = greeting(0x01, METHOD_USERPASS) + auth_request() + request(
            "localhost", self.echo.port)
        sock = harness.connect_proxy(self.server)
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for byte in handshake:
                sock.send(bytes([byte]))
                time.sleep(0.005)
            self.assertEqual(recv_exact(sock, 2), bytes([5, METHOD_USERPASS]))
            self.assertEqual(recv_exact(sock, 2), b"\x01\x00")
            self.assertEqual(read_reply(sock)[1], REP_SUCCESS)
            for byte in payload:
                sock.send(bytes([byte]))
                time.sleep(0.005)
            self.assertEqual(recv_exact(sock, len(payload)), payload)

    def test_byte_by_byte_with_replies_read_in_between(self):
        sock = harness.connect_proxy(self.server)
        with sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for part, answer_size in ((greeting(METHOD_USERPASS), 2), (auth_request(), 2)):
                for byte in part:
                    sock.send(bytes([byte]))
                    time.sleep(0.005)
                recv_exact(sock, answer_size)
            for byte in request("127.0.0.1", self.echo.port):
                sock.send(bytes([byte]))
                time.sleep(0.005)
            self.assertEqual(read_reply(sock)[1], REP_SUCCESS)
            sock.sendall(b"ok")
            self.assertEqual(recv_exact(sock, 2), b"ok")


class HalfClose(harness.ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = harness.SinkServer().start()
        cls.write_closer = harness.WriteCloseThenReadServer().start()
        cls.resetter = harness.ResetServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.sink.stop()
        cls.write_closer.stop()
        cls.resetter.stop()
        super().tearDownClass()

    def test_client_shuts_down_write_side(self):
        data = b"question that ends with the client's FIN\n" * 100
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.sink.port)
        with sock:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            answer = recv_until_eof(sock)  # upstream answers only after it saw EOF
        self.assertEqual(answer, ("%d %s\n" % (len(data), hashlib.sha256(data).hexdigest()))
                         .encode())
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["up"], entry["down"]), (len(data), len(answer)))

    def test_client_shuts_down_write_side_ipv6_destination(self):
        sock, _ = harness.open_tunnel(self.server, "::1", self.sink.port)
        with sock:
            sock.shutdown(socket.SHUT_WR)
            answer = recv_until_eof(sock)
        self.assertEqual(answer, ("0 %s\n" % hashlib.sha256(b"").hexdigest()).encode())

    def test_upstream_shuts_down_write_side(self):
        before = len(self.write_closer.received)
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.write_closer.port)
        late = b"client still talking after the upstream's FIN\n" * 50
        with sock:
            self.assertEqual(recv_until_eof(sock), harness.WriteCloseThenReadServer.GREETING)
            # The client saw EOF; its own direction must still be open.
            sock.sendall(late)
            sock.shutdown(socket.SHUT_WR)
            received = self.write_closer.wait_received(before + 1)
            self.assertEqual(len(received), before + 1, "upstream never saw the client's EOF")
            self.assertEqual(received[before], late)
            self.assertEqual(sock.recv(10), b"")
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["up"], entry["down"]),
                         (len(late), len(harness.WriteCloseThenReadServer.GREETING)))

    def test_upstream_reset_reaches_client(self):
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.resetter.port)
        with sock:
            sock.sendall(b"reset-me\n")
            with self.assertRaises(ConnectionResetError,
                                   msg="upstream RST should reach the client as a reset"):
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    if sock.recv(4096) == b"":
                        break  # EOF instead of a reset: the assertRaises fails

    def test_client_reset_reaches_upstream(self):
        before = len(self.resetter.resets_seen)
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.resetter.port)
        sock.sendall(b"watch me\n")
        time.sleep(0.2)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
        deadline = time.monotonic() + 5
        while len(self.resetter.resets_seen) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertEqual(self.resetter.resets_seen[before:before + 1], ["reset"],
                         "client RST should reach the upstream as a reset")


class BigTransfers(harness.ServerTestCase):
    """64 MiB up and 64 MiB down, sha256-checked, with exact access-log counts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.download_payload = pseudo_random_bytes(BIG, b"download")
        cls.download_digest = hashlib.sha256(cls.download_payload).hexdigest()
        cls.sink = harness.SinkServer().start()
        cls.source = harness.SourceServer(cls.download_payload).start()

    @classmethod
    def tearDownClass(cls):
        cls.sink.stop()
        cls.source.stop()
        cls.download_payload = None
        super().tearDownClass()

    def test_upload_64_mib(self):
        payload = pseudo_random_bytes(BIG, b"upload")
        expected = ("%d %s\n" % (BIG, hashlib.sha256(payload).hexdigest())).encode()
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.sink.port,
                                      timeout=TRANSFER_TIMEOUT)
        with sock:
            view = memoryview(payload)
            for offset in range(0, BIG, 1 << 20):
                sock.sendall(view[offset:offset + (1 << 20)])
            sock.shutdown(socket.SHUT_WR)
            answer = recv_until_eof(sock)
        self.assertEqual(answer, expected)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["up"], entry["down"], entry["status"]), (BIG, len(answer), 0))

    def test_download_64_mib(self):
        sock, _ = harness.open_tunnel(self.server, "localhost", self.source.port,
                                      timeout=TRANSFER_TIMEOUT)
        digest = hashlib.sha256()
        received = 0
        buffer = bytearray(1 << 20)
        with sock:
            while True:
                n = sock.recv_into(buffer)
                if n == 0:
                    break
                digest.update(memoryview(buffer)[:n])
                received += n
        self.assertEqual(received, BIG)
        self.assertEqual(digest.hexdigest(), self.download_digest)
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["up"], entry["down"], entry["status"]), (0, BIG, 0))

    def test_both_directions_at_once(self):
        # 8 MiB each way at the same time through one tunnel (echo): neither direction stalls.
        size = 8 * 1024 * 1024
        payload = os.urandom(size)
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.echo.port,
                                      timeout=TRANSFER_TIMEOUT)
        result = {}

        def reader():
            digest, count = hashlib.sha256(), 0
            buffer = bytearray(1 << 20)
            while count < size:
                n = sock.recv_into(buffer)
                if n == 0:
                    break
                digest.update(memoryview(buffer)[:n])
                count += n
            result["count"], result["digest"] = count, digest.hexdigest()

        thread = threading.Thread(target=reader, daemon=True)
        with sock:
            thread.start()
            sock.sendall(payload)
            thread.join(timeout=TRANSFER_TIMEOUT)
            self.assertFalse(thread.is_alive(), "echo of 8 MiB did not finish")
        self.assertEqual(result, {"count": size, "digest": hashlib.sha256(payload).hexdigest()})
        entry = self.server.wait_access_line_for_client(sock)
        self.assertEqual((entry["up"], entry["down"]), (size, size))


class SmallBuffers(harness.ServerTestCase):
    """The smallest relay buffer (-b 512) still moves data intact, including pipelined bytes."""
    SERVER_ARGS = ("-b", "512")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sink = harness.SinkServer().start()

    @classmethod
    def tearDownClass(cls):
        cls.sink.stop()
        super().tearDownClass()

    def test_one_mib_through_512_byte_buffers(self):
        payload = os.urandom(1 << 20)
        sock, _ = harness.open_tunnel(self.server, "127.0.0.1", self.sink.port)
        with sock:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            answer = recv_until_eof(sock)
        self.assertEqual(answer, ("%d %s\n" % (len(payload), hashlib.sha256(payload).hexdigest()))
                         .encode())

    def test_pipelined_payload_larger_than_buffer(self):
        payload = os.urandom(4000)
        sock = harness.connect_proxy(self.server)
        with sock:
            sock.sendall(greeting(METHOD_USERPASS) + auth_request() +
                         request("127.0.0.1", self.echo.port) + payload)
            recv_exact(sock, 4)
            self.assertEqual(read_reply(sock)[1], REP_SUCCESS)
            self.assertEqual(recv_exact(sock, len(payload)), payload)


if __name__ == "__main__":
    unittest.main()
