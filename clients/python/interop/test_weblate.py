"""The real Weblate against a real Dhakira server with API keys (issue 21,
findings 3, 6 and 7). Run by weblate.sh, which starts the server (holding
data/examples/news-400.tsv, keys required), a PostgreSQL cluster for
Weblate's database, and runs Weblate's migrations.

What is exercised is Weblate's own code, configured as a Weblate
administrator configures it:
  - TMServerTranslation: its settings form (which runs Weblate's validation
    probe) with a URL only, then the lookup path every suggestion takes
    (`_translate`: cache, placeholder clean-up, download, result filter);
  - MyMemoryTranslation: the same, its fixed base URL pointed at the server;
  - the translation-memory import (the `import_memory` management command)
    of a `dhakira export` file.
The expected texts come from the TSV file itself, read here with Python's csv
module; the expected fuzzy score from `dhakira lookup` over gRPC.

Environment (from weblate.sh): DJANGO_SETTINGS_MODULE=weblate_settings,
DHAKIRA_ADDR, DHAKIRA_READ_KEY, DHAKIRA_PAIRS, DHAKIRA_WORKDIR, DHAKIRA_BIN.
"""
import csv
import os
import re
import subprocess
import unittest
from collections import Counter
from pathlib import Path

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from weblate.lang.models import Language  # noqa: E402
from weblate.machinery.base import MachineTranslationError  # noqa: E402
from weblate.machinery.mymemory import MyMemoryTranslation  # noqa: E402
from weblate.machinery.tmserver import TMServerTranslation  # noqa: E402
from weblate.memory.models import Memory  # noqa: E402

ADDR = os.environ["DHAKIRA_ADDR"]
KEY = os.environ["DHAKIRA_READ_KEY"]
WRONG_KEY = "not-a-key-of-this-server-0123456789"
BIN = os.environ["DHAKIRA_BIN"]
WORKDIR = Path(os.environ["DHAKIRA_WORKDIR"])


