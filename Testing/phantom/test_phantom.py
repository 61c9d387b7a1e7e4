"""The synthetic Pentixafor reference phantom and its PET DICOM writer.

The phantom is the oracle of the end-to-end tests, so these tests check it against facts that do not depend on
the phantom code: analytic voxel counts of spheres (reference suv-and-metrics.md §1.5 C), the label under every
seed point, sphere containment on several grids, conservation of activity by the blur, and a plain-pydicom
decode of the written files (stored x slope x weight / decayed dose, with times and half-life read from the
files).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import numpy as np
import pydicom
import pytest
from scipy import ndimage

from PentixaforQuantLib.phantom.dicom_writer import (
    PET_IMAGE_STORAGE,
    PatientInfo,
    ScanInfo,
    suv_scale_factor,
    write_pet_series,
    write_phantom,
    write_truth_json,
)
from PentixaforQuantLib.geometry import VoxelGrid
from PentixaforQuantLib.phantom import (
    PhantomOptions,
    PhantomTruth,
    add_sphere_lesion,
    bladder_adjacent_lesion,
    border_lesion_options,
    make_phantom,
    make_whole_body_grid_phantom,
)
from PentixaforQuantLib.phantom.design import SEED_SITES
from PentixaforQuantLib.phantom.sampling import count_voxels_in_sphere

MARROW = ("C7", "T12", "L5", "right_ilium", "left_ilium")
# An oblique, orthonormal direction matrix (columns = i, j, k axes in RAS): rotations of 20, -15 and 30 degrees.
_a, _b, _c = np.radians([20.0, -15.0, 30.0])
_RX = np.array([[1, 0, 0], [0, np.cos(_a), -np.sin(_a)], [0, np.sin(_a), np.cos(_a)]])
_RY = np.array([[np.cos(_b), 0, np.sin(_b)], [0, 1, 0], [-np.sin(_b), 0, np.cos(_b)]])
_RZ = np.array([[np.cos(_c), -np.sin(_c), 0], [np.sin(_c), np.cos(_c), 0], [0, 0, 1]])
OBLIQUE = _RZ @ _RY @ _RX

GRIDS = {
    "4mm": PhantomOptions(),
    "2mm": PhantomOptions(spacing_mm=(2.0, 2.0, 2.0)),
    "aniso": PhantomOptions(spacing_mm=(4.07, 4.07, 3.0)),
    "offgrid": PhantomOptions(offgrid=True),
    "oblique": PhantomOptions(directions=OBLIQUE),
}


@pytest.fixture(scope="module")
def phantoms():
    return {name: make_phantom(opt) for name, opt in GRIDS.items()}


def _seed_structure(truth: PhantomTruth, site: str) -> str:
    return truth.target_lesion if site == "lesion" else site


def _sphere_mask(grid: VoxelGrid, center_ras, radius_mm: float) -> np.ndarray:
    """Voxels of ``grid`` whose centres lie within ``radius_mm`` of a RAS point (brute force over a generous box)."""
    centre = grid.ras_to_continuous_ijk(center_ras)
    reach = int(np.ceil(radius_mm / grid.spacing_mm.min())) + 2
    lo = np.clip(np.floor(centre).astype(int) - reach, 0, None)
    hi = np.minimum(np.floor(centre).astype(int) + reach + 1, grid.shape_ijk)
    i, j, k = np.meshgrid(*(np.arange(a, b) for a, b in zip(lo, hi)), indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1)
    inside = ijk[np.linalg.norm(grid.ijk_to_ras_points(ijk) - np.asarray(center_ras), axis=1) <= radius_mm * (1 + 1e-9)]
    mask = np.zeros(grid.shape_kji, bool)
    mask[inside[:, 2], inside[:, 1], inside[:, 0]] = True
    return mask


# ----------------------------------------------------------------------------------------------------- design
@pytest.mark.parametrize("grid_name", list(GRIDS))
def test_every_seed_point_lies_in_its_structure(phantoms, grid_name):
    ph = phantoms[grid_name]
    assert set(ph.truth.seeds_ras) == set(SEED_SITES)
    for site, ras in ph.truth.seeds_ras.items():
        kji = ph.grid.nearest_kji(ras)
        assert ph.label_names[int(ph.labels[kji])] == _seed_structure(ph.truth, site), site


@pytest.mark.parametrize("grid_name", ["4mm", "2mm"])
def test_seeds_and_lesion_centres_are_voxel_centres_on_default_grids(phantoms, grid_name):
    ph = phantoms[grid_name]
    points = list(ph.truth.seeds_ras.values())
    points += [st.center_ras for st in ph.truth.structures if st.group == "lesion"]
    ijk = ph.grid.ras_to_continuous_ijk(np.array(points))
    np.testing.assert_allclose(ijk, np.rint(ijk), atol=1e-9)


def test_offgrid_moves_every_seed_off_the_voxel_centres(phantoms):
    ph = phantoms["offgrid"]
    ijk = ph.grid.ras_to_continuous_ijk(np.array(list(ph.truth.seeds_ras.values())))
    assert np.all(np.abs(ijk - np.rint(ijk)) > 0.2)


@pytest.mark.parametrize(("grid_name", "voxels_10mm"), [("4mm", 7), ("2mm", 81)])
def test_lesion_voxel_counts_are_the_analytic_voxelised_spheres(phantoms, grid_name, voxels_10mm):
    ph = phantoms[grid_name]
    lesions = [st for st in ph.truth.structures if st.group == "lesion"]
    assert [st.size["diameter_mm"] for st in lesions] == [10.0, 13.0, 17.0, 22.0, 28.0, 37.0]
    for st in lesions:
        n_ball = len(ph.grid.ball_offsets_kji(st.size["radius_mm"]))
        assert st.voxel_count == n_ball == int(np.count_nonzero(ph.mask(st.name))), st.name
        assert np.all(ph.suv[ph.mask(st.name)] == np.float32(st.suv))
    assert ph.truth.structure("lesion_10mm").voxel_count == voxels_10mm
    if grid_name == "2mm":  # large spheres: voxelised volume close to the design volume
        for st in lesions[3:]:
            design_ml = 4 / 3 * math.pi * st.size["radius_mm"] ** 3 / 1000
            assert st.voxel_count * ph.grid.voxel_volume_ml == pytest.approx(design_ml, rel=0.08), st.name


@pytest.mark.parametrize("grid_name", ["4mm", "aniso", "offgrid", "oblique"])
def test_protocol_spheres_lie_fully_inside_their_structures(phantoms, grid_name):
    ph = phantoms[grid_name]
    for site in ("aorta", *MARROW):
        centre = ph.truth.seeds_ras[site]
        sphere = _sphere_mask(ph.grid, centre, 7.5)
        labels = np.unique(ph.labels[sphere])
        assert [ph.label_names[int(v)] for v in labels] == [site], (site, labels)
        expected = ph.truth.expected["marrow"][site] if site in MARROW else ph.truth.expected["blood_pool"]
        assert int(sphere.sum()) == expected["voxels"] == count_voxels_in_sphere(ph.grid, centre, 7.5)
        values = ph.suv[sphere]
        design = ph.truth.structure(site).suv
        assert values.max() == pytest.approx(design) and values.mean() == pytest.approx(design)


def test_marrow_and_aorta_hold_the_sphere_with_a_margin_of_one_4mm_voxel():
    # 7.5 mm sphere + 4 mm margin, checked on a fine grid so the margin is a property of the design.
    ph = make_phantom(PhantomOptions(spacing_mm=(1.0, 1.0, 1.0), fov_ras=((-130, -80, -240), (130, 30, 270))))
    for site in ("aorta", *MARROW):
        sphere = _ball_around(ph, site, 11.5)
        assert np.all(ph.labels[sphere] == ph.truth.structure(site).label), site


def _ball_around(ph, site, radius_mm):
    grid = ph.grid
    (k, j, i) = grid.nearest_kji(ph.truth.seeds_ras[site])
    mask = np.zeros(grid.shape_kji, bool)
    off = grid.ball_offsets_kji(radius_mm)
    mask[off[:, 0] + k, off[:, 1] + j, off[:, 2] + i] = True
    return mask


def test_design_values_are_distinct_and_the_target_is_the_hottest_lesion(phantoms):
    truth = phantoms["4mm"].truth
    marrow = [truth.structure(s).suv for s in MARROW]
    assert len(set(marrow)) == 5 and all(2.5 <= v <= 3.5 for v in marrow)
    lesions = [st for st in truth.structures if st.group == "lesion"]
    target = truth.structure(truth.target_lesion)
    assert target.suv == max(st.suv for st in lesions) and target.size["diameter_mm"] == 22.0
    assert truth.structure("bladder").suv > 3 * target.suv  # breaks naive global-max seeding
    assert truth.structure("aorta").size["lumen_radius_mm"] >= 12.0
    e = truth.expected
    assert e["tbr"] == pytest.approx(target.suv / truth.structure("aorta").suv)
    assert e["mean_suv_max"] == pytest.approx(np.mean(marrow))
    # RAS: patient right = positive R.
    assert truth.seeds_ras["left_ilium"][0] < 0 < truth.seeds_ras["right_ilium"][0]
    assert truth.seeds_ras["C7"][2] > truth.seeds_ras["T12"][2] > truth.seeds_ras["L5"][2]


@pytest.mark.parametrize("grid_name", ["4mm", "2mm", "aniso", "offgrid", "oblique"])
def test_forty_percent_isocontour_of_every_lesion_is_its_voxelised_sphere(phantoms, grid_name):
    # The lesions sit in tissue below 40 % of their SUV, so the connected 40 % region is exactly the label.
    ph = phantoms[grid_name]
    for st in (s for s in ph.truth.structures if s.group == "lesion"):
        seed = ph.grid.nearest_kji(st.center_ras)
        comp, _ = ndimage.label(ph.suv >= 0.4 * ph.suv[seed])  # 6-connected
        voi = comp == comp[seed]
        np.testing.assert_array_equal(voi, ph.mask(st.name), err_msg=st.name)
    e = ph.truth.expected["lesion"]
    assert e["voxels"] == ph.truth.structure(ph.truth.target_lesion).voxel_count
    assert e["volume_ml"] == pytest.approx(e["voxels"] * ph.grid.voxel_volume_ml)


def test_oblique_grid_places_the_lesions_at_their_ras_centres(phantoms):
    ph = phantoms["oblique"]
    np.testing.assert_allclose(ph.grid.directions, OBLIQUE, atol=1e-12)
    for st in (s for s in ph.truth.structures if s.group == "lesion" and s.size["diameter_mm"] >= 17):
        kji = np.argwhere(ph.mask(st.name))
        centroid = ph.grid.ijk_to_ras_points(kji[:, ::-1]).mean(axis=0)
        np.testing.assert_allclose(centroid, st.center_ras, atol=1.0, err_msg=st.name)
        # Every voxel centre of the label lies inside the design sphere, and none outside is missed.
        assert np.array_equal(ph.mask(st.name), _sphere_mask(ph.grid, st.center_ras, st.size["radius_mm"]))


# ------------------------------------------------------------------------------------------ blur and noise
@pytest.mark.parametrize("spacing", [(4.0, 4.0, 4.0), (4.07, 4.07, 3.0)])
def test_blur_conserves_total_activity(spacing):
    sharp = make_phantom(PhantomOptions(spacing_mm=spacing))
    blurred = make_phantom(PhantomOptions(spacing_mm=spacing, fwhm_mm=6.0))
    vv = sharp.grid.voxel_volume_ml
    total = sharp.suv.sum(dtype=np.float64) * vv
    assert blurred.suv.sum(dtype=np.float64) * vv == pytest.approx(total, rel=1e-5)
    np.testing.assert_array_equal(blurred.labels, sharp.labels)
    assert blurred.suv.dtype == np.float32
    # Partial-volume loss: the blurred 10 mm lesion peaks well below its design value, the 37 mm one does not.
    for name, low, high in (("lesion_10mm", 2.5, 7.0), ("lesion_37mm", 8.7, 9.0 + 1e-4)):
        peak = blurred.suv[blurred.mask(name)].max()
        assert low < peak < high, (name, peak)


def test_blur_matches_the_analytic_profile_of_a_large_sphere():
    # 37 mm sphere, FWHM 6 mm, 2 mm voxels: the centre keeps the design value (C(0) = 1.0000, reference §3.6),
    # and the value at the surface is about halfway between lesion and background.
    ph = make_phantom(PhantomOptions(spacing_mm=(2.0, 2.0, 2.0), fwhm_mm=6.0,
                                     fov_ras=((20, 10, -250), (110, 110, -150))))
    st = ph.truth.structure("lesion_37mm")
    c = np.asarray(st.center_ras)
    assert ph.suv[ph.grid.nearest_kji(c)] == pytest.approx(9.0, abs=1e-3)
    surface = ph.suv[ph.grid.nearest_kji(c + [0, 0, 18.0])], ph.suv[ph.grid.nearest_kji(c + [0, 0, 20.0])]
    half = (9.0 + 0.7) / 2
    assert surface[1] < half < surface[0]


def test_noise_is_multiplicative_and_reproducible_with_the_seed():
    a = make_phantom(PhantomOptions(fwhm_mm=6.0, noise=0.1, seed=7))
    b = make_phantom(PhantomOptions(fwhm_mm=6.0, noise=0.1, seed=7))
    c = make_phantom(PhantomOptions(fwhm_mm=6.0, noise=0.1, seed=8))
    clean = make_phantom(PhantomOptions(fwhm_mm=6.0))
    np.testing.assert_array_equal(a.suv, b.suv)
    assert not np.array_equal(a.suv, c.suv)
    liver = ndimage.binary_erosion(a.mask("liver"), iterations=3)
    ratio = a.suv[liver] / clean.suv[liver]
    assert ratio.mean() == pytest.approx(1.0, abs=0.01) and ratio.std() == pytest.approx(0.1, rel=0.1)
    assert np.all(a.suv[clean.suv == 0] == 0)  # zero outside the body stays zero


# ------------------------------------------------------------------------------------------- special lesions
def test_bladder_adjacent_lesion_touches_the_bladder_and_stays_whole():
    for opt in (PhantomOptions(), PhantomOptions(spacing_mm=(4.07, 4.07, 3.0))):
        les = bladder_adjacent_lesion()
        ph = make_phantom(add_sphere_lesion(opt, les.center_ras, les.diameter_mm, les.suv, les.name))
        lesion = ph.mask(les.name)
        assert lesion.sum() == count_voxels_in_sphere(ph.grid, les.center_ras, les.radius_mm)
        touching = ndimage.binary_dilation(lesion) & ph.mask("bladder")  # 6-connected neighbours
        assert touching.any()
        # The naive 40 % region from the lesion leaks into the bladder: what the leak guard must catch.
        seed = ph.grid.nearest_kji(les.center_ras)
        comp, _ = ndimage.label(ph.suv >= 0.4 * ph.suv[seed])
        assert np.any(ph.mask("bladder")[comp == comp[seed]])
        assert ph.truth.target_lesion == "lesion_22mm"  # an extra lesion is not the target unless asked


def test_extra_lesion_can_become_the_target():
    opt = add_sphere_lesion(None, (40.0, 40.0, -60.0), 17.0, 15.0, "hot_node", target=True)
    ph = make_phantom(opt)
    assert ph.truth.target_lesion == "hot_node"
    assert ph.truth.seeds_ras["lesion"] == (40.0, 40.0, -60.0)
    assert ph.truth.expected["lesion"]["suv_max"] == 15.0
    assert ph.truth.expected["tbr"] == pytest.approx(7.5)
    with pytest.raises(ValueError, match="used twice"):
        make_phantom(add_sphere_lesion(None, (0, 0, 0), 10, 5, "lesion_22mm"))


def test_border_lesion_is_cut_by_the_first_voxel_plane():
    ph = make_phantom(border_lesion_options())
    st = ph.truth.structure("lesion_at_border")
    ijk = ph.grid.ras_to_continuous_ijk(st.center_ras)
    assert ijk[0] == pytest.approx(0.0)
    mask = ph.mask("lesion_at_border")
    assert mask[:, :, 0].any()
    half = sum(1 for d in ph.grid.ball_offsets_kji(st.size["radius_mm"]) if d[2] >= 0)
    assert int(mask.sum()) == half
    for site, ras in ph.truth.seeds_ras.items():  # the protocol seeds are still in the image
        assert ph.grid.contains_ijk(ph.grid.ras_to_continuous_ijk(ras)), site


# -------------------------------------------------------------------------------------- whole-body grid, JSON
@pytest.mark.slow
def test_whole_body_grid_phantom_has_the_clinical_grid_and_all_structures():
    ph = make_whole_body_grid_phantom(shape_kji=(330, 240, 240), spacing_mm=(1.6, 1.6, 2.0))
    assert ph.suv.shape == (330, 240, 240) and ph.suv.dtype == np.float32 and ph.labels.dtype == np.uint8
    np.testing.assert_allclose(ph.grid.spacing_mm, (1.6, 1.6, 2.0))
    for site, ras in ph.truth.seeds_ras.items():
        assert ph.label_names[int(ph.labels[ph.grid.nearest_kji(ras)])] == _seed_structure(ph.truth, site)
    assert {st.name for st in ph.truth.structures if st.voxel_count == 0} == set()


def test_truth_is_json_serialisable_and_round_trips(phantoms, tmp_path):
    ph = phantoms["oblique"]
    path = write_truth_json(ph.truth, tmp_path / "truth.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["seeds_ras"]["aorta"] == list(ph.truth.seeds_ras["aorta"])
    assert data["label_names"][str(ph.truth.structure("C7").label)] == "C7"
    back = PhantomTruth.from_dict(data)
    np.testing.assert_allclose(back.grid.ijk_to_ras, ph.grid.ijk_to_ras)
    assert back.grid.shape_kji == ph.grid.shape_kji
    assert back.seeds_ras == ph.truth.seeds_ras and back.expected == ph.truth.expected
    assert back.structures == ph.truth.structures


# ------------------------------------------------------------------------------------------------- DICOM
def _dicom_datetime(date: str, time: str) -> datetime:
    return datetime.strptime(date + time.split(".")[0].ljust(6, "0"), "%Y%m%d%H%M%S")


def _decode_series(folder):
    """Plain-pydicom SUVbw decode: (suv [k, j, i], ijk_to_ras, datasets sorted by position, slopes in SUV)."""
    datasets = [pydicom.dcmread(p) for p in sorted(folder.glob("*.dcm"))]
    first = datasets[0]
    iop = np.asarray(first.ImageOrientationPatient, float)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    datasets.sort(key=lambda ds: float(np.dot(normal, np.asarray(ds.ImagePositionPatient, float))))

    rp = first.RadiopharmaceuticalInformationSequence[0]
    half_life = float(rp.RadionuclideHalfLife)
    dose = float(rp.RadionuclideTotalDose)
    if dose < 1e5:  # stored in MBq
        dose *= 1e6
    series = _dicom_datetime(first.SeriesDate, first.SeriesTime)
    if "RadiopharmaceuticalStartDateTime" in rp:
        start = datetime.strptime(rp.RadiopharmaceuticalStartDateTime.split(".")[0], "%Y%m%d%H%M%S")
    else:
        start = _dicom_datetime(first.SeriesDate, rp.RadiopharmaceuticalStartTime)
        if start > series:  # injected before midnight
            start -= timedelta(days=1)
    decayed = dose * 2.0 ** (-(series - start).total_seconds() / half_life)
    factor = float(first.PatientWeight) * 1000.0 / decayed
    if first.Units == "CNTS":
        factor = float(first[0x7053, 0x1000].value)

    suv = np.stack([ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
                    for ds in datasets]) * factor
    slopes_suv = np.array([float(ds.RescaleSlope) * factor for ds in datasets])

    sp = np.asarray(first.PixelSpacing, float)
    p0 = np.asarray(datasets[0].ImagePositionPatient, float)
    p1 = np.asarray(datasets[1].ImagePositionPatient, float)
    lps = np.eye(4)
    lps[:3, 0], lps[:3, 1], lps[:3, 2], lps[:3, 3] = row * sp[1], col * sp[0], p1 - p0, p0
    ijk_to_ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    return suv, ijk_to_ras, datasets, slopes_suv


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The blurred, noisy default phantom written once per radionuclide."""
    out = {}
    for nuc in ("Ga-68", "F-18"):
        crop = None if nuc == "Ga-68" else ((-190, -130, -160), (190, 130, 240))  # F-18: a shorter series
        ph = make_phantom(PhantomOptions(radionuclide=nuc, fwhm_mm=6.0, noise=0.05, seed=3, fov_ras=crop))
        folder = write_phantom(ph, tmp_path_factory.mktemp(nuc))
        out[nuc] = (ph, folder)
    return out


