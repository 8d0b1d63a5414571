#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Writes the seed corpora under tests/fuzz/corpus/<target>/: real-shaped
inputs built by hand (DNS, HTTP, configuration, patterns), by the C compiler
(libraries shaped like OpenSSL's) or by this Python's
OpenSSL (TLS ClientHellos), TLS plaintext sessions (HTTP/1.1, HTTP/2 with
HPACK encoded here, and one captured from node:http2 when node is installed),
bodies and usage texts. Run from the repository root with Debian's
/usr/bin/python3; the output is committed, so this only needs running again
to change the seeds. TLS hellos carry fresh random bytes on every run: name
the corpora to write (e.g. `make_corpus.py http1 http2 body usage
plaintext`) to leave the others alone."""
import base64
import gzip
import json
import os
import shutil
import ssl
import struct
import subprocess
import sys
import zlib

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


# ---- TLS plaintext: HTTP/1.1, HTTP/2, bodies, usage ------------------------

# Real-shaped bodies: what each provider sends, usage where it sends it.
OPENAI_JSON = json.dumps({
    "id": "chatcmpl-AY1xKq7", "object": "chat.completion", "created": 1732800000,
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help?",
                                         "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0,
                                            "rejected_prediction_tokens": 0}},
    "system_fingerprint": "fp_0ba0d124f1"}, indent=2) + "\n"
OPENAI_RESPONSES_JSON = json.dumps({
    "id": "resp_67ccd2bed1ec8190", "object": "response", "created_at": 1741476542,
    "status": "completed", "model": "gpt-4.1-2025-04-14",
    "output": [{"type": "message", "id": "msg_67ccd2bf", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "In a peaceful grove...",
                             "annotations": []}]}],
    "usage": {"input_tokens": 36, "input_tokens_details": {"cached_tokens": 0},
              "output_tokens": 87, "output_tokens_details": {"reasoning_tokens": 0},
              "total_tokens": 123}})
ANTHROPIC_JSON = json.dumps({
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": "Hi! My name is Claude."}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 2095, "cache_creation_input_tokens": 0,
              "cache_read_input_tokens": 0, "output_tokens": 503}})
GEMINI_JSON = json.dumps({
    "candidates": [{"content": {"parts": [{"text": "AI learns patterns from data."}], "role": "model"},
                    "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 12, "totalTokenCount": 45,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
                      "thoughtsTokenCount": 25},
    "modelVersion": "gemini-2.5-flash", "responseId": "8Y0iaPq9Gqy"}, indent=1)
BEDROCK_CONVERSE_JSON = json.dumps({
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello there."}]}},
    "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 5, "totalTokens": 17},
    "metrics": {"latencyMs": 512}})
BEDROCK_INVOKE_METRICS = json.dumps({
    "type": "message_stop",
    "amazon-bedrock-invocationMetrics": {"inputTokenCount": 16, "outputTokenCount": 11,
                                         "invocationLatency": 609, "firstByteLatency": 372}})
COHERE_V2_JSON = json.dumps({
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4", "finish_reason": "COMPLETE",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "LLMs are..."}]},
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 13},
              "tokens": {"input_tokens": 71, "output_tokens": 13}}})
COHERE_V1_JSON = json.dumps({
    "response_id": "a1b2", "text": "Hi", "generation_id": "c3d4", "finish_reason": "COMPLETE",
    "meta": {"api_version": {"version": "1"}, "billed_units": {"input_tokens": 10, "output_tokens": 20},
             "tokens": {"input_tokens": 75, "output_tokens": 20}}})


def sse(events):
    """Server-sent events: (event name or None, data) pairs."""
    out = ""
    for name, data in events:
        if name:
            out += "event: %s\n" % name
        out += "data: %s\n\n" % (data if isinstance(data, str) else json.dumps(data))
    return out


def openai_chunk(delta, finish=None, usage=None, choices=True):
    c = {"id": "chatcmpl-AY2", "object": "chat.completion.chunk", "created": 1732800001,
         "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_0ba0d124f1",
         "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
         if choices else [], "usage": usage}
    return c


OPENAI_SSE = sse([
    (None, openai_chunk({"role": "assistant", "content": "", "refusal": None})),
    (None, openai_chunk({"content": "Hello"})),
    (None, openai_chunk({"content": "!"})),
    (None, openai_chunk({}, "stop")),
    (None, openai_chunk(None, usage={"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
                                     "completion_tokens_details": {"reasoning_tokens": 0}},
                        choices=False)),
    (None, "[DONE]")])
ANTHROPIC_SSE = sse([
    ("message_start", {"type": "message_start", "message": {
        "id": "msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY", "type": "message", "role": "assistant",
        "content": [], "model": "claude-sonnet-4-5-20250929", "stop_reason": None,
        "stop_sequence": None, "usage": {"input_tokens": 25, "cache_creation_input_tokens": 0,
                                         "cache_read_input_tokens": 0, "output_tokens": 1}}}),
    ("content_block_start", {"type": "content_block_start", "index": 0,
                             "content_block": {"type": "text", "text": ""}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "Hello"}}),
    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                             "delta": {"type": "text_delta", "text": "!"}}),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    ("message_delta", {"type": "message_delta",
                       "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                       "usage": {"output_tokens": 15}}),
    ("message_stop", {"type": "message_stop"})])
GEMINI_SSE = "\r\n".join(sse([
    (None, {"candidates": [{"content": {"parts": [{"text": "The"}], "role": "model"}, "index": 0}],
            "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
            "modelVersion": "gemini-2.5-flash"}),
    (None, {"candidates": [{"content": {"parts": [{"text": " sky is blue."}], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 6, "totalTokenCount": 40,
                              "thoughtsTokenCount": 25},
            "modelVersion": "gemini-2.5-flash"})]).split("\n"))
# a data: line longer than the parser's line buffer, split over two data: lines
LONG_SSE = ("id: 1\nevent: completion\ndata: {\"text\": \"" + "x" * 900 + "\",\n"
            "data: \"usage\": {\"input_tokens\": 3, \"output_tokens\": 900}}\n\n: keep-alive\n\n")


def aws_eventstream(event_type, payload):
    """One frame of AWS's application/vnd.amazon.eventstream."""
    headers = b""
    for name, value in ((":event-type", event_type), (":content-type", "application/json"),
                        (":message-type", "event")):
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + \
            value.encode()
    total = 12 + len(headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    msg = prelude + headers + payload
    return msg + struct.pack(">I", zlib.crc32(msg))


BEDROCK_STREAM = b"".join([
    aws_eventstream("messageStart", b'{"p":"abcdefgh","role":"assistant"}'),
    aws_eventstream("contentBlockDelta", b'{"contentBlockIndex":0,"delta":{"text":"Hi"},"p":"abcd"}'),
    aws_eventstream("messageStop", b'{"p":"abcdefghijk","stopReason":"end_turn"}'),
    aws_eventstream("metadata", b'{"metrics":{"latencyMs":300},"p":"abc",'
                    b'"usage":{"inputTokens":21,"outputTokens":7,"totalTokens":28}}')])


def invoke_chunk(chunk):
    """InvokeModelWithResponseStream: the model's own chunk, base64 in {"bytes": ...}."""
    return aws_eventstream("chunk", json.dumps({"bytes": base64.b64encode(chunk.encode()).decode(),
                                                "p": "abcdefghijklmnopqr"}).encode())


BEDROCK_INVOKE_STREAM = b"".join([
    invoke_chunk('{"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}'),
    invoke_chunk('{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}'),
    invoke_chunk('{"type":"message_delta","usage":{"output_tokens":40}}'),
    invoke_chunk(BEDROCK_INVOKE_METRICS)])


def gz(data):
    return gzip.compress(data if isinstance(data, bytes) else data.encode(), mtime=0)


def zl(data):
    return zlib.compress(data if isinstance(data, bytes) else data.encode())


def chunked(body, sizes, ext=False, trailers=""):
    """Transfer-Encoding: chunked, in chunks of the given sizes (the last repeats)."""
    if isinstance(body, str):
        body = body.encode()
    out, i, k = b"", 0, 0
    while i < len(body):
        n = sizes[min(k, len(sizes) - 1)]
        out += b"%x%s\r\n" % (len(body[i:i + n]), b";ext=1" if ext and k == 1 else b"") + \
            body[i:i + n] + b"\r\n"
        i += n
        k += 1
    return out + b"0\r\n" + trailers.encode() + b"\r\n"


def split(data, sizes):
    """data in pieces of the given sizes (the last repeats)."""
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[min(k, len(sizes) - 1)]
        out.append(data[i:i + n])
        i += n
        k += 1
    return out


def call(read, data, cut=0, x=0):
    """A fuzz_next_call record: cut 0 whole, else 1: +1+x bytes, 2: +(x+1) KiB, 3: +4 GiB+x."""
    if isinstance(data, str):
        data = data.encode()
    return bytes([(1 if read else 0) | cut << 1 | x << 3]) + struct.pack(">H", len(data)) + data


def W(data, **kw):
    return call(False, data, **kw)


def R(data, **kw):
    return call(True, data, **kw)


def req(method, path, host, headers=(), body=b""):
    if isinstance(body, str):
        body = body.encode()
    head = "%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host)
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    return head.encode() + b"\r\n" + body


def resp(status, headers=(), body=b"", reason="OK"):
    if isinstance(body, str):
        body = body.encode()
    head = "HTTP/1.1 %d %s\r\nDate: Thu, 28 Nov 2024 16:53:00 GMT\r\n" % (status, reason)
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    return head.encode() + b"\r\n" + body


OPENAI_KEY = "Bearer sk-proj-7QxZ2v9Kp4mT1aB8cD3eF6gH0iJ5kL2n"
CHAT_BODY = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello"}]})
STREAM_BODY = json.dumps({"model": "gpt-4o-mini", "stream": True,
                          "stream_options": {"include_usage": True},
                          "messages": [{"role": "user", "content": "Hello"}]})
ANTHROPIC_BODY = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": True,
                             "messages": [{"role": "user", "content": "Hello"}]})


