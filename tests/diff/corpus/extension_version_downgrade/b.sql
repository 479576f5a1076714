create extension cube version '1.5';
