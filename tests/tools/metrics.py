#!/usr/bin/python3
"""Reads a Prometheus text page (version 0.0.4) strictly and prints the
samples asked for, one a line, "name{labels} value" as the page has them
(or the sum over a name's samples when asked for "sum:NAME").  Any line
that is not a comment, a HELP or TYPE line, or a well-formed sample, a
sample without a TYPE before it, or a histogram whose buckets do not add
up, is an error (exit 1).

    curl -s URL | metrics.py [SAMPLE | sum:NAME ...]
"""
import re
import sys

SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*\})?'
    r' (-?[0-9.e+]+|\+Inf|NaN)$')


def main(argv):
    typed, samples = {}, {}
    for line in sys.stdin.read().split('\n')[:-1]:
        if line.startswith('# HELP '):
            continue
        if line.startswith('# TYPE '):
            _, _, name, kind = line.split(' ')
            typed[name] = kind
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise SystemExit('not a sample: %r' % line)
        name = m.group(1)
        base = re.sub(r'_(bucket|sum|count)$', '', name)
        if name not in typed and base not in typed:
            raise SystemExit('no TYPE before %r' % line)
        samples[name + (m.group(2) or '')] = float(m.group(3))
    buckets = [v for k, v in samples.items() if '_bucket{' in k]
    if buckets != sorted(buckets):
        raise SystemExit('histogram buckets not cumulative')
    def show(v):
        return '%d' % v if v == int(v) else repr(v)

    for want in argv:
        if want.startswith('sum:'):
            n = want[4:]
            total = sum(v for k, v in samples.items()
                        if k == n or k.startswith(n + '{'))
            print('%s %s' % (want, show(total)))
        elif want in samples:
            print('%s %s' % (want, show(samples[want])))
        else:
            raise SystemExit('no sample %s' % want)


main(sys.argv[1:])
