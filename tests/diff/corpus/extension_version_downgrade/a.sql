create extension cube version '1.4';
