create type pt as (x int, y int);
create function norm(p pt) returns int language sql as 'select abs(p.x) + abs(p.y)';
