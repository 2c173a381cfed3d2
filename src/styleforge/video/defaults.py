"""Video defaults the command line reads without importing PyAV or OpenCV (``styleforge video --help``)."""

from __future__ import annotations

__all__ = ["OVERLAP"]

#: Frames shared by neighbouring chunks of one clip (``--frames``, ``torchrun``).  The later chunk
#: starts cold; over the overlap its held picture converges towards the earlier chunk's while the
#: join cross-fades linearly, so a seam frame changes by at most 1/(overlap + 1) of the two chunks'
#: difference (on a real clip the seam adds at most 0.44× the clip's median flicker:
#: ``benchmarks/results/video_real_seams.json``).
OVERLAP = 24
