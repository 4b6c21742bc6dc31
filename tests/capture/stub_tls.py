#!/usr/bin/python3
"""stub_tls.py - a container-API TLS endpoint stand-in for recording test captures.

Usage: stub_tls.py CERT KEY PORT [PORT...]
Per connection, like Go's net/http + crypto/tls servers (dockerd 2376, kubelet 10250,
apiserver 6443, etcd 2379): a TLS ClientHello gets a TLS session (ALPN http/1.1,
then an HTTP/1.1 JSON answer); the HTTP/2 client preface (h2c, as etcd serves on 2379)
gets a SETTINGS frame and a :status 200 HEADERS; any other first bytes get Go's
"HTTP/1.0 400 Bad Request ... Client sent an HTTP request to an HTTPS server." and close.
Test-only: binds the given ports on all addresses of its (throw-away) namespace.
"""
import socket
import ssl
import sys
import threading

GO_400 = b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"


def h2c(conn):
    conn.settimeout(5)
    data = b""
    try:
        while b"\x01" not in data[24:] and len(data) < 65536:  # until a HEADERS frame
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    settings = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
    ack = b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"
    # HEADERS stream 1, END_HEADERS: :status 200 (static index 8), then DATA END_STREAM.
    headers = b"\x00\x00\x01\x01\x04\x00\x00\x00\x01\x88"
    body = b"{}"
    data_frame = bytes([0, 0, len(body), 0, 1, 0, 0, 0, 1]) + body
    conn.sendall(settings + ack + headers + data_frame)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def https(ctx, conn):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        return
    tls.settimeout(5)
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = tls.recv(4096)
            if not chunk:
                return
            req += chunk
        body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":401}'
        tls.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        tls.unwrap()
    except (ssl.SSLError, OSError):
        pass


def handle(ctx, conn):
    with conn:
        conn.settimeout(5)
        try:
            first = conn.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first == b"\x16":
            https(ctx, conn)
        elif first == b"P":
            h2c(conn)
        elif first:
            try:
                conn.recv(65536)
                conn.sendall(GO_400)
            except OSError:
                pass


def serve(ctx, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(16)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(ctx, conn), daemon=True).start()


def main():
    cert, key, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])  # the stub answers HTTP/1.1 only
    for p in ports:
        threading.Thread(target=serve, args=(ctx, p), daemon=True).start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
