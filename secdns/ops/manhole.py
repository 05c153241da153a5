# -*- test-case-name: tests.unit.test_manhole -*-
"""
The SSH manhole: a Python console inside the running appliance, reached
with any OpenSSH client, for live inspection and the common actions
(L{secdns.ops.manhole_namespace} says what an operator finds there).

Who may log in is decided by public keys only: the C{[manhole]
authorized_keys} file, in OpenSSH's format, read again at each login (so
a key added or removed there counts from the next login on, without a
SIGHUP).  There is no password, and no keyboard-interactive login: the
portal holds one checker, of public keys, so the server offers nothing
else.  Any user name is taken; the key decides.

The server's host key is an ed25519 key in OpenSSH's format, made with
mode 0600 at first start when its file is missing.  A host key file that
its group or others may read is refused, as OpenSSH refuses one: whoever
reads it can pose as this server.

The console runs on the reactor thread, like everything else here: an
expression that blocks blocks DNS too.  Whoever holds a key listed in
C{authorized_keys} can do anything the process can: the manhole is a
root-equivalent door, kept on loopback unless the config says otherwise.
"""

from __future__ import annotations

import os
import stat
from typing import Callable

from cryptography.hazmat.primitives.asymmetric import ed25519
from twisted.application import service
from twisted.conch import manhole, manhole_ssh
from twisted.conch.checkers import IAuthorizedKeysDB, SSHPublicKeyChecker
from twisted.conch.insults import insults
from twisted.conch.interfaces import IConchUser
from twisted.conch.ssh import connection, keys, session, transport, userauth
from twisted.conch.ssh.common import getNS
from twisted.cred import portal
from twisted.cred.error import UnauthorizedLogin
from twisted.logger import Logger, LogLevel, globalLogPublisher
from zope.interface import implementer

from secdns.config import ManholeConfig
from secdns.errors import SecdnsError

__all__ = ["ManholeService", "AuthorizedKeysFile", "HostKeyError", "parse_authorized_keys", "host_key", "BANNER"]

log = Logger()

#: What an operator reads on login, before the first prompt.
BANNER = """\
secdns manhole: Python, inside the running appliance.
  zones("text")      every zone (or those whose name holds "text"): type, state, serial, records,
                     last transfer, expiry, last error
  zone("name")       one zone's whole status
  refresh("name")    a secondary asks its masters now; the outcome is printed when it arrives
  retransfer("name") a secondary transfers itself whole (AXFR) now
  notify("name")     a zone NOTIFYs its downstreams now
  reload()           read the config file again, as SIGHUP does
  events(n=20)       the last n zone events, as the log words them
  metrics("text")    the current figures (those whose name holds "text")
  keys()             the TSIG keys: names and algorithms, never secrets
  core, reactor      the zone registry and the reactor; help(name) for any of them
This console runs on the reactor thread: whatever blocks here blocks DNS.
It can do anything the process can.  Ctrl-D leaves.
"""

#: Key types OpenSSH writes in authorized_keys, at the start of the key itself.
_KEY_TYPES = (b"ssh-", b"ecdsa-", b"sk-")


def parse_authorized_keys(data: bytes) -> tuple[list[keys.Key], list[str]]:
    """
    The public keys of an OpenSSH C{authorized_keys} file, and what is
    wrong with the lines that are not one (by line number: a line is never
    repeated, in case it holds something secret).

    Options before a key (C{from="..."}, C{command="..."}) are not
    honoured by this server: such a line is refused rather than taken
    without its restrictions.
    """
    found: list[keys.Key] = []
    problems: list[str] = []
    if b"PRIVATE KEY" in data:
        problems.append("holds a private key: list public keys only (the .pub files)")
    in_block = False  # inside a -----BEGIN ... END----- block (a private key pasted in): skipped whole
    for number, line in enumerate(data.splitlines(), 1):
        line = line.strip()
        if line.startswith(b"-----BEGIN"):
            in_block = True
        if in_block:
            in_block = not line.startswith(b"-----END")
            continue
        if not line or line.startswith(b"#"):
            continue
        if not line.startswith(_KEY_TYPES):
            if any(word.startswith(_KEY_TYPES) for word in line.split()[1:]):
                problems.append(f"line {number}: key options are not supported by the manhole; line ignored")
            else:
                problems.append(f"line {number}: not an OpenSSH public key; line ignored")
            continue
        try:
            key = keys.Key.fromString(b" ".join(line.split()[:2]))
        except Exception:  # whatever the parser makes of it, the line is no key
            problems.append(f"line {number}: not an OpenSSH public key; line ignored")
            continue
        if not key.isPublic():
            problems.append(f"line {number}: not a public key; line ignored")
            continue
        found.append(key)
    return found, problems