def openai_request(path="/v1/chat/completions", body=CHAT_BODY, extra=()):
    return req("POST", path, "api.openai.com", [
        ("Authorization", OPENAI_KEY), ("Content-Type", "application/json"),
        ("User-Agent", "OpenAI/Python 1.54.0"), ("Accept", "application/json"),
        ("Content-Length", str(len(body)))] + list(extra), body)


def json_response(body, extra=(), encoding=None):
    if isinstance(body, str):
        body = body.encode()
    headers = [("Content-Type", "application/json")]
    if encoding:
        headers.append(("Content-Encoding", encoding))
    headers += [("Content-Length", str(len(body))), ("openai-organization", "user-abc123"),
                ("openai-processing-ms", "512"), ("x-request-id", "req_7c1d0a8b")] + list(extra)
    return resp(200, headers, body)


def sse_response(body, sizes, extra=()):
    return resp(200, [("Content-Type", "text/event-stream; charset=utf-8"),
                      ("Transfer-Encoding", "chunked"), ("Connection", "keep-alive")] + list(extra),
                chunked(body, sizes))


def http1_sessions():
    """The HTTP/1.1 sessions, as lists of calls; fuzz_plaintext reuses them."""
    s = {}
    r = json_response(OPENAI_JSON)
    s["openai_json"] = [W(openai_request()), R(r[:300]), R(r[300:])]

    r = sse_response(OPENAI_SSE, [200, 37, 512])
    s["openai_sse_chunked"] = [W(openai_request(body=STREAM_BODY))] + [R(p) for p in split(r, [180, 90, 400])]

    a = req("POST", "/v1/messages", "api.anthropic.com", [
        ("x-api-key", "sk-ant-api03-Zx9"), ("anthropic-version", "2023-06-01"),
        ("content-type", "application/json"), ("content-length", str(len(ANTHROPIC_BODY)))],
        ANTHROPIC_BODY)
    r = resp(200, [("Content-Type", "text/event-stream; charset=utf-8"), ("Transfer-Encoding", "chunked"),
                   ("anthropic-organization-id", "2b3c4d5e-0000-1111-2222-333344445555"),
                   ("request-id", "req_011CVa")], chunked(ANTHROPIC_SSE, [333, 120, 700], ext=True))
    s["anthropic_sse_chunked"] = [W(a)] + [R(p) for p in split(r, [400, 1, 250, 2000])]

    body = gz(OPENAI_JSON)
    r = json_response(body, encoding="gzip")
    s["gzip_json"] = [W(openai_request(extra=[("Accept-Encoding", "gzip, deflate")]))] + \
        [R(p) for p in split(r, [250, 64, 4096])]

    models = req("GET", "/v1/models", "api.openai.com", [("Authorization", OPENAI_KEY)])
    emb_body = json.dumps({"model": "text-embedding-3-small", "input": "hello"})
    emb = openai_request("/v1/embeddings", emb_body)
    listing = json.dumps({"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
    emb_resp = json.dumps({"object": "list", "data": [{"object": "embedding", "index": 0,
                                                       "embedding": [0.0023, -0.0093]}],
                           "model": "text-embedding-3-small",
                           "usage": {"prompt_tokens": 1, "total_tokens": 1}})
    s["pipelined_two"] = [W(models + emb), R(json_response(listing) + json_response(emb_resp))]

    head = openai_request(extra=[("Expect", "100-continue")])
    cut = head.index(b"\r\n\r\n") + 4
    s["continue_100"] = [W(head[:cut]), R("HTTP/1.1 100 Continue\r\n\r\n"), W(head[cut:]),
                         R(json_response(OPENAI_JSON))]

    s["head_204_304"] = [
        W(req("HEAD", "/v1/models", "api.openai.com:443", [("Authorization", OPENAI_KEY)])),
        R(resp(200, [("Content-Type", "application/json"), ("Content-Length", "1234")])),
        W(req("DELETE", "/v1/files/file-abc123", "api.openai.com", [("Authorization", OPENAI_KEY)])),
        R(resp(204, [("openai-organization", "user-abc123")], reason="No Content")),
        W(req("GET", "/v1/files/file-abc123", "API.OpenAI.com", [("If-None-Match", '"abc"')])),
        R(resp(304, [("ETag", '"abc"')], reason="Not Modified"))]

    # an upload cut by the capture (3000 bytes of it copied), then a response
    # read to the close
    def upload_head(length):
        return req("POST", "/v1/files", "api.openai.com", [
            ("Authorization", OPENAI_KEY), ("Content-Type", "multipart/form-data; boundary=----x"),
            ("Content-Length", str(length))])
    head = upload_head(10000)  # the same number of digits as the real length
    upload = upload_head(3000 - len(head) + 8 * 1024)
    upload += b"A" * (3000 - len(upload))  # 3000 bytes copied of 3000 + 8 KiB
    s["cut_upload_read_to_close"] = [
        W(upload, cut=2, x=7),
        R(resp(200, [("Content-Type", "application/json"), ("Connection", "close")],
               '{"id":"file-abc123","object":"file","bytes":12288,')),
        R('"purpose":"batch","usage":{"input_tokens":1,"output_tokens":2}}')]

    gem_path = "/v1beta/models/gemini-2.5-flash:generateContent?key=AIzaSyD3x9Qm&alt=json"
    gem_body = json.dumps({"contents": [{"parts": [{"text": "Explain AI"}]}]})
    s["gemini_chunked_trailers"] = [
        W(req("POST", gem_path, "generativelanguage.googleapis.com",
              [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
              chunked(gem_body, [20, 100]))),
        R(resp(200, [("Content-Type", "application/json; charset=UTF-8"), ("Vary", "Origin"),
                     ("Transfer-Encoding", "chunked"), ("Server", "scaffolding on HTTPServer2")],
               chunked(GEMINI_JSON, [128, 256], ext=True, trailers="X-Trailer: done\r\n")))]

    invoke = req("POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke",
                 "bedrock-runtime.us-east-1.amazonaws.com", [
                     ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20241128/"
                      "us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc"),
                     ("Content-Type", "application/json"), ("Content-Length", "2")], "{}")
    converse = req("POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
                   "bedrock-runtime.us-east-1.amazonaws.com", [
                       ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20241128/"
                        "us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=def"),
                       ("Content-Length", "2")], "{}")
    s["bedrock_headers_eventstream"] = [
        W(invoke),
        R(resp(200, [("Content-Type", "application/json"), ("Content-Length", str(len(ANTHROPIC_JSON))),
                     ("X-Amzn-Bedrock-Input-Token-Count", "2095"),
                     ("X-Amzn-Bedrock-Output-Token-Count", "503"),
                     ("X-Amzn-Bedrock-Invocation-Latency", "1234")], ANTHROPIC_JSON)),
        W(converse),
        R(resp(200, [("Content-Type", "application/vnd.amazon.eventstream"),
                     ("Transfer-Encoding", "chunked")], chunked(BEDROCK_STREAM, [150, 1000])))]

    cohere_body = json.dumps({"model": "command-r-plus", "messages": [{"role": "user", "content": "hi"}]})
    s["cohere_deflate"] = [
        W(req("POST", "/v2/chat", "api.cohere.com", [
            ("Authorization", "bearer co-Xy12"), ("Content-Type", "application/json"),
            ("Content-Length", str(len(cohere_body)))], cohere_body)),
        R(resp(200, [("Content-Type", "application/json"), ("Content-Encoding", "deflate"),
                     ("Content-Length", str(len(zl(COHERE_V2_JSON))))], zl(COHERE_V2_JSON)))]

    # out of step both ways (the end of a body read, a head that is no
    # request), then messages that resynchronize; a response lost in its
    # chunks is ended unparsed when the next one starts
    r = json_response(OPENAI_JSON)
    bad_chunks = resp(200, [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")],
                      b"a\r\ndata: {}\n\n\r\nzz\r\n")
    s["lost_and_resync"] = [R(OPENAI_JSON[500:] + "\r\n0\r\n\r\n"), W("\x00\r\n\r\n"),
                            W(openai_request()), W(openai_request(body=STREAM_BODY)),
                            R(r), R(bad_chunks), W(models), R(json_response(listing))]

    # a response body read cut by the capture: the usage after the gap still counts
    big = '{"data":"' + "y" * 2000 + '","usage":{"prompt_tokens":7,"completion_tokens":8}}'
    r = json_response(big)
    head_end = r.index(b"\r\n\r\n") + 4
    s["cut_read_in_body"] = [W(openai_request()), R(r[:head_end + 500]),
                             R(r[head_end + 500:head_end + 1000], cut=1, x=9),
                             R(r[head_end + 1010:])]
    return s


def http1_corpus():
    for name, calls in http1_sessions().items():
        put("http1", name, b"".join(calls))


# HPACK (RFC 7541) by hand, no Huffman: indexed fields from the static table,
# literals with and without indexing (never indexed for credentials), and
# dynamic table size updates.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = \
    0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20
# static table indexes used below
S_AUTHORITY, S_GET, S_POST, S_PATH, S_HTTPS, S_200, S_204, S_404 = 1, 2, 3, 4, 7, 8, 9, 13
S_CONTENT_ENCODING, S_CONTENT_LENGTH, S_CONTENT_TYPE, S_AUTHORIZATION, S_STATUS = 26, 28, 31, 23, 8
S_DATE, S_SERVER, S_USER_AGENT, S_ACCEPT_ENCODING = 33, 54, 58, 16


def hint(value, bits, flags):
    top = (1 << bits) - 1
    if value < top:
        return bytes([flags | value])
    out = [flags | top]
    value -= top
    while value >= 128:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out + [value])


def hstr(v):
    v = v.encode() if isinstance(v, str) else v
    return hint(len(v), 7, 0) + v


def idx(i):
    return hint(i, 7, 0x80)


def lit(name, value, mode="plain"):
    """A literal field: name an index of the tables or a string; mode plain
    (without indexing), incr (incremental indexing) or never."""
    bits, flags = {"plain": (4, 0x00), "incr": (6, 0x40), "never": (4, 0x10)}[mode]
    if isinstance(name, int):
        return hint(name, bits, flags) + hstr(value)
    return bytes([flags]) + hstr(name) + hstr(value)


def size_update(n):
    return hint(n, 5, 0x20)


def frame(ftype, flags, stream, payload=b"", pad=None, prio=False):
    if prio:
        payload = struct.pack(">IB", 0, 15) + payload  # depends on 0, weight 16
        flags |= PRIO
    if pad is not None:
        payload = bytes([pad]) + payload + b"\0" * pad
        flags |= PADDED
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", stream) + payload


def settings(*entries, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in entries))


