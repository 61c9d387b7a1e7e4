"""The panel's outputs: the results CSV, the study folder (as ``quantify`` writes it), DICOM SEG and SR, and the
study's row of the cohort table (a part of :class:`~.panel.PanelController`; see its module for the API).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from ..errors import PentixaforQuantError
from . import arguments
from .mrml import read_rows_table, write_rows_table
from .panel_suv import SOURCE_ATTRIBUTE

_COHORT_NAME = "PentixaforQuant cohort"


class PanelExports:
    """The export and cohort-row jobs of the panel controller."""

    # ----------------------------------------------------------------------------------------------- output
    def export_csv(self, path) -> Path:
        """Write the results rows (with units in the header) to a CSV file, atomically."""
        from ..outputs.atomic import write_file_atomically
        from ..outputs.results import write_rows_csv

        path = arguments.output_file(path, "export_csv")
        if self.study is None:
            raise PentixaforQuantError("nothing to export: load a PET volume and place points first")
        with tempfile.TemporaryDirectory() as work:
            text = write_rows_csv(self.result_rows(), Path(work) / "sites.csv", units=self._units()).read_bytes()
        with arguments.writing(path, "export_csv"):
            return write_file_atomically(path, text)

    def export_study(self, folder, *, figure: bool = False) -> dict:
        """Write study.json, sites.csv, the segmentation and the scene bundle into ``folder`` (whole or not at
        all, like the command line's ``quantify``). Returns the written paths by kind."""
        from .quantify import write_study_outputs

        folder = arguments.output_folder(folder, "export_study")
        if self.study is None:
            raise PentixaforQuantError("nothing to export: load a PET volume and place points first")
        source = json.loads(self.pet_node.GetAttribute(SOURCE_ATTRIBUTE) or "{}")
        with arguments.writing(folder, "export_study"):
            return write_study_outputs(self.logic, self.pet_node, self.points_node, self.study, folder,
                                       source=source, figure=figure)

    def export_dicom(self, folder) -> dict:
        """Write the study as DICOM SEG, SR TID 1500 and RWVM (``seg.dcm``, ``sr.dcm``, ``rwvm.dcm``) into
        ``folder``, whole or not at all, in the PET's DICOM study (see ``StudyLogic.export_dicom``; needs highdicom).
        Returns the paths."""
        folder = arguments.output_folder(folder, "export_dicom")
        if self.study is None:
            raise PentixaforQuantError("nothing to export: load a PET volume and place points first")
        with arguments.writing(folder, "export_dicom"):
            return self.logic.export_dicom(self.pet_node, self.points_node, folder, study=self.study,
                                           resolver=self._resolver)

    @property
    def cohort_table(self):
        return self.parameter_node.GetNodeReference("cohortTable")

    def add_to_cohort(self, study_id: str | None = None, **fields) -> dict:
        """Add this study as one wide row to the cohort table node (created on first use); a row with the same
        study id is replaced. Fields default to the panel's (``diagnosis``, ``group``, ``uptake``,
        ``activity_mbq``, ``peptide_mass_ug``). Returns the row."""
        from ..outputs.cohort_row import COHORT_COLUMNS, COHORT_TEXT_COLUMNS, cohort_row

        arguments.text_or_none(study_id, "add_to_cohort study_id")
        g = self.get_parameter
        study_id = study_id or g("studyId") or (self.pet_node.GetName() if self.pet_node is not None else "")
        values = {"diagnosis": g("diagnosis"), "group": g("group"), "uptake": g("uptake"),
                  "activity_mbq": g("activityMBq"), "peptide_mass_ug": g("peptideMassUg")}
        values.update(fields)
        try:
            row = cohort_row(self.study, study_id=study_id, error="" if self.study else
                             (self.suv_refusal or self.last_error or "not measured"), **values)
        except PentixaforQuantError as exc:
            raise PentixaforQuantError(f"cohort row: {exc}", field=exc.field) from None
        table = self.cohort_table
        if table is None:
            table = self.scene.AddNewNodeByClass("vtkMRMLTableNode", _COHORT_NAME)
            self._set_reference("cohortTable", table)
            rows = []
        else:
            names = [table.GetTable().GetColumn(c).GetName() for c in range(table.GetNumberOfColumns())]
            if names and names != list(COHORT_COLUMNS):
                raise PentixaforQuantError(f"table {table.GetName()!r} is not a cohort table (its columns are not "
                                           "the cohort columns); choose another table or none")
            rows = read_rows_table(table, text_columns=COHORT_TEXT_COLUMNS)
        rows = [r for r in rows if r.get("study_id") != row["study_id"]] + [row]
        write_rows_table(table, rows, COHORT_COLUMNS, text_columns=COHORT_TEXT_COLUMNS)
        self._notify()
        return row
