create table b (room int, during tsrange, active boolean,
  exclude using gist (during with &&) where (active));
create unique index b_room_active on b (room) where active;
