"""DICOM Segmentation (SEG) of the study's VOIs, on the frames of the PET series they were measured on.

One binary segment per measured site, labelled with the site's title and coded with its segmented property
category and type, its anatomic region and, for the ilia, laterality (:mod:`.dicom_codes`), with the site's
display colour (Recommended Display CIELab Value) and the algorithm that made the VOI: family Neighborhood Analysis
for the lesion isocontour, Manual Processing for the spheres placed where the reader clicked, and the VOI method
as Algorithm Parameters. Every frame of the SEG references the PET instance it was derived from, so a viewer
overlays the VOIs exactly on the PET.

Geometry: the VOIs are masks ``[k, j, i]`` on the grid of the scene's PET volume (RAS). Each voxel is mapped to
the PET series through patient coordinates (RAS of the volume grid -> (i, j, k) of the series grid, whose k is
the index of the instance in slice order and whose i/j are DICOM columns/rows), so a volume whose slices or axes
run in another order than the files still lands on the right pixels. VOIs off the series grid are refused.

Needs the optional package highdicom (``pip install 'pentixaforquant[dicom]'``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .. import __version__
from ..errors import DicomExportError
from ..geometry import VoxelGrid
from ..measure.regions import RegionMask
from ..suv.codes import Code
from ..measure.sites import SITES
from .dicom_codes import ALGORITHM_FAMILY_OF_VOI, SITE_CODES, SITE_DISPLAY_RGB

__all__ = ["HIGHDICOM_REQUIREMENT", "require_highdicom", "coded", "MANUFACTURER", "UTF8", "regions_on_series", "study_segmentation"]

MANUFACTURER = "PentixaforQuant"
#: Specific Character Set of the new objects: UTF-8, so any name from the PET survives.
UTF8 = "ISO_IR 192"

#: A voxel centre must map to a series pixel centre within this fraction of a voxel.
GRID_TOLERANCE_VOXELS = 1e-3


#: The optional package the DICOM outputs need (the ``dicom`` extra of pyproject.toml says the same); inside Slicer
#: the module installs it with the user's consent.
HIGHDICOM_REQUIREMENT = "highdicom>=0.27"


def require_highdicom():
    """The highdicom module, or one clear refusal naming the extra to install."""
    try:
        import highdicom
    except ImportError:
        raise DicomExportError(
            "DICOM SEG and SR export needs the optional package highdicom: pip install 'pentixaforquant[dicom]' "
            f"(in Slicer: install {HIGHDICOM_REQUIREMENT} when the module offers it)"
        ) from None
    return highdicom


def coded(code: Code):
    """A highdicom ``CodedConcept`` of a :class:`~..suv.codes.Code`."""
    hd = require_highdicom()
    return hd.sr.CodedConcept(value=code.value, scheme_designator=code.scheme, meaning=code.meaning)


def _parameter_value(text: str) -> str:
    """A text as one value of the SEG's Algorithm Parameters, which readers (highdicom) split as
    ``key=value,key=value``: without commas or equals signs."""
    return text.replace(">=", "at least").replace(",", ";").replace("=", ":")


def regions_on_series(regions: Mapping[str, RegionMask], volume_grid: VoxelGrid, series_grid: VoxelGrid
                      ) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Indices ``(k, j, i)`` on the PET series (instance, row, column) of every voxel of each region.

    Raises
    ------
    DicomExportError
        A voxel does not fall on a pixel centre of the series or lies outside it.
    """
    same = (tuple(volume_grid.shape_kji) == tuple(series_grid.shape_kji)
            and np.allclose(volume_grid.ijk_to_ras, series_grid.ijk_to_ras, atol=1e-6))
    out = {}
    for site, region in regions.items():
        kji = region.indices_kji()
        if not same:
            ras = volume_grid.ijk_to_ras_points(kji[:, ::-1].astype(float))
            ijk = series_grid.ras_to_continuous_ijk(ras)
            rounded = np.rint(ijk)
            if kji.size and np.abs(ijk - rounded).max() > GRID_TOLERANCE_VOXELS:
                raise DicomExportError(
                    f"the {site} VOI is not on the grid of the PET series (off by up to "
                    f"{np.abs(ijk - rounded).max():.3g} voxels): export from the volume read from that series"
                )
            kji = rounded[:, ::-1].astype(np.int64)
        if kji.size and (kji.min() < 0 or np.any(kji.max(axis=0) >= np.asarray(series_grid.shape_kji))):
            raise DicomExportError(f"the {site} VOI reaches outside the PET series")
        out[site] = (kji[:, 0], kji[:, 1], kji[:, 2])
    return out


