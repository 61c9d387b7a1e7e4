"""``suv`` (print the SUV audit of a PET DICOM series) and ``convert`` (write the SUV volume)."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import PentixaforQuantError
from .options import add_suv_options, suv_overrides


def cmd_suv(args) -> int:
    from ..suv import read_pet_volume

    # The voxels are read too: the plausibility of the SUV maximum belongs to the audit.
    pet = read_pet_volume(args.dicom_dir, series_uid=args.series_uid, normalization=args.suv,
                          overrides=suv_overrides(args))
    headers, conversion = pet.headers, pet.conversion
    if args.json:
        doc = conversion.to_dict()
        doc.setdefault("series_uid", headers.series_uid)
        doc.setdefault("notes", list(headers.notes))
        print(json.dumps(doc, indent=2, default=str))
    else:
        for note in headers.notes:
            print(note)
        print(conversion.audit)
    return 0


def cmd_convert(args) -> int:
    from ..scene.logic import StudyLogic
    from ..scene.mrml import save_node, volume_suv_units

    out = Path(args.out)
    if not out.name.lower().endswith((".nrrd", ".nii", ".nii.gz", ".mha")):
        raise PentixaforQuantError(f"output {out.name}: use .nrrd, .nii.gz, .nii or .mha")
    if out.is_dir():
        raise PentixaforQuantError(f"output {out} is a folder; give a file name")
    logic = StudyLogic()
    node = logic.load_dicom(args.dicom_dir, normalization=args.suv, overrides=suv_overrides(args),
                            series_uid=args.series_uid)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_node(node, out)
    print(f"wrote {out} ({volume_suv_units(node)})")
    return 0


def register(sub) -> None:
    p = sub.add_parser("suv", help="print the SUV audit of a PET DICOM series")
    p.add_argument("dicom_dir")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_suv_options(p)
    p.set_defaults(func=cmd_suv)

    p = sub.add_parser("convert", help="write the SUV volume of a PET DICOM series (.nrrd, .nii.gz)")
    p.add_argument("dicom_dir")
    p.add_argument("out")
    add_suv_options(p)
    p.set_defaults(func=cmd_convert)
