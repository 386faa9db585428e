"""Period close and statements (CONTRACT.md §7): pure deciders, tables, inline projection."""
