"""Which flows are LLM API traffic: names from TLS SNI, HTTP Host and DNS,
configured CIDRs, and their order of trust behind one shared address."""
import os
import struct
import subprocess

from conftest import (DNS_SERVER, PYTHON, SERVER_V4, SERVER_V4_OTHER, acks_dropped, client, snmp,
                      wait_for)


def finish(p, timeout=60):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()
    return out.decode()


def curl(netns, procs, pki, name, path="/bytes/200000", addr=SERVER_V4):
    env = dict(os.environ, CURL_CA_BUNDLE=str(pki / "ca.pem"))
    return client(netns, procs, "curl", "-sS", "-o", "/dev/null", "--resolve",
                  f"{name}:8443:{addr}", f"https://{name}:8443{path}", env=env)


def test_sni_names_the_provider_and_a_cdn_neighbour_stays_out(netns, procs, server, egresswatch, pki):
    server("tls")
    ew = egresswatch("-d", "0.5")  # LLM rows only
    ew_all = egresswatch("--all", "-d", "0.5")
    llm = curl(netns, procs, pki, "api.openai.com")
    finish(llm)
    other = curl(netns, procs, pki, "cdn.example.net")
    finish(other)
    row = ew.settled(llm.pid)["api.openai.com"]
    assert (row["provider"], row["classified_by"]) == ("openai", "sni")
    assert row["rx_bytes_total"] > 200000
    # the same address under a name outside the catalog: not LLM traffic
    assert not any(r["pid"] == other.pid for line in ew.lines for r in line["rows"])
    row = ew_all.settled(other.pid)["cdn.example.net"]
    assert (row["provider"], row["classified_by"]) == (None, "sni")
    assert row["rx_bytes_total"] > 200000


def test_client_connecting_by_address_is_named_by_its_sni(netns, procs, server, egresswatch, pki):
    server("tls")
    ew = egresswatch("-d", "0.5")
    script = f"""
import socket, ssl
ctx = ssl.create_default_context(cadata={(pki / 'ca.pem').read_text()!r})
with socket.create_connection(({SERVER_V4!r}, 8443)) as raw:
    with ctx.wrap_socket(raw, server_hostname="api.anthropic.com") as s:
        s.sendall(b"GET /bytes/50000 HTTP/1.1\\r\\nHost: api.anthropic.com\\r\\n\\r\\n")
        got = b""
        while len(got) < 50000:
            got += s.recv(65536)
"""
    p = client(netns, procs, PYTHON, "-c", script)
    finish(p)
    row = ew.settled(p.pid)["api.anthropic.com"]
    assert (row["provider"], row["classified_by"]) == ("anthropic", "sni")


def test_flow_without_sni_is_named_by_dns(netns, procs, server, dns_server, egresswatch, pki):
    server("tls")
    dns_server({"api.openai.com": SERVER_V4, "cdn.example.net": SERVER_V4})
    ew = egresswatch("--all", "-d", "0.5")
    script = f"""
import socket, ssl
addr = socket.getaddrinfo("api.openai.com", 8443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
assert addr == {SERVER_V4!r}, addr
ctx = ssl.create_default_context(cadata={(pki / 'ca.pem').read_text()!r})
ctx.check_hostname = False
with socket.create_connection((addr, 8443)) as raw:
    with ctx.wrap_socket(raw) as s:  # no server_hostname: no SNI
        s.sendall(b"GET /bytes/30000 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
        got = b""
        while len(got) < 30000:
            got += s.recv(65536)
"""
    p = client(netns, procs, PYTHON, "-c", script)
    finish(p)
    rows = ew.settled(p.pid)
    row = rows["api.openai.com"]
    assert (row["provider"], row["classified_by"]) == ("openai", "dns")
    assert row["rx_bytes_total"] > 30000
    dns_row = rows[DNS_SERVER]  # the DNS query itself
    assert dns_row["provider"] is None and dns_row["tx_bytes_total"] > 0


def test_configured_cidr_classifies_only_flows_without_a_name(netns, procs, server, egresswatch,
                                                                pki, tmp_path):
    server("tls", addr=SERVER_V4_OTHER)
    config = tmp_path / "egresswatch.conf"
    config.write_text("[endpoint acme]\nprovider = acme\nhosts = llm.acme.internal\n"
                      f"cidrs = {SERVER_V4_OTHER}/32\n")
    os.chmod(config, 0o600)
    ew = egresswatch("--all", "-d", "0.5", config=config)
    script = f"""
import socket
s = socket.create_connection(({SERVER_V4_OTHER!r}, 8443))
s.sendall(b"\\x00" * 1000)  # neither TLS nor HTTP: no name
s.close()
"""
    by_addr = client(netns, procs, PYTHON, "-c", script)
    finish(by_addr)
    named = curl(netns, procs, pki, "cdn.example.net", addr=SERVER_V4_OTHER)
    finish(named)
    row = ew.settled(by_addr.pid)[SERVER_V4_OTHER]
    assert (row["provider"], row["classified_by"], row["tx_bytes_total"]) == ("acme", "cidr", 1000)
    row = ew.settled(named.pid)["cdn.example.net"]
    assert (row["provider"], row["classified_by"]) == (None, "sni")


