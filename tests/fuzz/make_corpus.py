#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the seed corpora under tests/fuzz/corpus/<target>/: real-shaped
inputs built by hand (DNS, HTTP, configuration, patterns) or by this Python's
OpenSSL (TLS ClientHellos). Run from the repository root with Debian's
/usr/bin/python3; the output is committed, so this only needs running again
to change the seeds. TLS hellos carry fresh random bytes on every run."""
import os
import shutil
import ssl
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- DNS -------------------------------------------------------------------

def qname(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qid, flags, qd, an, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def rr(owner, rtype, ttl, rdata, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, ttl, len(rdata)) + rdata


PTR_Q = b"\xc0\x0c"  # the question's name, at offset 12
A, CNAME, AAAA, OPT = 1, 5, 28, 41
RESP = 0x8180  # QR, RD, RA, no error


def dns_corpus():
    # A: two addresses, answer owners compressed to the question
    q = qname("api.openai.com") + struct.pack(">HH", A, 1)
    msg = header(0x1234, RESP, 1, 2) + q
    msg += rr(PTR_Q, A, 300, bytes([162, 159, 140, 245]))
    msg += rr(PTR_Q, A, 300, bytes([172, 66, 0, 243]))
    put("dns", "a_two_addresses", msg)

    # AAAA
    q = qname("api.anthropic.com") + struct.pack(">HH", AAAA, 1)
    msg = header(0x2345, RESP, 1, 1) + q
    msg += rr(PTR_Q, AAAA, 60, bytes.fromhex("2607686000000000000000000000000a"))
    put("dns", "aaaa", msg)

    # CNAME chain with compression: the question, a CNAME whose target shares
    # a suffix, a second CNAME, then A records owned by the last name
    q = qname("generativelanguage.googleapis.com") + struct.pack(">HH", A, 1)
    msg = bytearray(header(0x3456, RESP, 1, 4) + q)
    # "googleapis.com" inside the question starts after the first label
    suffix = 12 + 1 + len("generativelanguage")
    t1 = len(msg) + 12  # the CNAME rdata starts after owner(2)+fixed(10)
    msg += rr(PTR_Q, CNAME, 3600, bytes([6]) + b"googhs" + struct.pack(">H", 0xC000 | suffix))
    t2 = len(msg) + 12
    msg += rr(struct.pack(">H", 0xC000 | t1), CNAME, 120,
              bytes([4]) + b"edge" + bytes([3]) + b"cdn" + qname("example.net"))
    msg += rr(struct.pack(">H", 0xC000 | t2), A, 30, bytes([142, 250, 74, 74]))
    msg += rr(struct.pack(">H", 0xC000 | t2), AAAA, 30,
              bytes.fromhex("2a001450400100000000000000002004"))
    msg = bytes(msg)
    put("dns", "cname_chain_compressed", msg)
    # the same, cut inside the last answer: reports what came before
    put("dns", "cname_chain_truncated", msg[:-9])

    # upper case question, a TTL with the top bit set, an EDNS OPT record
    q = qname("API.Mistral.AI") + struct.pack(">HH", A, 1)
    msg = header(0x4567, RESP, 1, 1, 0, 1) + q
    msg += rr(PTR_Q, A, 0x80000001, bytes([104, 18, 2, 3]))
    msg += b"\0" + struct.pack(">HHIH", OPT, 1232, 0, 0)
    put("dns", "a_upper_ttl_edns", msg)

    # a pointer loop in an answer owner, an NXDOMAIN, a query (not a response)
    q = qname("api.x.ai") + struct.pack(">HH", A, 1)
    loop = header(0x5678, RESP, 1, 1) + q
    here = len(loop)
    loop += struct.pack(">H", 0xC000 | here) + struct.pack(">HHIH", A, 1, 60, 4) + bytes(4)
    put("dns", "pointer_loop", loop)
    put("dns", "nxdomain", header(0x6789, 0x8183, 1, 0) + q)
    put("dns", "query", header(0x789A, 0x0100, 1, 0) + q)

    # many addresses (more than the names fuzzer's table holds)
    q = qname("api.groq.com") + struct.pack(">HH", A, 1)
    msg = header(0x89AB, RESP, 1, 12) + q
    for i in range(12):
        msg += rr(PTR_Q, A, 60 + i, bytes([198, 51, 100, i + 1]))
    put("dns", "a_twelve", msg)


# ---- TLS ClientHello -------------------------------------------------------

def client_hello(server_hostname, **opts):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if opts.get("tls12"):
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if opts.get("alpn"):
        ctx.set_alpn_protocols(["h2", "http/1.1"])
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def refragment(rec, size):
    """The handshake message of one record split over records of size bytes."""
    body = rec[5:]
    out = b""
    for i in range(0, len(body), size):
        chunk = body[i:i + size]
        out += rec[:3] + struct.pack(">H", len(chunk)) + chunk
    return out


def tls_corpus():
    fixture = os.path.join(os.path.dirname(ROOT), "..", "fixtures", "client_hello_openssl3.bin")
    shutil.copyfile(fixture, os.path.join(ROOT, "tls_hello", "client_hello_openssl3.bin"))
    put("tls_hello", "sni_anthropic", client_hello("api.anthropic.com"))
    put("tls_hello", "sni_mixed_case_alpn", client_hello("Generativelanguage.GoogleApis.com", alpn=True))
    put("tls_hello", "sni_tls12", client_hello("bedrock-runtime.us-east-1.amazonaws.com", tls12=True))
    long_name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    put("tls_hello", "sni_253_chars", client_hello(long_name))
    put("tls_hello", "no_sni", client_hello(None))
    put("tls_hello", "no_sni_ip_literal", client_hello("203.0.113.7"))
    hello = client_hello("api.openai.com")
    put("tls_hello", "sni_three_records", refragment(hello, 200))
    put("tls_hello", "sni_cut_short", hello[:150])


# ---- HTTP request heads ----------------------------------------------------

def http_corpus():
    put("http_request", "get_host",
        "GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\nUser-Agent: curl/8.5.0\r\n"
        "Accept: */*\r\n\r\n")
    put("http_request", "post_host_port_body",
        "POST /v1/chat/completions?stream=true HTTP/1.1\r\nhost:LLM.Acme.Internal:8080\r\n"
        "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"model\":\"gpt\"}\n")
    put("http_request", "host_ipv6", "PUT /x HTTP/1.1\r\nHOST: [2001:db8::1]:8080 \r\n\r\n")
    put("http_request", "no_host_http10", "GET / HTTP/1.0\r\nAccept: */*\r\n\r\n")
    put("http_request", "cut_short", "POST /v1/messages HTTP/1.1\r\nContent-Ty")
    put("http_request", "lf_only_options", "OPTIONS * HTTP/1.1\nHost:\texample.com\t\n\n")
    put("http_request", "not_http", "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    put("http_request", "bad_version", "GET /index.html HTTP/2.0\r\nHost: a\r\n\r\n")


# ---- configuration ---------------------------------------------------------

CONTRACT_EXAMPLE = """[general]
interval = 5                 ; seconds between aggregation, export and alert evaluation
textfile_dir = /var/lib/prometheus/node-exporter
alerts = /var/log/egresswatch/alerts.jsonl   ; a path, "-" for stdout, or "syslog"
payload = on                 ; TLS plaintext inspection; off = socket metadata only

