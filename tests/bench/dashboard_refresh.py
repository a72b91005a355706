#!/usr/bin/env python3
# The fleet dashboard's refresh time: three socks5d on loopback each holding TUNNELS idle tunnels
# (default 3,000, logged in as alice, to a sink that accepts and holds), `socks5ctl -a S1 -a S2
# -a S3 dashboard` under tmux with alice's tree expanded, and the header's figures read off the
# screen for SECONDS (default 20): "fetch" (the slowest server's last fetch: server-info,
# metrics, users, the anonymous user's record and the visible trees) and "frame" (from the start
# of a server's fetch to the merged frame on screen). Prints median and max of each, collapsed
# and expanded.
#
# Usage: tests/bench/dashboard_refresh.py [BUILD_DIR] (default build/release; TUNNELS, SECONDS
# override); `scripts/bench dashboard` runs it on the release build.
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "build", "release"))
os.environ.setdefault("SOCKS5D", os.path.join(build, "server", "socks5d"))
os.environ.setdefault("SOCKS5D_BUILD_DIR", build)
sys.path.insert(0, os.path.join(root, "tests", "integration"))

import harness  # noqa: E402
import test_console_dashboard as single  # noqa: E402

TUNNELS = int(os.environ.get("TUNNELS", "3000"))
SECONDS = float(os.environ.get("SECONDS", "20"))
HEADER_RE = re.compile(r"servers (\d+)/(\d+) up\s+admin \S+\s+fetch ([\d.]+)ms\s+frame ([\d.]+)ms")


def sink():
    """A listener that accepts and holds every connection (a tunnel's far end)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4096)
    held = []

    def accept():
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            held.append(connection)

    threading.Thread(target=accept, daemon=True).start()
    return listener, held


def open_tunnels(server, port, count):
    tunnels = []
    for _ in range(count):
        sock, _ = harness.open_tunnel(server, "127.0.0.1", port)
        tunnels.append(sock)
    return tunnels


def sample(terminal, seconds):
    fetch, frame = [], []
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        match = HEADER_RE.search(terminal.screen())
        if match and match.group(1) == match.group(2) and match.groups() != last:
            last = match.groups()
            fetch.append(float(match.group(3)))
            frame.append(float(match.group(4)))
        time.sleep(0.1)
    return fetch, frame


def report(label, values):
    if not values:
        print("%-34s no samples" % label)
        return
    print("%-34s median %7.2f ms  max %7.2f ms  (%d frames)"
          % (label, statistics.median(values), max(values), len(values)))


def main():
    harness.raise_fd_limit(20000)
    listener, held = sink()
    sink_port = listener.getsockname()[1]
    servers = []
    tunnels = []
    directory = tempfile.mkdtemp(prefix="bench-dashboard-")
    terminal = single.Terminal(directory)
    try:
        for _ in range(3):
            server = harness.Socks5dProcess("-c", str(TUNNELS + 100))
            server.start()
            servers.append(server)
        names = ["%s:%d" % server.wait_admin_listener()[0] for server in servers]
        started = time.monotonic()
        for server in servers:
            tunnels += open_tunnels(server, sink_port, TUNNELS)
        print("%d tunnels open in %.1f s (%d per server)"
              % (len(tunnels), time.monotonic() - started, TUNNELS))
        wrapper = os.path.join(directory, "run.sh")
        with open(wrapper, "w") as handle:
            handle.write('#!/bin/sh\nexec "$SOCKS5CTL" %s -l "$ADMIN_USER" -d 2> "$ERRORS"\n'
                         % " ".join("-a " + name for name in names))
        os.chmod(wrapper, 0o755)
        environment = dict(os.environ, SOCKS5CTL=os.path.join(build, "console", "socks5ctl"),
                           ADMIN_USER=harness.ADMIN_USER, SOCKS5CTL_PASSWORD=harness.ADMIN_PASSWORD,
                           ERRORS=os.path.join(directory, "stderr"), LANG="C.UTF-8",
                           LC_ALL="C.UTF-8")
        environment.pop("TMUX", None)
        terminal.start(wrapper, 150, 50, environment)
        deadline = time.monotonic() + 20
        while not re.search(r"(?m)^Conns %d live" % (3 * TUNNELS), terminal.screen()):
            if time.monotonic() > deadline:
                raise SystemExit("the dashboard did not show the tunnels:\n" + terminal.screen())
            time.sleep(0.2)
        fetch, frame = sample(terminal, SECONDS / 2)
        report("fetch, alice collapsed", fetch)
        report("tick to merged frame, collapsed", frame)
        terminal.keys("Enter")  # alice (first by name): 9,000 live connections, a screenful shown
        time.sleep(2)
        fetch, frame = sample(terminal, SECONDS / 2)
        report("fetch, alice expanded", fetch)
        report("tick to merged frame, expanded", frame)
        print(terminal.screen())
        terminal.keys("q")
    finally:
        terminal.stop()
        for sock in tunnels:
            sock.close()
        for server in servers:
            server.kill()
        listener.close()
        for connection in held:
            connection.close()


if __name__ == "__main__":
    main()
