#!/usr/bin/python3
"""A local HTTP server for the download tests, on 127.0.0.1 only.

GET /MODE/NAME serves the file NAME from the folder given on the command
line, the way MODE says:
  good       honours Range (206 Partial Content), like download.pytorch.org
  norange    ignores Range and always sends the whole file (200)
  drop       announces the whole length, sends half, closes the connection
  truncated  sends the first 60 % as if it were the whole file
  wrong      sends another file's bytes (WRONG_FILE) under NAME
  slow       honours Range, sends 4 KiB every 50 ms
  missing    404
  busy       503 (the server is overloaded: worth trying again later)
GET /log returns the requests so far, one "PATH RANGE" line each.

Run as a program it prints the port on its first line, then serves until
killed or until its standard input closes, which happens when the program
that started it with a pipe there exits, even by a crash; fetch.py
imports it instead."""
import http.server
import os
import re
import sys
import threading
import time

WRONG_FILE = "wrong.bin"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_bytes(self, status, data, length=None, headers=()):
        self.send_response(status)
        self.send_header("Content-Length", str(len(data) if length is None else length))
        self.send_header("Content-Type", "application/octet-stream")
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        try:
            self.answer()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: what curl does on a refused range

    def answer(self):
        server = self.server
        server.requests.append(f"{self.path} {self.headers.get('Range', '-')}")
        if self.path == "/log":
            body = "\n".join(server.requests[:-1]).encode()
            self.send_bytes(200, body)
            return
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] == "missing":
            self.send_bytes(404, b"not found")
            return
        if parts[0] == "busy":
            self.send_bytes(503, b"busy")
            return
        mode, name = parts
        source = WRONG_FILE if mode == "wrong" else name
        path = os.path.join(server.folder, source)
        if not os.path.isfile(path):
            self.send_bytes(404, b"not found")
            return
        data = open(path, "rb").read()
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and mode in ("good", "slow", "drop"):
            start = int(match.group(1))
            if start >= len(data):
                self.send_bytes(416, b"", headers=[("Content-Range", f"bytes */{len(data)}")])
                return
        body = data[start:]
        status = 206 if start else 200
        headers = [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")] if start else []
        if mode == "drop":
            # the promised length, half the bytes, then a closed socket
            self.send_bytes(status, body[: len(body) // 2], length=len(body), headers=headers)
            self.close_connection = True
            self.wfile.flush()
            self.connection.shutdown(2)
        elif mode == "truncated":
            self.send_bytes(200, data[: len(data) * 6 // 10])
        elif mode == "slow":
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers:
                self.send_header(key, value)
            self.end_headers()
            for i in range(0, len(body), 4096):
                self.wfile.write(body[i:i + 4096])
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.send_bytes(status, body, headers=headers)


def start(folder):
    """Serves FOLDER in a thread; returns the server (its .port)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.folder = folder
    server.requests = []
    server.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    server = start(sys.argv[1])
    # one write: the reader may close the pipe once it has the line
    os.write(sys.stdout.fileno(), f"{server.port}\n".encode())
    while sys.stdin.buffer.read(4096):
        pass
    os._exit(0)