def tsv_pairs(path):
    """(arabic, english) of each line of a TSV file."""
    with open(path, encoding="utf-8", newline="") as f:
        return [(row[0], row[1]) for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


PAIRS = tsv_pairs(os.environ["DHAKIRA_PAIRS"])
ENGLISH_COUNT = Counter(en for _, en in PAIRS)
# Sentences whose English is stored once, and is one sentence (MyMemory's
# class sends only the text before the first ". ").
UNIQUE = [(ar, en) for ar, en in PAIRS if ENGLISH_COUNT[en] == 1 and ". " not in en]
# Spread over the file, not only its first lines.
SAMPLE = UNIQUE[:: max(1, len(UNIQUE) // 8)][:8]


def dhakira_lookup(text, lang):
    """The best match `dhakira lookup` prints over gRPC: (score, target)."""
    out = subprocess.run(
        [BIN, "lookup", text, "--lang", lang, "--server", f"http://{ADDR}", "--max-results", "1"],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DHAKIRA_API_KEY": KEY},
    ).stdout
    lines = out.splitlines()
    score = re.match(r"\s*(\d+)\s+#\d+", lines[0])
    target = re.match(r"\s*→ (.*)$", lines[1])
    if not score or not target:
        raise AssertionError(f"unexpected `dhakira lookup` output:\n{out}")
    return int(score.group(1)), target.group(1)


def configure(machinery, data):
    """The service as Weblate's settings form makes it: the form validates
    the fields and runs the class's validate_settings() probe (the
    languages list, then a test translation en→de)."""
    form = machinery.settings_form(machinery, data=data)
    valid = form.is_valid()
    return form, (machinery(form.cleaned_data) if valid else None)


def suggestions(machine, text, source="en", target="ar"):
    """What Weblate gets for `text`, through the path its suggestions take:
    the languages mapped from Weblate's Language objects against the list
    the service published, then `_translate` (cache, clean-up, download,
    threshold 75 as in Weblate's automatic translation)."""
    pair = machine.get_languages(Language.objects.get(code=source), Language.objects.get(code=target))
    return machine._translate(*pair, [(text, None)], None, threshold=75)[text]


class CleanCache(unittest.TestCase):
    def setUp(self):
        # Weblate keeps language lists, rate limits (30 minutes after a 401)
        # and answers in its cache, under keys shared by every URL: each test
        # starts from none, so each asks the server.
        cache.clear()


class TMServerWithKeys(CleanCache):
    def check_suggestions(self, url):
        form, machine = configure(TMServerTranslation, {"url": url})
        self.assertTrue(form.is_valid(), form.errors.as_text())
        self.assertEqual(machine.supported_languages >= {("en", "ar"), ("ar", "en")}, True, machine.supported_languages)
        for arabic, english in SAMPLE:
            with self.subTest(english=english):
                got = suggestions(machine, english)
                self.assertTrue(got, f"no suggestion for a stored source: {english!r}")
                self.assertEqual((got[0]["text"], got[0]["source"], got[0]["quality"]), (arabic, english, 100))
                self.assertEqual(got[0]["service"], "tmserver")
            # And the other way round: the Arabic gives back the English.
            with self.subTest(arabic=arabic):
                got = suggestions(machine, arabic, "ar", "en")
                self.assertEqual((got[0]["text"], got[0]["quality"]), (english, 100))
        return machine

    def test_key_in_the_url_path(self):
        self.check_suggestions(f"http://{ADDR}/k/{KEY}/tmserver/")

    def test_key_as_http_basic_password_in_the_url(self):
        self.check_suggestions(f"http://weblate:{KEY}@{ADDR}/tmserver/")

    def test_fuzzy_suggestion_scores_as_dhakira_does(self):
        # A stored sentence with one word changed: the score Weblate shows
        # is the one `dhakira lookup` gives over gRPC, below 100.
        machine = self.check_suggestions(f"http://{ADDR}/k/{KEY}/tmserver/")
        fuzzy = 0
        for arabic, english in SAMPLE:
            words = english.split(" ")
            if len(words) < 8:
                continue
            words[len(words) // 2] = "elephant"
            query = " ".join(words)
            score, target = dhakira_lookup(query, "en")
            got = suggestions(machine, query)
            with self.subTest(query=query):
                self.assertLess(score, 100)
                if score < 75:
                    self.assertEqual(got, [])
                    continue
                self.assertEqual((got[0]["text"], got[0]["quality"]), (target, score))
                self.assertEqual((got[0]["text"], got[0]["source"]), (arabic, english))
                fuzzy += 1
        self.assertGreater(fuzzy, 0, "no fuzzy query scored 75 or more")

    def check_refused(self, url, reason):
        form, _ = configure(TMServerTranslation, {"url": url})
        self.assertFalse(form.is_valid())
        # The server's 401 and its reason, as Weblate shows them: "not valid"
        # says the key in the URL reached the server.
        self.assertIn("401", form.errors.as_text())
        self.assertIn(reason, form.errors.as_text())
        # The class itself, used anyway: Weblate turns the 401 into an error
        # and stops asking for 30 minutes (its rate limit), so no suggestion.
        cache.clear()
        machine = TMServerTranslation({"url": url})
        with self.assertRaisesRegex(MachineTranslationError, "401"):
            machine._translate("en", "ar", [(SAMPLE[0][1], None)], None, threshold=75)
        self.assertTrue(machine.is_rate_limited())
        self.assertEqual(machine._translate("en", "ar", [(SAMPLE[0][1], None)], None, threshold=75), {SAMPLE[0][1]: []})

    def test_wrong_key_in_the_path_is_refused(self):
        self.check_refused(f"http://{ADDR}/k/{WRONG_KEY}/tmserver/", "the API key is not valid")

    def test_wrong_http_basic_password_is_refused(self):
        self.check_refused(f"http://weblate:{WRONG_KEY}@{ADDR}/tmserver/", "the API key is not valid")

    def test_no_key_is_refused(self):
        self.check_refused(f"http://{ADDR}/tmserver/", "this server needs an API key")


MYMEMORY = "https://mymemory.translated.net"


class DhakiraMyMemory(MyMemoryTranslation):
    """Weblate's MyMemory class with only its fixed base URL replaced."""

    def request(self, method, url, skip_auth=False, **kwargs):
        if not url.startswith(MYMEMORY + "/"):
            raise AssertionError(f"MyMemory's class asked for {url}, not under {MYMEMORY}")
        return super().request(method, f"http://{ADDR}" + url[len(MYMEMORY) :], skip_auth, **kwargs)


class MyMemoryWithKeys(CleanCache):
    def test_validates_and_suggests(self):
        form, machine = configure(DhakiraMyMemory, {"key": KEY, "email": "", "username": ""})
        self.assertTrue(form.is_valid(), form.errors.as_text())
        for arabic, english in SAMPLE:
            with self.subTest(english=english):
                got = suggestions(machine, english)
                self.assertTrue(got, f"no suggestion for a stored source: {english!r}")
                self.assertEqual((got[0]["text"], got[0]["source"], got[0]["quality"]), (arabic, english, 100))
                self.assertEqual(got[0]["service"], "MyMemory")

    def test_wrong_key_is_refused(self):
        form, _ = configure(DhakiraMyMemory, {"key": WRONG_KEY, "email": "", "username": ""})
        self.assertFalse(form.is_valid())
        self.assertIn("THE API KEY IS NOT VALID", form.errors.as_text().upper())
        machine = DhakiraMyMemory({"key": WRONG_KEY, "email": "", "username": ""})
        with self.assertRaises(MachineTranslationError):
            machine._translate("en", "ar", [(SAMPLE[0][1], None)], None, threshold=75)


class MemoryImportOfAnExport(unittest.TestCase):
    def setUp(self):
        Memory.objects.all().delete()

    def export(self, name):
        path = WORKDIR / name
        subprocess.run(
            [BIN, "export", "--server", f"http://{ADDR}", "--out", str(path)],
            check=True,
            capture_output=True,
            env={**os.environ, "DHAKIRA_API_KEY": KEY},
        )
        return path

    def test_export_imports_with_english_source_and_arabic_target(self):
        path = self.export("dhakira-export.tmx")
        call_command("import_memory", str(path))
        entries = Memory.objects.filter(origin=path.name)
        self.assertEqual(
            Counter((e.source_language.code, e.target_language.code) for e in entries),
            Counter({("en", "ar"): len(set(PAIRS))}),
        )
        self.assertEqual({(e.source, e.target) for e in entries}, {(en, ar) for ar, en in PAIRS})

    def test_a_header_srclang_of_all_languages_is_refused(self):
        # What the export wrote before issue 21: srclang="*all*". Weblate's
        # import refuses it, so the test above fails on such an export.
        path = self.export("dhakira-export-all.tmx")
        text = path.read_text(encoding="utf-8")
        old, count = re.subn(r'(<header\b[^>]*\bsrclang=)"en"', r'\1"*all*"', text, count=1)
        self.assertEqual(count, 1, "the export's header has no srclang=\"en\"")
        path.write_text(old, encoding="utf-8")
        with self.assertRaisesRegex(CommandError, r"Could not find language \*all\*"):
            call_command("import_memory", str(path))
        self.assertEqual(Memory.objects.count(), 0)


if __name__ == "__main__":
    unittest.main()