@implementer(IAuthorizedKeysDB)
class AuthorizedKeysFile:
    """
    The keys that may log in: the file read again at each login, so edits
    count at the next login.  A file that cannot be read lets nobody in.

    @ivar path: gives the file's path now (the config in force may change it).
    """

    def __init__(self, path: Callable[[], str]) -> None:
        self.path = path

    def getAuthorizedKeys(self, avatarId: bytes) -> list[keys.Key]:
        path = self.path()
        try:
            with open(path, "rb") as f:
                mode = stat.S_IMODE(os.fstat(f.fileno()).st_mode)
                data = f.read()
        except OSError as e:
            log.error("manhole: cannot read authorized_keys {path}: {reason}; nobody may log in", path=path, reason=e.strerror)
            return []
        if mode & 0o022:  # as OpenSSH's StrictModes: whoever may write it may add a key of their own
            log.error(
                "manhole: authorized_keys {path} may be written by others (mode {mode}); nobody may log in "
                "until it is not (chmod go-w {path})",
                path=path, mode=f"{mode:04o}",
            )
            return []
        found, problems = parse_authorized_keys(data)
        for problem in problems:
            log.warn("manhole: authorized_keys {path}: {problem}", path=path, problem=problem)
        return found


class HostKeyError(SecdnsError):
    """The host key file cannot be used; says why, in one line (never the key)."""


def host_key(path: str) -> keys.Key:
    """
    The manhole's host key: read from C{path}, or made there (ed25519,
    OpenSSH format, mode 0600) when the file is missing.

    @raise HostKeyError: the file cannot be read or made, is not a private
        key, or its group or others may read it.
    """
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return _make_host_key(path)
    except OSError as e:
        raise HostKeyError(f"cannot read {path}: {e.strerror}") from None
    if stat.S_IMODE(status.st_mode) & 0o077:
        raise HostKeyError(
            f"{path} may be read by others (mode {stat.S_IMODE(status.st_mode):04o}): "
            f"whoever reads it can pose as this server; run chmod 600 {path}"
        )
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise HostKeyError(f"cannot read {path}: {e.strerror}") from None
    try:
        key = keys.Key.fromString(data)
    except (keys.BadKeyError, keys.EncryptedKeyError, ValueError):
        raise HostKeyError(f"{path} is not an unencrypted private key in OpenSSH or PEM format") from None
    if key.isPublic():
        raise HostKeyError(f"{path} is a public key; the server needs its private key")
    return key


def _make_host_key(path: str) -> keys.Key:
    """A new ed25519 key, written whole or not at all (a temporary file, 0600 from its creation, renamed)."""
    key = keys.Key(ed25519.Ed25519PrivateKey.generate())
    partial = f"{path}.new"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        if os.path.exists(partial):  # left by a start that died while writing it
            os.unlink(partial)
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.toString("OPENSSH"))
            f.flush()
            os.fsync(f.fileno())
        os.rename(partial, path)
    except OSError as e:
        raise HostKeyError(f"cannot create {path}: {e.strerror}") from None
    log.info("manhole: made host key {path} ({fingerprint})", path=path, fingerprint=fingerprint(key))
    return key


def fingerprint(key: keys.Key) -> str:
    """As C{ssh-keygen -l} shows it: C{SHA256:...}."""
    return "SHA256:" + key.fingerprint(keys.FingerprintFormats.SHA256_BASE64).rstrip("=")


