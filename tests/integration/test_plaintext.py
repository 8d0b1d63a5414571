"""TLS plaintext: requests, tokens and API keys per process, from uprobes on
OpenSSL and GnuTLS, counted exactly against the server's log."""
import contextlib
import os
import re
import signal
import subprocess

import pytest
import uuid
from pathlib import Path

from conftest import PEERS, PYTHON, SERVER_V4, bpf_map_of, client, wait_for

KEYS = [f"sk-test-{uuid.uuid4().hex}" for _ in range(3)]


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()
    return out.decode()


def truth(server, n):
    records = wait_for(lambda: len(server.records()) >= n and server.records(), 10,
                       f"{n} requests in the server's log")
    return truth_of(records)


def truth_of(records):
    return {"requests": len(records),
            "input": sum(r["input_tokens"] for r in records),
            "output": sum(r["output_tokens"] for r in records),
            "keys": len({r["key"] for r in records if r["key"]})}


def plaintext_of(row):
    return {"requests": row["requests_total"], "input": row["input_tokens_total"],
            "output": row["output_tokens_total"], "keys": row["api_keys"]}


PYTHON_CLIENT = """
import http.client, json, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[1])
keys = sys.argv[2].split(",")
calls = [
    ("/v1/chat/completions", {{"model": "m", "messages": []}}, "authorization", "Bearer "),
    ("/v1/chat/completions", {{"stream": True, "stream_options": {{"include_usage": True}}}},
     "authorization", "Bearer "),
    ("/v1/chat/completions?gzip=1", {{}}, "authorization", "Bearer "),
    ("/v1/responses", {{}}, "authorization", "Bearer "),
    ("/v1/messages", {{}}, "x-api-key", ""),
    ("/v1/messages", {{"stream": True}}, "x-api-key", ""),
]
c = http.client.HTTPSConnection("{host}", 443, context=ctx)
for i in range({rounds}):
    path, body, header, prefix = calls[i % len(calls)]
    c.request("POST", path, body=json.dumps(body),
              headers={{header: prefix + keys[i % len(keys)], "content-type": "application/json",
                       "accept-encoding": "gzip"}})
    r = c.getresponse()
    assert r.status == 200, r.status
    r.read()
c.close()
"""


def test_python_openssl3_requests_tokens_and_keys(netns, procs, llm_server, dns_server,
                                                   egresswatch, pki):
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    rounds = 24
    script = PYTHON_CLIENT.format(host="api.openai.com", rounds=rounds)
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    (pki / "ca.pem").read_text(), ",".join(KEYS),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finish(p)
    expected = truth(srv, rounds)
    row = ew.settled(p.pid)["api.openai.com"]
    assert row["provider"] == "openai"
    assert plaintext_of(row) == expected
    assert expected["keys"] == 3


def test_payload_capture_bounds_each_copy(netns, procs, llm_server, dns_server, egresswatch, pki,
                                          tmp_path):
    """payload_capture = 256: request heads still fit, so requests and keys
    are exact; what a response carries past 256 bytes is not seen."""
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    config = tmp_path / "egresswatch.conf"
    config.write_text("[general]\npayload_capture = 256\n")
    os.chmod(config, 0o600)
    ew = egresswatch("-d", "0.5", config=config)
    script = PYTHON_CLIENT.format(host="api.openai.com", rounds=6)
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    (pki / "ca.pem").read_text(), KEYS[0],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finish(p)
    expected = truth(srv, 6)
    got = plaintext_of(ew.settled(p.pid)["api.openai.com"])
    assert (got["requests"], got["keys"]) == (expected["requests"], 1)
    assert (got["output"] or 0) < expected["output"]


# enum ew_tls_stat in headers/tls.h: bytes of response bodies not copied
TLS_STAT_READ_SKIPPED = 2
TLS_STAT_NESTED = 3


def tls_stat(ew, stat):
    """A TLS counter of the kernel programs (headers/tls.h), summed over CPUs."""
    return sum(v["value"] for entry in bpf_map_of(ew.proc.pid, "tls_stats")
               if entry["formatted"]["key"] == stat for v in entry["formatted"]["values"])

