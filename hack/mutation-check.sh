#!/usr/bin/env bash
# Mutation check for the planner's eligibility rules: disable each predicate in turn and confirm
# that at least one test fails. Prints one line per predicate; exits non-zero if any mutant
# survives. Run from the repository root: hack/mutation-check.sh
set -uo pipefail
file=evictor/planner/eligibility.go
backup=$(mktemp)
cp "$file" "$backup"
trap 'cp "$backup" "$file"; rm -f "$backup"' EXIT

names=$(sed -n '/^var predicates = \[\]predicate{/,/^}/p' "$file" | grep -o '{"[a-zA-Z]*"' | tr -d '{"')
survivors=0
for name in $names; do
	cp "$backup" "$file"
	# Drop the predicate from the list.
	sed -i "/^\t{\"$name\", /d" "$file"
	if go test -count=1 ./evictor/planner/ >/dev/null 2>&1; then
		echo "SURVIVED  $name: no test fails without it"
		survivors=$((survivors + 1))
	else
		echo "killed    $name"
	fi
done
cp "$backup" "$file"
echo "$survivors mutant(s) survived"
[ "$survivors" -eq 0 ]
