"""How the sealed set was made (run once, 2026-12-06; kept as the record).

Reads each image from a bare snapshot of its public repository (``git show COMMIT:PATH``),
checks the source blob's SHA-256, converts it to RGB, shrinks the long side to at most
768 px (LANCZOS) and saves a JPEG (quality 90) under ``benchmarks/sealed/{photos,paintings}/``.
``manifest.json`` (names, sources, SHA-256 of the source and of the committed file) is
written beside them.  ``tests/benchmarks/test_sealed.py`` checks the hashes and that no
sealed image is in any training command's folders.

    python benchmarks/sealed/prepare.py MIRROR_ROOT   # /work/.mirror in the session that made it
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
MAX_SIDE = 768

PHOTOS_REPO = (
    "IBM/MAX-Fast-Neural-Style-Transfer",
    "be6db0596d96c43bf971226e66479ef3fb55ec54",
    "CC0 1.0 (Pexels; samples/README.md)",
)
PAINTINGS_REPO = (
    "hi-space/image-style-transfer",
    "9de6e1ffc1358098abc7e3c1c6cd55ea3827b362",
    "public domain (the painter died before 1910; no repository licence)",
)
ITEMS = [
    ("photos", "pexels_634010_beach_city", PHOTOS_REPO, "samples/beach-city.jpg"),
    ("photos", "pexels_7653_bridge", PHOTOS_REPO, "samples/bridge.jpg"),
    ("photos", "pexels_899634_columns", PHOTOS_REPO, "samples/columns.jpg"),
    ("photos", "pexels_40797_flowers", PHOTOS_REPO, "samples/flowers.jpg"),
    ("paintings", "monet_charing_cross_bridge", PAINTINGS_REPO, "image/monet-charing_cross_bridge.jpg"),
    ("paintings", "degas_dance_foyer", PAINTINGS_REPO, "image/degas-the_dance_foyer_at_the_opera.jpg"),
    ("paintings", "gauguin_te_fare", PAINTINGS_REPO, "image/gauguin-te_fare.jpg"),
    ("paintings", "vangogh_bedroom_in_arles", PAINTINGS_REPO, "image/vangogh-bedroom_in_arles.jpg"),
]


def main(mirror_root: str) -> int:
    manifest = []
    for kind, name, (repo, commit, licence), path in ITEMS:
        git_dir = Path(mirror_root) / repo.replace("/", "+") / "repo"
        blob = subprocess.run(
            ["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, check=True
        ).stdout
        img = Image.open(io.BytesIO(blob)).convert("RGB")
        k = min(1.0, MAX_SIDE / max(img.size))
        if k < 1.0:
            img = img.resize((round(img.width * k), round(img.height * k)), Image.Resampling.LANCZOS)
        out = HERE / kind / f"{name}.jpg"
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(out, quality=90)
        manifest.append(
            {
                "kind": kind[:-1],
                "file": f"{kind}/{name}.jpg",
                "repo": repo,
                "commit": commit,
                "path": path,
                "licence": licence,
                "source_sha256": hashlib.sha256(blob).hexdigest(),
                "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
                "size": list(img.size),
            }
        )
    (HERE / "manifest.json").write_text(json.dumps({"max_side": MAX_SIDE, "images": manifest}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
