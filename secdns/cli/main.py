# -*- test-case-name: tests.unit.test_cli -*-
"""
C{secdns}: the console script.  Parses the command line, sends the
request, prints the answer, and exits with a status that says what went
wrong:

  - 0: done;
  - 1 (L{EXIT_API}): the API answered with an error (its message and code on stderr);
  - 2 (L{EXIT_USAGE}): the command line, a key file, or the CLI config is wrong;
  - 3 (L{EXIT_CONNECTION}): the API could not be reached (the endpoint is named);
  - 4 (L{EXIT_ABORTED}): a deletion was not confirmed.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Mapping, TextIO

from secdns.cli import output as formats
from secdns.cli.client import ApiError, Client, ConnectionFailed, Request, path_of
from secdns.cli.commands import Plan, UsageError, parser, plan
from secdns.cli.settings import SettingsError, resolve

__all__ = ["main", "run", "EXIT_OK", "EXIT_API", "EXIT_USAGE", "EXIT_CONNECTION", "EXIT_ABORTED"]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_CONNECTION = 3
EXIT_ABORTED = 4


def _confirmed(question: str, stdin: TextIO, stderr: TextIO) -> bool:
    stderr.write(question)
    stderr.flush()
    answer = stdin.readline()
    if not answer or not (hasattr(stdin, "isatty") and stdin.isatty()):
        stderr.write("\n")  # the answer was not echoed: end the prompt's line
    return answer.strip().lower() in ("y", "yes")


def _each_status(client: Client, plan_: Plan) -> list[dict]:
    """Every zone's (or alarm's) status: the list (all pages), then each one's."""
    items = client.send_all(plan_.request).body or []
    statuses = []
    key = "name" if plan_.each == "zones" else "id"
    for item in items:
        name = item.get(key) if isinstance(item, dict) else None
        if not name:
            continue
        try:
            statuses.append(client.send(Request("GET", path_of(plan_.each, name, "status"))).body)
        except ApiError as e:
            if e.status != 404:  # deleted meanwhile
                raise
    return statuses


def run(
    argv: list[str],
    stdin: TextIO,
    stdout: TextIO,
    stderr: TextIO,
    environ: Mapping[str, str],
    urlopen: Callable | None = None,
    now: float | None = None,
) -> int:
    """One command, with its streams, environment and HTTP opener given: its exit status."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as e:  # argparse has printed usage, or --help / --version
        return EXIT_OK if e.code in (0, None) else EXIT_USAGE
    try:
        settings = resolve(
            endpoint=getattr(args, "endpoint", None),
            token=getattr(args, "token", None),
            token_file=getattr(args, "token_file", None),
            ca_file=getattr(args, "ca_file", None),
            insecure=bool(getattr(args, "insecure", False)),
            output=getattr(args, "output", None),
            timeout=getattr(args, "timeout", None),
            config_file=getattr(args, "config_file", None),
            environ=environ,
        )
        todo = plan(args)
    except (SettingsError, UsageError) as e:
        stderr.write(f"secdns: error: {e}\n")
        return EXIT_USAGE
    if todo.confirm and not _confirmed(todo.confirm, stdin, stderr):
        stderr.write("Aborted.\n")
        return EXIT_ABORTED
    client = Client(settings, urlopen=urlopen)
    try:
        if todo.each_status:
            body, headers = _each_status(client, todo), {}
        else:
            response = client.send_all(todo.request) if todo.paginate else client.send(todo.request)
            body, headers = response.body, response.headers
    except ApiError as e:
        stderr.write(f"secdns: {e.code} (HTTP {e.status}): {e.message}\n")
        return EXIT_API
    except ConnectionFailed as e:
        stderr.write(f"secdns: {e}\n")
        return EXIT_CONNECTION
    chosen = getattr(args, "output", None) or settings.output or todo.output
    if body is None and todo.request.method != "GET" and chosen == "json" and not headers.get("etag"):
        return EXIT_OK  # deletions and actions with nothing to say print nothing, as the cloud CLI's
    stdout.write(formats.render(body, headers, chosen, todo.kind, now))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """The console script."""
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stdin, sys.stdout, sys.stderr, os.environ)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        return 130
    except BrokenPipeError:
        # The reader went away (| head): say nothing more.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
