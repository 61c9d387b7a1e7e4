"""Fuzz test of the PET series reader: damaged files are refused with the project's error, never read wrongly.

A small PET series (4 slices of 8 x 8, int16, one RescaleSlope per slice; explicit and implicit VR little endian and
explicit VR big endian) is damaged in one file at a time, with a seeded generator:

- **truncated** at many offsets (every region: preamble, file meta, the header elements, the pixel data element's
  header, the pixel data);
- **header bytes flipped** (a random byte before the pixel data XOR-ed with a random non-zero mask: tags, VRs,
  lengths and values);
- **junk added** to the folder that starts like DICOM and continues with garbage.

For every case ``read_pet_volume`` either refuses with a :class:`PentixaforQuantError` whose message is one line,
or returns a volume whose stored values are exactly the original ones in the original slice order: the only
changes allowed without a refusal are the header values the SUV factor is computed from (a flipped digit of a
RescaleSlope is a valid slope), so each slice must equal ``stored x RescaleSlope x factor`` read back from the
returned headers and audit. No warning may escape to the terminal. The number of cases is fixed (seeded); a time
cap only stops the loop early on a very slow machine, never decides the outcome.
"""

from __future__ import annotations

import shutil
import time
import warnings

import numpy as np
import pytest
from dicom_builders import write_series
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from PentixaforQuantLib.errors import PentixaforQuantError
from PentixaforQuantLib.suv import read_pet_volume
from PentixaforQuantLib.suv.dicom_values import fast_number
from PentixaforQuantLib.suv.series_files import parse_file

SEED = 20261201
N_TRUNCATIONS = 120
N_FLIPS = 260
N_JUNK = 6
TIME_CAP_S = 60.0  # a guard against a hung case, far above the ~3 s each transfer syntax takes


def _stored(nk=4, nj=8, ni=8) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.integers(0, 30000, (nk, nj, ni)).astype(np.int16)


@pytest.fixture(scope="module", params=[ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian],
                ids=["explicit-le", "implicit-le", "explicit-be"])
def series(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    stored = _stored()
    slopes = [0.5, 1.25, 2.0, 0.75]
    paths = write_series(folder, stored, slopes, transfer_syntax=request.param)
    reference = read_pet_volume(folder)
    offsets = [parse_file(p).pixel_offset for p in paths]
    assert all(o > 0 for o in offsets)
    return folder, paths, stored, reference, offsets


def _check(folder, stored, reference, case: str, failures: list) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            pet = read_pet_volume(folder)
        except PentixaforQuantError as exc:
            message = str(exc)
            if "\n" in message or not message.strip():
                failures.append(f"{case}: refusal is not one line: {message!r}")
            outcome = "refused"
        except Exception as exc:  # noqa: BLE001 - exactly what the test looks for
            failures.append(f"{case}: {type(exc).__name__}: {exc}")
            return "crashed"
        else:
            outcome = "read"
            names = [p.name for p in pet.headers.files]
            if names != [p.name for p in reference.headers.files] or pet.suv.shape != reference.suv.shape:
                failures.append(f"{case}: read with other slices or shape: {names}")
            elif not np.allclose(pet.grid.ijk_to_ras, reference.grid.ijk_to_ras, atol=0.02):
                failures.append(f"{case}: read with another geometry")
            else:
                # The slope as the reader used it (a damaged VR byte leaves the value readable for it).
                slopes = np.array([fast_number(ds, "RescaleSlope") for ds in pet.headers.datasets])
                expected = stored * (slopes * pet.conversion.factors)[:, None, None]
                if not np.allclose(pet.suv, expected.astype(np.float32), rtol=1e-6, atol=0):
                    failures.append(f"{case}: voxels changed without a refusal")
    if caught:
        failures.append(f"{case}: warning reached the caller: {caught[0].message!s:.100}")
    return outcome


def test_damaged_files_are_refused_or_read_unchanged(series, tmp_path):
    folder, paths, stored, reference, offsets = series
    rng = np.random.default_rng(SEED)
    failures: list[str] = []
    outcomes: dict[str, int] = {}
    deadline = time.monotonic() + TIME_CAP_S
    work = tmp_path / "case"

    def run(case, damage):
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(folder, work)
        damage(work)
        outcome = _check(work, stored, reference, case, failures)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    for n in range(N_TRUNCATIONS + N_FLIPS + N_JUNK):
        if time.monotonic() > deadline:
            break
        k = int(rng.integers(len(paths)))
        data = paths[k].read_bytes()
        name = paths[k].name
        if n < N_TRUNCATIONS:
            # Half uniformly over the file, half around the end of the header (the pixel data element's header).
            cut = int(rng.integers(len(data))) if n % 2 else int(offsets[k] - 16 + rng.integers(24))
            run(f"{name} truncated at {cut}",
                lambda d, cut=cut, name=name, data=data: (d / name).write_bytes(data[:cut]))
        elif n < N_TRUNCATIONS + N_FLIPS:
            at = int(rng.integers(offsets[k]))
            mask = int(rng.integers(1, 256))
            flipped = bytearray(data)
            flipped[at] ^= mask
            run(f"{name} byte {at} ^ {mask:#04x}",
                lambda d, name=name, flipped=bytes(flipped): (d / name).write_bytes(flipped))
        else:
            start = [b"\x08\x00", b"\x02\x00", b"\x00" * 128 + b"DICM"][n % 3]
            junk = start + (rng.integers(0, 256, 200_000, dtype=np.uint8).tobytes() if n % 2 else b"\x00" * 200_000)
            run(f"junk file {start[:4]!r}", lambda d, junk=junk: (d / "junk").write_bytes(junk))

    assert not failures, f"{len(failures)} bad outcomes, e.g.: " + " | ".join(failures[:5])
    # The damage must have been seen: most cases refused, a few read (harmless flips, e.g. in a UID's digits).
    assert outcomes.get("refused", 0) > N_TRUNCATIONS
