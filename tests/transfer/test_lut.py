"""3D LUTs: .cube files, trilinear application against scipy, least-squares fitting, bad files."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from styleforge.errors import InputError
from styleforge.transfer import lut as L


def _look(rgb: np.ndarray) -> np.ndarray:
    """A smooth 'film' transform: channel mixing, a tone curve, a warm shift."""
    m = np.array([[0.9, 0.1, 0.0], [0.05, 0.85, 0.1], [0.0, 0.2, 0.7]])
    return np.clip((rgb @ m.T) ** 0.8 + np.array([0.04, 0.0, -0.03]), 0, 1)


def _lut_of(fn, size: int = 33) -> L.Lut3D:
    return L.Lut3D(fn(L.identity_lut(size).table.reshape(-1, 3)).reshape(size, size, size, 3))


def test_identity_is_exact_and_file_order_is_red_fastest(tmp_path):
    ident = L.identity_lut(5)
    x = np.random.default_rng(0).random((100, 3))
    np.testing.assert_allclose(L.apply_lut(ident, x), x, atol=1e-6)
    path = L.write_cube(ident, tmp_path / "id.cube")
    rows = [r for r in path.read_text().splitlines() if r and r[0].isdigit()]
    assert rows[1] == "0.250000 0.000000 0.000000"  # second row: red moved first
    assert rows[5] == "0.000000 0.250000 0.000000"


def test_round_trip_of_a_known_transform(tmp_path):
    lut = _lut_of(_look)
    back = L.read_cube(L.write_cube(lut, tmp_path / "look.cube"))
    assert back.size == 33
    np.testing.assert_allclose(back.table, lut.table, atol=1e-6)
    x = np.random.default_rng(1).random((5000, 3))
    np.testing.assert_allclose(back(x), _look(x), atol=1e-2)  # trilinear error of a 33³ lattice (x^0.8 is steep at 0)
    assert np.abs(back(x) - _look(x)).mean() < 1e-3


def test_trilinear_matches_scipy():
    lut = _lut_of(_look, 9)
    v = np.linspace(0, 1, 9)
    ref = RegularGridInterpolator((v, v, v), lut.table)  # axes (b, g, r), as the file
    x = np.random.default_rng(2).random((2000, 3))
    np.testing.assert_allclose(L.apply_lut(lut, x), ref(x[:, ::-1]), atol=1e-6)


def test_domain_is_respected(tmp_path):
    p = tmp_path / "d.cube"
    ident = L.identity_lut(3).table.reshape(-1, 3)
    p.write_text(
        "DOMAIN_MIN 0 0 0\nDOMAIN_MAX 2 2 2\nLUT_3D_SIZE 3\n" + "\n".join(" ".join(map(str, r)) for r in ident)
    )
    lut = L.read_cube(p)
    np.testing.assert_allclose(lut(np.array([[1.0, 0.5, 2.0]])), [[0.5, 0.25, 1.0]], atol=1e-6)


def test_fit_recovers_a_smooth_transform_from_samples():
    rng = np.random.default_rng(3)
    x = rng.random((40000, 3))
    lut = L.fit_lut(x, _look(x), 17)
    z = rng.random((3000, 3))
    assert L.lut_error(lut, z, _look(z)) < 0.01
    # colours far from every sample follow the global affine trend, not zeros
    few = rng.random((500, 3)) * 0.3
    lut2 = L.fit_lut(few, few * 0.5 + 0.1, 9)
    assert abs(float(lut2(np.array([[0.9, 0.9, 0.9]]))[0, 0]) - 0.55) < 0.05


@pytest.mark.parametrize(
    "text, what",
    [
        ("hello world\n", "no LUT_3D_SIZE"),
        ("LUT_3D_SIZE 2\n0 0 0\n1 1 1\n", "needs 8 rows"),
        ("LUT_1D_SIZE 4\n0 0 0\n", "1D LUT"),
        ("LUT_3D_SIZE 2\n" + "0 0 x\n" * 8, "not a number"),
        ("LUT_3D_SIZE 999\n", "outside"),
        ("LUT_3D_SIZE 2\n" + "0 0\n" * 8, "three numbers"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, text, what):
    p = tmp_path / "bad.cube"
    p.write_text(text)
    with pytest.raises(InputError, match=what):
        L.read_cube(p)


def test_binary_file_is_not_a_lut(tmp_path):
    p = tmp_path / "photo.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="not a .cube"):
        L.read_cube(p)
    with pytest.raises(InputError, match="not found"):
        L.read_cube(tmp_path / "missing.cube")
