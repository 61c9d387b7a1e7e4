"""A study from files to files: a PET DICOM series and a points file in, every output of the protocol out."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path

from .. import interruption
from .mrml import (AUDIT_ATTRIBUTE, markups_site_points, save_node, save_scene_bundle, volume_array, volume_grid,
                   volume_suv_units)


def quantify(dicom_dir, points_file, out_dir, parameters, *, normalization="bw", overrides=None, series_uid=None,
             figure: bool = True, bundle: bool = True, scene=None, dicom_out=None, timings: dict | None = None,
             reader_name: str | None = None):
    """Run the protocol on a DICOM series and a points file; write every output. Returns (study, doc, paths).

    The outputs appear in ``out_dir`` together or not at all (:func:`~..outputs.atomic.atomic_output_folder`);
    ``paths`` name them in ``out_dir`` as given. With ``dicom_out`` (a folder other than ``out_dir``), the DICOM
    SEG, SR TID 1500 and RWVM of the study are written there too (``seg.dcm``, ``sr.dcm``, ``rwvm.dcm``, also
    atomically). Whether the PET can be exported is checked from its headers before anything is measured (a
    refusal then writes nothing); should the DICOM objects still fail after measuring, the other outputs are written
    and then the refusal is raised. ``reader_name`` names the reader who placed the points in the DICOM objects.
    ``figure`` and ``bundle`` say whether ``study.png`` and the scene bundle ``study.mrb`` (which holds a copy of the whole PET
    volume) are written. A ``timings`` dict, when given, receives the seconds spent reading the DICOM series with
    its SUV conversion (``read_s``), measuring (``measure_s``) and writing the outputs (``write_s``).
    """
    import time

    clock = time.perf_counter()
    from ..outputs.atomic import OutputFolderError
    from ..outputs.points import read_points
    from .logic import StudyLogic

    if dicom_out is not None:
        a, b = Path(dicom_out).resolve(), Path(out_dir).resolve()
        if a == b or b in a.parents or a in b.parents:
            raise OutputFolderError(f"the DICOM output folder {dicom_out} must lie outside the output folder "
                                    f"{out_dir} (and not contain it): each is replaced as a whole")
    point_notes: list[str] = []  # control points that were never placed: skipped, and said so
    points = read_points(points_file, notes=point_notes)
    # Ctrl-C is honoured at safe points (between slices, steps and files), never raised inside VTK or MRML code,
    # where an exception can leave C++ objects half-made and crash the process.
    with interruption.held():
        logic = StudyLogic(scene)
        interruption.check()
        pet = logic.load_dicom(dicom_dir, normalization=normalization, overrides=overrides, series_uid=series_uid)
        if dicom_out is not None:  # an export that cannot be made is known before anything is measured
            logic.dicom_headers(pet, observer_name=reader_name)
        read_done = time.perf_counter()
        interruption.check()
        points_node = logic.new_points_node(points_ras=points)
        study = logic.measure(pet, points_node, parameters=parameters)
        measure_done = time.perf_counter()
        interruption.check()
        doc, paths = _write_study_outputs(logic, pet, points_node, study, out_dir,
                                          source={"dicom": str(dicom_dir), "points": str(points_file)},
                                          figure=figure, bundle=bundle, warnings=point_notes, dicom_out=dicom_out,
                                          reader_name=reader_name)
    if timings is not None:
        timings.update(read_s=read_done - clock, measure_s=measure_done - read_done,
                       write_s=time.perf_counter() - measure_done)
    return study, doc, paths


def write_study_outputs(logic, pet, points_node, study, out_dir, *, source: dict | None = None,
                        figure: bool = True, bundle: bool = True, warnings=(), dicom_out=None,
                        extra: dict | None = None, points_file: bool = False, reader_name: str | None = None) -> dict:
    """Write every output of a measured study into ``out_dir``: study.json, sites.csv, the segmentation, (``bundle``)
    the scene bundle and (``figure``) the study picture; with ``dicom_out``, the DICOM SEG, SR and RWVM there.
    ``warnings`` (e.g. points that were never placed) are recorded in study.json before the study's own. The files of each folder
    appear together or not at all; returns their paths (in the folders as given) by kind.

    ``extra`` adds top-level entries to ``study.json`` (e.g. the web reader's ``reading`` record);
    ``points_file`` also writes the points as ``points.mrk.json`` (so a reading can be reopened)."""
    return _write_study_outputs(logic, pet, points_node, study, out_dir, source=source, figure=figure, bundle=bundle,
                                warnings=warnings, dicom_out=dicom_out, extra=extra, points_file=points_file,
                                reader_name=reader_name)[1]


def _write_study_outputs(logic, pet, points_node, study, out_dir, *, source, figure, bundle, warnings, dicom_out,
                         extra=None, points_file=False, reader_name=None) -> tuple[dict, dict]:
    """:func:`write_study_outputs`, also returning the ``study.json`` content it wrote: (doc, paths).

    When the DICOM objects cannot be made, the other outputs are still written; the refusal is raised after them,
    saying so."""
    from ..errors import DicomExportError
    from ..outputs.atomic import atomic_output_folder
    from ..outputs.dicom_export import write_dicom_files
    from ..outputs.figures import study_figure
    from ..outputs.results import study_rows, study_to_dict, write_rows_csv, write_study_json

    nodes = logic.output_nodes(points_node)
    dicom, refusal = None, None
    if dicom_out is not None:
        try:
            dicom = logic.dicom_outputs(pet, points_node, study=study, observer_name=reader_name, replaces=dicom_out)
        except DicomExportError as exc:  # the study's other outputs are never lost because of the DICOM export
            refusal = exc
    units = volume_suv_units(pet)
    audit = pet.GetAttribute(AUDIT_ATTRIBUTE)
    doc = study_to_dict(study, suv_audit=json.loads(audit) if audit else None, units=units, source=source)
    doc["warnings"] = list(warnings) + list(doc["warnings"])
    if dicom is not None:  # what the DICOM objects copy unchanged from the PET although DICOM would not have it
        doc["warnings"] += [f"DICOM: {w}" for w in dicom.warnings]
    doc.update(extra or {})
    points = markups_site_points(points_node)
    out = Path(out_dir)
    # The DICOM folder is opened first, so that both folders are checked before anything is written.
    with (atomic_output_folder(dicom_out) if dicom is not None else nullcontext()) as dicom_scratch, \
            atomic_output_folder(out) as scratch:
        with interruption.held():  # writers call into VTK: Ctrl-C is taken between files (see quantify)
            written = {
                "study.json": write_study_json(doc, scratch / "study.json"),
                "sites.csv": write_rows_csv(study_rows(study, points), scratch / "sites.csv", units=units),
                "segmentation": save_node(nodes.segmentation, scratch / "vois.seg.nrrd"),
            }
            interruption.check()
            if bundle:
                written["scene"] = save_scene_bundle(logic.scene, scratch / "study.mrb")
                interruption.check()
            if points_file:
                from ..outputs.points import write_markups_json

                written["points"] = write_markups_json(points, scratch / "points.mrk.json")
            if figure:
                written["figure"] = study_figure(volume_array(pet), volume_grid(pet), study, scratch / "study.png",
                                                 title=f"{pet.GetName()} - {units}")
                interruption.check()
            if dicom is not None:
                written.update({f"dicom_{key}": path
                                for key, path in write_dicom_files(dicom, dicom_scratch).items()})
    if refusal is not None:
        raise DicomExportError(f"{refusal} (the other outputs were written to {out_dir})") from None
    return doc, {key: (Path(dicom_out) if key.startswith("dicom_") else out) / path.name
                 for key, path in written.items()}
