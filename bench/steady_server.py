"""steady_server.py PORT DELAY: a stand-in for moto whose pace does not wander, for bench/compare.

It answers like moto does where a client's overhead shows: one request per connection
(`Connection: close`), each answered after DELAY seconds (moto takes about 5 ms a CopyImage on
the benchmark machine), a thread per connection. Every answer is the same EC2 error, whatever
the request: what is measured is how close a client keeps such a server to its pace, not what
it says.
"""

import socket
import sys
import threading
import time

BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidAMIID.NotFound</Code>'
    b"<Message>The image id does not exist</Message></Error></Errors><RequestID>steady</RequestID></Response>"
)
HEAD = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(BODY)


def answer(conn, delay):
    with conn:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            body += chunk
        time.sleep(delay)
        conn.sendall(HEAD + BODY)


def main():
    port, delay = int(sys.argv[1]), float(sys.argv[2])
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(256)
    while True:
        conn, _ = server.accept()
        threading.Thread(target=answer, args=(conn, delay), daemon=True).start()


if __name__ == "__main__":
    main()
