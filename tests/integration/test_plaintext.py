"""TLS plaintext: requests, tokens and API keys per process, from uprobes on
OpenSSL and GnuTLS, counted exactly against the server's log."""
import os
import subprocess
import uuid
from pathlib import Path

from conftest import PYTHON, SERVER_V4, client, wait_for

KEYS = [f"sk-test-{uuid.uuid4().hex}" for _ in range(3)]


def finish(p, timeout=120):
    out, err = p.communicate(timeout=timeout)
    assert p.returncode == 0, err.decode()
    return out.decode()


def truth(server, n):
    records = wait_for(lambda: len(server.records()) >= n and server.records(), 10,
                       f"{n} requests in the server's log")
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
