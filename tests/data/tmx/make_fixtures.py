#!/usr/bin/env python3
"""Writes the TMX fixtures of src/tmx/tests.rs from the shared news corpus.

Run from anywhere: python3 tests/data/tmx/make_fixtures.py [OUTPUT_DIR]
(the fixtures go next to this script unless OUTPUT_DIR is given).
The sentences are real Arabic–English pairs from ntrex128.tsv (line = 1-based).
"""
import sys
from pathlib import Path
from xml.sax.saxutils import escape

HERE = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
# This script is tests/data/tmx/ in the repository; the corpus is its
# data/corpus.
REPOSITORY = Path(__file__).resolve().parents[3]
CORPUS = REPOSITORY / "data/corpus/ntrex128.tsv"
PAIRS = [tuple(line.rstrip("\n").split("\t")) for line in CORPUS.open(encoding="utf-8")]


def pair(line):
    return PAIRS[line - 1]


def tu(line, tuid, ar="ar", en="en", extra=""):
    arabic, english = (escape(s) for s in pair(line))
    return (
        f'    <tu tuid="{tuid}"{extra}>\n'
        f'      <tuv xml:lang="{ar}"><seg>{arabic}</seg></tuv>\n'
        f'      <tuv xml:lang="{en}"><seg>{english}</seg></tuv>\n'
        f"    </tu>\n"
    )


def document(encoding, units, header='srclang="en"', newline="\n"):
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n'
        '<tmx version="1.4">\n'
        f'  <header creationtool="fixture" creationtoolversion="1" segtype="sentence" o-tmf="none" '
        f'adminlang="en" {header} datatype="plaintext"/>\n'
        "  <body>\n" + "".join(units) + "  </body>\n</tmx>\n"
    )
    return text.replace("\n", newline)


def write(name, data):
    (HERE / name).write_bytes(data)


three = [tu(26, "u5"), tu(53, "u11"), tu(78, "u14")]
write("utf16le_bom.tmx", b"\xff\xfe" + document("UTF-16", three, newline="\r\n").encode("utf-16-le"))
write("utf16be_nobom.tmx", document("UTF-16", three).encode("utf-16-be"))
write("utf8_bom.tmx", b"\xef\xbb\xbf" + document("UTF-8", three).encode("utf-8"))
write("windows1256.tmx", document("windows-1256", three).encode("cp1256"))

codes = [
    tu(26, "ar-EG", ar="AR-EG", en="EN-GB"),
    tu(53, "ar_EG", ar="ar_EG", en="en_US"),
    tu(78, "ara", ar="ara", en="eng"),
    tu(82, "arb", ar="arb", en="en-us"),
    # TMX 1.1 style: lang instead of xml:lang.
    tu(88, "lang", ar="ar-SA", en="EN").replace("xml:lang", "lang"),
]
write("language_codes.tmx", document("UTF-8", codes, header="").encode("utf-8"))

ar133, en133 = (escape(s) for s in pair(133))
ar103 = escape(pair(103)[0])
languages = [
    tu(26, "three", extra=' srclang="en"').replace(
        "    </tu>", '      <tuv xml:lang="fr"><seg>Il a dit que la disparition des bars était compréhensible.</seg></tuv>\n    </tu>'
    ),
    f'    <tu tuid="two-english">\n      <tuv xml:lang="en-US"><seg>{en133}</seg></tuv>\n'
    f'      <tuv xml:lang="ar"><seg>{ar133}</seg></tuv>\n'
    f'      <tuv xml:lang="en-GB"><seg>His body was found about an hour afterwards.</seg></tuv>\n    </tu>\n',
    '    <tu tuid="french-only">\n      <tuv xml:lang="fr"><seg>Bonjour</seg></tuv>\n'
    '      <tuv xml:lang="de"><seg>Guten Tag</seg></tuv>\n    </tu>\n',
    f'    <tu tuid="no-english">\n      <tuv xml:lang="ar"><seg>{ar103}</seg></tuv>\n    </tu>\n',
    tu(103, "last"),
]
write("languages.tmx", document("UTF-8", languages, header='srclang="*all*"').encode("utf-8"))

