"""Faults and stress: a flow map smaller than the load, connection churn from
several processes, a client killed mid-stream. egresswatch keeps running,
accounts what it can, and counts exactly what it could not."""
import os
import shlex
import signal
import subprocess
import time

from conftest import PEERS, PYTHON, SERVER_V4, bpf_map_of, client, json_lines, wait_for
from test_run import finish, llm_client

HOLD_MANY = f"""
import resource, socket, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 100, n + 100))
socks = [socket.create_connection(({SERVER_V4!r}, 9001)) for _ in range(n)]
for s in socks:
    s.sendall(b"z" * 1000)
for s in socks:
    s.close()
"""


def test_flow_map_smaller_than_the_load(netns, procs, server, egresswatch, tmp_path):
    server("sink", port=9001)
    config = tmp_path / "small.conf"
    config.write_text("[general]\nmax_flows = 1024\n")
    os.chmod(config, 0o600)
    ew = egresswatch("--all", "-d", "0.5", config=config)
    n = 1500
    p = client(netns, procs, PYTHON, "-c", HOLD_MANY, str(n))
    finish(p)
    row = ew.settled(p.pid)[SERVER_V4]
    lost = ew.lines[-1]["lost"]
    assert ew.proc.poll() is None
    assert lost["flow_map_full"] > 0
    # every byte is either in the row or in the loss counter, exactly
    assert row["tx_bytes_total"] + lost["bytes_unaccounted"] == n * 1000
    assert 0 < lost["bytes_unaccounted"] < n * 1000


def test_churn_from_parallel_processes(netns, procs, server, egresswatch):
    server("plain", port=9000)
    ew = egresswatch("--all", "-d", "0.5")
    script = f"""
import socket
for i in range(800):
    s = socket.create_connection(({SERVER_V4!r}, 9000))
    s.sendall(b"GET 2000\\n")
    got = 0
    while chunk := s.recv(65536):
        got += len(chunk)
    assert got == 2000
    s.close()
"""
    clients = [client(netns, procs, PYTHON, "-c", script) for _ in range(4)]
    started = time.monotonic()
    for c in clients:
        finish(c)
    rate = 4 * 800 / (time.monotonic() - started)
    for c in clients:
        row = ew.settled(c.pid)[SERVER_V4]
        assert (row["connections_total"], row["rx_bytes_total"]) == (800, 800 * 2000)
    assert not any(ew.lines[-1]["lost"].values())
    print(f"churn: {rate:.0f} connections/s, none lost")


def test_client_killed_mid_stream(netns, procs, llm_server, dns_server, egresswatch, pki):
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    doomed = llm_client(netns, procs, pki, ["sk-x"], 4, 100000)
    wait_for(lambda: len(srv.records()) > 20, 20, "the doomed client's requests")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    time.sleep(1)
    assert ew.proc.poll() is None
    before = len(srv.records())
    survivor = llm_client(netns, procs, pki, ["sk-y"], 1, 7)
    finish(survivor)
    row = ew.settled(survivor.pid)["api.openai.com"]
    assert row["requests_total"] == 7 == len(srv.records()) - before


def open_tls_calls(ew_pid):
    """calls_in_flight, read from the .bss of egresswatch's TLS programs."""
    for entry in bpf_map_of(ew_pid, "tls_bpf.bss"):
        for section in entry["formatted"]["value"][".bss"]:
            if "calls_in_flight" in section:
                return section["calls_in_flight"]
    raise AssertionError("no calls_in_flight in egresswatch's TLS .bss")


def test_thread_killed_inside_ssl_read_closes_its_call(netns, procs, llm_server, egresswatch):
    """A client killed while it waits in SSL_read never returns from it: the
    thread-exit hook takes its call out, so the syscall hook goes back to
    returning at once."""
    llm_server()
    ew = egresswatch("-d", "0.5")
    idle = open_tls_calls(ew.proc.pid)  # 0 unless another TLS client on the host waits
    script = f"""
import socket, ssl
c = ssl.create_default_context(); c.check_hostname = False; c.verify_mode = ssl.CERT_NONE
s = c.wrap_socket(socket.create_connection(("{SERVER_V4}", 443)))
print("connected", flush=True)
s.recv(1)  # the server waits for a request: blocked inside SSL_read
"""
    waiting = client(netns, procs, PYTHON, "-c", script)
    assert waiting.stdout.readline().strip() == b"connected"
    # the client's SSL_read, and the server's (the same libssl), waiting for a request
    wait_for(lambda: open_tls_calls(ew.proc.pid) == idle + 2, 10, "the open SSL_reads")
    waiting.send_signal(signal.SIGKILL)
    waiting.wait()
    wait_for(lambda: open_tls_calls(ew.proc.pid) == idle, 10, "the call taken out at exit")


