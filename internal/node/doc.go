// Package node runs one Mass node: the driver of its ledger (package
// ledger). It owns no protocol decision; it connects the ledger to the
// transport, the store, the epoch log (package wal), the application and
// the clock, and serves readers.
//
// # Concurrency
//
// One goroutine, the loop (Run), owns the ledger and the application's
// writes. Other goroutines reach it only through bounded channels: the
// transport's Receive channel, Submit's requests (answered once the
// transaction is durable), and a ticker. The loop hands the ledger a batch
// of inputs, then flushes: it does every Ready the ledger has (see
// ledger.Ready: records durable first — one log sync and one store sync
// for the whole batch — then peers, sends, the block to apply, commits),
// then answers the batch's submitters. Readers (Status, TxStatus, Block,
// Subscribe) see snapshots the loop publishes, or the stores, which are
// safe for concurrent use.
//
// A driver that is not a goroutine (the simulator) calls Deliver, Tick and
// Offer, then Flush, itself: the same code, step by step.
package node
