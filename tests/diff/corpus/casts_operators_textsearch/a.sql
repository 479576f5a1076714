create type pair as (a int, b int);
create function pair_eq(pair, pair) returns bool language sql immutable as 'select $1.a = $2.a';
create operator === (leftarg = pair, rightarg = pair, function = pair_eq, commutator = ===);
create function pair_text(pair) returns text language sql immutable as 'select ($1.a)::text';
create cast (pair as text) with function pair_text(pair);
create text search configuration my_ts (copy = english);
