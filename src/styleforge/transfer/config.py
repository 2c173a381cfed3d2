"""The options of the optimisation and photo modes, with their real defaults — one home for them.

Every front end builds its configuration here: the command line (``styleforge stylize`` /
``photo``), the Python API (:func:`styleforge.stylize`,
:func:`~styleforge.transfer.photoreal.photo_stylize`) and the web page call
:func:`gatys_config`, :func:`photo_config` or :func:`fast_config` with the options the user
gave, and every option the user left out keeps the dataclass's default.  A front end never
restates a default (schedule, ``amp``, ``scale_detail``, …).

This module imports neither torch nor numpy, so a command line can read the defaults while it
builds its parser.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_FINAL_ITERATIONS",
    "DoodleConfig",
    "FINAL_ITERATIONS",
    "FastConfig",
    "GatysConfig",
    "PhotoConfig",
    "default_scale_iterations",
    "fast_config",
    "final_iterations",
    "gatys_config",
    "photo_config",
]

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from ..errors import InputError

OPTIMIZERS = ("lbfgs", "adam")
INITS = ("content", "random", "gray", "image")
AMPS = ("auto", "bf16", "none")
MIN_SIZE, MAX_SIZE = 32, 4096

#: Full-size evaluations of the default schedule (twice as many at each halving: 160, 80, 40 over
#: the default scales) for the VGG backbones.
DEFAULT_FINAL_ITERATIONS = 40
#: Backbones with their own full-size count.  effnet-lite0 (the fast CPU preview): 12, i.e.
#: 48, 24, 12 over the default scales.  On three pairs (benchmarks/gatys_speed.py's metric)
#: 80,40,20 and 60,30,15 gave no lower style loss (48,24,12: 3-9 % lower, content 2-5 % higher)
#: in 1.3× and 1.2× the time.
FINAL_ITERATIONS: dict[str, int] = {"effnet-lite0": 12}

#: Matting regulariser ε of DPST / Levin et al.
MATTING_EPS = 1e-7
#: Closed-form smoothing after DPST: exact sparse solve, guided filter, or none.
SMOOTH_MODES = ("exact", "fast", "none")
#: Smoothing of the fast photo method (``auto``: exact with automatic masks, none with given ones).
FAST_SMOOTHING = ("auto", *SMOOTH_MODES)


def final_iterations(backbone: str) -> int:
    """Full-size evaluations of the default schedule for ``backbone``.

    Example:
        >>> final_iterations("vgg16-offline"), final_iterations("effnet-lite0")
        (40, 12)
    """
    return FINAL_ITERATIONS.get(backbone, DEFAULT_FINAL_ITERATIONS)


def default_scale_iterations(scales: Sequence[float], final: int = DEFAULT_FINAL_ITERATIONS) -> tuple[int, ...]:
    """The default schedule: ``final`` evaluations at full size, ``final / s`` at a fraction ``s``.

    Each stage at half the size runs twice the evaluations of the next and
    costs half as much, so the coarse stages (which settle the large structure
    cheaply) take a third of the time.  Coarse to fine, one count per scale.

    Example:
        >>> default_scale_iterations((0.25, 0.5, 1.0), final=40)
        (160, 80, 40)
    """
    return tuple(max(1, round(final / s)) for s in sorted(set(scales)))


@dataclass(frozen=True)
class GatysConfig:
    """Options of artistic style transfer (neural-style's names), with the defaults every front end uses.

    Schedule: ``scale_iterations`` gives each scale's evaluations (coarse to fine); else
    ``iterations`` evaluations at every scale; with neither (the default), the backbone's default
    schedule (:meth:`stage_iterations`: 160, 80, 40 with VGG, 48, 24, 12 with effnet-lite0).
    """

    content_weight: float = 5.0
    style_weight: float = 100.0
    tv_weight: float = 1e-3
    content_layers: tuple[str, ...] | None = None  # None: relu4_2
    style_layers: tuple[str, ...] | None = None  # None: relu1_1 … relu5_1
    style_layer_weights: tuple[float, ...] | None = None
    style_blend_weights: tuple[float, ...] | None = None
    style_scale: float = 1.0
    image_size: int = 512
    iterations: int | None = None  # per scale; None: the default schedule (see stage_iterations)
    scales: tuple[float, ...] = (0.25, 0.5, 1.0)
    scale_iterations: tuple[int, ...] | None = None  # per scale, coarse to fine; overrides iterations
    init: str = "content"
    optimizer: str = "lbfgs"
    learning_rate: float | None = None  # None: 1 for L-BFGS, 10 (0–255 scale) for Adam
    pooling: str = "max"
    original_colors: bool = False
    color_space: str = "yuv"
    color_match: str | None = None  # "histogram" | "mean-cov": recolour the style first
    improved: bool = False
    seed: int | None = None
    backbone: str = "vgg16-offline"
    weights: str | None = None
    device: str = "auto"
    lbfgs_history: int = 100
    #: "auto" | "bf16" | "none": "auto" = bf16 backbone passes where the CPU computes bf16 natively
    #: (AMX / AVX512-BF16; effnet-lite0 stays fp32), fp32 elsewhere; Grams and losses stay fp32.
    amp: str = "auto"
    #: At each change of scale, the upsampled result gets this fraction of the content's detail that the
    #: coarser scale could not hold (content − content down- and upsampled): the finer stage starts with
    #: the photo's edges instead of re-growing them.  0 = plain upsampling (neural-style).
    scale_detail: float = 1.0

    def stage_iterations(self) -> tuple[int, ...]:
        """Evaluations per distinct scale, coarse to fine (before :func:`plan_stages` skips tiny stages).

        Example:
            >>> GatysConfig().stage_iterations(), GatysConfig(backbone="effnet-lite0").stage_iterations()
            ((160, 80, 40), (48, 24, 12))
            >>> GatysConfig(iterations=100).stage_iterations()
            (100, 100, 100)
        """
        if self.scale_iterations is not None:
            return tuple(self.scale_iterations)
        if self.iterations is not None:
            return (self.iterations,) * len(set(self.scales))
        return default_scale_iterations(self.scales, final=final_iterations(self.backbone))

    def validate(self, n_styles: int) -> None:
        """Raise :class:`~styleforge.errors.InputError` (one line, the CLI's option names) on a bad value."""
        if not MIN_SIZE <= self.image_size <= MAX_SIZE:
            raise InputError(f"--image-size must be between {MIN_SIZE} and {MAX_SIZE} pixels, got {self.image_size}")
        if self.iterations is not None and self.iterations < 0:
            raise InputError("--iterations must be ≥ 0")
        if self.optimizer not in OPTIMIZERS:
            raise InputError(f"unknown optimizer {self.optimizer!r}; choose {' or '.join(OPTIMIZERS)}")
        if self.init not in INITS:
            raise InputError(f"unknown --init {self.init!r}; choose from {', '.join(INITS)}")
        if self.style_blend_weights is not None and len(self.style_blend_weights) != n_styles:
            raise InputError(
                f"--style-blend-weights has {len(self.style_blend_weights)} values for {n_styles} style image(s)"
            )
        if self.style_blend_weights is not None and (
            any(w < 0 for w in self.style_blend_weights) or sum(self.style_blend_weights) <= 0
        ):
            raise InputError("--style-blend-weights must be non-negative and not all zero")
        if not self.scales or any(not 0 < s <= 1 for s in self.scales):
            raise InputError("--scales must be fractions in (0, 1], e.g. 0.25,0.5,1")
        if not 0.05 <= self.style_scale <= 8:
            raise InputError("--style-scale must be between 0.05 and 8")
        if self.scale_iterations is not None:
            if len(self.scale_iterations) != len(set(self.scales)):
                raise InputError(
                    f"--scale-iterations has {len(self.scale_iterations)} values for {len(set(self.scales))} scales"
                )
            if any(n < 0 for n in self.scale_iterations):
                raise InputError("--scale-iterations must be ≥ 0")
        if not 0 <= self.scale_detail <= 2:
            raise InputError(f"--scale-detail must be between 0 and 2, got {self.scale_detail:g}")
        if self.amp not in AMPS:
            raise InputError(f"unknown --amp {self.amp!r}; choose {', '.join(AMPS)}")
        if self.color_match not in (None, "histogram", "mean-cov"):
            raise InputError(f"unknown --color-match {self.color_match!r}; choose histogram or mean-cov")


@dataclass(frozen=True)
class PhotoConfig:
    """Options of Deep Photo Style Transfer (``styleforge photo --method dpst``); ``gatys`` holds the
    optimisation options (the same defaults as artistic transfer: schedule, ``amp``, ``scale_detail``)."""

    gatys: GatysConfig = field(default_factory=GatysConfig)
    photo_weight: float = 1e4  # λ of DPST (see transfer.photoreal's docstring)
    #: Evaluations of stage 2 (full size, with the photorealism term); None: ``gatys.iterations``
    #: when given, else as many as stage 1's schedule in all (280 with VGG).
    stage2_iterations: int | None = None
    stage2_scales: tuple[float, ...] = (1.0,)
    smooth: str = "none"  # "exact" | "fast" | "none"
    smooth_alpha: float = 1e4  # α = β/(1−β); FastPhotoStyle's β = 0.9999
    local_affine: bool = True
    f_radius: int = 7
    f_edge: float = 0.05
    mask_tolerance: float = 0.25
    eps: float = MATTING_EPS
    color_init: bool = True  # start stage 1 from a per-segment mean/covariance colour transfer

    def stage2(self) -> int:
        """Evaluations of stage 2 (see :attr:`stage2_iterations`).

        Example:
            >>> PhotoConfig().stage2(), PhotoConfig(gatys=GatysConfig(iterations=50)).stage2()
            (280, 50)
        """
        if self.stage2_iterations is not None:
            return self.stage2_iterations
        g = self.gatys
        return g.iterations if g.iterations is not None else sum(g.stage_iterations())

    def validate(self) -> None:
        """Raise :class:`~styleforge.errors.InputError` on a bad value (the stage-1 options: ``gatys.validate``)."""
        if self.smooth not in SMOOTH_MODES:
            raise InputError(f"unknown --smooth {self.smooth!r}; choose {', '.join(SMOOTH_MODES)}")
        if self.photo_weight < 0:
            raise InputError("--lambda (photorealism weight) must be ≥ 0")
        if self.stage2_iterations is not None and self.stage2_iterations < 0:
            raise InputError("--stage2-iterations must be ≥ 0")
        if self.smooth_alpha <= 0:
            raise InputError("--smooth-alpha must be > 0")
        if not 1 <= self.f_radius <= 50:
            raise InputError("--f-radius must be between 1 and 50")
        if self.f_edge <= 0:
            raise InputError("--f-edge must be > 0")
        if not 0 < self.mask_tolerance < 0.5:
            raise InputError("--mask-tolerance must be in (0, 0.5)")


@dataclass(frozen=True)
class FastConfig:
    """Options of the fast photo method (``styleforge photo``, default ``--method fast``)."""

    work_size: int = 256  # long side where the colours are solved
    radius: int = 2  # window radius of the affine fit at work size (px)
    eps: float = 1e-4  # ridge of the affine fit (guided filter ε, colours in [0, 1])
    # matting smoothing at work size; auto: exact with automatic masks (their borders need not sit on
    # the photo's edges: the smoothing removes the seams), none with given masks (keeps the most colour)
    smooth: str = "auto"
    smooth_alpha: float = 1e4
    local: bool = True  # False: the output is the global LUT alone
    lut_size: int = 33
    lut_smoothness: float = 3e-2  # lattice smoothness of the look (low values copy segment clashes as noise)
    segments: int = 3  # automatic masks: clusters
    max_gain: float = 10.0  # largest singular value of a segment's colour map (noise guard)
    strength: float = 1.0  # blend with the photo (0 = unchanged)

    def validate(self) -> None:
        """Raise :class:`~styleforge.errors.InputError` on a bad value."""
        if not 32 <= self.work_size <= 1024:
            raise InputError("--work-size must be between 32 and 1024")
        if not 1 <= self.radius <= 32:
            raise InputError("--fit-radius must be between 1 and 32")
        if self.eps <= 0:
            raise InputError("--fit-eps must be > 0")
        if self.smooth not in FAST_SMOOTHING:
            raise InputError(f"unknown smoothing {self.smooth!r}; choose {', '.join(FAST_SMOOTHING)}")
        if not 2 <= self.lut_size <= 65:
            raise InputError("--lut-size must be between 2 and 65")
        if not 1 <= self.segments <= 9:
            raise InputError("--segments must be between 1 and 9")
        if not 0.0 <= self.strength <= 1.0:
            raise InputError("--strength must be between 0 and 1")


@dataclass(frozen=True)
class DoodleConfig:
    """Options of neural doodles (``styleforge doodle``)."""

    style_layers: tuple[str, ...] = ("relu3_1", "relu4_1")  # MRF patch losses
    region_layers: tuple[str, ...] = ("relu1_1", "relu2_1")  # per-region Gram losses (colour, fine texture)
    region_weight: float = 0.1
    content_layers: tuple[str, ...] = ("relu4_2",)
    style_weight: float = 1.0
    content_weight: float = 0.0  # > 0 only with a content image
    semantic_weight: float = 10.0
    tv_weight: float = 1e-4
    patch_size: int = 3
    image_size: int = 256
    iterations: int = 100  # per scale
    scales: tuple[float, ...] = (0.5, 1.0)
    seed: int | None = None
    backbone: str = "vgg16-offline"
    pooling: str = "avg"
    device: str = "auto"
    max_colors: int = 16

    def validate(self) -> None:
        """Raise :class:`~styleforge.errors.InputError` on a bad value."""
        if not 32 <= self.image_size <= 2048:
            raise InputError(f"--image-size must be between 32 and 2048, got {self.image_size}")
        if self.iterations < 0:
            raise InputError("--iterations must be ≥ 0")


def _tuples(options: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}


def _check_names(options: dict[str, Any], valid: set[str]) -> None:
    unknown = sorted(set(options) - valid)
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")


def _names(cls: type) -> set[str]:
    return {f.name for f in fields(cls)}


def gatys_config(**overrides: Any) -> GatysConfig:
    """The artistic-transfer configuration: :class:`GatysConfig`'s defaults with the user's ``overrides``.

    Options left out keep the defaults, including the backbone's schedule; lists become tuples;
    an unknown name raises :class:`~styleforge.errors.InputError`.

    Example:
        >>> gatys_config(backbone="effnet-lite0").stage_iterations()
        (48, 24, 12)
        >>> gatys_config(scales=[0.5, 1.0], iterations=10).stage_iterations()
        (10, 10)
    """
    _check_names(overrides, _names(GatysConfig))
    return GatysConfig(**_tuples(overrides))


def photo_config(**overrides: Any) -> PhotoConfig:
    """The Deep Photo Style Transfer configuration from flat options.

    ``overrides`` are fields of :class:`PhotoConfig` (``photo_weight``, ``smooth``, …) or of
    :class:`GatysConfig` (``image_size``, ``iterations``, ``seed``, …), as
    :func:`~styleforge.transfer.photoreal.photo_stylize` and ``styleforge photo --method dpst`` take them.

    Example:
        >>> cfg = photo_config(image_size=256, photo_weight=100.0)
        >>> cfg.gatys.image_size, cfg.photo_weight, cfg.gatys.amp
        (256, 100.0, 'auto')
    """
    gnames, pnames = _names(GatysConfig), _names(PhotoConfig) - {"gatys"}
    _check_names(overrides, gnames | pnames)
    options = _tuples(overrides)
    gcfg = GatysConfig(**{k: v for k, v in options.items() if k in gnames})
    return PhotoConfig(gatys=gcfg, **{k: v for k, v in options.items() if k in pnames})


def fast_config(**overrides: Any) -> FastConfig:
    """The fast photo method's configuration: :class:`FastConfig`'s defaults with ``overrides``.

    Example:
        >>> fast_config(work_size=128).work_size, fast_config().smooth
        (128, 'auto')
    """
    _check_names(overrides, _names(FastConfig))
    return FastConfig(**_tuples(overrides))