FILE_EMBEDDINGS_CHAT = """
import http.client, json, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[1])
auth = {{"authorization": "Bearer " + sys.argv[2], "content-type": "application/json"}}
c = http.client.HTTPSConnection("api.openai.com", 443, context=ctx)
c.request("GET", "/v1/files/file-abc/content?bytes={size}", headers=auth)
r = c.getresponse()
assert r.status == 200
print(len(r.read()), flush=True)
sys.stdin.readline()
c.request("POST", "/v1/embeddings", body=json.dumps({{"model": "m", "input": ["x"] * 500}}),
          headers=auth)
r = c.getresponse()
assert r.status == 200, r.status
print(len(r.read()), flush=True)
sys.stdin.readline()
c.request("POST", "/v1/chat/completions", body=json.dumps({{"model": "m"}}), headers=auth)
r = c.getresponse()
assert r.status == 200, r.status
r.read()
c.close()
"""


def test_unneeded_response_bodies_are_not_copied(netns, procs, llm_server, dns_server, egresswatch,
                                                  pki):
    """On one connection: a 20 MB file download, whose body holds no usage,
    then embeddings of about 8 MB of JSON, whose usage closes the body, then a
    chat request. Once each head is read the kernel sends the lengths of the
    reads the body's reader has no use for, not their bytes: all of the file,
    all of the embeddings but their last 64 KiB. Every request and its tokens
    are counted."""
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c",
                    FILE_EMBEDDINGS_CHAT.format(size=20_000_000), (pki / "ca.pem").read_text(),
                    KEYS[0], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def skipped():
        return tls_stat(ew, TLS_STAT_READ_SKIPPED)
    before = 0
    for what in ("file", "embeddings"):
        body = int(p.stdout.readline())
        assert body > 4_000_000, (what, body)
        now = skipped()
        # the reads before user space had the head (its ring is read every
        # 100 ms or an eighth full) were copied; the rest was not
        assert body // 2 <= now - before <= body, (what, body, now - before)
        before = now
        p.stdin.write(b"next\n")
        p.stdin.flush()
    assert p.wait(timeout=60) == 0, p.stderr.read().decode()
    expected = truth(srv, 3)
    assert plaintext_of(ew.settled(p.pid)["api.openai.com"]) == expected


SLOW_DOWNLOAD = """
import http.client, ssl, sys, time
ctx = ssl.create_default_context(cadata=sys.argv[1])
c = http.client.HTTPSConnection("api.openai.com", 443, context=ctx)
c.request("GET", "/v1/files/file-big/content?bytes=2000000000")
r = c.getresponse()
while r.read(1 << 20):
    time.sleep(0.05)
"""


