#!/usr/bin/env bash
# pg-login with the servers' TCP logins under md5 (the salt is the
# target's own): the same checks.
PG_METHOD=md5 PG_SCENARIO=pg-login-md5 exec bash "$(dirname "$0")/pg-login.sh" "$1"
