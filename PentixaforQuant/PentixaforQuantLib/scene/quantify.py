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
    from ..outputs.points import read_points
    from .logic import StudyLogic

    points = read_points(points_file)
    logic = StudyLogic(scene)
    pet = logic.load_dicom(dicom_dir, normalization=normalization, overrides=overrides, series_uid=series_uid)
    points_node = logic.new_points_node(points_ras=points)
    study = logic.measure(pet, points_node, parameters=parameters)
    paths = write_study_outputs(logic, pet, points_node, study, out_dir,
                                source={"dicom": str(dicom_dir), "points": str(points_file)}, figure=figure)
    doc = json.loads(paths["study.json"].read_text(encoding="utf-8"))
    return study, doc, paths


def write_study_outputs(logic, pet, points_node, study, out_dir, *, source: dict | None = None,
                        figure: bool = True, extra: dict | None = None, points_file: bool = False) -> dict:
    """Write every output of a measured study into ``out_dir``: study.json, sites.csv, the segmentation, the scene
    bundle and (``figure``) the study picture. The files appear together or not at all; returns their paths in
    ``out_dir`` (as given) by kind.

    ``extra`` adds top-level entries to ``study.json`` (e.g. the web reader's ``reading`` record);
    ``points_file`` also writes the points as ``points.mrk.json`` (so a reading can be reopened)."""
    from ..outputs.atomic import atomic_output_folder
    from ..outputs.figures import study_figure
    from ..outputs.results import study_rows, study_to_dict, write_rows_csv, write_study_json
    from .mrml import AUDIT_ATTRIBUTE, markups_site_points, save_node, save_scene_bundle, volume_array, volume_grid

    nodes = logic.output_nodes(points_node)
    units = pet.GetAttribute("DICOM.MeasurementUnitsCodeValue")
    audit = pet.GetAttribute(AUDIT_ATTRIBUTE)
    doc = study_to_dict(study, suv_audit=json.loads(audit) if audit else None, units=units, source=source)
    doc.update(extra or {})
    points = markups_site_points(points_node)
    out = Path(out_dir)
    with atomic_output_folder(out) as scratch:
        written = {
            "study.json": write_study_json(doc, scratch / "study.json"),
            "sites.csv": write_rows_csv(study_rows(study, points), scratch / "sites.csv", units=units),
            "segmentation": save_node(nodes.segmentation, scratch / "vois.seg.nrrd"),
            "scene": save_scene_bundle(logic.scene, scratch / "study.mrb"),
        }
        if points_file:
            from ..outputs.points import write_markups_json

            written["points"] = write_markups_json(points, scratch / "points.mrk.json")
        if figure:
            written["figure"] = study_figure(volume_array(pet), volume_grid(pet), study, scratch / "study.png",
                                             title=f"{pet.GetName()} - {units}")
    return {key: out / path.name for key, path in written.items()}
