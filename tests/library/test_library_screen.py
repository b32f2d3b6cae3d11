"""The Library screen as a counsellor uses it."""

import itertools
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from pytestqt.qtbot import QtBot

from mrc_desktop.library import bookmarks
from mrc_desktop.ui.context import AppContext
from mrc_desktop.ui.library_screen import LibraryScreen
from tests.library.conftest import write_article


@pytest.fixture
def screen(
    qtbot: QtBot, ctx: AppContext, content: Path, monkeypatch: pytest.MonkeyPatch
) -> LibraryScreen:
    monkeypatch.setattr("mrc_desktop.ui.library_screen.content_dir", lambda: content)
    widget = LibraryScreen(ctx)
    widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.index is not None, timeout=20_000)
    return widget


def pick(combo, code: str) -> None:  # type: ignore[no-untyped-def]
    combo.setCurrentIndex(combo.findData(code))


def test_topics_list_the_articles(screen: LibraryScreen) -> None:
    tops = [
        screen.topic_tree.topLevelItem(i).text(0)
        for i in range(screen.topic_tree.topLevelItemCount())
    ]
    assert "Recruitment and fees" in tops and "Contracts and documents" in tops
    assert not screen.progress.isVisible()


def test_search_as_you_type_in_thai(qtbot: QtBot, screen: LibraryScreen) -> None:
    # QTest can type only ASCII keys; insert() goes through the same textChanged path.
    screen.search_box.insert("ค่าธรรมเนียม")
    qtbot.waitUntil(lambda: "ใครจ่าย" in screen.results.toPlainText(), timeout=3000)
    assert screen.tabs.currentWidget() is screen.results


def test_two_character_khmer_search_then_read(qtbot: QtBot, screen: LibraryScreen) -> None:
    screen.search_box.setText("សុ")
    screen.run_search()
    assert "អ្នកណាបង់ថ្លៃសេវា" in screen.results.toPlainText()
    screen._open_result(QUrl("mrc:article/fees?lang=km"))
    assert "អ្នកណាបង់ថ្លៃសេវា" in screen.reader.toPlainText()
    assert "Draft translation" in screen.badge_label.text()


def test_untranslated_article_falls_back_to_english_with_a_badge(screen: LibraryScreen) -> None:
    pick(screen.worker_lang, "si")
    screen.open_article("passport")
    assert "Keep your passport" in screen.reader.toPlainText()
    assert "Not yet translated" in screen.badge_label.text()


def test_side_by_side_keeps_sections_aligned(screen: LibraryScreen) -> None:
    pick(screen.worker_lang, "ar")
    screen.side_by_side.setChecked(True)
    pick(screen.counsellor_lang, "en")
    screen.open_article("fees")
    html = screen.reader.toHtml()
    assert "Who pays recruitment fees" in screen.reader.toPlainText()
    assert "من يدفع رسوم التوظيف" in screen.reader.toPlainText()
    doc_text = screen.reader.toPlainText()
    # Each English section heading precedes its Arabic counterpart in the same row.
    assert doc_text.index("One") < doc_text.index("Two")
    assert html.count("<tr>") >= 3  # opening + two sections


def test_bookmarks_and_recent(screen: LibraryScreen, ctx: AppContext) -> None:
    screen.open_article("passport")
    screen.bookmark_button.setChecked(True)
    assert [r.slug for r in bookmarks.bookmarks(ctx.store.conn)] == ["passport"]
    assert screen.bookmark_tree.topLevelItem(0).text(0) == "Keep your passport"
    assert screen.recent_tree.topLevelItem(0).text(0) == "Keep your passport"
    screen.bookmark_button.setChecked(False)
    assert bookmarks.bookmarks(ctx.store.conn) == []


def test_text_size_is_remembered(screen: LibraryScreen, ctx: AppContext) -> None:
    screen.change_zoom(+2)
    assert ctx.settings.get("reader_text_size") == 2
    assert '"reader_text_size": 2' in ctx.paths.settings_file.read_text("utf-8")


def test_a_broken_article_is_reported_and_the_rest_loads(
    qtbot: QtBot, ctx: AppContext, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (content / "en" / "broken.md").write_text("no header here\n", "utf-8")
    monkeypatch.setattr("mrc_desktop.ui.library_screen.content_dir", lambda: content)
    widget = LibraryScreen(ctx)
    widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.index is not None, timeout=20_000)
    assert "broken.md:1" in widget.status.text()
    assert widget.library.get("fees", "en") is not None


def test_external_links_need_confirmation(
    screen: LibraryScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    monkeypatch.setattr(
        "mrc_desktop.ui.widgets.article_view.QDesktopServices.openUrl",
        lambda url: opened.append(url.toString()),
    )
    monkeypatch.setattr(screen.reader, "confirm_external", lambda href: False)
    screen.reader._follow(QUrl("https://www.ilo.org"))
    assert opened == []
    monkeypatch.setattr(screen.reader, "confirm_external", lambda href: True)
    screen.reader._follow(QUrl("https://www.ilo.org"))
    assert opened == ["https://www.ilo.org"]


def test_new_content_is_picked_up_on_reload(
    qtbot: QtBot, screen: LibraryScreen, content: Path
) -> None:
    write_article(content, "en", "zebra", one="Zebrafish farm work.")
    screen.index = None
    screen.reload()
    qtbot.waitUntil(lambda: screen.index is not None, timeout=20_000)
    screen.search_box.setText("zebrafish")
    screen.run_search()
    assert "zebra" in screen.results.toHtml()


def test_a_1_mb_article_opens_without_freezing(
    qtbot: QtBot, ctx: AppContext, content: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from PySide6.QtCore import QTimer

    paragraph = "Workers should not pay recruitment fees. " * 20
    huge = "\n\n".join(f"{paragraph}\n\n- item one\n- item two" for _ in range(1100))
    write_article(content, "en", "huge", one=huge, two="The end.")
    assert (content / "en" / "huge.md").stat().st_size > 900_000
    monkeypatch.setattr("mrc_desktop.ui.library_screen.content_dir", lambda: content)
    widget = LibraryScreen(ctx)
    widget.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitUntil(lambda: widget.index is not None, timeout=30_000)
    ticks: list[float] = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(20)
    widget.open_article("huge")
    qtbot.waitUntil(lambda: "The end." in widget.reader.toPlainText(), timeout=30_000)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert ticks and max(gaps, default=0) < 0.4, f"the window froze for {max(gaps):.2f} s"
