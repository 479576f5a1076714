create table t (tags text[], m jsonb, pts int[][], r int4range);
