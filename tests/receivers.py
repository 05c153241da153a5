"""
Real receivers of notifications on loopback, for integration tests.

- L{SmtpReceiver}: Twisted's own ESMTP server in a subprocess
  (C{python -m tests.receivers smtp ...}), optionally offering STARTTLS with
  a given certificate and requiring a login; each message it takes is
  written to a directory as JSON (envelope, whether TLS and login were
  used, the raw message), read back with L{SmtpReceiver.messages}.
- L{HttpReceiver}: C{http.server} in a thread on 127.0.0.1 (HTTP, or HTTPS
  with a given certificate) that records each POST (path, headers, body)
  and answers the status codes it is told to.
- L{self_signed}: a certificate and key for 127.0.0.1 and localhost, made
  with C{cryptography}.

Nothing listens anywhere but 127.0.0.1; the subprocess is stopped by PID.
"""

from __future__ import annotations

import argparse
import datetime
import email
import email.policy
import ipaddress
import json
import os
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support import LOOPBACK, Daemon, free_port, secdns_env, wait_until

__all__ = ["SmtpReceiver", "HttpReceiver", "self_signed"]


def self_signed(directory: Path, name: str = "receiver") -> tuple[Path, Path]:
    """A self-signed certificate (and its key) for 127.0.0.1 and localhost, as PEM files in C{directory}."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


# -- SMTP ---------------------------------------------------------------------


class SmtpReceiver(Daemon):
    """
    Twisted's ESMTP server on 127.0.0.1:C{port}, in a subprocess.

    @param tls: (certificate, key) PEM paths: STARTTLS is offered.
    @param login: (user, password): a login is required to send.
    """

    def __init__(self, directory: Path, tls: tuple[Path, Path] | None = None, login: tuple[str, str] | None = None,
                 port: int | None = None):
        self.port = port or free_port()
        self.maildir = directory / f"smtp-{self.port}"
        self.maildir.mkdir(parents=True, exist_ok=True)
        argv = [sys.executable, "-m", "tests.receivers", "smtp", "--port", str(self.port), "--maildir", str(self.maildir)]
        if tls:
            argv += ["--cert", str(tls[0]), "--key", str(tls[1])]
        if login:
            argv += ["--login", f"{login[0]}:{login[1]}"]
        root = Path(__file__).resolve().parent.parent
        super().__init__(argv, directory / f"smtp-{self.port}.log", cwd=root, env=secdns_env())
        wait_until(lambda: "listening" in self.log() or not self.running(), timeout=15, what="the SMTP receiver")
        if not self.running():
            raise AssertionError(f"the SMTP receiver exited:\n{self.log()[-3000:]}")

    def messages(self) -> list[dict]:
        """What was received, oldest first: C{from}, C{to}, C{tls}, C{user}, C{raw}, and C{message} (parsed)."""
        received = []
        for path in sorted(self.maildir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
            record = json.loads(path.read_text())
            record["message"] = email.message_from_string(record["raw"], policy=email.policy.default)
            received.append(record)
        return received


def _smtp_main(args) -> None:
    from twisted.cred import checkers, portal
    from twisted.internet import defer, reactor, ssl as tssl
    from twisted.mail import imap4, smtp
    from zope.interface import implementer

    maildir = Path(args.maildir)

    @implementer(smtp.IMessage)
    class Message:
        def __init__(self, protocol, recipient, origin):
            self.protocol, self.recipient, self.origin, self.lines = protocol, recipient, origin, []

        def lineReceived(self, line):
            self.lines.append(line)

        def eomReceived(self):
            record = {
                "from": str(self.origin),
                "to": str(self.recipient.dest),
                "tls": bool(self.protocol.startedTLS),
                "user": self.protocol.user,
                "raw": b"\n".join(self.lines).decode("utf-8", "replace") + "\n",
            }
            name = f"{time.time_ns()}-{uuid.uuid4().hex}"
            (maildir / f"{name}.tmp").write_text(json.dumps(record))
            os.replace(maildir / f"{name}.tmp", maildir / f"{name}.json")
            return defer.succeed(b"taken")

        def connectionLost(self):
            pass

    @implementer(smtp.IMessageDelivery)
    class Delivery:
        def __init__(self, protocol=None):
            self.protocol = protocol
            self.origin = None

        def receivedHeader(self, helo, origin, recipients):
            return b"Received: by the test receiver"

        def validateFrom(self, helo, origin):
            self.origin = origin
            return origin

        def validateTo(self, user):
            if str(user.dest).startswith("refused@"):
                raise smtp.SMTPBadRcpt(user)
            return lambda: Message(self.protocol, user, self.origin)

    @implementer(portal.IRealm)
    class Realm:
        def requestAvatar(self, avatar_id, mind, *interfaces):
            return smtp.IMessageDelivery, Delivery(), lambda: None

    class Server(smtp.ESMTP):
        user = None

        def connectionMade(self):
            super().connectionMade()
            if self.portal is None:
                self.delivery = Delivery(self)

        def _cbAuthenticated(self, login_info):
            result = super()._cbAuthenticated(login_info)
            self.delivery.protocol = self
            self.user = self._login.username.decode()
            return result

        def state_AUTH(self, response):
            self._login = self.challenger  # the base class may forget it before the login is checked
            super().state_AUTH(response)

    class Factory(smtp.SMTPFactory):
        protocol = Server

        def buildProtocol(self, addr):
            p = super().buildProtocol(addr)
            p.portal = self.portal
            if args.login:
                p.challengers = {b"LOGIN": smtp.LOGINCredentials, b"PLAIN": imap4.PLAINCredentials}
            if args.cert:
                p.ctx = context
            return p

    context = None
    if args.cert:
        certificate = tssl.PrivateCertificate.loadPEM(Path(args.cert).read_text() + Path(args.key).read_text())
        context = certificate.options()
    factory = Factory()
    factory.portal = None
    if args.login:
        user, password = args.login.split(":", 1)
        checker = checkers.InMemoryUsernamePasswordDatabaseDontUse(**{user: password.encode()})
        factory.portal = portal.Portal(Realm(), [checker])
    reactor.listenTCP(args.port, factory, interface=LOOPBACK)
    print(f"listening on {LOOPBACK}:{args.port}", flush=True)
    reactor.run()


# -- HTTP ---------------------------------------------------------------------


class HttpReceiver:
    """
    An HTTP(S) server on 127.0.0.1 in a thread that records each POST.

    @ivar requests: C{(path, headers, body)} of each POST, in order.
    @ivar statuses: the codes to answer, one per request, then 200.
    """

    def __init__(self, port: int | None = None, tls: tuple[Path, Path] | None = None):
        self.port = port or free_port()
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://{LOOPBACK}:{self.port}"

    def start(self) -> "HttpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                answer = b"ok" if status < 400 else b"not now"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer((LOOPBACK, self.port), Handler)
        if self._tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def bodies(self, path: str | None = None) -> list[dict]:
        with self._lock:
            return [json.loads(body) for p, _, body in self.requests if path is None or p == path]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.receivers")
    sub = parser.add_subparsers(dest="what", required=True)
    smtp_parser = sub.add_parser("smtp", help="an ESMTP server that writes what it takes to --maildir")
    smtp_parser.add_argument("--port", type=int, required=True)
    smtp_parser.add_argument("--maildir", required=True)
    smtp_parser.add_argument("--cert")
    smtp_parser.add_argument("--key")
    smtp_parser.add_argument("--login", help="user:password, required to send")
    args = parser.parse_args(argv)
    _smtp_main(args)


if __name__ == "__main__":
    main()
