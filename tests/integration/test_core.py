"""Per-process socket accounting on the real kernel, against the TCP payload
the server's kernel reports (TCP_INFO) or the exact bytes a test sent."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from conftest import (EGRESSWATCH, PEERS, PYTHON, SERVER_V4, SERVER_V6, TCP_COUNTERS, acks_dropped,
                      bpf_map_of, bpf_program_ids, client, counting_egresswatch, run, snmp,
                      tcp_counters_supported, wait_for)


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()
    return out.decode()


def curl_env(pki):
    return dict(os.environ, CURL_CA_BUNDLE=str(pki / "ca.pem"))


def assert_matches_server(row, records):
    """Exact, but for the FIN each connection may add to the server's TCP_INFO
    figures (it takes a sequence number)."""
    acked = sum(r["bytes_acked"] for r in records)
    received = sum(r["bytes_received"] for r in records)
    print(f"accuracy: rx {row['rx_bytes_total']} vs server {acked}, "
          f"tx {row['tx_bytes_total']} vs server {received}")
    assert 0 <= acked - row["rx_bytes_total"] <= len(records), (row["rx_bytes_total"], acked)
    assert 0 <= received - row["tx_bytes_total"] <= len(records), (row["tx_bytes_total"], received)


@pytest.mark.parametrize("counters", TCP_COUNTERS)
def test_curl_https_download(netns, procs, server, egresswatch, pki, tmp_path, counters):
    srv = server("tls")
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    size = 3_000_000
    p = client(netns, procs, "curl", "-sS", "--http1.1", "-o", "/dev/null",
               f"https://{SERVER_V4}:8443/bytes/{size}", env=curl_env(pki))
    finish(p)
    row = ew.settled(p.pid)[SERVER_V4]
    records = wait_for(srv.records, 10, "the server's log")
    assert (row["comm"], row["uid"], row["classified_by"]) == ("curl", 0, "ip")
    assert row["exe"].endswith("/curl")
    assert row["cgroup"].startswith("/")
    assert row["connections_total"] == 1
    assert row["rx_bytes_total"] > size
    assert_matches_server(row, records)


def test_python_keepalive_requests_as_another_user(netns, procs, server, egresswatch, pki):
    srv = server("tls")
    ew = egresswatch()
    script = f"""
import http.client, ssl
ctx = ssl.create_default_context(cadata={(pki / 'ca.pem').read_text()!r})
c = http.client.HTTPSConnection({SERVER_V4!r}, 8443, context=ctx)
for n in (1000, 250000, 70000, 1):
    c.request("GET", f"/bytes/{{n}}")
    assert len(c.getresponse().read()) == n
c.close()
"""
    p = client(netns, procs, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               PYTHON, "-c", script)
    finish(p)
    row = ew.settled(p.pid)[SERVER_V4]
    records = wait_for(srv.records, 10, "the server's log")
    assert records[0]["requests"] == 4
    assert (row["comm"], row["uid"]) == ("python3", 65534)
    assert row["connections_total"] == 1
    assert_matches_server(row, records)


def test_ipv6(netns, procs, server, egresswatch, pki):
    srv = server("tls", port=8444, addr=SERVER_V6)
    ew = egresswatch()
    p = client(netns, procs, "curl", "-sS", "-o", "/dev/null",
               f"https://[{SERVER_V6}]:8444/bytes/500000", env=curl_env(pki))
    finish(p)
    row = ew.settled(p.pid)[SERVER_V6]
    assert_matches_server(row, wait_for(srv.records, 10, "the server's log"))


def test_ipv4_mapped_address_on_an_ipv6_socket(netns, procs, server, egresswatch):
    srv = server("plain", port=9000)
    ew = egresswatch()
    script = f"""
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.connect(("::ffff:{SERVER_V4}", 9000))
s.sendall(b"GET 123456\\n")
got = 0
while chunk := s.recv(65536):
    got += len(chunk)
