"""An LLM-API-shaped HTTPS server for the tests (HTTP/1.1, keep-alive).

POST /v1/chat/completions      OpenAI chat: JSON, or SSE when the body has
                               "stream": true (usage in the last chunk when
                               stream_options.include_usage is set)
POST /v1/responses             OpenAI Responses API (JSON)
POST /v1/messages              Anthropic Messages: JSON, or SSE with message_start
                               and cumulative message_delta usage
Every response's token counts are chosen per request and logged, with a hash
of the API key presented: the ground truth the tests compare with. The body can
be gzip-encoded when the client accepts it (?gzip=1 forces it).
"""
import argparse
import ctypes
import gzip
import hashlib
import json
import os
import random
import signal
import socket
import ssl
import threading


def read_request(conn, buf):
    while b"\r\n\r\n" not in buf:
        chunk = conn.recv(65536)
        if not chunk:
            return None, None, buf
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(buf) < n:
        chunk = conn.recv(65536)
        if not chunk:
            return None, None, buf
        buf += chunk
    body, buf = buf[:n], buf[n:]
    return (method, path, headers), body, buf


def openai_chat(req, tokens_in, tokens_out):
    if not req.get("stream"):
        return "application/json", [json.dumps({
            "id": "chatcmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant",
                         "content": "The word \"usage\": {\"completion_tokens\": 999999} is text."},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": tokens_in, "completion_tokens": tokens_out,
                      "total_tokens": tokens_in + tokens_out}}).encode()]
    events = []
    for i in range(5):
        events.append({"id": "c", "object": "chat.completion.chunk", "usage": None,
                       "choices": [{"index": 0, "delta": {"content": "tok%d " % i}}]})
    if req.get("stream_options", {}).get("include_usage"):
        events.append({"id": "c", "choices": [], "usage": {
            "prompt_tokens": tokens_in, "completion_tokens": tokens_out}})
    return "text/event-stream", [b"data: " + json.dumps(e).encode() + b"\n\n" for e in events] + \
        [b"data: [DONE]\n\n"]


def openai_responses(req, tokens_in, tokens_out):
    return "application/json", [json.dumps({
        "id": "resp_1", "object": "response", "output": [{"type": "message", "content": []}],
        "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}).encode()]


def anthropic(req, tokens_in, tokens_out):
    if not req.get("stream"):
        return "application/json", [json.dumps({
            "id": "msg_1", "type": "message", "role": "assistant",
            "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn",
            "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}).encode()]
    def ev(name, data):
        return b"event: " + name.encode() + b"\ndata: " + json.dumps(data).encode() + b"\n\n"
    out = [ev("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "usage": {"input_tokens": tokens_in, "output_tokens": 1}}})]
    for i in range(3):
        out.append(ev("content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "text_delta", "text": "x"}}))
        # cumulative: the last one is the total
        out.append(ev("message_delta", {"type": "message_delta",
                                        "usage": {"output_tokens": tokens_out * (i + 1) // 3}}))
    out.append(ev("message_stop", {"type": "message_stop"}))
    return "text/event-stream", out


def openai_embeddings(req, tokens_in, tokens_out):
    """One 1536-float vector per input: megabytes of JSON, the usage at its end."""
    vector = "[" + ", ".join("%.8f" % (i / 1536) for i in range(1536)) + "]"
    data = ", ".join('{"object": "embedding", "index": %d, "embedding": %s}' % (i, vector)
                     for i in range(len(req.get("input", []))))
    return "application/json", [('{"object": "list", "data": [%s], "model": "m", "usage": '
                                 '{"prompt_tokens": %d, "total_tokens": %d}}'
                                 % (data, tokens_in, tokens_in)).encode()]


ROUTES = {"/v1/chat/completions": openai_chat, "/v1/responses": openai_responses,
          "/v1/messages": anthropic, "/v1/embeddings": openai_embeddings}


def key_of(headers):
    for h in ("authorization", "x-api-key", "x-goog-api-key", "api-key"):
        if h in headers:
            value = headers[h]
            if value.lower().startswith("bearer "):
                value = value[7:]
            return hashlib.sha256(value.encode()).hexdigest()[:16]
    return None


def log_request(log, lock, path, headers, tokens_in, tokens_out):
    with lock, open(log, "a") as f:
        f.write(json.dumps({"path": path, "key": key_of(headers), "input_tokens": tokens_in,
                            "output_tokens": tokens_out}) + "\n")


def send_file(conn, path):
    """GET /v1/files/ID/content?bytes=N: a file of N bytes (the Files API's
    download), no usage in it. False for any other path."""
    base, _, query = path.partition("?")
    if not (base.startswith("/v1/files/") and base.endswith("/content")):
        return False
    size = int(dict(q.split("=", 1) for q in query.split("&") if "=" in q).get("bytes", "0"))
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                 b"Content-Length: %d\r\n\r\n" % size)
    block = bytes(range(256)) * 256
    while size:
        n = min(size, len(block))
        conn.sendall(block[:n])
        size -= n
    return True


def handle(raw, ctx, log, lock, rng):
    buf = b""
    conn = raw
    try:
        # the handshake here, not in the accepting thread: one slow client
        # does not hold up the others
        conn = ctx.wrap_socket(raw, server_side=True)
        while True:
            head, body, buf = read_request(conn, buf)
            if head is None:
                return
            method, path, headers = head
            if send_file(conn, path):
                log_request(log, lock, path, headers, 0, 0)
                continue
            route = ROUTES.get(path.split("?")[0])
            if not route:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                continue
            req = json.loads(body or b"{}")
            tokens_in, tokens_out = rng.randint(10, 500), rng.randint(100, 5000)
            if route is openai_embeddings:
                tokens_out = 0
            ctype, parts = route(req, tokens_in, tokens_out)
            gz = "gzip=1" in path
            extra = b"openai-organization: org-test-1\r\n" if "chat" in path else b""
            if ctype == "text/event-stream":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" + extra +
                             b"Transfer-Encoding: chunked\r\n\r\n")
                for p in parts:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(p), p))
                conn.sendall(b"0\r\n\r\n")
            else:
                data = b"".join(parts)
                if gz:
                    data = gzip.compress(data)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + extra +
                             (b"Content-Encoding: gzip\r\n" if gz else b"") +
                             b"Content-Length: %d\r\n\r\n" % len(data) + data)
            usage_reported = ctype != "text/event-stream" or path.startswith("/v1/messages") or \
                bool(req.get("stream_options", {}).get("include_usage"))
            log_request(log, lock, path, headers, tokens_in if usage_reported else 0,
                        tokens_out if usage_reported else 0)
            if headers.get("connection", "").lower() == "close":
                conn.unwrap()  # close_notify, then the close
                return
    except (OSError, ssl.SSLError, ValueError):
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ready", required=True)
    p.add_argument("--processes", type=int, default=1,
                   help="processes accepting on the one socket (the GIL bounds one)")
    args = p.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv = socket.socket(socket.AF_INET6 if ":" in args.addr else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.addr, args.port))
    srv.listen(4096)
    worker = 0
    for i in range(1, args.processes):
        if os.fork() == 0:
            # die with the first process, which the tests stop
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            worker = i
            break
    lock = threading.Lock()  # log lines are single O_APPEND writes across processes
    rng = random.Random(7 + worker)
    if worker == 0:
        with open(args.ready, "w") as f:
            f.write(str(os.getpid()))
    while True:
        raw, _ = srv.accept()
        threading.Thread(target=handle, args=(raw, ctx, args.log, lock, rng), daemon=True).start()


if __name__ == "__main__":
    main()