# -- the log: one line per login, refusal and logout; conch's own chatter
# (channel open, pty request, "connection lost", a client's ordinary
# goodbye logged as an error) kept out unless it is a warning or worse.


def _conch_lines(event: dict) -> None:
    """Where conch's own log lines go: on to the log only from warnings up, a client's goodbye left out."""
    if event.get("log_level", LogLevel.info) < LogLevel.warn:
        return
    if str(event.get("log_format", "")).startswith("Got remote error") and event.get("code") == transport.DISCONNECT_BY_APPLICATION:
        return
    globalLogPublisher(event)


# The two lines conch logs through its session module's own logger; the
# process has no SSH session but the manhole's.
session.log = Logger(namespace="twisted.conch.ssh.session", observer=_conch_lines)


def _peer(ssh_transport) -> str:
    peer = ssh_transport.transport.getPeer()
    return f"{getattr(peer, 'host', peer)}:{getattr(peer, 'port', '')}".rstrip(":")


class _UserAuth(userauth.SSHUserAuthServer):
    """Conch's public key login, logged: who, from where, with which key."""

    _log = Logger(observer=_conch_lines)
    _offered: keys.Key | None = None

    def auth_publickey(self, packet: bytes):
        try:
            algorithm, blob, _ = getNS(packet[1:], 2)
            self._offered = keys.Key.fromString(blob)
        except Exception:  # conch says what is wrong with it
            self._offered = None
        return super().auth_publickey(packet)

    def _cbFinishedAuth(self, result) -> None:
        super()._cbFinishedAuth(result)
        log.info(
            "manhole: {user} logged in from {peer} with key {key}",
            user=self.user.decode("utf-8", "replace"), peer=_peer(self.transport),
            key="?" if self._offered is None else fingerprint(self._offered),
        )

    def _ebBadAuth(self, reason):
        if self.method == b"publickey" and reason.check(UnauthorizedLogin):
            log.warn(
                "manhole: login refused for {user} from {peer}: key {key} is not in authorized_keys",
                user=self.user.decode("utf-8", "replace"), peer=_peer(self.transport),
                key="?" if self._offered is None else fingerprint(self._offered),
            )
        return super()._ebBadAuth(reason)


class _Connection(connection.SSHConnection):
    _log = Logger(observer=_conch_lines)


class _Session(session.SSHSession):
    _log = Logger(observer=_conch_lines)


class _Transport(transport.SSHServerTransport):
    _log = Logger(observer=_conch_lines)

    def connectionLost(self, reason) -> None:
        if getattr(self, "avatar", None) is not None:
            log.info("manhole: session from {peer} ended", peer=_peer(self))
        super().connectionLost(reason)


class _Sink:
    """Where what the client still sends goes once its session is refused."""

    def write(self, data: bytes) -> None:
        pass

    def writeSequence(self, data) -> None:
        pass

    def loseConnection(self) -> None:
        pass


def _refuse(proto, why: bytes) -> None:
    """Say C{why} on the client's stderr and close the session."""
    proto.makeConnection(_Sink())
    proto.errReceived(why)
    proto.loseConnection()


class _TerminalSession(manhole_ssh.TerminalSession):
    """
    Conch's terminal session, finished where it raises NotImplementedError:
    a resized window, an EOF from the client; and a login without a
    terminal or with a command is told why it gets nothing.
    """

    terminal = None  # the console's insults.ServerProtocol, once the shell runs
    ssh_protocol = None

    def openShell(self, proto) -> None:
        if not hasattr(self, "width"):  # no pty-req: conch's console draws on a terminal
            _refuse(proto, b"secdns manhole: it needs a terminal: run ssh with -t\r\n")
            return
        self.ssh_protocol = proto
        self.terminal = self.chainedProtocolFactory()
        self.transportFactory(proto, self.terminal, IConchUser(self.original), self.width, self.height)

    def execCommand(self, proto, cmd) -> None:
        _refuse(proto, b"secdns manhole: it runs no commands: log in without one, and type Python at the prompt\r\n")

    def windowChanged(self, newWindowSize) -> None:
        rows, columns = newWindowSize[:2]
        self.height, self.width = rows, columns
        console = getattr(self.terminal, "terminalProtocol", None)
        if console is not None:  # the new size, without clearing the screen as conch's terminalSize does
            console.width, console.height = columns, rows

    def eofReceived(self) -> None:
        if self.ssh_protocol is not None:
            self.ssh_protocol.loseConnection()


