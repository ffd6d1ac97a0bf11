// Package sale is the fair ticket sale of Mass (seed 000, issue #13): a
// supervisor or a passed proposal opens a sale of a supply of one item over
// a request window; buyers, members by their account or non-members by a
// key that carries a proof of work, each send at most one request; the
// request carries 2f+1 stamps, signed by distinct nodes of the sale's node
// set, of the time at which each node first saw it; its fair time is their
// median; when the window has closed (and a grace for requests stamped in
// time but not yet committed), the requests are served in order of fair
// time, ties broken by the closing block's seed. docs/SALE.md states the
// rules and, for each of the four attacks of seed 000, why it fails.
//
// The package is pure and deterministic: no clock, network, disk or
// randomness inside. A clock reading is an input (a stamp's time, the block
// time in Env), and state is read and written through a Store (the state
// tree as orgapp's overlay presents it). It owns:
//
//   - Params, the sale's parameters, with their checks and encoding;
//   - the records (registry, sale, request, slot, result), their keys in
//     the state tree and their strict encodings (records.go, keys.go);
//   - the stamp a node signs and its verification (stamp.go), and Stamper,
//     the bounded in-memory signer a node's stamping route wraps;
//   - the proof of work of non-members and its solver (pow.go);
//   - the checks of a request and their refusal reasons (check.go);
//   - the state machine: Open, Submit and EndBlock (apply.go), the bounded
//     set of kept requests (heap.go) and the allocation order (allocate.go).
//
// sale imports the records of package state, the event type of package app,
// crypto and wire; it must never import tx, gov, orgapp, the node or the
// protocol (package tx imports it for the request's and the parameters'
// encodings).
package sale