assert got == 123456
"""
    p = client(netns, procs, PYTHON, "-c", script)
    finish(p)
    row = ew.settled(p.pid)[SERVER_V4]
    assert (row["rx_bytes_total"], row["tx_bytes_total"]) == (123456, len("GET 123456\n"))


def test_udp_datagrams_are_counted_exactly(netns, procs, server, egresswatch):
    server("udp", port=5353)
    ew = egresswatch()
    script = f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
for i in range(200):
    s.sendto(b"u" * 700, ({SERVER_V4!r}, 5353))
    assert len(s.recv(2048)) == 700
s.close()
"""
    p = client(netns, procs, PYTHON, "-c", script)
    finish(p)
    row = ew.settled(p.pid)[SERVER_V4]
    assert (row["tx_bytes_total"], row["rx_bytes_total"]) == (200 * 700, 200 * 700)
    assert row["connections_total"] == 1


def udp_flows_of(ew, pid):
    """(peer port, counted in the socket's storage, tx, rx) of each UDP flow
    of pid in egresswatch's flows map."""
    counted_in_socket = 4  # EW_FLOW_COUNTED_IN_SOCKET
    return sorted((e["formatted"]["key"]["peer_port"],
                   bool(e["formatted"]["value"]["flags"] & counted_in_socket),
                   e["formatted"]["value"]["tx_bytes"], e["formatted"]["value"]["rx_bytes"])
                  for e in bpf_map_of(ew.proc.pid, "flows")
                  if e["formatted"]["key"]["proto"] == 17
                  and e["formatted"]["value"]["owner"]["tgid"] == pid)


@pytest.mark.parametrize("counters", TCP_COUNTERS)
@pytest.mark.parametrize("addr", [SERVER_V4, SERVER_V6])
def test_connected_udp_socket_counts_live_and_at_close(netns, procs, server, egresswatch, tmp_path,
                                                       counters, addr):
    """A UDP socket's first peer (a QUIC connection's only one) is counted in
    its socket's storage where the sockets' counters are read, in its flow
    otherwise: each flow holds its own datagrams while the sockets are open,
    the row shows them, and all of them once the sockets close. An
    unconnected socket's second peer counts in its flow either way."""
    server("udp", port=5353, addr=addr)
    server("udp", port=5354, addr=addr)
    family = "AF_INET6" if ":" in addr else "AF_INET"
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    script = f"""
import socket, sys
def echo(s, n, size, to=None):
    for i in range(n):
        s.sendto(b"u" * size, to) if to else s.send(b"u" * size)
        assert len(s.recv(2048)) == size
connected = socket.socket(socket.{family}, socket.SOCK_DGRAM)
connected.settimeout(5)
connected.connect(({addr!r}, 5353))
echo(connected, 200, 700)
two_peers = socket.socket(socket.{family}, socket.SOCK_DGRAM)
two_peers.settimeout(5)
echo(two_peers, 100, 600, ({addr!r}, 5353))
echo(two_peers, 50, 500, ({addr!r}, 5354))
print("open", flush=True)
sys.stdin.readline()
echo(connected, 300, 1000)
echo(two_peers, 10, 900, ({addr!r}, 5353))
connected.close()
two_peers.close()
"""
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"open\n"
    so_far = 200 * 700 + 100 * 600 + 50 * 500

    def open_sockets_shown():
        row = ew.rows(p.pid).get(addr)
        return row and (row["tx_bytes_total"], row["rx_bytes_total"], row["connections"]) == \
            (so_far, so_far, 3)
    wait_for(open_sockets_shown, 10, "the open sockets' datagrams each way")
    in_socket = counters == "socket"
    assert udp_flows_of(ew, p.pid) == [(5353, in_socket, 60_000, 60_000),
                                       (5353, in_socket, 140_000, 140_000),
                                       (5354, False, 25_000, 25_000)]
    p.stdin.write(b"next\n")
    p.stdin.flush()
    finish(p)
    row = ew.settled(p.pid)[addr]
    total = so_far + 300 * 1000 + 10 * 900
    assert (row["tx_bytes_total"], row["rx_bytes_total"]) == (total, total)
    assert row["connections_total"] == 3