def test_call_left_without_return_is_closed_by_the_next(netns, procs, llm_server, egresswatch,
                                                        tmp_path):
    """A client longjmps out of an SSL_read (from a BIO callback), so its
    return is never seen; the thread's next call, at the same stack depth or
    above, closes it: the syscall hook goes back to returning at once while
    the thread lives on, and the requests after it are counted."""
    srv = llm_server()
    ew = egresswatch("-d", "0.5")
    idle = open_tls_calls(ew.proc.pid)
    exe = tmp_path / "abandoned_read"
    subprocess.run(["cc", "-O2", "-o", str(exe), str(PEERS / "abandoned_read.c"), "-lssl",
                    "-lcrypto"], check=True)
    rounds = 3
    p = procs.start("ip", "netns", "exec", netns.client, str(exe), SERVER_V4, str(rounds),
                    "sk-abandoned", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.stdout.readline().strip() == b"done"
    # the server's reads return as the connections close
    wait_for(lambda: open_tls_calls(ew.proc.pid) == idle, 10, "no call left open")
    p.stdin.close()
    assert p.wait(timeout=10) == 0
    row = ew.settled(p.pid)["api.openai.com"]
    # the abandoned read's request was sent too (its response never read)
    assert row["requests_total"] == rounds + 1
    assert len(srv.records()) >= rounds


def test_alert_file_unwritable_then_writable(netns, procs, llm_server, dns_server, pki, tmp_path):
    from test_run import Daemon, config
    llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    logs = tmp_path / "logs"
    logs.mkdir()
    subprocess.run(["mount", "--bind", str(logs), str(logs)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(logs)], check=True)
        cfg = config(tmp_path, "window = 4\nrequests_warning = 3\n").replace(
            str(tmp_path / "alerts.jsonl"), str(logs / "alerts.jsonl"))
        d = Daemon(procs, tmp_path, cfg)
        finish(llm_client(netns, procs, pki, ["sk-1"], 1, 6))
        wait_for(lambda: "cannot write alerts" in d.stderr(), 15, "the alert write error")
        assert d.proc.poll() is None
        subprocess.run(["mount", "-o", "remount,bind,rw", str(logs)], check=True)
        wait_for(lambda: json_lines(logs / "alerts.jsonl"), 15,
                 "an alert line once the file is writable")
        assert d.stop() == 0
    finally:
        subprocess.run(["umount", str(logs)], capture_output=True)


def test_cgroup_of_a_process_removed(netns, procs, server, egresswatch):
    root = next(line.split()[1] for line in open("/proc/self/mounts")
                if line.split()[2] == "cgroup2")
    cgroup = f"/ewtest{os.getpid()}"
    os.mkdir(root + cgroup)
    try:
        server("plain", port=9000)
        ew = egresswatch("--all", "-d", "0.5")
        script = f"""
import socket
s = socket.create_connection(({SERVER_V4!r}, 9000))
s.sendall(b"GET 5000\\n")
while s.recv(65536):
    pass
"""
        # join the cgroup before ip netns exec, which mounts its own /sys
        p = procs.start("sh", "-c", f"echo $$ > {root + cgroup}/cgroup.procs && exec ip netns exec "
                        f"{netns.client} {PYTHON} -c {shlex.quote(script)}",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        finish(p)
        row = ew.settled(p.pid)[SERVER_V4]
        assert row["cgroup"] == cgroup and row["rx_bytes_total"] == 5000
    finally:
        wait_for(lambda: not open(root + cgroup + "/cgroup.procs").read(), 10, "an empty cgroup")
        os.rmdir(root + cgroup)
    time.sleep(1.5)
    assert ew.proc.poll() is None and ew.lines[-1]["rows"] is not None
