"""Tests of dhakira_client against a running server.

    DHAKIRA_ADDR=127.0.0.1:50051 python -m unittest -v test_client

ci.sh starts a server on a fresh database and sets DHAKIRA_ADDR. Every test
works in memories of its own (random names), so the tests can share a
server that holds other data. Without DHAKIRA_ADDR the tests are skipped.
"""

from __future__ import annotations

import os
import tempfile
import unittest
import uuid
from pathlib import Path

import grpc

from dhakira_client import Client, import_summary_from_error, pb

ADDR = os.environ.get("DHAKIRA_ADDR")

SENTENCES = [
    ("أعلنت الشركة عن نتائجها المالية للربع الثالث من العام.", "The company announced its financial results for the third quarter of the year."),
    ("يعمل الفريق على تطوير نظام جديد لإدارة المستودعات.", "The team is working on a new warehouse management system."),
    ("وصل القطار إلى المحطة متأخراً بسبب العاصفة الثلجية.", "The train arrived at the station late because of the snowstorm."),
]


def memory_name(tag: str) -> str:
    return f"py-{tag}-{uuid.uuid4().hex[:8]}"


@unittest.skipUnless(ADDR, "set DHAKIRA_ADDR to a running dhakira server (ci.sh does)")
class ClientTest(unittest.TestCase):
    tm: Client

    @classmethod
    def setUpClass(cls) -> None:
        cls.tm = Client(ADDR, timeout=30)
        cls.tm.wait_for_ready(timeout=10)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.tm.close()

    def assertRpcError(self, code: grpc.StatusCode, field: str, call, *args, **kwargs) -> grpc.RpcError:
        """Asserts that call(*args, **kwargs) fails with `code` and a message
        that starts with the request field `field`."""
        with self.assertRaises(grpc.RpcError) as caught:
            call(*args, **kwargs)
        err = caught.exception
        self.assertEqual(err.code(), code, err.details())
        self.assertTrue(err.details().startswith(field + ":"), f"{err.details()!r} does not name {field}")
        return err

    def test_add_get_delete(self) -> None:
        memory = memory_name("add")
        added = self.tm.add_units(
            [
                SENTENCES[0],
                {"arabic": SENTENCES[1][0], "english": SENTENCES[1][1], "domain": "tech", "note": "n"},
                pb.UnitInput(arabic=SENTENCES[2][0], english=SENTENCES[2][1], memory=memory, tuid="t-3"),
            ],
            memory=memory,
        )
        self.assertEqual(added.added, 3)
        self.assertEqual(added.duplicates, 0)
        self.assertEqual(len(added.unit_ids), 3)
        self.assertEqual(len(set(added.unit_ids)), 3)

        again = self.tm.add_units([SENTENCES[0]], memory=memory)
        self.assertEqual((again.added, again.duplicates), (0, 1))
        self.assertEqual(list(again.unit_ids), [added.unit_ids[0]])

        unit = self.tm.get_unit(added.unit_ids[1])
        self.assertEqual(unit.unit_id, added.unit_ids[1])
        self.assertEqual(unit.memory, memory)
        self.assertEqual((unit.arabic, unit.english), SENTENCES[1])
        self.assertEqual((unit.domain, unit.note), ("tech", "n"))
        self.assertGreater(unit.created_at_ms, 0)
        self.assertEqual(self.tm.get_unit(added.unit_ids[2]).tuid, "t-3")

        self.assertIsNone(self.tm.delete_unit(added.unit_ids[1]))
        self.assertRpcError(grpc.StatusCode.NOT_FOUND, "unit_id", self.tm.get_unit, added.unit_ids[1])
        self.assertRpcError(grpc.StatusCode.NOT_FOUND, "unit_id", self.tm.delete_unit, added.unit_ids[1])
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "unit_id", self.tm.get_unit, 0)

    def test_lookup(self) -> None:
        memory = memory_name("lookup")
        ids = self.tm.add_units(SENTENCES, memory=memory).unit_ids

        matches = self.tm.lookup(SENTENCES[0][0], "ar", memories=[memory])
        self.assertGreaterEqual(len(matches), 1)
        best = matches[0]
        self.assertEqual(best.score, 100)
        self.assertEqual(best.unit_id, ids[0])
        self.assertEqual((best.source, best.target, best.memory), (SENTENCES[0][0], SENTENCES[0][1], memory))
        self.assertEqual(best.unit.english, SENTENCES[0][1])

        # English source, BCP-47 spelling of the language, one word changed.
        edited = SENTENCES[2][1].replace("train", "bus")
        matches = self.tm.lookup(edited, "en-US", memories=memory)
        self.assertEqual(matches[0].unit_id, ids[2])
        self.assertLess(matches[0].score, 100)
        self.assertGreaterEqual(matches[0].score, 70)
        self.assertEqual(matches[0].target, SENTENCES[2][0])
        self.assertGreaterEqual(matches[0].word_distance, 1)

        # min_score above the edited match's score: nothing; 0 and 1 result: one.
        self.assertEqual(self.tm.lookup(edited, "en", min_score=matches[0].score + 1, memories=[memory]), [])
        self.assertEqual(len(self.tm.lookup("the", "en", min_score=0, max_results=1, memories=[memory])), 1)

    def test_stats(self) -> None:
        memory = memory_name("stats")
        self.tm.add_units(SENTENCES[:2], memory=memory)
        stats = self.tm.stats()
        counts = {m.name: m.units for m in stats.memories}
        self.assertEqual(counts.get(memory), 2)
        self.assertEqual(stats.total_units, sum(counts.values()))
        self.assertEqual([m.name for m in stats.memories], sorted(counts))

    def test_export_then_import(self) -> None:
        memory, copy = memory_name("export"), memory_name("copy")
        self.tm.add_units(
            [{"arabic": ar, "english": en, "domain": "news"} for ar, en in SENTENCES], memory=memory
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "out.tmx"
            written = self.tm.export(path, memories=[memory])
            data = path.read_bytes()
            self.assertEqual(written, len(data))
            self.assertFalse((Path(tmp) / "out.tmx.part").exists())
            text = data.decode("utf-8")
            self.assertIn("<tmx", text)
            for ar, en in SENTENCES:
                self.assertIn(en, text)
                self.assertIn(ar, text)

            summary = self.tm.import_file(path, memory=copy)  # format from the extension
            self.assertEqual((summary.read, summary.added, summary.rejected), (3, 3, 0))
            again = self.tm.import_file(path, memory=copy, policy="overwrite", chunk_size=7)
            self.assertEqual((again.read, again.added, again.duplicates), (3, 0, 3))

        counts = {m.name: m.units for m in self.tm.stats().memories}
        self.assertEqual(counts.get(copy), 3)
        match = self.tm.lookup(SENTENCES[1][0], "ar", memories=[copy])[0]
        self.assertEqual((match.score, match.target, match.unit.domain), (100, SENTENCES[1][1], "news"))

    def test_import_tsv_and_units(self) -> None:
        memory = memory_name("tsv")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "pairs.tsv"
            path.write_text(
                "".join(f"{ar}\t{en}\n" for ar, en in SENTENCES) + "only one column\n", encoding="utf-8"
            )
            summary = self.tm.import_file(path, memory=memory)
        self.assertEqual((summary.read, summary.added, summary.rejected), (4, 3, 1))
        self.assertEqual(summary.rejections[0].line, 4)
        self.assertIn("two tab-separated columns", summary.rejections[0].reason)

        other = memory_name("units")
        units = [("جملة رقم %d في الاختبار." % i, "Sentence number %d in the test." % i) for i in range(1, 26)]
        units.insert(5, ("", "An empty Arabic side."))
        summary = self.tm.import_units(units, memory=other, batch_size=10)
        self.assertEqual((summary.read, summary.added, summary.rejected), (26, 25, 1))
        self.assertEqual(summary.rejections[0].line, 6)

    def test_broken_tmx_keeps_what_was_stored(self) -> None:
        memory = memory_name("broken")
        tus = "".join(
            f'<tu><tuv xml:lang="ar"><seg>{ar}</seg></tuv><tuv xml:lang="en"><seg>{en}</seg></tuv></tu>\n'
            for ar, en in SENTENCES
        )
        document = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4">\n'
            '<header srclang="ar" datatype="plaintext" segtype="sentence" adminlang="en" '
            'creationtool="test" creationtoolversion="1" o-tmf="test"/>\n<body>\n'
            f"{tus}<tu><tuv xml:lang=\"ar\"><seg>مكسور</tuv>\n</body></tmx>\n"
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "broken.tmx"
            path.write_text(document, encoding="utf-8")
            with self.assertRaises(grpc.RpcError) as caught:
                self.tm.import_file(path, memory=memory)
        err = caught.exception
        self.assertEqual(err.code(), grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("line", err.details())
        summary = import_summary_from_error(err)
        self.assertIsNotNone(summary)
        counts = {m.name: m.units for m in self.tm.stats().memories}
        self.assertEqual(summary.added, counts.get(memory, 0))

    def test_invalid_arguments_name_the_field(self) -> None:
        err = self.assertRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, "source_lang", self.tm.lookup, "Bonjour tout le monde.", "fr"
        )
        self.assertIn("fr", err.details())
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "source_lang", self.tm.lookup, "Hello.", "")
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "text", self.tm.lookup, "", "en")
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "min_score", self.tm.lookup, "Hi.", "en", min_score=102)
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "max_results", self.tm.lookup, "Hi.", "en", max_results=0)
        self.assertRpcError(
            grpc.StatusCode.NOT_FOUND, "memories[0]", self.tm.lookup, "Hi.", "en", memories=[memory_name("none")]
        )
        self.assertRpcError(
            grpc.StatusCode.INVALID_ARGUMENT, "memories[0]", self.tm.lookup, "Hi.", "en", memories=["a b"]
        )

        memory = memory_name("invalid")
        self.assertRpcError(
            grpc.StatusCode.INVALID_ARGUMENT,
            "units[1].arabic",
            self.tm.add_units,
            [SENTENCES[0], ("", "No Arabic.")],
            memory=memory,
        )
        # All or nothing: the valid first unit was not stored either.
        self.assertNotIn(memory, {m.name for m in self.tm.stats().memories})
        self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT, "units", self.tm.add_units, [])

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.tsv"
            path.write_text("أ\tA\n", encoding="utf-8")
            self.assertRpcError(
                grpc.StatusCode.INVALID_ARGUMENT, "options.memory", self.tm.import_file, path, memory="no spaces"
            )
            self.assertRpcError(
                grpc.StatusCode.INVALID_ARGUMENT, "options.format", self.tm.import_file, path, format="xlsx"
            )

    def test_client_side_errors(self) -> None:
        with self.assertRaises(ValueError):
            self.tm.import_units([], policy="newest")
        with self.assertRaises(ValueError):
            self.tm.lookup("Hi.", "en", min_score=-1)
        with self.assertRaises(TypeError):
            self.tm.add_units(["just a string"])
        with self.assertRaises(FileNotFoundError):
            self.tm.import_file("/nonexistent/file.tsv")

    def test_no_server_is_unavailable(self) -> None:
        with Client("127.0.0.1:1", timeout=5) as nobody:
            with self.assertRaises(grpc.RpcError) as caught:
                nobody.stats()
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)


def main() -> int:
    """Runs the tests (-v: one line each) and ends with a plain
    `python-client: N passed, N failed` line. Fails when a test was skipped
    or none ran, so a CI without a server cannot pass by skipping."""
    import sys

    verbosity = 2 if "-v" in sys.argv[1:] else 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"python-client: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 0 if result.wasSuccessful() and passed > 0 and skipped == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