def test_plain_http_host_and_uncatalogued_llm_path(netns, procs, server, egresswatch):
    server("plain-http", port=8080)
    ew = egresswatch("-d", "0.5")
    script = f"""
import http.client
for host, path in (("api.openai.com", "/v1/models"), ("llm.example.org", "/v1/chat/completions"),
                   ("shop.example.org", "/v1/chat/completions/x")):
    c = http.client.HTTPConnection({SERVER_V4!r}, 8080)
    c.request("POST", path, body=b"{{}}", headers={{"Host": host + ":8080"}})
    c.getresponse().read()
    c.close()
"""
    p = client(netns, procs, PYTHON, "-c", script)
    finish(p)
    rows = ew.settled(p.pid)
    assert (rows["api.openai.com"]["provider"], rows["api.openai.com"]["classified_by"]) == \
        ("openai", "http")
    assert rows["llm.example.org"]["provider"] == "uncatalogued"
    assert "shop.example.org" not in rows


def client_hello(name, padding):
    """A ClientHello with an SNI and a padding extension of the given size."""
    sni = name.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
    pad_ext = struct.pack("!HH", 21, padding) + b"\0" * padding
    exts = sni_ext + pad_ext
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" +
            b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    return b"\x01" + len(body).to_bytes(3, "big") + body


def test_client_hello_over_two_segments_and_two_records(netns, procs, server, egresswatch):
    server("sink", port=9001)
    ew = egresswatch("-d", "0.5")
    hello = client_hello("api.anthropic.com", 1500)  # ~1.6 KB, as with post-quantum key shares
    one_record = b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello
    half = len(hello) // 2
    two_records = (b"\x16\x03\x01" + struct.pack("!H", half) + hello[:half] +
                   b"\x16\x03\x01" + struct.pack("!H", len(hello) - half) + hello[half:])
    pids = []
    for payload in (one_record, two_records):
        script = f"""
import socket, time
s = socket.create_connection(({SERVER_V4!r}, 9001))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
data = {payload!r}
s.sendall(data[:700])   # a segment that ends inside the ClientHello
time.sleep(0.3)
s.sendall(data[700:])
s.close()
"""
        p = client(netns, procs, PYTHON, "-c", script)
        finish(p)
        pids.append((p.pid, len(payload)))
    for pid, size in pids:
        row = ew.settled(pid)["api.anthropic.com"]
        assert (row["provider"], row["classified_by"], row["tx_bytes_total"]) == \
            ("anthropic", "sni", size)


def test_retransmitted_first_segment_is_not_taken_for_the_second(netns, procs, server, egresswatch):
    """The first segment of a ClientHello in two is resent before the second
    is sent (the server's acknowledgements are dropped meanwhile): the SNI is
    still read from the two segments in stream order."""
    server("sink", port=9001)
    ew = egresswatch("-d", "0.5")
    hello = client_hello("api.anthropic.com", 1500)
    payload = b"\x16\x03\x01" + struct.pack("!H", len(hello)) + hello
    script = f"""
import socket, sys, time
s = socket.create_connection(({SERVER_V4!r}, 9001))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
print("connected", flush=True)
sys.stdin.readline()
data = {payload!r}
s.sendall(data[:700])
sys.stdin.readline()  # once the first segment was resent
s.sendall(data[700:])
s.close()
"""
    p = procs.start("ip", "netns", "exec", netns.client, PYTHON, "-c", script,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.readline() == b"connected\n"
    retransmitted = snmp(netns.client, "RetransSegs")
    with acks_dropped(netns.client, "sport", 9001):
        p.stdin.write(b"go\n")
        p.stdin.flush()
        wait_for(lambda: snmp(netns.client, "RetransSegs") > retransmitted, 30,
                 "the first segment to be resent")
        p.stdin.write(b"more\n")
        p.stdin.flush()
    assert p.wait(timeout=60) == 0
    assert snmp(netns.client, "RetransSegs") > retransmitted
    row = ew.settled(p.pid)["api.anthropic.com"]
    assert (row["provider"], row["classified_by"], row["tx_bytes_total"]) == \
        ("anthropic", "sni", len(payload))
