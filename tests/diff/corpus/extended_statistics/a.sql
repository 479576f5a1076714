create table t (a int, b int, c text);
create statistics t_ab (dependencies, ndistinct) on a, b from t;
create statistics t_expr on lower(c), a from t;
comment on statistics t_ab is 'correlated';
