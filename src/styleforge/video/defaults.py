"""Video defaults the command line reads without importing PyAV or OpenCV (``styleforge video --help``)."""

from __future__ import annotations

__all__ = ["CHECKPOINT", "CONSISTENCY", "FLOW_SIZE", "GOP", "HOLD", "OVERLAP"]

#: Blending strength ``k`` of the consistency pass (``--consistency``; 0: per-frame).
CONSISTENCY = 0.5
#: Weight of the previous output where the input stays within the noise of what it shows (``--hold``).
HOLD = 0.99
#: Long side at which the optical flow is computed (``--flow-size``).
FLOW_SIZE = 640

#: Frames shared by neighbouring chunks of one clip (``--frames``, ``torchrun``).  The later chunk
#: starts cold; over the overlap its held picture converges towards the earlier chunk's while the
#: join cross-fades linearly, so a seam frame changes by at most 1/(overlap + 1) of the two chunks'
#: difference (on a real clip the seam adds at most 0.44× the clip's median flicker:
#: ``benchmarks/results/video_real_seams.json``).
OVERLAP = 24

#: Seconds of video between two of the encoder's keyframes at most (x264's default is 250 frames).
#: Every keyframe re-codes the whole picture: with one a second, areas that hold still pulsed once a
#: second by 2–3 levels (on a real clip, 5× the still-area flicker of the frames between).
GOP = 10.0
#: Seconds of work after which the next frame is a keyframe anyway (``--checkpoint``): ``--resume``
#: cuts the killed file at its last keyframe, so a kill loses at most this much work (and ``GOP``).
CHECKPOINT = 30.0
