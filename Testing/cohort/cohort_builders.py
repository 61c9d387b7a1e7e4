"""Generated phantom cohorts: several diagnoses and groups, lesion and marrow SUVs that differ per study, a scan
without uptake and one with a missing marrow site, written as PET DICOM with points files and a manifest."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

#: Target-lesion centre of the phantom design (the built-in 22 mm lesion); the cohort repaints it per study.
TARGET_CENTER_RAS = (40.0, 40.0, -120.0)
TARGET_DIAMETER_MM = 22.0


@dataclass(frozen=True)
class StudySpec:
    """One generated study and its known answers (noise-free, unblurred phantom: measured = design)."""

    study_id: str
    diagnosis: str
    group: str
    lesion_suv: float
    marrow_suv: float  # a 10 mm hot sphere at the centre of every marrow site (its SUVmax there)
    activity_mbq: float
    peptide_mass_ug: float
    uptake: bool = True
    drop_sites: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def default_specs() -> list[StudySpec]:
    return [
        StudySpec("P-001", "lymphoma", "PET-positive", 12.0, 6.0, 150.0, 10.0),
        StudySpec("P-002", "lymphoma", "PET-positive", 18.0, 7.5, 140.0, 8.0),
        StudySpec("P-003", "myeloma", "PET-positive", 8.0, 5.0, 120.0, 9.0),
        StudySpec("P-004", "myeloma", "PET-negative", 25.0, 3.6, 160.0, 7.0),
        StudySpec("P-005", "AML", "PET-negative", 9.0, 3.8, 130.0, 12.0, drop_sites=("left_ilium",)),
        StudySpec("P-006", "AML", "control", 14.0, 3.4, 145.0, 9.5),
        StudySpec("P-007", "lymphoma", "control", 0.0, 0.0, 110.0, 8.5, uptake=False),
    ]


def make_study(spec: StudySpec, folder: Path, spacing_mm: float = 4.0) -> tuple[Path, Path]:
    """Write one study's DICOM series and points file; returns (dicom folder, points file)."""
    from PentixaforQuantLib.measure.sites import MARROW_SITES
    from PentixaforQuantLib.outputs.points import write_markups_json
    from PentixaforQuantLib.phantom import PatientInfo, PhantomOptions, add_sphere_lesion, make_phantom, write_phantom

    options = PhantomOptions(radionuclide="Ga-68", spacing_mm=(spacing_mm,) * 3)
    options = add_sphere_lesion(options, TARGET_CENTER_RAS, TARGET_DIAMETER_MM, spec.lesion_suv, "target", target=True)
    base = make_phantom(PhantomOptions(spacing_mm=(spacing_mm,) * 3))
    seeds = base.truth.seed_points
    for site in MARROW_SITES:
        options = add_sphere_lesion(options, seeds[site], 10.0, spec.marrow_suv, f"marrow_{site}")
    phantom = make_phantom(options)
    write_phantom(phantom, folder, patient=PatientInfo(patient_id=spec.study_id))
    points = {k: v for k, v in phantom.truth.seed_points.items() if k not in spec.drop_sites}
    points_file = write_markups_json(points, folder / "points.mrk.json")
    return folder / "dicom", points_file


def write_cohort(root: Path, specs=None, *, spacing_mm: float = 4.0, corrupt_id: str | None = "P-008") -> Path:
    """Write the studies under ``root`` and ``root/manifest.csv`` (relative paths); returns the manifest.

    ``corrupt_id`` adds a study whose DICOM folder holds only a file that is not DICOM (it must fail alone).
    """
    specs = default_specs() if specs is None else specs
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for spec in specs:
        dicom = points = ""
        if spec.uptake:
            d, p = make_study(spec, root / spec.study_id, spacing_mm)
            dicom, points = d.relative_to(root).as_posix(), p.relative_to(root).as_posix()
        rows.append([spec.study_id, dicom, points, spec.diagnosis, spec.group, "yes" if spec.uptake else "no",
                     spec.activity_mbq, spec.peptide_mass_ug])
    if corrupt_id:
        bad = root / corrupt_id / "dicom"
        bad.mkdir(parents=True, exist_ok=True)
        (bad / "slice001.dcm").write_bytes(b"this is not a DICOM file\n" * 10)
        good_points = next(r[2] for r in rows if r[2])
        rows.append([corrupt_id, bad.relative_to(root).as_posix(), good_points, "myeloma", "control", "yes", 150, 10])
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["study_id", "dicom", "points", "diagnosis", "group", "uptake", "activity_mbq", "peptide_mass_ug"])
        w.writerows(rows)
    return manifest