CLIENT_SETTINGS = settings((2, 0), (4, 4194304), (6, 10485760))  # no push, windows, header list
SERVER_SETTINGS = settings((3, 100), (4, 65536), (5, 16384), (1, 4096))


def request_block(method, path, authority, auth=None, extra=(), mode="incr"):
    b = idx(S_POST if method == "POST" else S_GET) + idx(S_HTTPS)
    b += lit(S_PATH, path, mode) + lit(S_AUTHORITY, authority, mode)
    if auth:
        b += lit(auth[0] if not isinstance(auth[0], int) else auth[0], auth[1], "never")
    b += lit(S_CONTENT_TYPE, "application/json", mode) + lit(S_USER_AGENT, "OpenAI/Python 1.54.0", mode)
    for k, v in extra:
        b += lit(k, v, "plain")
    return b


def response_block(status, ctype, extra=(), mode="plain"):
    b = idx(S_200) if status == 200 else lit(S_STATUS, str(status))
    if ctype:
        b += lit(S_CONTENT_TYPE, ctype, mode)
    b += lit(S_DATE, "Thu, 28 Nov 2024 16:53:00 GMT", mode)
    for k, v in extra:
        b += lit(k, v, mode)
    return b


def http2_sessions():
    """The HTTP/2 sessions, as lists of calls; fuzz_plaintext reuses them."""
    s = {}
    body = OPENAI_JSON.encode()
    s["openai_json"] = [
        W(H2_PREFACE + CLIENT_SETTINGS + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1073741823))),
        W(frame(HEADERS, END_HEADERS, 1, request_block(
            "POST", "/v1/chat/completions", "api.openai.com", (S_AUTHORIZATION, OPENAI_KEY),
            [(S_CONTENT_LENGTH, str(len(CHAT_BODY)))])) +
          frame(DATA, END_STREAM, 1, CHAT_BODY.encode())),
        R(SERVER_SETTINGS + settings(ack=True) + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 983041))),
        W(settings(ack=True)),
        R(frame(HEADERS, END_HEADERS, 1, response_block(200, "application/json", [
            ("openai-organization", "user-abc123"), ("openai-processing-ms", "512"),
            ("x-request-id", "req_7c1d0a8b")])) + frame(DATA, 0, 1, body[:400])),
        R(frame(DATA, END_STREAM, 1, body[400:]))]

    # header blocks over CONTINUATION frames, PADDED and PRIORITY flags
    a_block = request_block("POST", "/v1/messages", "api.anthropic.com", ("x-api-key", "sk-ant-api03-Zx9"),
                            [("anthropic-version", "2023-06-01")])
    r_block = response_block(200, "application/json", [
        ("anthropic-organization-id", "2b3c4d5e-0000-1111-2222-333344445555"),
        ("request-id", "req_011CVa")])
    body = ANTHROPIC_JSON.encode()
    s["continuation_padded"] = [
        W(H2_PREFACE + CLIENT_SETTINGS),
        W(frame(HEADERS, 0, 1, a_block[:20], pad=5, prio=True) + frame(CONTINUATION, 0, 1, a_block[20:40])),
        W(frame(CONTINUATION, END_HEADERS, 1, a_block[40:]) +
          frame(DATA, END_STREAM, 1, ANTHROPIC_BODY.encode(), pad=16)),
        R(SERVER_SETTINGS + frame(HEADERS, 0, 1, r_block[:7], pad=3)),
        R(frame(CONTINUATION, 0, 1, r_block[7:30]) + frame(CONTINUATION, END_HEADERS, 1, r_block[30:])),
        R(frame(DATA, PADDED, 1, body[:200], pad=10) + frame(DATA, 0, 1, body[200:])),
        R(frame(DATA, END_STREAM, 1, b"", pad=0))]

    # two streams at once over one HPACK context: the second request indexes
    # the first's fields (dynamic table); their DATA frames interleave, frame
    # heads split across reads; a third stream reset; PING, GOAWAY
    first = request_block("POST", "/v1/chat/completions", "api.openai.com",
                          (S_AUTHORIZATION, OPENAI_KEY))
    # dynamic table after `first`: 62 user-agent, 63 content-type, 64 :authority, 65 :path
    second = idx(S_POST) + idx(S_HTTPS) + idx(65) + idx(64) + \
        lit(S_AUTHORIZATION, OPENAI_KEY, "never") + idx(63) + idx(62)
    sse_resp = response_block(200, "text/event-stream; charset=utf-8",
                              [("openai-organization", "user-abc123")], mode="incr")
    # the server's table: 62 openai-organization, 63 date, 64 content-type
    json_resp = idx(S_200) + lit(S_CONTENT_TYPE, "application/json") + idx(62) + idx(63)
    events = OPENAI_SSE.encode()
    rst = frame(RST_STREAM, 0, 5, struct.pack(">I", 8))
    reads = SERVER_SETTINGS + frame(HEADERS, END_HEADERS, 1, sse_resp) + \
        frame(HEADERS, END_HEADERS, 3, json_resp) + frame(DATA, 0, 1, events[:300]) + \
        frame(DATA, 0, 3, OPENAI_JSON.encode()[:500]) + frame(DATA, 0, 1, events[300:]) + \
        frame(DATA, END_STREAM, 3, OPENAI_JSON.encode()[500:]) + frame(PING, 0, 0, b"\0" * 8) + \
        frame(DATA, END_STREAM, 1, b"") + frame(GOAWAY, 0, 0, struct.pack(">II", 5, 0))
    s["two_streams_dynamic_table"] = [
        W(H2_PREFACE + CLIENT_SETTINGS + frame(HEADERS, END_HEADERS, 1, first)),
        W(frame(DATA, END_STREAM, 1, STREAM_BODY.encode())),
        W(frame(HEADERS, END_HEADERS, 3, second) + frame(DATA, END_STREAM, 3, CHAT_BODY.encode())),
        W(frame(HEADERS, END_HEADERS | END_STREAM, 5, idx(S_GET) + idx(S_HTTPS) + idx(S_PATH) + idx(64)) + rst),
    ] + [R(p) for p in split(reads, [5, 200, 4, 700])] + [W(frame(PING, ACK, 0, b"\0" * 8))]

    # Gemini with the key in the query, gzip, an interim 100, trailers that end
    # the stream, a table size change announced by SETTINGS
    gem = gz(GEMINI_JSON)
    s["gemini_gzip_interim_trailers"] = [
        W(H2_PREFACE + settings((1, 256), (2, 0))),
        W(frame(HEADERS, END_HEADERS, 1, request_block(
            "POST", "/v1beta/models/gemini-2.5-pro:generateContent?key=AIzaSyD3x9Qm",
            "generativelanguage.googleapis.com:443", None,
            [("x-goog-api-key", "AIzaSyD3x9Qm"), ("expect", "100-continue"),
             (S_ACCEPT_ENCODING, "gzip")]))),
        R(settings((3, 100)) + settings(ack=True) +
          frame(HEADERS, END_HEADERS, 1, size_update(256) + lit(S_STATUS, "100"))),
        W(frame(DATA, END_STREAM, 1, b'{"contents":[{"parts":[{"text":"Explain AI"}]}]}')),
        R(frame(HEADERS, END_HEADERS, 1, response_block(200, "application/json; charset=UTF-8", [
            ("content-encoding", "gzip"), ("server", "scaffolding on HTTPServer2"),
            ("x-padding", "p" * 120)], mode="incr")) + frame(DATA, 0, 1, gem[:100])),
        R(frame(DATA, 0, 1, gem[100:])),
        R(frame(HEADERS, END_HEADERS | END_STREAM, 1, lit("grpc-status", "0")))]

    # a response DATA frame larger than the capture: the read is cut inside
    # it (usage after the gap still counts); a request body cut too
    big = ('{"data":"' + "y" * 2500 + '","usage":{"prompt_tokens":7,"completion_tokens":8}}').encode()
    first = frame(DATA, 0, 1, big)
    head_and_start = first[:9 + 400]
    rest = first[9 + 400 + 2048:]  # 2 KiB not copied
    upload = frame(DATA, END_STREAM, 1, b"u" * 5000)
    s["cut_data_frames"] = [
        W(H2_PREFACE + CLIENT_SETTINGS + settings(ack=True) + frame(HEADERS, END_HEADERS, 1, request_block(
            "POST", "/v1/files", "api.openai.com", (S_AUTHORIZATION, OPENAI_KEY)))),
        W(upload[:9 + 904], cut=2, x=3),
        R(SERVER_SETTINGS + frame(HEADERS, END_HEADERS, 1, response_block(200, "application/json"))),
        R(head_and_start, cut=2, x=1),
        R(rest + frame(DATA, END_STREAM, 1, b""))]

    # the client shrinks the table it receives and the server evicts
    entries = b"".join(lit("x-ratelimit-%d" % i, "v" * 40, "incr") for i in range(8))
    s["table_size_eviction"] = [
        W(H2_PREFACE + settings((1, 128))),
        W(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(
            "GET", "/v1/models", "api.openai.com", (S_AUTHORIZATION, OPENAI_KEY)))),
        R(settings() + frame(HEADERS, END_HEADERS, 1, size_update(128) + idx(S_200) + entries +
                             lit(S_CONTENT_TYPE, "application/json")) +
          frame(DATA, END_STREAM, 1, b'{"object":"list","data":[]}'))]

    node = node_capture()
    if node:
        s["node_huffman"] = node
    return s


