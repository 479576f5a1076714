create schema app; create schema old_stuff;
