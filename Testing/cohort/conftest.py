"""The generated phantom cohort, written once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def cohort(tmp_path_factory):
    """(manifest path, study specs): seven phantom studies (one without uptake, one without the left ilium) and
    a corrupt one (a non-DICOM file as its series), 4 mm grids."""
    from cohort_builders import default_specs, write_cohort

    root = tmp_path_factory.mktemp("cohort")
    specs = default_specs()
    return write_cohort(root, specs), {s.study_id: s for s in specs}


@pytest.fixture(scope="session")
def cohort_run(cohort, tmp_path_factory):
    """The cohort through ``pentixafor-quant batch`` once (in this process): (exit code, out dir)."""
    from PentixaforQuantLib.cli.main import main

    manifest, _ = cohort
    out = tmp_path_factory.mktemp("cohort_out")
    code = main(["batch", str(manifest), "--out", str(out)])
    return code, out
