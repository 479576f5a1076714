create table t (a int, b int, c text);
create statistics t_ab (mcv) on a, b from t;
create statistics t_old on a, c from t;
