"""TMX files other tools wrote, through Dhakira and back (issue 21).

The files in data/interop/okapi come from the Okapi Framework's test suites
(Apache-2.0, see data/interop/okapi/README.md): two files of the LISA TMX
Compliance Kit as Okapi ships them (UTF-16, markup nested and reordered,
attributes in single quotes, a language tag in mixed case), a paragraph-level
TM with props on the units and on their variants, units that differ only in
their context props, and a header with a prop and a note.

None of them holds Arabic: imported as they are, each must stop once, at file
level, naming the file's languages, and create nothing. With their other
language relabelled `ar` (here, with lxml), each must come back from
`dhakira export` unit for unit: tuid, props, segtype, and each variant's
segment with its inline markup, compared as canonical XML (libxml2's C14N),
so that quoting, escaping and attribute order do not matter but every tag,
attribute and character does. Nothing here is read with Dhakira's code.

    DHAKIRA_BIN=target/debug/dhakira .venv-interop/bin/python -m unittest -v test_okapi
"""
import os
import subprocess
import tempfile
import unittest
from collections import Counter
from pathlib import Path

from lxml import etree

REPOSITORY = Path(__file__).resolve().parents[3]
OKAPI = REPOSITORY / "data" / "interop" / "okapi"
BIN = os.environ.get("DHAKIRA_BIN", str(REPOSITORY / "target" / "debug" / "dhakira"))
LANG = "{http://www.w3.org/XML/1998/namespace}lang"
FILES = sorted(OKAPI.glob("*.tmx"))


def languages(tree):
    return sorted({tuv.get(LANG).lower() for tuv in tree.iter("tuv")})


def units(tree):
    """Each <tu> as comparable data: tuid, its props (Dhakira's own
    `x-dhakira-*` left out), its segtype (its own, else the header's), and
    per language its props and its <seg> as canonical XML."""
    header_segtype = tree.getroot().find("header").get("segtype")
    out = []
    for tu in tree.iter("tu"):
        props = sorted(
            (p.get("type"), p.text or "") for p in tu.findall("prop") if not p.get("type", "").startswith("x-dhakira-")
        )
        variants = sorted(
            (
                tuv.get(LANG).lower(),
                tuple(sorted((p.get("type"), p.text or "") for p in tuv.findall("prop"))),
                etree.tostring(tuv.find("seg"), method="c14n").decode(),
            )
            for tuv in tu.findall("tuv")
        )
        out.append((tu.get("tuid"), tuple(props), tu.get("segtype") or header_segtype, tuple(variants)))
    return out


def run(*args):
    return subprocess.run([BIN, *map(str, args)], capture_output=True, text=True)


class OkapiFilesComeBackWhole(unittest.TestCase):
    def test_the_files_are_here(self):
        self.assertEqual(len(FILES), 5, FILES)

    def test_a_file_without_arabic_stops_once_naming_its_languages(self):
        for path in FILES:
            with self.subTest(path.name), tempfile.TemporaryDirectory() as folder:
                db = Path(folder) / "db"
                result = run("import", "--db", db, path)
                tree = etree.parse(str(path))
                expected = ", ".join(languages(tree))
                count = len(tree.findall(".//tu"))
                self.assertNotEqual(result.returncode, 0, result.stdout)
                self.assertIn(
                    f"no unit holds both Arabic and English; the file has {expected} ({count} unit",
                    result.stdout + result.stderr,
                )
                self.assertFalse(db.exists(), "nothing imported, nothing created")

    def test_relabelled_arabic_every_unit_comes_back_with_its_markup_and_props(self):
        for path in FILES:
            with self.subTest(path.name), tempfile.TemporaryDirectory() as folder:
                tree = etree.parse(str(path))
                for tuv in tree.iter("tuv"):
                    if not tuv.get(LANG).lower().startswith("en"):
                        tuv.set(LANG, "ar")
                relabelled = Path(folder) / path.name
                tree.write(str(relabelled), encoding="UTF-8", xml_declaration=True)
                db, export = Path(folder) / "db", Path(folder) / "export.tmx"
                imported = run("import", "--db", db, relabelled)
                self.assertEqual(imported.returncode, 0, imported.stdout + imported.stderr)
                exported = run("export", "--db", db, "--out", export)
                self.assertEqual(exported.returncode, 0, exported.stderr)
                written = etree.parse(str(export))
                expected, found = units(tree), units(written)
                self.assertEqual(len(found), len(expected), "no unit merged or lost")
                self.assertEqual(Counter(found), Counter(expected))
                # The source (English) variant comes first in every unit.
                for tu in written.iter("tu"):
                    self.assertTrue(tu.find("tuv").get(LANG).lower().startswith("en"), etree.tostring(tu)[:200])


if __name__ == "__main__":
    unittest.main()
