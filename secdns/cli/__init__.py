"""
C{secdns}: the command-line client of the appliance's REST API, shaped like
the cloud CLI of the seeds (C{oci dns zone create ...}).

An HTTP client and nothing else: it imports nothing of the server (no
Twisted, no zone core), only the standard library.

  - L{secdns.cli.commands}: the command line, and each command's request;
  - L{secdns.cli.client}: HTTP (C{urllib.request}), errors, paging;
  - L{secdns.cli.output}: JSON and tables;
  - L{secdns.keyfile} (outside the package, shared with the config):
    TSIG secrets from BIND's and Knot's key files;
  - L{secdns.cli.settings}: endpoint and token from flags, environment, config file;
  - L{secdns.cli.main}: the console script and its exit statuses.
"""
