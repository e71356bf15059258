"""A logging stand-in for EC2 on 0.0.0.0:80, for the private-network-namespace test.

Usage: ec2_logger.py LOG READY. Every request is appended to LOG as one JSON line
({"method", "host", "path", "body"}); READY is created once the server listens. Answers as EC2
does: 412 DryRunOperation for a request with DryRun=true, 403 UnauthorizedOperation otherwise.
"""

import http.server
import json
import sys
import threading
import urllib.parse

LOG, READY = sys.argv[1], sys.argv[2]
LOCK = threading.Lock()

ERROR = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
    "<RequestID>00000000-0000-4000-8000-000000000000</RequestID></Response>"
)


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        record = {"method": self.command, "host": self.headers.get("Host", ""), "path": self.path, "body": body}
        with LOCK, open(LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(record) + "\n")
        params = urllib.parse.parse_qs(body, keep_blank_values=True)
        if params.get("DryRun") == ["true"]:
            status, code, message = 412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."
        else:
            status, code, message = 403, "UnauthorizedOperation", "You are not authorized to perform this operation."
        reply = ERROR.format(code=code, message=message).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("0.0.0.0", 80), Handler)
open(READY, "w").close()
server.serve_forever()
