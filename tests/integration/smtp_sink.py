#!/usr/bin/python3
# A real SMTP server on loopback for tests/integration/63-notify.c, from
# Debian's python3-aiosmtpd: STARTTLS required (MAIL before it is refused
# 530), every message written as it came, with what the client said
# around it, to OUTDIR/msg-NNNN.eml:
#
#   X-Sink-TLS: yes|no          STARTTLS was done before DATA
#   X-Sink-Helo: NAME           the EHLO name
#   X-Sink-Mail-From: ADDR
#   X-Sink-Rcpt-To: ADDR        (one per recipient)
#   <the message bytes exactly as received>
#
#   smtp_sink.py PORT CERT KEY OUTDIR
#
# OUTDIR/ready appears once it listens. Runs until killed.
import os
import signal
import ssl
import sys

from aiosmtpd.controller import Controller

port, cert, key, outdir = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)


class Sink:
    n = 0

    async def handle_DATA(self, server, session, envelope):
        Sink.n += 1
        path = os.path.join(outdir, "msg-%04d.eml" % Sink.n)
        with open(path + ".tmp", "wb") as f:
            f.write(b"X-Sink-TLS: %s\r\n" % (b"yes" if session.ssl is not None else b"no"))
            f.write(b"X-Sink-Helo: " + (session.host_name or "").encode() + b"\r\n")
            f.write(b"X-Sink-Mail-From: " + (envelope.mail_from or "").encode() + b"\r\n")
            for r in envelope.rcpt_tos:
                f.write(b"X-Sink-Rcpt-To: " + r.encode() + b"\r\n")
            f.write(envelope.original_content or b"")
        os.rename(path + ".tmp", path)
        return "250 OK"


c = Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=ctx,
               require_starttls=True)
c.start()
open(os.path.join(outdir, "ready"), "w").close()
signal.signal(signal.SIGTERM, lambda *a: (c.stop(), sys.exit(0)))
while True:
    signal.pause()