@pytest.mark.parametrize("counters", TCP_COUNTERS)
def test_burst_of_500_short_connections_is_fully_accounted(netns, procs, server, egresswatch,
                                                           tmp_path, counters):
    server("plain", port=9000)
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    script = f"""
import socket
for i in range(500):
    s = socket.create_connection(({SERVER_V4!r}, 9000))
    s.sendall(b"GET 3000\\n")
    got = 0
    while chunk := s.recv(65536):
        got += len(chunk)
    assert got == 3000
    s.close()
"""
    p = client(netns, procs, PYTHON, "-c", script)
    finish(p)
    row = ew.settled(p.pid)[SERVER_V4]
    assert row["connections_total"] == 500
    assert row["rx_bytes_total"] == 500 * 3000
    assert row["tx_bytes_total"] == 500 * len("GET 3000\n")
    lost = ew.lines[-1]["lost"]
    assert lost["flow_map_full"] == 0 and lost["bytes_unaccounted"] == 0


@pytest.mark.parametrize("counters", TCP_COUNTERS)
def test_socket_open_before_start_is_attributed(netns, procs, server, egresswatch, tmp_path,
                                                counters):
    server("plain", port=9000)
    script = f"""
import socket, sys
s = socket.create_connection(({SERVER_V4!r}, 9000))
print("connected", flush=True)
sys.stdin.readline()
s.sendall(b"GET 777777\\n")
got = 0
while chunk := s.recv(65536):
    got += len(chunk)
assert got == 777777
"""
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"connected\n"
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    p.stdin.write(b"go\n")
    p.stdin.flush()
    assert p.wait(timeout=60) == 0
    row = ew.settled(p.pid)[SERVER_V4]
    assert row["preexisting"] is True
    assert row["comm"] == "python3"
    assert row["rx_bytes_total"] == 777777
    assert row["tx_bytes_total"] == len("GET 777777\n")


# Client script code: one keep-alive request to the plain-http server on a
# connected socket s (f: its reader); returns the bytes sent and received.
HTTP_GET = f"""
def get(s, f, n):
    request = b"GET /bytes/%d HTTP/1.1\\r\\nHost: {SERVER_V4}\\r\\n\\r\\n" % n
    s.sendall(request)
    received = 0
    while (line := f.readline()) != b"\\r\\n":
        received += len(line)
    return len(request), received + 2 + len(f.read(n))
"""


@pytest.mark.parametrize("counters", TCP_COUNTERS)
def test_idle_open_connection_shows_every_byte(netns, procs, server, egresswatch, tmp_path,
                                               counters):
    """Keep-alive connections that go quiet show all they carried while they
    stay open, not only once they close; quiet for several refreshes (whose
    reader then skips their sockets), they show what they carry next, within
    a few refreshes: not left to the reader's look at every socket at one
    refresh in 16 (8 s here), which would bring each of the four connections
    in time only about every other run."""
    server("plain-http", port=9000)
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    script = HTTP_GET + f"""
import socket, sys
conns = [socket.create_connection(({SERVER_V4!r}, 9000)) for _ in range(4)]
files = [s.makefile("rb") for s in conns]
sent = received = 0
for sizes in ((5000, 123457, 1), (777,)):
    for s, f in zip(conns, files):
        for n in sizes:
            out, got = get(s, f, n)
            sent, received = sent + out, received + got
    print(sent, received, flush=True)
    sys.stdin.readline()
"""
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for step in ("first requests", "a request on each after a quiet spell"):
        sent, received = map(int, p.stdout.readline().split())

        def live():
            row = ew.rows(p.pid).get(SERVER_V4)
            return row if row and row["connections"] == 4 and \
                (row["tx_bytes_total"], row["rx_bytes_total"]) == (sent, received) else None
        wait_for(live, 4, f"{step}: the open connections' {sent} bytes out and {received} in")
        quiet_until = len(ew.lines) + 6
        wait_for(lambda: len(ew.lines) >= quiet_until, 10, "six refreshes")
        assert live(), f"{step}: the quiet connections' counts moved"
        p.stdin.write(b"next\n")
        p.stdin.flush()
    assert p.wait(timeout=30) == 0
    row = ew.settled(p.pid)[SERVER_V4]
    assert (row["tx_bytes_total"], row["rx_bytes_total"]) == (sent, received)


