create table b (room int, during tsrange, active boolean);
