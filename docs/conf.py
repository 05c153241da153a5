"""
Sphinx configuration for secdns's documentation (``make docs``).

Built offline (no intersphinx, no theme fetched) and strict: ``make docs``
and ``tests/unit/test_docs.py`` run with ``-W -n``, so a broken reference,
an undefined label or a page in no toctree fails the build.
"""

import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from secdns import __version__  # noqa: E402

project = "secdns"
author = "the secdns authors"
copyright = "the secdns authors"
version = release = __version__

extensions: list[str] = []
root_doc = "index"
exclude_patterns = ["_build"]
templates_path: list[str] = []

nitpicky = True
highlight_language = "none"

html_theme = "alabaster"
html_title = f"secdns {__version__}"
html_static_path: list[str] = []
html_theme_options = {"description": "an authoritative DNS appliance for secondary DNS", "fixed_sidebar": True}
