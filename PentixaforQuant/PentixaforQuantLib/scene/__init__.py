"""The protocol on a Slicer scene: a headless scene from slicer-core, the MRML adapter (volumes, markups, segments,
tables, plot charts), ``StudyLogic``, the panel controller every face drives, and a study from files to files. The
only package that imports ``slicer`` or ``vtk`` (besides the web face's views)."""
