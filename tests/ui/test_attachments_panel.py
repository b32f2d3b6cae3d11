"""The Files panel of a case: attach, list, view images and PDFs in memory, clear on lock."""

from __future__ import annotations

import io
import math
import tempfile
import zipfile
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter

from mrc_desktop.cases.attachments import list_attachments
from mrc_desktop.ui.cases.attachment_viewer import POINTS_PER_INCH, AttachmentViewer
from mrc_desktop.ui.cases.attachments_panel import AttachmentsPanel

WAIT_MS = 10_000


@pytest.fixture
def case_id(case_session) -> str:  # type: ignore[no-untyped-def]
    return case_session.repo.create_case(
        {"person_name": "Test Worker Bopha", "destination_country": "MY"}
    )


@pytest.fixture
def panel(case_session, ctx, qtbot, case_id):  # type: ignore[no-untyped-def]
    widget = AttachmentsPanel(case_session, ctx)
    qtbot.addWidget(widget)
    widget.set_case(case_id)
    widget.resize(700, 400)
    widget.show()
    return widget


def photo(folder: Path, name: str = "receipt.png", width: int = 320, height: int = 200) -> Path:
    """An invented "photo": a blue picture with a red square in its top-left quarter."""
    size = QSize(width, height)
    image = QImage(size, QImage.Format.Format_RGB32)
    image.fill(QColor("#1040c0"))
    painter = QPainter(image)
    painter.fillRect(QRect(0, 0, size.width() // 2, size.height() // 2), QColor("#e01010"))
    painter.end()
    path = folder / name
    assert image.save(str(path))
    return path


def contract_pdf(folder: Path, pages: int = 2) -> Path:
    """An invented A6 contract: each page has a black box in its upper half."""
    path = folder / "contract.pdf"
    writer = QPdfWriter(str(path))
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A6))
    writer.setResolution(72)
    painter = QPainter(writer)
    for page in range(pages):
        if page:
            writer.newPage()
        painter.fillRect(QRect(40, 40, 200, 120), QColor("black"))
        painter.drawText(40, 200, f"Invented contract, page {page + 1}")
    painter.end()
    return path


def attach(qtbot, panel: AttachmentsPanel, path: Path) -> None:  # type: ignore[no-untyped-def]
    before = len(panel.model.rows)
    panel.add_file(path)
    qtbot.waitUntil(lambda: not panel._busy, timeout=WAIT_MS)
    assert len(panel.model.rows) == before + 1, panel.message.text()


def open_viewer(qtbot, panel: AttachmentsPanel, row: int = -1) -> AttachmentViewer:  # type: ignore[no-untyped-def]
    info = panel.model.rows[row]
    viewer = panel.view(info)
    assert viewer is not None, panel.message.text()
    qtbot.waitUntil(
        lambda: viewer.rendered is not None or viewer.error is not None, timeout=WAIT_MS
    )
    return viewer


def shown_after(qtbot, viewer: AttachmentViewer, action) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(viewer.shown, timeout=WAIT_MS):
        action()