NODE_SCRIPT = r"""
const http2 = require('node:http2'), net = require('node:net');
const [sse1, sse2, json, key, chat, stream] = process.argv.slice(-6);
const calls = [];
const server = http2.createServer();
server.on('stream', (stream, headers) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    if (headers[':path'].includes('stream')) {
      stream.respond({':status': 200, 'content-type': 'text/event-stream; charset=utf-8',
                      'openai-organization': 'user-abc123'});
      stream.write(sse1);
      stream.end(sse2);
    } else {
      stream.respond({':status': 200, 'content-type': 'application/json',
                      'openai-organization': 'user-abc123', 'openai-processing-ms': '512'});
      stream.end(json);
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const proxy = net.createServer(cs => {
    const ss = net.connect(server.address().port, '127.0.0.1');
    cs.on('data', d => { calls.push(['w', d.toString('hex')]); ss.write(d); });
    ss.on('data', d => { calls.push(['r', d.toString('hex')]); cs.write(d); });
    cs.on('end', () => ss.end()); ss.on('end', () => cs.end());
    cs.on('error', () => {}); ss.on('error', () => {});
  });
  proxy.listen(0, '127.0.0.1', async () => {
    const client = http2.connect('http://127.0.0.1:' + proxy.address().port);
    const req = (path, body) => new Promise(res => {
      const r = client.request({':method': 'POST', ':path': path, ':authority': 'api.openai.com',
        ':scheme': 'https', 'authorization': key, 'content-type': 'application/json',
        'user-agent': 'OpenAI/JS 4.73.0'});
      r.on('data', () => {}); r.on('end', res); r.end(body);
    });
    await req('/v1/chat/completions', chat);
    await req('/v1/chat/completions?stream=true', stream);
    client.close(() => setTimeout(() => { process.stdout.write(JSON.stringify(calls)); process.exit(0); }, 100));
  });
});
"""


