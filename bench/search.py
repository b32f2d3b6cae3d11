"""Library search benchmark: a synthetic corpus of 5,000 articles in each of 13 languages.

    .venv/bin/python bench/search.py [--articles 5000] [--queries 400]

Prints: full index build time and the build's peak memory (in a child process),
the index size, and search latency (median, p95) for MRC Desk's search — which
folds the query, picks trigram or bigram tables and makes highlighted snippets —
next to a raw FTS5 MATCH on the same index in the same run. Targets: p95 at most
30 ms, and at most 2x the raw query.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mrc_desktop.i18n import LANGUAGES  # noqa: E402
from mrc_desktop.library.articles import Article, Library, split_sections  # noqa: E402
from mrc_desktop.library.search import SearchIndex  # noqa: E402
from mrc_desktop.library.textfold import fold  # noqa: E402

# Characters to build pseudo-words from, per language; spaces between words only where the
# script uses them.
ALPHABETS = {
    "en": ("abcdefghijklmnopqrstuvwxyz", True),
    "id": ("abcdefghijklmnoprstuwy", True),
    "fil": ("abdeghiklmnoprstuwy", True),
    "vi": ("aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạ", True),
    "km": ("កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីឹឺុូួើឿៀេែៃោៅំះ្", False),
    "lo": ("ກຂຄງຈສຊຍດຕຖທນບປຜຝພຟມຢຣລວຫອຮະັາິີຶືຸູົເແໂໃໄ່້", False),
    "th": ("กขคงจฉชซญดตถทธนบปผฝพฟภมยรลวศษสหอฮะัาำิีึืุูเแโใไ่้๊๋", False),
    "my": ("ကခဂဃငစဆဇဈညဋဌဍဎဏတထဒဓနပဖဗဘမယရလဝသဟဠအါာိီုူေဲံ့း်ျြွှ", False),
    "ne": ("कखगघङचछजझञटठडढणतथदधनपफबभमयरलवशषसहािीुूृेैोौंः्", True),
    "bn": ("কখগঘঙচছজঝঞটঠডঢণতথদধনপফবভমযরলশষসহািীুূৃেৈোৌংঃ্", True),
    "si": ("කඛගඝඞචඡජඣඤටඨඩඪණතථදධනපඵබභමයරලවශෂසහළෆාැෑිීුූෙේොෝෞ්", True),
    "am": ("ሀለሐመሠረሰሸቀበተቸኀነኘአከኸወዐዘዠየደጀገጠጨጰጸፀፈፐ", True),
    "ar": ("ابتثجحخدذرزسشصضطظعغفقكلمنهوي", True),
}


def pseudo_words(lang: str, rng: random.Random, count: int = 400) -> list[str]:
    """Random letter strings, NFC-normalized as the article loader normalizes real text."""
    letters, _spaced = ALPHABETS[lang]
    return [
        unicodedata.normalize("NFC", "".join(rng.choice(letters) for _ in range(rng.randint(2, 7))))
        for _ in range(count)
    ]


def synthetic_library(per_language: int, seed: int = 7) -> tuple[Library, dict[str, list[str]]]:
    rng = random.Random(seed)
    library = Library()
    vocab: dict[str, list[str]] = {}
    for lang in LANGUAGES:
        words = pseudo_words(lang, rng)
        vocab[lang] = words
        joiner = " " if ALPHABETS[lang][1] else ""
        for number in range(per_language):
            sections = []
            for heading in ("One", "Two", "Three", "Four"):
                sentence = joiner.join(rng.choice(words) for _ in range(45))
                sections.append(f"## {heading}\n\n{sentence}")
            body = unicodedata.normalize("NFC", "\n\n".join(sections))
            intro, parsed = split_sections(body)
            slug = f"article-{number:05d}"
            library.articles[(slug, lang)] = Article(
                slug=slug,
                lang=lang,
                path=Path(f"{lang}/{slug}.md"),
                title=joiner.join(rng.choice(words) for _ in range(4)),
                topic="rights",
                summary=joiner.join(rng.choice(words) for _ in range(10)),
                sources=("x",),
                reviewed=dt.date(2026, 1, 1),
                status="source" if lang == "en" else "draft",
                revision=1,
                body=body,
                intro=intro,
                sections=parsed,
            )
    return library, vocab


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def build_in_child(db: Path, per_language: int) -> tuple[float, float]:
    """Build the index in a child process; return (seconds, peak RSS MB of that process)."""
    code = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "sys.path.insert(0, sys.argv[1] + '/bench');"
        "import search as b; from pathlib import Path;"
        "lib, _ = b.synthetic_library(int(sys.argv[3]));"
        "t = time.perf_counter(); b.build_index(Path(sys.argv[2]), lib, 'bench');"
        "print(time.perf_counter() - t)"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = subprocess.run(
        [sys.executable, "-c", code, str(ROOT), str(db), str(per_language)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)
    return float(out.strip().splitlines()[-1]), peak_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="articles per language")
    parser.add_argument("--queries", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "content.db"
        seconds, peak_mb = build_in_child(db, args.articles)
        docs = args.articles * len(LANGUAGES)
        print(f"corpus: {args.articles} articles x {len(LANGUAGES)} languages = {docs} articles")
        print(
            f"full index build: {seconds:.1f} s; peak memory of the build process "
            f"{peak_mb:.0f} MB; index size {db.stat().st_size / 1e6:.0f} MB"
        )
        _lib, vocab = synthetic_library(1)  # same seed: same vocabulary as the index
        rng = random.Random(11)
        queries: list[tuple[str, str]] = []
        for _ in range(args.queries):
            lang = rng.choice(LANGUAGES)
            word = rng.choice([w for w in vocab[lang] if len(w) >= 3])
            queries.append((lang, word if rng.random() < 0.75 else word[:2]))
        index = SearchIndex(db)
        ours: list[float] = []
        raw: list[float] = []
        for lang, query in queries:
            start = time.perf_counter()
            index.search(query, lang=lang)
            ours.append((time.perf_counter() - start) * 1000)
            term = fold(query)
            table, expr = (
                ("fts_trigram", f'"{term}"') if len(term) >= 3 else ("fts_bigram", f'"{term}"')
            )
            order = " order by rank" if table == "fts_trigram" else ""
            start = time.perf_counter()
            index.conn.execute(
                f"select a.slug, a.title from {table} join articles a on a.id = {table}.rowid "
                f"where {table} match ? and a.lang = ?{order} limit 30",
                [expr, lang],
            ).fetchall()
            raw.append((time.perf_counter() - start) * 1000)
        p95_ours, p95_raw = percentile(ours, 0.95), percentile(raw, 0.95)
        print(f"search, {len(queries)} queries (a quarter of them 2 characters), all scripts:")
        print(
            f"  MRC Desk search  median {statistics.median(ours):6.2f} ms   p95 {p95_ours:6.2f} ms"
            f"  ({'meets' if p95_ours <= 30 else 'MISSES'} the 30 ms target)"
        )
        print(f"  raw FTS5 MATCH   median {statistics.median(raw):6.2f} ms   p95 {p95_raw:6.2f} ms")
        ratio = p95_ours / p95_raw if p95_raw else float("inf")
        print(f"  p95 ratio {ratio:.2f}x ({'meets' if ratio <= 2 else 'MISSES'} the 2x target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
