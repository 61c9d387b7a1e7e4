"""Shared fixtures.

Reference data (the IBSI-SUV digital reference objects, CC BY 4.0) is read from a folder that is not part of the
repository, nor are the 51 real sarcoma PET series (IBSI validation set, CC BY 3.0; a few of them, cropped, are in
``Testing/data/ibsi-sts-pet``). Set ``PENTIXAFOR_SHARED_DATA`` to the folder that holds ``ibsi-suv-dro/`` and
``ibsi-sts-pet/``; by default it is the ``shared/data`` folder beside the repository. Without it the tests that
need the data are skipped with the reason.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PENTIXAFOR_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
IBSI_DRO_ARCHIVE = SHARED_DATA / "ibsi-suv-dro" / "ibsi_suv_dro_v1_oncoray-bf11a08.tar.xz"
IBSI_STS_ARCHIVE = SHARED_DATA / "ibsi-sts-pet" / "ibsi_sts_pet_v1_6da9602.tar.xz"


@pytest.fixture(scope="session")
def ibsi_dro_root(tmp_path_factory) -> Path:
    """Folder holding ``DRO_<x>_<y>/{PT,RS,mask}`` of the IBSI-SUV DROs, unpacked once per session."""
    if not IBSI_DRO_ARCHIVE.is_file():
        pytest.skip(
            f"IBSI-SUV reference objects not found ({IBSI_DRO_ARCHIVE.name}); set PENTIXAFOR_SHARED_DATA to the "
            "folder holding ibsi-suv-dro/ (source: github.com/oncoray/suv_computation, CC BY 4.0)"
        )
    out = tmp_path_factory.mktemp("ibsi_dro")
    with tarfile.open(IBSI_DRO_ARCHIVE, "r:xz") as tar:
        # The archive is trusted reference data; still, extract with the safe filter where Python has it (3.12+).
        tar.extractall(out, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    root = out / "DRO"
    assert root.is_dir(), f"unexpected archive layout in {IBSI_DRO_ARCHIVE.name}"
    return root


@pytest.fixture(scope="session")
def ibsi_sts_root(tmp_path_factory) -> Path:
    """Folder holding ``dicom/STS_xxx/PET/image/`` and ``nifti/STS_xxx/PET_mask.nii.gz`` of the 51 real FDG PET
    series of soft-tissue sarcomas (IBSI validation set, CC BY 3.0), unpacked once per session."""
    if not IBSI_STS_ARCHIVE.is_file():
        pytest.skip(
            f"the 51 real sarcoma PET series were not found ({IBSI_STS_ARCHIVE.name}); set PENTIXAFOR_SHARED_DATA to "
            "the folder holding ibsi-sts-pet/ (source: github.com/theibsi/data_sets, ibsi_validation, CC BY 3.0)"
        )
    out = tmp_path_factory.mktemp("ibsi_sts")
    with tarfile.open(IBSI_STS_ARCHIVE, "r:xz") as tar:
        tar.extractall(out, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    root = out / "ibsi-sts-pet"
    assert (root / "dicom").is_dir(), f"unexpected archive layout in {IBSI_STS_ARCHIVE.name}"
    return root


@pytest.fixture(scope="session")
def phantom_study(tmp_path_factory):
    """The default noise-free phantom written as a Ga-68 PET DICOM series: (phantom, folder with dicom/)."""
    from PentixaforQuantLib.phantom import PhantomOptions, make_phantom, write_phantom

    phantom = make_phantom(PhantomOptions(radionuclide="Ga-68"))
    folder = write_phantom(phantom, tmp_path_factory.mktemp("phantom"))
    return phantom, folder


@pytest.fixture
def headless():
    """A fresh headless Slicer scene (real MRML from slicer-core), cleared after the test."""
    from PentixaforQuantLib.scene.headless import HeadlessSlicer

    h = HeadlessSlicer.create()
    yield h
    h.scene.Clear(1)