ar23 = escape(pair(23)[0])
ar58, en58 = (escape(s) for s in pair(58))
ar23_tagged = ar23.replace("سانت مارتن", '<bpt i="1" type="bold">&lt;b&gt;</bpt>سانت مارتن<ept i="1">&lt;/b&gt;</ept>')
rtf = "{\\cs6 }"
inline = [
    # en: "The Bells of <b>St. Martin's</b> Fall Silent<br/> as Churches in Harlem Struggle"
    '    <tu tuid="paired">\n'
    '      <prop type="x-domain">news</prop>\n'
    '      <note>bold name</note>\n'
    f'      <tuv xml:lang="ar"><seg>{ar23_tagged}</seg></tuv>\n'
    '      <tuv xml:lang="en"><seg>The Bells of <bpt i="1" type="bold">&lt;b&gt;</bpt>St. Martin\'s<ept i="1">&lt;/b&gt;</ept>'
    ' Fall Silent<ph x="2" type="lb">&lt;br/&gt;</ph> as Churches in <hi type="italic">Harlem</hi> Struggle</seg></tuv>\n'
    "    </tu>\n",
    '    <tu tuid="isolated">\n'
    f'      <tuv xml:lang="ar"><seg><it pos="begin" x="1">&lt;i&gt;</it>{ar58}</seg></tuv>\n'
    f'      <tuv xml:lang="en"><seg><it pos="begin" x="1">&lt;i&gt;</it>{en58}<ut>{rtf}</ut></seg></tuv>\n'
    "    </tu>\n",
    # A sub-flow inside a placeholder, and nested hi.
    '    <tu tuid="sub">\n'
    '      <tuv xml:lang="ar"><seg>اضغط <ph x="1">&lt;img alt="<sub>زر الحفظ</sub>"/&gt;</ph> <hi type="b">الآن <hi type="i">فورا</hi></hi></seg></tuv>\n'
    '      <tuv xml:lang="en"><seg>Press <ph x="1">&lt;img alt="<sub>Save button</sub>"/&gt;</ph> <hi type="b">now <hi type="i">at once</hi></hi></seg></tuv>\n'
    "    </tu>\n",
]
write("inline_tags.tmx", document("UTF-8", inline).encode("utf-8"))

broken = [tu(26, "b1"), tu(53, "b2"), tu(78, "b3")]
broken.append('    <tu tuid="b4">\n      <tuv xml:lang="ar"><seg>نص</seg></tuv>\n      <tuv xml:lang="en"><seg>text</tuv>\n    </tu>\n')
broken.append(tu(82, "b5"))
write("broken_mismatched.tmx", document("UTF-8", broken).encode("utf-8"))

write(
    "billion_laughs.tmx",
    b"""<?xml version="1.0"?>
<!DOCTYPE tmx [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<tmx version="1.4"><header srclang="en"/><body>
<tu><tuv xml:lang="ar"><seg>&lol9;</seg></tuv><tuv xml:lang="en"><seg>&lol9;</seg></tuv></tu>
</body></tmx>
""",
)
write(
    "xxe.tmx",
    b"""<?xml version="1.0"?>
<!DOCTYPE tmx [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<tmx version="1.4"><header srclang="en"/><body>
<tu><tuv xml:lang="ar"><seg>&xxe;</seg></tuv><tuv xml:lang="en"><seg>&xxe;</seg></tuv></tu>
</body></tmx>
""",
)
# Without a DOCTYPE, an undefined entity rejects its unit only.
write(
    "undefined_entity.tmx",
    document("UTF-8", [tu(26, "before"), '    <tu tuid="xxe">\n      <tuv xml:lang="ar"><seg>&xxe;</seg></tuv>\n'
             '      <tuv xml:lang="en"><seg>x</seg></tuv>\n    </tu>\n', tu(53, "after")]).encode("utf-8"),
)

