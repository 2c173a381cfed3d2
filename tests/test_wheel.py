"""The package as users get it: the wheel, installed into a fresh venv, runs the main commands offline.

The wheel is built from a copy of the package's sources (``python -m build``), installed into a new
virtual environment that holds nothing from the repository, and ``styleforge stylize``, ``instant``,
``photo`` and ``makeup transfer`` run there at 64 px from a folder outside the repository. The
dependencies are the main venv's, seen through a folder of links that leaves out styleforge itself
(installing torch & co. again would take minutes); pip resolves the wheel's requirements against them
with ``--no-index``, so a requirement the wheel declares but nobody installed fails the install. The
converted weights and face models come from the main cache (``STYLEFORGE_CACHE``), as after ``make``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest
from PIL import Image

from styleforge.assets import BUILTIN_CONTENT
from styleforge.cache import cache_dir

ROOT = Path(__file__).resolve().parents[1]
MAIN_CACHE = cache_dir()  # read at import: the autouse fixture later points tests at a temporary cache
FACES = ROOT / "tests" / "fixtures" / "faces"


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def _build_wheel(tmp: Path) -> Path:
    """``python -m build --wheel`` on a copy of the sources (the build leaves nothing in the checkout)."""
    src = tmp / "src-copy"
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, src / name)
    # The build backend comes from this venv (setuptools >= 77, wheel): no index needed.
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp / "dist"), str(src)], cwd=tmp)
    wheels = list((tmp / "dist").glob("styleforge-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _dependencies_view(tmp: Path) -> Path:
    """This venv's site-packages as links, without styleforge (its editable install included)."""
    site = Path(sysconfig.get_paths()["purelib"])
    view = tmp / "deps"
    view.mkdir()
    for entry in site.iterdir():
        low = entry.name.lower()
        if low.startswith(("styleforge", "__editable__")) or low.endswith(".pth"):
            continue
        (view / entry.name).symlink_to(entry)
    return view


@pytest.mark.usefixtures("face_models")  # the face models in the main cache (fetched there once if absent)
def test_wheel_in_a_fresh_venv_runs_the_main_commands(tmp_path):
    start = time.monotonic()
    wheel = _build_wheel(tmp_path)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    py = venv / "bin" / "python"
    site = Path(
        _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).strip()
    )
    (site / "styleforge_test_deps.pth").write_text(str(_dependencies_view(tmp_path)) + "\n")
    offline = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    offline.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", HF_HUB_OFFLINE="1", NO_PROXY="*")
    _run(
        [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-index", f"{wheel}[faces,onnx]"],
        cwd=tmp_path,
        env=offline,
    )

    work = tmp_path / "work"  # outside the repository: nothing of it is importable from here
    work.mkdir()
    photo = Image.open(BUILTIN_CONTENT["tubingen"]).convert("RGB")
    photo.thumbnail((64, 64))
    photo.save(work / "photo.jpg")
    look = Image.open(FACES / "astronaut.jpg").convert("RGB")
    look.thumbnail((64, 64))
    look.save(work / "look.jpg")
    shutil.copy2(FACES / "two_faces.jpg", work / "face.jpg")
    shutil.copy2(FACES / "astronaut.jpg", work / "reference.jpg")

    env = {
        **offline,
        "STYLEFORGE_CACHE": str(MAIN_CACHE),
        "PATH": f"{venv / 'bin'}{os.pathsep}{offline['PATH']}",
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    where = _run([str(py), "-c", "import styleforge; print(styleforge.__file__)"], cwd=work, env=env).strip()
    assert Path(where).is_relative_to(venv) and not Path(where).is_relative_to(ROOT / "src"), where

    sf = str(venv / "bin" / "styleforge")
    _run(
        [sf, "stylize", "photo.jpg", "--style", "starry_night", "--image-size", "64", "-o", "stylized.png", "-q"],
        cwd=work,
        env=env,
    )
    _run(
        [sf, "instant", "photo.jpg", "--style", "starry_night", "--size", "64", "-o", "instant.png"], cwd=work, env=env
    )
    _run([sf, "photo", "photo.jpg", "look.jpg", "-o", "photo_look.jpg"], cwd=work, env=env)
    _run(
        [sf, "makeup", "transfer", "face.jpg", "--reference", "reference.jpg", "--size", "64", "-o", "makeup.jpg"],
        cwd=work,
        env=env,
    )

    for name, size in [("stylized.png", 64), ("instant.png", 64), ("photo_look.jpg", 64), ("makeup.jpg", 480)]:
        with Image.open(work / name) as out:
            assert max(out.size) == size and out.size[0] > out.size[1], (name, out.size)
    with Image.open(work / "makeup.jpg") as a, Image.open(work / "face.jpg") as b:
        assert a.tobytes() != b.convert("RGB").tobytes()  # the faces were changed
    print(f"wheel test: {time.monotonic() - start:.1f} s")
