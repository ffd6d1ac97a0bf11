// Package aba is asynchronous binary agreement: n nodes, each with an input
// bit, decide one bit, tolerating f < n/3 Byzantine nodes, with no timing
// assumption and no trusted setup.
//
// # Algorithm
//
// This is Bracha's randomized binary agreement (G. Bracha, "Asynchronous
// Byzantine agreement protocols", Information and Computation 75, 1987), which
// is safe with a local coin. Each round r has three steps; in each step every
// node reliably broadcasts one message (Bracha's VAL/ECHO/READY broadcast, so
// a Byzantine node cannot tell two honest nodes different things), and a
// delivered message is used only once it is valid: some set of N−F valid
// messages of the previous step would lead an honest node to send it. Each
// node waits for the first N−F valid messages of a step:
//
//  1. send est; next est := majority of the N−F values (a tie goes to 1).
//  2. send est; if more than N/2 of the N−F values are w, send (d, w) in
//     step 3, otherwise send ⊥.
//  3. let D be the number of (d, w) among the N−F messages. D ≥ 2F+1: decide
//     w and keep est := w; D ≥ F+1: est := w; otherwise est := coin(r).
//
// A node that decides broadcasts TERM(w); F+1 TERM(w) make a node send TERM(w)
// too, and 2F+1 TERM(w) make it decide w (if it has not) and terminate. So a
// node stops taking part in rounds only when every honest node is certain to
// terminate without it.
//
// # Why it is safe with a local coin
//
// The danger with local coins is a node that decides w while another honest
// node, seeing a mixed picture, adopts its own coin ¬w. Here that cannot
// happen, by these invariants:
//
//   - One message per node and step: every message is reliably broadcast, so
//     all honest nodes that deliver node j's message of (r, s) deliver the same
//     value.
//   - No (d, 0) and (d, 1) in one round: each needs more than N/2 step-2
//     messages of its value, and every node has one step-2 message.
//   - Decision forces every estimate: if an honest node decides w in round r,
//     2F+1 nodes' step-3 messages are (d, w); any N−F step-3 messages include
//     at least F+1 of them, so every honest node sets est := w and none tosses
//     its coin in round r.
//   - Unanimity decides in one round: if every honest est is w, validation
//     rejects any step-2 message ¬w (at most F step-1 messages are ¬w, never
//     a majority of N−F) and so any step-3 message other than (d, w); every
//     honest node decides w in that round. Hence when all honest inputs agree
//     the decision comes in round 1, and after a decision in round r every
//     honest node decides the same value by round r+1.
//
// Termination with a local coin holds with probability 1; a common coin behind
// the same coin.Coin interface makes the expected number of rounds constant.
//
// # Bounded state without losing messages
//
// A message for a round beyond max(own round, R) + Config.MaxFutureRounds is
// refused for later (Admit), where R is the (F+1)-th highest round among the
// rounds each sender was seen sending: the transport keeps it and offers it
// again. It is never dropped for good, because an honest node that has no
// input yet (inside the common subset, a node inputs 0 only after N−F
// agreements decided 1) or that lags will need it. F Byzantine nodes cannot
// raise R, and an honest node sends round r+1 only after F+1 honest nodes
// sent round r, so R keeps up with the honest nodes while the Byzantine ones
// cannot make the state grow. HandleMessage refuses (and counts) what Admit
// refuses, for a caller that ignores Admit. Admit itself changes nothing: a
// node that replays the messages it handled admits them all again.
//
// Every round's broadcasts are relayed (ECHO and READY) until the agreement
// terminates, and every round's state is kept until then: Bracha's broadcast
// needs the honest nodes' relays, so a node two rounds behind could never
// collect a step otherwise. That state grows with the rounds actually run,
// which honest progress bounds.
//
// This package must never import anything that does I/O, reads a clock or
// draws global randomness.
package aba