ar40, en40 = (escape(s) for s in pair(40))
controls = [
    tu(26, "ok1"),
    f'    <tu tuid="nul-ref">\n      <tuv xml:lang="ar"><seg>{ar40}</seg></tuv>\n      <tuv xml:lang="en"><seg>Mr.&#0; Merriweather</seg></tuv>\n    </tu>\n',
    f'    <tu tuid="soh-ref">\n      <tuv xml:lang="ar"><seg>{ar40}&#1;</seg></tuv>\n      <tuv xml:lang="en"><seg>{en40}</seg></tuv>\n    </tu>\n',
    f'    <tu tuid="bell">\n      <tuv xml:lang="ar"><seg>{ar40}</seg></tuv>\n      <tuv xml:lang="en"><seg>Mr.\x07 Merriweather</seg></tuv>\n    </tu>\n',
    f'    <tu tuid="empty">\n      <tuv xml:lang="ar"><seg>{ar40}</seg></tuv>\n      <tuv xml:lang="en"><seg>  </seg></tuv>\n    </tu>\n',
    tu(53, "ok2"),
]
write("rejected_units.tmx", document("UTF-8", controls).encode("utf-8"))

# A TRADOS Translator's Workbench export: its header carries the RTF font
# table and style sheet as props, several KB long (the font table lists the
# Arabic fonts too), which must not stop the import of the units.
fonts = "".join(
    f"{{\\f{n}\\f{family}\\fcharset{charset}\\fprq2{{\\*\\panose 02020603050405020304}}{name};}}\n"
    for n, (family, charset, name) in enumerate(
        [("roman", 0, "Times New Roman"), ("swiss", 0, "Arial"), ("modern", 0, "Courier New")]
        + [("bidi", 178, name) for name in ("Traditional Arabic", "Simplified Arabic", "Arabic Transparent",
                                            "Arial (Arabic)", "Times New Roman (Arabic)", "Courier New (Arabic)")] * 6,
        start=1,
    )
)
styles = "".join(
    f"{{\\s{n}\\sb120\\sa120\\widctlpar\\rtlpar\\f{n % 9 + 1}\\fs{20 + n % 4 * 2}\\lang1025 Style {n};}}\n"
    for n in range(1, 40)
)
trados_units = [
    f'    <tu creationdate="2007020{n % 9 + 1}T0854{n:02d}Z" creationid="ONO" usagecount="{n}">\n'
    f'      <tuv lang="EN-US"><seg>{escape(pair(line)[1])}</seg></tuv>\n'
    f'      <tuv lang="AR-SA"><seg>{escape(pair(line)[0])}</seg></tuv>\n'
    "    </tu>\n"
    for n, line in enumerate([26, 40, 53, 78, 82, 90, 101, 115, 130, 144, 160], start=1)
]
write(
    "trados_header.tmx",
    (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n'
        '<tmx version="1.4">\n'
        '<header creationtool="TRADOS Translator\'s Workbench for Windows" creationtoolversion="Edition 6 Build 438" '
        'segtype="sentence" o-tmf="TW4Win 2.0 Format" adminlang="EN-US" srclang="EN-US" datatype="rtf" '
        'creationdate="20070203T085432Z" creationid="ONO">\n'
        f'<prop type="RTFFontTable">\n{{\\fonttbl\n{escape(fonts)}}}</prop>\n'
        f'<prop type="RTFStyleSheet">\n{{\\stylesheet\n{escape(styles)}}}</prop>\n'
        '<prop type="x-dhakira-note">kept</prop>\n'
        "</header>\n<body>\n" + "".join(trados_units) + "</body>\n</tmx>\n"
    ).encode("utf-8"),
)

