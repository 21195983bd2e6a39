"""Dhakira's TMX export read by translate-toolkit, the TMX reader Weblate,
Pootle and Virtaal use (issue 21, finding 3).

Each test runs the real `dhakira` binary (DHAKIRA_BIN): import a file into a
fresh database, export it, and read the export with translate-toolkit. The
expected pairs come from the input file itself, read here with Python's csv
module, never from Dhakira.

    DHAKIRA_BIN=target/debug/dhakira .venv-interop/bin/python -m unittest -v test_export
"""
import csv
import os
import subprocess
import tempfile
import unittest
from pathlib import Path

from lxml import etree
from translate.storage import tmx

REPOSITORY = Path(__file__).resolve().parents[3]
CORPUS = REPOSITORY / "data" / "corpus"
BIN = os.environ.get("DHAKIRA_BIN", str(REPOSITORY / "target" / "debug" / "dhakira"))


def tsv_pairs(path):
    """(arabic, english) of each line of a corpus TSV file."""
    with open(path, encoding="utf-8", newline="") as f:
        return [(row[0], row[1]) for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


def round_trip(folder, source, *import_args):
    """Imports `source` into a new database with the real binary, exports it;
    returns the export's path."""
    db, out = Path(folder) / "db", Path(folder) / "export.tmx"
    subprocess.run([BIN, "import", "--db", str(db), *import_args, str(source)], check=True, capture_output=True)
    subprocess.run([BIN, "export", "--db", str(db), "--out", str(out)], check=True, capture_output=True)
    return out


def header_srclang(path):
    header = etree.parse(str(path)).getroot().find("header")
    return header.get("srclang")


class ExportReadsRightInTranslateToolkit(unittest.TestCase):
    def check_english_source(self, corpus_file):
        pairs = tsv_pairs(CORPUS / corpus_file)
        with tempfile.TemporaryDirectory() as folder:
            export = round_trip(folder, CORPUS / corpus_file)
            self.assertEqual(header_srclang(export), "en")
            store = tmx.tmxfile.parsefile(str(export))
            read = [(unit.source, unit.target) for unit in store.units]
        expected = {(english, arabic) for arabic, english in pairs}
        # translate-toolkit takes the first <tuv> as the source: every unit
        # must read English → Arabic, and be one of the file's pairs.
        wrong = [pair for pair in read if pair not in expected]
        self.assertEqual(wrong[:3], [], f"{len(wrong)} of {len(read)} units read with the wrong source")
        self.assertEqual(set(read), expected)

    def test_tico19_round_trip_reads_english_as_source(self):
        self.check_english_source("tico19_test.tsv")

    def test_django_catalog_round_trip_reads_english_as_source(self):
        self.check_english_source("l10n_django.tsv")

    def test_arabic_source_stays_the_source(self):
        # A TMX whose header says srclang="ar": the export says it too and
        # puts the Arabic first, so translate-toolkit reads Arabic → English.
        pairs = tsv_pairs(CORPUS / "tico19_test.tsv")[:20]
        units = "".join(
            f'<tu><tuv xml:lang="en"><seg>{escape(en)}</seg></tuv>'
            f'<tuv xml:lang="ar"><seg>{escape(ar)}</seg></tuv></tu>\n'
            for ar, en in pairs
        )
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header creationtool="test" '
            'creationtoolversion="1" segtype="sentence" o-tmf="test" adminlang="en" srclang="ar" '
            f'datatype="plaintext"/><body>\n{units}</body></tmx>\n'
        )
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "arabic-source.tmx"
            source.write_text(document, encoding="utf-8")
            export = round_trip(folder, source)
            self.assertEqual(header_srclang(export), "ar")
            store = tmx.tmxfile.parsefile(str(export))
            self.assertEqual({(u.source, u.target) for u in store.units}, set(pairs))


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


if __name__ == "__main__":
    unittest.main()
