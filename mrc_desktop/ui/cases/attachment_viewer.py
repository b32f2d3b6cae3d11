"""Showing a case attachment inside the app, from memory only.

The decrypted file is never written to disk and cannot be saved from here: images are
decoded from the bytes (``QImageReader`` on a ``QBuffer``, with the photo's EXIF
orientation applied), PDFs are opened from the bytes by PDFium (``pypdfium2``) and
rendered one page at a time into a ``QImage``. Decoding and rendering run on a worker
thread; PDFium is not thread-safe, so every call into it holds one process-wide lock.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from dataclasses import dataclass

import pypdfium2 as pdfium
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QImageReader, QKeySequence, QPixmap, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from mrc_desktop.i18n import N_, _
from mrc_desktop.ui.background import run_task
from mrc_desktop.ui.locale_format import show_number
from mrc_desktop.ui.translatable import Translatable, translate_buttons

log = logging.getLogger("mrc_desktop.cases")

# Larger pictures or pages are decoded scaled down (40 Mpx is 160 MB as RGBA).
MAX_PIXELS = 40_000_000
ZOOMS = (0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0)
POINTS_PER_INCH = 72.0
_PDFIUM = threading.Lock()

DAMAGED_IMAGE = N_("This image is damaged or in a form that cannot be shown.")
DAMAGED_PDF = N_("This PDF is damaged or incomplete, so it cannot be shown.")
LOCKED_PDF = N_("This PDF is protected by a password, so it cannot be shown here.")


class ViewError(Exception):
    """The content cannot be shown; ``message`` is N_-marked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Rendered:
    """One picture ready to show: a decoded image, or one rendered PDF page."""

    image: QImage
    page: int = 0
    pages: int = 1
    page_points: tuple[float, float] = (0.0, 0.0)  # a PDF page's size; (0, 0) for images
    scale: float = 1.0  # a PDF page's logical pixels per point


def decode_image(content: bytes) -> Rendered:
    """Decode JPEG, PNG or WebP bytes (worker thread)."""
    buffer = QBuffer()
    buffer.setData(QByteArray(content))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if not reader.canRead() or not size.isValid() or size.isEmpty():
        raise ViewError(DAMAGED_IMAGE)
    pixels = size.width() * size.height()
    if pixels > MAX_PIXELS:
        factor = math.sqrt(MAX_PIXELS / pixels)
        reader.setScaledSize(
            QSize(max(1, int(size.width() * factor)), max(1, int(size.height() * factor)))
        )
    image = reader.read()
    if image.isNull():
        raise ViewError(DAMAGED_IMAGE)
    return Rendered(image)


def render_pdf_page(
    content: bytes, index: int, scale: float | None, fit: QSize, ratio: float, dpi: float
) -> Rendered:
    """Render page ``index`` of a PDF held in memory (worker thread).

    ``scale`` is logical pixels per point; None fits the page into ``fit`` (logical
    pixels). ``ratio`` is the screen's device pixel ratio, so pages stay sharp.
    """
    with _PDFIUM:
        try:
            pdf = pdfium.PdfDocument(content)  # bytes: loaded from memory, never a file
        except pdfium.PdfiumError as exc:
            locked = getattr(exc, "err_code", None) == pdfium.raw.FPDF_ERR_PASSWORD
            raise ViewError(LOCKED_PDF if locked else DAMAGED_PDF) from exc
        try:
            pages = len(pdf)
            index = min(max(index, 0), pages - 1)
            page = pdf[index]
            width, height = page.get_size()
            if width <= 0 or height <= 0:
                raise ViewError(DAMAGED_PDF)
            if scale is None:
                scale = max(min(fit.width() / width, fit.height() / height), 0.05)
            device = min(scale * ratio, math.sqrt(MAX_PIXELS / (width * height)))
            bitmap = page.render(scale=device, prefer_bgrx=True, rev_byteorder=True)
            image = QImage(
                bitmap.buffer,
                bitmap.width,
                bitmap.height,
                bitmap.stride,
                QImage.Format.Format_RGBX8888,
            ).copy()  # own the pixels: PDFium's buffer goes away with the bitmap
            bitmap.close()
            page.close()
        except pdfium.PdfiumError as exc:
            raise ViewError(DAMAGED_PDF) from exc
        finally:
            pdf.close()
    image.setDevicePixelRatio(ratio)
    return Rendered(image, index, pages, (width, height), device / ratio)


def _tagged(serial: int, work: functools.partial[Rendered]) -> tuple[int, Rendered]:
    return serial, work()


