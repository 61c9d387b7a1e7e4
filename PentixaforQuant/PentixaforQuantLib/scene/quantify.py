"""A study from files to files: a PET DICOM series and a points file in, every output of the protocol out."""

from __future__ import annotations

import json
from pathlib import Path


def quantify(dicom_dir, points_file, out_dir, parameters, *, normalization="bw", overrides=None, series_uid=None,
             figure: bool = True, scene=None):
    """Run the protocol on a DICOM series and a points file; write every output. Returns (study, doc, paths).

    The outputs appear in ``out_dir`` together or not at all (:func:`~..outputs.atomic.atomic_output_folder`);
    ``paths`` name them in ``out_dir`` as given.
    """
    from ..outputs.atomic import atomic_output_folder
    from ..outputs.figures import study_figure
    from ..outputs.points import read_points
    from ..outputs.results import study_rows, study_to_dict, write_rows_csv, write_study_json
    from .logic import StudyLogic
    from .mrml import AUDIT_ATTRIBUTE, save_node, save_scene_bundle, volume_array, volume_grid

    point_notes: list[str] = []  # control points that were never placed: skipped, and said so
    points = read_points(points_file, notes=point_notes)
    logic = StudyLogic(scene)
    pet = logic.load_dicom(dicom_dir, normalization=normalization, overrides=overrides, series_uid=series_uid)
    points_node = logic.new_points_node(points_ras=points)
    study = logic.measure(pet, points_node, parameters=parameters)
    nodes = logic.output_nodes(points_node)
    units = pet.GetAttribute("DICOM.MeasurementUnitsCodeValue")
    doc = study_to_dict(study, suv_audit=json.loads(pet.GetAttribute(AUDIT_ATTRIBUTE)), units=units,
                        source={"dicom": str(dicom_dir), "points": str(points_file)})
    doc["warnings"] = point_notes + list(doc["warnings"])
    out = Path(out_dir)
    with atomic_output_folder(out) as scratch:
        written = {
            "study.json": write_study_json(doc, scratch / "study.json"),
            "sites.csv": write_rows_csv(study_rows(study, points), scratch / "sites.csv", units=units),
            "segmentation": save_node(nodes.segmentation, scratch / "vois.seg.nrrd"),
            "scene": save_scene_bundle(logic.scene, scratch / "study.mrb"),
        }
        if figure:
            written["figure"] = study_figure(volume_array(pet), volume_grid(pet), study, scratch / "study.png",
                                             title=f"{pet.GetName()} - {units}")
    paths = {key: out / path.name for key, path in written.items()}
    return study, doc, paths