@pytest.mark.parametrize("counters", TCP_COUNTERS)
def test_socket_connected_again_is_a_new_connection(netns, procs, server, egresswatch, tmp_path,
                                                    counters):
    """connect(AF_UNSPEC) ends a TCP connection and leaves the socket to
    connect again, to the same peer: the second connection is counted and
    named like the first."""
    server("plain-http", port=9000)
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    script = HTTP_GET + f"""
import ctypes, socket
libc = ctypes.CDLL(None, use_errno=True)
s = socket.socket()
sent = received = 0
for n in (4321, 98765):
    s.connect(({SERVER_V4!r}, 9000))
    f = s.makefile("rb")
    out, got = get(s, f, n)
    sent, received = sent + out, received + got
    f.close()
    unspec = ctypes.create_string_buffer(16)  # sa_family 0: AF_UNSPEC
    assert libc.connect(s.fileno(), unspec, 16) == 0, ctypes.get_errno()
print(sent, received, flush=True)
"""
    p = client(netns, procs, PYTHON, "-c", script)
    sent, received = map(int, finish(p).split())
    row = ew.settled(p.pid)[SERVER_V4]
    assert row["connections_total"] == 2
    assert (row["tx_bytes_total"], row["rx_bytes_total"]) == (sent, received)


@pytest.mark.parametrize("counters", TCP_COUNTERS)
@pytest.mark.parametrize("direction", ["download", "upload"])
def test_retransmitted_bytes_count_once(netns, procs, server, egresswatch, tmp_path, direction,
                                        counters):
    """The far end's acknowledgements are dropped until the sender has
    retransmitted data the receiver already has: the client's hooks see those
    bytes more than once, and count them once."""
    size = 300_000
    if direction == "download":  # the server retransmits: acks dropped on its side
        srv = server("plain", port=9000)
        rule_ns, rule = netns.server, ("dport", 9000)
        send = "s.sendall(b'GET %d\\n' % size)"
    else:  # the client retransmits: the server's acks dropped on the client's side
        srv = server("sink", port=9000)
        rule_ns, rule = netns.client, ("sport", 9000)
        send = "s.sendall(b'z' * size); s.shutdown(socket.SHUT_WR)"
    ew = counting_egresswatch(egresswatch, tmp_path, counters)
    script = f"""
import socket, sys
size = {size}
s = socket.create_connection(({SERVER_V4!r}, 9000))
print("connected", flush=True)
sys.stdin.readline()
{send}
while s.recv(65536):
    pass
"""
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"connected\n"
    # the sender did retransmit: the client got duplicates (download) or
    # resent segments (upload)
    resent = "TCPDSACKOldSent" if direction == "download" else "RetransSegs"
    with acks_dropped(rule_ns, *rule):
        p.stdin.write(b"go\n")
        p.stdin.flush()
        wait_for(lambda: snmp(netns.client, resent) > 0, 30, f"{resent} in the client namespace")
    assert p.wait(timeout=60) == 0
    row = ew.settled(p.pid)[SERVER_V4]
    record, = wait_for(srv.records, 10, "the server's log")
    request = len(f"GET {size}\n") if direction == "download" else size
    response = size if direction == "download" else 0
    # the server's kernel counts a FIN as a byte (its own, once acknowledged)
    assert record["bytes_received"] == request + 1
    assert record["bytes_acked"] in (response, response + 1)
    assert (row["tx_bytes_total"], row["rx_bytes_total"]) == (request, response)


