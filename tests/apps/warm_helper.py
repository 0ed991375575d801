# Imported by warm.py: module state, and a value tests edit in place.
VALUE = 'AAA'
BUMPS = 0


def bump():
    global BUMPS
    BUMPS += 1
    return BUMPS
