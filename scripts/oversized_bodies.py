#!/usr/bin/env python3
"""Posts oversized bodies to a running `tasktoken serve` with Python's http.client, as issue 13 did.

http.client writes the whole body before it reads (it sends `Expect: 100-continue` when told
to, but never waits for the 100), so a server that closes with unread input makes it fail with
BrokenPipeError or ConnectionResetError instead of reading the answer. Every combination of
size, provider, framing (Content-Length or chunked) and Expect is posted once; the body is
generated on the fly in 64 KiB chunks (nothing of its size is allocated).

Usage (loopback only):
    target/release/tasktoken serve --port 4599 &
    scripts/oversized_bodies.py http://127.0.0.1:4599 [--sizes 2,20,100,500]

Prints one line per case and exits 1 if any client did not read the refusal (AWS: 413
"HTTP content length exceeded 1049600 bytes."; Alibaba: 400 with Code EntityTooLarge).
"""

import argparse
import http.client
import json
import sys
import time
import urllib.parse

CHUNK = b"x" * (64 * 1024)
MB = 1_000_000
AWS_TOO_LARGE = "HTTP content length exceeded 1049600 bytes."


def body(size):
    sent = 0
    while sent < size:
        piece = CHUNK[: min(len(CHUNK), size - sent)]
        sent += len(piece)
        yield piece


def post(host, port, provider, size, chunked, expect):
    if provider == "aws":
        path = "/"
        headers = {
            "X-Amz-Target": "AWSStepFunctions.SendTaskSuccess",
            "Content-Type": "application/x-amz-json-1.0",
        }
    else:
        path = "/?Action=ReportTaskSucceeded&Version=2019-03-15&Format=json&TaskToken=big"
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if not chunked:
        headers["Content-Length"] = str(size)
    if expect:
        headers["Expect"] = "100-continue"
    conn = http.client.HTTPConnection(host, port, timeout=60)
    started = time.monotonic()
    try:
        # An iterable body without Content-Length is sent chunked by http.client.
        conn.request("POST", path, body=body(size), headers=headers, encode_chunked=chunked)
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        took = time.monotonic() - started
        if provider == "aws":
            ok = response.status == 413 and text == AWS_TOO_LARGE
            shown = f"{response.status} {text!r}"
        else:
            code = json.loads(text).get("Code") if text.startswith("{") else None
            ok = response.status == 400 and code == "EntityTooLarge"
            shown = f"{response.status} Code {code}"
        return ok, f"{shown} in {took:.2f} s"
    except (OSError, http.client.HTTPException) as e:
        return False, f"{type(e).__name__}: {e}"
    finally:
        conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", help="http://127.0.0.1:PORT of a running tasktoken serve")
    parser.add_argument("--sizes", default="2,20,100,500", help="body sizes in MB (10^6 bytes)")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.base)
    if url.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback targets only")
    failed = 0
    total = 0
    for size in (int(s) * MB for s in args.sizes.split(",")):
        for provider in ("aws", "alibaba"):
            for chunked in (False, True):
                for expect in (False, True):
                    ok, what = post(url.hostname, url.port, provider, size, chunked, expect)
                    total += 1
                    failed += not ok
                    framing = "chunked" if chunked else "length"
                    print(
                        f"{'PASS' if ok else 'FAIL'} {size // MB} MB {provider} {framing} "
                        f"{'expect' if expect else 'no-expect'}: {what}",
                        flush=True,
                    )
    print(f"{total - failed} of {total} read the refusal (Python {sys.version.split()[0]})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
