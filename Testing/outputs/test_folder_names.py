"""Folder names made from untrusted study ids."""

from __future__ import annotations

import pytest

from PentixaforQuantLib.outputs.folder_names import safe_folder_name


@pytest.mark.parametrize("study_id,expected", [
    ("P-001", "P-001"), ("../../etc/passwd", "______etc_passwd"), ("..", ""), ("a b\\c", "a_b_c"),
    (".hidden", "_hidden"), ("CON", "_CON"), ("Ülm 7", "_lm_7"), ("x" * 300, "x" * 120),
])
def test_safe_folder_names(study_id, expected):
    name = safe_folder_name(study_id)
    assert name == expected
    assert "/" not in name and "\\" not in name and not name.startswith(".")