class AttachmentViewer(Translatable, QDialog):
    """A window showing one attachment, with zoom, fit to window and PDF pages."""

    shown = Signal()  # a picture or page is on screen (or a message saying why not)

    def __init__(
        self, name: str, media_type: str, content: bytes, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attachment_viewer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.name = name
        self.is_pdf = media_type == "application/pdf"
        self._content: bytes | None = content
        self.rendered: Rendered | None = None
        self.error: ViewError | None = None
        self.zoom = 1.0
        self.fit = True
        self.page = 0
        self._serial = 0
        self._started = False

        self.page_label = QLabel()
        self.page_label.setObjectName("viewer_page_number")
        self.previous_button, self.next_button = QPushButton(), QPushButton()
        self.previous_button.setObjectName("viewer_previous")
        self.next_button.setObjectName("viewer_next")
        self.previous_button.setShortcut(QKeySequence(Qt.Key.Key_PageUp))
        self.next_button.setShortcut(QKeySequence(Qt.Key.Key_PageDown))
        self.zoom_out_button, self.zoom_in_button = QPushButton(), QPushButton()
        self.zoom_out_button.setObjectName("viewer_zoom_out")
        self.zoom_in_button.setObjectName("viewer_zoom_in")
        self.zoom_out_button.setShortcut(QKeySequence.StandardKey.ZoomOut)
        self.zoom_in_button.setShortcut(QKeySequence.StandardKey.ZoomIn)
        self.zoom_label = QLabel()
        self.zoom_label.setObjectName("viewer_zoom")
        self.fit_button = QPushButton()
        self.fit_button.setObjectName("viewer_fit")
        self.fit_button.setCheckable(True)
        self.fit_button.setChecked(True)
        self.actual_button = QPushButton()
        self.actual_button.setObjectName("viewer_actual_size")
        tools = QHBoxLayout()
        for widget in (self.previous_button, self.page_label, self.next_button):
            tools.addWidget(widget)
        tools.addStretch(1)
        for widget in (
            self.zoom_out_button,
            self.zoom_label,
            self.zoom_in_button,
            self.actual_button,
            self.fit_button,
        ):
            tools.addWidget(widget)
        self.picture = QLabel()
        self.picture.setObjectName("viewer_picture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(self.picture)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message = QLabel()
        self.message.setObjectName("viewer_message")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(tools)
        layout.addWidget(self.message)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.buttons)
        for widget in (self.previous_button, self.next_button, self.page_label):
            widget.setVisible(self.is_pdf)
        self.previous_button.clicked.connect(self.previous_page)
        self.next_button.clicked.connect(self.next_page)
        self.zoom_in_button.clicked.connect(self.zoom_in)
        self.zoom_out_button.clicked.connect(self.zoom_out)
        self.actual_button.clicked.connect(self.actual_size)
        self.fit_button.toggled.connect(self.set_fit)
        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(120)
        self._resize_timer.timeout.connect(self._refit)
        self.resize(900, 700)
        self.retranslate()

    # -- text ------------------------------------------------------------------------
    def retranslate(self) -> None:
        # TRANSLATORS: title of the window showing an attached file; {name} is its name.
        self.setWindowTitle(_("{name} — attached file").format(name=self.name))
        self.previous_button.setText(_("Previous page"))
        self.next_button.setText(_("Next page"))
        self.zoom_out_button.setText(_("Zoom out"))
        self.zoom_in_button.setText(_("Zoom in"))
        # TRANSLATORS: shows the file at 100 % zoom.
        self.actual_button.setText(_("Actual size"))
        self.fit_button.setText(_("Fit to window"))
        translate_buttons(self.buttons)
        self._show_state()

    def _show_state(self) -> None:
        if self.error is not None:
            self.message.setText(_(self.error.message))
        elif self.rendered is None:
            self.message.setText(_("Opening the file…") if self._content else "")
        else:
            self.message.clear()
        self.message.setVisible(bool(self.message.text()))
        rendered = self.rendered
        pages = rendered.pages if rendered else 0
        self.page_label.setText(
            # TRANSLATORS: PDF page position, e.g. "Page 2 of 5".
            _("Page {page} of {pages}").format(
                page=show_number(self.page + 1), pages=show_number(pages)
            )
            if pages
            else ""
        )
        self.previous_button.setEnabled(pages > 0 and self.page > 0)
        self.next_button.setEnabled(pages > 0 and self.page < pages - 1)
        effective = round(self.effective_zoom() * 100)
        self.zoom_label.setText(
            _("{percent} %").format(percent=show_number(effective)) if rendered else ""
        )
        for button in (self.zoom_in_button, self.zoom_out_button, self.actual_button):
            button.setEnabled(rendered is not None)
        self.fit_button.setEnabled(self.error is None and self._content is not None)

    # -- loading ---------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._started:
            self._started = True
            self._request()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit and self._started:
            self._resize_timer.start()

    def _refit(self) -> None:
        if self.fit:
            self._request()

    def _fit_box(self) -> QSize:
        margin = 2 * self.scroll_area.frameWidth() + 8
        box = self.scroll_area.size() - QSize(margin, margin)
        return QSize(max(box.width(), 50), max(box.height(), 50))

    def _request(self) -> None:
        """Decode the image (once) or render the current PDF page, off the UI thread."""
        if self._content is None:
            return
        if not self.is_pdf and self.rendered is not None:
            self._display()
            return
        self._serial += 1
        if self.is_pdf:
            ratio = self.devicePixelRatioF()
            dpi = float(self.logicalDpiX())
            scale = None if self.fit else self.zoom * dpi / POINTS_PER_INCH
            work = functools.partial(
                render_pdf_page, self._content, self.page, scale, self._fit_box(), ratio, dpi
            )
        else:
            work = functools.partial(decode_image, self._content)
        run_task(functools.partial(_tagged, self._serial, work), self._loaded, self._failed)

    def _loaded(self, result: tuple[int, Rendered]) -> None:
        serial, rendered = result
        if serial != self._serial or self._content is None:
            return  # a newer request is on its way, or the viewer was cleared
        self.rendered = rendered
        self.error = None
        self.page = rendered.page
        self._display()

    def _failed(self, exc: BaseException) -> None:
        if self._content is None:
            return
        if isinstance(exc, ViewError):
            self.error = exc
        else:  # never show a traceback; the type is enough to investigate
            log.warning("attachment viewer: %s", type(exc).__name__)
            self.error = ViewError(DAMAGED_PDF if self.is_pdf else DAMAGED_IMAGE)
        self.rendered = None
        self.picture.clear()
        self._show_state()
        self.shown.emit()

    def _display(self) -> None:
        rendered = self.rendered
        if rendered is None:
            return
        image = rendered.image
        if not self.is_pdf:
            ratio = self.devicePixelRatioF()
            if self.fit:
                target = self._fit_box()
                if image.width() > target.width() or image.height() > target.height():
                    image = image.scaled(
                        target * ratio,
                        Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation,
                    )
                    image.setDevicePixelRatio(ratio)
            elif self.zoom != 1.0:
                image = image.scaled(
                    image.size() * self.zoom * ratio,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                image.setDevicePixelRatio(ratio)
        self.picture.setPixmap(QPixmap.fromImage(image))
        self._show_state()
        self.shown.emit()

    # -- zoom and pages ------------------------------------------------------------------
    def effective_zoom(self) -> float:
        """The zoom on screen. 100 % is one image pixel per (logical) screen pixel, or a
        PDF page at its paper size on a screen of the reported DPI."""
        rendered = self.rendered
        if rendered is None:
            return self.zoom
        if self.is_pdf:
            return rendered.scale * POINTS_PER_INCH / float(self.logicalDpiX())
        if not self.fit:
            return self.zoom
        shown = self.picture.pixmap().deviceIndependentSize().width()
        return shown / max(rendered.image.width(), 1)

    def set_zoom(self, zoom: float) -> None:
        self.zoom = min(max(zoom, ZOOMS[0]), ZOOMS[-1])
        self.fit_button.blockSignals(True)
        self.fit_button.setChecked(False)
        self.fit_button.blockSignals(False)
        self.fit = False
        self._request()

    def zoom_in(self) -> None:
        current = self.effective_zoom()
        self.set_zoom(next((z for z in ZOOMS if z > current + 0.01), ZOOMS[-1]))

    def zoom_out(self) -> None:
        current = self.effective_zoom()
        self.set_zoom(next((z for z in reversed(ZOOMS) if z < current - 0.01), ZOOMS[0]))

    def actual_size(self) -> None:
        self.set_zoom(1.0)

    def set_fit(self, fit: bool) -> None:
        self.fit = fit
        self.fit_button.blockSignals(True)
        self.fit_button.setChecked(fit)
        self.fit_button.blockSignals(False)
        self._request()

    def go_to_page(self, index: int) -> None:
        pages = self.rendered.pages if self.rendered else 0
        if self.is_pdf and 0 <= index < pages:
            self.page = index
            self._request()

    def next_page(self) -> None:
        self.go_to_page(self.page + 1)

    def previous_page(self) -> None:
        self.go_to_page(self.page - 1)

    # -- forgetting ------------------------------------------------------------------
    def clear(self) -> None:
        """Drop the decrypted content and every picture of it (the desk locked)."""
        self._content = None
        self.rendered = None
        self._serial += 1
        self.picture.clear()
        self._show_state()
