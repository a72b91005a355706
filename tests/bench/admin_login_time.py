#!/usr/bin/env python3
"""Admin login time over TLS against plaintext: the median (and p90) time from the TCP connect
to the login reply, over N logins to a socks5d with a throwaway certificate (P-256, made by the
openssl command) and to one without, in alternating rounds; then the same for a whole
`socks5ctl ping` run (process start, connect, handshake, login, one request).

Usage: admin_login_time.py SOCKS5D SOCKS5CTL [LOGINS]      (scripts/bench admin-tls runs it)
Prints key=value lines (milliseconds)."""

import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

ADMIN = ("benchadmin", "bench-admin-password")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_certificate(directory):
    ca_key, ca = os.path.join(directory, "ca.key"), os.path.join(directory, "ca.pem")
    key, csr = os.path.join(directory, "admin.key"), os.path.join(directory, "admin.csr")
    pem, ext = os.path.join(directory, "admin.pem"), os.path.join(directory, "san.ext")
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", ca_key, "-out", ca, "-days", "1",
            "-subj", "/CN=bench CA")
    openssl("req", *curve, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    with open(ext, "w") as file:
        file.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
            "-out", pem, "-days", "1", "-extfile", ext)
    return ca, pem, key


def start(socks5d, state, *args):
    env = dict(os.environ, SOCKS5D_ADMIN="%s:%s" % ADMIN, STATE_DIRECTORY=state, HOME=state)
    log = open(os.path.join(state, "log-%d" % len(os.listdir(state))), "w+")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") and os.cpu_count() > 1 else []
    process = subprocess.Popen(pin + [socks5d, "-p", "0", "-P", "0", "-f", "off",
                                      "--accounting-db", "off", "--workers", "1"] + list(args),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=log, env=env)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log.seek(0)
        match = re.search(r"listening for admin on 127\.0\.0\.1:(\d+)", log.read())
        if match:
            return process, int(match.group(1))
        time.sleep(0.02)
    process.kill()
    raise SystemExit("socks5d did not start")


def login_frame():
    user, password = (part.encode() for part in ADMIN)
    return bytes([2, 0, len(user)]) + user + bytes([len(password)]) + password


def one_login(port, context):
    started = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if context is not None:
        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
    sock.sendall(login_frame())
    reply = b""
    while len(reply) < 4:
        chunk = sock.recv(4 - len(reply))
        if not chunk:
            raise SystemExit("no login reply")
        reply += chunk
    elapsed = time.perf_counter() - started
    sock.close()
    if reply[2] != 0:
        raise SystemExit("login refused: %r" % reply)
    return elapsed * 1000


def one_ping(socks5ctl, port, flags):
    env = dict(os.environ, SOCKS5CTL_PASSWORD=ADMIN[1])
    started = time.perf_counter()
    subprocess.run([socks5ctl, "-a", "127.0.0.1", "-p", str(port), "-l", ADMIN[0]] + flags
                   + ["ping"], check=True, capture_output=True, env=env, timeout=30)
    return (time.perf_counter() - started) * 1000


def report(name, samples):
    samples = sorted(samples)
    print("admin_tls.%s.median_ms=%.3f" % (name, statistics.median(samples)))
    print("admin_tls.%s.p90_ms=%.3f" % (name, samples[int(len(samples) * 0.9) - 1]))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    socks5d, socks5ctl = sys.argv[1], sys.argv[2]
    logins = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    directory = tempfile.mkdtemp(prefix="socks5d-bench-tls-")
    try:
        if os.cpu_count() > 1:
            os.sched_setaffinity(0, {1})
        ca, pem, key = make_certificate(directory)
        state = os.path.join(directory, "state")
        os.mkdir(state)
        plain, plain_port = start(socks5d, state)
        tls, tls_port = start(socks5d, state, "--admin-tls-cert", pem, "--admin-tls-key", key)
        context = ssl.create_default_context(cafile=ca)
        try:
            # The first login of a user hashes its password; later ones hit the cache.
            one_login(plain_port, None)
            one_login(tls_port, context)
            with context.wrap_socket(socket.create_connection(("127.0.0.1", tls_port)),
                                     server_hostname="127.0.0.1") as sock:
                protocol = (sock.version(), sock.cipher()[0])
            samples = {"plaintext": [], "tls": [], "socks5ctl_plaintext": [],
                       "socks5ctl_tls": []}
            for _ in range(logins):
                samples["plaintext"].append(one_login(plain_port, None))
                samples["tls"].append(one_login(tls_port, context))
            for _ in range(max(logins // 4, 10)):
                samples["socks5ctl_plaintext"].append(one_ping(socks5ctl, plain_port, []))
                samples["socks5ctl_tls"].append(one_ping(socks5ctl, tls_port, ["--ca", ca]))
        finally:
            for process in (plain, tls):
                process.terminate()
                process.wait(timeout=20)
        print("admin_tls.logins=%d" % logins)
        print("admin_tls.protocol=%s %s (P-256 ECDSA certificate)" % protocol)
        for name, values in samples.items():
            report(name, values)
        print("admin_tls.tls_extra_ms=%.3f" % (statistics.median(samples["tls"])
                                               - statistics.median(samples["plaintext"])))
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
