"""A small content folder in several scripts, for loader, index and search tests."""

from pathlib import Path

import pytest

HEADER = """Title: {title}
Topic: {topic}
Summary: {summary}
Countries: {countries}
Sources: ILO C181, Art. 7 — Private Employment Agencies Convention, 1997 (NORMLEX)
Reviewed: 2026-01-15
Translation: {status}
{revision_key}: {revision}

"""
BODY = "Intro.\n\n## One\n\n{one}\n\n## Two\n\n{two}\n"

ARTICLES = {
    ("en", "fees"): (
        "Who pays recruitment fees",
        "recruitment",
        "MY,TH",
        "Employers pay the fees. Keep your passport.",
        "Ask for receipts.",
    ),
    ("th", "fees"): (
        "ใครจ่ายค่าธรรมเนียม",
        "recruitment",
        "MY,TH",
        "นายจ้างต้องจ่ายค่าธรรมเนียมการจัดหางาน",
        "ขอใบเสร็จทุกครั้ง",
    ),
    ("km", "fees"): (
        "អ្នកណាបង់ថ្លៃសេវា",
        "recruitment",
        "MY,TH",
        "និយោជកត្រូវបង់ថ្លៃសេវាជ្រើសរើសការងារ",
        "សុំបង្កាន់ដៃ",
    ),
    ("lo", "fees"): ("ໃຜຈ່າຍຄ່າທຳນຽມ", "recruitment", "MY,TH", "ນາຍຈ້າງຕ້ອງຈ່າຍຄ່າທຳນຽມ", "ຂໍໃບຮັບເງິນ"),
    ("my", "fees"): (
        "အကျိုးဆောင်ခ ဘယ်သူပေးရမလဲ",
        "recruitment",
        "MY,TH",
        "အလုပ်ရှင်က အကျိုးဆောင်ခကို ပေးရမည်",
        "ပြေစာ တောင်းပါ",
    ),
    ("vi", "fees"): (
        "Ai trả phí tuyển dụng",
        "recruitment",
        "MY,TH",
        "Người lao động không phải trả phí.",
        "Hãy giữ biên lai.",
    ),
    ("ar", "fees"): (
        "من يدفع رسوم التوظيف",
        "recruitment",
        "SA",
        "يَدفعُ صاحبُ العمل رسومَ التوظيف.",
        "احتفظ بالإيصالات.",
    ),
    ("en", "passport"): (
        "Keep your passport",
        "contracts",
        "SA",
        "Nobody may keep your passport.",
        "Ask for it back.",
    ),
}


def write_article(root: Path, lang: str, slug: str, **overrides: str) -> Path:
    title, topic, countries, one, two = ARTICLES.get((lang, slug), ARTICLES[("en", "fees")])
    fields = {
        "title": title,
        "topic": topic,
        "summary": f"Summary of {slug}",
        "countries": countries,
        "status": "source" if lang == "en" else "draft",
        "revision_key": "Revision" if lang == "en" else "Translated-From",
        "revision": "1",
        "one": one,
        "two": two,
    }
    fields.update(overrides)
    path = root / lang / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(**fields) + BODY.format(**fields), encoding="utf-8")
    return path


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    for lang, slug in ARTICLES:
        write_article(root, lang, slug)
    return root
