"""The cohort figures of docs/cohort.md, from a generated phantom cohort run through ``batch`` and ``stats``.

Run ``python Testing/cohort/doc_figures.py OUT_DIR`` (about two minutes): 33 noise-free phantom studies at 4 mm
with seeded, made-up lesion and marrow SUVs (three diagnoses and one with a single scan, three marrow groups, two
scans without uptake, one specific-activity outlier), then ``batch``; an ``exclude`` cell is written into the
cohort table as a user would (one study out of the marrow analysis), then ``stats``. The figures land in
``OUT_DIR/stats``. The values are invented to show the figures; they are not the source studies' data.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cohort_builders import StudySpec, write_cohort  # noqa: E402

from PentixaforQuantLib.cli.main import main  # noqa: E402


def specs(seed: int = 7) -> list[StudySpec]:
    rng = np.random.default_rng(seed)
    diagnoses = {"Diffuse large B-cell lymphoma": 14.0, "Multiple myeloma": 10.0, "Acute myeloid leukemia": 7.0}
    groups = {"PET-positive": 5.5, "PET-negative": 3.6, "control": 3.0}
    out = []
    for n in range(32):
        diagnosis = list(diagnoses)[n % 3]
        group = list(groups)[(n // 3) % 3]
        peptide_ug = float(rng.uniform(6.0, 14.0))
        activity = float(rng.uniform(110.0, 170.0))
        specific = activity / peptide_ug
        # Uptake rises with specific activity (as the 690-patient study asks), plus per-patient spread.
        lesion = diagnoses[diagnosis] * (0.6 + 0.03 * specific) * float(rng.lognormal(0.0, 0.15))
        if n == 5:
            lesion *= 6.0  # one study far off the trend: ROUT flags it
        marrow = groups[group] * float(rng.lognormal(0.0, 0.12))
        uptake = n not in (8, 21)
        out.append(StudySpec(f"S-{n + 1:03d}", diagnosis, group, round(lesion, 2) if uptake else 0.0,
                             round(marrow, 2), round(activity, 1), round(peptide_ug, 2), uptake=uptake))
    out.append(StudySpec("S-033", "Mantle cell lymphoma", "control", 16.0, 3.1, 150.0, 9.0))  # a diagnosis of n = 1
    return out


#: The exclusion written into the cohort table, as the AML study left out a patient with extramedullary disease.
EXCLUSION = ("S-004", "marrow: extramedullary disease only")


def run(out_dir: Path) -> Path:
    manifest = write_cohort(out_dir / "cohort", specs(), corrupt_id=None)
    assert main(["batch", str(manifest), "--out", str(out_dir / "batch"), "--no-bundle"]) == 0
    cohort = out_dir / "batch" / "cohort.csv"
    with cohort.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["exclude"] = EXCLUSION[1] if row["study_id"] == EXCLUSION[0] else ""
    with cohort.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["stats", str(cohort), "--out", str(out_dir / "stats")]) == 0
    return out_dir / "stats"


if __name__ == "__main__":
    print(run(Path(sys.argv[1])))
