"""Fixtures for the integration tests: network namespaces joined by a veth pair
with TEST-NET addresses, a test PKI, real servers inside the namespaces, and
egresswatch itself running on the real kernel. Everything a test starts is
stopped and removed when it ends, whether it passed or failed."""
import functools
import json
import os
import signal
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from netns import CLIENT_V4, CLIENT_V6, SERVER_V4, SERVER_V6, VethPair, run  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
EGRESSWATCH = ROOT / "egresswatch"
PEERS = Path(__file__).resolve().parent / "peers"
PYTHON = "/usr/bin/python3"  # Debian's, linked to the system OpenSSL

SERVER_V4_OTHER = "203.0.113.1"  # a second server address, for CIDR tests
DNS_SERVER = "198.51.100.53"


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def json_lines(path):
    """The complete lines of a JSON-lines file another process is writing: a
    read may catch a write() half-copied, since readers of a regular file are
    not held off."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().split("\n")[:-1]]


@contextmanager
def acks_dropped(ns, field, port):
    """Inside the block, the namespace ns drops the packets it receives on the
    TCP port (field: "sport" or "dport") that carry neither data (no PSH) nor
    a SYN, FIN or RST: the far end's acknowledgements. Its peer then resends
    data the other side already has. The table goes with the namespace if the
    test fails inside the block."""
    rule = f"""table inet ew_test {{
    chain input {{
        type filter hook input priority 0;
        tcp {field} {port} tcp flags & (syn | fin | rst | psh) == 0 drop
    }}
}}"""
    run("ip", "netns", "exec", ns, "nft", "-f", "-", input=rule)
    try:
        yield
    finally:
        run("ip", "netns", "exec", ns, "nft", "delete", "table", "inet", "ew_test", check=False)


def snmp(ns, counter):
    """A TCP counter of the namespace ns, from /proc/net/snmp or netstat."""
    for table in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = run("ip", "netns", "exec", ns, "cat", table).stdout.splitlines()
        for names, values in zip(lines[::2], lines[1::2]):
            fields = dict(zip(names.split()[1:], values.split()[1:]))
            if counter in fields:
                return int(fields[counter])
    raise KeyError(counter)


@pytest.fixture(scope="session", autouse=True)
def require_root_and_binary():
    if os.geteuid() != 0:
        pytest.exit("integration tests load BPF programs: run them as root", returncode=1)
    if not EGRESSWATCH.exists():
        pytest.exit(f"{EGRESSWATCH} is not built: run make", returncode=1)


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """A test CA and a server certificate for the test addresses and names."""
    d = tmp_path_factory.mktemp("pki")
    names = ["api.openai.com", "api.anthropic.com", "cdn.example.net", "shared.example.net"]
    san = ",".join([f"IP:{SERVER_V4}", f"IP:{SERVER_V6}"] + [f"DNS:{n}" for n in names])
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-days", "2", "-subj", "/CN=egresswatch test CA",
        "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-subj", "/CN=egresswatch test server", "-keyout", str(d / "server.key"),
        "-out", str(d / "server.csr"))
    (d / "ext.cnf").write_text(f"subjectAltName={san}\n")
    run("openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"),
        "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
        "-extfile", str(d / "ext.cnf"), "-out", str(d / "server.pem"))
    return d


class Netns(VethPair):
    """The test hosts, with a second server address, a DNS server address and
    a resolv.conf for the client namespace."""

    def __init__(self, tag):
        super().__init__("ew", tag)
        self.resolv = Path("/etc/netns") / self.client / "resolv.conf"

    def create(self):
        super().create()
        run("ip", "-n", self.server, "addr", "add", f"{SERVER_V4_OTHER}/24", "dev", "ewv0")
        run("ip", "-n", self.server, "addr", "add", f"{DNS_SERVER}/24", "dev", "ewv0")
        run("ip", "-n", self.client, "route", "add", "203.0.113.0/24", "dev", "ewv1")
        # ip netns exec bind-mounts this over /etc/resolv.conf in the namespace
        self.resolv.parent.mkdir(parents=True, exist_ok=True)
        self.resolv.write_text(f"nameserver {DNS_SERVER}\noptions timeout:2 attempts:2\n")

    def destroy(self):
        super().destroy()
        if self.resolv.exists():
            self.resolv.unlink()
            self.resolv.parent.rmdir()


@pytest.fixture
def netns():
    ns = Netns(os.getpid())
    ns.destroy()  # leftovers of an earlier run that was killed
    try:
        ns.create()
        yield ns
    finally:
        ns.destroy()


class Processes:
    """Processes a test started; all killed at teardown."""

    def __init__(self):
        self.procs = []

    def start(self, *cmd, **kw):
        p = subprocess.Popen(cmd, start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()


@pytest.fixture
def procs():
    ps = Processes()
    try:
        yield ps
    finally:
        ps.stop_all()


class Server:
    def __init__(self, log):
        self.log = log

    def records(self):
        return json_lines(self.log)


@pytest.fixture
def server(netns, procs, pki, tmp_path):
    """start(mode, port, addr=SERVER_V4): a test server in the server namespace."""
    def start(mode="tls", port=8443, addr=SERVER_V4):
        log = tmp_path / f"server-{mode}-{port}.log"
        ready = tmp_path / f"server-{mode}-{port}.ready"
        procs.start("ip", "netns", "exec", netns.server, PYTHON, str(PEERS / "tls_server.py"),
                    "--addr", addr, "--port", str(port), "--mode", mode,
                    "--cert", str(pki / "server.pem"), "--key", str(pki / "server.key"),
                    "--log", str(log), "--ready", str(ready))
        wait_for(ready.exists, 10, f"the {mode} server on port {port}")
        return Server(log)
    return start


@pytest.fixture
def llm_server(netns, procs, pki, tmp_path):
    """start(port=443): the LLM-API-shaped HTTPS server in the server namespace."""
    def start(port=443, addr=SERVER_V4):
        log = tmp_path / f"llm-{port}.log"
        ready = tmp_path / f"llm-{port}.ready"
        procs.start("ip", "netns", "exec", netns.server, PYTHON, str(PEERS / "llm_server.py"),
                    "--addr", addr, "--port", str(port), "--cert", str(pki / "server.pem"),
                    "--key", str(pki / "server.key"), "--log", str(log), "--ready", str(ready))
        wait_for(ready.exists, 10, "the LLM server")
        return Server(log)
    return start


@pytest.fixture
def llm_server_h2(netns, procs, pki, tmp_path):
    """start(port=443): the HTTP/2 LLM-API-shaped server (node) in the server namespace."""
    def start(port=443, addr=SERVER_V4):
        log = tmp_path / f"llm-h2-{port}.log"
        ready = tmp_path / f"llm-h2-{port}.ready"
        procs.start("ip", "netns", "exec", netns.server, "node", str(PEERS / "llm_server_h2.js"),
                    addr, str(port), str(pki / "server.pem"), str(pki / "server.key"), str(log),
                    str(ready))
        wait_for(ready.exists, 10, "the HTTP/2 LLM server")
        return Server(log)
    return start


@pytest.fixture
def dns_server(netns, procs, tmp_path):
    """start(names): dnsmasq in the server namespace answering name -> address."""
    def start(names):
        ready = tmp_path / "dnsmasq.pid"
        cmd = ["dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
               f"--listen-address={DNS_SERVER}", "--bind-interfaces", "--port=53",
               f"--pid-file={ready}", "--user=root", "--local-ttl=300"]
        cmd += [f"--host-record={name},{addr}" for name, addr in names.items()]
        procs.start("ip", "netns", "exec", netns.server, *cmd)
        wait_for(ready.exists, 10, "dnsmasq")
    return start


class Egresswatch:
    """egresswatch top -b --json running in the root namespace."""

    def __init__(self, procs, args, config=None):
        self.lines = []
        self.stderr = b""
        prefix = ["--config", str(config)] if config else []
        self.proc = procs.start(str(EGRESSWATCH), *prefix, "top", "-b", "--json", *args,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        wait_for(lambda: self.lines or self.proc.poll() is not None, 20, "egresswatch's first refresh")
        assert self.proc.poll() is None, f"egresswatch exited: {self.proc.stderr.read().decode()}"

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def rows(self, pid):
        """The newest row of each host for pid."""
        latest = {}
        for refresh in list(self.lines):
            for row in refresh["rows"]:
                if row["pid"] == pid:
                    latest[row["host"]] = row
        return latest

    def settled(self, pid, refreshes=3):
        """Rows of pid once its connections are closed and its totals stopped moving."""
        def totals(refresh):
            return {r["host"]: (r["rx_bytes_total"], r["tx_bytes_total"], r["connections"])
                    for r in refresh["rows"] if r["pid"] == pid}

        def quiet():
            tail = [totals(r) for r in self.lines[-refreshes:]]
            if len(tail) < refreshes or not tail[-1]:
                return None
            if any(t != tail[-1] for t in tail) or any(c for _, _, c in tail[-1].values()):
                return None
            return self.rows(pid)
        return wait_for(quiet, 30, f"settled rows for pid {pid}")

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        rc = self.proc.wait(timeout=15)
        self.reader.join(timeout=5)
        self.stderr = self.proc.stderr.read()
        return rc


@pytest.fixture
def egresswatch(procs):
    """start(*args): egresswatch top -b --json with extra options."""
    started = []

    def start(*args, config=None):
        ew = Egresswatch(procs, args or ("--all", "-d", "0.5"), config)
        started.append(ew)
        return ew
    yield start
    for ew in started:
        if ew.proc.poll() is None:
            ew.stop()


# Where TCP bytes come from (the tcp_counters setting): the sockets' own
# counters, read by a syscall program, or each packet, where a kernel refuses
# that program. Tests of counting run both.
TCP_COUNTERS = ["socket", "packets"]


def counters_config(tmp_path, counters):
    """A configuration file that sets tcp_counters."""
    path = tmp_path / f"tcp_counters_{counters}.ini"
    path.write_text(f"[general]\ntcp_counters = {counters}\n")
    return path


def bpf_map_of(pid, name):
    """The dump (bpftool's JSON) of the BPF map called name that process pid holds."""
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            ids = [line.split()[1] for line in f if line.startswith("map_id:")]
        for map_id in ids:
            if json.loads(run("bpftool", "-j", "map", "show", "id", map_id).stdout).get("name") == name:
                return json.loads(run("bpftool", "-j", "map", "dump", "id", map_id).stdout)
    raise AssertionError(f"process {pid} holds no BPF map {name}")


def bpf_program_ids(prefix="ew_"):
    """Ids of the loaded BPF programs whose names start with prefix."""
    progs = json.loads(run("bpftool", "-j", "prog", "list").stdout)
    return {p["id"] for p in progs if p.get("name", "").startswith(prefix)}


@functools.cache
def tcp_counters_supported():
    """Whether this kernel runs the reader of TCP's own counters (a syscall
    program), as `egresswatch check` reports it."""
    out = run(str(EGRESSWATCH), "check", check=False).stdout
    return any(li.split()[:2] == ["syscall/tcp_counters", "ok"] for li in out.splitlines())


def counting_egresswatch(egresswatch, tmp_path, counters):
    """egresswatch with tcp_counters set, checked to count that way: the
    reader of the sockets' counters is loaded for "socket" only."""
    if counters == "socket" and not tcp_counters_supported():
        pytest.skip("this kernel refuses the syscall program that reads TCP's counters")
    before = bpf_program_ids("ew_refresh")
    ew = egresswatch(config=counters_config(tmp_path, counters))
    assert bool(bpf_program_ids("ew_refresh") - before) == (counters == "socket")
    return ew


def client(netns, procs, *cmd, env=None):
    """Runs cmd in the client namespace; returns the Popen (its pid is the client's)."""
    return procs.start("ip", "netns", "exec", netns.client, *cmd, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