def study_segmentation(
    regions: Mapping[str, RegionMask],
    volume_grid: VoxelGrid,
    pet_datasets,
    series_grid: VoxelGrid,
    *,
    tracking_uids: Mapping[str, str],
    series_instance_uid: str,
    sop_instance_uid: str,
    series_number: int = 9001,
    voi_methods: Mapping[str, str] | None = None,
    content_creator_name: str | None = None,
    series_datetime=None,
):
    """The DICOM SEG (highdicom ``Segmentation``) of the VOIs.

    Parameters
    ----------
    regions : mapping
        Site -> VOI on ``volume_grid``, in segment order (segment numbers 1, 2, ... follow it).
    volume_grid : VoxelGrid
        Grid of the volume the VOIs were measured on.
    pet_datasets : list of pydicom.Dataset
        The PET instances in slice order (k = 0 first; :func:`~..suv.read_pet_headers` gives them). The frames
        a VOI touches are the SEG's source images.
    series_grid : VoxelGrid
        Grid of the PET series (``PetSeriesHeaders.grid``).
    tracking_uids : mapping
        Site -> tracking UID, shared with the SR measurement group of the same site.
    voi_methods : mapping, optional
        Site -> text of its VOI method, written as the segment's Algorithm Parameters.
    content_creator_name : str, optional
        The reader who placed the points (Content Creator's Name).
    series_datetime : datetime, optional
        Series Date/Time (and Content Date/Time) of the new series.
    """
    hd = require_highdicom()
    n_frames = len(pet_datasets)
    rows, cols = int(pet_datasets[0].Rows), int(pet_datasets[0].Columns)
    if tuple(series_grid.shape_kji) != (n_frames, rows, cols):
        raise DicomExportError(f"the PET series grid {tuple(series_grid.shape_kji)} does not match its "
                               f"{n_frames} instances of {rows}x{cols}")
    sites = list(regions)
    if not sites or not any(region.voxel_count for region in regions.values()):
        raise DicomExportError("no VOI to export: no site was measured")
    on_series = regions_on_series(regions, volume_grid, series_grid)
    # Only the PET frames a VOI touches become source images (a whole-body series has hundreds of empty ones).
    frames = np.unique(np.concatenate([k for k, _, _ in on_series.values()]))
    frame_of = np.full(n_frames, -1, dtype=np.int64)
    frame_of[frames] = np.arange(frames.size)
    pixels = np.zeros((frames.size, rows, cols, len(sites)), dtype=bool)
    descriptions = []
    for n, site in enumerate(sites, start=1):
        k, j, i = on_series[site]
        pixels[frame_of[k], j, i, n - 1] = True
        c = SITE_CODES[site]
        method = (voi_methods or {}).get(site)
        algorithm = hd.AlgorithmIdentificationSequence(
            name=MANUFACTURER, version=__version__,
            family=coded(ALGORITHM_FAMILY_OF_VOI[SITES[site].voi]),
            parameters={"VOI": _parameter_value(method)} if method else None)
        description = hd.seg.SegmentDescription(
            segment_number=n,
            segment_label=c.label,
            segmented_property_category=coded(c.category),
            segmented_property_type=coded(c.property_type),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC,
            algorithm_identification=algorithm,
            tracking_uid=tracking_uids[site],
            tracking_id=c.label,
            anatomic_regions=[coded(c.anatomic_region)] if c.anatomic_region is not None else None,
            display_color=hd.color.CIELabColor.from_rgb(*(round(255 * v) for v in SITE_DISPLAY_RGB[site])),
        )
        if c.laterality is not None:
            # Laterality of the anatomic region (PS3.3 C.8.20.4, Anatomic Region Modifier Sequence; CID 244).
            description.AnatomicRegionSequence[0].AnatomicRegionModifierSequence = [coded(c.laterality)]
        descriptions.append(description)
    seg = hd.seg.Segmentation(
        source_images=[pet_datasets[k] for k in frames],
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_instance_uid,
        series_number=series_number,
        sop_instance_uid=sop_instance_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=MANUFACTURER,
        software_versions=__version__,
        device_serial_number="1",
        series_description="PentixaforQuant VOIs",
        content_label="VOIS",
        content_description="PentixaforQuant VOIs: target lesion, blood pool, marrow sites",
        omit_empty_frames=True,
        content_creator_name=content_creator_name or None,
    )
    if series_datetime is not None:
        # Series Date/Time: QuantitativeReporting sorts the objects of a study by them.
        seg.SeriesDate = seg.ContentDate = series_datetime.strftime("%Y%m%d")
        seg.SeriesTime = seg.ContentTime = series_datetime.strftime("%H%M%S.%f")
    seg.SpecificCharacterSet = UTF8  # text is held decoded; written as UTF-8 whatever the PET used
    return seg
