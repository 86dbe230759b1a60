"""A student in JupyterLab: fills a stub of a release notebook and runs nbgrader's Validate."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.lab import STUDENT_FOLDER, LabServer, open_lab, shoot

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

NOTEBOOK = STUDENT_FOLDER / "01_linear_models_and_activations.ipynb"
#: The first line of the stub the student fills (the "work it out by hand" answers).
STUB = '# by_hand = {"relu(2)": ...'
#: The first line of that stub's public checks, and of another stub's, left unfilled.
CHECKS = "# Public checks: the structure of by_hand"
OTHER_CHECKS = "# Public checks for relu, tanh, sigmoid, leaky_relu."
WRONG = (
    'by_hand = {"relu(2)": 2.0, "relu(-2)": 0.0, "tanh(1)": 0.7616, "sigmoid(0)": 0.5, '
    '"relu_layer": [1.2]}'
)
RIGHT = WRONG.replace("[1.2]", "[1.2, 0.8]")
#: The public check that fails for WRONG.
MESSAGE = "relu_layer holds one value per neuron (2 neurons)"
#: Saving and executing the notebook in a fresh kernel (about 5 s on a quiet machine).
VALIDATE_MS = 120_000


def stub_editor(page: Page) -> Locator:
    """The code editor of the cell that holds the stub."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    expect(cells.filter(has_text=STUB)).to_have_count(1)
    index = next(i for i, text in enumerate(cells.all_inner_texts()) if STUB in text)
    return cells.nth(index).locator(".cm-content")


def type_code(page: Page, editor: Locator, code: str) -> None:
    """Replace the editor's code by ``code``, as typed (one insertion, no auto-closed brackets)."""
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(code)
    expect(editor).to_have_text(code)


def validate(page: Page) -> Locator:
    """Press the notebook's Validate button; the dialog with nbgrader's results."""
    page.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    expect(dialog).to_be_visible(timeout=VALIDATE_MS)
    return dialog


def close(dialog: Locator) -> None:
    dialog.get_by_role("button", name="Ok").click()
    expect(dialog).to_be_hidden()


def test_validate_reports_the_public_checks_of_the_stub_a_student_fills(
    lab: LabServer, page: Page
) -> None:
    open_lab(page, lab, workspace="student", path=NOTEBOOK.as_posix())
    editor = stub_editor(page)

    type_code(page, editor, WRONG)
    dialog = validate(page)
    expect(dialog).to_contain_text(CHECKS)
    message = dialog.get_by_text(MESSAGE).last  # the check's source, then the failure
    message.scroll_into_view_if_needed()
    expect(message).to_be_visible()
    shoot(page, "lab-student-validate")
    close(dialog)

    type_code(page, editor, RIGHT)
    dialog = validate(page)
    expect(dialog).to_contain_text(OTHER_CHECKS)  # the stubs left as they were still fail
    expect(dialog).not_to_contain_text(CHECKS)