# Issue 21, finding 4: what an export must not add or drop. Written by hand:
# a header with segtype="paragraph" and srclang="ar", a unit without
# creationdate, a unit with one, <prop>s with xml:lang and o-encoding, and a
# unit whose own srclang (en) overrides the header's.
ar26, en26 = (escape(s) for s in pair(26))
ar53, en53 = (escape(s) for s in pair(53))
ar78, en78 = (escape(s) for s in pair(78))
write(
    "paragraph_props.tmx",
    (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<tmx version="1.4">\n'
        '  <header creationtool="fixture" creationtoolversion="1" segtype="paragraph" o-tmf="none" '
        'adminlang="en" srclang="ar" datatype="plaintext"/>\n'
        "  <body>\n"
        '    <tu tuid="undated">\n'
        '      <prop type="x-client" xml:lang="en" o-encoding="iso-8859-1">Acme</prop>\n'
        f'      <tuv xml:lang="ar"><seg>{ar26}</seg></tuv>\n'
        f'      <tuv xml:lang="en"><seg>{en26}</seg></tuv>\n'
        "    </tu>\n"
        '    <tu tuid="dated" creationdate="20190301T101500Z">\n'
        f'      <tuv xml:lang="ar"><prop type="x-origin" xml:lang="ar">مراجعة</prop><seg>{ar53}</seg></tuv>\n'
        f'      <tuv xml:lang="en"><seg>{en53}</seg></tuv>\n'
        "    </tu>\n"
        '    <tu tuid="english-source" srclang="en" segtype="sentence">\n'
        f'      <tuv xml:lang="ar"><seg>{ar78}</seg></tuv>\n'
        f'      <tuv xml:lang="en"><seg>{en78}</seg></tuv>\n'
        "    </tu>\n"
        "  </body>\n</tmx>\n"
    ).encode("utf-8"),
)

# Issue 21, finding 2: units that only look alike. Written by hand after the
# example the issue quotes from the TMX Compliance Kit (the English sentence
# and its two tag layouts; the Arabic is a hand translation): one sentence in
# two inline layouts, one sentence in two contexts, one sentence under two
# tuids, and a true duplicate (the first unit again).
big_cat = (
    '    <tu tuid="{tuid}">\n'
    '      <tuv xml:lang="en"><seg>{en}</seg></tuv>\n'
    '      <tuv xml:lang="ar"><seg>{ar}</seg></tuv>\n'
    "    </tu>\n"
)
b = lambda i, text: f'<bpt i="{i}">&lt;b&gt;</bpt>{text}<ept i="{i}">&lt;/b&gt;</ept>'
u = lambda i, text: f'<bpt i="{i}">&lt;u&gt;</bpt>{text}<ept i="{i}">&lt;/u&gt;</ept>'
i_ = lambda i, text: f'<bpt i="{i}">&lt;i&gt;</bpt>{text}<ept i="{i}">&lt;/i&gt;</ept>'
layout1 = big_cat.format(
    tuid="layout-1",
    en=f"The big {b(1, 'black')} {u(2, 'cat')} sleeps.",
    ar=f"{u(2, 'القط')} {b(1, 'الأسود')} الكبير نائم.",
)
layout2 = big_cat.format(
    tuid="layout-2",
    en=f"The {u(1, b(2, 'big') + ' ' + i_(3, 'black'))} cat sleeps.",
    ar=f"القط {i_(3, 'الأسود')} {u(1, b(2, 'الكبير'))} نائم.",
)
context = (
    '    <tu tuid="{tuid}">\n'
    '      <prop type="x-dhakira-context-before">{before}</prop>\n'
    f'      <tuv xml:lang="en"><seg>{en26}</seg></tuv>\n'
    f'      <tuv xml:lang="ar"><seg>{ar26}</seg></tuv>\n'
    "    </tu>\n"
)
tuid = big_cat.format(tuid="{tuid}", en=en53, ar=ar53)
write(
    "look_alike_units.tmx",
    document(
        "UTF-8",
        [
            layout1,
            layout2,
            context.format(tuid="context-1", before=escape(pair(25)[1])),
            context.format(tuid="context-2", before=escape(pair(77)[1])),
            tuid.replace("{tuid}", "id-1"),
            tuid.replace("{tuid}", "id-2"),
            layout1,
        ],
    ).encode("utf-8"),
)