def node_capture():
    """A real HTTP/2 session (Huffman-coded HPACK, node's own frame layout),
    captured through a TCP relay between node:http2's client and server: each
    relayed read is one call, so the call boundaries (and the seed's bytes)
    may differ from run to run. Skipped when node is missing."""
    half = OPENAI_SSE.index("\n\n", 600) + 2
    try:
        out = subprocess.run(["node", "-e", NODE_SCRIPT, "--", OPENAI_SSE[:half], OPENAI_SSE[half:],
                              OPENAI_JSON, OPENAI_KEY, CHAT_BODY, STREAM_BODY],
                             capture_output=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print("node capture skipped: %s" % e, file=sys.stderr)
        return None
    return [call(d == "r", bytes.fromhex(h)) for d, h in json.loads(out)]


def http2_corpus(sessions):
    for name, calls in sessions.items():
        put("http2", name, b"".join(calls))


# ---- bodies: type and encoding byte, seed byte, body -----------------------

def body_corpus():
    JSON_T, SSE_T, AWS_T, OTHER_T = 0, 1, 2, 3
    ID, GZ, DEFL, BR = 0, 1, 2, 3

    def b(name, ctype, enc, body, gaps=False, piece=3, alt=False, seed=1):
        body = body.encode() if isinstance(body, str) else body
        put("body", name, bytes([ctype | enc << 2 | (0x10 if gaps else 0) | piece << 5 |
                                 (0x80 if alt else 0), seed]) + body)
    b("json_openai", JSON_T, ID, OPENAI_JSON, piece=2)
    b("json_openai_responses", JSON_T, ID, OPENAI_RESPONSES_JSON, alt=True)
    b("json_anthropic", JSON_T, ID, ANTHROPIC_JSON, piece=1)
    b("json_gemini_thoughts", JSON_T, ID, GEMINI_JSON)
    b("json_bedrock_converse", JSON_T, ID, BEDROCK_CONVERSE_JSON, piece=0)
    b("json_cohere_v2", JSON_T, ID, COHERE_V2_JSON)
    b("json_gaps", JSON_T, ID, OPENAI_JSON, gaps=True, piece=2, seed=7)
    b("sse_openai", SSE_T, ID, OPENAI_SSE, piece=2)
    b("sse_anthropic", SSE_T, ID, ANTHROPIC_SSE, piece=1, alt=True)
    b("sse_gemini_crlf", SSE_T, ID, GEMINI_SSE)
    b("sse_long_line", SSE_T, ID, LONG_SSE, piece=2)
    b("sse_gaps", SSE_T, ID, ANTHROPIC_SSE, gaps=True, piece=2, seed=3)
    b("eventstream_bedrock", AWS_T, ID, BEDROCK_STREAM, piece=2)
    b("eventstream_invoke_metrics", AWS_T, ID, invoke_chunk(BEDROCK_INVOKE_METRICS))
    b("eventstream_invoke_stream", AWS_T, ID, BEDROCK_INVOKE_STREAM, piece=1)
    b("gzip_json", JSON_T, GZ, gz(OPENAI_JSON), piece=2)
    b("gzip_sse", SSE_T, GZ, gz(ANTHROPIC_SSE), alt=True)
    b("gzip_gaps", JSON_T, GZ, gz(OPENAI_JSON), gaps=True, piece=2, seed=5)
    b("deflate_json", JSON_T, DEFL, zl(COHERE_V2_JSON), piece=1)
    b("gzip_trailing_garbage", JSON_T, GZ, gz(ANTHROPIC_JSON) + b"\x1f\x8bjunk")
    b("br_json", JSON_T, BR, b"\x1b\x2f\x00\xf8\xa5\x40\x42" + b"\x00" * 20)
    b("other_type", OTHER_T, ID, "<html><body>usage</body></html>")


# ---- usage: raw JSON text -----------------------------------------------

def usage_corpus():
    seeds = {
        "openai_chat": OPENAI_JSON,
        "openai_responses": OPENAI_RESPONSES_JSON,
        "anthropic": ANTHROPIC_JSON,
        "gemini_thoughts": GEMINI_JSON,
        "bedrock_converse": BEDROCK_CONVERSE_JSON,
        "bedrock_invocation_metrics": BEDROCK_INVOKE_METRICS,
        "cohere_v2_billed_units": COHERE_V2_JSON,
        "cohere_v1_meta": COHERE_V1_JSON,
        "usage_null_then_object": '{"usage": null, "x": "\\"usage\\": {\\"prompt_tokens\\": 1}",'
                                  ' "usage" :\n {"prompt_tokens": 2, "completion_tokens": 3}}',
        "tail_of_long_body": OPENAI_JSON[len(OPENAI_JSON) // 2:],
        "truncated": OPENAI_JSON[:OPENAI_JSON.index('"total_tokens"')],
        "numbers_edge": '{"usage":{"prompt_tokens":-1,"completion_tokens":18446744073709551615,'
                        '"input_tokens":9223372036854775807,"output_tokens":1.5e3}}',
        "duplicates_nested": '{"usage":{"input_tokens":1,"input_tokens":2},"usageMetadata":'
                             '{"promptTokenCount":3,"candidatesTokenCount":4,'
                             '"thoughtsTokenCount":18446744073709551615},"usage":{"usage":{}}}',
        "sse_event_data": json.dumps(openai_chunk(None, usage={"prompt_tokens": 5,
                                                               "completion_tokens": 6},
                                                  choices=False)),
    }
    for name, text in seeds.items():
        put("usage", name, text)


# ---- plaintext: ring buffer events ----------------------------------------

def event_close(tgid=0, conn=0):
    return bytes([1 | tgid << 2 | conn << 4])


def events(calls, tgid=0, conn=0):
    """fuzz_next_call records as fuzz_plaintext's events of one connection."""
    out = b""
    for c in calls:
        op, n = c[0], struct.unpack(">H", c[1:3])[0]
        cut = (op >> 1) & 3
        out += bytes([(op & 1) << 1 | tgid << 2 | conn << 4 | cut << 6]) + c[1:3] + c[3:3 + n]
    return out


def interleave(*streams):
    """Events of several connections, one call of each in turn."""
    out, i = b"", 0
    while any(i < len(s) for s in streams):
        for s in streams:
            if i < len(s):
                out += s[i]
        i += 1
    return out


def plaintext_corpus(h1, h2):
    """Seeds under 4 KiB (the fuzz runs' -max_len)."""
    ev = lambda calls, tgid=0, conn=0: [events([c], tgid, conn) for c in calls]
    put("plaintext", "h1_openai_close", events(h1["openai_json"]) + event_close())
    put("plaintext", "h1_sse_gzip", events(h1["openai_sse_chunked"]) + events(h1["gzip_json"]))
    # a wanted and an unwanted connection, a process writing garbage, a
    # client joined midway (a response first), and the same object pointer
    # in another process
    models = req("GET", "/v1/models", "api.openai.com", [("Authorization", OPENAI_KEY)])
    listing = json_response('{"object":"list","data":[]}')
    joined = [R(listing[:100]), R(listing[100:]), W(models), R(listing)]
    put("plaintext", "h1_mixed_processes", interleave(
        ev(h1["pipelined_two"]), ev(h1["cohere_deflate"], conn=1),
        ev([W(b"\x16\x03\x01 not http"), R(b"hello")], conn=2),
        ev(joined, conn=3), ev(h1["head_204_304"], tgid=1)) +
        event_close(conn=1) + event_close(tgid=1))
    # a closed connection whose object is reused for the next one
    put("plaintext", "h1_close_reuse", events(h1["cut_upload_read_to_close"]) + event_close() +
        events(h1["head_204_304"]))
    put("plaintext", "h2_openai", events(h2["openai_json"]) + event_close())
    put("plaintext", "h2_two_streams_and_h1", interleave(
        ev(h2["two_streams_dynamic_table"]), ev(h1["cohere_deflate"], tgid=2)))
    put("plaintext", "h2_continuation", events(h2["continuation_padded"], conn=1) +
        events(h2["table_size_eviction"], tgid=1, conn=1))
    if "node_huffman" in h2:
        put("plaintext", "h2_node", events(h2["node_huffman"], tgid=3, conn=2))
    # HTTP/2 joined after its preface, and a cut outside a DATA frame: given up
    put("plaintext", "h2_lost", events(h2["openai_json"][1:], conn=1) +
        events([h2["cut_data_frames"][0], W(frame(HEADERS, 0, 3, b"\x82" * 50), cut=1)], conn=2) +
        events(h2["gemini_gzip_interim_trailers"], tgid=1))


CORPORA = {
    "dns": lambda: dns_corpus(),
    "tls_hello": lambda: tls_corpus(),
    "http_request": lambda: http_corpus(),
    "config": lambda: config_corpus(),
    "patterns": lambda: patterns_corpus(),
    "names": lambda: names_corpus(),
    "http1": lambda: http1_corpus(),
    "http2": lambda: http2_corpus(http2_sessions()),
    "body": lambda: body_corpus(),
    "usage": lambda: usage_corpus(),
    "plaintext": lambda: plaintext_corpus(http1_sessions(), http2_sessions()),
    "openssl_inner": lambda: openssl_inner_corpus(),
}


# ---- OpenSSL-shaped libraries (where the read and write probes go) ----------

def openssl_inner_corpus():
    """The test fixture's shapes, linked small (no page alignment), and a few
    bare code sequences, each after the 8-byte address the target reads
    first."""
    src = os.path.join(os.path.dirname(ROOT), "..", "fixtures", "openssl_shapes.S")
    for shape in (1, 2, 3, 4, 5):
        out = "/tmp/openssl_shape_%d.so" % shape
        subprocess.run(["cc", "-shared", "-nostdlib", "-DSHAPE=%d" % shape, "-Wl,--build-id=none",
                        "-Wl,-z,noseparate-code", "-Wl,-z,max-page-size=16",
                        "-Wl,--section-start=.text=0x200000", src, "-o", out], check=True)
        with open(out, "rb") as f:
            put("openssl_inner", "shape_%d.so" % shape, f.read())
        os.unlink(out)
    vaddr = struct.pack("<Q", 0x35000)
    put("openssl_inner", "code_sub_call", vaddr + bytes([0x48, 0x83, 0xec, 0x08, 0xe8, 0, 1, 0, 0]))
    put("openssl_inner", "code_endbr_jmp8", vaddr + bytes([0xf3, 0x0f, 0x1e, 0xfa, 0xeb, 0xf0]))
    put("openssl_inner", "code_endbr_push", vaddr + bytes([0xf3, 0x0f, 0x1e, 0xfa, 0x41, 0x54]))


def main():
    """With target names, only their corpora are written again (the others,
    the TLS hellos with their fresh random bytes, stay as committed);
    without, all of them. --keep adds to a corpus instead of replacing it."""
    names = [a for a in sys.argv[1:] if not a.startswith("--")]
    unknown = [n for n in names if n not in CORPORA]
    if unknown:
        sys.exit("unknown corpus: %s (known: %s)" % (" ".join(unknown), " ".join(CORPORA)))
    names = names or list(CORPORA)
    for name in names:
        d = os.path.join(ROOT, name)
        if os.path.isdir(d) and "--keep" not in sys.argv:
            shutil.rmtree(d)
        os.makedirs(d, exist_ok=True)
    for name in names:
        CORPORA[name]()


if __name__ == "__main__":
    main()
