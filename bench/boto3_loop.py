"""boto3_loop.py: what a Python client loop gets from an endpoint. Replays the bodies bench/compare
recorded (one per line) through boto3's own machinery, botocore's SigV4Auth and URLLib3Session
(what every boto3 client call signs and sends with), one request after the other, for the
seconds given; prints {"requests": N, "seconds": S} as JSON. Run with the moto venv's python.

The bodies go out as recorded rather than through `client.copy_image(...)`: most of them are
invalid on purpose, and boto3's parameter validation would refuse them before sending.

usage: boto3_loop.py URL BODIES_FILE SECONDS
"""

import json
import sys
import time

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpsession import URLLib3Session

# AWS's published example key pair: emulators do not check signatures.
DUMMY = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    url, path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with open(path, encoding="utf-8") as f:
        bodies = [line.rstrip("\n").encode() for line in f if line.strip()]
    if not bodies:
        print(f"{path}: no bodies", file=sys.stderr)
        return 2
    session = URLLib3Session()
    signer = SigV4Auth(DUMMY, "ec2", "us-east-1")
    sent = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        request = AWSRequest(method="POST", url=url, data=bodies[sent % len(bodies)], headers={"Content-Type": FORM})
        signer.add_auth(request)
        response = session.send(request.prepare())
        _ = response.content
        sent += 1
    print(json.dumps({"requests": sent, "seconds": time.monotonic() - start}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
