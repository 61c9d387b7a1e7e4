"""A Slicer "application" without the desktop: a real MRML scene with the module logics attached.

Inside the Slicer desktop application ``slicer.mrmlScene`` already exists and nothing here is needed. Headless
(tests, the command line, cohort runs) the same MRML classes come from the ``slicer-core`` wheel; this module
creates a scene, the application logic and the Volumes, Segmentations, Markups, Tables and Subject hierarchy
logics, registered the way the desktop application registers them, so that node classes, storage nodes and
segmentation converter rules exist and scenes (``.mrml``/``.mrb``) save and load.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field

__all__ = ["HeadlessSlicer", "in_slicer_application", "new_scene"]

_INSTALLED = None  # the HeadlessSlicer whose scene is ``slicer.mrmlScene``

_MODULE_LOGICS = (
    ("Volumes", "vtkSlicerVolumesLogic"),
    ("Segmentations", "vtkSlicerSegmentationsModuleLogic"),  # also registers labelmap <-> surface converters
    ("Markups", "vtkSlicerMarkupsLogic"),
    ("Tables", "vtkSlicerTablesLogic"),
    ("Plots", "vtkSlicerPlotsLogic"),
    ("SubjectHierarchy", "vtkSlicerSubjectHierarchyModuleLogic"),
)


def in_slicer_application() -> bool:
    """True inside the Slicer desktop application (or a Slicer launched with ``--no-main-window``)."""
    import slicer

    return hasattr(slicer, "app")


@dataclass
class HeadlessSlicer:
    """A scene plus application and module logics, built from ``slicer-core``.

    Attributes
    ----------
    scene : vtkMRMLScene
    app_logic : vtkSlicerApplicationLogic
    logics : dict
        Module logics by module name ("Volumes", "Segmentations", "Markups", "Tables", "Plots",
        "SubjectHierarchy").
    """

    scene: object
    app_logic: object
    logics: dict = field(default_factory=dict)

    @classmethod
    def create(cls, *, install_globals: bool = True) -> HeadlessSlicer:
        """Build a new headless scene.

        Parameters
        ----------
        install_globals : bool
            Also set ``slicer.mrmlScene`` and ``slicer.modules.<name>.logic()`` as the desktop application does,
            so that ``slicer.util`` helpers work. Never done inside the desktop application.
        """
        import slicer
        from vtkmodules.vtkCommonCore import vtkCollection, vtkOutputWindow

        # VTK warnings go to stderr instead of a popup window / stdout.
        out = vtkOutputWindow()
        out.SetDisplayModeToAlwaysStdErr()
        vtkOutputWindow.SetInstance(out)

        scene = slicer.vtkMRMLScene()
        app = slicer.vtkSlicerApplicationLogic()
        app.SetMRMLScene(scene)
        colors = app.GetColorLogic()
        colors.SetMRMLScene(scene)
        colors.AddDefaultColorNodes()  # PET-Heat, GenericAnatomyColors, ...
        app.SetModuleLogic("Colors", colors)  # the Volumes logic looks the colors up by this name
        app.SetSliceLogics(vtkCollection())
        app.SetViewLogics(vtkCollection())
        logics = {}
        for name, class_name in _MODULE_LOGICS:
            logic = getattr(slicer, class_name)()
            logic.SetMRMLScene(scene)
            logic.SetMRMLApplicationLogic(app)
            app.SetModuleLogic(name, logic)
            logics[name] = logic
        headless = cls(scene, app, logics)
        if install_globals and not in_slicer_application():
            headless.install_globals()
        return headless

    def install_globals(self) -> None:
        """Point ``slicer.mrmlScene`` and ``slicer.modules`` at this scene, as the desktop application does."""
        import slicer

        global _INSTALLED
        _INSTALLED = self  # the globals keep the application and module logics alive (``HeadlessSlicer.create()``
        # without keeping its result would otherwise free them under the scene's nodes: a crash on the next node)
        slicer.mrmlScene = self.scene
        slicer.modules = types.SimpleNamespace(
            **{name.lower(): types.SimpleNamespace(logic=(lambda lg=lg: lg)) for name, lg in self.logics.items()}
        )

    def open_bundle(self, mrb_path, work_dir) -> None:
        """Load a Slicer data bundle (``.mrb``) into this scene; ``work_dir`` receives the unpacked files."""
        from pathlib import Path

        Path(work_dir).mkdir(parents=True, exist_ok=True)  # the logic refuses a folder that does not exist
        if not self.app_logic.OpenSlicerDataBundle(str(mrb_path), str(work_dir)):
            raise OSError(f"cannot open scene bundle {mrb_path}")


def new_scene():
    """The scene to work in: Slicer's own scene in the desktop application, else a new headless one.

    Headless, the returned :class:`HeadlessSlicer` must be kept alive as long as its scene is used: the module
    logics it holds are what the scene's nodes call back into.
    """
    import slicer

    if in_slicer_application():
        return slicer.mrmlScene, None
    headless = HeadlessSlicer.create()
    return headless.scene, headless
