#!/usr/bin/python3
"""Writes deploy/demo/leads.csv, the demo's sample leads (run by hand; the
CSV is committed so the demo does not depend on this script). With an
argument N it writes N clean leads instead (tests/fault/chaos uses it).

About 2,000 rows of US leads across time zones, every number checked with
libphonenumber (Debian's python3-phonenumbers), some with a secondary
contact or an explicit timezone, plus what a real list contains: rows
with a bad number, a row without a number, a duplicate and a number that
the demo puts on the do-not-call list.

Then leads in the states whose legal calling rules differ from the federal
floor (docs/compliance.md), so that the demo's us_states profile visibly
defers calls: Rhode Island (no Sunday, shorter hours), Louisiana (no
Sunday), Oklahoma and Maryland (8 p.m. end), toll-free numbers (no state:
the strictest rules), and leads whose `state` column names another state
than their number's area code (people who moved).
"""
import csv
import random
import sys

import phonenumbers

AREAS = ["212", "646", "617", "305", "404", "312", "214", "713", "303", "602",
         "206", "415", "213", "702", "503", "612", "615", "720", "808", "907"]
FIRST = ["Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gia", "Hal", "Ivy", "Jon",
         "Kim", "Leo", "Mia", "Ned", "Ola", "Pat", "Quin", "Rae", "Sam", "Tess"]
LAST = ["Lee", "Diaz", "Khan", "Novak", "Olsen", "Park", "Reyes", "Smith", "Tran", "Weber"]
COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka"]
ZONES = {"212": "America/New_York", "415": "America/Los_Angeles", "312": "America/Chicago"}

rng = random.Random(2026)
used = set()


def number():
    while True:
        n = "+1%s%d%02d%04d" % (rng.choice(AREAS), rng.randint(2, 9), rng.randint(0, 99),
                                rng.randint(0, 9999))
        p = phonenumbers.parse(n, None)
        if n not in used and phonenumbers.is_valid_number(p):
            used.add(n)
            return n


def number_in(area):
    while True:
        n = "+1%s%d%02d%04d" % (area, rng.randint(2, 9), rng.randint(0, 99), rng.randint(0, 9999))
        p = phonenumbers.parse(n, None)
        if n not in used and phonenumbers.is_valid_number(p):
            used.add(n)
            return n


def pretty(n):
    # Numbers as people type them: some E.164, some national formats.
    style = rng.randint(0, 3)
    if style == 0:
        return n
    if style == 1:
        return "(%s) %s-%s" % (n[2:5], n[5:8], n[8:])
    if style == 2:
        return "%s.%s.%s" % (n[2:5], n[5:8], n[8:])
    return "1-%s-%s-%s" % (n[2:5], n[5:8], n[8:])


if len(sys.argv) > 1:
    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(["phone", "first_name", "last_name", "company"])
    for i in range(int(sys.argv[1])):
        w.writerow([number(), rng.choice(FIRST), rng.choice(LAST), rng.choice(COMPANIES)])
    sys.exit(0)

rows = []
for i in range(1990):
    primary = number()
    second = number() if rng.random() < 0.15 else ""
    area = primary[2:5]
    tz = ZONES.get(area, "") if rng.random() < 0.3 else ""
    rows.append([pretty(primary), rng.choice(FIRST), rng.choice(LAST),
                 rng.choice(COMPANIES), tz, pretty(second) if second else ""])

dnc = number()
rows.insert(100, [dnc, "Do", "Notcall", "Acme", "", ""])          # the demo's DNC number
rows.insert(200, ["555-0199", "Short", "Number", "Acme", "", ""])   # invalid: too short
rows.insert(300, ["call me maybe", "Not", "Anumber", "Acme", "", ""])
rows.insert(400, ["", "No", "Phone", "Acme", "", ""])               # missing phone
rows.insert(500, ["+1 099 555 0100", "Bad", "Area", "Acme", "", ""])  # no such area code
rows.insert(600, list(rows[10]))                                    # a duplicate row
rows.insert(700, [number(), "Bad", "Zone", "Acme", "Mars/Olympus_Mons", ""])

# The legal-rules leads, from their own generator so the rows above stay as
# they were.
rng = random.Random(17)
for area, count in (("401", 12), ("504", 12), ("405", 8), ("410", 8)):
    for i in range(count):
        rows.append([pretty(number_in(area)), rng.choice(FIRST), rng.choice(LAST),
                     rng.choice(COMPANIES), "", "", ""])
for i in range(3):  # toll-free: no state, the strictest rules
    rows.append([number_in("888"), rng.choice(FIRST), rng.choice(LAST),
                 rng.choice(COMPANIES), "America/New_York", "", ""])
for state in ("FL", "RI", "FL"):  # a New York number, a person who lives elsewhere
    rows.append([pretty(number_in("212")), rng.choice(FIRST), rng.choice(LAST),
                 rng.choice(COMPANIES), "", "", state])

w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["phone", "first_name", "last_name", "company", "timezone", "secondary_phone",
            "state"])
w.writerows([r + [""] if len(r) == 6 else r for r in rows])
sys.stderr.write("dnc_number=%s\n" % dnc)
