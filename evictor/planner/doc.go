// Package planner decides which pods the evictor moves: a snapshot of the cluster in, a plan
// out, every decision explained. It does no I/O and reads no clock: the caller passes the time.
//
//	plan := planner.Plan(snapshot, policy, slos, state, now)
//
// Candidates are pods on nodes classified hot. Each goes through the eligibility predicates
// (every reason is collected, not just the first), then its replacement's destination is
// predicted the way the scheduler that will place it would choose, and moves are chosen greedily
// by the largest predicted drop in sigma, within every rate limit and budget. Alongside, the plan
// carries a lower bound on the evictions needed to bring every hot node under its threshold.
package planner
