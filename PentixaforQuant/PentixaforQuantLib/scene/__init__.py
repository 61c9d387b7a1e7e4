"""The protocol on a Slicer scene: a headless scene from slicer-core, the MRML adapter (volumes, markups, segments,
tables), ``StudyLogic``, and a study from files to files. The only package that imports ``slicer`` or ``vtk``."""
