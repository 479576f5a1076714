create schema app; create schema extra;
