#!/usr/bin/python3
"""Generates the phone-prefix -> IANA time zones table for lib/rules/lead_tz.c.

The data is libphonenumber's prefix-to-timezone map as Debian ships it in
python3-phonenumbers (phonenumbers.tzdata). Run it with Debian's
/usr/bin/python3, which sees that package; cmake/phone_tables.cmake does so at
build time. Nothing it produces is committed.

    phone_tz.py OUTPUT.c

Keys are the leading digits of an E.164 number without '+' (country code
included); lib/rules/lead_tz.c looks up the longest key that prefixes a number.
"""
import re
import sys

from gen_c import c_array, preamble, run

try:
    import phonenumbers
    from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX
except ImportError as exc:  # pragma: no cover - build environment problem
    sys.exit("phone_tz.py: cannot import phonenumbers.tzdata (%s); install the Debian "
             "package python3-phonenumbers and run this with /usr/bin/python3" % exc)

ZONE_RE = re.compile(r"^[A-Za-z0-9_+\-/]+$")


def table_lines():
    prefixes = sorted(TIMEZONE_DATA)
    zone_names = sorted({z for zones in TIMEZONE_DATA.values() for z in zones})
    zone_index = {z: i for i, z in enumerate(zone_names)}
    for prefix in prefixes:
        if not prefix.isdigit() or len(prefix) > TIMEZONE_LONGEST_PREFIX:
            sys.exit("phone_tz.py: unexpected prefix %r" % prefix)
    for zone in zone_names:
        if not ZONE_RE.match(zone):
            sys.exit("phone_tz.py: unexpected zone name %r" % zone)
    if len(zone_names) > 65535:
        sys.exit("phone_tz.py: too many zones for uint16_t")

    refs = []
    rows = []
    for prefix in prefixes:
        zones = TIMEZONE_DATA[prefix]
        rows.append((prefix, len(refs), len(zones)))
        refs.extend(zone_index[z] for z in zones)
    if len(refs) > 65535:
        sys.exit("phone_tz.py: too many zone references for uint16_t")

    version = getattr(phonenumbers, "__version__", "unknown")
    lines = preamble("phone_tz.py", "prefix-to-timezone data", "lead_tz", version)
    lines += [
        "const int lead_tz_longest_prefix = %d;" % TIMEZONE_LONGEST_PREFIX,
        "",
    ]
    lines += c_array("const char *const lead_tz_zone_names[]",
                     ['"%s",' % z for z in zone_names], "lead_tz_zone_count")
    lines += ["const uint16_t lead_tz_zone_refs[] = {"]
    for i in range(0, len(refs), 16):
        lines.append("    " + ", ".join(str(r) for r in refs[i:i + 16]) + ",")
    lines += [
        "};",
        "",
        "/* Sorted by prefix (strcmp order) for binary search. */",
    ]
    return lines + c_array("const lead_tz_prefix_t lead_tz_prefixes[]",
                           ['{"%s", %d, %d},' % row for row in rows], "lead_tz_prefix_count")


if __name__ == "__main__":
    run(sys.argv, "phone_tz.py", table_lines)