def test_stop_detaches_everything(procs, egresswatch):
    before = bpf_program_ids()  # an earlier test's instance may still be unloading
    ew = egresswatch()
    mine = bpf_program_ids() - before
    # the socket hooks, the reader of TCP's counters, the exec tracepoint of TLS inspection
    assert len(mine) == 9 + tcp_counters_supported()
    assert ew.stop() == 0
    wait_for(lambda: not (bpf_program_ids() & mine), 10, "egresswatch's programs to be unloaded")
    links = json.loads(run("bpftool", "-j", "link", "list").stdout)
    assert not [link for link in links if link.get("prog_id") in mine]


def test_check_reports_every_hook():
    r = run(str(EGRESSWATCH), "check", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    for hook in ("cgroup/connect4", "cgroup/connect6", "cgroup/sendmsg4", "cgroup/sendmsg6",
                 "cgroup_skb/egress", "cgroup_skb/ingress", "cgroup/sock_release",
                 "raw_tp/inet_sock_set_state", "syscall/tcp_counters"):
        line = next(li for li in r.stdout.splitlines() if li.startswith(hook + " "))
        assert line.split()[1] == "ok"
    assert r.stdout.rstrip().endswith("socket-accounting core: can run")


def test_usage_errors_and_privileges():
    r = run(str(EGRESSWATCH), "top", "-n", "zero", check=False)
    assert r.returncode == 2 and "-n" in r.stderr
    r = run(str(EGRESSWATCH), "frobnicate", check=False)
    assert r.returncode == 2 and "frobnicate" in r.stderr
    r = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            str(EGRESSWATCH), "top", "-b", "-n", "1", check=False)
    assert r.returncode == 1 and "needs root" in r.stderr
    r = run("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            str(EGRESSWATCH), "check", check=False)
    assert r.returncode == 1 and "needs root" in r.stderr
    r = run(str(EGRESSWATCH), "--version")
    assert r.stdout.startswith("egresswatch ")


def test_endpoints_and_configuration_errors(tmp_path):
    r = run(str(EGRESSWATCH), "endpoints")
    for provider in ("openai", "anthropic", "gemini", "bedrock", "openrouter (router)"):
        assert f"\n{provider}\n" in "\n" + r.stdout
    config = tmp_path / "c.conf"
    config.write_text("[endpoint acme]\nprovider = acme\nhosts = llm.acme.internal\n")
    os.chmod(config, 0o600)
    r = run(str(EGRESSWATCH), "--config", str(config), "endpoints")
    assert "acme (config)\n  hosts       llm.acme.internal" in r.stdout
    config.write_text("[general]\ninterval = 5\nintreval = 4\n")
    r = run(str(EGRESSWATCH), "--config", str(config), "top", "-b", "-n", "1", check=False)
    assert r.returncode == 2
    assert f"{config}:3: unknown key 'intreval' in [general]" in r.stderr


def test_capabilities_are_dropped_after_attach(procs, egresswatch):
    ew = egresswatch()
    status = Path(f"/proc/{ew.proc.pid}/status").read_text()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["NoNewPrivs"].strip() == "1"
    kept = int(fields["CapEff"], 16)
    # CAP_DAC_READ_SEARCH 2, CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21, CAP_PERFMON 38, CAP_BPF 39
    assert kept == (1 << 2) | (1 << 19) | (1 << 21) | (1 << 38) | (1 << 39)
    assert int(fields["CapBnd"], 16) == kept
    assert not int(fields["CapEff"], 16) & (1 << 12)  # CAP_NET_ADMIN is gone
