#!/usr/bin/python3
"""Generates the NANP area code -> US state / Canadian province table for
lib/rules/lead_region.c.

The data is libphonenumber's geocoding data (English descriptions) as Debian
ships it in python3-phonenumbers (phonenumbers.geodata). Run it with Debian's
/usr/bin/python3, which sees that package; cmake/phone_tables.cmake does so
at build time. Nothing it produces is committed.

    phone_region.py OUTPUT.c

An area code gets a region only when every description libphonenumber has
under it (the area code itself and any longer prefix) names the same US
state, DC or Canadian province or territory. Area codes that name places
outside those (the Caribbean members of +1), several regions (902: Nova
Scotia and Prince Edward Island), or nothing at all (toll-free 8XX, 900,
500, 700) are left out: lead_region_from_e164() answers "none" for them.
"""
import sys

from gen_c import c_array, preamble, run

try:
    import phonenumbers
    from phonenumbers.geodata import GEOCODE_DATA
except ImportError as exc:  # pragma: no cover - build environment problem
    sys.exit("phone_region.py: cannot import phonenumbers.geodata (%s); install the Debian "
             "package python3-phonenumbers and run this with /usr/bin/python3" % exc)

US = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV",
    "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY",
    "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK",
    "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI", "South Carolina": "SC",
    "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT", "Vermont": "VT",
    "Virginia": "VA", "Washington State": "WA", "West Virginia": "WV", "Wisconsin": "WI",
    "Wyoming": "WY", "Washington D.C.": "DC",
    # Descriptions that name a city without its state.
    "Philadelphia": "PA",
}
CA = {
    "Alberta": "AB", "British Columbia": "BC", "Manitoba": "MB", "New Brunswick": "NB",
    "Newfoundland and Labrador": "NL", "Nova Scotia": "NS", "Ontario": "ON",
    "Prince Edward Island": "PE", "Quebec": "QC", "Saskatchewan": "SK",
    "Northwest Territories": "NT", "Nunavut": "NU", "Yukon": "YT",
}
CODES = set(US.values()) | set(CA.values())


def region_of(description):
    """The region code a description names, or None."""
    if description in US:
        return US[description]
    if description in CA:
        return CA[description]
    if ", " in description:
        tail = description.rsplit(", ", 1)[1]
        if tail in CODES:
            return tail
    return None


def table_lines():
    seen = {}
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4 or "en" not in names:
            continue
        seen.setdefault(prefix[1:4], set()).add(region_of(names["en"]))
    rows = sorted((ac, regions.pop()) for ac, regions in seen.items()
                  if len(regions) == 1 and None not in regions)
    if len(rows) < 300:
        sys.exit("phone_region.py: only %d area codes mapped: has the data changed?" % len(rows))

    version = getattr(phonenumbers, "__version__", "unknown")
    lines = preamble("phone_region.py", "geocoding data", "lead_region", version)
    lines += ["", "/* Sorted by area code for binary search. */"]
    return lines + c_array("const lead_region_area_t lead_region_areas[]",
                           ['{"%s", "%s"},' % row for row in rows], "lead_region_area_count")


if __name__ == "__main__":
    run(sys.argv, "phone_region.py", table_lines)