def test_killed_downloader_leaves_no_skip_behind(netns, procs, llm_server, dns_server, egresswatch,
                                                 pki):
    """A client killed in the middle of a file download never calls SSL_free,
    which removes the kernel's skip for its connection: egresswatch removes it
    once it sees the process gone, so that a process given the same pid and
    connection pointer later does not start skipping."""
    llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", SLOW_DOWNLOAD,
                    (pki / "ca.pem").read_text(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def skips_of_client():
        return [e for e in bpf_map_of(ew.proc.pid, "read_skip") if e["formatted"]["key"]["tgid"] == p.pid]
    wait_for(skips_of_client, 15, "the download's skip in the kernel")
    p.kill()
    p.wait(timeout=10)
    # egresswatch looks for exited processes every 10 s
    wait_for(lambda: not skips_of_client(), 25, "the killed client's skip removed")


def curl_post(netns, procs, pki, url, key, header, extra=(), data='{"model": "m"}'):
    env = dict(os.environ, CURL_CA_BUNDLE=str(pki / "ca.pem"))
    return client(netns, procs, "curl", "-sS", "--fail", "-o", "/dev/null", *extra,
                  "-H", f"{header}: {key}", "-H", "content-type: application/json",
                  "--data", data, url, env=env)


def test_curl_http1_and_http2(netns, procs, llm_server, llm_server_h2, dns_server, egresswatch, pki):
    h1 = llm_server(443)
    h2 = llm_server_h2(8443)
    dns_server({"api.openai.com": SERVER_V4, "api.anthropic.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    # one curl process, several requests on one connection each way
    p1 = curl_post(netns, procs, pki, "https://api.openai.com/v1/chat/completions",
                   f"Bearer {KEYS[0]}", "authorization",
                   ["--http1.1", "-o", "/dev/null", "-o", "/dev/null",
                    "https://api.openai.com/v1/responses", "https://api.openai.com/v1/messages"])
    finish(p1)
    p2 = client(netns, procs, "curl", "-sS", "--fail", "--http2", "-o", "/dev/null",
                "-o", "/dev/null", "-o", "/dev/null",
                "-H", f"x-api-key: {KEYS[1]}", "--data", '{"stream": true}',
                "https://api.anthropic.com:8443/v1/messages",
                "https://api.anthropic.com:8443/v1/messages",
                "https://api.anthropic.com:8443/v1/chat/completions",
                env=dict(os.environ, CURL_CA_BUNDLE=str(pki / "ca.pem")))
    finish(p2)
    row = ew.settled(p1.pid)["api.openai.com"]
    assert plaintext_of(row) == truth(h1, 3)
    row = ew.settled(p2.pid)["api.anthropic.com"]
    assert row["provider"] == "anthropic"
    assert plaintext_of(row) == truth(h2, 3)


def test_curl_through_an_https_proxy(netns, procs, llm_server, egresswatch, pki, tmp_path):
    """TLS inside TLS: curl speaks TLS to an HTTPS proxy and, through the
    tunnel, TLS to the API. Each call on the inner connection makes calls on
    the outer one, on the same thread, before it returns; the inner requests
    and tokens are counted exactly, on the row of the host they name (the
    socket goes to the proxy, which names no endpoint). egresswatch is
    stopped while curl runs, so that the outer connection is not yet ignored
    (user space ignores it once it reads its CONNECT) and every inner call
    nests; the kernel's events wait in the ring for it."""
    srv = llm_server()
    log, ready = tmp_path / "proxy.log", tmp_path / "proxy.ready"
    procs.start("ip", "netns", "exec", netns.server, PYTHON, str(PEERS / "https_proxy.py"),
                "--addr", SERVER_V4, "--port", "8443", "--upstream", f"{SERVER_V4}:443",
                "--cert", str(pki / "server.pem"), "--key", str(pki / "server.key"),
                "--log", str(log), "--ready", str(ready))
    wait_for(ready.exists, 10, "the HTTPS proxy")
    ew = egresswatch("-d", "0.5")
    rounds = 4
    url = "https://api.openai.com/v1/chat/completions"
    ew.proc.send_signal(signal.SIGSTOP)
    try:
        p = curl_post(netns, procs, pki, url, f"Bearer {KEYS[0]}", "authorization",
                      ["--http1.1", "--proxy", f"https://{SERVER_V4}:8443",
                       "--proxy-cacert", str(pki / "ca.pem")] + ["-o", "/dev/null", url] * (rounds - 1))
        finish(p)
    finally:
        ew.proc.send_signal(signal.SIGCONT)
    # each request's write, and at least one read of each response
    assert tls_stat(ew, TLS_STAT_NESTED) >= 2 * rounds
    # one tunnel, kept for every request
    assert log.read_text().splitlines() == ['{"connect": "api.openai.com:443"}']
    row = ew.settled(p.pid)["api.openai.com"]
    assert row["provider"] == "openai"
    assert plaintext_of(row) == truth(srv, rounds)


def test_http2_long_prompts(netns, procs, llm_server_h2, dns_server, egresswatch, pki, tmp_path):
    """Request bodies far longer than one capture: curl writes them as many
    DATA frames per SSL_write, whose frame headers must all be followed."""
    srv = llm_server_h2(8443)
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    prompt = tmp_path / "prompt.json"
    prompt.write_text('{"model": "m", "messages": [{"role": "user", "content": "%s"}]}'
                      % ("lorem ipsum " * 30000))  # 360 kB
    url = "https://api.openai.com:8443/v1/chat/completions"
    p = client(netns, procs, "curl", "-sS", "--fail", "--http2", "-o", "/dev/null", "-o", "/dev/null",
               "-o", "/dev/null", "-H", f"authorization: Bearer {KEYS[2]}",
               "-H", "content-type: application/json", "--data-binary", f"@{prompt}", url, url, url,
               env=dict(os.environ, CURL_CA_BUNDLE=str(pki / "ca.pem")))
    finish(p)
    row = ew.settled(p.pid)["api.openai.com"]
    assert plaintext_of(row) == truth(srv, 3)
    # node hands nghttp2's frames to one SSL_write: many DATA frames at once
    script = tmp_path / "h2.js"
    script.write_text("""
const http2 = require('node:http2');
const body = require('node:fs').readFileSync(process.argv[2]);
const session = http2.connect('https://api.openai.com:8443');
function call() {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': '/v1/chat/completions',
      'authorization': 'Bearer ' + process.argv[3], 'content-type': 'application/json' });
    req.on('response', (h) => { if (h[':status'] !== 200) reject(new Error(h[':status'])); });
    req.on('data', () => {});
    req.on('end', resolve);
    req.on('error', reject);
    req.end(body);
  });
}
(async () => { for (let i = 0; i < 3; i++) await call(); session.close(); })()
  .catch((e) => { console.error(e); process.exit(1); });
""")
    p = client(netns, procs, "node", str(script), str(prompt), KEYS[1],
               env=dict(os.environ, NODE_EXTRA_CA_CERTS=str(pki / "ca.pem")))
    finish(p)
    row = ew.settled(p.pid)["api.openai.com"]
    truth(srv, 6)
    assert plaintext_of(row) == truth_of(srv.records()[3:])


def test_node_with_its_own_openssl(netns, procs, llm_server, dns_server, egresswatch, pki, tmp_path):
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    script = tmp_path / "client.js"
    script.write_text("""
const https = require('node:https');
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
const keys = process.argv.slice(2);
function call(i) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(i % 2 ? { stream: true, stream_options: { include_usage: true } } : {});
    const req = https.request({ host: 'api.openai.com', port: 443, method: 'POST', agent,
      path: '/v1/chat/completions', headers: { authorization: 'Bearer ' + keys[i % keys.length],
      'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => {});
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => { for (let i = 0; i < 10; i++) await call(i); agent.destroy(); })();
""")
    p = client(netns, procs, "node", str(script), *KEYS[:2],
               env=dict(os.environ, NODE_EXTRA_CA_CERTS=str(pki / "ca.pem")))
    finish(p)
    row = ew.settled(p.pid)["api.openai.com"]
    assert plaintext_of(row) == truth(srv, 10)


# By address, so without SNI; a Host header that names no catalogued endpoint;
# the response read 7 bytes at a time, so that most SSL_read calls are served
# from a record already decrypted and make no syscall.
SOCKET_TIED_CLIENT = """
import json, socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], 443)))
body = json.dumps({"model": "m", "messages": []}).encode()
for i in range(int(sys.argv[2])):
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\\r\\nHost: gateway.corp.example\\r\\n"
              b"authorization: Bearer " + sys.argv[3].encode() + b"\\r\\n"
              b"content-type: application/json\\r\\ncontent-length: %d\\r\\n\\r\\n" % len(body)
              + body)
    buf = b""
    while b"\\r\\n\\r\\n" not in buf:
        buf += s.recv(7)
    head, rest = buf.split(b"\\r\\n\\r\\n", 1)
    length = next(int(line.split(b":")[1]) for line in head.split(b"\\r\\n")
                  if line.lower().startswith(b"content-length:"))
    while len(rest) < length:
        rest += s.recv(7)
s.close()
"""


@pytest.mark.parametrize("link", ["on", "off"])
def test_tls_calls_are_tied_to_their_socket(netns, procs, llm_server, egresswatch, tmp_path, link):
    """The socket is named by a configured CIDR, the requests' Host by nothing
    in the catalog: tied to the socket by the write and read syscalls the
    calls make, requests and tokens land on the socket's row, next to its
    bytes, and the calls that made no syscall follow the earlier ones. With
    tls_socket_link = off they are named by their Host."""
    srv = llm_server()
    config = tmp_path / "egresswatch.conf"
    config.write_text(f"[general]\ntls_socket_link = {link}\n\n"
                      f"[endpoint acme]\nprovider = acme\nhosts = llm.acme.internal\n"
                      f"cidrs = {SERVER_V4}/32\n")
    os.chmod(config, 0o600)
    ew = egresswatch("--all", "-d", "0.5", config=config)
    rounds = 12
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", SOCKET_TIED_CLIENT,
                    SERVER_V4, str(rounds), KEYS[0],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    finish(p)
    rows = ew.settled(p.pid)
    row = rows[SERVER_V4]
    assert (row["provider"], row["classified_by"], row["connections_total"]) == ("acme", "cidr", 1)
    if link == "off":
        assert set(rows) == {SERVER_V4, "gateway.corp.example"}, rows
        row = rows["gateway.corp.example"]
        assert row["provider"] == "uncatalogued"
    else:
        assert set(rows) == {SERVER_V4}, rows
    assert plaintext_of(row) == truth(srv, rounds)


def text_offsets(lib):
    """Exported function name -> file offset, and a vaddr -> file offset map,
    from binutils (not from egresswatch's own reading of the ELF)."""
    sections = subprocess.run(["readelf", "-SW", lib], capture_output=True, text=True,
                              check=True).stdout
    text = next(line.replace("[ ", "[").split() for line in sections.splitlines()
                if " .text " in line)
    addr, off = int(text[3], 16), int(text[4], 16)

    def offset(vaddr):
        return vaddr - addr + off
    syms = {}
    for line in subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True,
                               text=True, check=True).stdout.splitlines():
        value, _, name = line.split()
        syms[name.split("@")[0]] = int(value, 16)
    return syms, offset


def forwarded_to(lib, vaddr):
    """The target of the first call or jump in a function's first 16 bytes."""
    code = subprocess.run(["objdump", "-d", "--no-show-raw-insn", f"--start-address={vaddr}",
                           f"--stop-address={vaddr + 16}", lib],
                          capture_output=True, text=True, check=True).stdout
    return int(re.search(r"\s(?:call|jmp)\s+([0-9a-f]+) <", code).group(1), 16)


def mapped_byte(pid, lib, offset):
    """The byte at a file offset of lib in the process's memory (a uprobe's
    breakpoint, 0xcc, shows there)."""
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) < 6 or fields[5] != lib:
                continue
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            start = int(fields[2], 16)
            if start <= offset < start + hi - lo:
                with open(f"/proc/{pid}/mem", "rb") as mem:
                    mem.seek(lo + offset - start)
                    return mem.read(1)[0]
    raise AssertionError(f"offset {offset:#x} of {lib} is not mapped in {pid}")


TRACEFS = Path("/sys/kernel/tracing")


@contextlib.contextmanager
def other_tools_uprobes(lib, offsets):
    """Uprobes another tool holds on lib (tracefs uprobe events, enabled)."""
    mounted = not (TRACEFS / "uprobe_events").exists()
    if mounted:
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], check=True)
    names = [f"ew_test/at_{o:x}" for o in offsets]

    def command(line):
        # one write per command, and no seek (which Python's append mode does)
        fd = os.open(TRACEFS / "uprobe_events", os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
    try:
        for name, o in zip(names, offsets):
            command(f"p:{name} {lib}:{o:#x}\n")
        (TRACEFS / "events" / "ew_test" / "enable").write_text("1\n")
        yield
    finally:
        if (TRACEFS / "events" / "ew_test").exists():
            (TRACEFS / "events" / "ew_test" / "enable").write_text("0\n")
            for name in names:
                command(f"-:{name}\n")
        if mounted:
            subprocess.run(["umount", str(TRACEFS)], check=False)


@pytest.mark.parametrize("other_tool", [False, True])
def test_openssl_probes_sit_on_its_internal_functions(procs, egresswatch, other_tool):
    """Debian's SSL_read(_ex) and SSL_write(_ex) start with an instruction the
    kernel single-steps; the internal function each pair calls starts with
    push, which it emulates. The breakpoints are there and not on the exported
    functions (whose calls the plaintext tests count exactly), SSL_free keeps
    its own, and all are gone when egresswatch stops. Another tool's
    breakpoints on the exported _ex functions (which show in every mapping of
    the library, egresswatch's own reading of it included) change nothing."""
    p = procs.start(PYTHON, "-c", "import ssl, sys; print(ssl.OPENSSL_VERSION, flush=True); "
                    "sys.stdin.read()", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert p.stdout.readline().startswith(b"OpenSSL 3.")
    lib = next(line.split()[5] for line in open(f"/proc/{p.pid}/maps")
               if line.rstrip().endswith("/libssl.so.3"))
    syms, offset = text_offsets(lib)
    inner = {offset(forwarded_to(lib, syms["SSL_read_ex"])),
             offset(forwarded_to(lib, syms["SSL_write_ex"]))}
    exported = {offset(syms[name]) for name in ("SSL_read", "SSL_read_ex", "SSL_write",
                                                 "SSL_write_ex")}
    assert len(inner) == 2 and not inner & exported
    with open(lib, "rb") as f:
        original = {o: f.seek(o) and f.read(1)[0] for o in inner | exported}
    assert 0xcc not in original.values()
    others = {offset(syms["SSL_read_ex"]), offset(syms["SSL_write_ex"])} if other_tool else set()
    expected = {o: 0xcc if o in others else original[o] for o in exported}

    with other_tools_uprobes(lib, sorted(others)) if others else contextlib.nullcontext():
        ew = egresswatch("-d", "0.5")
        wait_for(lambda: all(mapped_byte(p.pid, lib, o) == 0xcc for o in inner), 10,
                 "breakpoints on the internal functions")
        assert {o: mapped_byte(p.pid, lib, o) for o in exported} == expected
        assert mapped_byte(p.pid, lib, offset(syms["SSL_free"])) == 0xcc
        assert ew.stop() == 0
        assert {o: mapped_byte(p.pid, lib, o) for o in inner} == {o: original[o] for o in inner}
        assert {o: mapped_byte(p.pid, lib, o) for o in exported} == expected
    p.stdin.close()
    assert p.wait(timeout=10) == 0


def test_gnutls_client(netns, procs, llm_server, dns_server, egresswatch, pki):
    srv = llm_server()
    dns_server({"api.anthropic.com": SERVER_V4})
    ew = egresswatch("-d", "0.5")
    request = ("POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
               f"x-api-key: {KEYS[2]}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}")
    p = procs.start("ip", "netns", "exec", netns.client, "gnutls-cli", "--x509cafile",
                    str(pki / "ca.pem"), "-p", "443", "api.anthropic.com",
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdin.write(request.encode())
    p.stdin.flush()  # stdin stays open: the server's close ends the client
    assert p.wait(timeout=30) == 0, p.stderr.read().decode()
    row = ew.settled(p.pid)["api.anthropic.com"]
    assert plaintext_of(row) == truth(srv, 1)


def test_planted_key_and_prompt_appear_nowhere(netns, procs, llm_server, dns_server, egresswatch,
                                               pki, tmp_path):
    srv = llm_server()
    dns_server({"api.openai.com": SERVER_V4})
    ew = egresswatch("--all", "-d", "0.5")
    key, prompt = f"sk-planted-{uuid.uuid4().hex}", f"prompt-{uuid.uuid4().hex}"
    p = curl_post(netns, procs, pki, "https://api.openai.com/v1/chat/completions",
                  f"Bearer {key}", "authorization", data=f'{{"content": "{prompt}"}}')
    finish(p)
    ew.settled(p.pid)
    assert ew.stop() == 0
    assert truth(srv, 1)["requests"] == 1
    out = "\n".join(map(str, ew.lines)) + ew.stderr.decode()
    for secret in (key, prompt, key[3:15]):
        assert secret not in out
