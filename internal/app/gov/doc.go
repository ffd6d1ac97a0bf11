// Package gov is the governance of the Mass organization (seed 001,
// 议题管理规范): domains with waiting queues (added, renamed and removed by
// proposals), proposals that members join until publicity with their
// desired windows and capacity, deadlines and capacities drawn from the
// mean (or the median) of those wishes, meetings split into sub-meetings
// by a seed no single node controls, rounds of approval voting until one
// option remains, publicity whose minimum length is inversely proportional
// to the winner's support, freezes reviewed by the members, challenges of
// members, elected executors with terms, and the built-in actions a passed
// proposal executes. docs/GOVERNANCE.md states every rule precisely; this
// package is their reference.
//
// The package is a pure state machine over a Store (get, put and delete
// records of the state tree by their 20-byte keys): Apply runs one
// governance transaction, EndBlock advances the deadlines after a block's
// transactions. Time is the block time (Unix milliseconds, the median of
// the nodes' clocks) and randomness the block seed, both given in Env; the
// package never reads a clock, draws randomness, or does I/O.
//
// Every record is in the tree, so each can be proven: the registry, the
// domains (with their queues and active proposals), list pages, proposals
// and their texts, options, rosters, rounds, sub-meetings, ballots, review
// ballots, comments, challenges and executors. Their keys and encodings are
// in keys.go and records.go, and in docs/FORMATS.md.
//
// gov imports the records of package state, the transaction format of
// package tx and the event type of package app; it must never import
// orgapp, the node, the chain or the protocol.
package gov
