"""Presets: named levels valid for every format, ordered by speed."""

from __future__ import annotations

import pytest

from comprimemelo.compression import ArchiveFormat, Preset


@pytest.mark.parametrize("fmt", list(ArchiveFormat), ids=str)
def test_every_preset_is_a_valid_level_and_balanced_is_the_default(fmt):
    low, high = fmt.level_range
    levels = [fmt.preset_level(preset) for preset in (Preset.FASTEST, Preset.BALANCED, Preset.SMALLEST)]
    assert all(low <= level <= high for level in levels)
    assert levels == sorted(levels)
    assert fmt.preset_level(Preset.BALANCED) == fmt.default_level


def test_only_zip_and_7z_are_encryptable():
    assert {fmt for fmt in ArchiveFormat if fmt.encryptable} == {ArchiveFormat.ZIP, ArchiveFormat.SEVEN_Z}
