// Package node runs one Mass node: the loop that feeds network messages,
// client transactions and clock ticks into the consensus core, persists what
// must survive a crash, sends, applies committed batches to the application,
// signs the resulting blocks and gathers their certificates, and catches up
// from certified blocks when it falls behind.
//
// # Concurrency
//
// One goroutine, the loop (Run), owns the consensus engine, the application
// and every piece of node state; the core stays single-threaded and
// deterministic. Other goroutines reach it only through bounded channels:
// the transport's Receive channel, Submit's requests (answered once the
// transaction is durable), and a ticker. Readers (Status, TxStatus, Block,
// Subscribe) see snapshots the loop publishes, or the stores, which are safe
// for concurrent use. The loop handles a batch of events, then flushes: it
// writes and syncs the round's journal, and only then sends the round's
// messages and answers its callers.
//
// # Crash safety
//
// A node never contradicts what it sent before a crash, and never loses a
// committed block:
//   - Each proposal it makes and each consensus message it handles is
//     journaled (per epoch, in order) before any message they caused is sent.
//     The agreements' coins come from a persistent seed. On restart the node
//     replays the journal of the epochs still open into a fresh engine (held
//     from proposing meanwhile), which then sends exactly what it sent before
//     (see package epoch).
//   - After applying a batch it stores the block it is about to sign before
//     its vote leaves; on restart it signs that block again, never another at
//     that height.
//   - Certified blocks are stored with their certificates, synced, before
//     the journal of their epoch is dropped; the application syncs each
//     block it applies.
//   - Accepted transactions are stored until committed, so a 202 is never
//     forgotten.
//
// The package imports the protocol, chain, app, store and transport
// packages; nothing below it imports it.
package node
