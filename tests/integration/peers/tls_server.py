"""HTTPS server for the tests: GET /bytes/N answers N bytes (keep-alive).

When a connection ends it appends one JSON line to the log with the TCP
payload the kernel says it exchanged (TCP_INFO bytes_acked: payload sent and
acknowledged; bytes_received: payload received): the ground truth the tests
compare egresswatch's figures with. Also serves plain TCP (--plain) and UDP
echo (--udp).
"""
import argparse
import json
import os
import socket
import ssl
import struct
import threading

TCP_INFO_BYTES_ACKED = 120   # offsets in struct tcp_info (linux/tcp.h)
TCP_INFO_BYTES_RECEIVED = 128


def tcp_payload(sock):
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    acked, = struct.unpack_from("Q", info, TCP_INFO_BYTES_ACKED)
    received, = struct.unpack_from("Q", info, TCP_INFO_BYTES_RECEIVED)
    return acked, received


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.path = path

    def write(self, record):
        with self.lock, open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
        if len(data) > 65536:
            return None
    return data.split(b"\r\n", 1)[0].decode()


def serve_http(conn, body_byte=b"x"):
    requests = 0
    while True:
        line = read_request(conn)
        if line is None:
            return requests
        parts = line.split()
        n = int(parts[1].rsplit("/", 1)[1]) if len(parts) > 1 and parts[1].startswith("/bytes/") else 0
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: %d\r\n\r\n" % n)
        left = n
        while left:
            k = min(left, 65536)
            conn.sendall(body_byte * k)
            left -= k
        requests += 1


def handle(raw, peer, ctx, log, mode):
    requests = 0
    conn = raw
    try:
        if mode == "tls":
            # wrap_socket moves the descriptor into the new object
            conn = ctx.wrap_socket(raw, server_side=True)
            requests = serve_http(conn)
        elif mode == "plain-http":
            requests = serve_http(raw)
        elif mode == "sink":  # read until the client closes
            while raw.recv(65536):
                pass
        else:  # "plain": read one line, answer --size bytes, close
            buf = b""
            while b"\n" not in buf:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                buf += chunk
            n = int(buf.split()[1]) if len(buf.split()) > 1 else 0
            raw.sendall(b"y" * n)
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(4096):
                pass
    except (OSError, ssl.SSLError, ValueError):
        pass
    acked, received = tcp_payload(conn)
    log.write({"peer": peer[0], "port": peer[1], "bytes_acked": acked,
               "bytes_received": received, "requests": requests})
    conn.close()


def serve_tcp(args, ctx, log):
    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.addr, args.port))
    srv.listen(1024)
    ready(args)
    while True:
        raw, peer = srv.accept()
        threading.Thread(target=handle, args=(raw, peer, ctx, log, args.mode), daemon=True).start()


def serve_udp(args, log):
    family = socket.AF_INET6 if ":" in args.addr else socket.AF_INET
    srv = socket.socket(family, socket.SOCK_DGRAM)
    srv.bind((args.addr, args.port))
    ready(args)
    while True:
        data, peer = srv.recvfrom(65536)
        srv.sendto(data, peer)
        log.write({"peer": peer[0], "port": peer[1], "datagram": len(data)})


def ready(args):
    with open(args.ready, "w") as f:
        f.write(str(os.getpid()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mode", choices=["tls", "plain", "plain-http", "sink", "udp"], default="tls")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--log", required=True)
    p.add_argument("--ready", required=True)
    args = p.parse_args()
    log = Log(args.log)
    if args.mode == "udp":
        serve_udp(args, log)
        return
    ctx = None
    if args.mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    serve_tcp(args, ctx, log)


if __name__ == "__main__":
    main()
