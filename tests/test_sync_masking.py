"""Masking rules on a real server: fixed and sql values, unique forms, joins on masked keys.

Production gets a ``contacts`` table (unique name, phone and e-mail columns, 2000
rows: far more than the 624 first/last name pairs, so the plain name form would
collide) and ``orders`` whose foreign key is a masked e-mail column. A profile
mirrors both, masked; the target must hold exactly what each rule promises.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbenv.commands import sync as commands
from sync_support import SALT, Scenario, execute, make_scenario, query

PEOPLE = """
CREATE TABLE contacts (
    id int PRIMARY KEY, full_name text NOT NULL UNIQUE, phone text UNIQUE,
    email text NOT NULL UNIQUE, city text, street_address text);
INSERT INTO contacts
SELECT g, 'Person ' || g, '+44 7700 ' || lpad(g::text, 6, '0'), 'p' || g || '@real.example',
       'London', g || ' Baker Street'
FROM generate_series(1, 2000) g;
CREATE TABLE orders (
    id int PRIMARY KEY, contact_email text NOT NULL REFERENCES contacts(email), amount int);
INSERT INTO orders SELECT g, 'p' || (1 + g % 500) || '@real.example', g
FROM generate_series(1, 3000) g;
"""

PROFILE = """
[sync]
salt = "env:DBENV_MASK_SALT"

[sync.profiles.people]
source = "production"
target = "test"
mirror = ["public.contacts", "public.orders"]

[sync.profiles.people.mask]
"public.contacts.full_name" = "name"
"public.contacts.phone" = "phone"
"public.contacts.email" = "email"
"public.contacts.city" = "fixed:Springfield"
"public.contacts.street_address" = 'sql:left(md5({salt} || {value}), 10)'
"public.orders.contact_email" = "email"
"""


@pytest.fixture
def scenario(pg_server: Any, tmp_path: Path) -> Iterator[Scenario]:
    for scenario in make_scenario(pg_server.dsn_for, pg_server.dsn, tmp_path / "contentgen"):
        execute(scenario.production, PEOPLE)
        scenario.write(PROFILE)
        project = scenario.project()
        commands.sync(project, project.environment("production"), project.environment("test"))
        yield scenario


def test_fixed_and_sql_rules_give_exactly_their_values(scenario: Scenario) -> None:
    assert query(scenario.test, "SELECT DISTINCT city FROM contacts") == [("Springfield",)]
    expected = query(
        scenario.production,
        "SELECT id, left(md5(%s || street_address), 10) FROM contacts ORDER BY id",
        (SALT,),
    )
    assert query(scenario.test, "SELECT id, street_address FROM contacts ORDER BY id") == expected


def test_unique_forms_of_name_and_phone_stay_unique(scenario: Scenario) -> None:
    rows = query(scenario.test, "SELECT full_name, phone FROM contacts")
    names, phones = [r[0] for r in rows], [r[1] for r in rows]
    assert len(set(names)) == len(set(phones)) == 2000
    assert all(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+ [0-9a-f]{12}", n) for n in names)
    assert all(re.fullmatch(r"\+555[0-9]{12}", p) for p in phones)
    source = query(scenario.production, "SELECT full_name, phone FROM contacts")
    assert not {v for r in source for v in r} & {v for r in rows for v in r}


def test_a_masked_join_key_still_joins(scenario: Scenario) -> None:
    join = "SELECT o.id, c.id FROM orders o JOIN contacts c ON c.email = o.contact_email ORDER BY 1"
    joined = query(scenario.test, join)
    assert len(joined) == 3000
    assert joined == query(scenario.production, join)  # every order finds the same contact
    emails = query(scenario.test, "SELECT DISTINCT contact_email FROM orders")
    assert all(e[0].endswith("@example.invalid") for e in emails)
