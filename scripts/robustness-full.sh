#!/bin/sh
# Issue 22's attacks at their full counts against all five built-in servers (fedsim conform
# <protocol> --robustness --full): 200 connections each holding a partial 1 MiB frame, 1,100
# half-open peers against a server limited to 1,024 descriptors, 5,000 wrong passwords, 100 MB
# from a peer that never reads. Long (minutes per protocol) and loopback only: not part of npm test.
# Reports: reports/conformance/robustness/<protocol>.json; the log goes to standard output.
set -u
status=0
for protocol in f140 solec bester fmtp ambrosia; do
  node bin/fedsim.mjs conform "$protocol" --robustness --full || status=1
done
exit $status
