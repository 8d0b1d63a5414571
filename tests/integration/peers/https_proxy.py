"""An HTTPS forward proxy for the tests: clients speak TLS to it, send
CONNECT host:port, and their bytes (a second TLS session, end to end with the
server) are relayed to --upstream whatever host they name, so that no name
needs resolving. Each CONNECT is appended to --log as one JSON line."""
import argparse
import json
import selectors
import socket
import ssl
import threading


def relay(client, upstream):
    """Both ways from one thread: an SSLSocket is not to be read and written
    from two threads at once. Ends when either side closes."""
    sel = selectors.DefaultSelector()
    sel.register(client, selectors.EVENT_READ, upstream)
    sel.register(upstream, selectors.EVENT_READ, client)
    try:
        while True:
            # a TLS socket may hold decrypted bytes select() cannot see
            ready = [(client, upstream)] if client.pending() else \
                [(key.fileobj, key.data) for key, _ in sel.select()]
            for src, dst in ready:
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)
    except OSError:
        pass
    finally:
        sel.close()


def serve(conn, upstream, log):
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(4096)
        if not chunk or len(head) > 65536:
            conn.close()
            return
        head += chunk
    line = head.split(b"\r\n", 1)[0].decode()
    method, target, _ = line.split(" ", 2)
    if method != "CONNECT":
        conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        conn.close()
        return
    up = socket.create_connection(upstream)
    with open(log, "a") as f:
        f.write(json.dumps({"connect": target}) + "\n")
    conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    relay(conn, up)
    conn.close()
    up.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True, help="ADDR:PORT every CONNECT goes to")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ready", required=True)
    a = p.parse_args()
    host, port = a.upstream.rsplit(":", 1)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    srv = socket.create_server((a.addr, a.port))
    open(a.ready, "w").close()
    while True:
        raw, _ = srv.accept()
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            continue
        threading.Thread(target=serve, args=(conn, (host, int(port)), a.log), daemon=True).start()


if __name__ == "__main__":
    main()
