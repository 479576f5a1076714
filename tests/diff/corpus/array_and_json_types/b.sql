create table t (tags varchar(20)[], m json, pts int[], r int8range);
