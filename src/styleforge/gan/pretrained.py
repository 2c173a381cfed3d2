"""The published pretrained generators of pix2pix, CycleGAN and CUT / FastCUT, by name.

The names and URLs are those of the reference repositories' download scripts
(``scripts/download_cyclegan_model.sh`` and ``scripts/download_pix2pix_model.sh`` of
junyanz/pytorch-CycleGAN-and-pix2pix; the README of taesungp/contrastive-unpaired-translation,
whose six models come in one archive).  A file is downloaded once into
``<cache>/pretrained/`` (atomically, with a progress bar); its SHA-256 is recorded in
``<cache>/pretrained/sha256.json`` on the first download and checked on every later use
(the authors publish no hashes, so the first download is trusted).  Loading goes through
:func:`styleforge.gan.loading.load_translator` (the layout is mapped by
:mod:`styleforge.gan.reference`).
"""

from __future__ import annotations

__all__ = ["PRETRAINED", "Pretrained", "pretrained_path", "resolve"]

import json
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..cache import cache_dir
from ..download import download, sha256
from ..errors import InputError, suggest

_CYCLEGAN = "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{}.pth"
_PIX2PIX = "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{}.pth"
_CUT = "http://efrosgans.eecs.berkeley.edu/CUT/pretrained_models.tar"
_SRC_CG = "junyanz/pytorch-CycleGAN-and-pix2pix scripts/download_cyclegan_model.sh"
_SRC_P2P = "junyanz/pytorch-CycleGAN-and-pix2pix scripts/download_pix2pix_model.sh"
_SRC_CUT = "taesungp/contrastive-unpaired-translation README (pretrained_models.tar)"


@dataclass(frozen=True)
class Pretrained:
    """One published generator: where it comes from and what it is."""

    name: str
    model: str  # CycleGAN, pix2pix, CUT, FastCUT
    url: str
    source: str
    #: For archives: the member path's ending (``horse2zebra_cut_pretrained/latest_net_G.pth``).
    member: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.name}.pth"


def _registry() -> dict[str, Pretrained]:
    reg: dict[str, Pretrained] = {}
    for n in (
        "apple2orange",
        "orange2apple",
        "summer2winter_yosemite",
        "winter2summer_yosemite",
        "horse2zebra",
        "zebra2horse",
        "monet2photo",
        "style_monet",
        "style_cezanne",
        "style_ukiyoe",
        "style_vangogh",
        "sat2map",
        "map2sat",
        "cityscapes_photo2label",
        "cityscapes_label2photo",
        "facades_photo2label",
        "facades_label2photo",
        "iphone2dslr_flower",
    ):
        reg[n] = Pretrained(n, "CycleGAN", _CYCLEGAN.format(n), _SRC_CG)
    for n in ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night"):
        reg[f"{n}_pix2pix"] = Pretrained(f"{n}_pix2pix", "pix2pix", _PIX2PIX.format(n), _SRC_P2P)
    for data in ("horse2zebra", "cat2dog", "cityscapes"):
        for mode, model in (("cut", "CUT"), ("fastcut", "FastCUT")):
            n = f"{data}_{mode}"
            reg[n] = Pretrained(n, model, _CUT, _SRC_CUT, member=f"{data}_{mode}_pretrained/latest_net_G.pth")
    return reg


#: Every known pretrained name → its entry (CycleGAN names as the reference's; pix2pix ones end
#: in ``_pix2pix``, CUT ones in ``_cut`` / ``_fastcut``).
PRETRAINED: dict[str, Pretrained] = _registry()


def resolve(name: str, registry: Mapping[str, Pretrained] = PRETRAINED) -> Pretrained:
    """The entry called ``name``; an unknown name → one line with a did-you-mean."""
    if name in registry:
        return registry[name]
    raise InputError(
        f"unknown pretrained model {name!r}{suggest(name, registry)}; known: {', '.join(sorted(registry))}"
    )


class _Hashes:
    """``sha256.json`` in the cache folder: file name → SHA-256 of its first download."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "sha256.json"

    def read(self) -> dict[str, str]:
        try:
            v = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return v if isinstance(v, dict) else {}

    def check_or_record(self, file: Path) -> str:
        """Record ``file``'s hash if none is known; else refuse a file whose hash differs."""
        digest = sha256(file)
        known = self.read()
        want = known.get(file.name)
        if want is None:
            known[file.name] = digest
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
            os.replace(tmp, self.path)
        elif want != digest:
            raise InputError(
                f"{file} has SHA-256 {digest[:16]}…, not the {want[:16]}… recorded at its first download; "
                f"delete it (and its line in {self.path}) to download it again"
            )
        return digest


def _extract(archive: Path, member: str, dest: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            found = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(member)]
            if not found:
                raise InputError(f"{archive} holds no {member}")
            src = tar.extractfile(found[0])
            assert src is not None
            tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
            try:
                with open(tmp, "wb") as f:
                    while chunk := src.read(1 << 20):
                        f.write(chunk)
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
    except (tarfile.TarError, OSError, EOFError) as e:
        raise InputError(f"{archive} is not a readable archive ({e}); delete it to download it again") from None


def pretrained_path(
    name: str,
    *,
    registry: Mapping[str, Pretrained] = PRETRAINED,
    folder: Path | None = None,
    timeout: float = 30.0,
    progress: bool | None = None,
) -> Path:
    """The local file of pretrained model ``name``: downloaded on first use, its hash checked on every use."""
    entry = resolve(name, registry)
    folder = folder if folder is not None else cache_dir() / "pretrained"
    hashes = _Hashes(folder)
    dest = folder / entry.file_name
    fresh = not dest.is_file()
    if fresh:
        if entry.member:
            archive = folder / Path(entry.url).name
            new_archive = not archive.is_file()
            if new_archive:
                download(
                    entry.url, archive, timeout=timeout, progress=progress, hint=f"put the file at {archive} by hand"
                )
            _checked(hashes, archive, new_archive)
            _extract(archive, entry.member, dest)
        else:
            download(entry.url, dest, timeout=timeout, progress=progress, hint=f"put the file at {dest} by hand")
    _checked(hashes, dest, fresh)
    return dest


def _checked(hashes: _Hashes, file: Path, fresh: bool) -> None:
    """Check (or record) ``file``'s hash; a fresh download that fails the check is deleted."""
    try:
        hashes.check_or_record(file)
    except InputError:
        if fresh:
            file.unlink(missing_ok=True)
        raise