# -- adding and listing -------------------------------------------------------------------
def test_an_attached_photo_is_listed_with_its_details(
    panel, case_session, case_id, qtbot, qtmodeltester, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    qtmodeltester.check(panel.model)
    assert not panel.view_button.isEnabled()
    with qtbot.waitSignal(case_session.cases_changed, timeout=WAIT_MS) as changed:
        attach(qtbot, panel, photo(tmp_path))
    assert changed.args == [case_id]
    model = panel.model
    qtmodeltester.check(model)
    texts = [model.index(0, c).data() for c in range(model.columnCount())]
    assert texts[0] == "receipt.png" and texts[1] == "PNG image" and texts[4] == "Test Admin"
    assert texts[2].endswith(("bytes", "KB")) and texts[3]
    assert panel.message.text() == "receipt.png was attached."
    assert panel.view_button.isEnabled()  # the new file is selected
    entries = case_session.repo.entries(case_id)
    assert [e["payload"]["name"] for e in entries if e["kind"] == "document"] == ["receipt.png"]


def test_a_file_still_arriving_from_another_desk_cannot_be_viewed(
    panel, case_session, qtbot, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    attach(qtbot, panel, photo(tmp_path, width=900, height=900))
    db = case_session.db
    with db.conn:  # as at a desk that has the file's row and not yet its last part
        db.execute("drop trigger attachment_parts_no_delete")
        db.execute(
            "delete from attachment_parts where idx = (select max(idx) from attachment_parts)"
        )
    panel.refresh()
    panel.table.selectRow(0)
    assert not panel.model.rows[0].complete and not panel.view_button.isEnabled()
    assert panel.view(panel.model.rows[0]) is None
    assert panel.message.text() == "The file receipt.png could not be read."


def test_a_renamed_document_is_refused_with_a_clear_message(panel, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    fake = tmp_path / "passport.jpg"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    fake.write_bytes(buffer.getvalue())
    panel.add_file(fake)
    qtbot.waitUntil(lambda: not panel._busy, timeout=WAIT_MS)
    expected = "This file is not a JPEG image: it looks like a file of type DOCX."
    assert panel.message.text() == expected
    assert panel.message.isVisible() and panel.model.rowCount() == 0
    assert panel.add_button.isEnabled()


def test_a_200_mb_file_is_refused_with_sizes_in_the_message(panel, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    big = tmp_path / "scan.pdf"
    with big.open("wb") as handle:
        handle.write(b"%PDF-1.7\n")
        handle.truncate(200 * 1024 * 1024)
    panel.add_file(big)
    qtbot.waitUntil(lambda: not panel._busy, timeout=WAIT_MS)
    assert panel.message.text() == ("The file scan.pdf is too large (200 MB); the limit is 20 MB.")
    assert panel.model.rowCount() == 0


# -- viewing ------------------------------------------------------------------------------
def test_a_photo_is_shown_from_memory_with_zoom_and_fit(
    panel, case_session, case_id, qtbot, tmp_path, monkeypatch, mrc_home
) -> None:  # type: ignore[no-untyped-def]
    attach(qtbot, panel, photo(tmp_path, width=1600, height=1000))
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private_tmp))
    home_before = set(mrc_home.rglob("*"))
    viewer = open_viewer(qtbot, panel)
    assert viewer.error is None
    assert viewer.rendered is not None and viewer.rendered.image.size() == QSize(1600, 1000)
    # Fit to window (the default): the whole photo fits in the window.
    shown = viewer.picture.pixmap().deviceIndependentSize()
    box = viewer.scroll_area.size()
    assert shown.width() <= box.width() and shown.height() <= box.height()
    assert shown.width() / shown.height() == pytest.approx(1.6, rel=0.01)
    assert viewer.zoom_label.text() == f"{round(shown.width() / 1600 * 100)} %"
    shown_after(qtbot, viewer, viewer.actual_size)
    assert viewer.picture.pixmap().deviceIndependentSize().toSize() == QSize(1600, 1000)
    assert viewer.zoom_label.text() == "100 %"
    shown_after(qtbot, viewer, viewer.zoom_out)
    assert viewer.picture.pixmap().deviceIndependentSize().toSize() == QSize(1200, 750)
    top_left = viewer.picture.pixmap().toImage().pixelColor(10, 10)
    assert top_left.red() > 200 and top_left.blue() < 60  # the red corner, right way up
    # Nothing decrypted was written anywhere: not in the data folder, not in temp.
    assert list(private_tmp.iterdir()) == []
    new_files = set(mrc_home.rglob("*")) - home_before
    assert all(p.name.startswith("cases.db") for p in new_files), new_files
    views = [
        a for a in case_session.repo.audit_entries(case_id) if a["action"] == "view_attachment"
    ]
    assert [v["new_value"] for v in views] == [panel.model.rows[0].id]


def test_a_pdf_is_rendered_page_by_page_at_its_paper_size(panel, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    attach(qtbot, panel, contract_pdf(tmp_path, pages=2))
    assert panel.model.index(0, 1).data() == "PDF document"
    viewer = open_viewer(qtbot, panel)
    assert viewer.error is None and viewer.rendered is not None
    assert viewer.page_label.text() == "Page 1 of 2"
    assert not viewer.previous_button.isEnabled() and viewer.next_button.isEnabled()
    shown_after(qtbot, viewer, viewer.actual_size)
    rendered = viewer.rendered
    assert rendered is not None
    a6 = QPageSize(QPageSize.PageSizeId.A6).size(QPageSize.Unit.Point)
    assert rendered.page_points == pytest.approx((a6.width(), a6.height()), abs=1)
    per_point = viewer.logicalDpiX() / POINTS_PER_INCH * viewer.devicePixelRatioF()
    width, height = rendered.page_points
    assert rendered.image.size() == QSize(
        math.ceil(width * per_point), math.ceil(height * per_point)
    )
    assert viewer.zoom_label.text() == "100 %"
    # The black box drawn on the page is there, in the upper half.
    box_centre = rendered.image.pixelColor(int(140 * per_point), int(100 * per_point))
    assert box_centre.lightness() < 40
    assert rendered.image.pixelColor(int(140 * per_point), int(380 * per_point)).lightness() > 200
    shown_after(qtbot, viewer, viewer.next_page)
    assert viewer.page_label.text() == "Page 2 of 2" and not viewer.next_button.isEnabled()
    shown_after(qtbot, viewer, viewer.zoom_in)
    assert viewer.zoom_label.text() == "125 %"
    assert viewer.rendered.image.width() == math.ceil(width * per_point * 1.25)


def test_a_damaged_pdf_gets_a_clear_message(panel, qtbot, tmp_path) -> None:  # type: ignore[no-untyped-def]
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(contract_pdf(tmp_path).read_bytes()[:400])
    attach(qtbot, panel, damaged)
    viewer = open_viewer(qtbot, panel)
    assert viewer.rendered is None
    assert viewer.message.text() == "This PDF is damaged or incomplete, so it cannot be shown."
    assert viewer.picture.pixmap().isNull()


def test_locking_closes_the_viewer_and_empties_the_list(
    panel, case_session, qtbot, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    attach(qtbot, panel, photo(tmp_path))
    viewer = open_viewer(qtbot, panel)
    case_session.lock()
    assert panel.model.rowCount() == 0 and panel.case_id == ""
    assert panel.viewer is None and not viewer.isVisible()
    assert viewer.rendered is None and viewer._content is None
    assert not panel.add_button.isEnabled() and not panel.view_button.isEnabled()
    assert not panel.message.isVisible()


def test_a_file_read_while_the_desk_locks_is_not_stored(
    panel, case_session, case_id, qtbot, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    db = case_session.db
    panel.add_file(photo(tmp_path))
    case_session.lock()
    qtbot.waitUntil(lambda: not panel._busy, timeout=WAIT_MS)
    assert list_attachments(db, case_id) == []
    assert panel.model.rowCount() == 0 and not panel.message.isVisible()


def test_arabic_layout_and_language_switch(panel, ctx, qtbot, tmp_path, english) -> None:  # type: ignore[no-untyped-def]
    attach(qtbot, panel, photo(tmp_path))
    ctx.languages.apply("ar")
    assert panel.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert panel.model.index(0, 0).data() == "receipt.png"
    assert panel.add_button.text()
