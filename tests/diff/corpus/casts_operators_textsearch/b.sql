create type pair as (a int, b int);
create function pair_eq(pair, pair) returns bool language sql immutable as 'select $1.a = $2.a';
create function pair_text(pair) returns text language sql immutable as 'select ($1.a)::text';