@pytest.mark.parametrize("nuc", ["Ga-68", "F-18"])
def test_written_series_has_the_pet_headers(written, nuc):
    ph, folder = written[nuc]
    files = sorted((folder / "dicom").glob("*.dcm"))
    assert len(files) == ph.grid.shape_kji[0]
    datasets = [pydicom.dcmread(p) for p in files]
    ds = datasets[0]
    assert ds.SOPClassUID == PET_IMAGE_STORAGE == ds.file_meta.MediaStorageSOPClassUID
    assert ds.Modality == "PT" and ds.Units == "BQML" and ds.DecayCorrection == "START"
    assert {"ATTN", "DECY"} <= set(ds.CorrectedImage)
    assert ds.PixelRepresentation == 1 and ds.BitsAllocated == 16 and float(ds.RescaleIntercept) == 0.0
    assert float(ds.PatientWeight) == 70.0 and float(ds.PatientSize) == 1.75 and ds.PatientSex == "M"
    assert ds.SeriesTime.startswith("110000") and ds.AcquisitionTime.startswith("110000")
    assert float(ds.ActualFrameDuration) > 0 and float(ds.FrameReferenceTime) > 0
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadiopharmaceuticalStartTime.startswith("100000")
    assert rp.RadiopharmaceuticalStartDateTime.startswith(ds.SeriesDate + "100000")
    code = rp.RadionuclideCodeSequence[0]
    if nuc == "Ga-68":
        assert rp.Radiopharmaceutical == "Ga68-Pentixafor"
        assert float(rp.RadionuclideHalfLife) == 4057.7 and float(rp.RadionuclideTotalDose) == 150e6
        assert (code.CodeValue, code.CodeMeaning) == ("C-131A3", "^68^Gallium")
    else:
        assert float(rp.RadionuclideHalfLife) == 6586.2 and float(rp.RadionuclideTotalDose) == 368.08e6
        assert (code.CodeValue, code.CodeMeaning) == ("C-111A1", "^18^Fluorine")
    assert code.CodingSchemeDesignator == "SRT"
    # One series, unique instances, real UIDs.
    for key in ("StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID"):
        assert len({ds[key].value for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
    assert all(ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID for ds in datasets)
    assert pydicom.uid.UID(ds.SeriesInstanceUID).is_valid
    # File names are not in slice order: readers must sort by position.
    positions = [float(d.ImagePositionPatient[2]) for d in datasets]
    assert positions != sorted(positions) and positions != sorted(positions, reverse=True)


@pytest.mark.parametrize("nuc", ["Ga-68", "F-18"])
def test_plain_pydicom_decode_reproduces_the_suv_map(written, nuc):
    ph, folder = written[nuc]
    suv, ijk_to_ras, datasets, slopes = _decode_series(folder / "dicom")
    np.testing.assert_allclose(ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    err = np.abs(suv - ph.suv.astype(np.float64))
    assert np.all(err <= slopes[:, None, None] / 2 + 1e-6)  # int16 rounding (round, not truncate)
    # >= 4 significant digits for the hottest value of every slice.
    peaks = np.abs(ph.suv).reshape(len(slopes), -1).max(axis=1)
    assert np.all(slopes[peaks > 0] / peaks[peaks > 0] <= 1.0001 / 32767)
    # Activity: Bq/mL = SUV x decayed dose / weight (the SUV factor from the writer's constants).
    assert suv_scale_factor(nuc) == pytest.approx(70_000.0 / (
        {"Ga-68": 150e6, "F-18": 368.08e6}[nuc] * 2 ** (-3600 / {"Ga-68": 4057.7, "F-18": 6586.2}[nuc])))
    stored_peak = max(int(ds.pixel_array.max()) for ds in datasets)
    assert stored_peak == 32767


def test_f18_baseline_matches_the_ibsi_constants():
    # IBSI-SUV DRO_0_0: SUV 1 at 60 min is 3600 Bq/mL (decayed dose 252.0 MBq over 70 kg).
    assert 1.0 / suv_scale_factor("F-18") == pytest.approx(3600.0, rel=1e-4)


@pytest.mark.parametrize("variant", ["dose-mbq", "philips-cnts", "midnight"])
def test_header_variants_decode_to_the_same_suv(tmp_path, variant):
    ph = make_phantom(PhantomOptions(fov_ras=((-60, -60, -140), (60, 60, -100))))  # 11 slices around the target
    write_pet_series(ph.suv, ph.grid, tmp_path, variant=variant)
    suv, ijk_to_ras, datasets, slopes = _decode_series(tmp_path)
    np.testing.assert_allclose(ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    assert np.all(np.abs(suv - ph.suv) <= slopes[:, None, None] / 2 + 1e-6)
    ds = datasets[0]
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    if variant == "dose-mbq":
        assert float(rp.RadionuclideTotalDose) == 150.0
    elif variant == "philips-cnts":
        assert ds.Units == "CNTS" and ds[0x7053, 0x0010].value == "Philips PET Private Group"
        assert float(ds[0x7053, 0x1009].value) == 1.0
    else:
        assert "RadiopharmaceuticalStartDateTime" not in rp
        assert rp.RadiopharmaceuticalStartTime.startswith("233000") and ds.SeriesTime.startswith("003000")


def test_oblique_and_anisotropic_geometry_survive_the_dicom_round_trip(tmp_path):
    for name, opt in (("oblique", PhantomOptions(directions=OBLIQUE, fov_ras=((10, 0, -150), (70, 80, -90)))),
                      ("aniso", PhantomOptions(spacing_mm=(4.07, 3.3, 3.0), fov_ras=((10, 0, -150), (70, 80, -90))))):
        ph = make_phantom(opt)
        write_pet_series(ph.suv, ph.grid, tmp_path / name, patient=PatientInfo(weight_kg=82.5),
                         scan=ScanInfo(series=datetime(2024, 3, 14, 11, 12, 30)))
        suv, ijk_to_ras, _, slopes = _decode_series(tmp_path / name)
        np.testing.assert_allclose(ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
        assert np.all(np.abs(suv - ph.suv) <= slopes[:, None, None] / 2 + 1e-6)
        kji = ph.grid.nearest_kji(ph.truth.seeds_ras["lesion"])
        assert suv[kji] == pytest.approx(12.0, abs=slopes[kji[0]])


def test_writer_refuses_a_shape_that_does_not_match_the_grid(tmp_path):
    ph = make_phantom(PhantomOptions(fov_ras=((-20, -20, -20), (20, 20, 20))))
    with pytest.raises(ValueError, match="does not match"):
        write_pet_series(ph.suv[:-1], ph.grid, tmp_path)
    with pytest.raises(ValueError, match="variant"):
        write_pet_series(ph.suv, ph.grid, tmp_path, variant="gml")


# ------------------------------------------------------------------------------ through the project's reader
@pytest.mark.parametrize("nuc", ["Ga-68", "F-18"])
def test_read_pet_volume_returns_the_written_phantom(written, nuc):
    from PentixaforQuantLib.suv.series_reader import read_pet_volume

    ph, folder = written[nuc]
    volume = read_pet_volume(folder / "dicom")
    _, _, _, slopes = _decode_series(folder / "dicom")
    np.testing.assert_allclose(volume.grid.ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    assert volume.suv.shape == ph.suv.shape and volume.suv.dtype == np.float32
    assert np.all(np.abs(volume.suv - ph.suv) <= slopes[:, None, None] / 2 * (1 + 1e-4) + 1e-5)


_SMALL_FOV = ((0, -10, -160), (80, 90, -80))  # around the target lesion


@pytest.mark.parametrize(
    ("variant", "options"),
    [
        ("standard", PhantomOptions(spacing_mm=(4.07, 3.3, 3.0), fwhm_mm=6.0, fov_ras=_SMALL_FOV)),
        ("standard", PhantomOptions(directions=OBLIQUE, fov_ras=_SMALL_FOV)),
        ("dose-mbq", PhantomOptions(fov_ras=_SMALL_FOV)),
        ("philips-cnts", PhantomOptions(fov_ras=_SMALL_FOV)),
        ("midnight", PhantomOptions(fov_ras=_SMALL_FOV)),
    ],
    ids=["anisotropic", "oblique", "dose-mbq", "philips-cnts", "midnight"],
)
def test_read_pet_volume_handles_every_geometry_and_header_variant(tmp_path, variant, options):
    from PentixaforQuantLib.suv.series_reader import read_pet_volume

    ph = make_phantom(options)
    slices = write_pet_series(ph.suv, ph.grid, tmp_path, radionuclide=ph.truth.radionuclide, variant=variant)
    volume = read_pet_volume(tmp_path)
    np.testing.assert_allclose(volume.grid.ijk_to_ras, ph.grid.ijk_to_ras, atol=1e-6)
    assert volume.suv.shape == ph.suv.shape and volume.suv.dtype == np.float32
    half_step = np.array([s.rescale_slope for s in slices]) * suv_scale_factor(ph.truth.radionuclide) / 2
    assert np.all(np.abs(volume.suv - ph.suv) <= half_step[:, None, None] * (1 + 1e-4) + 1e-5)
    kji = ph.grid.nearest_kji(ph.truth.seeds_ras["lesion"])
    assert volume.suv[kji] == pytest.approx(ph.suv[kji], abs=2 * half_step[kji[0]] + 1e-5)
