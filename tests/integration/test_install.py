"""
secdns installed as an operator installs it, then `twistd secdns` found:
a plain editable install (pip install -e .) and a wheel (pip install .,
and pipx, which installs the wheel into a venv of its own).

Offline and quick: a fresh venv without pip whose .pth lends it this
environment's packages (pip, setuptools, Twisted...), secdns built with
--no-build-isolation --no-index --no-deps from a copy of the source tree.
twistd finds plugins in the twisted/plugins directories on sys.path; a
setuptools editable install that only hooks imports would not put one
there ("twistd secdns: Unknown command: secdns").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import secdns

ROOT = Path(__file__).resolve().parents[2]
TWISTD = "import sys; from twisted.scripts.twistd import run; sys.argv[0] = 'twistd'; run()"


def source_copy(tmp: Path) -> Path:
    """The tree as a fresh clone has it (no venv, no build output), away from the shared working tree."""
    copy = tmp / "src"
    shutil.copytree(
        ROOT, copy,
        ignore=shutil.ignore_patterns(".venv", ".git", "var", "build", "dist", "*.egg-info", "__pycache__", "tests", "bench", "docs"),
    )
    (copy / "twisted" / "plugins" / "dropin.cache").unlink(missing_ok=True)
    return copy


def bare_venv(path: Path) -> Path:
    """A venv with nothing of secdns in it, borrowing this environment's packages; its python."""
    venv.EnvBuilder(with_pip=False).create(path)
    python = path / "bin" / "python"
    purelib = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # A .pth line adds the directory, without running the .pth files in it (this env's own secdns stays out).
    Path(purelib, "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def environ() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PIP_NO_INDEX"] = "1"
    return env


def run(argv: list, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=180, cwd=cwd, env=environ())


@pytest.fixture
def builds():
    """Building needs setuptools' bdist_wheel: the wheel package (a test extra), or setuptools 70.1 and later."""
    try:
        import setuptools.command.bdist_wheel  # noqa: F401
    except ImportError:
        try:
            import wheel  # noqa: F401
        except ImportError:
            pytest.fail("cannot build secdns: install the test extras (pip install -e '.[test]': wheel)")


def twistd_finds_secdns(python: Path, cwd: Path) -> None:
    listed = run([python, "-c", TWISTD, "--help"], cwd)
    assert "secdns " in listed.stdout, listed.stdout + listed.stderr
    version = run([python, "-c", TWISTD, "secdns", "--version"], cwd)
    assert (version.returncode, version.stdout) == (0, f"secdns {secdns.__version__}\n"), version.stderr


def test_plain_editable_install_finds_the_plugin(tmp_path, builds):
    source = source_copy(tmp_path)
    python = bare_venv(tmp_path / "venv")
    done = run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "-e", source], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "deprecat" not in done.stderr.lower(), done.stderr
    twistd_finds_secdns(python, tmp_path)
    # The code served is the tree's: an edit shows without reinstalling.
    imported = run([python, "-c", "import secdns; print(secdns.__file__)"], tmp_path)
    assert imported.stdout.strip() == str(source / "secdns" / "__init__.py")


def test_wheel_install_finds_the_plugin(tmp_path, builds):
    source = source_copy(tmp_path)
    python = bare_venv(tmp_path / "venv")
    wheels = tmp_path / "wheels"
    built = run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", wheels, source], tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("secdns-*.whl")
    assert wheel.name.startswith(f"secdns-{secdns.__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    assert "twisted/plugins/secdns_plugin.py" in names and "secdns/store/schema/v1.sql" in names
    assert not [n for n in names if n.startswith(("tests/", "bench/"))]
    done = run([python, "-m", "pip", "install", "--quiet", "--no-deps", wheel], tmp_path)
    assert done.returncode == 0, done.stderr
    twistd_finds_secdns(python, tmp_path)
    imported = run([python, "-c", "import secdns; print(secdns.__file__)"], tmp_path)
    assert str(tmp_path / "venv") in imported.stdout