[detect]
window = 600                 ; sliding window, seconds
rx_bytes_warning = 268435456 ; bytes received from LLM endpoints, per process per window
requests_warning = 3000
output_tokens_warning = 2000000
connections_warning = 32     ; concurrent connections to LLM endpoints
api_keys_warning = 5         ; distinct API key fingerprints per process per window
; each *_critical defaults to 4x its *_warning

[endpoint acme]              ; add a catalog entry, or override one by provider id
provider = acme
hosts = llm.acme.internal, *.llm.acme.internal
paths = /v1/chat/completions
cidrs = 203.0.113.0/24
"""


def config_corpus():
    put("config", "contract_example.ini", CONTRACT_EXAMPLE)
    put("config", "override_and_router.ini",
        "[general]\nalerts = syslog\npayload = off\nmax_flows = 1024\nmax_series = 100000\n"
        "[detect]\nrequests_warning = 10\nrequests_critical = 20\n"
        "[endpoint openai]\nhosts = api.openai.com, gw-*.corp.example\n"
        "batch_paths = /v1/batches, /v1/files/*/content\nrouter = yes\n"
        "[endpoint v6]\ncidrs = 2001:db8::/32 , ::ffff:198.51.100.0/120\n")
    put("config", "empty.ini", "")
    put("config", "unknown_key.ini", "[general]\ninterval = 5\ncolour = blue\n")
    put("config", "unknown_section.ini", "[generel]\ninterval = 5\n")
    put("config", "duplicate_key.ini", "[detect]\nwindow = 60\nwindow = 120\n")
    put("config", "bad_values.ini",
        "[general]\ninterval = 1e999\n[detect]\nrx_bytes_warning = -1\n")
    put("config", "critical_below_warning.ini",
        "[detect]\napi_keys_warning = 10\napi_keys_critical = 2\n")
    put("config", "endpoint_without_hosts.ini", "[endpoint lonely]\npaths = /v1/x\n")
    put("config", "endpoint_bad_lists.ini",
        "[endpoint bad]\nhosts = ok.example, bad host!\ncidrs = 10.0.0.0/33\npaths = v1/no-slash\n")
    put("config", "line_too_long.ini", "[general]\ntextfile_dir = /" + "x" * 300 + "\n")
    put("config", "not_ini.ini", "this is not\n=an ini file\n[unterminated\n")


# ---- patterns: pattern NUL subject -----------------------------------------

def patterns_corpus():
    seeds = {
        "host_star": ("*.openai.azure.com", "myres.openai.azure.com"),
        "host_mid_star_fqdn": ("bedrock-runtime.*.amazonaws.com", "BEDROCK-RUNTIME.us-west-2.amazonaws.com."),
        "host_no_match": ("api.openai.com", "api.openai.com.evil.example"),
        "path_star_query": ("/v1beta/models/*:generateContent", "/v1beta/models/gemini-2.5-pro:generateContent?alt=sse"),
        "path_multi_star": ("/v1/projects/*/locations/*/publishers/*/models/*:rawPredict",
                            "/v1/projects/p/locations/us-central1/publishers/anthropic/models/claude:rawPredict/"),
        "cidr_v4_v6": ("203.0.113.0/24", "2001:db8::/32"),
        "cidr_mapped_bad": ("::ffff:198.51.100.0/120", "10.0.0.0/33"),
        "star_backtrack": ("*a*a*a*a*b", "a" * 60),
    }
    for name, (pattern, subject) in seeds.items():
        put("patterns", name, pattern.encode() + b"\0" + subject.encode())


# ---- names: records of op, cookie, length, data ----------------------------

def record(op, cookie, data, length=None):
    return bytes([op, cookie]) + struct.pack(">H", len(data) if length is None else length) + data


def names_corpus():
    d = os.path.join(ROOT, "tls_hello")
    with open(os.path.join(d, "client_hello_openssl3.bin"), "rb") as f:
        hello = f.read()
    with open(os.path.join(ROOT, "dns", "cname_chain_compressed"), "rb") as f:
        dns = f.read()
    with open(os.path.join(ROOT, "dns", "a_two_addresses"), "rb") as f:
        dns_a = f.read()
    with open(os.path.join(ROOT, "dns", "a_twelve"), "rb") as f:
        dns_many = f.read()
    http = b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: 2\r\n\r\n{}"
    # a ClientHello in two segments, its retransmission, a DNS answer
    put("names", "tls_two_segments_dns",
        record(0x00, 1, hello[:100]) + record(0x00, 1, hello[100:]) +
        record(0x02, 1, hello[:100]) + record(0x31, 0, dns))
    # an HTTP head in three segments; a second flow that names nothing
    put("names", "http_three_segments",
        record(0x00, 2, http[:10]) + record(0x00, 2, http[10:30]) + record(0x00, 2, http[30:]) +
        record(0x00, 3, b"\x00\x01garbage"))
    # a pending hello left for the prune, then forgotten and replaced
    put("names", "pending_prune_forget",
        record(0x00, 4, hello[:60]) + record(0x48, 5, dns_a) + record(0x08, 9, b"") +
        record(0x0c, 9, b"") + record(0x04, 4, http) + record(0x51, 6, dns_a))
    # DNS answers from several processes for the same addresses
    put("names", "dns_processes",
        record(0x11, 0, dns_a) + record(0x21, 0, dns_a) + record(0x11, 0, dns) +
        record(0x01, 0, dns_a, 0xffff))
    # a full table, then time passing: the names expire
    put("names", "dns_table_full_expire",
        record(0x11, 0, dns_many) + record(0x21, 0, dns_many) + record(0x09, 0, b"") +
        record(0x31, 0, dns_a))


def main():
    if os.path.isdir(ROOT) and "--keep" not in sys.argv:
        shutil.rmtree(ROOT)
    os.makedirs(os.path.join(ROOT, "tls_hello"), exist_ok=True)
    dns_corpus()
    tls_corpus()
    http_corpus()
    config_corpus()
    patterns_corpus()
    names_corpus()


if __name__ == "__main__":
    main()