class _User(manhole_ssh.TerminalUser):
    def __init__(self, original, avatarId) -> None:
        super().__init__(original, avatarId)
        self.channelLookup[b"session"] = _Session


class SecdnsManhole(manhole.ColoredManhole):
    """Conch's console, with the banner above the first prompt."""

    banner_shown = False

    def initializeScreen(self) -> None:
        # No prompt yet: the terminal's size comes next, and with it the banner and the prompt.
        self.terminal.reset()
        self.setInsertMode()

    def terminalSize(self, width: int, height: int) -> None:
        # Conch clears the screen when told the terminal's size, which is
        # right after login: the banner goes after that.
        self.terminal.eraseDisplay()
        self.terminal.cursorHome()
        self.width, self.height = width, height
        if not self.banner_shown:
            self.banner_shown = True
            self.terminal.write(BANNER.encode("utf-8"))
        self.drawInputLine()


class _Sessions:
    """Makes each login's console, with a namespace made then (so it sees the service as it is)."""

    def __init__(self, namespace: Callable[[], dict]) -> None:
        self.namespace = namespace

    def __call__(self) -> insults.ServerProtocol:
        return insults.ServerProtocol(SecdnsManhole, self.namespace())


class _Factory(manhole_ssh.ConchFactory):
    """
    The SSH factory: bound before twistd drops privileges, given its host
    key after (L{ManholeService.startService}), before any login can come.
    """

    _log = Logger(observer=_conch_lines)
    protocol = _Transport
    services = {b"ssh-userauth": _UserAuth, b"ssh-connection": _Connection}

    def startFactory(self) -> None:
        if not hasattr(self, "primes"):
            self.primes = None


class ManholeService(service.Service):
    """
    The manhole's listener.

    @ivar config: the C{[manhole]} table it was started with (a new
        C{listen} or C{host_key} needs a restart).
    @ivar source: the config file, for errors.
    """

    def __init__(
        self,
        config: ManholeConfig,
        namespace: Callable[[], dict],
        reactor,
        authorized_keys: Callable[[], str] | None = None,
        source: str = "<config>",
    ) -> None:
        self.config = config
        self.source = source
        self.reactor = reactor
        realm = manhole_ssh.TerminalRealm()
        realm.userFactory = _User
        realm.sessionFactory = _TerminalSession
        realm.chainedProtocolFactory = _Sessions(namespace)
        checker = SSHPublicKeyChecker(AuthorizedKeysFile(authorized_keys or (lambda: config.authorized_keys)))
        self.factory = _Factory(portal.Portal(realm, [checker]))
        self.factory.publicKeys = {}
        self.factory.privateKeys = {}
        self.port = None

    def privilegedStartService(self) -> None:
        """Bind the port (before twistd's C{--uid}); a bind error is the parent's one-line error."""
        service.Service.privilegedStartService(self)
        if self.port is None:
            listen = self.config.listen
            self.port = self.reactor.listenTCP(listen.port, self.factory, interface=listen.host)

    def startService(self) -> None:
        """Read or make the host key, as the user secdns runs as; a problem with it ends the process."""
        try:
            key = host_key(self.config.host_key)
        except HostKeyError as e:
            raise SystemExit(f"secdns: {self.source}: manhole.host_key: {e}") from None
        self.factory.publicKeys = {key.sshType(): key.public()}
        self.factory.privateKeys = {key.sshType(): key}
        service.Service.startService(self)
        log.info(
            "manhole: SSH on {listen}, host key {fingerprint}, keys from {keys}",
            listen=str(self.config.listen), fingerprint=fingerprint(key), keys=self.config.authorized_keys,
        )

    def stopService(self):
        service.Service.stopService(self)
        if self.port is not None:
            port, self.port = self.port, None
            return port.stopListening()
        return None
