"""The bundled sample submissions are what synthetic/samples.py makes from the current release."""

from __future__ import annotations

import pytest

from synthetic.samples import SAMPLES, SUBMITTED, write_samples


def test_samples_are_up_to_date(tmp_path):
    fresh = write_samples(tmp_path)
    for path in fresh:
        committed = SUBMITTED / path.relative_to(tmp_path)
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is out of date: run `python -m synthetic.samples` and commit it"
        )


@pytest.mark.parametrize("student", sorted(SAMPLES))
def test_every_sample_has_every_notebook(student):
    assert len(list((SUBMITTED / student / "mlp_from_scratch").glob("*.ipynb"))) == 3
